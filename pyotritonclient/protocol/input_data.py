"""An input's data from flat Python values or raw wire bytes, checked against its datatype and shape: the
numpy-free ways to fill a ``TensorData`` (the client's ``set_data_from_list``/``set_data_from_buffer`` and
``values/`` both use them; utils/tensors.py is the numpy way)."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from ..errors import InvalidInputError
from .inference import BINARY_ONLY
from .tensors import Buffer, element_count, expected_nbytes, json_text, pack_values, unpack_values

Data = Tuple[Optional[Buffer], Optional[List[Any]]]


def list_data(name: str, shape: Sequence[int], datatype: str, values: Sequence[Any], binary: bool) -> Data:
    """(binary, json) data of input ``name`` from a flat list of bool/int/float (str or bytes for BYTES), one
    value per element of ``shape``; FP16/BF16 always binary (JSON cannot carry them)."""
    values = list(values)
    count = element_count(shape)
    if len(values) != count:
        raise InvalidInputError(f"input {name!r}: {len(values)} values but shape {list(shape)} has {count} elements")
    if binary or datatype in BINARY_ONLY:
        try:
            return memoryview(pack_values(datatype, values)), None
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(f"input {name!r}: {exc}") from None
    if datatype == "BYTES":
        try:
            return None, [json_text(value) for value in values]
        except ValueError as exc:
            raise InvalidInputError(f"input {name!r}: {exc}") from None
    return None, values


def buffer_data(name: str, shape: Sequence[int], datatype: str, buffer: Buffer, binary: bool) -> Data:
    """(binary, json) data of input ``name`` from its wire bytes (little-endian, row-major, BYTES
    length-prefixed), whose size must be what ``datatype`` and ``shape`` need; binary: a view, no copy."""
    if not isinstance(buffer, (bytes, bytearray, memoryview)):
        raise InvalidInputError(
            f"input {name!r}: set_data_from_buffer needs bytes, bytearray or memoryview, got {type(buffer).__name__}"
        )
    view = memoryview(buffer)
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B") if view.c_contiguous else memoryview(view.tobytes())
    expected = expected_nbytes(datatype, shape)
    if expected is not None and view.nbytes != expected:
        raise InvalidInputError(
            f"input {name!r}: {view.nbytes} bytes of data but {datatype} with shape {list(shape)} needs {expected}"
        )
    if not binary:
        return list_data(name, shape, datatype, unpack_values(datatype, view), binary=False)
    return view, None


__all__ = ["Data", "buffer_data", "list_data"]
