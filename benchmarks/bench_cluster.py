"""Calls per second through the service on one hypha process and across two (hypha's cluster mode on Redis, with
nginx in front; the harness of tests/cluster.py), for small requests and 4 MB tensors, side by side in one run.

    python benchmarks/bench_cluster.py [--calls 400] [--big-calls 20] [--in-flight 8]

Rows: a caller and the replica on the same hypha process; the caller on the other process (every call crosses
Redis); two replicas, one per process, chosen by load. Numbers go to docs/scaling.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from cluster import Cluster  # noqa: E402
from hypha_server import start_service_cli, wait_for_line  # noqa: E402

from pyotritonclient.testing.server import TritonServer, cache_dir  # noqa: E402


async def rate(caller, service_id, inputs, model, calls, in_flight, mode=None):
    """Calls per second with ``in_flight`` calls at a time (after two warm-up calls)."""
    options = {"mode": mode} if mode else {}
    svc = await caller.get_service(service_id, options) if mode else await caller.get_service(service_id)
    for _ in range(2):
        await svc.execute(model_name=model, inputs=inputs)
    queue = list(range(calls))

    async def worker():
        while queue:
            queue.pop()
            chosen = await caller.get_service(service_id, options) if mode else svc
            await chosen.execute(model_name=model, inputs=inputs)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return calls / (time.perf_counter() - started)


async def main(args):
    from hypha_rpc import connect_to_server

    cache = cache_dir()
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    triton = TritonServer(HERE.parent / "tests" / "models")
    triton.start()
    cluster = Cluster(cache, work / "cluster").start()
    replicas = []
    try:
        owner = await connect_to_server({"server_url": cluster.hyphas[0].url})
        workspace = owner.config.workspace
        token = await owner.generate_token({"workspace": workspace, "permission": "read_write", "expires_in": 3600})
        for index in (0, 1):
            log = work / f"replica-{index}.log"
            options = ["--workspace", workspace, "--token", token, "--client-id", f"replica-{index}"]
            process = start_service_cli(log, cluster.balancer.url(index), triton.http_url, *options)
            replicas.append((process, log))
        ids = [await wait_for_line(process, log, "registered ") for process, log in replicas]
        small = [np.arange(16, dtype=np.int32), np.ones(16, dtype=np.int32)]
        big = [np.ones([1, 1024, 1024], np.float32)]  # 4 MB
        rows = {}
        for label, hypha, target, mode in [
            ("caller and replica on one hypha process", 0, ids[0], None),
            ("caller on the other process (through Redis)", 1, ids[0], None),
            ("two replicas, one per process, by load", 1, f"{workspace}/triton-client", "select:min:get_load"),
        ]:
            caller = await connect_to_server(
                {"server_url": cluster.hyphas[hypha].url, "workspace": workspace, "token": token}
            )
            try:
                small_rates = [await rate(caller, target, small, "add_sub", args.calls, args.in_flight, mode)
                               for _ in range(args.rounds)]  # fmt: skip
                big_rates = [await rate(caller, target, big, "identity_fp32", args.big_calls, 2, mode)
                             for _ in range(args.rounds)]  # fmt: skip
            finally:
                await caller.disconnect()
            rows[label] = (statistics.median(small_rates), statistics.median(big_rates))
        best_small = max(r[0] for r in rows.values())
        best_big = max(r[1] for r in rows.values())
        print(f"\n| path | small calls/s ({args.in_flight} in flight) | ratio | 4 MB calls/s (2 in flight) | ratio |")
        print("| --- | --- | --- | --- | --- |")
        for label, (s, b) in rows.items():
            print(f"| {label} | {s:.0f} | {best_small / s:.2f}x | {b:.1f} | {best_big / b:.2f}x |")
        await owner.disconnect()
    finally:
        for process, _ in replicas:
            process.terminate()
            process.wait(30)
        cluster.stop()
        triton.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--big-calls", type=int, default=20)
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(main(parser.parse_args()))
