"""The BioEngine's clients, unchanged, against the service deployed the documented way (issue 26): a real hypha
started with ``--startup-functions=pyotritonclient.service.startup:hypha_startup`` and this release installed in
hypha's environment, serving the real Triton as ``public/triton-client``. The three kinds of client that exist:
plain HTTP (requests, gzip'd msgpack), a web app's model runner (npm hypha-rpc, in Node and in Chromium), a
notebook (Python hypha-rpc). Then the startup function next to hypha's own ``--triton-servers`` (refused), and
hypha's own triton module working with this release installed."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import msgpack
import numpy as np
import pytest
import requests
from hypha_server import HyphaServer

HERE = Path(__file__).resolve().parent


def encode_data(inputs):
    """What the BioEngine's HTTP client sends: ndarrays as imjoy-rpc dicts."""
    if isinstance(inputs, (np.ndarray, np.generic)):
        return {"_rtype": "ndarray", "_rvalue": inputs.tobytes(), "_rshape": inputs.shape, "_rdtype": str(inputs.dtype)}
    if isinstance(inputs, (tuple, list)):
        return [encode_data(item) for item in inputs]
    if isinstance(inputs, dict):
        return {key: encode_data(value) for key, value in inputs.items()}
    return inputs


def decode_data(outputs):
    if isinstance(outputs, dict):
        if outputs.get("_rtype") == "ndarray":
            return np.frombuffer(outputs["_rvalue"], dtype=outputs["_rdtype"]).reshape(outputs["_rshape"])
        return {key: decode_data(value) for key, value in outputs.items()}
    if isinstance(outputs, list):
        return [decode_data(item) for item in outputs]
    return outputs


def execute_over_http(server_url, **kwargs):
    """The BioEngine's `execute` over plain HTTP: gzip(msgpack(kwargs)) POSTed to hypha's service proxy."""
    data = msgpack.dumps(encode_data(kwargs))
    response = requests.post(
        f"{server_url}/public/services/triton-client/execute",
        data=gzip.compress(data),
        headers={"Content-Type": "application/msgpack", "Content-Encoding": "gzip"},
        timeout=60,
    )
    assert response.ok, response.text[:2000]
    return decode_data(msgpack.loads(response.content))


def installed_release(python: Path, wheel: Path, target: Path) -> Path:
    """This release's wheel installed (without dependencies: hypha's environment has them) into ``target``,
    which goes first on hypha's PYTHONPATH: hypha then imports this release, not the one it came with."""
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)], check=True
    )
    return target


@pytest.fixture(scope="module")
def bioengine(cache_dir, triton, built_wheel, tmp_path_factory):
    """hypha with the startup function, this release in its environment, serving the real Triton."""
    work = tmp_path_factory.mktemp("bioengine")
    release = installed_release(cache_dir / "hypha-venv" / "bin" / "python", built_wheel, work / "release")
    token_file = work / "secrets" / "public-token"
    server = HyphaServer(
        cache_dir,
        work / "hypha",
        extra_args=("--startup-functions=pyotritonclient.service.startup:hypha_startup",),
        env={
            "PYTHONPATH": str(release),
            "PYOTRITON_SERVICE_TRITON_URL": triton.http_url,
            "PYOTRITON_SERVICE_MAX_REQUEST_MB": "64",
            "PYOTRITON_SERVICE_TOKEN_FILE": str(token_file),
            "PYOTRITON_SERVICE_LIVENESS_INTERVAL": "0.5",  # (read, and had no effect: issue 34, finding 5)
        },
    )
    try:
        server.start()
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(str(exc))
    try:
        yield {"url": server.url, "token_file": token_file, "server": server}
    finally:
        server.stop()


def test_plain_http_clients_get_configs_and_run_models(bioengine):
    """The BioEngine's `requests` client: get_config over GET, execute over POST with gzip'd msgpack."""
    url = bioengine["url"]
    response = requests.get(f"{url}/public/services/triton-client/get_config?model_name=cellpose-python", timeout=60)
    config = json.loads(response.content)
    assert response.ok and [i["name"] for i in config["input"]] == ["image", "param"], response.text[:500]
    image = np.zeros([1, 2, 3], np.float32)
    image[0, 1] = 1
    results = execute_over_http(
        url, inputs=[image, {"diameter": 30, "threshold": 0.5}], model_name="cellpose-python", decode_json=True
    )
    assert results["mask"].dtype == np.uint16 and results["mask"].tolist() == [[0, 0, 0], [1, 1, 1]]
    assert results["info"][0]["diameter"] == 30 and results["__info__"]["model_name"] == "cellpose-python"
    tensor = np.arange(8, dtype=np.float32).reshape(1, 1, 2, 4)
    ret = execute_over_http(
        url, inputs=[{"inputs": [tensor], "model_id": "affable-shark"}], model_name="bioengine-model-runner",
        serialization="imjoy",
    )  # fmt: skip
    assert ret["result"]["success"] and ret["result"]["outputs"][0].tolist() == (tensor * 2).tolist()
    ret = execute_over_http(
        url, inputs=[{"model_id": "chatty-frog", "inputs": None, "return_rdf": True}],
        model_name="bioengine-model-runner", serialization="imjoy",
    )  # fmt: skip
    assert ret["result"]["rdf"]["id"] == "chatty-frog" and ret["result"]["rdf"]["inputs"][0]["axes"] == "byxc"


async def test_a_notebook_with_hypha_rpc(bioengine):
    """The BioEngine notebook: hypha-rpc's get_service, execute with serialization="imjoy"."""
    from hypha_rpc import connect_to_server

    server = await connect_to_server({"name": "test client", "server_url": bioengine["url"], "method_timeout": 3000})
    try:
        triton = await server.get_service("public/triton-client")
        image = np.random.default_rng(0).integers(0, 255, (1, 3, 8, 8)).astype(np.uint8)
        ret = await triton.execute(
            inputs=[{"inputs": [image], "model_id": "affable-shark"}],
            model_name="bioengine-model-runner",
            serialization="imjoy",
        )
        result = ret["result"]
        mask = result["outputs"][0]
        assert result["success"] and mask.dtype == np.float32 and mask.tolist() == (image * 2.0).tolist()
        kwargs = {"model_id": "affable-shark", "inputs": None, "return_rdf": True}
        ret = await triton.execute(inputs=[kwargs], model_name="bioengine-model-runner", serialization="imjoy")
        assert ret["result"]["rdf"]["name"] == "NucleiSegmentationBoundaryModel"
        unknown = await triton.execute(
            inputs=[{"inputs": [image], "model_id": "no-such-model"}], model_name="bioengine-model-runner",
            serialization="imjoy",
        )  # fmt: skip
        assert unknown["result"] == {"success": False, "error": "model 'no-such-model' not found"}
    finally:
        await server.disconnect()


def _check_web_app(result):
    cellpose = result["cellpose"]
    assert cellpose["mask"] == {"dtype": "uint16", "shape": [2, 3], "values": [0, 1, 0, 1, 0, 1]}
    assert cellpose["info"][0]["param"] == {"diameter": 30, "threshold": 0.5}
    assert result["rdf"]["id"] == "affable-shark" and result["rdf"]["inputs"][0]["axes"] == "bcyx"
    assert result["run"] == {
        "success": True,
        "output": {"dtype": "float32", "shape": [1, 1, 2, 2], "values": [2, 4, 6, 8]},
    }
    assert result["readme"] == {
        "success": True,
        "output": {"dtype": "float32", "shape": [1, 3, 4, 4], "values": [0] * 48},
    }


def test_a_web_apps_model_runner_under_node(cache_dir, bioengine):
    modules = cache_dir / "npm-hypha" / "node_modules"
    out = subprocess.run(
        ["node", "--experimental-websocket", str(HERE / "js" / "bioengine_webapp_node.mjs"), str(modules),
         bioengine["url"]],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, f"{out.stdout[-3000:]}\n{out.stderr[-2000:]}"
    _check_web_app(json.loads(lines[-1][len("RESULT ") :]))


def test_a_web_apps_model_runner_in_chromium(cache_dir, bioengine):
    modules = cache_dir / "npm-hypha" / "node_modules"
    playwright = cache_dir / "npm" / "node_modules" / "playwright-core"
    out = subprocess.run(
        ["node", str(HERE / "js" / "bioengine_webapp_page.mjs"), str(modules), str(playwright), bioengine["url"]],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    lines = [line for line in out.stdout.splitlines() if line.startswith("RESULT ")]
    assert out.returncode == 0 and lines, f"{out.stdout[-3000:]}\n{out.stderr[-2000:]}"
    _check_web_app(json.loads(lines[-1][len("RESULT ") :]))


async def test_separate_replicas_register_with_the_minted_public_token(bioengine, triton, tmp_path):
    """The token file the startup function wrote (mode 0600) lets a service process of its own register in
    public as triton-client: callers of public/triton-client then reach either."""
    from hypha_server import start_service_cli

    token_file = bioengine["token_file"]
    assert token_file.stat().st_mode & 0o777 == 0o600
    log = tmp_path / "replica.log"
    process = start_service_cli(  # --token-file: the token never appears in the process list (finding 7)
        log, bioengine["url"], triton.http_url, "--workspace", "public", "--token-file", str(token_file),
        "--client-id", "replica-two",
    )  # fmt: skip
    try:
        from hypha_server import wait_for_line

        service_id = await wait_for_line(process, log, "registered ")
        assert service_id == "public/replica-two:triton-client", service_id
        assert token_file.read_text() not in Path(f"/proc/{process.pid}/cmdline").read_text()
        from hypha_rpc import connect_to_server

        server = await connect_to_server({"server_url": bioengine["url"]})
        try:
            replica = await server.get_service("public/replica-two:triton-client")
            results = await replica.execute(model_name="add_sub", inputs=[np.arange(16, dtype=np.int32)] * 2)
            assert results["OUTPUT0"].tolist() == [2 * i for i in range(16)]
        finally:
            await server.disconnect()
    finally:
        process.terminate()
        process.wait(30)


def test_the_startup_function_refuses_to_run_next_to_hyphas_own_triton(cache_dir, triton, built_wheel, tmp_path):
    release = installed_release(cache_dir / "hypha-venv" / "bin" / "python", built_wheel, tmp_path / "release")
    server = HyphaServer(
        cache_dir,
        tmp_path / "hypha",
        extra_args=(
            f"--triton-servers={triton.http_url}",
            "--startup-functions=pyotritonclient.service.startup:hypha_startup",
        ),
        env={"PYTHONPATH": str(release), "PYOTRITON_SERVICE_TRITON_URL": triton.http_url},
    )
    with pytest.raises((RuntimeError, TimeoutError)):
        server.start(timeout=90)
    server.stop()
    log = (tmp_path / "hypha" / "hypha.log").read_text(errors="replace")
    assert "does not run next to hypha's own --triton-servers" in log, log[-3000:]


async def _builtin_outcomes(cache_dir, triton, tmp_path, pythonpath):
    """What hypha --triton-servers does with the pyotritonclient on ``pythonpath`` (None: the 0.2.6 it came with):
    its /triton/ proxy and its own public/triton-client, called as the BioEngine clients call it."""
    from hypha_rpc import connect_to_server

    env = {"PYTHONPATH": str(pythonpath)} if pythonpath else {}
    server = HyphaServer(cache_dir, tmp_path, extra_args=(f"--triton-servers={triton.http_url}",), env=env)
    outcomes = {}
    try:
        server.start()
        probe = subprocess.run(
            [str(cache_dir / "hypha-venv" / "bin" / "python"), "-c",
             "import pyotritonclient; print(pyotritonclient.__file__)"],
            capture_output=True, text=True, env=env, check=True, cwd=tmp_path,
        )  # fmt: skip
        outcomes["imported"] = probe.stdout.strip()
        config = requests.get(f"{server.url}/triton/v2/models/cellpose-python/config", timeout=60).json()
        outcomes["proxy_config"] = [i["name"] for i in config["input"]]
        client = await connect_to_server({"server_url": server.url})
        builtin = await client.get_service("public/triton-client")
        calls = {
            "execute_decode_json": builtin.execute(
                model_name="cellpose-python", inputs=[np.ones([1, 2, 2], np.float32), {"diameter": 30}],
                decode_json=True,
            ),
            "execute_add_sub": builtin.execute(model_name="add_sub", inputs=[np.arange(16, dtype=np.int32)] * 2),
            "get_config": builtin.get_config(model_name="add_sub"),
        }  # fmt: skip
        for name, call in calls.items():
            try:
                answer = await call
                if name == "get_config":
                    outcomes[name] = [i["name"] for i in answer["input"]]
                elif name == "execute_add_sub":
                    outcomes[name] = answer["OUTPUT0"].tolist()
                else:
                    outcomes[name] = [answer["mask"].tolist(), answer["info"][0]["diameter"]]
            except Exception as exc:  # the same refusal with both releases is the same behaviour
                outcomes[name] = "error: " + str(exc).strip().splitlines()[-1]
        await client.disconnect()
    finally:
        server.stop()
    return outcomes


async def test_hyphas_own_triton_module_works_with_this_release_installed(cache_dir, triton, built_wheel, tmp_path):
    """hypha --triton-servers imports pyotritonclient (it calls execute(inputs, server_url=, model_name=,
    cache_config=False, **kwargs) and get_config(server_url=, model_name=)): with this release installed in its
    environment, its /triton/ proxy and its own public/triton-client do what they do with 0.2.6."""
    release = installed_release(cache_dir / "hypha-venv" / "bin" / "python", built_wheel, tmp_path / "release")
    ours = await _builtin_outcomes(cache_dir, triton, tmp_path / "ours", release)
    theirs = await _builtin_outcomes(cache_dir, triton, tmp_path / "theirs", None)
    assert ours.pop("imported").startswith(str(release)) and "/pyotritonclient/" in theirs.pop("imported")
    assert ours == theirs, (ours, theirs)
    assert ours["proxy_config"] == ["image", "param"]


async def test_a_forged_context_cannot_reach_another_callers_sequence_on_the_startup_service(bioengine):
    """Issue 34, finding 1, on the startup-function service (inside hypha's own process): Mallory's forged
    messages over the real hypha leave Alice's sequence alone (the scenario of test_service_trust.py)."""
    from hypha_rpc import connect_to_server
    from test_service_trust import forged_calls_leave_alice_alone

    alice = await connect_to_server({"server_url": bioengine["url"]})
    mallory = await connect_to_server({"server_url": bioengine["url"]})
    try:
        info = await alice.get_service_info("public/triton-client")
        await forged_calls_leave_alice_alone(info["id"], alice, mallory)
    finally:
        await alice.disconnect()
        await mallory.disconnect()


def sequence_requests(triton) -> int:
    """How many requests Triton's sequence_accumulate has executed (its statistics)."""
    with urllib.request.urlopen(f"{triton.http_url}/v2/models/sequence_accumulate/stats", timeout=60) as answer:
        stats = json.load(answer)["model_stats"]
    return sum(int(s["inference_stats"]["success"]["count"]) for s in stats)


async def test_a_killed_caller_of_the_startup_service_has_its_sequence_ended_on_triton(bioengine, triton):
    """Issue 34, finding 5: the startup-function service had no liveness check and no disconnect handler (its
    liveness interval was read and unused): a SIGKILLed caller's sequence stayed open until it idled out. Now
    it is ended on Triton (one more request, with END) within the liveness checks."""
    from hypha_rpc import connect_to_server
    from test_service_departed import started_caller
    from waiting import wait_until

    info_client = await connect_to_server({"server_url": bioengine["url"]})
    try:
        service_id = (await info_client.get_service_info("public/triton-client"))["id"]
    finally:
        await info_client.disconnect()
    process = await started_caller(bioengine["url"], service_id)
    before = sequence_requests(triton)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(30)
    await wait_until(
        lambda: sequence_requests(triton) > before, "the killed caller's sequence ended on Triton", within=120
    )
    assert sequence_requests(triton) == before + 1
