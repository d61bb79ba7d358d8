"""Every dtype family through the real Triton with the SERVER doing arithmetic (model arith_all): the expected
values come from Python arithmetic here, never from the client's own encoder or decoder."""

from __future__ import annotations

import numpy as np
import pytest

from pyotritonclient.http import InferInput, InferRequestedOutput

BITS = {"INT8": 8, "INT16": 16, "INT32": 32, "INT64": 64, "UINT8": 8, "UINT16": 16, "UINT32": 32, "UINT64": 64}
VALUES = {
    "BOOL": [True, False, True],
    "INT8": [-128, 127, 0, -4],
    "INT16": [-32768, 32767, 5],
    "INT32": [-(2**31), 2**31 - 1, 7],
    "INT64": [-(2**63), 2**63 - 1, -3],
    "UINT8": [0, 255, 252],
    "UINT16": [0, 65535, 9],
    "UINT32": [0, 2**32 - 1, 2**31],
    "UINT64": [0, 2**64 - 1, 2**63, 2**64 - 3],
    "FP16": [0.5, -2.0, 1024.0, 0.0009765625],
    "FP32": [0.5, -1.25, 3.0e38 / 4, 1e-3],
    "FP64": [0.5, -1.25, 1e300, 1e-3],
    "BYTES": [b"a\x00b", b"", "h\u00e9".encode(), bytes(range(256))],
}
NUMPY = {"BOOL": "bool", "FP16": "float16", "FP32": "float32", "FP64": "float64", "BYTES": "object"}


def expected(datatype, values):
    """What arith_all computes, done here with plain Python (floats in their own width with numpy scalars)."""
    if datatype == "BOOL":
        return [not v for v in values]
    if datatype == "BYTES":
        return [v[::-1] + b"#" + str(len(v)).encode() for v in values]
    if datatype.startswith("FP"):
        kind = getattr(np, NUMPY[datatype])
        return [float(kind(v) * kind(2) - kind(1)) for v in values]
    bits = BITS[datatype]
    wrapped = [(v + 3) % 2**bits for v in values]
    if datatype.startswith("INT"):
        wrapped = [w - 2**bits if w >= 2 ** (bits - 1) else w for w in wrapped]
    return wrapped


def input_for(datatype, values, binary):
    tensor = InferInput(f"IN_{datatype}", [len(values)], datatype)
    array = np.array(values, dtype=NUMPY.get(datatype, datatype.lower()))
    return tensor.set_data_from_numpy(array, binary_data=binary)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
async def test_the_server_computes_on_every_dtype(client, binary):
    datatypes = [d for d in VALUES if binary or d != "FP16"]  # FP16 travels only as binary data
    values = dict(VALUES, BYTES=VALUES["BYTES"] if binary else [b"ab", b"", b"x y"])  # JSON text is UTF-8
    inputs = [input_for(d, values[d], binary) for d in datatypes]
    outputs = [InferRequestedOutput(f"OUT_{d}", binary_data=binary) for d in datatypes]
    result = await client.infer("arith_all", inputs, outputs=outputs)
    for datatype in datatypes:
        got = result.as_numpy(f"OUT_{datatype}").tolist()
        want = expected(datatype, values[datatype])
        if datatype == "BYTES" and not binary:
            want = [w.decode() for w in want]  # BYTES sent as JSON come back as str, as with tritonclient
        assert got == want, datatype
        assert result.get_output(f"OUT_{datatype}")["datatype"] == datatype


async def test_the_same_without_numpy_buffers(client):
    """set_data_from_list / as_list (the numpy-free path) against the same server arithmetic."""
    for datatype in ("INT8", "UINT64", "FP32", "BYTES", "BOOL"):
        tensor = InferInput(f"IN_{datatype}", [len(VALUES[datatype])], datatype)
        tensor.set_data_from_list(VALUES[datatype], binary_data=True)
        result = await client.infer("arith_all", [tensor], outputs=[InferRequestedOutput(f"OUT_{datatype}")])
        got = result.as_list(f"OUT_{datatype}")
        want = expected(datatype, VALUES[datatype])
        if datatype == "FP32":
            assert got == pytest.approx(want, rel=1e-7), datatype
        else:
            assert got == want, datatype


def test_one_table_for_config_and_wire_names_both_ways():
    from pyotritonclient.protocol.dtypes import DTYPES, config_to_wire, wire_to_config

    assert wire_to_config("BYTES") == "TYPE_STRING" and wire_to_config("TYPE_STRING") == "TYPE_STRING"
    assert wire_to_config("FP32") == "TYPE_FP32" and config_to_wire("TYPE_BYTES") == "BYTES"
    for name in DTYPES:
        assert config_to_wire(wire_to_config(name)) == name
