"""numpy arrays to and from the protocol's tensors: an input array as the binary or JSON data of a
``TensorData``, an ``OutputTensor`` as an array. The one conversion the client's ``InferInput``/``InferResult``
use (and that ``values/`` can use on protocol tensors without the client's classes)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import InvalidInputError
from ..protocol import inference as wire
from ..protocol.dtypes import get_dtype
from ..protocol.tensors import Buffer, json_text
from . import (
    deserialize_bf16_tensor,
    deserialize_bytes_tensor,
    np_to_triton_dtype,
    serialize_bf16_tensor,
    serialize_byte_tensor,
)
from .byte_order import in_wire_order, native, wire_dtype


@lru_cache(maxsize=512)
def takes(dtype: Any, datatype: str) -> bool:
    """THE rule of which numpy arrays an input of ``datatype`` takes as they are (no cast asked for): the
    datatype's own dtype in either byte order (sent little-endian), float32 for BF16, object/bytes/str arrays
    for BYTES. ``set_data_from_numpy`` and ``execute`` both follow it; ``execute``'s cast=True adds numpy's safe
    casts."""
    given = np.dtype(dtype)
    return np_to_triton_dtype(given) == datatype or native(given) == np.dtype(get_dtype(datatype).host)


def input_data(
    name: str, shape: Sequence[int], datatype: str, array: Any, binary: bool
) -> Tuple[Optional[Buffer], Optional[List[Any]]]:
    """(binary, json) data of input ``name`` from ``array``, whose dtype and shape must be the input's
    (InvalidInputError names what does not fit). Binary fixed-size data is a zero-copy view of a C-contiguous,
    little-endian array."""
    if not isinstance(array, np.ndarray):
        raise InvalidInputError(
            f"input {name!r}: set_data_from_numpy needs a numpy.ndarray, got {type(array).__name__}"
        )
    if not takes(array.dtype, datatype):
        given = np_to_triton_dtype(array.dtype)
        raise InvalidInputError(f"input {name!r}: got a {array.dtype} array ({given}), expected {datatype}")
    if list(array.shape) != list(shape):
        raise InvalidInputError(f"input {name!r}: got shape {list(array.shape)}, expected {list(shape)}")
    if binary:
        if datatype == "BYTES":
            packed = serialize_byte_tensor(array)
            return memoryview(packed.item() if packed.size else b""), None
        if datatype == "BF16":
            widened: Any = serialize_bf16_tensor(array)
            return memoryview(widened), None
        flat: Any = in_wire_order(array).reshape(-1).view(np.uint8)
        return memoryview(flat), None
    if datatype in wire.BINARY_ONLY:
        raise InvalidInputError(f"input {name!r}: {datatype} can only be sent as binary data (binary_data=True)")
    if datatype == "BYTES":
        try:
            return None, [json_text(item) for item in array.flat]
        except ValueError as exc:
            raise InvalidInputError(f"input {name!r}: {exc}") from None
    return None, array.reshape(-1).tolist()


def output_array(tensor: wire.OutputTensor) -> Optional[np.ndarray]:
    """An output as a numpy array (a zero-copy view for binary fixed-size outputs); None without data (an output
    written to shared memory)."""
    result: np.ndarray
    if tensor.binary is not None:
        if tensor.datatype == "BYTES":
            array = deserialize_bytes_tensor(tensor.binary)
        elif tensor.datatype == "BF16":
            array = deserialize_bf16_tensor(tensor.binary)
        else:
            array = np.frombuffer(tensor.binary, dtype=wire_dtype(tensor.datatype))
        result = array.reshape(tensor.shape)
        return result
    if tensor.json is None:
        return None
    if tensor.datatype == "BYTES":  # sent as JSON: str items (tritonclient's rule); binary ones are bytes
        items = np.empty(len(tensor.json), dtype=np.object_)
        items[:] = list(tensor.json)
        result = items.reshape(tensor.shape)
        return result
    result = np.array(tensor.json, dtype=get_dtype(tensor.datatype).numpy).reshape(tensor.shape)
    return result


__all__ = ["input_data", "output_array", "takes"]
