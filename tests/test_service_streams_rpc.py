"""Streams over the real hypha (issue 36): a Python caller (hypha-rpc) gets ``generate_stream`` as an async
iterator, events in order and then its end; stopping the iteration stops the model on Triton; an error after the
200 arrives as an error; a caller killed mid-stream leaves no stream running on the service (within two liveness
checks), and the model is stopped. Real Triton, real hypha, the caller in a process of its own."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from contextlib import aclosing
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
from test_service_streams import MODEL, finished, tagged
from waiting import wait_until


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


async def test_a_javascript_caller_iterates_stops_and_gets_the_error(on_hypha, hypha_server, cache_dir):
    """hypha-rpc's JavaScript client (Node): for await over the events, break to stop (the model sees the
    cancellation), an error after the first token caught as an exception."""
    service, _, service_id = on_hypha
    modules = cache_dir / "npm-hypha" / "node_modules"
    if not (modules / "hypha-rpc").exists():
        pytest.fail(f"npm hypha-rpc is missing under {modules}: run scripts/ensure-hypha (./dev test does)")
    whole, stopped = tagged()["TAG"], tagged()["TAG"]
    script = Path(__file__).parent / "js" / "hypha_stream.mjs"
    process = await asyncio.create_subprocess_exec(
        "node", "--experimental-websocket", str(script), str(modules), hypha_server, service_id, whole, stopped,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    lines = [line for line in stdout.decode().splitlines() if line.startswith("RESULT ")]
    assert process.returncode == 0 and lines, f"{stdout.decode()[-2000:]}\n{stderr.decode()[-2000:]}"
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["whole"] == [f"token {i}" for i in range(5)]
    assert result["stopped"] == ["token 0", "token 1", "token 2"]
    assert result["failed"] == ["token 0"] and "deliberate failure at token 1" in result["error"]
    state = await finished(stopped)
    assert state["cancelled"] and state["produced"] < 100000, state
    await wait_until(lambda: not service.streams.open, "the JavaScript caller's streams ended")


def _http_stream(url: str, body: Dict[str, Any], keep: int) -> List[str]:
    """A plain HTTP client of hypha's endpoint for services: POST, then the server-sent events' data lines, at
    most ``keep`` of them (then the connection is closed, as a browser tab that goes away closes it)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    found: List[str] = []
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream"), response.headers
        for raw in response:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("data: "):
                found.append(line[len("data: ") :])
                if len(found) >= keep or found[-1] == "[DONE]":
                    break
    return found


async def test_a_plain_http_client_streams_through_hypha_and_stops_the_model(on_hypha, hypha_server):
    service, _, service_id = on_hypha
    workspace = service_id.split("/", 1)[0]  # (hypha's /services/ endpoint cannot stream a remote generator)
    url = f"{hypha_server}/{workspace}/apps/triton-streams-http/generate_stream"
    run = asyncio.get_running_loop().run_in_executor
    whole = await run(None, _http_stream, url, {"model_name": MODEL, "inputs": tagged(COUNT=4)}, 100)
    assert [json.loads(data)["TOKEN"] for data in whole[:-1]] == [f"token {i}" for i in range(4)]
    assert whole[-1] == "[DONE]"
    failed = await run(None, _http_stream, url, {"model_name": MODEL, "inputs": tagged(COUNT=4, FAIL_AT=2)}, 100)
    assert [json.loads(data).get("TOKEN") for data in failed[:2]] == ["token 0", "token 1"]
    assert "deliberate failure at token 2" in json.loads(failed[2])["error"] and failed[-1] == "[DONE]"
    inputs = tagged(COUNT=100000, DELAY=0.02)
    first = await run(None, _http_stream, url, {"model_name": MODEL, "inputs": inputs}, 3)
    assert [json.loads(data)["TOKEN"] for data in first] == ["token 0", "token 1", "token 2"]
    state = await finished(inputs["TAG"], within=60)  # the connection closed: hypha closes the stream, Triton stops
    assert state["cancelled"], state
    await wait_until(lambda: not service.streams.open, "the HTTP caller's stream ended")


def _status(url: str, body: bytes, method: str = "POST") -> Tuple[int, str]:
    request = urllib.request.Request(url, data=body if method == "POST" else None, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def test_bad_http_requests_get_a_status_and_a_message(on_hypha, hypha_server):
    _, _, service_id = on_hypha
    base = f"{hypha_server}/{service_id.split('/', 1)[0]}/apps/triton-streams-http"
    run = asyncio.get_running_loop().run_in_executor
    cases = [
        (f"{base}/generate_stream", b"not json", "POST", 400, "must be a JSON object"),
        (f"{base}/generate_stream", json.dumps({"model_name": MODEL, "inputs": [1]}).encode(), "POST", 400,
         "inputs must be an object"),
        (f"{base}/generate_stream", json.dumps({"model_name": MODEL, "input": {}}).encode(), "POST", 400,
         "unknown field 'input'"),
        (f"{base}/generate_stream", json.dumps({"model_name": MODEL, "inputs": {"TAG": "x" * 2_000_000}}).encode(),
         "POST", 413, "larger than this service accepts"),
        (f"{base}/generate_stream", b"", "GET", 405, "takes POST"),
        (f"{base}/elsewhere", b"{}", "POST", 404, "not found"),
    ]  # fmt: skip
    for url, body, method, status, message in cases:
        got, text = await run(None, _status, url, body, method)
        assert got == status and message in json.loads(text)["error"], (url, method, got, text)


async def test_a_fast_stream_is_paced_below_hyphas_message_rate_limit(cache_dir, tmp_path, triton):
    """hypha disconnects a client that sends more messages per second than HYPHA_WS_MSG_RATE_LIMIT allows after
    its burst: every caller of the service would lose it. A model that streams as fast as it can is paced instead
    (here hypha allows 40 messages/s after 100, the service hands out 10 events/s, two messages each, after 30):
    every event arrives, in order. Without the pacing the service is disconnected at the 50th event or so."""
    from hypha_rpc import connect_to_server
    from hypha_server import HyphaServer

    from pyotritonclient.service import ServiceConfig, TritonService
    from pyotritonclient.service.hypha import register

    limits = {"HYPHA_WS_MSG_RATE_LIMIT": "40", "HYPHA_WS_MSG_BURST_LIMIT": "100"}
    hypha = HyphaServer(cache_dir, tmp_path / "hypha", env=limits)
    try:
        hypha.start()
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(str(exc))
    service = TritonService(ServiceConfig(triton.http_url, max_events_per_second=10))
    try:
        server, info = await register(service, hypha.url, service_id="triton-paced")
        caller = await connect_to_server({"server_url": hypha.url})
        try:
            remote = await caller.get_service(info["id"])
            events = await remote.generate_stream(model_name="decoupled_stream", inputs={"TEXT": "t", "COUNT": 80})
            texts = [event["TEXT"] async for event in events]
            assert texts == [f"t {i}" for i in range(80)]
        finally:
            await caller.disconnect()
            await server.disconnect()
    finally:
        await service.close()
        hypha.stop()
