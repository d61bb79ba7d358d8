"""The plugin service: policy checks on the service itself, then over a real hypha server from Python and
from JavaScript (npm hypha-rpc under Node), against the real Triton."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pyotritonclient.service import ServiceConfig, ServiceError, TritonService

HERE = Path(__file__).resolve().parent


ALICE = {"from": "ws-1/alice", "user": {"id": "alice"}}


BOB = {"from": "ws-2/bob", "user": {"id": "bob"}}


def train_step(value):
    return [np.full([1, 2, 2], value, np.float32), np.ones([2, 2], np.uint16), {"steps": 1}]


def state(result):
    (info,) = np.asarray(result["info"], dtype=object).reshape(-1)
    return info


@pytest.fixture
async def service(triton):
    svc = TritonService(ServiceConfig(triton.http_url, max_request_bytes=1_000_000, sequence_idle_timeout=600))
    yield svc
    await svc.close()


async def test_execute_returns_arrays_and_decoded_json(service):
    image = np.zeros([1, 3, 4], np.float32)
    image[0, 1] = 1
    results = await service.execute("cellpose-python", [image, {"diameter": 30, "threshold": 0.5}])
    assert results["mask"].dtype == np.uint16 and results["mask"].tolist()[1] == [1, 1, 1, 1]
    assert results["info"] == [{"diameter": 30, "shape": [1, 3, 4], "param": {"diameter": 30, "threshold": 0.5}}]
    assert results["__info__"]["model_name"] == "cellpose-python"


async def test_urls_outside_the_allowlist_are_refused(service, triton):
    for url in ("http://127.0.0.1:1", "http://169.254.169.254/latest", "file:///etc/passwd"):
        with pytest.raises(ServiceError, match="not allowed by this service|not a valid"):
            await service.execute("add_sub", [], server_url=url)
        with pytest.raises(ServiceError, match="not allowed by this service|not a valid"):
            await service.list_models(server_url=url)
    assert await service.list_models(server_url=triton.url)  # the same server, spelled host:port


async def test_oversized_inputs_are_refused_before_sending(service):
    with pytest.raises(ServiceError, match="more than this service accepts \\(1000000 bytes\\)"):
        await service.execute("cellpose-python", [np.zeros([1, 1000, 1000], np.float32)])


async def test_execute_cannot_reach_into_sequences(service):
    """Sequence ownership cannot be bypassed through execute: no sequence parameters, no control inputs."""
    step = train_step(1.0)
    for key in ("sequence_id", "sequence_start", "sequence_end"):
        with pytest.raises(ServiceError, match=f"parameter '{key}' is reserved"):
            await service.execute("cellpose-train", step, parameters={key: 5})
    named = {"image": step[0], "labels": step[1], "param": step[2], "CORRID": np.array([5], np.uint64)}
    with pytest.raises(ServiceError, match="has no input 'CORRID'"):
        await service.execute("cellpose-train", named)


def test_payload_size_is_not_fooled_by_an_nbytes_key():
    from hypha_rpc.utils import ObjectProxy

    from pyotritonclient.service.core import payload_size

    param = ObjectProxy(nbytes=1, text="x" * 1000)  # what hypha-rpc hands the service for a JS object
    assert payload_size([np.zeros([10], np.float32), param]) > 1000 + 40


async def test_unknown_model(service):
    with pytest.raises(ServiceError, match="no_such_model"):
        await service.execute("no_such_model", [])
    with pytest.raises(ServiceError, match="no_such_model"):
        await service.get_config("no_such_model")


async def test_sequences_belong_to_their_caller(service):
    seq = await service.sequence_start("cellpose-train", context=ALICE)
    assert state(await service.sequence_step(seq, train_step(1.0), context=ALICE))["steps_done"] == 1
    with pytest.raises(ServiceError, match="you have no open sequence"):
        await service.sequence_step(seq, train_step(1.0), context=BOB)
    with pytest.raises(ServiceError, match="you have no open sequence"):
        await service.sequence_end(seq, context=BOB)
    assert [s["sequence_id"] for s in await service.list_sequences(context=ALICE)] == [seq]
    assert await service.list_sequences(context=BOB) == []
    ended = state(await service.sequence_end(seq, context=ALICE))
    assert ended["steps_done"] == 2 and ended["end"] is True
    with pytest.raises(ServiceError, match="no open sequence"):
        await service.sequence_step(seq, train_step(1.0), context=ALICE)


async def test_idle_sequences_are_ended_and_freed(triton):
    svc = TritonService(ServiceConfig(triton.http_url, sequence_idle_timeout=0.3))
    try:
        seq = await svc.sequence_start("cellpose-train", context=ALICE)
        await svc.sequence_step(seq, train_step(1.0), context=ALICE)
        for _ in range(300):  # the reaper runs every timeout/4; wait for it, however loaded the machine is
            if not await svc.list_sequences(context=ALICE):
                break
            await asyncio.sleep(0.1)
        assert await svc.list_sequences(context=ALICE) == []
        # ended on the server too: continuing it without a START is refused there
        from pyotritonclient import InferenceServerException, SequenceExecutor

        with pytest.raises(InferenceServerException, match="START"):
            await SequenceExecutor(triton.http_url, "cellpose-train", seq, start=False).step(train_step(1.0))
    finally:
        await svc.close()


async def test_a_running_step_is_never_reaped_and_steps_run_in_order(triton):
    svc = TritonService(ServiceConfig(triton.http_url, sequence_idle_timeout=0.3))
    try:
        seq = await svc.sequence_start("cellpose-train", context=ALICE)
        slow = [np.ones([1, 2, 2], np.float32), np.ones([2, 2], np.uint16), {"steps": 1, "sleep": 1.2}]
        # two steps sent at once: the second waits for the first; neither is reaped while running
        first, second = await asyncio.gather(
            svc.sequence_step(seq, slow, context=ALICE), svc.sequence_step(seq, train_step(3.0), context=ALICE)
        )
        assert (state(first)["steps_done"], state(second)["steps_done"]) == (1, 2)
        assert state(first)["start"] and not state(second)["start"]
    finally:
        await svc.close()


async def test_a_step_that_fails_on_the_server_closes_the_sequence(service):
    seq = await service.sequence_start("cellpose-train", context=ALICE)
    await service.sequence_step(seq, train_step(1.0), context=ALICE)
    with pytest.raises(ServiceError, match="is closed: start a new one"):
        await service.sequence_step(seq, train_step(1.0)[:2] + [{"steps": "not a number"}], context=ALICE)
    assert await service.list_sequences(context=ALICE) == []
    with pytest.raises(ServiceError, match="no open sequence"):
        await service.sequence_end(seq, context=ALICE)
    # a step refused before sending (bad inputs) leaves the sequence open
    seq = await service.sequence_start("cellpose-train", context=ALICE)
    with pytest.raises(ServiceError, match="model 'cellpose-train': input 'labels' is missing \\(required\\)"):
        await service.sequence_step(seq, [np.ones([2, 2], np.float32)], context=ALICE)
    assert [s["sequence_id"] for s in await service.list_sequences(context=ALICE)] == [seq]
    await service.sequence_end(seq, train_step(1.0), context=ALICE)


async def test_a_sequence_of_an_unknown_model_is_refused_at_start(service):
    with pytest.raises(ServiceError, match="no_such_model"):
        await service.sequence_start("no_such_model", context=ALICE)
    assert await service.list_sequences(context=ALICE) == []


async def test_a_disconnected_caller_releases_its_sequences(service):
    for _ in range(3):
        seq = await service.sequence_start("cellpose-train", context=BOB)
        await service.sequence_step(seq, train_step(1.0), context=BOB)
    assert len(await service.list_sequences(context=BOB)) == 3
    assert await service.release_caller(BOB) == 3
    assert await service.list_sequences(context=BOB) == []


def test_every_function_carries_a_json_schema(service):
    api = service.api()
    assert set(api) >= {"execute", "list_models", "get_config", "sequence_start", "sequence_step", "sequence_end"}
    for name, function in api.items():
        schema = function.__schema__
        assert schema["name"] == name and schema["description"]
        assert schema["parameters"]["type"] == "object"
        json.dumps(schema)
    assert api["execute"].__schema__["parameters"]["required"] == ["model_name", "inputs"]


@pytest.fixture(scope="module")
def registered(hypha_server, triton, tmp_path_factory):
    """The real command line registers the service on hypha; yields the service id."""
    log = tmp_path_factory.mktemp("svc") / "service.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyotritonclient.service",
            "--hypha-url",
            hypha_server,
            "--triton-url",
            triton.http_url,
            "--max-request-mb",
            "1",
            "--timeout",
            "30",
        ],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    try:
        while "registered " not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the service did not register: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        service_id = log.read_text().split("registered ", 1)[1].split()[0]
        yield service_id
    finally:
        process.terminate()
        process.wait(15)


@pytest.fixture
async def hypha_client(hypha_server):
    from hypha_rpc import connect_to_server

    server = await connect_to_server({"server_url": hypha_server})
    yield server
    await server.disconnect()


async def test_python_hypha_client(hypha_client, registered):
    svc = await hypha_client.get_service(registered)
    image = np.zeros([1, 2, 3], np.float32)
    image[0, 0, 1] = 2.0
    results = await svc.execute(model_name="cellpose-python", inputs=[image, {"diameter": 30, "threshold": 1}])
    assert isinstance(results["mask"], np.ndarray) and results["mask"].dtype == np.uint16
    assert results["mask"].tolist() == [[0, 1, 0], [0, 0, 0]]
    assert results["info"][0]["diameter"] == 30
    assert "cellpose-python" in {m["name"] for m in await svc.list_models()}
    assert [i["name"] for i in (await svc.get_config(model_name="cellpose-train"))["input"]] == [
        "image",
        "labels",
        "param",
    ]
    seq = await svc.sequence_start(model_name="cellpose-train")
    first = state(await svc.sequence_step(sequence_id=seq, inputs=train_step(1.0)))
    second = state(await svc.sequence_step(sequence_id=seq, inputs=train_step(2.0)))
    last = state(await svc.sequence_end(sequence_id=seq))
    assert (first["steps_done"], second["steps_done"], last["steps_done"]) == (1, 2, 3)
    assert (first["image_sum"], second["image_sum"], last["image_sum"]) == (1.0, 3.0, 5.0)
    assert first["start"] and last["end"]


async def test_clear_errors_over_rpc(hypha_client, hypha_server, registered):
    svc = await hypha_client.get_service(registered)
    with pytest.raises(Exception, match="not allowed by this service"):
        await svc.execute(model_name="add_sub", inputs=[], server_url="http://10.0.0.1:8000")
    with pytest.raises(Exception, match="more than this service accepts"):
        await svc.execute(model_name="cellpose-python", inputs=[np.zeros([1, 600, 600], np.float32)])
    with pytest.raises(Exception, match="no_such_model"):
        await svc.execute(model_name="no_such_model", inputs=[])
    seq = await svc.sequence_start(model_name="cellpose-train")
    await svc.sequence_step(sequence_id=seq, inputs=train_step(1.0))
    from hypha_rpc import connect_to_server

    other = await connect_to_server({"server_url": hypha_server})
    try:
        theirs = await other.get_service(registered)
        with pytest.raises(Exception, match="you have no open sequence"):
            await theirs.sequence_step(sequence_id=seq, inputs=train_step(1.0))
    finally:
        await other.disconnect()
    await svc.sequence_end(sequence_id=seq)


async def test_a_refusal_reaches_an_rpc_caller_without_the_services_insides(hypha_client, registered):
    """The message (and for an unexpected failure, its error id) reaches the caller; no file path, install
    location or source line of the service does."""
    svc = await hypha_client.get_service(registered)
    with pytest.raises(Exception) as refused:
        await svc.execute(model_name="add_sub", inputs=[np.zeros(3, np.int32), np.zeros(16, np.int32)])
    text = str(refused.value)
    assert "input 'INPUT0': expected shape" in text, text
    for inside in ("site-packages", "pyotritonclient/", '.py"', "await ", "raise "):
        assert inside not in text, (inside, text)


async def test_schemas_are_visible_to_callers(hypha_client, registered):
    info = await hypha_client.get_service_info(registered)
    schemas = info.get("service_schema") or {}
    assert "execute" in schemas and "sequence_step" in schemas
    assert schemas["execute"]["type"] == "function"
    execute = schemas["execute"]["function"]  # hypha wraps it in the OpenAI tool format
    assert execute["name"] == "execute" and list(execute["parameters"]["required"]) == ["model_name", "inputs"]
    assert "model_name" in execute["parameters"]["properties"]


def test_javascript_hypha_client(cache_dir, hypha_server, registered, triton):
    modules = cache_dir / "npm-hypha" / "node_modules"
    if not (modules / "hypha-rpc").exists():
        pytest.fail(f"npm hypha-rpc is missing under {modules}: run scripts/ensure-hypha (./dev test does)")
    out = subprocess.run(
        [
            "node",
            "--experimental-websocket",
            str(HERE / "js" / "hypha_client.mjs"),
            str(modules),
            hypha_server,
            registered,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}"
    result = json.loads(lines[-1][len("RESULT ") :])
    assert result["mask"] == {"dtype": "uint16", "shape": [2, 3], "values": [0, 1, 0, 1, 0, 1]}
    assert result["info"][0]["param"] == {"diameter": 30, "threshold": 0.5}
    assert "cellpose-train" in result["models"]
    assert result["config_inputs"] == ["image", "param"]
    assert [s["steps_done"] for s in result["sequence"]] == [1, 2, 3]
    assert [s["image_sum"] for s in result["sequence"]] == [1.0, 3.0, 5.0]
    assert "no_such_model" in result["unknown_model"]
    assert "you have no open sequence" in result["other_caller"]
    assert "not allowed by this service" in result["not_allowed"]
    assert "more than this service accepts" in result["oversized"]


def _negotiated(server) -> list:
    """The websocket extensions hypha-rpc's connection agreed with hypha (internals: there is no public API)."""
    websocket = server.rpc._connection._websocket
    return [type(extension).__name__ for extension in websocket.protocol.extensions]


async def test_the_service_connection_declines_websocket_compression(hypha_server, triton):
    from hypha_rpc import connect_to_server

    from pyotritonclient.service import ServiceConfig, TritonService
    from pyotritonclient.service.hypha import register

    default = await connect_to_server({"server_url": hypha_server})
    service = TritonService(ServiceConfig(triton.http_url))
    server, info = await register(service, hypha_server, service_id="no-deflate")
    compressed, _ = await register(TritonService(ServiceConfig(triton.http_url)), hypha_server,
                                   service_id="deflate", websocket_compression=True)  # fmt: skip
    try:
        assert _negotiated(default) == ["PerMessageDeflate"]  # what hypha-rpc does by default
        assert _negotiated(compressed) == ["PerMessageDeflate"]
        assert _negotiated(server) == []  # the service's own connection: no deflate
        later = await connect_to_server({"server_url": hypha_server})  # other connections are left as they are
        assert _negotiated(later) == ["PerMessageDeflate"]
        svc = await later.get_service(info["id"])
        assert "add_sub" in {m["name"] for m in await svc.list_models()}
        await later.disconnect()
    finally:
        for connection in (default, server, compressed):
            await connection.disconnect()
        await service.close()
