"""A real, local Triton Inference Server for tests, demos and notebooks.

The server comes from the ``nvidia-pytriton`` wheel, which ships the ``tritonserver`` binary, its libraries,
the python backend and its stubs. It is installed into its own cached virtual environment (with ``numpy<2``:
the python backend of that build breaks with numpy 2), away from the client's environment.

    python -m pyotritonclient.testing.server install            # idempotent, cached
    python -m pyotritonclient.testing.server run MODEL_REPO     # serve until Ctrl-C

    with TritonServer("tests/models") as server:        # free ports, waits until ready, stops cleanly
        client = InferenceServerClient(server.url)
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from ..protocol.urls import redact_url

PYTRITON_VERSION = "0.7.0"
SERVER_PYTHON = "3.11"  # the python backend stub must match the server venv's Python
# What python-backend models may import besides numpy (msgpack: models written for serialization="imjoy").
SERVER_PACKAGES = ("numpy<2", "msgpack>=1.0")


# The header that Triton's restricted APIs want (``--http-restricted-api``/``--grpc-restricted-protocol``), with
# a random key per start: a web page cannot send a custom header cross-site without a CORS preflight (which
# Triton does not answer), and one that rebinds a DNS name to 127.0.0.1 cannot know the key.
ADMIN_HEADER = "triton-admin-key"
# What may write files, map memory or run code on the user's machine: always behind the key.
ADMIN_APIS = ("shared-memory", "logging", "trace")


def cache_dir() -> Path:
    """Where the server environment is installed (``$PYOTRITON_CACHE`` or ``~/.cache/pyotritonclient``)."""
    return Path(os.environ.get("PYOTRITON_CACHE", Path.home() / ".cache" / "pyotritonclient"))


class ServerInstallError(RuntimeError):
    """The Triton server could not be installed or found."""


class Installation:
    """Paths of an installed server: its venv, the copied server tree and the shared libraries."""

    def __init__(self, root: Optional[Path] = None) -> None:
        self.root = Path(root) if root else cache_dir()
        self.venv = self.root / "triton-venv"
        self.tree = self.root / f"triton-pytriton-{PYTRITON_VERSION}"
        self.stamp = self.tree / ".installed"

    @property
    def python(self) -> Path:
        """The server venv's Python (the python backend's stub finds numpy through it)."""
        return self.venv / "bin" / "python"

    @property
    def binary(self) -> Path:
        """The ``tritonserver`` executable."""
        return self.tree / "bin" / "tritonserver"

    @property
    def backends(self) -> Path:
        """The backends directory (python backend with its stub copied in)."""
        return self.tree / "backends"

    def site_packages(self) -> Path:
        """The server venv's site-packages (it holds the nvidia-pytriton files)."""
        found = sorted(self.venv.glob("lib/python3*/site-packages"))
        if not found:
            raise ServerInstallError(f"no site-packages under {self.venv}")
        return found[0]

    @property
    def libs(self) -> Path:
        """The shared libraries shipped with the wheel (``LD_LIBRARY_PATH``)."""
        return self.site_packages() / "nvidia_pytriton.libs"

    def installed(self) -> bool:
        """True when the installation is complete and stamped with the pinned version."""
        return (
            self.stamp.exists()
            and self.stamp.read_text() == _stamp_text()
            and self.binary.exists()
            and self.python.exists()
        )


def _stamp_text() -> str:
    return " ".join((PYTRITON_VERSION,) + SERVER_PACKAGES) + "\n"


def _find_python() -> str:
    for name in (f"python{SERVER_PYTHON}", "python3"):
        path = shutil.which(name)
        if path:
            out = subprocess.run(
                [path, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
            )
            if out.stdout.strip() == SERVER_PYTHON:
                return path
    if "{}.{}".format(*sys.version_info[:2]) == SERVER_PYTHON:
        return sys.executable
    raise ServerInstallError(f"the Triton server venv needs Python {SERVER_PYTHON}; none found on PATH")


def install(root: Optional[Path] = None, quiet: bool = True) -> Installation:
    """Install the server once into ``<cache>/triton-venv`` and ``<cache>/triton-pytriton-<v>``; idempotent."""
    inst = Installation(root)
    if inst.installed():
        return inst
    inst.root.mkdir(parents=True, exist_ok=True)
    if not inst.python.exists():
        subprocess.run([_find_python(), "-m", "venv", str(inst.venv)], check=True)
    pip = [str(inst.python), "-m", "pip", "install"] + (["-q"] if quiet else [])
    result = subprocess.run(
        pip + ["--no-deps", f"nvidia-pytriton=={PYTRITON_VERSION}", *SERVER_PACKAGES], capture_output=quiet, text=True
    )
    if result.returncode != 0:
        raise ServerInstallError(f"pip could not install nvidia-pytriton=={PYTRITON_VERSION}:\n{result.stderr}")
    source = inst.site_packages() / "pytriton" / "tritonserver"
    stub = source / "python_backend_stubs" / SERVER_PYTHON / "triton_python_backend_stub"
    if not (source / "bin" / "tritonserver").exists() or not stub.exists():
        raise ServerInstallError(f"the nvidia-pytriton wheel has no server or stub under {source}")
    if inst.tree.exists():
        shutil.rmtree(inst.tree)
    for part in ("bin", "backends", "caches"):
        if (source / part).exists():
            shutil.copytree(source / part, inst.tree / part, symlinks=True)
    shutil.copy2(stub, inst.backends / "python" / "triton_python_backend_stub")
    inst.stamp.write_text(_stamp_text())
    return inst


def free_ports(count: int = 1) -> List[int]:
    """``count`` distinct ports chosen by the kernel (each socket bound to port 0, all held at once, then
    released for the server that is about to bind them)."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def free_port_block(count: int = 3, start: int = 20000, end: int = 60000) -> int:
    """A base port P such that P..P+count-1 are all free on 127.0.0.1 right now (for callers that need
    consecutive ports; ``free_ports`` asks the kernel and is what this package's own servers use)."""
    import random

    for _ in range(200):
        base = random.randrange(start, end - count)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no block of free ports found")


class TritonServer:
    """A ``tritonserver`` process serving ``model_repository`` on free loopback ports.

    Safe from web pages by default (docs/security.md): every model of the repository is loaded at start and
    none can be loaded afterwards (``--model-control-mode=none``), and the shared-memory, logging and trace APIs
    want ``admin_headers`` (a random key per start). ``model_control=True`` allows load and unload
    (``explicit`` mode, every model loaded at start) and puts the model-repository API behind the key as well:
    a load with files is code that Triton runs. ``restricted_apis`` replaces the list of APIs behind the key
    (``()``: none, for a test suite that drives every endpoint itself)."""

    def __init__(
        self,
        model_repository: str | os.PathLike[str],
        http_port: Optional[int] = None,
        startup_timeout: float = 120.0,
        extra_args: Sequence[str] = (),
        log_path: Optional[str | os.PathLike[str]] = None,
        installation: Optional[Installation] = None,
        grpc_port: Optional[int] = None,
        metrics_port: Optional[int] = None,
        model_control: bool = False,
        restricted_apis: Optional[Sequence[str]] = None,
    ) -> None:
        self.model_repository = Path(model_repository).resolve()
        if not self.model_repository.is_dir():
            raise FileNotFoundError(f"model repository {self.model_repository} is not a directory")
        self.http_port = http_port
        # chosen by the kernel with the HTTP port; next to a given HTTP port unless given too
        self.grpc_port: Optional[int] = grpc_port
        self.metrics_port: Optional[int] = metrics_port
        self.startup_timeout = startup_timeout
        self.extra_args = list(extra_args)
        self.installation = installation
        self.log_path = Path(log_path) if log_path else None
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.model_control = model_control
        if restricted_apis is None:
            restricted_apis = (*ADMIN_APIS, "model-repository") if model_control else ADMIN_APIS
        self.restricted_apis = tuple(restricted_apis)
        self.admin_key = secrets.token_hex(16)

    @property
    def admin_headers(self) -> Dict[str, str]:
        """The header that the restricted APIs want (``headers=`` of a client, ``--header`` of the CLI)."""
        return {ADMIN_HEADER: self.admin_key}

    def _control_args(self) -> List[str]:
        mode = ["--model-control-mode=explicit", "--load-model=*"] if self.model_control else []
        args = mode or ["--model-control-mode=none"]
        if self.restricted_apis:
            restricted = f"{','.join(self.restricted_apis)}:{ADMIN_HEADER}={self.admin_key}"
            args += [f"--http-restricted-api={restricted}", f"--grpc-restricted-protocol={restricted}"]
        return args

    @property
    def url(self) -> str:
        """``host:port`` of the HTTP endpoint, as tritonclient's ``url`` argument expects."""
        if self.http_port is None:
            raise RuntimeError("the server is not started")
        return f"127.0.0.1:{self.http_port}"

    @property
    def http_url(self) -> str:
        """The HTTP endpoint as a full URL, ``http://127.0.0.1:<port>``."""
        return "http://" + self.url

    def log_errors(self, limit: int = 20) -> str:
        """The log's error lines (a bad model config is reported near the start, far from the tail)."""
        if self.log_path is None:
            return ""
        try:
            lines = Path(self.log_path).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        errors = [line for line in lines if line.startswith("E1") or "ERROR" in line or line.startswith("error:")]
        return ("errors in the log:\n" + "\n".join(errors[:limit]) + "\n--- log tail ---\n") if errors else ""

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log (for error messages)."""
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def start(self) -> TritonServer:
        """Start the server on free ports and wait until it is ready; raises with the log tail on failure."""
        inst = self.installation or install()
        if not inst.installed():
            raise ServerInstallError(f"Triton is not installed under {inst.root}: run install() first")
        if self.http_port is None:
            self.http_port, self.grpc_port, self.metrics_port = free_ports(3)
        else:
            self.grpc_port = self.grpc_port or self.http_port + 1
            self.metrics_port = self.metrics_port or self.http_port + 2
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="tritonserver-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(inst.libs), env.get("LD_LIBRARY_PATH")]))
        # The python backend stub imports numpy through the first python3 on PATH.
        env["PATH"] = os.pathsep.join([str(inst.venv / "bin"), env.get("PATH", "")])
        env.pop("PYTHONPATH", None)
        env.pop("PYTHONHOME", None)
        env["VIRTUAL_ENV"] = str(inst.venv)
        args = [
            str(inst.binary),
            f"--model-repository={self.model_repository}",
            f"--backend-directory={inst.backends}",
            f"--http-port={self.http_port}",
            f"--grpc-port={self.grpc_port}",
            f"--metrics-port={self.metrics_port}",
            "--http-address=127.0.0.1",
            "--grpc-address=127.0.0.1",
            "--allow-gpu-metrics=false",
            "--exit-timeout-secs=2",
            *self._control_args(),
            *self.extra_args,
        ]
        log = open(self.log_path, "wb")
        try:
            self.process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        url = self.http_url + "/v2/health/ready"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"tritonserver exited with code {self.process.returncode} while starting "
                    f"(log {self.log_path}):\n{self.log_errors()}{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)
        raise TimeoutError(
            f"tritonserver not ready at {redact_url(url)} after {self.startup_timeout}s "
            f"(log {self.log_path}):\n{self.log_errors()}{self.log_tail()}"
        )

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server and wait until it has exited (it holds its ports until then)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def __enter__(self) -> TritonServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: ``install`` the server environment, or ``run`` a model repository until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m pyotritonclient.testing.server", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="install the server into the cache (idempotent)")
    run = sub.add_parser("run", help="serve a model repository until interrupted")
    run.add_argument("model_repository")
    run.add_argument("--http-port", type=int, default=8000)
    run.add_argument("--allow-model-control", action="store_true", help="load/unload, with the admin header")
    args = parser.parse_args(argv)
    if args.command == "install":
        inst = install(quiet=True)
        print(f"Triton server ready to start: {inst.binary}")
        return 0
    with TritonServer(
        args.model_repository, http_port=args.http_port, model_control=args.allow_model_control
    ) as server:
        print(f"Triton serving {server.model_repository} at {server.http_url} (log {server.log_path}); Ctrl-C stops")
        print(f"  {', '.join(server.restricted_apis)} want the header {ADMIN_HEADER}: {server.admin_key}")
        try:
            while server.process and server.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
