"""The ImJoy plugin file and manifest, and the plugin's own Python code serving real calls to Triton in CPython.

The proof that the plugin works in ImJoy is tests/test_imjoy.py (the real imjoy-core in Chromium). Here a
stand-in for ImJoy's ``api`` copies the exported functions at export, as imjoy-rpc does, so the fast layer
sees the same bugs; calls go to the real Triton.
"""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import pyotritonclient
from pyotritonclient.service import ServiceError

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "manifest.imjoy.json"


def plugin_parts(path: Path):
    text = path.read_text()
    config = json.loads(re.search(r'<config lang="json">(.*?)</config>', text, re.S).group(1))
    script = re.search(r'<script lang="(?:python|javascript)">(.*?)</script>', text, re.S).group(1)
    return config, script


def test_manifest_lists_the_plugin_with_its_own_config():
    manifest = json.loads(MANIFEST.read_text())
    assert manifest["name"] and isinstance(manifest["plugins"], list) and manifest["plugins"]
    for entry in manifest["plugins"]:
        path = ROOT / entry["uri"]
        assert path.exists(), entry["uri"]
        config, _ = plugin_parts(path)
        assert {k: v for k, v in entry.items() if k != "uri"} == config  # the manifest repeats the config


def test_plugin_config_carries_what_imjoy_needs():
    config, script = plugin_parts(ROOT / "plugin" / "TritonClient.imjoy.html")
    assert config["type"] == "web-python" and config["name"] == "Triton-Client"
    assert config["version"] == pyotritonclient.__version__
    # The plugin installs pyotritonclient itself (the engine's requirement list hangs the load on a failure).
    assert config["api_version"] and config["requirements"] == []
    major_minor = ".".join(pyotritonclient.__version__.split(".")[:2])
    assert f'REQUIREMENT = "pyotritonclient>={major_minor}' in script
    for key in ("description", "icon", "permissions", "dependencies"):
        assert key in config
    assert "api.export(" in script
    compile(script, "TritonClient.imjoy.html", "exec")
    # ImJoy's engine pastes the script into a JavaScript template string: these would corrupt it.
    for bad in ("\\", "`", "${"):
        assert bad not in script, bad


class dotdict(dict):
    """imjoy-rpc's dict for JavaScript objects: attribute lookups answer with keys."""

    __getattr__ = dict.get


class ImJoyRpcLikeApi:
    """The parts of ImJoy's ``api`` this plugin uses, with imjoy-rpc's export semantics: the exported
    object's callables are copied once, at ``export`` (later attribute changes are not seen), and calls
    arrive with JavaScript-shaped values (read-only arrays from ``np.frombuffer``, ``dotdict`` objects)."""

    def __init__(self):
        self.functions = None
        self.logs = []
        self.messages = []

    def export(self, obj):
        self.functions = {
            name: getattr(obj, name) for name in dir(obj) if not name.startswith("_") and callable(getattr(obj, name))
        }

    async def log(self, text):
        self.logs.append(text)

    async def showMessage(self, text):
        self.messages.append(text)


def load_plugin(monkeypatch, script):
    api = ImJoyRpcLikeApi()
    monkeypatch.setitem(sys.modules, "imjoy", types.SimpleNamespace(api=api))
    exec(compile(script, "TritonClient.imjoy.html", "exec"), {"__name__": "plugin"})
    assert api.functions is not None
    return api


def js_array(values, dtype):
    """An array as imjoy-rpc hands a JavaScript ndarray to Python when numpy is present: read-only."""
    data = np.asarray(values, dtype=dtype)
    return np.frombuffer(data.tobytes(), dtype=dtype).reshape(data.shape)


async def test_the_plugin_code_serves_real_calls(monkeypatch, triton):
    _, script = plugin_parts(ROOT / "plugin" / "TritonClient.imjoy.html")
    api = load_plugin(monkeypatch, script)
    f = api.functions
    await f["setup"]()
    assert "Triton-Client ready" in api.logs[0]
    # configure takes effect for functions copied before it, in both calling styles
    assert await f["configure"](dotdict(triton_url="http://127.0.0.1:1")) == ["http://127.0.0.1:1/"]
    with pytest.raises(ServiceError, match=r"127\.0\.0\.1:1"):
        await f["list_models"]()
    assert await f["configure"](triton.http_url) == [triton.http_url + "/"]
    image = js_array([[[1.0, 0.0], [0.0, 0.0]]], np.float32)
    results = await f["execute"](
        dotdict(model_name="cellpose-python", inputs=[image, dotdict(diameter=17, threshold=0.5)])
    )
    assert results["mask"].tolist() == [[1, 0], [0, 0]] and results["info"][0]["diameter"] == 17
    assert "cellpose-python" in {m["name"] for m in await f["list_models"]()}
    assert (await f["get_config"]("add_sub"))["backend"] == "python"
    seq = await f["sequence_start"](dotdict(model_name="cellpose-train"))
    step = [js_array(np.ones([1, 2, 2]), np.float32), js_array(np.ones([2, 2]), np.uint16), dotdict(steps=1)]
    await f["sequence_step"](seq, step)
    ended = await f["sequence_end"](dotdict(sequence_id=seq))
    assert np.asarray(ended["info"], dtype=object).reshape(-1)[0]["steps_done"] == 2
    await f["run"]({})
    assert api.messages and "models at" in api.messages[0]
    with pytest.raises(ServiceError, match="not allowed"):
        await f["execute"]("add_sub", [], "http://10.1.2.3:8000")
    with pytest.raises(ServiceError, match="configure\\(\\): timeout must be a positive number"):
        await f["configure"](triton.http_url, None, -1)


async def _executions(triton, model):
    from pyotritonclient.http import InferenceServerClient

    async with InferenceServerClient(triton.url) as client:
        stats = await client.get_inference_statistics(model)
    return sum(int(s["inference_stats"]["success"]["count"]) for s in stats["model_stats"])


async def test_configure_ends_the_sequences_of_the_previous_server(monkeypatch, triton):
    _, script = plugin_parts(ROOT / "plugin" / "TritonClient.imjoy.html")
    f = load_plugin(monkeypatch, script).functions
    await f["configure"](triton.http_url)
    seq = await f["sequence_start"]("sequence_accumulate")
    await f["sequence_step"](seq, [js_array([4], np.int32)])
    assert len(await f["list_sequences"]()) == 1
    before = await _executions(triton, "sequence_accumulate")
    await f["configure"](triton.http_url)
    assert await f["list_sequences"]() == []
    # the sequence was ended on Triton (its END request ran), not only forgotten here
    assert await _executions(triton, "sequence_accumulate") == before + 1
    with pytest.raises(ServiceError, match="no open sequence"):
        await f["sequence_step"](seq, [js_array([1], np.int32)])


async def test_the_stand_in_catches_the_old_configure_bug(monkeypatch, triton):
    """0.3.0-dev's plugin rebound its functions with setattr after export: with imjoy-rpc's copy at export
    (as the stand-in does) configure then had no effect. The stand-in must show that."""
    old = (
        "from imjoy import api\n"
        "from pyotritonclient.service import ServiceConfig, TritonService\n"
        "class P:\n"
        "    def __init__(self):\n"
        "        self.service = TritonService(ServiceConfig('http://127.0.0.1:1'))\n"
        "        for name, function in self.service.api().items():\n"
        "            setattr(self, name, function)\n"
        "    async def configure(self, triton_url):\n"
        "        self.service = TritonService(ServiceConfig(triton_url))\n"
        "        for name, function in self.service.api().items():\n"
        "            setattr(self, name, function)\n"
        "api.export(P())\n"
    )
    f = load_plugin(monkeypatch, old).functions
    await f["configure"](triton.http_url)
    with pytest.raises(ServiceError, match=r"127\.0\.0\.1:1"):  # still the first server: the bug, seen
        await f["list_models"]()


def test_what_the_browser_loads_is_python_3_10():
    """ImJoy's engine runs Pyodide 0.20-0.22 (Python 3.10): no newer syntax anywhere in the package."""
    import ast

    for path in sorted((ROOT / "pyotritonclient").rglob("*.py")):
        ast.parse(path.read_text(), str(path), feature_version=(3, 10))
    _, script = plugin_parts(ROOT / "plugin" / "TritonClient.imjoy.html")
    ast.parse(script, "TritonClient.imjoy.html", feature_version=(3, 10))
