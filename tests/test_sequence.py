"""SequenceExecutor (and its 0.2.x spelling SequenceExcutor) against a real stateful model."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from pyotritonclient import InferenceServerException, InferenceServerTimeout, SequenceExcutor, SequenceExecutor
from pyotritonclient.errors import InvalidInputError
from pyotritonclient.sequence import new_string_sequence_id


@pytest.fixture
def url(triton):
    return triton.http_url


def sample(value, size=4):
    image = np.full([1, size, size], value, np.float32)
    labels = np.ones([size, size], np.uint16)
    return image, labels


def info(result):
    return json.loads(result["info"].reshape(-1)[0])


async def test_the_documented_example_runs_verbatim(url):
    URL = url
    train_samples = [(*sample(v), {"sample": v}) for v in (1.0, 2.0, 3.0)]
    seq = SequenceExcutor(server_url=URL, model_name="cellpose-train", sequence_id=100)
    seen = []
    for image, labels, _info in train_samples:
        result = await seq.step([image, labels, {"steps": 1, "resume": True}])
        seen.append(info(result))
    result = await seq.end()  # re-sends the last inputs with sequence_end
    assert [s["steps_done"] for s in seen] == [1, 2, 3]
    assert [s["start"] for s in seen] == [True, False, False]
    assert [s["image_sum"] for s in seen] == [1.0, 3.0, 6.0]
    ended = info(result)
    assert ended["end"] is True and ended["steps_done"] == 4 and ended["image_sum"] == 9.0  # the last sample again
    inputs_batch = [[*sample(v), {"steps": 2}] for v in (1.0, 1.0, 1.0)]
    steps = []
    results = await seq(inputs_batch, on_step=lambda i, r: steps.append(i))
    assert steps == [0, 1, 2]
    assert [info(r)["steps_done"] for r in results] == [2, 4, 6]  # a new sequence: end reset the state
    assert [info(r)["start"] for r in results] == [True, False, False] and info(results[-1])["end"] is True


async def test_interleaved_sequences_stay_independent(url):
    a = SequenceExecutor(url, "cellpose-train", sequence_id=201)
    b = SequenceExecutor(url, "cellpose-train", sequence_id=202)
    assert info(await a.step([*sample(1.0), {"steps": 1}]))["steps_done"] == 1
    assert info(await b.step([*sample(5.0), {"steps": 10}]))["steps_done"] == 10
    assert info(await a.step([*sample(1.0), {"steps": 1}]))["image_sum"] == 2.0
    assert info(await b.step([*sample(5.0), {"steps": 10}]))["image_sum"] == 10.0
    assert info(await a.end())["steps_done"] == 3
    assert info(await b.end())["steps_done"] == 30


async def test_generated_ids_are_distinct_and_safe_for_javascript(url):
    ids = {SequenceExecutor(url, "cellpose-train").sequence_id for _ in range(50)}
    assert len(ids) == 50 and all(0 < i < 2**53 for i in ids)
    seq = SequenceExecutor(url, "cellpose-train")
    assert info(await seq.step([*sample(1.0), {}]))["corrid"] == seq.sequence_id
    await seq.end()


async def test_string_ids(url):
    seq = SequenceExecutor(url, "cellpose-train", sequence_id="experiment-7")
    await seq.step([*sample(1.0), {}])
    assert info(await seq.end())["steps_done"] == 2


async def test_a_string_corrid_model_runs_with_ids_of_128_characters(url):
    # Triton 2.51 pads a string CORRID to 128 bytes: shorter ids are refused, new_string_sequence_id() is not
    short = SequenceExecutor(url, "sequence_accumulate_str", sequence_id="run-1")
    with pytest.raises(InferenceServerException, match="unexpected number of string elements"):
        await short.step([np.array([5], np.int32)])
    ids = [new_string_sequence_id(), new_string_sequence_id("mine-")]
    assert [len(i) for i in ids] == [128, 128] and ids[0].startswith("seq-") and ids[1].startswith("mine-")
    a, b = (SequenceExecutor(url, "sequence_accumulate_str", sequence_id=i) for i in ids)
    assert int((await a.step([np.array([5], np.int32)]))["OUTPUT"][0, 0]) == 5
    answer = await b.step([np.array([2], np.int32)])
    assert int(answer["OUTPUT"][0, 0]) == 2 and answer["CORRID_SEEN"][0, 0] == ids[1].encode()
    assert int((await a.end([np.array([1], np.int32)]))["OUTPUT"][0, 0]) == 6
    assert int((await b.end([np.array([1], np.int32)]))["OUTPUT"][0, 0]) == 3


@pytest.mark.parametrize("prefix", ["x" * 97, "é" * 49, 7, None])
def test_a_string_id_prefix_leaves_room_for_32_random_digits(prefix):
    with pytest.raises(InvalidInputError, match=r"^prefix must be a str of at most 96 bytes in UTF-8, got "):
        new_string_sequence_id(prefix)
    assert len(new_string_sequence_id("x" * 96)) == 128 and new_string_sequence_id("") != new_string_sequence_id("")
    made = new_string_sequence_id("é" * 48)  # 96 bytes: Triton's limit and padding count bytes
    assert len(made.encode()) == 128 and made.startswith("é" * 48) and len(made) == 80


async def test_bad_inputs_do_not_break_the_sequence(url):
    seq = SequenceExecutor(url, "cellpose-train", sequence_id=301)
    await seq.step([*sample(1.0), {}])
    with pytest.raises(InferenceServerException, match="input 'image': expected dtype FP32"):
        await seq.step([np.ones([1, 4, 4]), np.ones([4, 4], np.uint16), {}])
    assert seq.broken is None
    assert info(await seq.step([*sample(1.0), {}]))["steps_done"] == 2
    await seq.end()


async def test_a_failed_step_stops_the_sequence_until_reset(url):
    seq = SequenceExecutor(url, "cellpose-train", sequence_id=302)
    await seq.step([*sample(1.0), {}])
    with pytest.raises(InferenceServerException) as info_:
        await seq.step([*sample(1.0), "this is not JSON"])  # the model fails on it
    assert info_.value.status() is not None
    assert seq.broken is info_.value
    with pytest.raises(InferenceServerException, match="call reset\\(\\) to start a new sequence"):
        await seq.step([*sample(1.0), {}])
    seq.reset()
    restarted = info(await seq.step([*sample(1.0), {}]))
    assert restarted["start"] is True and restarted["steps_done"] == 1
    await seq.end()


async def test_async_with_ends_an_open_sequence(url):
    async with SequenceExecutor(url, "cellpose-train", sequence_id=303) as seq:
        await seq.step([*sample(1.0), {}])
        await seq.step([*sample(1.0), {}])
        assert seq.is_open
    assert not seq.is_open
    # The server has ended it: continuing it without a start is refused.
    cont = SequenceExecutor(url, "cellpose-train", sequence_id=303, start=False)
    with pytest.raises(InferenceServerException, match="START"):
        await cont.step([*sample(1.0), {}])


async def test_end_needs_something_to_send_and_managed_keywords_are_refused(url):
    seq = SequenceExecutor(url, "cellpose-train", sequence_id=304)
    with pytest.raises(InferenceServerException, match="nothing to end"):
        await seq.end()
    with pytest.raises(InferenceServerException, match="sequence_start is managed"):
        await seq.step([*sample(1.0), {}], sequence_start=True)
    with pytest.raises(InferenceServerException, match="sequence_id must be"):
        SequenceExecutor(url, "cellpose-train", sequence_id=0)
    # end() with inputs and no step: one request that starts and ends the sequence
    done = info(await seq.end([*sample(2.0), {}]))
    assert done["start"] is True and done["end"] is True and done["steps_done"] == 1


async def test_a_cancelled_or_timed_out_step_marks_the_state_unknown(url, tmp_path):
    seq = SequenceExecutor(url, "cellpose-train", sequence_id=305)
    await seq.step([*sample(1.0), {}])
    marker = tmp_path / "running"
    task = asyncio.ensure_future(seq.step([*sample(1.0), {"sleep": 3.0, "started_file": str(marker)}]))
    while not marker.exists():  # the step is with the model now (the model made the file)
        assert not task.done(), task
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert isinstance(seq.broken, asyncio.CancelledError)
    seq.reset()
    await seq.step([*sample(1.0), {}])
    with pytest.raises(InferenceServerTimeout, match="timed out"):
        await seq.step([*sample(1.0), {"sleep": 1.0}], timeout=0.3)
    assert isinstance(seq.broken, InferenceServerTimeout)
    seq.reset()
    assert info(await seq.end([*sample(1.0), {}]))["steps_done"] == 1


async def test_steps_given_at_once_go_one_at_a_time_in_order(url):
    seq = SequenceExecutor(url, "cellpose-train", sequence_id=306)
    results = await asyncio.gather(*[seq.step([*sample(float(i)), {"steps": 1}]) for i in range(1, 5)])
    seen = [info(r) for r in results]
    assert [s["start"] for s in seen] == [True, False, False, False]  # one start only
    assert [s["steps_done"] for s in seen] == [1, 2, 3, 4]
    assert [s["image_sum"] for s in seen] == [1.0, 3.0, 6.0, 10.0]  # in call order
    assert info(await seq.end())["steps_done"] == 5


async def test_constructor_options_apply_to_every_step_and_can_be_overridden(url):
    seq = SequenceExecutor(url, "cellpose-train", sequence_id=307, decode_json=True, select_outputs=["info"])
    first = await seq.step([*sample(1.0), {}])
    assert set(first) == {"info", "__info__"} and first["info"][0][0]["steps_done"] == 1
    second = await seq.step([*sample(1.0), {}], select_outputs=["loss"], decode_json=False)
    assert set(second) == {"loss", "__info__"} and second["loss"].tolist() == [[pytest.approx(1 / 3)]]
    assert seq.steps == 2
    ended = await seq.end()
    assert ended["info"][0][0]["steps_done"] == 3 and seq.steps == 0 and not seq.is_open


async def test_a_whole_sequence_with_an_async_on_step_and_a_single_item(url):
    seq = SequenceExecutor(url, "cellpose-train", sequence_id=308)
    seen = []

    async def on_step(i, result):
        seen.append((i, info(result)["steps_done"]))

    await seq([[*sample(1.0), {}], [*sample(1.0), {}]], on_step=on_step)
    assert seen == [(0, 1), (1, 2)]
    (only,) = await seq([[*sample(1.0), {"steps": 5}]])  # one item: start and end in one request
    assert info(only)["start"] is True and info(only)["end"] is True and info(only)["steps_done"] == 5
    with pytest.raises(InferenceServerException, match="non-empty list"):
        await seq([])
