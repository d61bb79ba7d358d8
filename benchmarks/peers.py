"""The benchmark's peers in venvs of their own (cached): tritonclient with gRPC, and pyotritonclient 0.2.6.

``Peer(name).batch(...)`` forwards one measurement to a worker process (peer_worker.py) in that venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

from pyotritonclient.testing.server import cache_dir

HERE = Path(__file__).resolve().parent
VENVS = {  # venv name: what it installs
    "bench-tritonclient": ["tritonclient[http,grpc]==2.60.0", "numpy<2"],
    "bench-pyotritonclient-0.2.6": ["pyotritonclient==0.2.6", "numpy<2"],
}
CLIENTS = {
    "tritonclient.grpc": "bench-tritonclient",
    "tritonclient.grpc.aio": "bench-tritonclient",
    "pyotritonclient 0.2.6": "bench-pyotritonclient-0.2.6",
}


def checkout_of(revision: str) -> Path:
    """The tree of ``revision`` of this repository, exported once into the cache (for --baseline)."""
    root = HERE.parent
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", revision + "^{commit}"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = cache_dir() / "bench-checkouts" / commit
    if not (target / "pyotritonclient").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", commit, "pyotritonclient"], cwd=root, capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def ensure(venv_name: str) -> Path:
    """The venv's Python, installed on first use (stamped, so later runs only check)."""
    root = cache_dir() / venv_name
    python = root / "bin" / "python"
    wanted = " ".join(VENVS[venv_name])
    if (root / ".stamp").exists() and (root / ".stamp").read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *VENVS[venv_name]], check=True)
    (root / ".stamp").write_text(wanted)
    return python


class Peer:
    """A client measured in its own venv through a long-lived worker process."""

    def __init__(self, name: str, url: str, grpc_url: str, checkout: Optional[Path] = None) -> None:
        """``checkout``: run this repository's code from that tree (the dev venv's Python, PYTHONPATH set)."""
        self.name = name
        python = Path(sys.executable) if checkout is not None else ensure(CLIENTS[name])
        env = dict(os.environ)
        if checkout is not None:
            env["PYTHONPATH"] = os.pathsep.join([str(checkout), str(HERE)])
        self.process: Optional[subprocess.Popen[str]] = subprocess.Popen(
            [str(python), str(HERE / "peer_worker.py"), name, url, grpc_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=str(checkout or HERE),
        )

    async def batch(self, model: str, data: Dict[str, Any], count: int, in_flight: int) -> float:
        assert self.process is not None and self.process.stdin and self.process.stdout
        shape: List[int] = list(next(iter(data.values())).shape)
        command = {"model": model, "shape": shape, "count": count, "in_flight": in_flight}
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker stopped (see its output above)")
        return float(json.loads(line))

    def close(self) -> None:
        if self.process is not None:
            self.process.stdin.close()  # type: ignore[union-attr]
            self.process.wait(30)
            self.process = None
