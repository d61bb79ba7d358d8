"""Side-by-side inference speed: pyotritonclient vs tritonclient.http (sync) and tritonclient.http.aio.

Starts the real local Triton (tests/models), sends the same tensors with each client in one run, and
prints the median time per call and the ratio to pyotritonclient. Run: `python benchmarks/bench_infer.py`
(inside `./dev`'s venv: ~/.cache/pyotritonclient/dev-venv/bin/python).
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import statistics
import time
from typing import Awaitable, Callable, Dict, List

import numpy as np

from pyotritonclient.http import InferenceServerClient, InferInput
from pyotritonclient.testing.server import TritonServer

MODELS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "models"


def timed(fn: Callable[[], object], repeat: int) -> List[float]:
    fn()  # warm-up (connection, model)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


async def atimed(fn: Callable[[], Awaitable[object]], repeat: int) -> List[float]:
    await fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - start)
    return times


async def run(url: str, shape: List[int], repeat: int) -> Dict[str, float]:
    import tritonclient.http as tc
    import tritonclient.http.aio as tca

    data = np.random.default_rng(0).random(shape).astype(np.float32)
    results: Dict[str, float] = {}

    async with InferenceServerClient(url) as ours:
        x = InferInput("INPUT0", shape, "FP32").set_data_from_numpy(data)

        async def ours_call() -> object:
            out = (await ours.infer("identity_fp32", [x])).as_numpy("OUTPUT0")
            assert out.shape == data.shape
            return out

        results["pyotritonclient"] = statistics.median(await atimed(ours_call, repeat))

    aio = tca.InferenceServerClient(url)
    try:
        tx = tca.InferInput("INPUT0", shape, "FP32")
        tx.set_data_from_numpy(data)

        async def aio_call() -> object:
            return (await aio.infer("identity_fp32", [tx])).as_numpy("OUTPUT0")

        results["tritonclient.http.aio"] = statistics.median(await atimed(aio_call, repeat))
    finally:
        await aio.close()

    sync = tc.InferenceServerClient(url)
    try:
        sx = tc.InferInput("INPUT0", shape, "FP32")
        sx.set_data_from_numpy(data)
        results["tritonclient.http"] = statistics.median(
            timed(lambda: sync.infer("identity_fp32", [sx]).as_numpy("OUTPUT0"), repeat)
        )
    finally:
        sync.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    cases = {"small (64 B)": [1, 4, 4], "4 MB": [1, 1024, 1024], "64 MB": [16, 1024, 1024]}
    with TritonServer(MODELS) as server:
        print(f"{'tensor':<14}{'client':<24}{'median ms':>10}{'x ours':>9}")
        for label, shape in cases.items():
            repeat = args.repeat if shape[0] == 1 else max(3, args.repeat // 4)
            results = asyncio.run(run(server.url, shape, repeat))
            base = results["pyotritonclient"]
            for name, seconds in results.items():
                print(f"{label:<14}{name:<24}{seconds * 1e3:>10.2f}{seconds / base:>9.2f}")


if __name__ == "__main__":
    main()
