"""A pytest plugin for testing your own Triton models against the real server (registered as ``pytest11``).

    # pytest.ini / pyproject [tool.pytest.ini_options]
    triton_model_repository = models          # relative to the rootdir

    def test_my_model(triton_client):          # a blocking client of a real local Triton on that repository
        result = triton_client.infer("my_model", [x])

Fixtures: ``triton_server`` (the running ``TritonServer``, session-wide), ``triton_url``, ``triton_client``
(``pyotritonclient.sync.InferenceServerClient``) and ``triton_server_factory`` (start servers on other
repositories: ``triton_server_factory("path/to/repo")``, each started once and stopped at the end;
``model_control=True`` for a server that loads and unloads models). Each server is safe from web pages as
``TritonServer`` is by default: a test that calls its admin APIs passes ``headers=triton_server.admin_headers``.
``@pytest.mark.triton_models("path")`` points one test's ``triton_server`` at another repository. A server
that cannot start fails the test with the tail of its log; nothing is skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Tuple, Union

import pytest

from .server import TritonServer, install

INI = "triton_model_repository"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The model repository: ini option, or ``--triton-model-repository`` on the command line."""
    parser.addini(INI, "model repository for the triton_server fixture (relative to the rootdir)", default="")
    parser.addoption(
        "--triton-model-repository",
        dest="triton_model_repository",
        default=None,
        help="model repository for the triton_server fixture",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line("markers", "triton_models(path): the model repository this test's triton_server serves")


def _repository(config: pytest.Config, path: Union[str, Path, None] = None) -> Path:
    chosen = path or config.getoption("triton_model_repository") or config.getini(INI)
    if not chosen:
        raise pytest.UsageError(
            f"no model repository for triton_server: set {INI} in the pytest configuration, pass "
            "--triton-model-repository, or mark the test with @pytest.mark.triton_models(path)"
        )
    repository = Path(chosen)
    return repository if repository.is_absolute() else Path(str(config.rootpath)) / repository


@pytest.fixture(scope="session")
def triton_server_factory(pytestconfig: pytest.Config) -> Iterator[Callable[..., TritonServer]]:
    """Start (once per repository) a real local Triton; every server stops at the end of the session."""
    servers: Dict[Tuple[Path, bool], TritonServer] = {}

    def start(path: Union[str, Path, None] = None, model_control: bool = False) -> TritonServer:
        repository = _repository(pytestconfig, path).resolve()
        key = (repository, model_control)
        if key not in servers:
            if not repository.is_dir():
                pytest.fail(f"model repository {repository} is not a directory", pytrace=False)
            try:
                servers[key] = TritonServer(repository, installation=install(), model_control=model_control).start()
            except Exception as exc:
                pytest.fail(f"Triton could not start on {repository}: {exc}", pytrace=False)
        return servers[key]

    yield start
    for server in servers.values():
        server.stop()


@pytest.fixture
def triton_server(request: pytest.FixtureRequest, triton_server_factory: Callable[..., TritonServer]) -> TritonServer:
    """The running server for this test's repository (the marker's, else the configured one)."""
    marker = request.node.get_closest_marker("triton_models")
    return triton_server_factory(marker.args[0] if marker and marker.args else None)


@pytest.fixture
def triton_url(triton_server: TritonServer) -> str:
    """``http://127.0.0.1:<port>`` of the test's server."""
    return triton_server.http_url


@pytest.fixture
def triton_client(triton_server: TritonServer) -> Iterator[Any]:
    """A blocking client of the test's server, closed after the test."""
    from ..sync import InferenceServerClient

    client = InferenceServerClient(triton_server.url)
    try:
        yield client
    finally:
        client.close()
