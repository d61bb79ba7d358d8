"""Replicas of the service on one real hypha: callers spread by hypha's own "select:min:get_load", and a
replica stopped with SIGTERM that finishes its calls in flight, ends its sequences and leaves the rest to the
other replica."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hypha_server import HyphaServer, start_service_cli, wait_for_line  # noqa: E402
from test_service_lifetime import _ended_on_triton, train_step  # noqa: E402

A = np.arange(16, dtype=np.int32)
B = np.full(16, 3, dtype=np.int32)


@pytest.fixture
async def replicas(cache_dir, triton, tmp_path):
    """hypha, a workspace with a token for it, and two replicas of the service registered there as 'triton-client'."""
    from hypha_rpc import connect_to_server

    hypha = HyphaServer(cache_dir, tmp_path / "hypha").start()
    owner = await connect_to_server({"server_url": hypha.url})  # keeps the workspace alive
    workspace = owner.config.workspace
    token = await owner.generate_token({"workspace": workspace, "permission": "read_write", "expires_in": 3600})
    started = []
    try:
        for name in ("one", "two"):
            log = tmp_path / f"replica-{name}.log"
            options = ["--workspace", workspace, "--token", token, "--client-id", f"replica-{name}"]
            process = start_service_cli(log, hypha.url, triton.http_url, *options, "--grace-period", "30")
            started.append((process, log))
        ids = [await wait_for_line(process, log, "registered ") for process, log in started]
        yield {"hypha": hypha, "workspace": workspace, "token": token, "ids": ids, "replicas": started}
    finally:
        for process, _ in started:
            process.terminate()
            process.wait(40)
        await owner.disconnect()
        hypha.stop()


def test_a_javascript_caller_choosing_by_load_reaches_both_replicas(cache_dir, replicas):
    modules = cache_dir / "npm-hypha" / "node_modules"
    if not (modules / "hypha-rpc").exists():
        pytest.fail(f"npm hypha-rpc is missing under {modules}: run scripts/ensure-hypha (./dev test does)")
    command = ["node", "--experimental-websocket", str(HERE / "js" / "replicas_client.mjs"), str(modules)]
    out = subprocess.run(
        [*command, replicas["hypha"].url, replicas["workspace"], replicas["token"], "200"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["correct"] == 200
    assert len(result["replicas"]) == 2 and all(count > 0 for count in result["replicas"].values()), result
    print(f"\n200 calls with select:min:get_load: {result['replicas']}")


async def test_a_replica_stopped_with_sigterm_finishes_its_calls_ends_its_sequences_and_leaves(replicas, triton):
    from hypha_rpc import connect_to_server

    caller = await connect_to_server(
        {"server_url": replicas["hypha"].url, "workspace": replicas["workspace"], "token": replicas["token"]}
    )
    try:
        (first, first_log), _ = replicas["replicas"]
        stopping = await caller.get_service(replicas["ids"][0])  # this replica, by its full id
        assert await stopping.get_load() == 0
        seq = await stopping.sequence_start(model_name="cellpose-train")
        await stopping.sequence_step(sequence_id=seq, inputs=train_step(1.0))
        slow = [stopping.execute(model_name="slow", inputs=[np.array([2.0], np.float32)]) for _ in range(3)]
        in_flight = asyncio.gather(*slow)
        while await stopping.get_load() < 3:  # the three calls have reached the replica
            assert not in_flight.done(), in_flight
            await asyncio.sleep(0.02)
        assert await stopping.get_load() == 3
        first.terminate()  # SIGTERM
        while await stopping.get_load() < 1_000_000:  # the replica has taken the signal: it is stopping
            await asyncio.sleep(0.02)
        with pytest.raises(Exception, match=rf"sequence {seq} was ended: the service replica is stopping"):
            await stopping.sequence_step(sequence_id=seq, inputs=train_step(1.0))
        with pytest.raises(Exception, match=r"takes no new work"):
            await stopping.execute(model_name="add_sub", inputs=[A, B])
        assert await stopping.get_load() >= 1_000_000  # callers choosing by load go elsewhere
        results = await asyncio.wait_for(in_flight, 30)  # every call in flight completes
        assert all(float(r["OUTPUT0"][0]) == 2.0 for r in results)
        assert first.wait(30) == 0, first_log.read_text()[-2000:]
        assert (
            "no call running" in first_log.read_text() and "open sequence(s) ended on Triton" in first_log.read_text()
        )
        await _ended_on_triton(triton, seq)  # its open sequence was ended on Triton
        for _ in range(10):  # later calls go to the other replica
            svc = await caller.get_service("triton-client", {"mode": "select:min:get_load"})
            assert svc.id == replicas["ids"][1]
            out = await svc.execute(model_name="add_sub", inputs=[A, B])
            assert np.array_equal(out["OUTPUT0"], A + B)
    finally:
        await caller.disconnect()


async def test_a_sequence_step_on_another_replica_is_refused_not_restarted(replicas):
    from hypha_rpc import connect_to_server

    caller = await connect_to_server(
        {"server_url": replicas["hypha"].url, "workspace": replicas["workspace"], "token": replicas["token"]}
    )
    try:
        one, two = [await caller.get_service(i) for i in replicas["ids"]]
        seq = await one.sequence_start(model_name="cellpose-train")
        with pytest.raises(Exception, match=r"a sequence stays on the replica that started it"):
            await two.sequence_step(sequence_id=seq, inputs=train_step(1.0))
        await one.sequence_end(sequence_id=seq, inputs=train_step(1.0))
    finally:
        await caller.disconnect()


def test_get_load_counts_calls_in_flight_and_a_stopping_replica_is_busy():
    """In process, no hypha: the load is the calls running now."""
    from pyotritonclient.service import ServiceConfig, TritonService

    async def run():
        service = TritonService(ServiceConfig("http://127.0.0.1:9"))
        gate = asyncio.Event()

        async def blocked(**_):
            await gate.wait()
            return []

        service.list_models = blocked  # type: ignore[method-assign]
        calls = [asyncio.ensure_future(service.call("list_models")) for _ in range(3)]
        while service.in_flight < 3:  # the calls have started (each is a task of its own)
            await asyncio.sleep(0)
        assert await service.call("get_load") == 3
        drained = asyncio.ensure_future(service.drain(5.0, "stopping for the test"))
        while not service.stopping:
            await asyncio.sleep(0)
        assert await service.call("get_load") == 3 + 1_000_000
        gate.set()
        report = await drained
        assert report.calls_left == 0 and await asyncio.gather(*calls) == [[], [], []]
        assert "no call running" in report.describe(5.0)
        assert await service.call("get_load") == 1_000_000
        with pytest.raises(Exception, match="stopping for the test"):
            await service.call("list_models")

    asyncio.run(run())
