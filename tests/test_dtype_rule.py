"""One rule says which numpy arrays an input takes as they are (utils/tensors.takes): the client's
``set_data_from_numpy``, ``execute``'s general path and its compiled fast path all follow it, for every dtype
against every datatype and in both byte orders."""

from __future__ import annotations

import numpy as np
import pytest

from pyotritonclient.errors import InvalidInputError
from pyotritonclient.http import InferInput
from pyotritonclient.protocol.dtypes import DTYPES, WIRE_TO_CONFIG
from pyotritonclient.utils.tensors import takes
from pyotritonclient.values.compiled import CompiledInputs
from pyotritonclient.values.inputs import prepare_inputs

DTYPES_GIVEN = [
    np.dtype(name).newbyteorder(order)
    for name in ("bool", "u1", "u2", "u4", "u8", "i1", "i2", "i4", "i8", "f2", "f4", "f8")
    for order in "<>"
] + [np.dtype(object), np.dtype("S3"), np.dtype("<U3"), np.dtype(">U3")]


def _array(dtype: np.dtype) -> np.ndarray:
    if dtype.kind == "O":
        return np.array([b"ab", b"c"], dtype=object)
    if dtype.kind in "SU":
        return np.array(["ab", "c"], dtype=dtype)
    return np.ones(2, dtype=dtype)


def _client_takes(array: np.ndarray, datatype: str) -> bool:
    try:
        InferInput("x", [2], datatype).set_data_from_numpy(array)
    except InvalidInputError:
        return False
    return True


def _execute_takes(array: np.ndarray, datatype: str) -> bool:
    config = {"name": "m", "input": [{"name": "x", "data_type": WIRE_TO_CONFIG[datatype], "dims": [2]}]}
    try:
        (tensor,) = prepare_inputs(config, [array])
    except InvalidInputError:
        return False
    fast = CompiledInputs(config, np).fast_inputs([array])
    if fast is not None:  # the fast path takes a subset: what needs no work at all, and sends the same
        assert [bytes(t.binary) for t in fast] == [bytes(tensor.binary)]
    return True


@pytest.mark.parametrize("datatype", sorted(DTYPES))
def test_the_client_and_execute_take_the_same_arrays(datatype):
    for dtype in DTYPES_GIVEN:
        array = _array(dtype)
        rule = takes(dtype, datatype)
        assert _client_takes(array, datatype) == rule, (dtype.str, datatype)
        assert _execute_takes(array, datatype) == rule, (dtype.str, datatype)


def test_a_big_endian_array_is_sent_little_endian_by_execute():
    config = {"name": "m", "input": [{"name": "x", "data_type": "TYPE_INT32", "dims": [2]}]}
    (tensor,) = prepare_inputs(config, [np.array([1, 258], dtype=">i4")])
    assert bytes(tensor.binary) == np.array([1, 258], dtype="<i4").tobytes()
