"""Inputs shared by the client tests."""

from __future__ import annotations

import numpy as np

from pyotritonclient.http import InferInput


def add_sub_inputs(binary=True, dtype=np.int32, datatype="INT32"):
    a = np.arange(16, dtype=dtype)
    b = np.full(16, 3, dtype=dtype)
    inputs = [InferInput("INPUT0", [16], datatype), InferInput("INPUT1", [16], datatype)]
    inputs[0].set_data_from_numpy(a, binary_data=binary)
    inputs[1].set_data_from_numpy(b, binary_data=binary)
    return inputs, a, b
