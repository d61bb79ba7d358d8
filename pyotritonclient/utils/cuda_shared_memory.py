"""CUDA shared memory with tritonclient's function names: refused with the reason, this client has no CUDA.

Triton's CUDA shared-memory endpoints are on the client (``register_cuda_shared_memory`` with a raw handle you
made yourself); making and filling device buffers needs a CUDA device and CUDA bindings, which this package does
not bring. Every function here except ``allocated_shared_memory_regions`` raises ``CudaSharedMemoryException``
saying so, so that code written for tritonclient fails at the first call with a clear message.
"""

from __future__ import annotations

from typing import Any, List, NoReturn

__all__ = [
    "CudaSharedMemoryException",
    "allocated_shared_memory_regions",
    "as_shared_memory_tensor",
    "create_shared_memory_region",
    "destroy_shared_memory_region",
    "get_contents_as_numpy",
    "get_raw_handle",
    "set_shared_memory_region",
    "set_shared_memory_region_from_dlpack",
]

REASON = (
    "CUDA shared memory is not supported by pyotritonclient (no CUDA device access here); use system shared "
    "memory (pyotritonclient.utils.shared_memory) or send tensors in the request"
)


class CudaSharedMemoryException(Exception):
    """CUDA shared memory is not available."""


def _refuse(*_: Any, **__: Any) -> NoReturn:
    raise CudaSharedMemoryException(REASON)


def create_shared_memory_region(triton_shm_name: str, byte_size: int, device_id: int) -> NoReturn:
    """Refused: see the module's docstring."""
    _refuse()


def get_raw_handle(cuda_shm_handle: Any) -> NoReturn:
    """Refused: see the module's docstring."""
    _refuse()


def set_shared_memory_region(cuda_shm_handle: Any, input_values: Any) -> NoReturn:
    """Refused: see the module's docstring."""
    _refuse()


def set_shared_memory_region_from_dlpack(cuda_shm_handle: Any, input_values: Any) -> NoReturn:
    """Refused: see the module's docstring."""
    _refuse()


def get_contents_as_numpy(cuda_shm_handle: Any, datatype: Any, shape: Any) -> NoReturn:
    """Refused: see the module's docstring."""
    _refuse()


def as_shared_memory_tensor(cuda_shm_handle: Any, datatype: Any, shape: Any) -> NoReturn:
    """Refused: see the module's docstring."""
    _refuse()


def allocated_shared_memory_regions() -> List[str]:
    """None were allocated: an empty list."""
    return []


def destroy_shared_memory_region(cuda_shm_handle: Any) -> NoReturn:
    """Refused: see the module's docstring."""
    _refuse()
