"""numpy helpers with tritonclient.utils' names. numpy is imported here, never by the core."""

from __future__ import annotations

from typing import Any, NoReturn, Optional

import numpy as np

from ..errors import InferenceServerException
from ..protocol.dtypes import NUMPY_TO_WIRE, get_dtype
from ..protocol.inference import RESERVED_PARAMETER_PREFIX, RESERVED_PARAMETERS
from ..protocol.tensors import Buffer, deserialize_bytes, serialize_items
from .byte_order import native

TRITON_RESERVED_REQUEST_PARAMS = list(RESERVED_PARAMETERS)  # refused in infer's ``parameters``
TRITON_RESERVED_REQUEST_PARAMS_PREFIX = RESERVED_PARAMETER_PREFIX  # ...and every name starting with it

__all__ = [
    "TRITON_RESERVED_REQUEST_PARAMS",
    "TRITON_RESERVED_REQUEST_PARAMS_PREFIX",
    "raise_error",
    "serialized_byte_size",
    "InferenceServerException",
    "np_to_triton_dtype",
    "triton_to_np_dtype",
    "serialize_byte_tensor",
    "deserialize_bytes_tensor",
    "serialize_bf16_tensor",
    "deserialize_bf16_tensor",
]

_NP_TO_TRITON = {np.dtype(numpy_name): wire for numpy_name, wire in NUMPY_TO_WIRE.items()}


def np_to_triton_dtype(np_dtype: Any) -> Optional[str]:
    """numpy dtype (either byte order) -> Triton datatype; str/bytes/object arrays are BYTES; None if there is
    none."""
    dtype = np.dtype(np_dtype)
    if dtype.kind in ("O", "S", "U"):
        return "BYTES"
    return _NP_TO_TRITON.get(native(dtype))  # (a big-endian array has its datatype too: sent little-endian)


def triton_to_np_dtype(dtype: str) -> Any:
    """Triton datatype -> numpy dtype (BYTES -> object; BF16 -> float32; None if unknown, as tritonclient does)."""
    try:
        info = get_dtype(dtype)
    except ValueError:
        return None
    return np.object_ if info.variable else np.dtype(info.host).type


def serialize_byte_tensor(input_tensor: np.ndarray) -> np.ndarray:
    """A str/bytes/object array -> its length-prefixed wire form (row-major), as tritonclient returns it: a 0-d
    object array holding one ``bytes`` (``.item()``), or an empty object array for an empty tensor."""
    array = np.asarray(input_tensor)
    if array.size == 0:
        return np.empty([0], dtype=np.object_)
    if array.dtype.kind not in ("O", "S", "U"):
        raise InferenceServerException(f"cannot serialize a {array.dtype} array as BYTES")
    # tolist() gives bytes for "S", str for "U" and the objects themselves for "O" (numbers travel as their text)
    return np.asarray(serialize_items(array.reshape(-1).tolist(), lenient=True), dtype=np.object_)


def serialized_byte_size(tensor_value: np.ndarray) -> int:
    """The bytes held by an object array of ``bytes`` (what ``serialize_byte_tensor`` returns), row-major."""
    if not isinstance(tensor_value, np.ndarray) or tensor_value.dtype != np.object_:
        raise InferenceServerException("The tensor_value dtype must be np.object_")
    return sum(len(item) for item in tensor_value.flat)


def raise_error(msg: str) -> NoReturn:
    """Raise ``InferenceServerException(msg)`` (tritonclient's helper)."""
    raise InferenceServerException(msg=msg) from None


def deserialize_bytes_tensor(encoded_tensor: Buffer) -> np.ndarray:
    """The length-prefixed wire form -> a 1-D object array of bytes."""
    items = deserialize_bytes(encoded_tensor)
    out = np.empty(len(items), dtype=np.object_)
    out[:] = items
    return out


def serialize_bf16_tensor(input_tensor: np.ndarray) -> np.ndarray:
    """float32 array -> BF16 wire bytes (upper half of each float32, truncated), as a uint8 array."""
    array = np.ascontiguousarray(input_tensor, dtype=np.float32)
    return np.ascontiguousarray(array.view(np.uint32).__rshift__(16).astype("<u2")).view(np.uint8).ravel()


def deserialize_bf16_tensor(encoded_tensor: Buffer) -> np.ndarray:
    """BF16 wire bytes -> a 1-D float32 array."""
    halves = np.frombuffer(encoded_tensor, dtype="<u2")
    return (halves.astype("<u4") << 16).view(np.float32)
