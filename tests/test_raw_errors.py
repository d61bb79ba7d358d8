"""Held-out checks that still found raw errors (issue 34, findings 6, 9 and 13): every hostile value gets an
error of the family that names the value, never a TypeError, RecursionError, a raw numpy ValueError or a
traceback with the service's or hypha's file paths. The codec cases over the real hypha, with a real caller."""

from __future__ import annotations

import json

import msgpack
import pytest

from pyotritonclient.errors import InferenceServerException, InvalidInputError, ProtocolError
from pyotritonclient.protocol import parse_infer_response
from pyotritonclient.service import ServiceConfig, ServiceError, TritonService
from pyotritonclient.service.hypha import register
from pyotritonclient.service.policy import payload_size
from pyotritonclient.values.codec import decode, from_imjoy


def test_a_datatype_that_is_not_a_string_is_a_protocol_error():
    body = json.dumps({"outputs": [{"name": "y", "datatype": [1], "shape": [1], "data": [1]}]}).encode()
    with pytest.raises(ProtocolError, match=r"output 'y': datatype \[1\] is not a string"):
        parse_infer_response(body)


@pytest.mark.parametrize(
    "hostile",
    [
        {"_rtype": "set", "_rvalue": [[1], [2]]},
        {"_rtype": "orderedmap", "_rvalue": [[[1], 2]]},
        {"_rtype": "orderedmap", "_rvalue": [1, 2, 3]},
        {"_rtype": "set", "_rvalue": [{"a": 1}]},
    ],
)
def test_hostile_imjoy_structures_are_bad_data(hostile):
    with pytest.raises(InvalidInputError, match="imjoy"):
        from_imjoy(hostile)
    with pytest.raises(InvalidInputError, match="imjoy"):
        decode(msgpack.packb(hostile))


async def test_a_deeply_nested_argument_is_refused_by_the_service(triton):
    service = TritonService(ServiceConfig(triton.http_url))
    deep: list = []
    for _ in range(3000):
        deep = [deep]
    try:
        with pytest.raises(ServiceError, match="nested more than"):
            await service.execute("add_sub", {"INPUT0": deep})
        with pytest.raises(ServiceError, match="nested more than"):
            await service.call("execute", (), {"model_name": "add_sub", "inputs": {"INPUT0": deep}})
    finally:
        await service.close()


def test_a_set_counts_its_items_against_the_size_limit():
    """hypha-rpc decodes ``_rtype: "set"`` into a Python set: a 20 MB set passed a 1 MiB limit."""
    big = {f"{i:0>1000}" for i in range(20_000)}
    assert payload_size(big) >= 20_000 * 1000
    with pytest.raises(ServiceError, match="more than this service accepts"):
        ServiceConfig("http://127.0.0.1:1", max_request_bytes=1024 * 1024).check_size(big)


HOSTILE_ARRAYS = {
    "a lying length": {"_rtype": "ndarray", "_rvalue": b"\0" * 3, "_rshape": [16], "_rdtype": "int32"},
    "a huge dimension": {"_rtype": "ndarray", "_rvalue": b"", "_rshape": [0, 2**62], "_rdtype": "int32"},
    "100 dimensions": {"_rtype": "ndarray", "_rvalue": b"\0\0\0\0", "_rshape": [1] * 100, "_rdtype": "int32"},
}


@pytest.mark.parametrize("what", sorted(HOSTILE_ARRAYS))
async def test_a_hostile_ndarray_over_hypha_gets_a_message_without_the_services_insides(hypha_server, triton, what):
    from hypha_rpc import connect_to_server

    service = TritonService(ServiceConfig(triton.http_url))
    server, info = await register(service, hypha_server, service_id="triton-raw")
    caller = await connect_to_server({"server_url": hypha_server})
    try:
        svc = await caller.get_service(info["id"])
        with pytest.raises(Exception) as refused:
            await svc.execute(model_name="add_sub", inputs={"INPUT0": HOSTILE_ARRAYS[what]})
        text = str(refused.value)
        assert "ndarray" in text and "INPUT0" in text or "ndarray" in text, text
        for inside in (".py", "site-packages", "hypha_rpc", "pyotritonclient/", "ValueError"):
            assert inside not in text, (inside, text)
    finally:
        await caller.disconnect()
        await service.close()
        await server.disconnect()


async def test_a_single_server_clients_errors_keep_no_password(triton):
    """Issue 34, finding 11: the pool's errors redacted ``.url``; a single server's kept the password."""
    import socket

    from pyotritonclient.http import InferenceServerClient

    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    seen = []
    for url in (f"http://alice:s3cr3t@{triton.url}", f"http://alice:s3cr3t@127.0.0.1:{port}"):
        async with InferenceServerClient(url) as client:
            for call in (client.get_model_config("no_such_model"), client.is_server_live()):
                try:
                    await call
                except InferenceServerException as exc:
                    seen.append(exc)
    assert len(seen) >= 2 and {type(e).__name__ for e in seen} >= {"ServerError", "UnavailableError"}, seen
    for exc in seen:
        assert exc.url and "s3cr3t" not in exc.url and "s3cr3t" not in str(exc), (exc.url, str(exc))
