"""The benchmark's short version runs in the suite (the full one is a command: see docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_benchmark_runs_every_entry_on_every_workload(tmp_path):
    out = tmp_path / "bench.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "bench_infer.py"),
            "--quick",
            "--rounds",
            "1",
            "--no-peers",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    assert set(results) == {"64 B sequential", "64 B, 16 in flight", "BYTES, 1,000 strings", "4 MB", "64 MB"}
    for workload, rows in results.items():
        assert {"pyotritonclient infer", "pyotritonclient execute", "tritonclient.http"} <= set(rows), workload
        clients = [row["x_fastest"] for name, row in rows.items() if name != "raw socket floor"]
        assert min(clients) == 1.0  # ratios are to the fastest client (the floor is only a reference)
        assert all(row["ms"] > 0 for row in rows.values())
    assert "x fastest" in run.stdout


def test_the_stream_benchmark_runs_every_path(tmp_path):
    """benchmarks/bench_stream.py's short run: the same stream from Triton, through the service (Python caller,
    HTTP) and hypha's HTTP path alone, each measured (not a speed limit: docs/streaming.md has the numbers)."""
    out = tmp_path / "stream.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_stream.py"), "--rounds", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    table = json.loads(out.read_text())
    paths = {"straight from Triton", "service, Python hypha-rpc caller", "service, HTTP (server-sent events)"}
    for stream in ("200 events, unpaced", "50 events, 10 ms apart"):
        assert set(table[stream]) == paths
        assert all(row["first_ms"] > 0 and row["per_event_ms"] > 0 for row in table[stream].values())
    assert table["hypha's ASGI path alone"]["an app that answers one event at once"]["first_ms"] > 0
