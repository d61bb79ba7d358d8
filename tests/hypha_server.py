"""A real hypha server (its own venv, installed by scripts/ensure-extras), started on a loopback port."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Optional

from pyotritonclient.testing.server import free_ports


class HyphaServer:
    def __init__(
        self,
        cache_dir: Path,
        workdir: Path,
        port: Optional[int] = None,
        secret: str = "pyotritonclient-tests",
        deflate: bool = True,
        extra_args: tuple = (),
        env: Optional[dict] = None,
    ) -> None:
        self.python = cache_dir / "hypha-venv" / "bin" / "python"
        self.workdir = Path(workdir)
        self.port = port or free_ports(1)[0]
        self.process: Optional[subprocess.Popen] = None
        self.secret = secret  # the JWT signing secret: a new one invalidates every earlier connection
        self.deflate = deflate  # False: served by uvicorn with --ws-per-message-deflate false (docs/service.md)
        self.extra_args = tuple(extra_args)  # more hypha.server options (--startup-functions=..., --triton-servers=...)
        self.env = dict(env or {})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> HyphaServer:
        if not self.python.exists():
            raise RuntimeError(f"hypha is not installed at {self.python}: run scripts/ensure-extras (./dev test does)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "hypha.log", "ab")
        # A fixed secret, as in any real deployment: tokens (and reconnections) survive a restart.
        env = dict(os.environ, HYPHA_JWT_SECRET=self.secret, **self.env)
        command = [str(self.python), "-m", "hypha.server", "--host=127.0.0.1", f"--port={self.port}", *self.extra_args]
        if not self.deflate:
            command = [str(self.python), "-m", "uvicorn", "hypha.server:app", "--host", "127.0.0.1"]
            command += ["--port", str(self.port), "--ws-per-message-deflate", "false"]
        self.process = subprocess.Popen(
            command,
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"hypha exited: {self.log_tail()}")
            try:
                urllib.request.urlopen(self.url + "/assets/config.json", timeout=2)
                return self
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"hypha not ready at {self.url}: {self.log_tail()}") from None
                time.sleep(0.2)

    def log_tail(self) -> str:
        path = self.workdir / "hypha.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_service_cli(log: Path, hypha_url: str, triton_url: str, *options: str) -> subprocess.Popen:
    """The service's real command line, its output in ``log``."""
    import sys

    command = [sys.executable, "-m", "pyotritonclient.service", "--hypha-url", hypha_url, "--triton-url", triton_url]
    return subprocess.Popen([*command, *options], stdout=open(log, "w"), stderr=subprocess.STDOUT)


async def wait_for_line(process: subprocess.Popen, log: Path, text: str, timeout: float = 60) -> str:
    """Wait until ``text`` appears in the service's log; returns the service id of the last "registered" line."""
    import asyncio

    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert process.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, f"{text!r} not within {timeout} s:\n{log.read_text()[-3000:]}"
        await asyncio.sleep(0.2)
    return log.read_text().rsplit("registered ", 1)[1].split()[0]


async def ready_models(hypha_url: str, service_id: str) -> list:
    """A fresh caller's view: the ready models the service lists."""
    from hypha_rpc import connect_to_server

    client = await connect_to_server({"server_url": hypha_url})
    try:
        svc = await client.get_service(service_id)
        return [m["name"] for m in await svc.list_models(ready=True)]
    finally:
        await client.disconnect()
