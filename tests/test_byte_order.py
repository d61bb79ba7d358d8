"""The wire's byte order has one home (utils/byte_order.py, issue 35): every numpy-side module that makes wire
bytes or reads them (the client's InferInput/InferResult, the compiled inputs, the hypha service's ndarrays, the
playground's outputs) asks it, and big-endian arrays travel as little-endian bytes everywhere."""

from __future__ import annotations

import pathlib

import numpy as np

import pyotritonclient
from pyotritonclient.http import InferInput
from pyotritonclient.utils.byte_order import in_wire_order, little_endian, wire_dtype

PACKAGE = pathlib.Path(pyotritonclient.__file__).parent


def test_big_endian_arrays_become_little_endian_wire_bytes():
    big = np.arange(4, dtype=">i4")
    assert bytes(in_wire_order(big)) == np.arange(4, dtype="<i4").tobytes()
    same = np.arange(4, dtype="<f8")
    assert in_wire_order(same) is same  # already in order: no copy
    sent = InferInput("X", [4], "INT32").set_data_from_numpy(big)
    assert bytes(sent.to_wire().binary) == np.arange(4, dtype="<i4").tobytes()
    assert wire_dtype("FP32") == np.dtype("<f4") and little_endian("float64") == np.dtype("<f8")


def test_no_other_module_decides_the_byte_order():
    deciding = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if "newbyteorder" in path.read_text() and path.name != "byte_order.py"
    ]
    assert deciding == []
