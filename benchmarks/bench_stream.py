"""Streams through the hypha service against the same stream read straight from Triton, side by side in one run.

Starts the real local Triton (tests/models), hypha (without websocket deflate, the recommended setup,
docs/service.md) and the service's real command line; then reads the decoupled model ``decoupled_stream`` round
by round, the paths interleaved: straight from Triton (``InferenceServerClient.generate_stream``), through the
service from a Python hypha-rpc caller (an async iterator), and through the service's HTTP endpoint (server-sent
events, ``<id>-http``). Two streams: 200 events as fast as the model makes them (the cost of each event on the
path) and 50 events 10 ms apart (a model producing tokens). Medians of the rounds:

    ~/.cache/pyotritonclient/dev-venv/bin/python benchmarks/bench_stream.py [--rounds 7] [--json out.json]

The goal (issue 36): the service adds at most 5 ms to the first event and 1 ms per event on loopback. To
measure the path, not the service's pacing (docs/streaming.md: 80 events/s by default, below hypha's message
rate limit), hypha runs with HYPHA_WS_MSG_RATE_LIMIT raised and the service with --max-events-per-second to match.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hypha_server import HyphaServer  # noqa: E402

from pyotritonclient.http import InferenceServerClient  # noqa: E402
from pyotritonclient.testing.server import TritonServer, cache_dir  # noqa: E402

STREAMS = {"200 events, unpaced": (200, 0.0), "50 events, 10 ms apart": (50, 0.01)}
Reader = Callable[[Dict[str, Any]], Awaitable[List[float]]]  # inputs -> each event's arrival, s after the call


async def arrivals(events: Any) -> List[float]:
    started = time.perf_counter()
    found = []
    async for _ in events:
        found.append(time.perf_counter() - started)
    return found


def summary(times: List[float], count: int) -> Dict[str, float]:
    """First event (ms) and the mean time per event after it (ms)."""
    assert len(times) == count, (len(times), count)
    return {"first_ms": times[0] * 1e3, "per_event_ms": (times[-1] - times[0]) / max(1, count - 1) * 1e3}


def http_reader(url: str) -> Reader:
    import aiohttp

    async def read(inputs: Dict[str, Any]) -> List[float]:
        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            found = []
            body = {"model_name": "decoupled_stream", "inputs": inputs}
            async with session.post(url, json=body) as response:
                async for line in response.content:
                    if line.startswith(b"data: ") and line.strip() != b"data: [DONE]":
                        found.append(time.perf_counter() - started)
            return found

    return read


async def measure(triton_url: str, hypha_url: str, service_id: str, rounds: int) -> Dict[str, Dict[str, Any]]:
    from hypha_rpc import connect_to_server

    caller = await connect_to_server({"server_url": hypha_url})
    client = InferenceServerClient(triton_url)
    try:
        remote = await caller.get_service(service_id)
        workspace = service_id.split("/", 1)[0]
        name = service_id.split(":", 1)[1] if ":" in service_id else service_id.split("/", 1)[1]

        async def direct(inputs: Dict[str, Any]) -> List[float]:
            return await arrivals(client.generate_stream("decoupled_stream", inputs))

        async def service(inputs: Dict[str, Any]) -> List[float]:
            started = time.perf_counter()
            events = await remote.generate_stream(model_name="decoupled_stream", inputs=inputs)
            found = []
            async for _ in events:
                found.append(time.perf_counter() - started)
            return found

        async def answer_at_once(args: Dict[str, Any]) -> None:  # hypha's ASGI path alone: one event, no Triton
            await args["receive"]()
            start = {"type": "http.response.start", "status": 200, "headers": [[b"content-type", b"text/event-stream"]]}
            await args["send"](start)
            await args["send"]({"type": "http.response.body", "body": b"data: {}\n\n", "more_body": False})

        floor = await caller.register_service(
            {"id": "bench-asgi", "type": "asgi", "config": {"visibility": "public"}, "serve": answer_at_once}
        )
        floor_url = f"{hypha_url}/{floor['id'].split('/', 1)[0]}/apps/bench-asgi/generate_stream"
        floor_read = http_reader(floor_url)
        samples_floor = []
        for _ in range(rounds + 1):
            samples_floor.append((await floor_read({}))[0] * 1e3)
        floor_ms = statistics.median(samples_floor[1:])

        paths: Dict[str, Reader] = {
            "straight from Triton": direct,
            "service, Python hypha-rpc caller": service,
            "service, HTTP (server-sent events)": http_reader(
                f"{hypha_url}/{workspace}/apps/{name}-http/generate_stream"
            ),
        }
        table: Dict[str, Dict[str, Any]] = {}
        for stream, (count, delay) in STREAMS.items():
            inputs = {"TEXT": "t", "COUNT": count, "DELAY": delay}
            samples: Dict[str, List[Dict[str, float]]] = {path: [] for path in paths}
            for read in paths.values():  # a warm-up read of each
                await read(inputs)
            for _ in range(rounds):  # interleaved: every path once per round
                for path, read in paths.items():
                    samples[path].append(summary(await read(inputs), count))
            table[stream] = {
                path: {key: statistics.median(s[key] for s in runs) for key in ("first_ms", "per_event_ms")}
                for path, runs in samples.items()
            }
        table["hypha's ASGI path alone"] = {
            "an app that answers one event at once": {"first_ms": floor_ms, "per_event_ms": 0.0}
        }
        return table
    finally:
        await client.close()
        await caller.disconnect()


def registered(process: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + 90
    while "registered " not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text()[-2000:])
        time.sleep(0.2)
    return log.read_text().split("registered ", 1)[1].split()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, TritonServer(ROOT / "tests" / "models") as triton:
        unlimited = {"HYPHA_WS_MSG_RATE_LIMIT": "1000000", "HYPHA_WS_MSG_BURST_LIMIT": "1000000"}
        hypha = HyphaServer(cache_dir(), Path(tmp) / "hypha", deflate=False, env=unlimited).start()
        log = Path(tmp) / "service.log"
        command = [sys.executable, "-m", "pyotritonclient.service", "--hypha-url", hypha.url]
        command += ["--max-events-per-second", "400000"]
        process = subprocess.Popen(
            [*command, "--triton-url", triton.http_url], stdout=open(log, "w"), stderr=subprocess.STDOUT
        )
        try:
            table = asyncio.run(measure(triton.http_url, hypha.url, registered(process, log), args.rounds))
        except BaseException:
            print("the service's log:\n" + log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            process.terminate()
            process.wait(20)
            hypha.stop()
    for stream, rows in table.items():
        base = rows.get("straight from Triton", {"first_ms": 0.0, "per_event_ms": 0.0})
        print(f"\n{stream:<40}{'first event':>14}{'added':>10}{'per event':>14}{'added':>10}")
        for path, row in rows.items():
            print(
                f"{path:<40}{row['first_ms']:>11.2f} ms{row['first_ms'] - base['first_ms']:>+8.2f}"
                f"{row['per_event_ms']:>11.3f} ms{row['per_event_ms'] - base['per_event_ms']:>+8.3f}"
            )
    if args.json:
        args.json.write_text(json.dumps(table, indent=1))


if __name__ == "__main__":
    main()
