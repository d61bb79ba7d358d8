"""Two more numbers for the performance table: generate_stream events per second, and the peak memory of a
64 MB round trip over the interpreter's baseline (each client in a fresh process).

    ~/.cache/pyotritonclient/dev-venv/bin/python benchmarks/bench_stream_memory.py [--events 1000]   # ~30 s
"""

from __future__ import annotations

import argparse
import asyncio
import pathlib
import subprocess
import sys
import time

from pyotritonclient.http import InferenceServerClient
from pyotritonclient.testing.server import TritonServer

MODELS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "models"
PAYLOAD = 64 * 1024 * 1024

ROUND_TRIP = {  # client: the code of one 64 MB identity round trip (run after the imports are measured)
    "pyotritonclient": """
import asyncio
from pyotritonclient.http import InferenceServerClient, InferInput
async def trip():
    async with InferenceServerClient(URL) as client:
        x = InferInput("INPUT0", list(data.shape), "FP32").set_data_from_numpy(data)
        out = (await client.infer("identity_fp32", [x])).as_numpy("OUTPUT0")
        assert out.shape == data.shape
asyncio.run(trip())
""",
    "tritonclient.http": """
import tritonclient.http as tc
client = tc.InferenceServerClient(URL)
x = tc.InferInput("INPUT0", list(data.shape), "FP32")
x.set_data_from_numpy(data)
out = client.infer("identity_fp32", [x]).as_numpy("OUTPUT0")
assert out.shape == data.shape
client.close()
""",
}
MEASURE = """
import resource, sys, numpy as np
URL = sys.argv[1]
data = np.ones([16, 1024, 1024], np.float32)  # the payload itself is part of the baseline
{imports}
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
{code}
print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024)
"""
IMPORTS = {"pyotritonclient": "import pyotritonclient.http", "tritonclient.http": "import tritonclient.http"}


async def events_per_second(url: str, count: int) -> float:
    async with InferenceServerClient(url) as client:
        inputs = {"TEXT": "token", "COUNT": count, "DELAY": 0.0}
        received = 0
        started = time.perf_counter()
        async for _ in client.generate_stream("decoupled_stream", inputs):
            received += 1
        elapsed = time.perf_counter() - started
    assert received >= count, received
    return received / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    args = parser.parse_args()
    with TritonServer(MODELS) as server:
        rates = [asyncio.run(events_per_second(server.url, args.events)) for _ in range(3)]
        print(f"generate_stream, {args.events} events: {sorted(rates)[1]:.0f} events/s (median of 3)")
        for name, code in ROUND_TRIP.items():
            script = MEASURE.format(imports=IMPORTS[name], code=code)
            out = subprocess.run(
                [sys.executable, "-c", script, server.url], capture_output=True, text=True, timeout=300
            )
            if out.returncode:
                print(f"{name}: failed: {out.stderr[-500:]}")
                continue
            grown = int(out.stdout.strip().splitlines()[-1])
            ratio = grown / PAYLOAD
            print(f"64 MB round trip, {name}: peak RSS +{grown / 2**20:.0f} MiB over the baseline ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
