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
    "pyotritonclient.protocol.metadata": [
        "BINARY_TENSORS",
        "CONFIG_SOURCE",
        "Capabilities",
        "MODEL_CONFIGURATION",
        "MODEL_REPOSITORY",
        "SEQUENCES",
        "batches",
        "check_config",
        "config_from_metadata",
        "full_shape",
        "is_decoupled",
        "is_sequence_model",
        "takes_timeout",
        "tensor_summary",
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
    "pyotritonclient.api": [
        "CONFIG_RECHECK_SECONDS",
        "INFO_KEY",
        "Inputs",
        "close_clients",
        "execute",
        "execute_batch",
        "forget_config",
        "get_config",
        "list_models",
        "run_bounded",
        "ServerUrl",
        "server_base_url",
        "shared_client",
    ],
    "pyotritonclient.engine.pool": ["INDEX_TIMEOUT", "READY_TIMEOUT", "RECHECK_SECONDS", "Member", "ServerPool"],
    "pyotritonclient.playground": ["STATIC"],
    "pyotritonclient.playground.bridge": [
        "connect",
        "describe",
        "load",
        "np_to_wire",
        "run",
        "sequence",
        "stop",
        "stream",
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
        "MODEL_CONTROL",
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
    "pyotritonclient.engine.session": ["CONFIG_RECHECK_SECONDS", "Config", "INFO_KEY", "Session"],
    "pyotritonclient.engine.registry": ["close_sessions", "forget_config", "session_for"],
    "pyotritonclient.engine.executor": ["Executor"],
    "pyotritonclient.values.inputs": ["Inputs", "prepare_inputs"],
    "pyotritonclient.values.outputs": ["plain_for_rpc", "shape_outputs"],
    "pyotritonclient.values.specs": ["specs_from_values"],
    "pyotritonclient.values.compiled": ["CompiledInput", "CompiledInputs"],
    "pyotritonclient.engine.options": ["ExecuteOptions", "option_names", "rpc_options"],
    "pyotritonclient.sequence": ["SequenceExcutor", "SequenceExecutor", "new_sequence_id", "new_string_sequence_id"],
    "pyotritonclient.service": ["ServiceConfig", "ServiceError", "TritonService"],
    "pyotritonclient.service.startup": ["PREFIX", "StartupRefused", "config_from_env", "hypha_startup", "write_secret"],
    "pyotritonclient.testing": [
        "Installation",
        "ServerInstallError",
        "TritonServer",
        "cache_dir",
        "free_port_block",
        "free_ports",
        "install",
    ],
    "pyotritonclient.values.ndarray": [
        "NUMPY_TO_WIRE",
        "RawArray",
        "WIRE_TO_NUMPY",
        "bf16_to_float32",
        "encode",
        "is_ndarray",
        "numpy_or_none",
        "read",
    ],
    "pyotritonclient.values.browser": ["js_buffer", "with_js_buffers"],
    "pyotritonclient.values.codec": ["NDARRAY", "decode", "encode", "from_imjoy", "to_imjoy"],
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


# The import paths of 0.3's first releases, before the modules moved into their layer packages: each still
# imports (the same module, or for a split one a module that finds every name in the new ones) and still has
# every name it had.
MOVED = {
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
    "pyotritonclient.execution": [n for n in PUBLIC["pyotritonclient.api"] if n != "run_bounded"],
    "pyotritonclient.pool": PUBLIC["pyotritonclient.engine.pool"],
    "pyotritonclient.options": PUBLIC["pyotritonclient.engine.options"],
    "pyotritonclient.serialization": PUBLIC["pyotritonclient.values.codec"],
    "pyotritonclient.ndarray": [n for n in PUBLIC["pyotritonclient.values.ndarray"] if n != "numpy_or_none"]
    + PUBLIC["pyotritonclient.values.browser"],
    "pyotritonclient.session": [
        "CONFIG_RECHECK_SECONDS",
        "INFO_KEY",
        "Session",
        "close_sessions",
        "forget_config",
        "session_for",
    ],
    "pyotritonclient.loop_sessions": ["close_sessions", "forget_config", "session_for"],
    "pyotritonclient.model_io": [
        "Inputs",
        "check_config",
        "full_shape",
        "numpy_or_none",
        "plain_for_rpc",
        "prepare_inputs",
        "shape_outputs",
        "tensor_summary",
    ],
    "pyotritonclient.protocol.endpoints": ["base_url", "redact_url", "server_list"],
    "pyotritonclient.transport.fetch": ["FetchTransport"],
    "pyotritonclient.transport.xhr": ["SyncXHRTransport"],
    # issue 35's renames
    "pyotritonclient.engine.server": ["CONFIG_RECHECK_SECONDS", "Config", "INFO_KEY", "Session"],
    "pyotritonclient.transport.http11": ["Http11Transport"],
    "pyotritonclient.transport.http11_connection": ["BODY_STEP", "Connection"],
    "pyotritonclient.transport.browser.platform": ["IN_BROWSER", "js_module", "pyodide_ffi", "run_sync"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned_and_documented(module):
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == sorted(PUBLIC[module])
    for name in mod.__all__:
        value = getattr(mod, name)  # every listed name exists (lazy ones load)
        if inspect.isfunction(value) or inspect.isclass(value):
            assert (value.__doc__ or "").strip(), f"{module}.{name} has no docstring"


@pytest.mark.parametrize("old", sorted(MOVED))
def test_the_old_import_paths_still_work(old):
    import pyotritonclient

    module = importlib.import_module(old)
    for name in MOVED[old]:
        assert getattr(module, name) is not None, f"{old}.{name}"
    exec(f"from {old} import {', '.join(MOVED[old])}", {})  # the from-import form too
    target = pyotritonclient.MOVED[old.split(".", 1)[1]]
    if isinstance(target, str):  # moved whole: the very module, so monkeypatching either name is the same
        assert module is importlib.import_module(f"pyotritonclient.{target}")


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
    """pyproject's [tool.importlinter] contracts: the layers (front ends on top and independent of each other),
    protocol sans-I/O and numpy-free, transport numpy-free, no import cycle, private modules kept inside their
    package (docs/architecture.md)."""
    out = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0 and "Contracts: 8 kept, 0 broken" in out.stdout, out.stdout + out.stderr


def _package_files():
    return sorted((ROOT / "pyotritonclient").rglob("*.py"))


def test_no_private_name_is_imported_across_modules():
    """``from x import _name`` of the package's own modules, or ``module._name`` of an imported module: none."""
    import ast

    found = []
    for path in _package_files():
        tree = ast.parse(path.read_text(), str(path))
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("pyotritonclient")):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name}")
                    modules.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not found, found


def test_small_modules_in_visible_layers():
    """No module over 400 lines; each opens with a docstring saying its job; few modules at the top level."""
    long = {str(p.relative_to(ROOT)): n for p in _package_files() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
    undocumented = [
        str(p.relative_to(ROOT)) for p in _package_files() if p.stat().st_size and not p.read_text().startswith('"""')
    ]
    assert not undocumented, undocumented
    top = sorted(p.name for p in (ROOT / "pyotritonclient").glob("*.py"))
    assert top == [
        "__init__.py",
        "__main__.py",
        "api.py",
        "errors.py",
        "platform.py",
        "sequence.py",
        "server.py",
        "sync.py",
    ], top
