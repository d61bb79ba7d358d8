"""The service's lifetime on a real hypha: it stays registered across a hypha restart, ends its sequences on
SIGTERM, and frees the sequences of callers that leave (from its own workspace or another)."""

from __future__ import annotations

import asyncio
import time

import numpy as np
from waiting import wait_until

from pyotritonclient.service import ServiceConfig, TritonService


def train_step(value):
    return [np.full([1, 2, 2], value, np.float32), np.ones([2, 2], np.uint16), {"steps": 1}]


async def test_the_service_stays_registered_across_a_hypha_restart_and_ends_its_sequences_on_sigterm(
    cache_dir, triton, tmp_path
):
    from hypha_rpc import connect_to_server
    from hypha_server import HyphaServer, ready_models, start_service_cli, wait_for_line

    hypha = HyphaServer(cache_dir, tmp_path / "hypha").start()
    log = tmp_path / "service.log"
    service = start_service_cli(log, hypha.url, triton.http_url, "--client-id", "triton-svc")
    try:
        service_id = await wait_for_line(service, log, "registered ")
        assert "add_sub" in await ready_models(hypha.url, service_id)
        hypha.stop()
        hypha.start()  # same port and secret, a new server process: the service's connection was lost
        deadline = time.monotonic() + 60
        while True:
            try:
                assert "add_sub" in await ready_models(hypha.url, service_id)
                break
            except Exception as exc:
                assert service.poll() is None, log.read_text()
                if time.monotonic() > deadline:
                    raise AssertionError(f"not registered again after 60 s: {exc}\n{log.read_text()[-2000:]}") from None
                await asyncio.sleep(0.5)
        # SIGTERM (how process managers stop services) ends the open sequences on Triton before exiting
        client = await connect_to_server({"server_url": hypha.url})
        try:
            svc = await client.get_service(service_id)
            seq = await svc.sequence_start(model_name="cellpose-train")
            await svc.sequence_step(sequence_id=seq, inputs=train_step(1.0))
            service.terminate()
            assert service.wait(15) == 0, log.read_text()[-2000:]
        finally:
            await client.disconnect()
        await _ended_on_triton(triton, seq)
    finally:
        service.terminate()
        service.wait(15)
        hypha.stop()


async def _ended_on_triton(triton, seq, timeout=30.0):
    """The sequence is gone on Triton: a step without START is refused. The service frees its entry first and
    then sends the end, so the end may still be in flight: ask until Triton refuses (or the time is up)."""
    from pyotritonclient import InferenceServerException, SequenceExecutor

    deadline = time.monotonic() + timeout
    while True:
        try:
            await SequenceExecutor(triton.http_url, "cellpose-train", seq, start=False).step(train_step(1.0))
        except InferenceServerException as exc:
            assert "START" in str(exc), exc
            return
        assert time.monotonic() < deadline, f"sequence {seq} still open on Triton after {timeout} s"
        await asyncio.sleep(0.2)


async def test_a_caller_of_another_workspace_that_disconnects_is_found_gone(hypha_server, triton):
    """Anonymous callers live in workspaces of their own, whose events the service does not see: the
    liveness check (a ping of the caller's built-in service) finds them gone."""
    from hypha_rpc import connect_to_server

    from pyotritonclient.service.hypha import register

    service = TritonService(ServiceConfig(triton.http_url, liveness_interval=0.3))
    server, info = await register(service, hypha_server, service_id="triton-liveness")
    try:
        caller = await connect_to_server({"server_url": hypha_server})
        assert caller.config.workspace != server.config.workspace
        svc = await caller.get_service(info["id"])
        seq = await svc.sequence_start(model_name="cellpose-train")
        await svc.sequence_step(sequence_id=seq, inputs=train_step(1.0))
        checks = service.sequences.liveness_checks
        await wait_until(lambda: service.sequences.liveness_checks >= checks + 3, "three liveness checks")
        assert [s.caller_id for s in service._sequences.values()] == [seq]  # a connected caller keeps it
        await caller.disconnect()
        await wait_until(lambda: not service._sequences, "sequence freed after the caller left")
        await _ended_on_triton(triton, seq)
    finally:
        await service.close()
        await server.disconnect()


async def test_a_caller_of_the_service_workspace_is_released_on_its_disconnect_event(hypha_server, triton):
    from hypha_rpc import connect_to_server

    from pyotritonclient.service.hypha import register

    service = TritonService(ServiceConfig(triton.http_url, liveness_interval=3600))  # events only
    server, info = await register(service, hypha_server, service_id="triton-events")
    try:
        token = await server.generate_token()
        caller = await connect_to_server(
            {"server_url": hypha_server, "workspace": server.config.workspace, "token": token}
        )
        svc = await caller.get_service(info["id"])
        seq = await svc.sequence_start(model_name="cellpose-train")
        await svc.sequence_step(sequence_id=seq, inputs=train_step(1.0))
        assert len(service._sequences) == 1
        await caller.disconnect()
        await wait_until(lambda: not service._sequences, "sequence freed on client_disconnected")
        await _ended_on_triton(triton, seq)
    finally:
        await service.close()
        await server.disconnect()
