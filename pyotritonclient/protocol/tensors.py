"""Tensor payloads on the wire: element counts, size checks and BYTES length-prefixing.

BYTES tensors are sent as each element's length (4-byte little-endian) followed by its bytes.
"""

from __future__ import annotations

import struct
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Union, cast

from ..errors import ProtocolError  # (one error family: errors.py)
from .dtypes import DTYPES, get_dtype

Buffer = Union[bytes, bytearray, memoryview]
_LEN = struct.Struct("<I")


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


def expected_shape(dims: Sequence[Any], batching: bool) -> Tuple[int, ...]:
    """The shape a model's tensor has on the wire: its config's ``dims``, with -1 first for a batching model."""
    return ((-1,) if batching else ()) + tuple(int(d) for d in dims)


def fit_shape(shape: Sequence[int], expected: Sequence[int], batching: bool) -> Optional[Tuple[int, ...]]:
    """THE shape rule: ``shape`` as the model takes it, or None when it does not fit ``expected`` (-1 matches
    any size). A batching model's single item (one dimension short) gets the batch dimension 1."""
    if batching and len(shape) == len(expected) - 1:
        shape = (1, *shape)
    if len(shape) != len(expected):
        return None
    for want, got in zip(expected, shape):
        if want != got and want != -1:
            return None
    return tuple(shape)


def expected_nbytes(datatype: str, shape: Sequence[int]) -> Optional[int]:
    """Byte size a fixed-size tensor must have; None for BYTES (variable length)."""
    dtype = DTYPES.get(datatype) or get_dtype(datatype)
    if dtype.variable:
        return None
    return dtype.itemsize * element_count(shape)


def serialize_bytes(items: Iterable[Union[bytes, bytearray, memoryview, str]]) -> bytes:
    """Length-prefix each element (str is UTF-8 encoded); NULs and empty elements are kept."""
    return serialize_items(items, lenient=False)


def _element(item: Any, lenient: bool) -> bytes:
    """One BYTES element that is not ``bytes`` already -> bytes (``lenient``: other objects as their text)."""
    if isinstance(item, str):
        return item.encode("utf-8")
    if isinstance(item, (bytes, bytearray)):
        return bytes(item)
    if isinstance(item, memoryview):
        return item.cast("B").tobytes() if item.c_contiguous else item.tobytes()
    if lenient:
        return str(item).encode("utf-8")
    raise TypeError(f"BYTES elements must be bytes or str, got {type(item).__name__}")


def serialize_items(items: Iterable[Any], lenient: bool) -> bytes:
    """Length-prefix each element; ``lenient`` turns other objects into their text (tritonclient.utils' rule)."""
    pack, parts = _LEN.pack, cast(List[bytes], [])
    append = parts.append
    for item in items:
        if type(item) is not bytes:
            item = _element(item, lenient)
        append(pack(len(item)))
        append(item)
    return b"".join(parts)


_COPY_LIMIT = 16 << 20  # BYTES payloads up to this size are split from one copy (twice as fast); larger in place


def deserialize_bytes(buffer: Buffer, count: Optional[int] = None) -> List[bytes]:
    """Split a length-prefixed BYTES payload into its elements.

    ``count`` (when known from the shape) is checked; truncated or trailing data raises ProtocolError.
    """
    items, _ = take_bytes(buffer, None)
    if count is not None and len(items) != count:
        raise ProtocolError(f"BYTES tensor has {len(items)} element(s), its shape says {count}")
    return items


def take_bytes(buffer: Buffer, count: Optional[int], start: int = 0) -> Tuple[List[bytes], int]:
    """THE BYTES framing read: ``count`` length-prefixed elements from ``start`` (all up to the end when None)
    and where they end; ProtocolError when a length or an element runs past the buffer."""
    view = memoryview(buffer).cast("B")
    end = len(view)
    data: Any = buffer if type(buffer) is bytes else (view.tobytes() if end <= _COPY_LIMIT else view)
    whole = type(data) is bytes
    items: List[bytes] = []
    append, unpack = items.append, _LEN.unpack_from
    pos = start
    while pos < end if count is None else len(items) < count:
        if pos + 4 > end:
            raise ProtocolError(f"BYTES tensor truncated: {end - pos} byte(s) left where a 4-byte length was expected")
        stop = pos + 4 + unpack(data, pos)[0]
        if stop > end:
            raise ProtocolError(
                f"BYTES element {len(items)} claims {stop - pos - 4} bytes but only {end - pos - 4} remain"
            )
        append(data[pos + 4 : stop] if whole else bytes(data[pos + 4 : stop]))
        pos = stop
    return items, pos


def json_text(item: Any) -> str:
    """A BYTES element as Triton's JSON tensor format carries it: a str as it is, bytes decoded as UTF-8
    (ValueError when they are not UTF-8: such an element can only travel as binary data), anything else as its
    text."""
    if isinstance(item, (bytes, bytearray)):
        try:
            return bytes(item).decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"BYTES element {bytes(item)[:20]!r} is not UTF-8; send it as binary data") from None
    return item if isinstance(item, str) else str(item)


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


def widen_bf16(data: Buffer) -> bytes:
    """BF16 values (the upper halves of float32s) widened to float32 bytes, little-endian."""
    view = memoryview(data).cast("B")
    out = bytearray(len(view) * 2)
    out[2::4] = view[0::2]
    out[3::4] = view[1::2]
    return bytes(out)


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
        return list(struct.unpack(f"<{count}f", widen_bf16(view)))
    return list(struct.unpack(f"<{count}{dtype.struct}", view))
