"""The embedded real Triton: install is idempotent, start/stop frees the ports, failures are loud."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import urllib.request

import pytest

from pyotritonclient.testing.server import TritonServer, install


def port_is_free(port: int) -> bool:
    """Nobody listens on the port (a connection is refused)."""
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_install_is_idempotent_and_cached(triton_installation):
    stamped = triton_installation.stamp.stat().st_mtime_ns, triton_installation.binary.stat().st_mtime_ns
    again = install()
    # nothing was installed again: the stamp and the binary are the same files, untouched
    assert (again.stamp.stat().st_mtime_ns, again.binary.stat().st_mtime_ns) == stamped
    assert again.binary == triton_installation.binary and again.binary.exists()
    assert (again.backends / "python" / "triton_python_backend_stub").exists()
    out = subprocess.run(
        [sys.executable, "-m", "pyotritonclient.testing.server", "install"], capture_output=True, text=True
    )
    assert out.returncode == 0 and str(again.binary) in out.stdout


def test_start_and_stop_release_the_ports(tmp_path, models_dir, triton_installation):
    shutil.copytree(models_dir / "add_sub", tmp_path / "add_sub")
    with TritonServer(tmp_path, installation=triton_installation) as server:
        port, grpc, metrics = server.http_port, server.grpc_port, server.metrics_port
        with urllib.request.urlopen(server.http_url + "/v2/models/add_sub/ready", timeout=5) as response:
            assert response.status == 200
        assert not port_is_free(port)
    assert server.process is None
    assert port_is_free(port) and port_is_free(grpc) and port_is_free(metrics)
    # The same ports can be used again at once.
    with TritonServer(
        tmp_path, http_port=port, grpc_port=grpc, metrics_port=metrics, installation=triton_installation
    ) as again:
        assert again.url == f"127.0.0.1:{port}"


def test_a_broken_repository_fails_loudly_with_the_server_log(tmp_path, triton_installation):
    (tmp_path / "broken" / "1").mkdir(parents=True)
    (tmp_path / "broken" / "config.pbtxt").write_text('name: "broken"\nplatform: "no_such_platform"\n')
    with pytest.raises(RuntimeError, match="tritonserver exited") as info:
        TritonServer(tmp_path, installation=triton_installation).start()
    assert "broken" in str(info.value)


def test_a_missing_repository_is_refused():
    with pytest.raises(FileNotFoundError, match="not a directory"):
        TritonServer("/no/such/repository")


def test_the_old_import_path_still_works_with_a_warning():
    import importlib
    import sys
    import warnings

    sys.modules.pop("pyotritonclient.server", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module("pyotritonclient.server")
    from pyotritonclient.testing import TritonServer as New

    assert old.TritonServer is New
    assert any(
        issubclass(w.category, DeprecationWarning) and "pyotritonclient.testing" in str(w.message) for w in caught
    )
