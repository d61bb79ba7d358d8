"""The public surface, pinned: a name added to or dropped from a public module's ``__all__`` must be a decision
(change it here, in the same commit, and say so in the changelog). Also the quality gates: typing and lint."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PUBLIC = {
    "pyotritonclient": [
        "ClientClosedError",
        "ExecuteOptions",
        "InferenceServerException",
        "InferenceServerTimeout",
        "InvalidInputError",
        "NoServerError",
        "SequenceExcutor",
        "SequenceExecutor",
        "SequenceLostError",
        "ServerError",
        "ServerPool",
        "Session",
        "UnavailableError",
        "UnsupportedError",
        "__version__",
        "close_clients",
        "execute",
        "execute_batch",
        "get_config",
        "list_models",
        "session_for",
    ],
    "pyotritonclient.http": [
        "InferAsyncRequest",
        "InferInput",
        "InferRequestedOutput",
        "InferResult",
        "InferenceServerClient",
        "InferenceServerClientPlugin",
        "InferenceServerException",
        "InferenceServerTimeout",
        "Request",
        "TRITON_RESERVED_REQUEST_PARAMS",
        "TRITON_RESERVED_REQUEST_PARAMS_PREFIX",
        "deserialize_bf16_tensor",
        "deserialize_bytes_tensor",
        "np_to_triton_dtype",
        "raise_error",
        "serialize_bf16_tensor",
        "serialize_byte_tensor",
        "serialized_byte_size",
        "triton_to_np_dtype",
    ],
    "pyotritonclient.http.auth": ["BasicAuth"],
    "pyotritonclient.http.aio": [
        "InferInput",
        "InferRequestedOutput",
        "InferResult",
        "InferenceServerClient",
        "InferenceServerClientPlugin",
        "InferenceServerException",
        "Request",
    ],
    "pyotritonclient.sync": ["InferAsyncRequest", "InferenceServerClient"],
    "pyotritonclient.errors": [
        "ClientClosedError",
        "InferenceServerException",
        "InferenceServerTimeout",
        "InvalidInputError",
        "NoServerError",
        "ProtocolError",
        "SequenceLostError",
        "ServerError",
        "UnavailableError",
        "UnsupportedError",
    ],
    "pyotritonclient.capabilities": [
        "BINARY_TENSORS",
        "CONFIG_SOURCE",
        "Capabilities",
        "MODEL_CONFIGURATION",
        "MODEL_REPOSITORY",
        "SEQUENCES",
        "config_from_metadata",
        "specs_from_values",
    ],
    "pyotritonclient.utils": [
        "TRITON_RESERVED_REQUEST_PARAMS",
        "TRITON_RESERVED_REQUEST_PARAMS_PREFIX",
        "raise_error",
        "serialized_byte_size",
        "InferenceServerException",
        "deserialize_bf16_tensor",
        "deserialize_bytes_tensor",
        "np_to_triton_dtype",
        "serialize_bf16_tensor",
        "serialize_byte_tensor",
        "triton_to_np_dtype",
    ],
    "pyotritonclient.execution": [
        "CONFIG_RECHECK_SECONDS",
        "INFO_KEY",
        "Inputs",
        "close_clients",
        "execute",
        "execute_batch",
        "forget_config",
        "get_config",
        "list_models",
        "ServerUrl",
        "server_base_url",
        "shared_client",
    ],
    "pyotritonclient.pool": ["INDEX_TIMEOUT", "READY_TIMEOUT", "RECHECK_SECONDS", "Member", "ServerPool"],
    "pyotritonclient.playground": ["STATIC"],
    "pyotritonclient.playground.bridge": [
        "connect",
        "describe",
        "load",
        "np_to_wire",
        "run",
        "sequence",
    ],
    "pyotritonclient.playground.page": [
        "DEFAULT_PYODIDE",
        "PINNED_INTEGRITY",
        "PYODIDE_SCRIPTS",
        "content_security_policy",
        "import_map",
        "integrity_of",
        "package_wheel",
        "render_page",
    ],
    "pyotritonclient.playground.guard": [
        "REQUEST_HEADERS",
        "RESPONSE_HEADERS",
        "TOKEN_HEADER",
        "Refused",
        "check_host",
        "check_load_body",
        "check_origin",
        "content_length",
        "endpoint_kind",
        "exposure_warning",
        "normalise_target",
    ],
    "pyotritonclient.playground.server": [
        "DEFAULT_MAX_BODY",
        "DEFAULT_PYODIDE",
        "PINNED_INTEGRITY",
        "TOKEN_HEADER",
        "Playground",
        "content_security_policy",
        "exposure_warning",
        "import_map",
        "integrity_of",
        "package_wheel",
        "render_page",
        "serve",
    ],
    "pyotritonclient.session": [
        "CONFIG_RECHECK_SECONDS",
        "INFO_KEY",
        "Session",
        "close_sessions",
        "forget_config",
        "session_for",
    ],
    "pyotritonclient.options": ["ExecuteOptions", "option_names", "rpc_options"],
    "pyotritonclient.sequence": ["SequenceExcutor", "SequenceExecutor", "new_sequence_id"],
    "pyotritonclient.service": ["ServiceConfig", "ServiceError", "TritonService"],
    "pyotritonclient.service.startup": ["PREFIX", "StartupRefused", "config_from_env", "hypha_startup"],
    "pyotritonclient.testing": [
        "Installation",
        "ServerInstallError",
        "TritonServer",
        "cache_dir",
        "free_port_block",
        "free_ports",
        "install",
    ],
    "pyotritonclient.ndarray": [
        "NUMPY_TO_WIRE",
        "RawArray",
        "WIRE_TO_NUMPY",
        "bf16_to_float32",
        "encode",
        "is_ndarray",
        "js_buffer",
        "read",
        "with_js_buffers",
    ],
    "pyotritonclient.serialization": ["NDARRAY", "decode", "encode", "from_imjoy", "to_imjoy"],
    "pyotritonclient.cli": ["main"],
    "pyotritonclient.utils.shared_memory": [
        "SharedMemoryException",
        "SharedMemoryRegion",
        "create_shared_memory_region",
        "destroy_shared_memory_region",
        "get_contents_as_numpy",
        "mapped_shared_memory_regions",
        "set_shared_memory_region",
    ],
    "pyotritonclient.utils.cuda_shared_memory": [
        "CudaSharedMemoryException",
        "allocated_shared_memory_regions",
        "as_shared_memory_tensor",
        "create_shared_memory_region",
        "destroy_shared_memory_region",
        "get_contents_as_numpy",
        "get_raw_handle",
        "set_shared_memory_region",
        "set_shared_memory_region_from_dlpack",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned_and_documented(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        value = getattr(mod, name)  # every listed name exists (lazy ones load)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert (value.__doc__ or "").strip(), f"{module}.{name} has no docstring"


def _tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_mypy_strict_is_clean():
    out = _tool("mypy")  # settings (strict, files) in pyproject.toml
    assert out.returncode == 0 and "Success" in out.stdout, out.stdout + out.stderr


def test_ruff_lint_and_format_are_clean():
    lint = _tool("ruff", "check", "pyotritonclient", "tests", "benchmarks", "examples")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _tool("ruff", "format", "--check", "pyotritonclient", "tests", "benchmarks", "examples")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


def test_the_import_contracts_hold():
    """pyproject's [tool.importlinter] contracts: protocol sans-I/O and numpy-free, transport below the client,
    front ends on top and independent of each other (docs/architecture.md)."""
    out = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and "Contracts: 4 kept, 0 broken" in out.stdout, out.stdout + out.stderr
