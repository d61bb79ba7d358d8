"""The low-level client's inference, streaming and error paths against the real Triton (see conftest.py)."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from triton_inputs import add_sub_inputs

from pyotritonclient.errors import ServerError
from pyotritonclient.http import (
    InferenceServerClient,
    InferenceServerException,
    InferenceServerTimeout,
    InferInput,
    InferRequestedOutput,
)
from pyotritonclient.transport import Deadline, Request

DTYPES = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}


@pytest.mark.parametrize("binary", [True, False])
async def test_infer_add_sub(client, binary):
    inputs, a, b = add_sub_inputs(binary)
    outputs = [InferRequestedOutput("OUTPUT0", binary_data=binary), InferRequestedOutput("OUTPUT1", binary_data=binary)]
    result = await client.infer("add_sub", inputs, outputs=outputs, request_id="req-7")
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), a + b)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), a - b)
    assert result.as_numpy("OUTPUT0").dtype == np.int32
    response = result.get_response()
    assert response["model_name"] == "add_sub" and response["id"] == "req-7"
    assert ("binary_data_size" in result.get_output("OUTPUT0").get("parameters", {})) is binary
    assert result.as_list("OUTPUT0") == list(a + b)
    assert result.as_numpy("NOPE") is None and result.get_output("NOPE") is None


async def test_mixed_binary_and_json_inputs_and_default_binary_outputs(client):
    inputs, a, b = add_sub_inputs()
    inputs[1].set_data_from_numpy(b, binary_data=False)
    result = await client.infer("add_sub", inputs)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), a + b)
    assert "binary_data_size" in result.get_output("OUTPUT1")["parameters"]


async def test_numpy_free_inputs_and_outputs(client):
    inputs = [
        InferInput("INPUT0", [16], "INT32").set_data_from_list(list(range(16)), binary_data=True),
        InferInput("INPUT1", [16], "INT32").set_data_from_buffer(np.full(16, 2, "<i4").tobytes()),
    ]
    result = await client.infer("add_sub", inputs)
    assert result.as_list("OUTPUT0") == [i + 2 for i in range(16)]
    assert bytes(result.as_buffer("OUTPUT1")) == np.arange(-2, 14, dtype="<i4").tobytes()


async def test_add_sub_bytes(client):
    a = np.array([str(i).encode() for i in range(16)], dtype=object)
    b = np.array([b"1"] * 16, dtype=object)
    for binary in (True, False):
        inputs = [InferInput("INPUT0", [16], "BYTES"), InferInput("INPUT1", [16], "BYTES")]
        inputs[0].set_data_from_numpy(a, binary_data=binary)
        inputs[1].set_data_from_numpy(b, binary_data=binary)
        result = await client.infer("add_sub_bytes", inputs)
        assert [int(x) for x in result.as_numpy("OUTPUT0")] == [i + 1 for i in range(16)]
        assert [int(x) for x in result.as_numpy("OUTPUT1")] == [i - 1 for i in range(16)]


def sample(dtype, shape):
    rng = np.random.default_rng(1)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, shape, dtype=dtype, endpoint=True)
    return (rng.standard_normal(shape) * 100).astype(dtype)


@pytest.mark.parametrize("datatype", list(DTYPES))
@pytest.mark.parametrize("binary", [True, False])
async def test_every_dtype_round_trips(client, datatype, binary):
    data = sample(DTYPES[datatype], [7])
    tensor = InferInput(f"IN_{datatype}", [7], datatype)
    if datatype == "FP16" and not binary:
        # Triton refuses FP16 in JSON ("receiving FP16 data via JSON is not supported"): say so before sending.
        with pytest.raises(InferenceServerException, match="input 'IN_FP16': FP16 can only be sent as binary"):
            tensor.set_data_from_numpy(data, binary_data=False)
        return
    tensor.set_data_from_numpy(data, binary_data=binary)
    result = await client.infer("echo_all", [tensor], outputs=[InferRequestedOutput(f"OUT_{datatype}", binary)])
    out = result.as_numpy(f"OUT_{datatype}")
    assert out.dtype == data.dtype and out.shape == (7,)
    np.testing.assert_array_equal(out, data)


async def test_all_dtypes_in_one_request(client):
    inputs, expected = [], {}
    for datatype, dtype in DTYPES.items():
        data = sample(dtype, [3])
        inputs.append(InferInput(f"IN_{datatype}", [3], datatype).set_data_from_numpy(data))
        expected[f"OUT_{datatype}"] = data
    result = await client.infer("echo_all", inputs)
    for name, data in expected.items():
        np.testing.assert_array_equal(result.as_numpy(name), data)


async def test_bf16_round_trip(client, models_dir):
    if "BF16" not in (models_dir / "echo_all" / "config.pbtxt").read_text():
        pytest.fail("echo_all has no BF16 input: see tests/models/README.md")
    data = np.array([1.0, -2.5, 3.140625, 0.0], dtype=np.float32)  # exactly representable in bfloat16
    tensor = InferInput("IN_BF16", [4], "BF16").set_data_from_numpy(data)
    result = await client.infer("echo_all", [tensor], outputs=[InferRequestedOutput("OUT_BF16")])
    out = result.as_numpy("OUT_BF16")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, data)


@pytest.mark.parametrize("binary", [True, False])
async def test_bytes_with_nul_and_empty_elements(client, binary):
    values = [b"a\x00b", b"", b"\x00\x00", b"tail\x00\x00", "h\u00e9llo".encode(), b"plain"]  # NULs kept, exact
    if not binary:
        values = [b"", "h\u00e9llo".encode(), b"plain"]  # JSON strings cannot carry every byte
    data = np.array(values, dtype=object)
    tensor = InferInput("IN_BYTES", [len(values)], "BYTES").set_data_from_numpy(data, binary_data=binary)
    result = await client.infer("echo_all", [tensor], outputs=[InferRequestedOutput("OUT_BYTES", binary)])
    # binary BYTES come back as bytes; BYTES the server sent as JSON as str (tritonclient's rule)
    expected = values if binary else [v.decode() for v in values]
    assert list(result.as_numpy("OUT_BYTES")) == expected == result.as_list("OUT_BYTES")


async def test_non_utf8_bytes_cannot_go_as_json_and_say_why(client):
    tensor = InferInput("IN_BYTES", [1], "BYTES")
    with pytest.raises(InferenceServerException, match="input 'IN_BYTES'.*not UTF-8; send it as binary"):
        tensor.set_data_from_numpy(np.array([b"\xff\xfe"], dtype=object), binary_data=False)


async def test_zero_element_tensors(client):
    empty = np.zeros([0], dtype=np.float32)
    inputs = [
        InferInput("IN_FP32", [0], "FP32").set_data_from_numpy(empty),
        InferInput("IN_INT8", [2], "INT8").set_data_from_numpy(np.array([1, -1], np.int8)),
    ]
    result = await client.infer(
        "echo_all", inputs, outputs=[InferRequestedOutput("OUT_FP32"), InferRequestedOutput("OUT_INT8")]
    )
    assert result.as_numpy("OUT_FP32").shape == (0,)
    np.testing.assert_array_equal(result.as_numpy("OUT_INT8"), [1, -1])


async def test_identity_keeps_shape(client):
    data = np.random.default_rng(0).random([3, 5, 7]).astype(np.float32)
    tensor = InferInput("INPUT0", list(data.shape), "FP32").set_data_from_numpy(data)
    result = await client.infer("identity_fp32", [tensor])
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), data)


async def test_classification_with_labels(client, models_dir):
    labels = (models_dir / "classifier" / "labels.txt").read_text().split()
    scores = np.array([0.1, 0.7, 0.05, 0.15], dtype=np.float32)
    tensor = InferInput("INPUT0", [4], "FP32").set_data_from_numpy(scores)
    for binary in (True, False):
        output = InferRequestedOutput("OUTPUT0", binary_data=binary, class_count=2)
        result = await client.infer("classifier", [tensor], outputs=[output])
        top = [(x.decode() if binary else x).split(":") for x in result.as_numpy("OUTPUT0")]
        assert [(float(s), int(i), label) for s, i, label in top] == [
            (pytest.approx(0.7), 1, labels[1]),
            (pytest.approx(0.15), 3, labels[3]),
        ]


async def sequence_step(client, seq_id, value, start=False, end=False):
    tensor = InferInput("INPUT", [1, 1], "INT32").set_data_from_numpy(np.array([[value]], np.int32))
    result = await client.infer(
        "sequence_accumulate", [tensor], sequence_id=seq_id, sequence_start=start, sequence_end=end
    )
    return int(result.as_numpy("OUTPUT").reshape(-1)[0])


async def test_sequences_with_int_ids(client):
    def step(*args, **kwargs):
        return sequence_step(client, *args, **kwargs)

    assert await step(1001, 5, start=True) == 5
    assert await step(1002, 100, start=True) == 100
    assert await step(1001, 2) == 7
    assert await step(1002, 1) == 101
    assert await step(1001, 3, end=True) == 10
    assert await step(1001, 4, start=True) == 4  # a new sequence under the same id starts from zero
    await step(1001, 0, end=True)
    await step(1002, 0, end=True)


async def test_sequences_with_str_ids(client):
    # The server maps string ids to sequences of their own, independent of each other.
    def step(*args, **kwargs):
        return sequence_step(client, *args, **kwargs)

    assert await step("alpha", 5, start=True) == 5
    assert await step("beta", 1, start=True) == 1
    assert await step("alpha", 2) == 7
    assert await step("beta", 1) == 2
    assert await step("alpha", 3, end=True) == 10
    assert await step("beta", 0, end=True) == 2


async def test_sequence_step_without_start_is_the_servers_error(client):
    tensor = InferInput("INPUT", [1, 1], "INT32").set_data_from_numpy(np.array([[1]], np.int32))
    with pytest.raises(InferenceServerException) as info:
        await client.infer("sequence_accumulate", [tensor], sequence_id=424242)
    assert info.value.status() == "400" and "START" in info.value.message()


@pytest.mark.parametrize("request_algo", [None, "gzip", "deflate"])
@pytest.mark.parametrize("response_algo", [None, "gzip", "deflate"])
async def test_compression_both_ways(triton, capsys, request_algo, response_algo):
    async with InferenceServerClient(triton.url, verbose=True) as client:
        inputs, a, b = add_sub_inputs()
        result = await client.infer(
            "add_sub", inputs, request_compression_algorithm=request_algo, response_compression_algorithm=response_algo
        )
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), a + b)
    log = capsys.readouterr().out
    request_line = next(line for line in log.splitlines() if line.startswith("POST"))
    response_line = next(line for line in log.splitlines() if line.startswith("-> 200"))
    assert (f"'Content-Encoding': '{request_algo}'" in request_line) is bool(request_algo)
    assert f"'Accept-Encoding': '{response_algo or 'identity'}'" in request_line
    if response_algo:
        assert f"'content-encoding': '{response_algo}'" in response_line
    else:
        assert "content-encoding" not in response_line


async def test_bad_compression_names_are_refused(client):
    inputs, _, _ = add_sub_inputs()
    with pytest.raises(InferenceServerException, match="unsupported compression 'br'"):
        await client.infer("add_sub", inputs, request_compression_algorithm="br")
    with pytest.raises(InferenceServerException, match="response_compression_algorithm must be one of"):
        await client.infer("add_sub", inputs, response_compression_algorithm="br")


async def test_server_error_surfaces_with_status_and_message(client):
    tensor = InferInput("INPUT0", [1], "FP32").set_data_from_numpy(np.ones(1, np.float32))
    with pytest.raises(InferenceServerException) as info:
        await client.infer("raise_error", [tensor])
    assert "deliberate failure from raise_error" in info.value.message()
    assert info.value.status() == "500"
    with pytest.raises(InferenceServerException) as info:
        await client.infer("add_sub", [tensor])
    assert info.value.status() == "400" and "INPUT0" in info.value.message()


async def test_client_timeout_on_a_slow_model(client):
    tensor = InferInput("DELAY", [1], "FP32").set_data_from_numpy(np.array([6.0], np.float32))
    with pytest.raises(InferenceServerTimeout) as info:  # only the client's timer raises this: the model answers
        await client.infer("slow", [tensor], client_timeout=0.5)
    assert info.value.status() == "TIMEOUT" and "/v2/models/slow/infer" in str(info.value)
    assert isinstance(info.value, asyncio.TimeoutError)
    quick = InferInput("DELAY", [1], "FP32").set_data_from_numpy(np.array([0.1], np.float32))
    result = await client.infer("slow", [quick], client_timeout=15)
    assert result.as_numpy("OUTPUT0").tolist() == [pytest.approx(0.1)]


async def test_cancellation_of_a_slow_request(client, tmp_path):
    tensor = InferInput("DELAY", [1], "FP32").set_data_from_numpy(np.array([5.0], np.float32))
    marker = tmp_path / "started"
    task = asyncio.ensure_future(client.infer("slow", [tensor], parameters={"started_file": str(marker)}))
    for _ in range(300):  # the model creates the file when the request runs on the server
        if marker.exists() or task.done():
            break
        await asyncio.sleep(0.1)
    assert marker.exists() and not task.done(), "the request never reached the model"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):  # a request that went on to its answer would return it instead
        await task
    assert await client.is_server_live()  # the pool is still usable


async def test_unreachable_server_names_the_url(refused_url):
    async with InferenceServerClient(refused_url, conn_timeout=2) as client:
        with pytest.raises(InferenceServerException) as info:
            await client.is_server_live()
    assert info.value.status() == "UNAVAILABLE" and f"{refused_url}/v2/health/live" in str(info.value)


async def test_headers_are_not_mutated_and_secrets_not_logged(triton, capsys):
    headers = {"Authorization": "Bearer top-secret", "X-Trace": "t1"}
    copy = dict(headers)
    async with InferenceServerClient(triton.url, verbose=True) as client:
        inputs, _, _ = add_sub_inputs()
        await client.infer("add_sub", inputs, headers=headers)
        await client.get_server_metadata(headers=headers)
    assert headers == copy
    log = capsys.readouterr().out
    assert "top-secret" not in log and "<redacted>" in log and "'X-Trace': 't1'" in log


async def test_bad_inputs_fail_before_anything_is_sent(client):
    before = client.transport.stats["requests"]
    with pytest.raises(
        InferenceServerException, match="input 'INPUT0': got a float64 array \\(FP64\\), expected INT32"
    ):
        InferInput("INPUT0", [16], "INT32").set_data_from_numpy(np.zeros(16))
    with pytest.raises(InferenceServerException, match="input 'INPUT0': got shape \\[8\\], expected \\[16\\]"):
        InferInput("INPUT0", [16], "INT32").set_data_from_numpy(np.zeros(8, np.int32))
    with pytest.raises(InferenceServerException, match="unknown Triton datatype of input 'X' 'FLOAT32'"):
        InferInput("X", [1], "FLOAT32")
    with pytest.raises(InferenceServerException, match="input 'INPUT0' has no data"):
        await client.infer("add_sub", [InferInput("INPUT0", [16], "INT32")])
    with pytest.raises(InferenceServerException, match="inputs must be InferInput"):
        await client.infer("add_sub", [np.zeros(16)])
    with pytest.raises(InferenceServerException, match="input 'INPUT0': 3 values but shape \\[16\\]"):
        InferInput("INPUT0", [16], "INT32").set_data_from_list([1, 2, 3])
    with pytest.raises(InferenceServerException, match="model_name must be a non-empty str"):
        await client.infer("", [])
    assert client.transport.stats["requests"] == before


async def test_concurrent_requests_share_the_pool(triton):
    async with InferenceServerClient(triton.url, conn_limit=4) as client:
        inputs, a, b = add_sub_inputs()
        results = await asyncio.gather(*[client.infer("add_sub", inputs) for _ in range(32)])
        assert client.transport.stats["connections_created"] <= 4
    for result in results:
        np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), a + b)


async def test_static_body_helpers_match_what_infer_sends(client):
    inputs, a, b = add_sub_inputs()
    body, length = InferenceServerClient.generate_request_body(inputs, request_id="x")
    assert json.loads(body[:length])["id"] == "x"
    request = Request(
        "POST",
        client.url + "v2/models/add_sub/infer",
        {"Inference-Header-Content-Length": str(length), "Accept-Encoding": "gzip"},
        [body],
    )
    response = await client.transport.send(request, Deadline())
    assert response.status == 200
    result = InferenceServerClient.parse_response_body(
        response.body, header_length=int(response.headers["Inference-Header-Content-Length"])
    )
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), a - b)


async def test_request_parameters_priority_version_and_query_params_reach_the_server(triton, capsys):
    tensor = InferInput("INPUT0", [3], "INT32").set_data_from_list([1, 2, 3])
    async with InferenceServerClient(triton.url, verbose=True) as client:
        result = await client.infer(
            "echo_parameters",
            [tensor],
            model_version="1",
            priority=1,
            timeout=5_000_000,
            parameters={"diameter": 30, "mode": "fast", "exact": True},
            query_params={"trace": "x y"},
        )
        with pytest.raises(ServerError, match="'echo_parameters' version 7 is not found") as info:
            await client.infer("echo_parameters", [tensor], model_version="7")
        assert info.value.status() == "404"
    received = json.loads(result.as_numpy("PARAMETERS")[0])
    assert {k: received[k] for k in ("diameter", "mode", "exact")} == {"diameter": 30, "mode": "fast", "exact": True}
    assert "priority" not in received  # the server consumes priority and timeout itself...
    body, length = InferenceServerClient.generate_request_body([tensor], priority=1, timeout=5_000_000)
    sent = json.loads(body[:length])["parameters"]
    assert sent["priority"] == 1 and sent["timeout"] == 5_000_000  # ...which the client did send
    assert result.as_list("OUTPUT0") == [1, 2, 3]
    assert result.get_response()["model_version"] == "1"
    assert "version" in info.value.message() and "7" in info.value.message()
    assert "/v2/models/echo_parameters/versions/1/infer?trace=x+y" in capsys.readouterr().out


async def test_network_timeout_of_the_client_applies_to_every_call(triton):
    tensor = InferInput("DELAY", [1], "FP32").set_data_from_numpy(np.array([6.0], np.float32))
    async with InferenceServerClient(triton.url, network_timeout=0.5) as client:
        with pytest.raises(InferenceServerTimeout, match="timed out"):  # the model would answer after 6 s
            await client.infer("slow", [tensor])
        assert await client.is_server_live()
