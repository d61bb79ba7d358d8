"""The wire's byte order for numpy: Triton's binary tensors are little-endian row-major bytes whatever the
machine's order; the one home of that rule for every module that turns arrays into wire bytes or back."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ..protocol.dtypes import get_dtype


@lru_cache(maxsize=256)
def little_endian(dtype: Any) -> np.dtype:
    """``dtype`` (a numpy dtype or its name) in the wire's byte order."""
    ordered: np.dtype = np.dtype(dtype).newbyteorder("<")
    return ordered


@lru_cache(maxsize=64)
def wire_dtype(datatype: str) -> np.dtype:
    """The numpy dtype of a fixed-size wire datatype's bytes (``"FP32"`` -> little-endian float32); ValueError
    for BYTES and BF16, which have no numpy dtype of their own on the wire."""
    numpy_name = get_dtype(datatype).numpy
    if numpy_name is None:
        raise ValueError(f"{datatype} has no numpy dtype on the wire")
    return little_endian(numpy_name)


@lru_cache(maxsize=256)
def native(dtype: Any) -> np.dtype:
    """``dtype`` in this machine's byte order (how numpy names and tables key it)."""
    ordered: np.dtype = np.dtype(dtype).newbyteorder("=")
    return ordered


def in_wire_order(array: np.ndarray) -> np.ndarray:
    """``array`` as C-contiguous little-endian (the very array when it is so already: no copy; on a big-endian
    machine native arrays are converted too)."""
    array = np.ascontiguousarray(array)
    wire = little_endian(array.dtype)
    if array.dtype != wire:
        array = array.astype(wire)
    return array


__all__ = ["in_wire_order", "little_endian", "native", "wire_dtype"]
