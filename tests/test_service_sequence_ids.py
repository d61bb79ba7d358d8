"""The ids of the service's sequences, against the real Triton: which ids a caller may choose, the id Triton gets
instead (an int, or a 128-character string for a model with a string CORRID), and one id of two callers or two
starts at once. test_service_sequences.py has the rest of the registry's rules."""

from __future__ import annotations

import asyncio

import pytest
from accumulate import ALICE, BOB, MODEL, STRING_MODEL, one, seen, total

from pyotritonclient.service import ServiceError
from pyotritonclient.service.sequences import string_ids


def test_string_ids_are_read_from_the_corrid_control():
    def config(*controls):
        return {"sequence_batching": {"control_input": [{"name": "C", "control": list(controls)}]}}

    assert string_ids(config({"kind": "CONTROL_SEQUENCE_CORRID", "data_type": "TYPE_STRING"})) is True
    assert string_ids(config({"kind": "CONTROL_SEQUENCE_CORRID", "data_type": "TYPE_UINT64"})) is False
    assert (
        string_ids(
            config({"kind": "CONTROL_SEQUENCE_START"}, {"kind": "CONTROL_SEQUENCE_CORRID", "data_type": "TYPE_STRING"})
        )
        is True
    )
    assert string_ids(config({"kind": "CONTROL_SEQUENCE_START", "data_type": "TYPE_STRING"})) is False
    assert string_ids({"sequence_batching": {"control_input": [None, {"control": [None, "x"]}]}}) is False
    assert string_ids({}) is False and string_ids({"sequence_batching": None}) is False
    assert string_ids(None) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, "", True, False, 1.5, [1], b"x"])
async def test_a_sequence_id_must_be_a_non_zero_int_or_a_non_empty_str(svc, bad):
    with pytest.raises(ServiceError) as caught:
        await svc.sequence_start(MODEL, sequence_id=bad, context=ALICE)
    assert caught.value.message() == f"sequence_id must be a non-zero int or a non-empty str, got {bad!r}"
    assert svc.sequences.open == {} and svc.sequences._starting == {}


async def test_triton_gets_an_id_of_the_services_choosing_never_the_callers(svc):
    assert await svc.sequence_start(MODEL, sequence_id=-5, context=ALICE) == -5
    assert await svc.sequence_start(MODEL, sequence_id="mine", context=ALICE) == "mine"
    entries = svc.sequences.open
    assert set(entries) == {("ws-1/alice", "-5"), ("ws-1/alice", "mine")}
    triton_ids = [entry.executor.sequence_id for entry in entries.values()]
    assert all(isinstance(i, int) and i > 0 for i in triton_ids) and triton_ids[0] != triton_ids[1]
    assert total(await svc.sequence_step(-5, one(3), context=ALICE)) == 3
    assert total(await svc.sequence_step("mine", one(10), context=ALICE)) == 10
    assert total(await svc.sequence_step(-5, one(4), context=ALICE)) == 7


async def test_a_model_with_a_string_corrid_gets_string_ids_that_triton_runs(svc):
    # Triton 2.51 pads a string CORRID to 128 bytes and then refuses (400) or crashes on anything shorter
    first = await svc.sequence_start(STRING_MODEL, context=ALICE)
    await svc.sequence_start(STRING_MODEL, sequence_id="mine", context=ALICE)
    triton_ids = [entry.executor.sequence_id for entry in svc.sequences.open.values()]
    assert all(isinstance(i, str) and len(i) == 128 and i.startswith("svc-") for i in triton_ids)
    assert triton_ids[0] != triton_ids[1]
    assert total(step := await svc.sequence_step(first, one(3), context=ALICE)) == 3
    assert seen(step) == triton_ids[0]
    assert total(step := await svc.sequence_step("mine", one(10), context=ALICE)) == 10
    assert seen(step) == triton_ids[1]
    assert total(await svc.sequence_step(first, one(4), context=ALICE)) == 7
    assert total(await svc.sequence_end("mine", one(1), context=ALICE)) == 11


async def test_ids_given_by_the_service_are_new_each_time(svc):
    ids = {await svc.sequence_start(MODEL, context=ALICE) for _ in range(5)}
    assert len(ids) == 5 and all(isinstance(i, int) and i > 0 for i in ids)
    assert sorted(s["sequence_id"] for s in await svc.list_sequences(context=ALICE)) == sorted(ids)


async def test_the_same_id_is_two_sequences_for_two_callers(svc):
    await svc.sequence_start(MODEL, sequence_id=1, context=ALICE)
    await svc.sequence_start(MODEL, sequence_id=1, context=BOB)
    assert total(await svc.sequence_step(1, one(5), context=ALICE)) == 5
    assert total(await svc.sequence_step(1, one(7), context=BOB)) == 7
    assert total(await svc.sequence_end(1, one(1), context=ALICE)) == 6
    assert total(await svc.sequence_step(1, one(1), context=BOB)) == 8
    with pytest.raises(ServiceError, match=r"^sequence '1' is already open$"):
        await svc.sequence_start(MODEL, sequence_id="1", context=BOB)  # the same id as the caller wrote it


async def test_two_starts_choosing_the_same_id_at_once_open_one_sequence(svc):
    first, second = await asyncio.gather(
        svc.sequence_start(MODEL, sequence_id=7, context=ALICE),
        svc.sequence_start(MODEL, sequence_id=7, context=ALICE),
        return_exceptions=True,
    )
    assert first == 7 and isinstance(second, ServiceError)
    assert second.message() == "sequence 7 is already open"
    assert list(svc.sequences.open) == [("ws-1/alice", "7")] and svc.sequences._ids_starting == set()
