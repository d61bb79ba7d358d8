"""Tensor payloads on the wire: element counts, size checks and BYTES length-prefixing.

BYTES tensors are sent as each element's length (4-byte little-endian) followed by its bytes.
"""

from __future__ import annotations

import struct
from typing import Iterable, List, Optional, Sequence, Union

from .dtypes import get_dtype

Buffer = Union[bytes, bytearray, memoryview]
_LEN = struct.Struct("<I")


class ProtocolError(ValueError):
    """Bytes that do not follow the Triton HTTP/REST binary protocol."""


def element_count(shape: Sequence[int]) -> int:
    """Number of elements of a tensor of ``shape`` (1 for a scalar shape ``[]``)."""
    count = 1
    for dim in shape:
        count *= int(dim)
    return count


def check_shape(shape: Sequence[int], name: str = "tensor") -> List[int]:
    """Shape as a list of non-negative ints; ValueError naming the tensor otherwise."""
    try:
        dims = [int(d) for d in shape]
    except (TypeError, ValueError):
        raise ValueError(f"input {name!r}: shape must be a sequence of integers, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise ValueError(f"input {name!r}: shape {dims} has a negative dimension")
    return dims


def expected_nbytes(datatype: str, shape: Sequence[int]) -> Optional[int]:
    """Byte size a fixed-size tensor must have; None for BYTES (variable length)."""
    dtype = get_dtype(datatype)
    if dtype.variable:
        return None
    return dtype.itemsize * element_count(shape)


def serialize_bytes(items: Iterable[Union[bytes, bytearray, memoryview, str]]) -> bytes:
    """Length-prefix each element (str is UTF-8 encoded); NULs and empty elements are kept."""
    out = bytearray()
    for item in items:
        if isinstance(item, str):
            item = item.encode("utf-8")
        elif not isinstance(item, (bytes, bytearray, memoryview)):
            raise TypeError(f"BYTES elements must be bytes or str, got {type(item).__name__}")
        data = memoryview(item).cast("B") if isinstance(item, memoryview) else item
        out += _LEN.pack(len(data))
        out += data
    return bytes(out)


def deserialize_bytes(buffer: Buffer, count: Optional[int] = None) -> List[bytes]:
    """Split a length-prefixed BYTES payload into its elements.

    ``count`` (when known from the shape) is checked; truncated or trailing data raises ProtocolError.
    """
    view = memoryview(buffer).cast("B")
    items: List[bytes] = []
    pos, end = 0, len(view)
    while pos < end:
        if pos + 4 > end:
            raise ProtocolError(f"BYTES tensor truncated: {end - pos} byte(s) left where a 4-byte length was expected")
        (length,) = _LEN.unpack_from(view, pos)
        pos += 4
        if pos + length > end:
            raise ProtocolError(f"BYTES element {len(items)} claims {length} bytes but only {end - pos} remain")
        items.append(bytes(view[pos : pos + length]))
        pos += length
    if count is not None and len(items) != count:
        raise ProtocolError(f"BYTES tensor has {len(items)} element(s), its shape says {count}")
    return items


def pack_values(datatype: str, values: Sequence[object]) -> bytes:
    """Flat Python values -> the tensor's wire bytes (no numpy; for small tensors and browsers)."""
    dtype = get_dtype(datatype)
    if dtype.variable:
        return serialize_bytes(values)  # type: ignore[arg-type]
    if dtype.name == "BF16":
        packed = struct.pack(f"<{len(values)}f", *values)
        return b"".join(packed[i + 2 : i + 4] for i in range(0, len(packed), 4))
    try:
        return struct.pack(f"<{len(values)}{dtype.struct}", *values)
    except struct.error as exc:
        raise ValueError(f"values do not fit {datatype}: {exc}") from None


def unpack_values(datatype: str, buffer: Buffer) -> List[object]:
    """A tensor's wire bytes -> flat Python values (BYTES -> list of bytes, BF16 -> floats)."""
    dtype = get_dtype(datatype)
    view = memoryview(buffer).cast("B")
    if dtype.variable:
        return list(deserialize_bytes(view))
    if len(view) % dtype.itemsize:
        raise ProtocolError(f"{len(view)} bytes is not a whole number of {datatype} elements")
    count = len(view) // dtype.itemsize
    if dtype.name == "BF16":
        halves = struct.unpack(f"<{count}H", view)
        return list(struct.unpack(f"<{count}f", struct.pack(f"<{count}I", *(h << 16 for h in halves))))
    return list(struct.unpack(f"<{count}{dtype.struct}", view))
