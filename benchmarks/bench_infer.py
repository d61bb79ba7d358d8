"""Side-by-side inference speed: pyotritonclient against every Python client for Triton, HTTP and gRPC.

Starts the real local Triton (tests/models) and measures every entry on every workload in one run, the
entries interleaved round by round (not one client after another), and prints per workload the median time per
request, the spread of the rounds, and the ratio to the fastest *client* of that workload (the raw socket
floor is shown for reference and left out of the ratios).

    ~/.cache/pyotritonclient/dev-venv/bin/python benchmarks/bench_infer.py [--rounds 5] [--json out.json] [--quick]
        [--no-peers] [--workload "64 B" ...] [--entry execute ...]

Workloads: 16 INT32 (64 B) sequential, the same with 16 requests in flight, 1,000 BYTES strings, 4 MB and 64 MB
FP32 (identity). Entries: the raw floor, this client's ``infer`` on its default transport and on aiohttp, its
``execute``, tritonclient.http (geventhttpclient; ``async_infer`` for the concurrent workload),
tritonclient.http.aio, and in venvs of their own (benchmarks/peers.py) tritonclient.grpc, tritonclient.grpc.aio
and pyotritonclient 0.2.6.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Optional

from workloads import OUTPUT, WORKLOADS, inputs_for, tensors

from pyotritonclient import execute
from pyotritonclient.http import InferenceServerClient
from pyotritonclient.testing.server import TritonServer
from pyotritonclient.transport.aiohttp import AiohttpTransport

MODELS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "models"


async def _timed(one: Callable[[], Any], count: int, in_flight: int) -> float:
    """Seconds per request: ``count`` requests, ``in_flight`` at a time (one at a time: awaited directly)."""
    rounds = count // in_flight
    start = time.perf_counter()
    if in_flight == 1:
        for _ in range(rounds):
            await one()
    else:
        for _ in range(rounds):
            await asyncio.gather(*(one() for _ in range(in_flight)))
    return (time.perf_counter() - start) / (rounds * in_flight)


class Ours:
    """This client's ``infer`` (or ``execute``) on a transport."""

    def __init__(self, url: str, transport: Any = None, high_level: bool = False) -> None:
        self.url, self.transport, self.high_level = url, transport, high_level

    async def batch(self, model: str, data: Dict[str, Any], count: int, in_flight: int) -> float:
        import pyotritonclient.http as ours

        client = InferenceServerClient(self.url, transport=self.transport() if self.transport else None)
        inputs = tensors(ours, data)

        async def one() -> None:
            if self.high_level:
                await execute(data, self.url, model, client=client)
            else:
                (await client.infer(model, inputs)).as_numpy(OUTPUT[model])

        try:
            await one()
            return await _timed(one, count, in_flight)
        finally:
            await client.close()


class _FloorProtocol(asyncio.BufferedProtocol):
    """Receives one answer at a time into one growing buffer; parses only the Content-Length."""

    def __init__(self) -> None:
        self.buffer = bytearray(1 << 20)
        self.filled = 0
        self.needed = -1
        self.done: Any = None

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.filled == len(self.buffer):
            self.buffer.extend(bytes(len(self.buffer)))
        return memoryview(self.buffer)[self.filled :]

    def buffer_updated(self, nbytes: int) -> None:
        self.filled += nbytes
        if self.needed < 0:
            end = self.buffer.find(b"\r\n\r\n", 0, self.filled)
            if end < 0:
                return
            length = int(self.buffer[:end].lower().split(b"content-length:")[1].split(b"\r\n")[0])
            self.needed = end + 4 + length
            if len(self.buffer) < self.needed:  # one buffer of the answer's size (calloc'd), the prefix copied
                grown = bytearray(self.needed)
                grown[: self.filled] = self.buffer[: self.filled]
                self.buffer = grown
        if self.filled >= self.needed:
            self.filled, self.needed = 0, -1
            self.done.set_result(None)


class RawFloor:
    """The floor: a bare asyncio protocol, one keep-alive connection per request in flight, the request encoded
    once and sent as one buffer, the answer received into one buffer. What any Python client pays at least."""

    def __init__(self, url: str) -> None:
        host, port = url.rsplit(":", 1)
        self.host, self.port = host, int(port)

    async def batch(self, model: str, data: Dict[str, Any], count: int, in_flight: int) -> float:
        import pyotritonclient.http as ours

        body, header_length = InferenceServerClient.generate_request_body(tensors(ours, data))
        head = (
            f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Inference-Header-Content-Length: {header_length}\r\nContent-Type: application/octet-stream\r\n"
            f"Accept-Encoding: identity\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        request = head + body
        loop = asyncio.get_running_loop()
        connections = [await loop.create_connection(_FloorProtocol, self.host, self.port) for _ in range(in_flight)]

        async def exchange(transport: Any, protocol: _FloorProtocol) -> None:
            protocol.done = loop.create_future()
            transport.write(request)
            await protocol.done

        async def worker(transport: Any, protocol: _FloorProtocol, n: int) -> None:
            for _ in range(n):
                await exchange(transport, protocol)

        try:
            await exchange(*connections[0])
            rounds = count // in_flight
            start = time.perf_counter()
            await asyncio.gather(*(worker(t, p, rounds) for t, p in connections))
            return (time.perf_counter() - start) / (rounds * in_flight)
        finally:
            for transport, _ in connections:
                transport.close()


class TritonSync:
    """tritonclient.http: sequential ``infer``, or ``async_infer`` greenlets for requests in flight."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def batch(self, model: str, data: Dict[str, Any], count: int, in_flight: int) -> float:
        import tritonclient.http as tc

        client = tc.InferenceServerClient(self.url, concurrency=in_flight)
        inputs = tensors(tc, data)
        output = OUTPUT[model]
        try:
            client.infer(model, inputs).as_numpy(output)
            start = time.perf_counter()
            rounds = count // in_flight
            for _ in range(rounds):
                if in_flight == 1:
                    client.infer(model, inputs).as_numpy(output)
                else:
                    handles = [client.async_infer(model, inputs) for _ in range(in_flight)]
                    for handle in handles:
                        handle.get_result().as_numpy(output)
            return (time.perf_counter() - start) / (rounds * in_flight)
        finally:
            client.close()


class TritonAio:
    """tritonclient.http.aio."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def batch(self, model: str, data: Dict[str, Any], count: int, in_flight: int) -> float:
        import tritonclient.http.aio as tca

        client = tca.InferenceServerClient(self.url)
        inputs = tensors(tca, data)

        async def one() -> None:
            (await client.infer(model, inputs)).as_numpy(OUTPUT[model])

        try:
            await one()
            return await _timed(one, count, in_flight)
        finally:
            await client.close()


def entries(url: str, grpc_url: str, peers: bool, baseline: Optional[str] = None) -> Dict[str, Any]:
    found: Dict[str, Any] = {
        "raw socket floor": RawFloor(url),
        "pyotritonclient infer": Ours(url),
        "pyotritonclient infer (aiohttp)": Ours(url, transport=AiohttpTransport),
        "pyotritonclient execute": Ours(url, high_level=True),
        "tritonclient.http": TritonSync(url),
        "tritonclient.http.aio": TritonAio(url),
    }
    if baseline:  # this checkout and the baseline's, each in a worker process of its own (the same Python)
        from peers import Peer, checkout_of

        here = pathlib.Path(__file__).resolve().parent.parent
        for label, tree in (("this checkout", here), (f"baseline {baseline}", checkout_of(baseline))):
            for kind in ("infer", "execute"):
                found[f"ours {kind} ({label})"] = Peer(f"ours {kind}", url, grpc_url, checkout=tree)
    if peers:  # in venvs of their own (benchmarks/peers.py installs them once)
        from peers import CLIENTS, Peer

        for name in CLIENTS:
            found[name] = Peer(name, url, grpc_url)
    return found


def measure(
    url: str,
    grpc_url: str,
    rounds: int,
    quick: bool,
    peers: bool,
    progress: Callable[[str], None],
    only_workloads: Optional[List[str]] = None,
    only_entries: Optional[List[str]] = None,
    baseline: Optional[str] = None,
) -> Dict[str, Dict[str, Any]]:
    table: Dict[str, Dict[str, Any]] = {}
    clients = entries(url, grpc_url, peers, baseline)
    if only_entries:
        clients = {name: entry for name, entry in clients.items() if any(part in name for part in only_entries)}
    try:
        for workload in WORKLOADS:
            if only_workloads and workload not in only_workloads:
                continue
            table[workload] = _workload(workload, clients, rounds, quick)
            progress(workload)
    finally:
        for client in clients.values():
            if hasattr(client, "close"):
                client.close()
    return table


def _workload(workload: str, clients: Dict[str, Any], rounds: int, quick: bool) -> Dict[str, Any]:
    model, shape, _, count, in_flight = WORKLOADS[workload]
    if quick:
        count = max(in_flight, count // 4)
    data = inputs_for(model, shape)
    runs: Dict[str, List[float]] = {name: [] for name in clients}
    names = list(clients)
    for round_index in range(rounds):  # interleaved: every entry once per round, the order rotated each round
        start = round_index % len(names)
        for name in names[start:] + names[:start]:
            entry = clients[name]
            slow = name in ("tritonclient.http.aio", "pyotritonclient 0.2.6")  # gzip / requests: seconds
            if slow and workload == "64 MB" and quick:
                continue
            if name == "raw socket floor" and model == "identity_fp32":
                continue  # a floor of per-request cost: one joined write of MBs measures asyncio's buffering
            runs[name].append(asyncio.run(entry.batch(model, data, count, in_flight)))
    medians = {name: statistics.median(times) for name, times in runs.items() if times}
    fastest = min(ms for name, ms in medians.items() if name != "raw socket floor")  # the fastest *client*
    return {
        name: {
            "ms": round(medians[name] * 1e3, 4),
            "spread_ms": [round(min(runs[name]) * 1e3, 4), round(max(runs[name]) * 1e3, 4)],
            "x_fastest": round(medians[name] / fastest, 3),
        }
        for name in medians
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer requests per batch (a smoke run)")
    parser.add_argument("--json", type=pathlib.Path, help="also write the numbers here")
    parser.add_argument("--no-peers", action="store_true", help="leave out the peers that need venvs of their own")
    parser.add_argument("--workload", action="append", help="only this workload (its name; repeatable)")
    parser.add_argument("--entry", action="append", help="only entries whose name contains this (repeatable)")
    parser.add_argument(
        "--baseline", help="also measure this git revision's infer and execute, side by side with this checkout's"
    )
    args = parser.parse_args()
    with TritonServer(MODELS) as server:
        grpc_url = f"127.0.0.1:{server.grpc_port}"
        table = measure(
            server.url,
            grpc_url,
            args.rounds,
            args.quick,
            not args.no_peers,
            lambda w: print(f"measured {w}", flush=True),
            args.workload,
            args.entry,
            args.baseline,
        )
    print(f"\n{'workload':<20}{'entry':<34}{'ms/request':>11}{'spread':>20}{'x fastest':>10}")
    for workload, rows in table.items():
        for name, row in sorted(rows.items(), key=lambda item: item[1]["ms"]):
            low, high = row["spread_ms"]
            print(f"{workload:<20}{name:<34}{row['ms']:>11.3f}{f'{low:.3f}-{high:.3f}':>20}{row['x_fastest']:>10.2f}")
    if args.json:
        meta = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cpus",
                "python": platform.python_version(), "rounds": args.rounds}  # fmt: skip
        args.json.write_text(json.dumps({"meta": meta, "results": table}, indent=1))


if __name__ == "__main__":
    main()
