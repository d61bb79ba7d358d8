"""Large arrays through the hypha service: where the time goes, and what the recommended setup gives.

Starts the real local Triton and hypha (its default, and served with ``--ws-per-message-deflate false``), the
service's real command line, and a bare hypha-rpc echo service; then times ``execute`` of an FP32 identity
model from a Python hypha-rpc caller with default settings, for 1 MB and 16 MB, median of several calls:

    ~/.cache/pyotritonclient/dev-venv/bin/python benchmarks/bench_service.py [--json out.json]   # ~1.5 min

Rows: straight to Triton; through the service on a default hypha with the service's websocket compressed
(what 0.3.0 did) and declining compression (now); the same on hypha without deflate (the recommended setup);
and the bare echo of the same bytes on both hyphas.
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
from typing import Any, Dict, List

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from hypha_server import HyphaServer  # noqa: E402

from pyotritonclient import execute  # noqa: E402
from pyotritonclient.testing.server import TritonServer, cache_dir  # noqa: E402

SIZES = {"1 MB": 256 * 1024, "16 MB": 4 * 1024 * 1024}
ECHO = """
import asyncio, sys
from hypha_rpc import connect_to_server
async def main():
    server = await connect_to_server({"server_url": sys.argv[1]})
    info = await server.register_service({"id": "echo", "config": {"visibility": "public"}, "echo": lambda x: x})
    print("registered", info["id"], flush=True)
    await server.serve()
asyncio.run(main())
"""


def start(command: List[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=open(log, "w"), stderr=subprocess.STDOUT)


async def registered(process: subprocess.Popen, log: Path) -> str:
    deadline = time.monotonic() + 60
    while "registered " not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text()[-2000:])
        await asyncio.sleep(0.2)
    return log.read_text().split("registered ", 1)[1].split()[0]


async def timed(call: Any, repeat: int) -> float:
    await call()
    times = []
    for _ in range(repeat):
        start_at = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start_at)
    return statistics.median(times)


async def through(hypha_url: str, service_id: str, method: str, arrays: Dict[str, Any]) -> Dict[str, float]:
    from hypha_rpc import connect_to_server

    caller = await connect_to_server({"server_url": hypha_url})
    try:
        svc = await caller.get_service(service_id)
        results = {}
        for label, array in arrays.items():

            async def call(array: Any = array) -> None:
                if method == "echo":
                    out = await svc.echo(array)
                else:
                    out = (await svc.execute(model_name="identity_fp32", inputs=[array]))["OUTPUT0"]
                assert np.asarray(out).size == array.size

            results[label] = await timed(call, 5 if array.nbytes > 2**21 else 10)
        return results
    finally:
        await caller.disconnect()


async def from_page(hypha_url: str, service_id: str, method: str) -> Dict[str, float]:
    """The same calls from a web page: headless Chromium with hypha-rpc's browser build (service_page.mjs)."""
    modules = cache_dir() / "npm" / "node_modules"
    command = ["node", str(ROOT / "benchmarks" / "service_page.mjs"), str(modules), hypha_url, service_id, method]
    process = await asyncio.create_subprocess_exec(
        *command, json.dumps(SIZES), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 300)
    lines = [line for line in out.decode().splitlines() if line.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"the page failed: {out.decode()[-1000:]} {err.decode()[-1000:]}")
    return {label: float(seconds) for label, seconds in json.loads(lines[-1][len("RESULT ") :]).items()}


async def measure(triton: TritonServer, work: Path) -> Dict[str, Dict[str, float]]:
    arrays = {label: np.random.default_rng(0).random([1, 1, n]).astype(np.float32) for label, n in SIZES.items()}
    rows: Dict[str, Dict[str, float]] = {}
    direct = {}
    for label, array in arrays.items():
        direct[label] = await timed(lambda a=array: execute([a], triton.http_url, "identity_fp32"), 10)
    rows["straight to Triton (execute)"] = direct
    python = sys.executable
    for deflate in (True, False):
        hypha = HyphaServer(cache_dir(), work / f"hypha-{deflate}", deflate=deflate).start()
        setup = "default hypha" if deflate else "hypha without deflate"
        try:
            variants = [("service, compressed websocket (0.3.0)", ["--websocket-compression"]), ("service", [])]
            for name, extra in variants if deflate else variants[1:]:
                log = work / f"service-{deflate}-{len(extra)}.log"
                command = [python, "-m", "pyotritonclient.service", "--hypha-url", hypha.url]
                process = start([*command, "--triton-url", triton.http_url, *extra], log)
                try:
                    service_id = await registered(process, log)
                    rows[f"{name}, {setup}"] = await through(hypha.url, service_id, "execute", arrays)
                    if not extra:
                        rows[f"{name}, {setup}, from a browser page"] = await from_page(
                            hypha.url, service_id, "execute"
                        )
                finally:
                    process.terminate()
                    process.wait(20)
            log = work / f"echo-{deflate}.log"
            process = start([str(cache_dir() / "dev-venv" / "bin" / "python"), "-c", ECHO, hypha.url], log)
            try:
                echo_id = await registered(process, log)
                rows[f"bare hypha-rpc echo, {setup}"] = await through(hypha.url, echo_id, "echo", arrays)
                rows[f"bare hypha-rpc echo, {setup}, from a browser page"] = await from_page(hypha.url, echo_id, "echo")
            finally:
                process.terminate()
                process.wait(20)
        finally:
            hypha.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, TritonServer(ROOT / "tests" / "models") as triton:
        rows = asyncio.run(measure(triton, Path(tmp)))
    print(f"\n{'path':<62}" + "".join(f"{label:>22}" for label in SIZES))
    for name, times in rows.items():
        cells = "".join(
            f"{times[label] * 1e3:>10.1f} ms {SIZES[label] * 4 / times[label] / 1e6:>6.0f} MB/s" for label in SIZES
        )
        print(f"{name:<62}{cells}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
