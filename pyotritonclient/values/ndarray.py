"""The ndarray encoding of ImJoy and hypha RPC (``{_rtype: "ndarray", _rvalue, _rshape, _rdtype}``), without numpy.

JavaScript callers send arrays in this form; imjoy-rpc hands it to Python undecoded when numpy is absent
(Pyodide without numpy), and decodes it into an array otherwise. ``read`` checks one such value (every length
before any copy: the value comes from an RPC caller) and returns a ``RawArray``; ``encode`` makes one from raw
tensor bytes, for answers that must travel back without numpy.
"""

from __future__ import annotations

from collections import abc
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Sequence

from ..errors import InvalidInputError
from ..protocol.dtypes import NUMPY_TO_WIRE, WIRE_TO_NUMPY
from ..protocol.tensors import expected_nbytes, widen_bf16

MAX_DIMS = 32  # numpy 1.x's limit (2.x's is 64): an array of more cannot be made everywhere
MAX_ELEMENTS = 2**40  # the product of the dimensions (zeros counted as 1): what numpy can index on 64 bits, /8


@dataclass(frozen=True)
class RawArray:
    """A fixed-size tensor as Triton's wire wants it: little-endian, row-major bytes."""

    datatype: str  # Triton wire name, e.g. "FP32"
    shape: List[int]
    data: memoryview


def is_ndarray(value: Any) -> bool:
    """True for a value in the RPC ndarray encoding (a mapping whose ``_rtype`` is ``"ndarray"``)."""
    return isinstance(value, abc.Mapping) and value.get("_rtype") == "ndarray"


def _as_bytes(value: Any, name: str, expected: int) -> memoryview:
    """``_rvalue`` as one contiguous buffer: bytes-like, or a list of chunks (imjoy-rpc's long arrays)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        view = memoryview(value)
        return view.cast("B") if view.c_contiguous and (view.ndim != 1 or view.format != "B") else view
    if isinstance(value, (list, tuple)) and all(isinstance(c, (bytes, bytearray, memoryview)) for c in value):
        total = sum(memoryview(c).nbytes for c in value)
        if total != expected:  # checked before joining: nothing is allocated for a wrong length
            raise InvalidInputError(
                f"input {name!r}: the ndarray holds {total} bytes, its shape and dtype need {expected}"
            )
        return memoryview(b"".join(bytes(c) for c in value))
    raise InvalidInputError(f"input {name!r}: ndarray _rvalue must be bytes, got {type(value).__name__}")


def read(value: Mapping[str, Any], name: str) -> RawArray:
    """Check an encoded ndarray and return it as a ``RawArray``; ``InvalidInputError`` says what is wrong."""
    dtype = value.get("_rdtype")
    datatype = NUMPY_TO_WIRE.get(dtype) if isinstance(dtype, str) else None
    if datatype is None:
        raise InvalidInputError(
            f"input {name!r}: ndarray dtype {dtype!r} is not one Triton takes; expected one of {sorted(NUMPY_TO_WIRE)}"
        )
    shape = value.get("_rshape")
    if not isinstance(shape, (list, tuple)) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise InvalidInputError(
            f"input {name!r}: ndarray _rshape must be a list of non-negative ints, got {str(shape)[:80]}"
        )
    if len(shape) > MAX_DIMS:
        raise InvalidInputError(f"input {name!r}: ndarray _rshape has {len(shape)} dimensions, at most {MAX_DIMS}")
    elements = 1
    for dim in shape:
        elements *= max(dim, 1)  # (a zero dimension still makes an array that must fit)
        if elements > MAX_ELEMENTS:
            raise InvalidInputError(f"input {name!r}: ndarray _rshape {str(list(shape))[:80]} is too large")
    expected = expected_nbytes(datatype, shape) or 0
    data = _as_bytes(value.get("_rvalue"), name, expected)
    if data.nbytes != expected:
        raise InvalidInputError(
            f"input {name!r}: the ndarray holds {data.nbytes} bytes, "
            f"but {dtype} with shape {list(shape)} needs {expected}"
        )
    return RawArray(datatype, [int(d) for d in shape], data)


def bf16_to_float32(data: memoryview) -> bytes:
    """BF16 values (the upper halves of float32s) widened to float32 bytes, little-endian."""
    return widen_bf16(data)


def encode(datatype: str, shape: Sequence[int], data: Any) -> Dict[str, Any]:
    """Raw wire bytes of a fixed-size tensor as an RPC ndarray (BF16 widened to float32)."""
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    if datatype == "BF16":
        return {
            "_rtype": "ndarray",
            "_rvalue": bf16_to_float32(memoryview(view)),
            "_rshape": list(shape),
            "_rdtype": "float32",
        }
    return {"_rtype": "ndarray", "_rvalue": bytes(view), "_rshape": list(shape), "_rdtype": WIRE_TO_NUMPY[datatype]}


def numpy_or_none() -> Any:
    """numpy, or None where it is not installed (then inputs and outputs take their numpy-free forms)."""
    try:
        import numpy
    except ImportError:
        return None
    return numpy


__all__ = [
    "NUMPY_TO_WIRE",
    "RawArray",
    "WIRE_TO_NUMPY",
    "bf16_to_float32",
    "encode",
    "is_ndarray",
    "numpy_or_none",
    "read",
]
