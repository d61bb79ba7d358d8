"""``execute``'s deadline reaches Triton as the request's ``timeout`` where the model takes one (issue 36).

Triton honours a request's own ``timeout`` only under a dynamic batcher whose queue policy lets a request shorten
the default one; then a request still queued when its time is up is rejected and never runs. Without it, a call
the client gave up on still runs on the server once the instance is free, and its work is wasted.
tests/models/queue_timeout holds its one instance until the test lets it go, so the second request waits in
Triton's queue; the model's own record (``ran_file``) and Triton's statistics say from outside what ran."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from waiting import wait_until

from pyotritonclient import InferenceServerTimeout, execute
from pyotritonclient.http.aio import InferenceServerClient
from pyotritonclient.protocol.metadata import takes_timeout
from pyotritonclient.transport.asyncio_http11 import Http11Transport

MODEL = "queue_timeout"


def tag(text: str) -> dict:
    return {"TAG": np.array([[text]], dtype=object)}


async def counts(url: str) -> tuple:
    async with InferenceServerClient(url) as client:
        stats = (await client.get_inference_statistics(MODEL))["model_stats"][0]["inference_stats"]
    return int(stats["success"]["count"]), int(stats["fail"]["count"])


@pytest.fixture
def sent_bodies(monkeypatch):
    """The JSON head of every /infer request the HTTP/1.1 transport sends, by model name."""
    seen: dict = {}
    send = Http11Transport.send

    async def recording(self, request, deadline):
        if request.url.endswith("/infer"):
            body = b"".join(bytes(part) for part in request.body)
            length = int(request.headers.get("Inference-Header-Content-Length", len(body)))
            seen.setdefault(request.url.split("/models/")[1].split("/")[0], []).append(json.loads(body[:length]))
        return await send(self, request, deadline)

    monkeypatch.setattr(Http11Transport, "send", recording)
    return seen


async def test_a_queued_request_whose_deadline_passed_never_runs(triton, tmp_path: Path, sent_bodies):
    started, release, ran = tmp_path / "started", tmp_path / "release", tmp_path / "ran"
    files = {"started_file": str(started), "release_file": str(release), "ran_file": str(ran)}
    success0, fail0 = await counts(triton.http_url)
    blocker = asyncio.ensure_future(execute(tag("blocker"), triton.http_url, MODEL, parameters=files, timeout=120))
    try:
        await wait_until(started.exists, "the blocker runs")
        with pytest.raises(InferenceServerTimeout):
            await execute(tag("late"), triton.http_url, MODEL, parameters={"ran_file": str(ran)}, timeout=0.5)
        sent = sent_bodies[MODEL][-1]["parameters"]["timeout"]
        assert isinstance(sent, int) and 0 < sent <= 500_000, sent  # what was left of the deadline, in µs

        async def rejected():
            return (await counts(triton.http_url))[1] == fail0 + 1

        await wait_until(rejected, "Triton rejects the late request while the blocker still holds the instance")
    finally:
        release.write_text("go")
    assert (await blocker)["TAG_OUT"].reshape(-1)[0] in (b"blocker", "blocker")

    async def settled():
        success, fail = await counts(triton.http_url)
        return success + fail == success0 + fail0 + 2

    await wait_until(settled, "both requests are accounted for")
    assert await counts(triton.http_url) == (success0 + 1, fail0 + 1)
    assert ran.read_text().split() == ["blocker"]  # the late one never reached the model


async def test_no_timeout_is_sent_to_a_model_that_would_not_honour_it(triton, sent_bodies):
    a, b = np.arange(16, dtype=np.int32), np.ones(16, dtype=np.int32)
    await execute([a, b], triton.http_url, "add_sub", timeout=30)  # no dynamic batcher
    await execute(tag("x"), triton.http_url, MODEL)  # no deadline: nothing to send
    await execute(tag("y"), triton.http_url, MODEL, timeout=30)
    assert "timeout" not in sent_bodies["add_sub"][-1].get("parameters", {})
    assert "timeout" not in sent_bodies[MODEL][0].get("parameters", {})
    assert 0 < sent_bodies[MODEL][1]["parameters"]["timeout"] <= 30_000_000


@pytest.mark.parametrize(
    "batcher, takes",
    [
        (None, False),
        ({}, False),
        ({"default_queue_policy": {"allow_timeout_override": True}}, False),  # a default of 0: nothing to shorten
        ({"default_queue_policy": {"allow_timeout_override": True, "default_timeout_microseconds": "5"}}, True),
        ({"default_queue_policy": {"allow_timeout_override": False, "default_timeout_microseconds": "5"}}, False),
        (
            {
                "default_priority_level": 2,
                "default_queue_policy": {"allow_timeout_override": False},
                "priority_queue_policy": {
                    "2": {"allow_timeout_override": True, "default_timeout_microseconds": 7},
                },
            },
            True,
        ),
        ({"default_queue_policy": {"allow_timeout_override": True, "default_timeout_microseconds": "x"}}, False),
    ],
)
def test_the_rule_of_when_triton_takes_a_request_timeout(batcher, takes):
    config = {"name": "m", "max_batch_size": 4}
    if batcher is not None:
        config["dynamic_batching"] = batcher
    assert takes_timeout(config) is takes
