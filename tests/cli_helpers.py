"""Running the command line as users run it: piped (captured) or in a real terminal (a pty)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
import urllib.request
from typing import Callable, List, Optional

CLI = [sys.executable, "-m", "pyotritonclient"]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _env(url: Optional[str] = None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TRITON_URL", "FORCE_COLOR", "NO_COLOR", "COLUMNS")}
    if url:
        env["TRITON_URL"] = url
    env.update(extra)
    return env


def run(*args: str, url: Optional[str] = None, timeout: float = 60, **extra: str) -> subprocess.CompletedProcess:
    """The command, piped (stdout and stderr captured)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=_env(url, **extra))


def run_in_terminal(
    args: List[str],
    url: str,
    *,
    columns: int = 110,
    timeout: float = 90,
    watch: Optional[Callable[[str, subprocess.Popen], None]] = None,
) -> tuple:
    """The command with a pseudo-terminal as stdin/stdout/stderr: everything it drew, as raw text."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = _env(url, TERM="xterm-256color")
    process = subprocess.Popen([*CLI, *args], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    chunks: List[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            if time.monotonic() > deadline:
                raise AssertionError(
                    "the command did not finish in time:\n" + b"".join(chunks).decode(errors="replace")
                )
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's other side closed (the process exited)
                break
            if not data:
                break
            chunks.append(data)
            if watch is not None:
                watch(b"".join(chunks).decode(errors="replace"), process)
        process.wait(20)
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return process.returncode, b"".join(chunks).decode(errors="replace")


def _get(url: str, path: str) -> object:
    with urllib.request.urlopen(f"http://{url}{path}", timeout=10) as response:
        return json.loads(response.read())


def _tsv(text: str) -> List[List[str]]:
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]
