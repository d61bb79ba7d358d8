"""Every Triton this package starts is safe from web pages by default (issue 34, finding 2): `pyotritonclient
serve`, `TritonServer` (the pytest plugin's and `./dev demo`'s). A page on any site can send a "simple" cross-site
POST (text/plain, no preflight) to 127.0.0.1; it must not load a model with files (code Triton runs), point the
log or trace file anywhere, or register shared memory. Against the real Triton 2.51, started as users start it."""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple

import pytest
from cli_helpers import CLI, _env, run
from test_playground_security import hostile_model_files

from pyotritonclient.testing.server import ADMIN_HEADER, TritonServer

EVIL = "https://evil.example"


def cross_site(url: str, path: str, body: bytes, headers: Optional[Dict[str, str]] = None) -> Tuple[int, bytes]:
    """What a page on another site can send without a CORS preflight: a POST with a text/plain body."""
    request = urllib.request.Request(
        url + path, data=body, method="POST", headers={"Content-Type": "text/plain", "Origin": EVIL, **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def ready(url: str, path: str) -> bool:
    try:
        with urllib.request.urlopen(url + path, timeout=60) as answer:
            return answer.status == 200
    except urllib.error.HTTPError:
        return False


def assert_no_page_can_program(url: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    status, body = cross_site(url, "/v2/repository/models/pwned/load", hostile_model_files(marker))
    assert status != 200, body
    assert not marker.exists() and not ready(url, "/v2/models/pwned/ready")
    trace_file = tmp_path / "trace.json"
    for path, payload in [
        ("/v2/logging", b'{"log_verbose_level": 1}'),  # (Triton 2.51 never moves its log file over the network)
        ("/v2/trace/setting", b'{"trace_file": "%s", "trace_level": ["TIMESTAMPS"]}' % str(trace_file).encode()),
        ("/v2/systemsharedmemory/region/r/register", b'{"key": "/pwned", "offset": 0, "byte_size": 8}'),
    ]:
        status, body = cross_site(url, path, payload)
        assert status in (401, 403), (path, status, body)
    assert not trace_file.exists()


@pytest.fixture
def repository(tmp_path, models_dir) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(models_dir / "add_sub", repo / "add_sub")
    return repo


@contextlib.contextmanager
def serving(*args: str) -> Iterator[Tuple[str, subprocess.Popen]]:
    process = subprocess.Popen(
        [*CLI, "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env()
    )
    try:
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url), (url, process.stderr.read() if process.poll() else "")
        yield url, process
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def test_serve_cannot_be_programmed_by_a_web_page(repository, tmp_path, triton_installation):
    with serving(str(repository)) as (url, _):
        assert_no_page_can_program(url, tmp_path)
        # what serve is for still works: listing and inference, with no header at all
        listed = run("--url", url, "models", "--json")
        assert listed.returncode == 0 and '"add_sub"' in listed.stdout, listed.stderr
        assert ready(url, "/v2/models/add_sub/ready")


def test_serve_with_model_control_wants_its_admin_key(repository, tmp_path, triton_installation):
    with serving(str(repository), "--allow-model-control") as (url, process):
        assert_no_page_can_program(url, tmp_path)
        # the key is shown to the user who started it, on stderr, as a --header for the CLI
        note = ""
        while ADMIN_HEADER not in note:
            note = process.stderr.readline()
            assert note, "serve printed no admin header"
        key = re.search(rf"--header '{ADMIN_HEADER}: ([0-9a-f]+)'", note).group(1)
        header = f"{ADMIN_HEADER}: {key}"
        assert run("--url", url, "models").returncode != 0  # the index is restricted too
        listed = run("--url", url, "--header", header, "models", "--json")
        assert listed.returncode == 0 and '"add_sub"' in listed.stdout, listed.stderr
        status, _ = cross_site(url, "/v2/repository/models/add_sub/unload", b"{}", {ADMIN_HEADER: key})
        assert status == 200


def test_the_testing_server_is_safe_by_default_and_its_admin_headers_open_the_admin_api(
    repository, tmp_path, triton_installation
):
    with TritonServer(repository, installation=triton_installation) as server:
        assert_no_page_can_program(server.http_url, tmp_path)
        status, answer = cross_site(server.http_url, "/v2/logging", b'{"log_verbose_level": 1}', server.admin_headers)
        assert status == 200, answer
    with TritonServer(repository, installation=triton_installation, model_control=True) as server:
        assert_no_page_can_program(server.http_url, tmp_path)
        status, answer = cross_site(
            server.http_url, "/v2/repository/models/add_sub/unload", b"{}", server.admin_headers
        )
        assert status == 200, answer
