"""A benchmark worker for clients that live in their own venv (tritonclient's gRPC clients, pyotritonclient 0.2.6)
or in another checkout of this repository (``ours infer``/``ours execute``, with PYTHONPATH set: --baseline).

Run by bench_infer.py with that venv's Python: ``peer_worker.py CLIENT URL GRPC_URL``. Reads one JSON command per
line on stdin (``{"model", "shape", "count", "in_flight"}``) and answers one line: the seconds per request.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any, Callable, Dict, List

from workloads import OUTPUT, inputs_for, tensors


def tensors_for(module: Any, model: str, shape: List[int]) -> List[Any]:
    """The workload's inputs as ``module``'s InferInputs."""
    return tensors(module, inputs_for(model, shape))


def sync_batch(call: Callable[[], Any], start_many: Callable[[int], Any], count: int, in_flight: int) -> float:
    call()
    rounds = count // in_flight
    began = time.perf_counter()
    for _ in range(rounds):
        if in_flight == 1:
            call()
        else:
            start_many(in_flight)
    return (time.perf_counter() - began) / (rounds * in_flight)


async def async_batch(call: Callable[[], Any], count: int, in_flight: int) -> float:
    await call()
    rounds = count // in_flight
    began = time.perf_counter()
    for _ in range(rounds):
        if in_flight == 1:
            await call()
        else:
            await asyncio.gather(*(call() for _ in range(in_flight)))
    return (time.perf_counter() - began) / (rounds * in_flight)


def run(client: str, url: str, grpc_url: str, command: Dict[str, Any]) -> float:
    model, shape = command["model"], command["shape"]
    count, in_flight = command["count"], command["in_flight"]
    if client == "tritonclient.grpc":
        import tritonclient.grpc as grpc

        triton = grpc.InferenceServerClient(grpc_url)
        inputs = tensors_for(grpc, model, shape)

        def many(n: int) -> None:
            done: List[Any] = []
            for _ in range(n):
                triton.async_infer(model, inputs, callback=lambda result, error: done.append((result, error)))
            while len(done) < n:
                time.sleep(0.00005)
            for result, error in done:
                assert error is None, error
                result.as_numpy(OUTPUT[model])

        try:
            return sync_batch(lambda: triton.infer(model, inputs).as_numpy(OUTPUT[model]), many, count, in_flight)
        finally:
            triton.close()
    if client == "tritonclient.grpc.aio":
        import tritonclient.grpc.aio as grpc_aio

        async def go() -> float:
            triton = grpc_aio.InferenceServerClient(grpc_url)
            inputs = tensors_for(grpc_aio, model, shape)

            async def call() -> None:
                (await triton.infer(model, inputs)).as_numpy(OUTPUT[model])

            try:
                return await async_batch(call, count, in_flight)
            finally:
                await triton.close()

        return asyncio.run(go())
    if client == "pyotritonclient 0.2.6":
        import pyotritonclient.http as old

        async def go_old() -> float:
            triton = old.InferenceServerClient(url)
            inputs = tensors_for(old, model, shape)

            async def call() -> None:
                (await triton.infer(model, inputs)).as_numpy(OUTPUT[model])

            return await async_batch(call, count, in_flight)

        return asyncio.run(go_old())
    if client.startswith(("ours infer", "ours execute")):  # a checkout of this repository (PYTHONPATH): --baseline
        import pyotritonclient.http as ours
        from pyotritonclient import execute

        async def go_ours() -> float:
            triton = ours.InferenceServerClient(url)
            inputs = tensors_for(ours, model, shape)
            data = inputs_for(model, shape)

            async def call() -> None:
                if client.startswith("ours execute"):
                    await execute(data, url, model, client=triton)
                else:
                    (await triton.infer(model, inputs)).as_numpy(OUTPUT[model])

            try:
                return await async_batch(call, count, in_flight)
            finally:
                await triton.close()

        return asyncio.run(go_ours())
    raise SystemExit(f"unknown client {client!r}")


def main() -> None:
    client, url, grpc_url = sys.argv[1:4]
    for line in sys.stdin:
        print(json.dumps(run(client, url, grpc_url, json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
