"""Run Debian's nginx unprivileged on loopback: the docs' CORS proxy in front of Triton, and static files."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Dict, Optional

from pyotritonclient.testing.server import free_ports

ROOT = Path(__file__).resolve().parents[2]
DOCS_CONF = ROOT / "docs" / "nginx-cors.conf"


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if not found:
        raise RuntimeError("nginx is not installed: run scripts/ensure-extras (./dev test does)")
    return found


def docs_cors_server(listen_port: int, triton: str, upstream: str) -> str:
    """The docs' configuration with its two marked lines pointed at this test's ports."""
    text = DOCS_CONF.read_text()
    text = re.sub(r"server 127\.0\.0\.1:8000;", f"server {triton};", text)
    text = re.sub(r"listen 127\.0\.0\.1:8080;", f"listen 127.0.0.1:{listen_port};", text)
    return text.replace("triton_http", upstream)


class Nginx:
    """An nginx process with a config of our own; ``ports`` maps role -> port."""

    def __init__(self, workdir: Path, triton: str, static_root: Optional[Path] = None) -> None:
        self.workdir = Path(workdir)
        self.triton = triton
        self.static_root = static_root
        self.ports: Dict[str, int] = dict(zip(("cors", "plain", "hidden", "static"), free_ports(4)))
        self.process: Optional[subprocess.Popen] = None

    def config(self) -> str:
        w = self.workdir
        static = ""
        if self.static_root is not None:
            static = f"""
    server {{
        listen 127.0.0.1:{self.ports["static"]};
        root {self.static_root};
        location / {{ add_header Cache-Control no-store; }}
    }}"""
        # As root, workers would run as "nobody" and could not read the test's files: keep them as we are.
        user = "user root;" if os.geteuid() == 0 else ""
        return f"""
{user}
worker_processes 1;
pid {w}/nginx.pid;
error_log {w}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {w}/access.log;
    client_body_temp_path {w}/body;
    proxy_temp_path {w}/proxy;
    fastcgi_temp_path {w}/fastcgi;
    uwsgi_temp_path {w}/uwsgi;
    scgi_temp_path {w}/scgi;
    types {{
        text/html html; application/javascript js mjs; application/wasm wasm; application/json json;
        application/zip zip whl; text/plain txt py;
    }}
    default_type application/octet-stream;

    # 1. the documented CORS proxy
{docs_cors_server(self.ports["cors"], self.triton, "triton_cors")}

    # 2. a proxy WITHOUT CORS headers (what a browser sees of Triton itself)
    server {{
        listen 127.0.0.1:{self.ports["plain"]};
        location / {{ proxy_pass http://{self.triton}; proxy_buffering off; }}
    }}

    # 3. CORS without exposing Inference-Header-Content-Length (the client must find the JSON end)
    server {{
        listen 127.0.0.1:{self.ports["hidden"]};
        location / {{
            if ($request_method = OPTIONS) {{
                add_header Access-Control-Allow-Origin $http_origin always;
                add_header Access-Control-Allow-Methods "GET, POST, OPTIONS" always;
                add_header Access-Control-Allow-Headers
                    "Content-Type, Content-Encoding, Inference-Header-Content-Length" always;
                return 204;
            }}
            add_header Access-Control-Allow-Origin $http_origin always;
            proxy_hide_header Inference-Header-Content-Length;
            proxy_pass http://{self.triton};
        }}
    }}
{static}
}}
"""

    def start(self) -> Nginx:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / "nginx.conf"
        conf.write_text(self.config())
        self.process = subprocess.Popen(
            [nginx_binary(), "-c", str(conf), "-p", str(self.workdir), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.workdir / "stderr.log", "wb"),
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.workdir / 'stderr.log').read_text()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.ports['cors']}/v2/health/live", timeout=2)
                return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError("nginx did not start")

    def url(self, role: str) -> str:
        return f"http://127.0.0.1:{self.ports[role]}"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
