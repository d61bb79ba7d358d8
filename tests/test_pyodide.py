"""The built wheel inside real Pyodide under Node.js, against the real Triton (no numpy, Node's own fetch)."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import pytest
from test_service_streams import finished

HERE = Path(__file__).resolve().parent


def pyodide_dir(cache_dir: Path) -> Path:
    path = cache_dir / "npm" / "node_modules" / "pyodide"
    if not (path / "pyodide.mjs").exists():
        pytest.fail(f"Pyodide is not installed at {path}: run scripts/ensure-extras (./dev test does)")
    return path


def run_in_pyodide(cache_dir: Path, wheel: Path, script: str, config: dict) -> dict:
    """``browser/<script>`` inside real Pyodide under Node.js with the wheel installed; its RESULT."""
    out = subprocess.run(
        [
            "node",
            str(HERE / "browser" / "run_pyodide.mjs"),
            str(pyodide_dir(cache_dir)),
            str(wheel),
            str(HERE / "browser" / script),
            json.dumps(config),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, f"Pyodide run failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.fixture(scope="module")
def pyodide_run(cache_dir, built_wheel, triton, nginx):
    from conftest import refused_port

    config = {"url": triton.http_url, "hidden_url": nginx.url("hidden"), "refused_url": f"127.0.0.1:{refused_port()}"}
    config["stream_tag"] = uuid.uuid4().hex
    return {**run_in_pyodide(cache_dir, built_wheel, "pyodide_checks.py", config), "stream_tag": config["stream_tag"]}


def test_runs_in_pyodide_on_the_fetch_transport_without_numpy(pyodide_run):
    assert pyodide_run["platform"] == "emscripten" and pyodide_run["in_browser"] is True
    assert pyodide_run["transport"] == "FetchTransport"
    assert pyodide_run["numpy_loaded"] is False and pyodide_run["numpy_loaded_after"] is False


def test_health_metadata_config_and_index(pyodide_run):
    assert pyodide_run["live"] is True and pyodide_run["ready"] is True
    assert pyodide_run["server_name"] == "triton"
    assert pyodide_run["metadata_inputs"] == ["INPUT0", "INPUT1"]
    assert pyodide_run["config_backend"] == "python"
    assert pyodide_run["index_has_add_sub"] is True


def test_infer_binary_and_json_tensors_from_raw_buffers(pyodide_run):
    assert pyodide_run["sum"] == [i + 3 for i in range(16)]
    assert pyodide_run["diff_bytes_ok"] is True
    assert pyodide_run["json_output"] == [i + 3 for i in range(16)]
    assert pyodide_run["gzip_request_sum"] == [i + 3 for i in range(16)]


def test_bytes_with_nul_and_empty_elements(pyodide_run):
    assert pyodide_run["bytes_ok"] is True


def test_server_errors_and_timeouts(pyodide_run):
    status, message = pyodide_run["server_error"]
    assert status in ("400", "500") and "deliberate failure from raise_error" in message
    assert pyodide_run["timeout_status"] == "TIMEOUT"
    status, text = pyodide_run["unreachable"]
    assert status == "UNAVAILABLE" and "/v2/health/live" in text and "CORS" in text


def test_generate_stream_arrives_incrementally(pyodide_run):
    assert pyodide_run["stream_texts"] == ["hi 0", "hi 1", "hi 2"]
    arrivals = pyodide_run["stream_arrivals"]
    assert arrivals[0] < arrivals[-1] - 1.0, arrivals  # 2 s apart on the server: half of it survives any load


async def test_a_stream_closed_in_pyodide_stops_the_model_on_triton(pyodide_run):
    """fetch's AbortController, on closing the stream, reaches Triton: the model sees the cancellation."""
    assert pyodide_run["stream_stopped"] == ["token 0", "token 1", "token 2"]
    state = await finished(pyodide_run["stream_tag"])
    assert state["cancelled"] and state["produced"] < 100000, state


def test_missing_header_length_falls_back_to_finding_the_json_end(pyodide_run):
    assert pyodide_run["hidden_header_absent"] is True
    assert pyodide_run["fallback_sum"] == [i + 3 for i in range(16)]


def test_the_sync_facade_says_why_it_is_not_offered_outside_a_web_worker(pyodide_run):
    # Node is no web worker: synchronous binary requests are not to be had, and the error says what to do.
    assert "needs a web worker in the browser" in pyodide_run["sync_refusal"] and "await" in pyodide_run["sync_refusal"]


def test_a_16_mb_tensor_is_copied_once_each_way_between_javascript_and_python(cache_dir, built_wheel, triton):
    run = run_in_pyodide(cache_dir, built_wheel, "pyodide_copies.py", {"url": triton.http_url})
    size = run["payload"]
    assert run["same"] and run["output_is_view"]
    # Request: fetch got one Uint8Array per request, of the body's size, with its own buffer: the one copy
    # out of the WASM heap (a view of the heap would be zero copies; a second copy would show in Python).
    bodies = json.loads(run["bodies"])
    assert len(bodies) == 4 and all(b["own_buffer"] and size < b["bytes"] < size + 4096 for b in bodies), bodies
    # Response: the Python heap grows by one payload (the answer's bytes; the output is a view on them),
    # and nothing for the request (its parts are sent from the caller's buffer).
    assert size <= run["python_peak"] < 1.25 * size, run
    print(f"16 MB round trip in Pyodide (Node fetch): {run['ms']:.0f} ms, Python peak {run['python_peak'] / size:.2f}x")
