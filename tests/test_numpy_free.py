"""The high-level API and the service without numpy (Pyodide where numpy cannot be had), against the real Triton.

Each check runs in a fresh interpreter in which ``import numpy`` fails; inputs are RPC ndarrays, text and
lists; expected values are written here by hand.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, struct, sys
    sys.modules["numpy"] = None  # import numpy -> ImportError
    from pyotritonclient import execute
    from pyotritonclient.errors import InvalidInputError
    from pyotritonclient.service import ServiceConfig, TritonService

    URL = sys.argv[1]

    def nd(fmt, values, shape, dtype):
        data = struct.pack("<%d%s" % (len(values), fmt), *values)
        return {"_rtype": "ndarray", "_rvalue": data, "_rshape": shape, "_rdtype": dtype}

    async def main():
        out = {}
        r = await execute([nd("i", range(16), [16], "int32"), [3] * 16], URL, "add_sub")
        out["add_sub"] = {k: (v["_rdtype"], v["_rshape"], list(struct.unpack("<16i", v["_rvalue"])))
                          for k, v in r.items() if k != "__info__"}
        r = await execute([nd("f", [0.0, 1.0, 2.0, 3.0], [1, 2, 2], "float32"), {"threshold": 1.5, "diameter": 9}],
                          URL, "cellpose-python", decode_json=True)
        out["cellpose"] = [r["mask"]["_rdtype"], r["mask"]["_rshape"], list(r["mask"]["_rvalue"]), r["info"]]
        errors = {}
        for name, inputs in [("dtype", [nd("f", [0.0] * 16, [16], "float32"), [3] * 16]),
                             ("length", [{"_rtype": "ndarray", "_rvalue": b"1234", "_rshape": [16],
                                          "_rdtype": "int32"}, [3] * 16]),
                             ("float_in_int", [[0.5] * 16, [3] * 16])]:
            try:
                await execute(inputs, URL, "add_sub")
                errors[name] = None
            except InvalidInputError as exc:
                errors[name] = str(exc)
        out["errors"] = errors
        service = TritonService(ServiceConfig(URL))
        options = {"model_name": "add_sub", "inputs": [nd("i", [1] * 16, [16], "int32"), [2] * 16]}
        r = await service.call("execute", (options,))
        out["service"] = list(struct.unpack("<16i", r["OUTPUT1"]["_rvalue"]))
        print("RESULT " + json.dumps(out))

    asyncio.run(main())
    """
)


@pytest.fixture(scope="module")
def numpy_free(triton):
    run = subprocess.run([sys.executable, "-c", SCRIPT, triton.url], capture_output=True, text=True, timeout=120)
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, run.stdout + run.stderr
    return json.loads(lines[-1][len("RESULT ") :])


def test_rpc_ndarrays_and_lists_in_ndarrays_out(numpy_free):
    assert numpy_free["add_sub"] == {
        "OUTPUT0": ["int32", [16], [i + 3 for i in range(16)]],
        "OUTPUT1": ["int32", [16], [i - 3 for i in range(16)]],
    }


def test_uint16_outputs_and_json_without_numpy(numpy_free):
    dtype, shape, raw, info = numpy_free["cellpose"]
    assert dtype == "uint16" and shape == [2, 2]
    assert list(struct.unpack("<4H", bytes(raw))) == [0, 0, 1, 1]  # channel sums 0,1,2,3 > 1.5
    assert info == [{"diameter": 9, "shape": [1, 2, 2], "param": {"threshold": 1.5, "diameter": 9}}]


def test_bad_inputs_are_refused_before_sending_without_numpy(numpy_free):
    errors = numpy_free["errors"]
    assert errors["dtype"] == "input 'INPUT0': expected dtype INT32, got a float32 ndarray"
    assert errors["length"] == "input 'INPUT0': the ndarray holds 4 bytes, but int32 with shape [16] needs 64"
    assert errors["float_in_int"] == "input 'INPUT0': expected INT32 values, got a float (0.5)"


def test_the_service_without_numpy(numpy_free):
    assert numpy_free["service"] == [-1] * 16
