"""The wheel in Pyodide in headless Debian Chromium: page on one origin (nginx), Triton on others.

The page installs the wheel with micropip and calls Triton through the docs' CORS proxy; the same call to
an origin without CORS headers must give the clear CORS error; a proxy that does not expose
Inference-Header-Content-Length must still work (the client finds the end of the JSON header itself).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
import uuid
from pathlib import Path

import pytest
from test_service_streams import finished

HERE = Path(__file__).resolve().parent
STREAM_TAG = uuid.uuid4().hex  # names the streaming model's record of the page's stream


_outcome: dict = {}


@pytest.fixture(scope="module")
def chromium_run(cache_dir, built_wheel, nginx):
    """One browser session for all tests of this module (a failure is reported once, not re-run)."""
    if "error" in _outcome:
        pytest.fail(_outcome["error"])
    if "result" not in _outcome:
        try:
            _outcome["result"] = _run_page(cache_dir, built_wheel, nginx)
        except BaseException as exc:
            _outcome["error"] = str(exc)
            raise
    return _outcome["result"]


@pytest.fixture(scope="module")
def worker_run(chromium_run, nginx, built_wheel, cache_dir):
    """The blocking client in a module web worker (after the page run has laid out the static files)."""
    if "worker" not in _outcome:
        root = nginx.static_root
        for name in ("worker.html", "worker.js", "sync_checks.py"):
            shutil.copy(HERE / "browser" / name, root / name)
        micropip = sorted((cache_dir / "wheels").glob("micropip-*.whl"))[-1]
        query = urllib.parse.urlencode(
            {"wheel": built_wheel.name, "micropip": micropip.name, "cors_url": nginx.url("cors")}
        )
        _outcome["worker"] = _node(f"{nginx.url('static')}/worker.html?{query}", cache_dir)
    return _outcome["worker"]


def _node(url, cache_dir):
    playwright = cache_dir / "npm" / "node_modules" / "playwright-core"
    out = subprocess.run(
        ["node", str(HERE / "browser" / "run_chromium.mjs"), str(playwright), url, "90000"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        pytest.fail(f"Chromium run failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def _run_page(cache_dir, built_wheel, nginx):
    pyodide = cache_dir / "npm" / "node_modules" / "pyodide"
    playwright = cache_dir / "npm" / "node_modules" / "playwright-core"
    micropip = sorted((cache_dir / "wheels").glob("micropip-*.whl"))
    for needed in (pyodide / "pyodide.mjs", playwright / "index.mjs", Path("/usr/bin/chromium")):
        if not needed.exists():
            pytest.fail(f"{needed} is missing: run scripts/ensure-extras (./dev test does)")
    if not micropip:
        pytest.fail("the micropip wheel is missing: run scripts/ensure-extras (./dev test does)")
    root = nginx.static_root
    if not (root / "pyodide").exists():
        os.symlink(pyodide, root / "pyodide")
    (root / "wheels").mkdir(exist_ok=True)
    shutil.copy(built_wheel, root / "wheels" / built_wheel.name)
    shutil.copy(micropip[-1], root / "wheels" / micropip[-1].name)
    shutil.copy(HERE / "browser" / "page.html", root / "index.html")
    shutil.copy(HERE / "browser" / "chromium_checks.py", root / "checks.py")
    query = urllib.parse.urlencode(
        {
            "wheel": built_wheel.name,
            "micropip": micropip[-1].name,
            "cors_url": nginx.url("cors"),
            "plain_url": nginx.url("plain"),
            "hidden_url": nginx.url("hidden"),
            "stream_tag": STREAM_TAG,
        }
    )
    return _node(f"{nginx.url('static')}/index.html?{query}", cache_dir)


def test_the_page_runs_the_wheel_from_micropip_cross_origin(chromium_run, nginx):
    assert chromium_run["platform"] == "emscripten" and chromium_run["transport"] == "FetchTransport"
    assert chromium_run["origin"] == nginx.url("static") != nginx.url("cors")
    assert chromium_run["numpy_loaded"] is False
    assert chromium_run["ready"] is True and chromium_run["config_inputs"] == ["INPUT0", "INPUT1"]


def test_inference_through_the_documented_cors_proxy(chromium_run):
    assert chromium_run["sum"] == [i + 3 for i in range(16)]
    assert chromium_run["gzip_both_ways"] == [i - 3 for i in range(16)]
    assert chromium_run["bytes_ok"] is True
    status, message = chromium_run["server_error"]
    assert status == "500" and "deliberate failure from raise_error" in message


def test_a_16_mb_tensor_makes_the_round_trip_in_the_browser(chromium_run):
    big = chromium_run["big_round_trip"]
    assert big["bytes"] == 16 << 20 and big["last"] is True
    print(f"\n16 MB FP32 round trip from a Chromium page through the CORS proxy: {big['ms']:.0f} ms")


def test_generate_stream_is_incremental_in_the_browser(chromium_run):
    assert chromium_run["stream_texts"] == ["hi 0", "hi 1", "hi 2"]
    arrivals = chromium_run["stream_arrivals"]
    assert arrivals[0] < arrivals[-1] - 1.0, arrivals  # 2 s apart on the server: half of it survives any load


async def test_a_stream_closed_in_the_browser_stops_the_model_on_triton(chromium_run):
    """fetch's AbortController in Chromium, through the CORS proxy (nginx), reaches Triton."""
    assert chromium_run["stream_stopped"] == ["token 0", "token 1", "token 2"]
    state = await finished(STREAM_TAG)
    assert state["cancelled"] and state["produced"] < 100000, state


def test_a_hidden_header_length_is_not_a_problem(chromium_run):
    assert chromium_run["fallback_sum"] == [i + 3 for i in range(16)]


def test_an_origin_without_cors_gives_the_clear_error(chromium_run, nginx):
    status, text = chromium_run["no_cors"]
    assert status == "UNAVAILABLE"
    assert f"{nginx.url('plain')}/v2/models/add_sub/infer" in text and "CORS" in text


def test_the_blocking_client_in_a_web_worker(worker_run, nginx):
    assert worker_run["platform"] == "emscripten" and worker_run["worker"] is True
    assert worker_run["transport"] == "SyncXHRTransport" and worker_run["live"] is True
    assert worker_run["config_inputs"] == ["INPUT0", "INPUT1"]
    assert worker_run["sum"] == [i + 3 for i in range(16)] and worker_run["difference"] == [i - 3 for i in range(16)]
    assert worker_run["bytes_intact"] is True  # binary bodies both ways, NUL and non-UTF-8 bytes included
    status, message = worker_run["missing"]
    assert status == "404" and "no_such_model" in message
    assert "generate_stream is not offered by the blocking client in the browser" in worker_run["stream"]
    print(f"\nPyodide 314 + the wheel ready in a module worker in {worker_run['ready_seconds']:.2f} s")


def test_the_blocking_client_on_the_main_thread_goes_through_jspi(chromium_run):
    # Chromium has JavaScript Promise Integration: blocking calls (streams too) work on the main thread.
    assert chromium_run["jspi"] is True, chromium_run.get("sync_refused")
    assert chromium_run["sync_transport"] == "FetchTransport"
    assert chromium_run["sync_sum"] == [i + 3 for i in range(16)]
    assert chromium_run["sync_stream"] == ["j 0", "j 1"]
