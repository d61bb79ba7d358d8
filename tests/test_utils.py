"""pyotritonclient.utils gives the same answers, byte for byte, as tritonclient.utils; the core needs no numpy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tritonclient.utils as peer

from pyotritonclient import utils

DTYPES = [
    np.bool_,
    np.uint8,
    np.uint16,
    np.uint32,
    np.uint64,
    np.int8,
    np.int16,
    np.int32,
    np.int64,
    np.float16,
    np.float32,
    np.float64,
    np.object_,
    np.bytes_,
]


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_names_match_tritonclient(dtype):
    # (tritonclient wants a dtype instance under numpy 2; ours takes the scalar type too)
    assert utils.np_to_triton_dtype(dtype) == peer.np_to_triton_dtype(np.dtype(dtype))
    name = peer.np_to_triton_dtype(np.dtype(dtype))
    if name not in ("BYTES",):
        assert np.dtype(utils.triton_to_np_dtype(name)) == np.dtype(peer.triton_to_np_dtype(name))


def test_unknown_dtypes():
    assert utils.np_to_triton_dtype(np.complex64) is None
    assert utils.triton_to_np_dtype("NOPE") is None


@pytest.mark.parametrize(
    "values",
    [
        [b"a\x00b", b"", b"\x00", "h\u00e9".encode()],
        ["text", "", "\u00e9"],
        [[b"x", b"yy"], [b"", b"zzz"]],
    ],
)
def test_byte_tensors_serialize_like_tritonclient(values):
    tensor = np.array(values, dtype=np.object_)
    ours = utils.serialize_byte_tensor(tensor)
    theirs = peer.serialize_byte_tensor(tensor)  # a 0-d object array holding the bytes, both
    assert ours.dtype == theirs.dtype == np.object_ and ours.shape == theirs.shape == ()
    assert ours.item() == theirs.item()
    assert utils.serialized_byte_size(ours) == peer.serialized_byte_size(theirs) == len(theirs.item())
    decoded = utils.deserialize_bytes_tensor(ours.item())
    assert list(decoded) == list(peer.deserialize_bytes_tensor(theirs.item()))
    empty = np.array([], dtype=np.object_)
    assert utils.serialize_byte_tensor(empty).shape == peer.serialize_byte_tensor(empty).shape == (0,)


def test_bf16_like_tritonclient():
    data = np.array([1.0, -2.5, 3.14159, 1e-3, 65504.0], dtype=np.float32)
    ours = utils.serialize_bf16_tensor(data)
    assert ours.tobytes() == peer.serialize_bf16_tensor(data).item()
    # (tritonclient gives an [n, 1] array; ours is flat like the other deserializers)
    np.testing.assert_array_equal(
        utils.deserialize_bf16_tensor(ours.tobytes()), peer.deserialize_bf16_tensor(ours.tobytes()).ravel()
    )


def test_protocol_transport_and_client_work_without_numpy(triton):
    """What Pyodide without numpy needs: the import and a whole inference on raw buffers, numpy blocked."""
    script = textwrap.dedent(f"""
        import sys, asyncio, struct
        sys.modules["numpy"] = None  # any import of numpy now fails
        import pyotritonclient, pyotritonclient.protocol, pyotritonclient.transport
        from pyotritonclient.http import InferenceServerClient, InferInput

        async def main():
            async with InferenceServerClient({triton.url!r}) as client:
                a = InferInput("INPUT0", [16], "INT32").set_data_from_list(list(range(16)))
                b = InferInput("INPUT1", [16], "INT32").set_data_from_buffer(struct.pack("<16i", *[2] * 16))
                result = await client.infer("add_sub", [a, b])
                print(result.as_list("OUTPUT0") == [i + 2 for i in range(16)],
                      bytes(result.as_buffer("OUTPUT1")) == struct.pack("<16i", *[i - 2 for i in range(16)]))
                try:
                    result.as_numpy("OUTPUT0")
                except ImportError as exc:
                    print("as_numpy:", "numpy" in str(exc))
        asyncio.run(main())
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True", "as_numpy:", "True"]
