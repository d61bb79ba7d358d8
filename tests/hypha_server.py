"""A real hypha server (its own venv, installed by scripts/ensure-extras), started on a loopback port."""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Optional

from pyotritonclient.testing.server import free_port_block


class HyphaServer:
    def __init__(
        self, cache_dir: Path, workdir: Path, port: Optional[int] = None, secret: str = "pyotritonclient-tests"
    ) -> None:
        self.python = cache_dir / "hypha-venv" / "bin" / "python"
        self.workdir = Path(workdir)
        self.port = port or free_port_block(1)
        self.process: Optional[subprocess.Popen] = None
        self.secret = secret  # the JWT signing secret: a new one invalidates every earlier connection

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> HyphaServer:
        if not self.python.exists():
            raise RuntimeError(f"hypha is not installed at {self.python}: run scripts/ensure-extras (./dev test does)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "hypha.log", "ab")
        # A fixed secret, as in any real deployment: tokens (and reconnections) survive a restart.
        env = dict(os.environ, HYPHA_JWT_SECRET=self.secret)
        self.process = subprocess.Popen(
            [str(self.python), "-m", "hypha.server", "--host=127.0.0.1", f"--port={self.port}"],
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
