"""System (POSIX) shared memory regions for Triton's shared-memory extension, with tritonclient's functions.

    shm_handle = create_shared_memory_region("input_data", "/input_simple", byte_size)
    set_shared_memory_region(shm_handle, [input0, input1])
    await client.register_system_shared_memory("input_data", "/input_simple", byte_size)
    inputs[0].set_shared_memory("input_data", input0.nbytes)
    ...
    output = get_contents_as_numpy(out_handle, np.int32, [1, 16])     # a view on the region, no copy
    destroy_shared_memory_region(shm_handle)                              # unlinked: nothing left in /dev/shm

Built on ``multiprocessing.shared_memory``; the server must run on the same machine (it opens the same key).
Every offset and size is checked against the region before memory is touched. Not available in the browser.
"""

from __future__ import annotations

import sys
import warnings
from multiprocessing import shared_memory
from typing import Any, Dict, List, Sequence

import numpy as np

from ..errors import ProtocolError
from ..platform import IN_BROWSER
from ..protocol.tensors import check_shape, element_count, take_bytes

__all__ = [
    "SharedMemoryException",
    "SharedMemoryRegion",
    "create_shared_memory_region",
    "destroy_shared_memory_region",
    "get_contents_as_numpy",
    "mapped_shared_memory_regions",
    "set_shared_memory_region",
]


class SharedMemoryException(Exception):
    """A shared memory region could not be created, opened, written, read or destroyed."""


class SharedMemoryRegion:
    """A handle on one mapped region: ``triton_shm_name`` (for Triton), ``shm_key`` and ``byte_size``."""

    def __init__(self, triton_shm_name: str, shm_key: str, memory: shared_memory.SharedMemory) -> None:
        self.triton_shm_name = triton_shm_name
        self.shm_key = shm_key
        self._memory: Any = memory

    @property
    def byte_size(self) -> int:
        """The region's size in bytes (at least what was asked; the system may round it up)."""
        return int(self._mapped().size)

    def _mapped(self) -> shared_memory.SharedMemory:
        if self._memory is None:
            raise SharedMemoryException(f"shared memory region {self.shm_key!r} was destroyed")
        memory: shared_memory.SharedMemory = self._memory
        return memory

    def __repr__(self) -> str:
        state = "destroyed" if self._memory is None else f"{self._memory.size} bytes"
        return f"SharedMemoryRegion({self.triton_shm_name!r}, {self.shm_key!r}, {state})"


# key -> how many handles of this process have it mapped, and whether this process created it (and unlinks it)
_MAPPED: Dict[str, Dict[str, Any]] = {}


def _system_name(shm_key: str) -> str:
    """multiprocessing adds the leading '/' itself; Triton's examples write keys with one ("/input_simple")."""
    return shm_key.lstrip("/")


def create_shared_memory_region(
    triton_shm_name: str, shm_key: str, byte_size: int, create_only: bool = False
) -> SharedMemoryRegion:
    """Create the region ``shm_key`` of ``byte_size`` bytes, or map it if it exists (unless ``create_only``).

    A region that exists and is smaller than asked is mapped as it is, with a warning (as tritonclient does)."""
    if IN_BROWSER:
        raise SharedMemoryException("system shared memory is not available in the browser")
    for what, value in (("triton_shm_name", triton_shm_name), ("shm_key", shm_key)):
        if not isinstance(value, str) or not value.strip("/"):
            raise SharedMemoryException(f"{what} must be a non-empty str, got {value!r}")
    if isinstance(byte_size, bool) or not isinstance(byte_size, int) or byte_size <= 0:
        raise SharedMemoryException(f"byte_size must be a positive int, got {byte_size!r}")
    name = _system_name(shm_key)
    memory = None
    created = False
    if not create_only:
        try:
            memory = _attach(name, ours=_MAPPED.get(shm_key, {}).get("owner", False))
        except FileNotFoundError:
            memory = None
        except OSError as exc:
            raise SharedMemoryException(f"unable to open shared memory region {shm_key!r}: {exc}") from None
    if memory is None:
        try:
            memory = shared_memory.SharedMemory(name, create=True, size=byte_size)
        except OSError as exc:
            raise SharedMemoryException(f"unable to create shared memory region {shm_key!r}: {exc}") from None
        created = True
    entry = _MAPPED.setdefault(shm_key, {"handles": 0, "owner": False})
    entry["handles"] += 1
    entry["owner"] = entry["owner"] or created
    if memory.size < byte_size:
        warnings.warn(
            f"shared memory region {shm_key!r} exists with {memory.size} bytes, fewer than the {byte_size} asked",
            stacklevel=2,
        )
    return SharedMemoryRegion(triton_shm_name, shm_key, memory)


def _attach(name: str, ours: bool) -> shared_memory.SharedMemory:
    """Map an existing region. One another process made is kept from the resource tracker, which would unlink
    it when this process exits; one this process made stays tracked (until ``destroy`` unlinks it)."""
    if ours:
        return shared_memory.SharedMemory(name)
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name, track=False)  # type: ignore[call-arg,unused-ignore]
    memory = shared_memory.SharedMemory(name)
    try:
        from multiprocessing import resource_tracker

        resource_tracker.unregister(memory._name, "shared_memory")  # type: ignore[attr-defined]
    except Exception:
        pass
    return memory


def _check_span(shm_handle: SharedMemoryRegion, offset: int, size: int, what: str) -> None:
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise SharedMemoryException(f"offset must be a non-negative int, got {offset!r}")
    if offset + size > shm_handle.byte_size:
        raise SharedMemoryException(
            f"{what}: {size} bytes at offset {offset} do not fit region {shm_handle.shm_key!r} "
            f"of {shm_handle.byte_size} bytes"
        )


def set_shared_memory_region(shm_handle: SharedMemoryRegion, input_values: Sequence[Any], offset: int = 0) -> None:
    """Copy numpy arrays into the region one after another from ``offset``; an object array holding one
    ``bytes`` (what ``serialize_byte_tensor`` returns) is copied as those bytes."""
    if not isinstance(input_values, (list, tuple)):
        raise SharedMemoryException("input_values must be a list or tuple of numpy arrays")
    chunks = []
    for index, value in enumerate(input_values):
        if not isinstance(value, np.ndarray):
            raise SharedMemoryException(f"input_values[{index}] must be a numpy array, got {type(value).__name__}")
        if value.dtype == np.object_:
            if value.size != 1 or not isinstance(value.flat[0], (bytes, bytearray)):
                raise SharedMemoryException(
                    f"input_values[{index}]: an object array must hold one bytes (serialize_byte_tensor's result)"
                )
            chunks.append(np.frombuffer(bytes(value.flat[0]), dtype=np.uint8))
        else:
            chunks.append(value)
    total = sum(chunk.nbytes for chunk in chunks)
    _check_span(shm_handle, offset, total, "set_shared_memory_region")
    buffer = shm_handle._mapped().buf
    assert buffer is not None
    for chunk in chunks:
        view = np.ndarray(chunk.shape, dtype=chunk.dtype, buffer=buffer, offset=offset)
        view[...] = chunk
        offset += chunk.nbytes


def get_contents_as_numpy(shm_handle: SharedMemoryRegion, datatype: Any, shape: Sequence[int], offset: int = 0) -> Any:
    """The region's bytes from ``offset`` as an array of ``datatype`` and ``shape``: a view on the region for
    fixed-size types (valid while the region is mapped), decoded ``bytes`` items for object/bytes types."""
    try:  # the one shape rule and element count (protocol/tensors.py)
        dims = check_shape(shape, "get_contents_as_numpy")
    except ValueError as exc:
        raise SharedMemoryException(str(exc)) from None
    count = element_count(dims)
    dtype = np.dtype(datatype)
    buffer = shm_handle._mapped().buf
    assert buffer is not None
    if dtype != np.object_ and dtype.type is not np.bytes_:
        _check_span(shm_handle, offset, count * dtype.itemsize, "get_contents_as_numpy")
        return np.ndarray(dims, dtype=dtype, buffer=buffer, offset=offset)
    _check_span(shm_handle, offset, 0, "get_contents_as_numpy")
    try:  # the one BYTES framing (protocol/tensors.py), bounded by the region
        items, _ = take_bytes(buffer[: shm_handle.byte_size], count, offset)
    except ProtocolError as exc:
        raise SharedMemoryException(
            f"get_contents_as_numpy (a BYTES item) does not fit region {shm_handle.shm_key!r}: {exc}"
        ) from None
    array = np.empty(count, dtype=np.object_)
    array[:] = items
    return array.reshape(dims)


def mapped_shared_memory_regions() -> List[str]:
    """The keys of the regions this process has mapped and not yet destroyed."""
    return list(_MAPPED)


def destroy_shared_memory_region(shm_handle: SharedMemoryRegion) -> None:
    """Unmap the handle; the region is unlinked when its last handle here goes and this process created it.

    Arrays from ``get_contents_as_numpy`` that are still alive keep the memory mapped until they are gone
    (the name is unlinked all the same)."""
    memory = shm_handle._mapped()
    shm_handle._memory = None
    try:
        memory.close()
    except BufferError:
        pass  # views still exported: unmapped when they are collected
    entry = _MAPPED.get(shm_handle.shm_key)
    if entry is None:
        return
    entry["handles"] -= 1
    if entry["handles"] > 0:
        return
    del _MAPPED[shm_handle.shm_key]
    if entry["owner"]:
        try:
            memory.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise SharedMemoryException(
                f"unable to unlink shared memory region {shm_handle.shm_key!r}: {exc}"
            ) from None
