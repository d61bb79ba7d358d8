"""Our public surface against tritonclient's, name by name: the module, the client's methods and their keyword
arguments, the tensor classes, utils and its shared-memory modules. What we leave out on purpose is listed in
DIFFERENCES (and in docs/client.md, which this test also checks); anything else missing fails."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest
import tritonclient.http as peer_http
import tritonclient.utils as peer_utils

import pyotritonclient.http as ours_http
import pyotritonclient.utils as ours_utils

ROOT = Path(__file__).resolve().parent.parent

# name -> why it is not there. Each must be named in docs/client.md's "Differences from tritonclient" section.
DIFFERENCES = {
    "SharedMemoryTensor": "a DLPack view for CUDA shared memory, which this client does not offer",
    "InferResult.__init__(verbose)": "results are made by the client or by InferResult.from_response_body",
    "InferAsyncRequest.__init__(greenlet)": "made by async_infer around an asyncio task, not a greenlet",
    "InferAsyncRequest.__init__(verbose)": "made by async_infer",
}
CUDA_SHARED_MEMORY_2_73 = {
    "CudaSharedMemoryException": [],
    "allocated_shared_memory_regions": [],
    "as_shared_memory_tensor": ["cuda_shm_handle", "datatype", "shape"],
    "create_shared_memory_region": ["triton_shm_name", "byte_size", "device_id"],
    "destroy_shared_memory_region": ["cuda_shm_handle"],
    "get_contents_as_numpy": ["cuda_shm_handle", "datatype", "shape"],
    "get_raw_handle": ["cuda_shm_handle"],
    "set_shared_memory_region": ["cuda_shm_handle", "input_values"],
    "set_shared_memory_region_from_dlpack": ["cuda_shm_handle", "input_values"],
}
# Names newer tritonclient releases added (2.73) that we offer too, beyond the version installed for the tests.
NEWER = {"http": ["TRITON_RESERVED_REQUEST_PARAMS", "TRITON_RESERVED_REQUEST_PARAMS_PREFIX"]}


def _public(obj):
    return {n for n in dir(obj) if not n.startswith("_") and not inspect.ismodule(getattr(obj, n))}


def _params(fn):
    return list(inspect.signature(fn).parameters) if inspect.isfunction(fn) else []


def _missing(theirs, ours, prefix=""):
    return sorted(f"{prefix}{n}" for n in theirs - ours if f"{prefix}{n}" not in DIFFERENCES)


def test_module_names():
    assert _missing(_public(peer_http) | set(NEWER["http"]), _public(ours_http)) == []
    assert _missing(_public(peer_utils) | set(NEWER["http"]), _public(ours_utils)) == []
    assert _missing(set(ours_http.__all__), _public(ours_http)) == []


@pytest.mark.parametrize(
    "name", ["InferenceServerClient", "InferInput", "InferRequestedOutput", "InferResult", "InferAsyncRequest"]
)
def test_class_members_and_keyword_arguments(name):
    theirs, ours = getattr(peer_http, name), getattr(ours_http, name)
    assert _missing(_public(theirs), _public(ours), f"{name}.") == []
    mismatched = []
    for member in sorted(_public(theirs) | {"__init__"}):
        their_fn, our_fn = getattr(theirs, member, None), getattr(ours, member, None)
        if not callable(their_fn) or not callable(our_fn) or inspect.isclass(their_fn):
            continue
        their_params = [p for p in inspect.signature(their_fn).parameters if p not in ("self", "cls")]
        our_params = set(inspect.signature(our_fn).parameters)
        if "kwargs" in our_params:
            continue
        absent = [p for p in their_params if p not in our_params and f"{name}.{member}({p})" not in DIFFERENCES]
        if absent:
            mismatched.append(f"{name}.{member}: {absent}")
    assert mismatched == []


@pytest.mark.parametrize("module", ["shared_memory", "cuda_shared_memory"])
def test_shared_memory_modules(module):
    try:
        theirs = importlib.import_module(f"tritonclient.utils.{module}")
        public = {
            n for n in _public(theirs) if getattr(getattr(theirs, n), "__module__", "").startswith("tritonclient")
        }
        signatures = {n: _params(getattr(theirs, n)) for n in public}
    except (ImportError, RuntimeError):  # tritonclient's CUDA helpers need cuda-python: its 2.73 names, recorded
        signatures = CUDA_SHARED_MEMORY_2_73
        public = set(signatures)
    ours_module = importlib.import_module(f"pyotritonclient.utils.{module}")
    assert _missing(public, _public(ours_module), f"{module}.") == []
    for name in sorted(public & _public(ours_module)):
        ours_fn = getattr(ours_module, name)
        if inspect.isfunction(ours_fn):
            assert signatures[name] == list(inspect.signature(ours_fn).parameters), name


def test_every_difference_is_documented():
    text = (ROOT / "docs" / "client.md").read_text()
    section = text[text.index("## Differences from tritonclient") :]
    for name in DIFFERENCES:
        argument = re.search(r"\((\w+)\)$", name)
        short = argument.group(1) if argument else name.split(".")[-1]
        assert f"`{short}`" in section, name
