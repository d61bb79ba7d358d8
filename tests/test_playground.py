"""The model playground in headless Chromium against the real Triton behind the docs' CORS proxy: loading,
connecting, a form run, an image model fed a PNG (the output canvas's pixels checked), sequences, the errors a
user must understand, and the timings the docs state."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
from conftest import refused_port
from test_service_streams import finished

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parent / "test-artifacts"


@pytest.fixture(scope="module")
def playground(cache_dir, triton, nginx, tmp_path_factory):
    from PIL import Image

    from pyotritonclient.playground.server import Playground

    pyodide = cache_dir / "npm" / "node_modules" / "pyodide"
    playwright = cache_dir / "npm" / "node_modules" / "playwright-core"
    if not (pyodide / "pyodide.mjs").exists() or not playwright.exists():
        pytest.fail("Pyodide or playwright-core is missing: run scripts/ensure-extras (./dev test does)")
    files = tmp_path_factory.mktemp("playground")
    rng = np.random.default_rng(1)
    cells = rng.integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    Image.fromarray(cells).save(files / "cells.png")
    Image.fromarray(rng.integers(0, 256, size=(16, 16, 3), dtype=np.uint8)).save(files / "wrong.png")
    Image.fromarray(rng.integers(0, 256, size=(2048, 2048), dtype=np.uint8)).convert("RGB").save(files / "big.png")
    ARTIFACTS.mkdir(exist_ok=True)
    server = Playground(("127.0.0.1", 0), triton.http_url, pyodide, "", allow_model_control=True)
    server.serve_in_thread()
    (nginx.static_root / "evil.html").write_text("<!doctype html><title>another site</title>")
    config = {
        "evil_page": f"{nginx.url('static')}/evil.html",
        "evil_code": "http://evil.test:1/",
        "bad_url": f"http://127.0.0.1:{refused_port()}",
        "no_cors_url": nginx.url("plain"),
        "cors_url": nginx.url("cors"),
        "image": str(files / "cells.png"),
        "threshold": 380,
        "wrong_image": str(files / "wrong.png"),
        "big_image": str(files / "big.png"),
        "screenshot": str(ARTIFACTS / "playground.png"),
        "stream_tag": uuid.uuid4().hex,
    }
    try:
        out = subprocess.run(
            ["node", str(HERE / "browser" / "run_playground.mjs"), str(playwright), server.url, json.dumps(config)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.shutdown()
        server.server_close()
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, f"the playground run failed:\n{out.stdout[-4000:]}\n{out.stderr[-3000:]}"
    run = json.loads(lines[-1][len("RESULT ") :])
    if run.get("crashed_before"):  # Chromium's renderer crashed once and the scenario ran again (run_playground.mjs)
        print(f"\nthe first playground run crashed: {run['crashed_before']}")
    return {
        "run": run,
        "cells": cells,
        "threshold": config["threshold"],
        "token": server.token,
        "triton": triton,
        "stream_tag": config["stream_tag"],
    }


def test_the_page_loads_the_wheel_and_is_ready(playground):
    """Readiness is an event the page signals (how long it took is a benchmark figure, printed here)."""
    run = playground["run"]
    assert run["ready"] is True and run["ready_ms"] > 0
    assert run["default_url"].endswith("/triton")  # served by the command: Triton on the same origin
    problems = [line for line in run["console"] if "pageerror" in line or "Content Security Policy" in line]
    assert not problems, run["console"]
    print(f"\nplayground ready {run['ready_ms'] / 1000:.2f} s after navigation (local server)")


def test_a_link_cannot_choose_where_the_pages_code_comes_from(playground):
    run = playground["run"]
    assert run["ready"] is True  # the page loaded its own Pyodide and wheel, ignoring ?pyodide= and ?wheel=
    from urllib.parse import urlsplit

    assert not [url for url in run["requested"] if urlsplit(url).hostname == "evil.test"], run["requested"]


def test_another_site_and_a_rebound_name_cannot_reach_the_playgrounds_triton(playground):
    from test_playground_security import model_state

    run = playground["run"]
    evil = run["evil"]
    assert evil["no_cors_unload"] == "opaque"  # sent (the browser allows it) and refused by the playground:
    assert model_state(playground["triton"], "slow") == "READY"  # the model is still there
    assert evil["cors_unload_with_token"] == "blocked" and evil["read_page"] == "blocked"  # no preflight granted
    assert run["rebound"]["status"] == 421 and playground["token"] not in run["rebound"]["body"]


def test_connecting_lists_models_and_a_form_runs_add_sub(playground):
    run = playground["run"]
    assert run["connected"]["kind"] == "ok" and "Connected" in run["connected"]["text"]
    assert "triton" in run["server_meta"] and "binary_tensor_data" in run["server_meta"]
    models = dict(run["models"])
    assert models["add_sub"] == "READY" and "cellpose-python" in models
    assert ["input", "INPUT0", "INT32", "[16]", ""] in run["add_sub_io"]
    assert run["add_sub"]["OUTPUT0"] == [i + 3 for i in range(16)]
    assert run["add_sub"]["OUTPUT1"] == [i - 3 for i in range(16)]
    assert run["add_sub_title"] == "OUTPUT0: int32 [16] min 3 max 18" and run["add_sub"]["latency"].endswith(" ms")


def test_an_image_model_fed_a_dropped_png_draws_the_expected_mask(playground):
    run, cells = playground["run"], playground["cells"]
    assert run["cellpose_run"]["kind"] == "ok", run["cellpose_run"]
    expected = cells.astype(np.float32).transpose(2, 0, 1).sum(0) > playground["threshold"]  # the model's rule
    mask = run["mask"]
    assert (mask["width"], mask["height"]) == (40, 30)
    rgba = np.array(mask["rgba"], dtype=np.uint8).reshape(30, 40, 4)
    label = np.array(run["label_one"], dtype=np.uint8)
    assert 0 < expected.sum() < expected.size
    assert (rgba[expected][:, :3] == label).all() and (rgba[~expected][:, :3] == 0).all()
    assert run["overlay"] == 1  # the labels over the input image
    assert json.loads(run["info"])[0]["diameter"] == 30
    assert run["info_tree"][:3] == ["info [1]", "0 {3}", "shape [3]"]  # the JSON as a tree too
    assert {"mask.npy", "info.json"} <= set(run["downloads"])
    assert (ARTIFACTS / "playground.png").stat().st_size > 10_000  # the screenshot, kept as a test artifact


def test_sequence_mode_shows_the_running_state(playground):
    run = playground["run"]
    assert "started" in run["sequence_start"]["text"]
    assert [step["state"] for step in run["sequence"]] == ["steps: 1", "steps: 2", "steps: 3"]
    assert [step["output"] for step in run["sequence"]] == [[5], [12], [13]]
    assert run["sequence_end"]["kind"] == "ok" and run["sequence_after"] == "sequence ended"


async def test_a_decoupled_models_tokens_show_as_they_come_and_stop_stops_it(playground):
    """The page streams a decoupled model (through the playground's own /triton/), shows each token as it comes,
    and its Stop button ends the stream: the model sees the cancellation on Triton."""
    run = playground["run"]
    tokens = run["stream_text"].strip().split("\n")
    assert tokens[:3] == ["token 0", "token 1", "token 2"] and tokens == [f"token {i}" for i in range(len(tokens))]
    assert run["stream_stop"]["text"].startswith("Stopped cancellable_stream: ") and run["stream_stop"]["kind"] == "ok"
    state = await finished(playground["stream_tag"])
    assert state["cancelled"] and state["produced"] < 100000, state


def test_bad_url_missing_cors_and_a_wrong_image_give_clear_visible_messages(playground):
    run = playground["run"]
    for case in ("bad_url", "no_cors"):
        assert run[case]["kind"] == "error" and "Cannot reach the server" in run[case]["text"], run[case]
        assert "CORS" in run[case]["text"]
    assert run["no_cors_help"].endswith("docs/cors.md")
    wrong = run["wrong_shape"]
    assert wrong["kind"] == "error" and "input 'image': expected shape [3, 8, 8]" in wrong["text"], wrong


def test_a_16_mb_image_round_trip_is_timed_and_shown(playground):
    big = playground["run"]["big"]
    assert playground["run"]["big_run"]["kind"] == "ok"
    assert big["title"].startswith("OUTPUT0: float32 [1, 2048, 2048]") and big["latency"].endswith(" ms")
    print(f"\n16 MB image round trip from the playground: {big['ms']:.0f} ms")


def test_models_can_be_unloaded_and_loaded_from_the_page(playground):
    run = playground["run"]
    assert run["unload"]["text"] == "slow unloaded." and run["unloaded_state"] in ("UNLOADING", "UNAVAILABLE")
    assert run["load"]["text"] == "slow loaded." and run["loaded_state"] == "READY"


async def test_the_bridge_hands_numpy_outputs_to_the_page_as_ndarrays(triton):
    """Where Pyodide has numpy the outputs are numpy arrays: the bridge gives the page the same ndarrays."""
    from pyotritonclient.playground import bridge

    a = np.arange(16, dtype=np.int32)
    answer = await bridge.run(triton.http_url, "add_sub", {"INPUT0": a, "INPUT1": np.ones(16, np.int32)})
    out = answer["outputs"]["OUTPUT0"]
    assert out["_rdtype"] == "int32" and out["_rshape"] == [16]
    assert np.frombuffer(out["_rvalue"], "<i4").tolist() == (a + 1).tolist() and answer["ms"] > 0
    missing = await bridge.run(triton.http_url, "no_such_model", {})
    assert missing["status"] in (400, 404) and "no_such_model" in missing["error"]
    assert (await bridge.sequence(triton.http_url, "sequence_accumulate", "step", {}))["kind"] == "NoSequence"


def _load_from_cdn(cache_dir, folder):
    """The page as `pyotritonclient playground` serves it by default (Pyodide from the CDN, pinned with
    Subresource Integrity), the CDN's requests answered from ``folder``."""
    from pyotritonclient.playground.server import DEFAULT_PYODIDE, Playground

    playwright = cache_dir / "npm" / "node_modules" / "playwright-core"
    server = Playground(("127.0.0.1", 0), None, None, DEFAULT_PYODIDE)
    server.serve_in_thread()
    try:
        out = subprocess.run(
            ["node", str(HERE / "browser" / "load_playground.mjs"), str(playwright), server.url, DEFAULT_PYODIDE,
             str(folder)],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, f"{out.stdout[-3000:]}\n{out.stderr[-2000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


def test_the_default_cdn_pyodide_loads_with_its_pinned_integrity(cache_dir):
    release = cache_dir / "pyodide-0.27.7"
    if not (release / "pyodide.mjs").exists():
        pytest.fail(f"{release} is missing: run scripts/ensure-extras (./dev test does)")
    run = _load_from_cdn(cache_dir, release)
    assert run["ready"] is True and run["python"].startswith("3."), run
    assert {"pyodide.mjs", "pyodide.asm.js"} <= set(run["served"])


def test_a_cdn_that_serves_other_bytes_is_refused(cache_dir, tmp_path):
    import shutil

    altered = tmp_path / "cdn"
    shutil.copytree(cache_dir / "pyodide-0.27.7", altered)
    with open(altered / "pyodide.asm.js", "a") as script:
        script.write("\n;globalThis.INJECTED = true;\n")  # what a compromised CDN could add
    run = _load_from_cdn(cache_dir, altered)
    assert run["ready"] is False and "Could not load the playground" in run["message"], run
    assert any("integrity" in line.lower() for line in run["console"]), run["console"]
