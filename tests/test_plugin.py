"""The ImJoy plugin file and manifest, and the plugin's own Python code serving real calls to Triton.

ImJoy itself (the web app that hosts plugins) is not started: a stand-in for its ``api`` object captures
what the plugin exports; every call then goes to the real Triton.
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
    script = re.search(r'<script lang="python">(.*?)</script>', text, re.S).group(1)
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
    assert config["api_version"] and config["requirements"] == ["pyotritonclient"]
    for key in ("description", "icon", "permissions", "dependencies"):
        assert key in config
    assert "api.export(" in script
    compile(script, "TritonClient.imjoy.html", "exec")


class StandInApi:
    """What ImJoy's ``api`` gives a plugin, reduced to what this plugin uses; records what it is given."""

    def __init__(self):
        self.exported = None
        self.logs = []
        self.messages = []

    def export(self, obj):
        self.exported = obj

    async def log(self, text):
        self.logs.append(text)

    async def showMessage(self, text):
        self.messages.append(text)


@pytest.fixture
def plugin(monkeypatch):
    api = StandInApi()
    monkeypatch.setitem(sys.modules, "imjoy", types.SimpleNamespace(api=api))
    _, script = plugin_parts(ROOT / "plugin" / "TritonClient.imjoy.html")
    exec(compile(script, "TritonClient.imjoy.html", "exec"), {"__name__": "plugin"})
    assert api.exported is not None
    return api


async def test_the_plugin_code_serves_real_calls(plugin, triton):
    exported = plugin.exported
    await exported.setup()
    assert "Triton-Client ready" in plugin.logs[0]
    assert await exported.configure({"triton_url": "http://127.0.0.1:1"}) == ["http://127.0.0.1:1/"]  # JS style
    assert await exported.configure(triton.http_url) == [triton.http_url + "/"]
    image = np.zeros([1, 2, 2], np.float32)
    image[0, 0, 0] = 1.0
    results = await exported.execute(model_name="cellpose-python", inputs=[image, {"diameter": 17, "threshold": 0.5}])
    assert results["mask"].tolist() == [[1, 0], [0, 0]] and results["info"][0]["diameter"] == 17
    assert "cellpose-python" in {m["name"] for m in await exported.list_models()}
    assert (await exported.get_config(model_name="add_sub"))["backend"] == "python"
    seq = await exported.sequence_start(model_name="cellpose-train")
    step = [np.ones([1, 2, 2], np.float32), np.ones([2, 2], np.uint16), {"steps": 1}]
    await exported.sequence_step(sequence_id=seq, inputs=step)
    ended = await exported.sequence_end(sequence_id=seq)
    assert np.asarray(ended["info"], dtype=object).reshape(-1)[0]["steps_done"] == 2
    await exported.run({})
    assert plugin.messages and "models at" in plugin.messages[0]
    with pytest.raises(ServiceError, match="not allowed"):
        await exported.execute(model_name="add_sub", inputs=[], server_url="http://10.1.2.3:8000")
    for name in ("execute", "list_models", "get_config", "sequence_step"):
        assert getattr(exported, name).__schema__["name"] == name
