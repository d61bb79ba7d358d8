"""The playground's server keeps out what a web page, a DNS-rebinding name or a hostile client sends (issue 24):
the Host it answers for, the Origin and the per-run token on /triton/, which Triton endpoints pass at all, which
headers pass, request targets, body framing and limits, timeouts and a bound on handlers. Against the real
Triton; a hand-written upstream only where the real one cannot show what arrived (headers, a broken answer)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
from loopback import LoopbackServer, read_head

from pyotritonclient.playground.server import TOKEN_HEADER, Playground, exposure_warning

EVIL = "https://evil.example"


@contextlib.contextmanager
def running(triton_url: Optional[str], **options: object) -> Iterator[Playground]:
    server = Playground(("127.0.0.1", 0), triton_url, None, "https://cdn.example/pyodide/", **options)  # type: ignore[arg-type]
    server.serve_in_thread()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def ask(
    server: Playground,
    method: str,
    path: str,
    body: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
    token: bool = True,
    host: Optional[str] = None,
) -> Tuple[int, Dict[str, str], bytes]:
    port = server.server_address[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", host or f"127.0.0.1:{port}")
        for key, value in {**({TOKEN_HEADER: server.token} if token else {}), **(headers or {})}.items():
            connection.putheader(key, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


def model_state(triton, name: str) -> str:
    request = urllib.request.Request(f"{triton.http_url}/v2/repository/index", data=b"{}", method="POST")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return {m["name"]: m.get("state", "") for m in json.load(answer)}.get(name, "")


def ensure_loaded(triton, name: str) -> None:
    if model_state(triton, name) != "READY":
        request = urllib.request.Request(
            f"{triton.http_url}/v2/repository/models/{name}/load", data=b"{}", method="POST"
        )
        urllib.request.urlopen(request, timeout=120).read()


ADD_SUB = json.dumps(
    {
        "inputs": [
            {"name": "INPUT0", "shape": [16], "datatype": "INT32", "data": list(range(16))},
            {"name": "INPUT1", "shape": [16], "datatype": "INT32", "data": [1] * 16},
        ]
    }
).encode()


def add_sub_output(body: bytes) -> List[int]:
    return next(o["data"] for o in json.loads(body)["outputs"] if o["name"] == "OUTPUT0")


# -- cross-site requests and DNS rebinding ---------------------------------------------------------------------


def test_a_cross_site_text_plain_post_cannot_unload_a_model(triton):
    """The review's reproduction: a page on another site POSTs text/plain (no preflight) to unload a model."""
    ensure_loaded(triton, "slow")
    try:
        with running(triton.http_url) as server:
            status, _, body = ask(
                server, "POST", "/triton/v2/repository/models/slow/unload", b"{}",
                {"Origin": EVIL, "Content-Type": "text/plain"}, token=False,
            )  # fmt: skip
            assert status == 403, (status, body)
            assert model_state(triton, "slow") == "READY"
    finally:
        ensure_loaded(triton, "slow")


def test_the_proxy_wants_the_pages_token_and_its_own_origin(triton):
    with running(triton.http_url) as server:
        own = f"http://127.0.0.1:{server.server_address[1]}"
        path = "/triton/v2/models/add_sub/infer"
        assert ask(server, "POST", path, ADD_SUB, token=False)[0] == 403  # curl without the token
        assert ask(server, "POST", path, ADD_SUB, {TOKEN_HEADER: "x" * 43})[0] == 403  # a guessed token
        assert ask(server, "POST", path, ADD_SUB, {"Origin": EVIL})[0] == 403  # the token, from another site
        assert ask(server, "POST", path, ADD_SUB, {"Origin": "null"})[0] == 403  # a sandboxed frame
        status, _, body = ask(server, "POST", path, ADD_SUB, {"Origin": own})
        assert status == 200 and add_sub_output(body) == [i + 1 for i in range(16)]
        # a preflight is never granted: no CORS header in any answer
        status, headers, _ = ask(
            server, "OPTIONS", path, None, {"Origin": EVIL, "Access-Control-Request-Method": "POST"}
        )
        assert status == 403 and not any(k.startswith("access-control") for k in headers)


def test_each_run_has_its_own_token_and_the_page_carries_it(triton):
    with running(triton.http_url) as first, running(triton.http_url) as second:
        assert first.token != second.token and len(first.token) >= 32
        status, headers, page = ask(first, "GET", "/", token=False)
        assert status == 200 and f'data-token="{first.token}"'.encode() in page
        assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_a_rebound_dns_name_gets_nothing(triton):
    """DNS rebinding: evil.example resolves to 127.0.0.1, so its page is same-origin with the playground; the
    Host header still names evil.example and the playground answers for its own address only."""
    with running(triton.http_url) as server:
        port = server.server_address[1]
        for path in ("/", "/app.js", "/pyotritonclient.whl", "/triton/v2"):
            status, _, body = ask(server, "GET", path, host=f"evil.example:{port}")
            assert status == 421 and server.token.encode() not in body, (path, status)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
            assert ask(server, "GET", "/", host=host)[0] == 200, host
        assert ask(server, "GET", "/", host=f"127.0.0.1:{port + 1}")[0] == 421  # another port: not us
        assert ask(server, "GET", "/", host="127.0.0.1")[0] == 421
    with running(triton.http_url, allowed_hosts=["playground.lab"]) as server:
        assert ask(server, "GET", "/", host=f"playground.lab:{server.server_address[1]}")[0] == 200


def test_a_non_loopback_address_says_what_it_exposes():
    assert exposure_warning("127.0.0.1") is None and exposure_warning("localhost") is None
    assert exposure_warning("::1") is None
    warning = exposure_warning("0.0.0.0")
    assert warning is not None and "every machine that can reach" in warning and "token" in warning


# -- what passes to Triton -------------------------------------------------------------------------------------


def test_model_control_is_off_unless_asked_for(triton):
    ensure_loaded(triton, "slow")
    try:
        with running(triton.http_url) as server:
            status, _, body = ask(server, "POST", "/triton/v2/repository/models/slow/unload", b"{}")
            assert status == 403 and b"--allow-model-control" in body
            assert model_state(triton, "slow") == "READY"
            assert b'data-model-control="off"' in ask(server, "GET", "/")[2]
        with running(triton.http_url, allow_model_control=True) as server:
            assert b'data-model-control="on"' in ask(server, "GET", "/")[2]
            assert ask(server, "POST", "/triton/v2/repository/models/slow/unload", b"{}")[0] == 200
            assert model_state(triton, "slow") in ("UNLOADING", "UNAVAILABLE")
            assert ask(server, "POST", "/triton/v2/repository/models/slow/load", b"{}")[0] == 200
            assert model_state(triton, "slow") == "READY"
            # files in a load request are code for Triton to run: never passed on
            files = json.dumps({"parameters": {"config": "{}", "file:1/model.py": "aW1wb3J0IG9z"}}).encode()
            status, _, body = ask(server, "POST", "/triton/v2/repository/models/pwned/load", files)
            assert status == 403 and b"file" in body
            assert model_state(triton, "pwned") == ""
    finally:
        ensure_loaded(triton, "slow")


def served(triton, path: str) -> bool:
    """Whether the real Triton answers 200 at ``path`` (GET)."""
    try:
        with urllib.request.urlopen(f"{triton.http_url}{path}", timeout=60) as answer:
            return answer.status == 200
    except urllib.error.HTTPError:
        return False


def hostile_model_files(marker) -> bytes:
    """A load body carrying a model whose code, when Triton runs it, writes ``marker``: proof of code execution."""
    code = (
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
        "class TritonPythonModel:\n    def execute(self, requests):\n        return []\n"
    )
    config = {
        "backend": "python",
        "input": [{"name": "X", "data_type": "TYPE_FP32", "dims": [1]}],
        "output": [{"name": "Y", "data_type": "TYPE_FP32", "dims": [1]}],
    }
    encoded = base64.b64encode(code.encode()).decode()
    return json.dumps({"parameters": {"config": json.dumps(config), "file:1/model.py": encoded}}).encode()


@pytest.mark.parametrize(
    "suffix", ["load?x=1", "load?", "load/", "load/?x=1", "lo%61d", "LOAD", "Load?x=1", "load%3Fx=1", "load;x=1"]
)
def test_no_spelling_of_the_load_target_passes_model_files_to_the_real_triton(triton, tmp_path, suffix):
    """Issue 37: the model-file refusal ran on the raw target, so ``/load?x=1`` passed ``file:`` parameters on
    to Triton. Whatever the spelling, no model file reaches the real Triton and no code of the caller runs."""
    marker = tmp_path / "ran"
    with running(triton.http_url, allow_model_control=True) as server:
        status, _, body = ask(
            server, "POST", f"/triton/v2/repository/models/pwned/{suffix}", hostile_model_files(marker)
        )
        assert status in (400, 403), (suffix, status, body)
        assert b"Traceback" not in body
    assert not served(triton, "/v2/models/pwned/ready")  # (a model loaded with files is not in the index)
    assert not marker.exists()


def test_the_hostile_load_body_is_code_that_the_real_triton_runs(triton, tmp_path):
    """The control for the test above: sent to Triton directly, the same body loads a model and runs its code
    (so a refusal above is the playground's doing, not a body Triton would not take)."""
    marker = tmp_path / "ran"
    request = urllib.request.Request(
        f"{triton.http_url}/v2/repository/models/pwned_control/load", data=hostile_model_files(marker), method="POST"
    )
    try:
        urllib.request.urlopen(request, timeout=120).read()
        assert marker.read_text() == "ran" and served(triton, "/v2/models/pwned_control/ready")
    finally:
        unload = f"{triton.http_url}/v2/repository/models/pwned_control/unload"
        urllib.request.urlopen(urllib.request.Request(unload, data=b"{}", method="POST"), timeout=60).read()
        # unloading is asynchronous and Triton answers "not ready" until it is done (a model loaded with files
        # is not in the repository index): wait for Triton's readiness before the next test
        deadline = time.monotonic() + 60
        while not served(triton, "/v2/health/ready") and time.monotonic() < deadline:
            time.sleep(0.1)


def test_only_the_inference_and_read_endpoints_pass(triton):
    with running(triton.http_url, allow_model_control=True) as server:
        for path, body in [
            ("/triton/v2/logging", b'{"log_file": "/tmp/x"}'),
            ("/triton/v2/trace/setting", b'{"trace_file": "/tmp/x"}'),
            ("/triton/v2/models/add_sub/trace/setting", b"{}"),
            ("/triton/v2/systemsharedmemory/region/r/register", b'{"key": "/k", "offset": 0, "byte_size": 8}'),
            ("/triton/v2/cudasharedmemory/region/r/register", b"{}"),
        ]:
            status, _, answer = ask(server, "POST", path, body)
            assert status == 403 and b"does not pass on" in answer, (path, status, answer)
        assert ask(server, "GET", "/triton/v2/logging")[0] == 403
        assert ask(server, "DELETE", "/triton/v2/models/add_sub")[0] == 403
        for path in ("/triton/v2", "/triton/v2/health/ready", "/triton/v2/models/add_sub/config",
                     "/triton/v2/models/add_sub", "/triton/v2/models/add_sub/versions/1/ready"):  # fmt: skip
            assert ask(server, "GET", path)[0] == 200, path
        assert ask(server, "POST", "/triton/v2/repository/index", b"{}")[0] == 200


@pytest.mark.parametrize(
    "target",
    [
        "/triton/v2/../v2/logging",
        "/triton/v2/%2e%2e/v2/logging",
        "/triton/v2/models/%2E%2E/infer",
        "/triton/v2/models/./config",
        "/triton//v2",
        "http://evil.example/triton/v2",
        "*",
        "/triton/v2\\..\\logging",
    ],
)
def test_request_targets_are_origin_form_and_never_navigate(triton, target):
    with running(triton.http_url) as server:
        status, _, body = ask(server, "GET", target)
        assert status == 400, (target, status, body)
        assert b"Traceback" not in body


class Recorder(LoopbackServer):
    """An upstream that records each request (line, headers, body) and answers 200 with a small JSON body,
    or with a broken answer when told to."""

    def __init__(self, broken: bool = False) -> None:
        self.requests: List[Tuple[str, Dict[str, str], bytes]] = []
        self.first_bytes = threading.Event()
        self.broken = broken
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        reader = connection.makefile("rb")
        line, headers = read_head(reader)
        body = b""
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            part = reader.read1(min(1 << 20, length - len(body)))
            if not part:
                break
            body += part
            self.first_bytes.set()
        self.requests.append((line, headers, body))
        if self.broken:  # headers, a tenth of the body, then the connection closes
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n0123456789"
            )
        else:
            answer = b'{"ok": true}'
            connection.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: upstream=1\r\n"
                b"Content-Length: " + str(len(answer)).encode() + b"\r\nConnection: close\r\n\r\n" + answer
            )
        reader.close()
        connection.shutdown(socket.SHUT_RDWR)
        connection.close()


def test_only_allowed_headers_pass_and_credentials_in_the_url_are_applied_by_the_proxy(capsys):
    upstream = Recorder()
    try:
        url = upstream.url.replace("http://", "http://alice:s%40cret@") + "/prefix"
        with running(url) as server:
            status, headers, _ = ask(
                server, "POST", "/triton/v2/models/m/infer", b"{}",
                {"Cookie": "session=1", "Authorization": "Bearer browser", "X-Forwarded-For": "1.2.3.4",
                 "X-Evil": "1", "Content-Type": "application/octet-stream", "Inference-Header-Content-Length": "2",
                 "Accept": "*/*"},
            )  # fmt: skip
            assert status == 200 and "set-cookie" not in headers
            assert "s@cret" not in server.describe() and "alice" not in server.describe()
        line, seen, _ = upstream.requests[-1]
        assert line == "POST /prefix/v2/models/m/infer HTTP/1.1"
        assert seen["host"] == upstream.url[len("http://") :]
        assert seen["authorization"] == "Basic YWxpY2U6c0BjcmV0"  # alice:s@cret, from --url, not the browser's
        assert "cookie" not in seen and "x-forwarded-for" not in seen and "x-evil" not in seen
        assert TOKEN_HEADER.lower() not in seen and "origin" not in seen
        assert seen["content-type"] == "application/octet-stream" and seen["inference-header-content-length"] == "2"
    finally:
        upstream.close()
