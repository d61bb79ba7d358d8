"""The plugin inside the real ImJoy: imjoy-core 0.14.5 in headless Chromium loads plugin/TritonClient.imjoy.html
by URL, its web-python engine runs it in Pyodide, and JavaScript calls it — from the app and from a second
plugin — against the real Triton behind the docs' nginx CORS configuration.

No machine here reaches the internet: every request the runtime makes to a CDN or PyPI is answered from local
files (tests/imjoy/offline_web.py says which), the rest gets a 404 as from an unreachable host. numpy has no
Pyodide build obtainable offline, so these runs also prove the plugin's numpy-free path.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np
import pytest
from test_service_streams import PROGRESS

from pyotritonclient.service.imjoy import FUNCTIONS

HERE = Path(__file__).resolve().parent
IMJOY = HERE / "imjoy"
ROOT = HERE.parent

_runs: Dict[str, Any] = {}


def _run(
    cache_dir: Path,
    nginx: Any,
    tmp: Path,
    pyodide: str,
    wheels: List[Path],
    caller: bool,
    mode: str = "",
    plugin: str = "TritonClient.imjoy.html",
    extra: Optional[Dict[str, str]] = None,
    frame: str = "",
) -> Dict[str, Any]:
    from imjoy.offline_web import OfflineWeb

    playwright = cache_dir / "npm" / "node_modules" / "playwright-core"
    if not (playwright / "index.mjs").exists() or not Path("/usr/bin/chromium").exists():
        pytest.fail("playwright-core or chromium is missing: run scripts/ensure-extras (./dev test does)")
    static = nginx.static_root / f"imjoy-{tmp.name}"
    (static / "plugin").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "plugin" / plugin, static / "plugin")
    for name in ("app.html", "checks.js"):
        shutil.copy(IMJOY / name, static / name)
    base = f"{nginx.url('static')}/{static.name}"
    (static / "caller.imjoy.html").write_text(
        (IMJOY / "caller.imjoy.html").read_text().replace("CHECKS_URL", f"{base}/checks.js")
    )
    try:
        routes = OfflineWeb(tmp / "web", cache_dir / "imjoy", pyodide, wheels).prepare()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    query = {"plugin": f"{base}/plugin/{plugin}", "cors": nginx.url("cors"), **(extra or {})}
    if caller:
        query["caller"] = f"{base}/caller.imjoy.html"
    if mode:
        query["mode"] = mode
    out = subprocess.run(
        [
            "node",
            str(IMJOY / "run_imjoy.mjs"),
            str(playwright),
            str(routes),
            f"{base}/app.html?{urllib.parse.urlencode(query)}",
            "280000",
            *([frame] if frame else []),
        ],
        capture_output=True,
        text=True,
        timeout=330,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        pytest.fail(f"the ImJoy page gave no result:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.fixture(scope="module")
def imjoy_runs(cache_dir, built_wheel, nginx, tmp_path_factory):
    """Runs the pages once per module; each test reads the run it is about."""

    def get(key: str) -> Dict[str, Any]:
        if key not in _runs:
            tmp = tmp_path_factory.mktemp(key)
            if key == "oldest":  # the oldest Pyodide with its full runtime on npm; app + second plugin
                _runs[key] = _run(cache_dir, nginx, tmp, "0.21.3", [built_wheel], caller=True)
            elif key == "0.22":
                _runs[key] = _run(cache_dir, nginx, tmp, "0.22.1", [built_wheel], caller=False)
            elif key == "pypi-today":  # what PyPI holds before 0.3.0 is released: only 0.2.6
                old = sorted((cache_dir / "imjoy" / "wheels").glob("pyotritonclient-0.2.6-*.whl"))
                if not old:
                    pytest.fail("the pyotritonclient 0.2.6 wheel is missing: run scripts/ensure-imjoy")
                _runs[key] = _run(cache_dir, nginx, tmp, "0.21.3", old, caller=False, mode="load-only")
        return _runs[key]

    return get


def ok(step: Dict[str, Any]) -> Any:
    assert step["ok"], step.get("error")
    return step["value"]


def stopped_on_triton(tag: str, within: float = 60.0) -> bool:
    """Whether the streaming model (tests/models/cancellable_stream) was cancelled by Triton for ``tag``."""
    path = PROGRESS / f"{tag}.json"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if path.exists() and json.loads(path.read_text())["done"]:
            return bool(json.loads(path.read_text())["cancelled"])
        time.sleep(0.05)
    raise AssertionError(f"the model did not finish request {tag} within {within} s")


def check_calls(r: Dict[str, Any], cors: str, fresh: bool) -> None:
    """The checks.js results against values computed here."""
    if fresh:  # before configure: the default server (unreachable here) is used, and fails promptly
        before = r["before_configure"]
        assert not before["ok"] and "ai.imjoy.io/triton" in before["error"]
    assert ok(r["configure"]) == [cors + "/"]
    names = {m["name"] for m in ok(r["list_models"])}
    assert {"add_sub", "identity_fp32", "sequence_accumulate", "cellpose-python"} <= names
    assert [i["name"] for i in ok(r["get_config"])["input"]] == ["INPUT0", "INPUT1"]
    a, b = np.arange(16, dtype=np.int32), np.full(16, 3, np.int32)
    positional = ok(r["execute_positional"])
    assert positional["OUTPUT0"] == {"dtype": "int32", "shape": [16], "values": (a + b).tolist()}
    assert positional["OUTPUT1"] == {"dtype": "int32", "shape": [16], "values": (a - b).tolist()}
    by_object = ok(r["execute_object"])
    assert by_object["keys"] == ["OUTPUT1", "__info__"]
    assert by_object["OUTPUT1"]["values"] == (a - b).tolist()
    x = np.array([0.5, -1.25, 3.0, 1e-3, 2.5, 6.0], np.float32)
    assert ok(r["execute_float"])["OUTPUT0"] == {
        "dtype": "float32",
        "shape": [1, 2, 3],
        "values": x.astype(float).tolist(),
    }
    cellpose = ok(r["execute_json"])
    image = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    assert cellpose["mask"] == {
        "dtype": "uint16",
        "shape": [3, 4],
        "values": (image.sum(0) > 5.5).astype(int).reshape(-1).tolist(),
    }
    assert cellpose["info"] == [{"diameter": 30, "shape": [1, 3, 4], "param": {"diameter": 30, "threshold": 5.5}}]
    sequence = ok(r["sequence"])
    assert sequence["sums"] == [5, 12, 13] and sequence["listed"] == 1 and sequence["after"] == 0
    streamed = ok(r["stream"])
    assert streamed["tokens"] == ["token 0", "token 1", "token 2"]
    assert streamed["summary"] == {"events": 3, "stopped": True}
    assert stopped_on_triton(streamed["tag"])
    if fresh:  # the app's run also sends 16 MB through the plugin to Triton and back (3 times, median timed)
        big = ok(r["execute_16mb"])
        assert big["shape"] == [4, 1024, 1024] and big["dtype"] == "float32" and big["length"] == 4 << 20
        assert (big["first"], big["middle"], big["last"]) == (1.5, 7.0, -2.5)
        print(f"\n16 MB FP32 from JavaScript through the ImJoy plugin to Triton and back: {big['ms']:.0f} ms")
    unknown = r["unknown_model"]
    assert not unknown["ok"] and "[404]" in unknown["error"] and "no_such_model" in unknown["error"]
    assert "execute(): 'model_name' is required" in r["missing_field"]["error"]
    assert "execute(): unknown field 'colour'; the fields are model_name, inputs" in r["unknown_field"]["error"]


def test_the_plugin_loads_by_url_in_the_real_imjoy(imjoy_runs):
    run = imjoy_runs("oldest")
    load = ok(run["load"])
    assert load["name"] == "Triton-Client" and load["type"] == "web-python"
    assert set(FUNCTIONS) | {"setup", "run"} <= set(load["functions"])
    assert run["load_to_ready_seconds"] > 0
    assert any("Triton-Client ready: pyotritonclient 0.3.0" in line for line in run["logs"])
    # The real runtime came from the local copies, and numpy was not to be had (the numpy-free path ran).
    served = run["served"]
    assert "https://imjoy-team.github.io/imjoy-core-plugins/WebPythonWorker.imjoy.html" in served
    assert "https://cdn.jsdelivr.net/pyodide/v0.20.1a1/full/pyodide.asm.wasm" in served
    assert "https://files.pythonhosted.org/packages/pyotritonclient-0.3.0-py3-none-any.whl" in served
    assert any("/numpy-" in url for url in run["unrouted"])
    print(
        f"\nImJoy started in {run['imjoy_started_seconds']:.2f} s; "
        f"plugin load to ready {run['load_to_ready_seconds']:.2f} s"
    )


def test_javascript_calls_from_the_app_in_both_styles(imjoy_runs, nginx):
    check_calls(imjoy_runs("oldest")["app"], nginx.url("cors"), fresh=True)


def test_a_second_plugin_gets_triton_client_with_getPlugin(imjoy_runs, nginx):
    check_calls(ok(imjoy_runs("oldest")["caller"]), nginx.url("cors"), fresh=False)


def test_the_plugin_runs_on_pyodide_0_22_too(imjoy_runs, nginx):
    run = imjoy_runs("0.22")
    assert ok(run["load"])["name"] == "Triton-Client"
    check_calls(run["app"], nginx.url("cors"), fresh=True)


def test_a_load_that_cannot_succeed_fails_fast_with_the_reason(imjoy_runs):
    run = imjoy_runs("pypi-today")
    load = run["load"]
    assert not load["ok"]
    assert "Triton-Client could not load" in load["error"] and "pyotritonclient>=0.3.0" in load["error"]


def test_the_playground_opens_as_an_imjoy_window_plugin(cache_dir, built_wheel, nginx, tmp_path):
    """Triton-Playground (a window plugin listed in the manifest) in the real ImJoy: the window shows the
    playground page with the window's config, the page loads and connects to Triton through the CORS proxy."""
    from pyotritonclient.playground import STATIC
    from pyotritonclient.playground.server import package_wheel, render_page

    site = nginx.static_root / "playground-site"
    shutil.copytree(STATIC, site, dirs_exist_ok=True)
    (site / "index.html").write_text(render_page("pyodide/"))  # as the site build does, with a local Pyodide
    (site / "pyotritonclient.whl").write_bytes(package_wheel())
    if not (site / "pyodide").exists():
        (site / "pyodide").symlink_to(cache_dir / "npm" / "node_modules" / "pyodide", target_is_directory=True)
    page = f"{nginx.url('static')}/playground-site/"
    window_config = {"page": page + "index.html", "url": nginx.url("cors")}
    run = _run(
        cache_dir, nginx, tmp_path, "0.21.3", [built_wheel], caller=False, mode="window",
        plugin="Playground.imjoy.html", extra={"window_config": json.dumps(window_config)},
        frame=json.dumps({"prefix": page}),
    )  # fmt: skip
    assert ok(run["window"]) is not None, run
    frame = run["frame"]
    assert "error" not in frame, frame
    assert frame["url"] == nginx.url("cors") and frame["message"].startswith("Connected"), frame
    assert "add_sub" in frame["models"] and frame["readyMs"] > 0
    print(f"\nthe playground in an ImJoy window: ready {frame['readyMs'] / 1000:.2f} s after the window opened")
