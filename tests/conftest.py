"""Session fixtures: the real Triton server, started once for the whole suite.

If Triton cannot be installed or started, every test that needs it fails loudly (nothing is skipped).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyotritonclient.testing.server import TritonServer, install

MODELS_DIR = Path(__file__).resolve().parent / "models"
# Headers named X-Seen-By-Triton-* reach models as request parameters: a plugin's header can be seen server-side.
TRITON_ARGS = ["--http-header-forward-pattern=x-seen-by-triton-.*"]
# The suite's own Triton drives every endpoint (load/unload, shared memory, logging, trace) from its tests, so it
# opts out of the admin key that every Triton the package starts has by default (test_local_triton_safety.py).
SUITE_CONTROL = {"model_control": True, "restricted_apis": ()}
# `./dev mutate` (scripts/mutate.py) starts one real Triton with these models and arguments for the runs of
# every mutant, and names its HTTP port here: the `triton` fixture then uses that server instead of starting one.
SHARED_TRITON = "PYOTRITON_SHARED_TRITON"


def refused_port() -> int:
    """A port that refuses connections: bound by the kernel (port 0), then closed here (never assume one)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ready(url: str, within: float) -> None:
    """Until ``url`` answers ``GET /v2/health/ready`` with 200 (polled; ``within`` only stops a hung start)."""
    import time
    import urllib.request

    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the shared Triton at {url} is not ready after {within} s")
        time.sleep(0.2)


@pytest.fixture
def refused_url() -> str:
    """``http://127.0.0.1:<a port nobody listens on>`` (see refused_port)."""
    return f"http://127.0.0.1:{refused_port()}"


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return MODELS_DIR


@pytest.fixture(scope="session")
def triton_installation():
    return install()


@pytest.fixture(scope="session")
def triton(request):
    shared = os.environ.get(SHARED_TRITON)
    if shared:  # started, watched and stopped there; ready again within seconds after a crash
        server = TritonServer(MODELS_DIR, http_port=int(shared), extra_args=TRITON_ARGS, **SUITE_CONTROL)
        wait_until_ready(server.http_url, within=180)
        yield server
        return
    installation = request.getfixturevalue("triton_installation")
    server = TritonServer(MODELS_DIR, installation=installation, extra_args=TRITON_ARGS, **SUITE_CONTROL)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def cache_dir() -> Path:
    from pyotritonclient.testing.server import cache_dir as cache

    return cache()


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory) -> Path:
    """This checkout built into a pure wheel, once per session (what users install, also with micropip)."""
    import subprocess
    import sys

    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(MODELS_DIR.parent.parent),
        ],
        check=True,
    )
    (wheel,) = dist.glob("pyotritonclient-*-py3-none-any.whl")
    return wheel


@pytest.fixture(scope="session")
def nginx(triton, tmp_path_factory):
    """nginx with the docs' CORS proxy, a proxy without CORS, and one hiding the header-length header."""
    from browser.nginx import Nginx

    server = Nginx(tmp_path_factory.mktemp("nginx"), triton.url, static_root=tmp_path_factory.mktemp("static"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def hypha_server(cache_dir, tmp_path_factory):
    """A real hypha server on a free port; yields its URL."""
    from hypha_server import HyphaServer

    server = HyphaServer(cache_dir, tmp_path_factory.mktemp("hypha"))
    try:
        server.start()
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(str(exc))
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
async def _close_pooled_clients():
    """The helpers' pooled clients live as long as the event loop: close them before it goes."""
    yield
    from pyotritonclient.api import close_clients

    await close_clients()


TRANSPORTS = {"http11": "Http11Transport", "aiohttp": "AiohttpTransport"}


@pytest.fixture(params=sorted(TRANSPORTS, reverse=True))
async def client(triton, request, monkeypatch):
    """A low-level client of the suite's Triton over each CPython transport (the default HTTP/1.1 one and the
    documented aiohttp alternative), closed after the test."""
    from pyotritonclient.http import InferenceServerClient

    monkeypatch.setenv("PYOTRITON_TRANSPORT", request.param)
    async with InferenceServerClient(triton.url) as client:
        assert type(client.transport).__name__ == TRANSPORTS[request.param]
        yield client


def spellings(triton) -> list:
    """The real Triton as two members: ``http://127.0.0.1:P/`` and ``http://localhost:P/``."""
    return [f"http://127.0.0.1:{triton.http_port}/", f"http://localhost:{triton.http_port}/"]


@pytest.fixture
async def two(triton):
    """A pool of the real Triton under two spellings: two members, one server (test_pool_rules, test_pool_index)."""
    from pyotritonclient.engine.pool import ServerPool
    from pyotritonclient.engine.session import Session

    pool = ServerPool([Session(url) for url in spellings(triton)], recheck_seconds=0.2)
    yield pool
    await pool.close()


@pytest.fixture
async def svc(triton):
    """A service on the real Triton whose sequences neither expire nor meet a liveness check within a test's time
    (test_service_sequences, test_service_sequence_ids)."""
    from pyotritonclient.service import ServiceConfig, TritonService

    service = TritonService(ServiceConfig(triton.http_url, sequence_idle_timeout=600, liveness_interval=600))
    yield service
    await service.close()


@pytest.fixture
async def on_hypha(hypha_server, triton):
    """The service registered on the real hypha as triton-streams (liveness checked every 0.5 s, 1 MB requests),
    a caller connected to it: (the service, the caller's proxy of it, its id). test_service_streams_rpc,
    test_streaming_page."""
    from hypha_rpc import connect_to_server

    from pyotritonclient.service import ServiceConfig, TritonService
    from pyotritonclient.service.hypha import register

    service = TritonService(ServiceConfig(triton.http_url, liveness_interval=0.5, max_request_bytes=1_000_000))
    server, info = await register(service, hypha_server, service_id="triton-streams")
    caller = await connect_to_server({"server_url": hypha_server})
    yield service, await caller.get_service(info["id"]), info["id"]
    await caller.disconnect()
    await service.close()
    await server.disconnect()
