"""Streams over the real hypha (issue 36): a Python caller (hypha-rpc) gets ``generate_stream`` as an async
iterator, events in order and then its end; stopping the iteration stops the model on Triton; an error after the
200 arrives as an error; a caller killed mid-stream leaves no stream running on the service (within two liveness
checks), and the model is stopped. Real Triton, real hypha, the caller in a process of its own."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from contextlib import aclosing

import pytest
from test_service_streams import MODEL, finished, tagged

from pyotritonclient.service import ServiceConfig, TritonService
from pyotritonclient.service.hypha import register


@pytest.fixture
async def on_hypha(hypha_server, triton):
    """The service registered on the real hypha (liveness checked every 0.5 s), and a caller connected to it."""
    from hypha_rpc import connect_to_server

    service = TritonService(ServiceConfig(triton.http_url, liveness_interval=0.5))
    server, info = await register(service, hypha_server, service_id="triton-streams")
    caller = await connect_to_server({"server_url": hypha_server})
    yield service, await caller.get_service(info["id"]), info["id"]
    await caller.disconnect()
    await service.close()
    await server.disconnect()


async def wait_until(condition, what: str, within: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not within {within} s"
        await asyncio.sleep(0.05)


async def test_a_python_caller_iterates_the_events_in_order_to_the_end(on_hypha):
    service, remote, _ = on_hypha
    inputs = tagged(COUNT=6)
    tokens = [event["TOKEN"] async for event in await remote.generate_stream(model_name=MODEL, inputs=inputs)]
    assert tokens == [f"token {i}" for i in range(6)]
    assert (await finished(inputs["TAG"]))["produced"] == 6
    await wait_until(lambda: not service.streams.open, "the finished stream forgotten")


async def test_a_python_caller_that_stops_iterating_stops_the_model(on_hypha):
    service, remote, _ = on_hypha
    inputs = tagged(COUNT=1000, DELAY=0.02)
    async with aclosing(await remote.generate_stream(model_name=MODEL, inputs=inputs)) as events:
        async for event in events:
            if event["TOKEN"] == "token 2":
                break
    state = await finished(inputs["TAG"])
    assert state["cancelled"] and state["produced"] < 1000, state
    await wait_until(lambda: not service.streams.open, "the closed stream forgotten")


async def test_an_error_after_the_200_reaches_the_python_caller(on_hypha):
    _, remote, _ = on_hypha
    tokens = []
    with pytest.raises(Exception, match="deliberate failure at token 3"):
        async for event in await remote.generate_stream(model_name=MODEL, inputs=tagged(COUNT=9, FAIL_AT=3)):
            tokens.append(event["TOKEN"])
    assert tokens == ["token 0", "token 1", "token 2"]


CALLER = textwrap.dedent(
    """
    import asyncio, sys
    from hypha_rpc import connect_to_server

    async def main():
        client = await connect_to_server({"server_url": sys.argv[1]})
        svc = await client.get_service(sys.argv[2])
        events = await svc.generate_stream(model_name="cancellable_stream",
                                           inputs={"TAG": sys.argv[3], "COUNT": 100000, "DELAY": 0.02})
        async for event in events:
            if event["TOKEN"] == "token 1":
                print("streaming", flush=True)
                await asyncio.Event().wait()

    asyncio.run(main())
    """
)


async def test_a_killed_caller_leaves_no_stream_running_and_the_model_stopped(on_hypha, hypha_server):
    service, remote, service_id = on_hypha
    tag = tagged()["TAG"]
    process = subprocess.Popen(
        [sys.executable, "-c", CALLER, hypha_server, service_id, tag],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = await asyncio.get_running_loop().run_in_executor(None, process.stdout.readline)
        assert line.strip() == "streaming", process.stderr.read() if process.poll() is not None else line
        assert len(service.streams.open) == 1 and await remote.get_load() == 1
        process.kill()  # no goodbye: the service finds out by its liveness checks
        process.wait(10)
        state = await finished(tag, within=60)
        assert state["cancelled"], state
        await wait_until(lambda: not service.streams.open, "the dead caller's stream ended")
        assert await remote.get_load() == 0
    finally:
        if process.poll() is None:
            process.kill()
