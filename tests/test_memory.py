"""Fast tests of the client's logic over the in-memory transport: no server, answers written here by hand
(including ones no real server gives). The real-server suites stay the proof; these pin the rules."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from pyotritonclient.engine.options import ExecuteOptions
from pyotritonclient.engine.session import Session
from pyotritonclient.errors import (
    ClientClosedError,
    InferenceServerException,
    InferenceServerTimeout,
    ServerError,
    UnavailableError,
)
from pyotritonclient.http import InferenceServerClient, InferInput
from pyotritonclient.transport import TransportClosed, TransportError, TransportTimeout
from pyotritonclient.transport.memory import MemoryRequest, MemoryResponse, MemoryTransport

URL = "http://memory.test:8000"


def infer_answer(outputs, header_extra=None):
    """A binary inference response built by hand: JSON header, then each output's raw bytes."""
    header = {"model_name": "m", "model_version": "1", "outputs": [], **(header_extra or {})}
    data = b""
    for name, datatype, shape, raw in outputs:
        header["outputs"].append(
            {"name": name, "datatype": datatype, "shape": shape, "parameters": {"binary_data_size": len(raw)}}
        )
        data += raw
    head = json.dumps(header).encode()
    return MemoryResponse(200, {"Inference-Header-Content-Length": str(len(head))}, head + data)


def config(dims, optional_input=False):
    inputs = [{"name": "INPUT0", "data_type": "TYPE_INT32", "dims": dims}]
    if optional_input:
        inputs.append({"name": "EXTRA", "data_type": "TYPE_INT32", "dims": [1], "optional": True})
    return {
        "name": "m",
        "max_batch_size": 0,
        "input": inputs,
        "output": [{"name": "OUT", "data_type": "TYPE_INT32", "dims": dims}],
    }


async def test_paths_methods_and_a_server_error_with_its_status_and_message():
    def handler(request: MemoryRequest) -> MemoryResponse:
        return MemoryResponse.json({"error": "Request for unknown model: 'm/x' is not found"}, status=404)

    transport = MemoryTransport(handler)
    async with InferenceServerClient(URL, transport=transport) as client:
        with pytest.raises(ServerError, match=r"unknown model: 'm/x'") as info:
            await client.get_model_config("m/x", "2")
    assert info.value.status() == "404" and info.value.http_status == 404
    (request,) = transport.requests
    assert (request.method, request.url) == ("GET", URL + "/v2/models/m%2Fx/versions/2/config")


async def test_an_answer_of_the_wrong_json_shape_is_a_bad_response():
    transport = MemoryTransport(lambda request: MemoryResponse.json(["not", "an", "object"]))
    async with InferenceServerClient(URL, transport=transport) as client:
        with pytest.raises(InferenceServerException, match="expected a JSON object"):
            await client.get_server_metadata()
        with pytest.raises(InferenceServerException, match="expected a JSON array of objects"):
            transport.handler = lambda request: MemoryResponse.json({"a": 1})
            await client.get_model_repository_index()


async def test_binary_outputs_are_read_from_hand_built_bytes_and_a_short_body_is_refused():
    raw = struct.pack("<2i", 7, -1)
    transport = MemoryTransport(lambda request: infer_answer([("OUT", "INT32", [2], raw)]))
    async with InferenceServerClient(URL, transport=transport) as client:
        x = InferInput("INPUT0", [2], "INT32").set_data_from_list([1, 2], binary_data=True)
        result = await client.infer("m", [x])
        assert result.as_list("OUT") == [7, -1]
        sent = transport.requests[0]
        assert sent.json()["inputs"][0] == {
            "name": "INPUT0",
            "shape": [2],
            "datatype": "INT32",
            "parameters": {"binary_data_size": 8},
        }
        assert sent.body.endswith(struct.pack("<2i", 1, 2))
        transport.handler = lambda request: infer_answer([("OUT", "INT32", [2], raw[:4])])  # 4 bytes for 8
        with pytest.raises(InferenceServerException, match="bad response"):
            await client.infer("m", [x])


@pytest.mark.parametrize(
    "failure, kind",
    [
        (TransportClosed("closed"), ClientClosedError),
        (TransportTimeout("slow"), InferenceServerTimeout),
        (TransportError("refused"), UnavailableError),
    ],
)
async def test_no_answer_becomes_a_typed_error(failure, kind):
    def handler(request):
        raise failure

    async with InferenceServerClient(URL, transport=MemoryTransport(handler)) as client:
        with pytest.raises(kind):
            await client.is_server_live()


async def test_a_stream_error_event_after_good_events_is_a_server_error():
    chunks = [b'data: {"TEXT": "a"}\n\n', b'data: {"TE', b'XT": "b"}\n\ndata: {"error": "boom"}\n\n']
    transport = MemoryTransport(lambda request: MemoryResponse(200, {}, chunks=chunks))
    seen = []
    async with InferenceServerClient(URL, transport=transport) as client:
        with pytest.raises(ServerError, match="boom"):
            async for event in client.generate_stream("m", {"TEXT": "x"}):
                seen.append(event["TEXT"])
    assert seen == ["a", "b"]


class ChangingModel:
    """A server whose model config changes after the first read; ``refusals`` infer answers are 400."""

    def __init__(self, refusals):
        self.configs = [config([2]), config([2], optional_input=True)]
        self.refusals = refusals

    def __call__(self, request: MemoryRequest) -> MemoryResponse:
        if request.url.endswith("/v2"):
            return MemoryResponse.json({"name": "triton", "version": "2", "extensions": TRITON_EXTENSIONS})
        if request.url.endswith("/config"):
            return MemoryResponse.json(self.configs.pop(0) if len(self.configs) > 1 else self.configs[0])
        if self.refusals:
            self.refusals -= 1
            return MemoryResponse.json({"error": "unexpected inference input"}, status=400)
        return infer_answer([("OUT", "INT32", [2], struct.pack("<2i", 5, 6))])


TRITON_EXTENSIONS = ["binary_tensor_data", "model_configuration", "sequence", "model_repository"]


def infers(transport):
    return [r for r in transport.requests if r.url.endswith("/infer")]


async def test_a_refusal_with_a_stale_config_rereads_it_and_retries_once():
    transport = MemoryTransport(ChangingModel(refusals=1))
    session = Session(URL)
    client = InferenceServerClient(URL, transport=transport)
    await session.config("m", client=client)  # cached: the old config
    out = await session.execute("m", {"INPUT0": [1, 2]}, ExecuteOptions(), client=client)
    assert out["OUT"].tolist() == [5, 6]
    assert len(infers(transport)) == 2 and sum(r.url.endswith("/config") for r in transport.requests) == 2


async def test_a_refused_sequence_step_is_never_sent_twice():
    transport = MemoryTransport(ChangingModel(refusals=1))
    session = Session(URL)
    client = InferenceServerClient(URL, transport=transport)
    await session.config("m", client=client)
    with pytest.raises(ServerError, match="unexpected inference input"):
        await session.execute(
            "m", {"INPUT0": [1, 2]}, ExecuteOptions(sequence_id=9, sequence_start=True), client=client
        )
    assert len(infers(transport)) == 1


async def test_concurrent_cold_calls_share_one_config_read():
    import asyncio

    transport = MemoryTransport(ChangingModel(refusals=0))
    session = Session(URL)
    client = InferenceServerClient(URL, transport=transport)
    await asyncio.gather(*(session.execute("m", [[1, 2]], client=client) for _ in range(5)))
    assert sum(r.url.endswith("/config") for r in transport.requests) == 1 and len(infers(transport)) == 5


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"datatype": "INT32", "shape": [1]}, "has no name"),
        ({"name": "OUT", "datatype": "INT33", "shape": [1]}, "unknown Triton output datatype 'INT33'"),
        ({"name": "OUT", "datatype": "INT32", "shape": [-1]}, "is not a list of non-negative ints"),
        (
            {"name": "OUT", "datatype": "INT32", "shape": [1], "parameters": {"binary_data_size": -4}},
            "not a non-negative int",
        ),
        ({"name": "OUT", "datatype": "INT32", "shape": [3], "data": [1, 2]}, "does not hold [3] elements"),
    ],
)
async def test_a_broken_response_header_is_refused_with_the_reason(entry, message):
    head = json.dumps({"model_name": "m", "outputs": [entry]}).encode()
    body = head + (b"\0\0\0\0" if "binary_data_size" in entry.get("parameters", {}) else b"")
    transport = MemoryTransport(
        lambda request: MemoryResponse(200, {"Inference-Header-Content-Length": str(len(head))}, body)
    )
    async with InferenceServerClient(URL, transport=transport) as client:
        x = InferInput("INPUT0", [1], "INT32").set_data_from_list([1])
        with pytest.raises(InferenceServerException, match=message.replace("[", r"\[").replace("]", r"\]")):
            await client.infer("m", [x])


async def test_what_infer_sends_written_out_by_hand():
    """The request infer puts on the wire for priority, timeout, a sequence and parameters, compared with a
    header and body written here, and with the static helper tritonclient users call."""
    transport = MemoryTransport(lambda request: infer_answer([("OUT", "INT32", [2], struct.pack("<2i", 0, 0))]))
    x = InferInput("INPUT0", [2], "INT32").set_data_from_list([7, -1], binary_data=True)
    async with InferenceServerClient(URL, transport=transport) as client:
        await client.infer(
            "m",
            [x],
            model_version="2",
            request_id="r9",
            sequence_id=42,
            sequence_start=True,
            priority=3,
            timeout=7000,
            parameters={"colour": "red"},
            query_params={"trace": "a b"},
        )
    (sent,) = transport.requests
    assert sent.url == URL + "/v2/models/m/versions/2/infer?trace=a+b"
    header = (
        b'{"id":"r9","parameters":{"colour":"red","sequence_id":42,"sequence_start":true,"sequence_end":false,'
        b'"priority":3,"timeout":7000,"binary_data_output":true},'
        b'"inputs":[{"name":"INPUT0","shape":[2],"datatype":"INT32","parameters":{"binary_data_size":8}}]}'
    )
    assert sent.body == header + struct.pack("<2i", 7, -1)
    assert sent.headers["Inference-Header-Content-Length"] == str(len(header))
    assert sent.headers["Content-Type"] == "application/octet-stream" and sent.headers["Accept-Encoding"] == "identity"
    body, length = InferenceServerClient.generate_request_body(
        [x],
        request_id="r9",
        sequence_id=42,
        sequence_start=True,
        priority=3,
        timeout=7000,
        parameters={"colour": "red"},
    )
    assert (body, length) == (sent.body, len(header))  # the static helper builds the same bytes


class BareProtocolServer:
    """An Open Inference Protocol server without Triton's extensions (as MLServer answers): JSON tensors only."""

    def __init__(self):
        self.bodies = []

    def __call__(self, request: MemoryRequest) -> MemoryResponse:
        if request.url.endswith("/v2"):
            return MemoryResponse.json({"name": "mlserver", "version": "1.7.1", "extensions": []})
        if request.url.endswith("/v2/models/adder"):
            tensors = [{"name": n, "datatype": "INT32", "shape": [-1]} for n in ("a", "b")]
            return MemoryResponse.json(
                {"name": "adder", "versions": [], "platform": "", "inputs": tensors,
                 "outputs": [{"name": "sum", "datatype": "INT32", "shape": [-1]}]}
            )  # fmt: skip
        if request.url.endswith("/infer"):
            body = request.json()
            self.bodies.append((dict(request.headers), body))
            a, b = (t["data"] for t in body["inputs"])
            return MemoryResponse.json(
                {"model_name": "adder", "outputs": [{"name": "sum", "datatype": "INT32", "shape": [len(a)],
                                                     "data": [x + y for x, y in zip(a, b)]}]}
            )  # fmt: skip
        return MemoryResponse.json({"detail": "Not Found"}, status=404)


async def test_a_server_without_triton_extensions_gets_json_tensors_and_metadata_for_a_config():
    from pyotritonclient.errors import UnsupportedError

    server = BareProtocolServer()
    transport = MemoryTransport(server)
    session = Session(URL)
    client = InferenceServerClient(URL, transport=transport)
    config = await session.config("adder", client=client)
    assert config["config_source"] == "metadata" and [i["data_type"] for i in config["input"]] == ["TYPE_INT32"] * 2
    out = await session.execute("adder", [np.array([1, 2], np.int32), [10, 20]], ExecuteOptions(), client=client)
    assert out["sum"].tolist() == [11, 22]
    headers, body = server.bodies[-1]
    assert "Inference-Header-Content-Length" not in headers
    assert body["outputs"] == [{"name": "sum", "parameters": {"binary_data": False}}]
    assert [t["data"] for t in body["inputs"]] == [[1, 2], [10, 20]]
    with pytest.raises(UnsupportedError, match="does not take binary tensors \\(no 'binary_tensor_data' extension\\)"):
        await session.execute("adder", [[1], [2]], ExecuteOptions(binary_data=True), client=client)
    with pytest.raises(UnsupportedError, match="mlserver 1.7.1 at .* has no sequence support") as info:
        await session.execute("adder", [[1], [2]], ExecuteOptions(sequence_id=5, sequence_start=True), client=client)
    assert info.value.extension == "sequence"
    with pytest.raises(UnsupportedError, match="cannot list its models: it has no model repository extension"):
        await session.list_models(client=client)
    assert sum(r.url.endswith("/v2") for r in transport.requests) == 1  # capabilities: one request per session
    assert len(server.bodies) == 1  # the refused calls sent nothing


async def test_capabilities_cost_one_request_per_session_on_triton():
    transport = MemoryTransport(ChangingModel(refusals=0))
    session = Session(URL)
    client = InferenceServerClient(URL, transport=transport)
    for _ in range(20):
        await session.execute("m", [[1, 2]], client=client)
    assert [r.url.rsplit("/", 1)[-1] for r in transport.requests[:2]] == ["v2", "config"]
    assert sum(r.url.endswith("/v2") for r in transport.requests) == 1 and len(infers(transport)) == 20
    assert "Inference-Header-Content-Length" in transport.requests[-1].headers  # Triton: binary tensors
