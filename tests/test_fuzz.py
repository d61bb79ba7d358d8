"""Fuzzing the decoders of what servers send (infer responses, SSE, imjoy data, JSON answers): whatever the
bytes, only the documented exceptions come out. `./dev fuzz` runs 10,000 examples each
(PYOTRITON_FUZZ_EXAMPLES); the default test run does a few hundred."""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyotritonclient.errors import InferenceServerException, InvalidInputError
from pyotritonclient.http import InferenceServerClient
from pyotritonclient.protocol import inference, sse
from pyotritonclient.protocol.tensors import ProtocolError
from pyotritonclient.transport.memory import MemoryResponse, MemoryTransport
from pyotritonclient.values import codec as serialization

EXAMPLES = int(os.environ.get("PYOTRITON_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))

DTYPES = ["BOOL", "INT8", "UINT64", "FP16", "FP32", "BF16", "BYTES", "FP64", "INT33", None, 7]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)
outputs = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=4) | st.integers(),
        "datatype": st.sampled_from(DTYPES),
        "shape": st.lists(st.integers(-2, 4), max_size=3) | json_values,
        "parameters": st.fixed_dictionaries({}, optional={"binary_data_size": st.integers(-8, 64) | json_values})
        | json_values,
        "data": json_values,
    },
)


@FUZZ
@given(
    header=st.fixed_dictionaries({}, optional={"outputs": st.lists(outputs, max_size=3) | json_values}),
    tail=st.binary(max_size=64),
    length_shift=st.integers(-3, 3),
)
def test_infer_responses(header, tail, length_shift):
    head = json.dumps(header).encode()
    try:
        result = inference.parse_infer_response(head + tail, max(len(head) + length_shift, 0))
    except ProtocolError:
        return
    for name, tensor in result.outputs.items():  # what was accepted is consistent
        assert isinstance(name, str) and tensor.name == name


@FUZZ
@given(body=st.binary(max_size=200), length=st.none() | st.integers(0, 210))
def test_infer_responses_from_raw_bytes(body, length):
    try:
        inference.parse_infer_response(body, length)
    except ProtocolError:
        pass


@FUZZ
@given(
    chunks=st.lists(
        st.binary(max_size=40)
        | st.sampled_from([b"data: x\n", b"\r\n", b"\r", b"event: e\n\n", b"retry: 9\n", b":c\n"]),
        max_size=12,
    )
)
def test_sse_streams(chunks):
    parser = sse.SSEParser(max_event_bytes=256)
    try:
        for chunk in chunks:
            for event in parser.feed(chunk):
                assert isinstance(event.data, str)
        parser.close()
    except ProtocolError:
        pass


@FUZZ
@given(data=st.binary(max_size=80))
def test_imjoy_data(data):
    try:
        serialization.decode(data)
    except InvalidInputError:
        pass


def _ndarray_like():
    return st.fixed_dictionaries(
        {"_rtype": st.just("ndarray")},
        optional={
            "_rvalue": st.binary(max_size=16) | json_values,
            "_rshape": json_values | st.lists(st.integers(-1, 4), max_size=3),
            "_rdtype": st.sampled_from(["float32", "uint8", "V8", "S3", "object", "x"]) | json_values,
        },
    )


@FUZZ
@given(obj=_ndarray_like())
def test_imjoy_ndarrays(obj):
    import msgpack

    try:
        data = msgpack.packb(obj, use_bin_type=True)
    except (OverflowError, TypeError, ValueError):
        return  # not encodable by msgpack (an int past 64 bits): no server could send it
    try:
        serialization.decode(data)
    except InvalidInputError:
        pass


@FUZZ
@given(status=st.sampled_from([200, 204, 302, 400, 500]), body=json_values | st.binary(max_size=30))
async def test_json_answers_of_the_client(status, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    transport = MemoryTransport(lambda request: MemoryResponse(status, {}, raw))
    async with InferenceServerClient("http://fuzz:1", transport=transport) as client:
        for call in (client.get_model_config("m"), client.get_model_repository_index(), client.get_server_metadata()):
            try:
                value = await call
            except InferenceServerException:
                continue
            assert isinstance(value, (dict, list))
