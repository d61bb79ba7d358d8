"""Beyond Triton: a real Seldon MLServer 1.7.1 (its own venv, scripts/ensure-mlserver), models written here.

MLServer speaks the Open Inference Protocol without Triton's extensions: no binary tensors, no /config, no
sequences. The high-level API, the CLI and the hypha service must work on it all the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

from pyotritonclient import ServerError, UnsupportedError, execute, get_config, list_models
from pyotritonclient.http import InferenceServerClient, InferInput
from pyotritonclient.sequence import SequenceExecutor
from pyotritonclient.testing.server import cache_dir, free_ports

ADDER = '''
from mlserver import MLModel
from mlserver.codecs import NumpyCodec, StringCodec
from mlserver.types import InferenceRequest, InferenceResponse


class Adder(MLModel):
    """a + b (any shape), and a JSON note about them."""

    async def load(self) -> bool:
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        a, b = (NumpyCodec.decode_input(i) for i in payload.inputs)
        note = '{"count": %d}' % a.size
        return InferenceResponse(
            model_name=self.name,
            outputs=[NumpyCodec.encode_output("sum", a + b), StringCodec.encode_output("note", [note])],
        )
'''


def _settings(name: str, inputs: bool) -> dict:
    settings: dict = {"name": name, "implementation": "adder_model.Adder"}
    if inputs:
        settings["inputs"] = [{"name": n, "datatype": "FP32", "shape": [-1]} for n in ("a", "b")]
        settings["outputs"] = [
            {"name": "sum", "datatype": "FP32", "shape": [-1]},
            {"name": "note", "datatype": "BYTES", "shape": [1]},
        ]
    return settings


@pytest.fixture(scope="module")
def mlserver(tmp_path_factory):
    venv = cache_dir() / "mlserver-venv"
    binary = venv / "bin" / "mlserver"
    assert binary.exists(), f"MLServer is not installed at {venv}: run scripts/ensure-mlserver (./dev test does)"
    root = tmp_path_factory.mktemp("mlserver")
    port, grpc_port, metrics_port = free_ports(3)
    (root / "settings.json").write_text(
        json.dumps(
            {"http_port": port, "grpc_port": grpc_port, "metrics_port": metrics_port, "parallel_workers": 0,
             "host": "127.0.0.1", "load_models_at_startup": True}
        )
    )  # fmt: skip
    for name, described in (("adder", True), ("adder_undescribed", False)):
        (root / name).mkdir()
        (root / name / "adder_model.py").write_text(ADDER)
        (root / name / "model-settings.json").write_text(json.dumps(_settings(name, described)))
    log = open(root / "mlserver.log", "w")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    process = subprocess.Popen(
        [str(binary), "start", str(root)], cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        assert process.poll() is None, (root / "mlserver.log").read_text()[-3000:]
        assert time.monotonic() < deadline, (
            "MLServer not ready in 90 s:\n" + (root / "mlserver.log").read_text()[-3000:]
        )
        try:
            with urllib.request.urlopen(url + "/v2/models/adder/ready", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        time.sleep(0.3)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


async def test_execute_with_numpy_and_decoded_outputs(mlserver):
    a = np.array([1.5, 2.0, -3.0], np.float32)
    results = await execute([a, np.ones(3, np.float32)], mlserver, "adder", decode_json=True)
    assert results["sum"].reshape(-1).tolist() == (a + 1).tolist()
    assert results["note"] == [[{"count": 3}]]  # StringCodec answers shape [1, 1]
    by_name = await execute({"a": [1.0, 2.0], "b": [3.0, 4.0]}, mlserver, "adder", decode_bytes=True)
    assert by_name["sum"].reshape(-1).tolist() == [4.0, 6.0] and by_name["note"] == [['{"count": 2}']]


async def test_get_config_comes_from_the_model_metadata(mlserver):
    config = await get_config(mlserver, "adder")
    assert config["config_source"] == "metadata" and config["max_batch_size"] == 0
    assert [(i["name"], i["data_type"], i["dims"]) for i in config["input"]] == [
        ("a", "TYPE_FP32", [-1]),
        ("b", "TYPE_FP32", [-1]),
    ]
    assert [o["name"] for o in config["output"]] == ["sum", "note"]
    undescribed = await get_config(mlserver, "adder_undescribed")
    assert undescribed["input"] == []
    out = await execute(
        {"a": np.array([2.0], np.float32), "b": np.array([5.0], np.float32)}, mlserver, "adder_undescribed"
    )
    assert out["sum"].reshape(-1).tolist() == [7.0]
    with pytest.raises(Exception, match="does not describe the inputs of model 'adder_undescribed'"):
        await execute([np.array([2.0], np.float32)], mlserver, "adder_undescribed")


async def test_list_models_and_what_the_server_cannot_do(mlserver):
    listed = await list_models(mlserver)
    assert {(m["name"], m["state"]) for m in listed} == {("adder", "READY"), ("adder_undescribed", "READY")}
    with pytest.raises(UnsupportedError, match="does not take binary tensors \\(no 'binary_tensor_data' extension\\)"):
        await execute([[1.0], [2.0]], mlserver, "adder", binary_data=True)
    with pytest.raises(UnsupportedError, match="mlserver 1.7.1 at .* has no sequence support") as info:
        await SequenceExecutor(mlserver, "adder").step([[1.0], [2.0]])
    assert info.value.extension == "sequence"
    async with InferenceServerClient(mlserver) as client:  # the low-level client, as tritonclient: JSON works
        x = InferInput("a", [2], "FP32").set_data_from_list([1.0, 2.0])
        y = InferInput("b", [2], "FP32").set_data_from_list([3.0, 4.0])
        result = await client.infer("adder", [x, y])
        assert result.as_numpy("sum").reshape(-1).tolist() == [4.0, 6.0]
        # binary tensors (tritonclient's default for numpy inputs): MLServer's 422 says what to do instead
        xb = InferInput("a", [2], "FP32").set_data_from_numpy(np.array([1.0, 2.0], np.float32))
        yb = InferInput("b", [2], "FP32").set_data_from_numpy(np.array([3.0, 4.0], np.float32))
        with pytest.raises(ServerError) as refused:
            await client.infer("adder", [xb, yb])
        # (this MLServer answers 500 with its RequestValidationError traceback; others answer 422)
        assert refused.value.status() in ("422", "500") and "binary tensor" in str(refused.value)
        assert "binary_data=False" in str(refused.value)


def test_the_cli_on_mlserver(mlserver, tmp_path):
    run = [sys.executable, "-m", "pyotritonclient", "--url", mlserver]
    out = subprocess.run([*run, "infer", "adder", "-i", "a=[1.0, 2.0]", "-i", "b=[0.5, 0.5]", "-o", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert np.load(tmp_path / "sum.npy").reshape(-1).tolist() == [1.5, 2.5]
    assert json.loads((tmp_path / "note.json").read_text()) == [[{"count": 2}]]
    config = subprocess.run([*run, "config", "adder"], capture_output=True, text=True, timeout=60)
    assert "input\ta\tFP32\t[-1]" in config.stdout, config.stderr
    models = subprocess.run([*run, "models"], capture_output=True, text=True, timeout=60)
    assert "adder\tREADY" in models.stdout, models.stderr


async def test_the_hypha_service_on_mlserver(mlserver, hypha_server, tmp_path):
    from hypha_rpc import connect_to_server
    from hypha_server import start_service_cli, wait_for_line

    log = tmp_path / "service.log"
    service = start_service_cli(log, hypha_server, mlserver, "--service-id", "oip-service")
    try:
        service_id = await wait_for_line(service, log, "registered ")
        caller = await connect_to_server({"server_url": hypha_server})
        try:
            svc = await caller.get_service(service_id)
            out = await svc.execute(
                model_name="adder", inputs=[np.array([1.0, 2.0], np.float32), np.array([3.0, 4.0], np.float32)]
            )
            assert np.asarray(out["sum"]).reshape(-1).tolist() == [4.0, 6.0]
            assert out["note"] == [[{"count": 2}]]
            config = await svc.get_config(model_name="adder")
            assert config["config_source"] == "metadata"
            with pytest.raises(Exception, match="no sequence support"):
                await svc.sequence_start(model_name="adder")
        finally:
            await caller.disconnect()
    finally:
        service.terminate()
        service.wait(20)
