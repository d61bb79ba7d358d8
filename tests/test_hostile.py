"""Hostile servers and callers: what a broken or malicious answer or call gets, exactly (no wrong data, no
leaked secret). Answers no real server gives come from the in-memory transport; the service cases run
against the real Triton."""

from __future__ import annotations

import asyncio

import pytest

from pyotritonclient.errors import InferenceServerException, InvalidInputError, ServerError
from pyotritonclient.http import InferenceServerClient, InferInput
from pyotritonclient.service import ServiceConfig, ServiceError, TritonService
from pyotritonclient.transport.memory import MemoryResponse, MemoryTransport

URL = "http://memory.test:8000"


def x():
    return InferInput("INPUT0", [1], "INT8").set_data_from_list([1])


@pytest.mark.parametrize(
    "length, message",
    [("-5", "is not a non-negative integer"), ("abc", "is not a non-negative integer"), ("999", "exceeds the")],
)
async def test_a_bad_header_length_is_a_bad_response(length, message):
    answer = MemoryResponse(200, {"Inference-Header-Content-Length": length}, b'{"outputs": []}')
    async with InferenceServerClient(URL, transport=MemoryTransport(lambda r: answer)) as client:
        with pytest.raises(InferenceServerException, match=f"bad response from .*{message}"):
            await client.infer("m", [x()])


async def test_a_redirect_is_not_an_answer():
    answer = MemoryResponse(302, {"Location": "http://elsewhere/"}, b"")
    async with InferenceServerClient(URL, transport=MemoryTransport(lambda r: answer)) as client:
        with pytest.raises(ServerError) as info:
            await client.get_model_config("m")
    assert info.value.status() == "302"


@pytest.mark.parametrize("name, version", [("..", ""), (".", ""), ("m", ".."), ("m", ".")])
async def test_dot_segments_never_become_path_navigation(name, version):
    transport = MemoryTransport(lambda r: MemoryResponse.json({}))
    async with InferenceServerClient(URL, transport=transport) as client:
        with pytest.raises(InvalidInputError, match="other than '.' and '..'"):
            await client.get_model_config(name, version)
        with pytest.raises(InvalidInputError, match="other than '.' and '..'"):
            await client.unload_model(version or name)
    assert transport.requests == []  # nothing was sent


async def test_the_allowlist_never_shows_its_credentials(triton):
    svc = TritonService(ServiceConfig(f"http://reader:s3cret@{triton.url}", allowed_urls=["https://u:pw@other:9/"]))
    try:
        with pytest.raises(ServiceError) as info:
            await svc.list_models(server_url="http://attacker:1")
        assert "s3cret" not in str(info.value) and "pw" not in str(info.value)
        assert f"http://***@{triton.url}/" in str(info.value)
        assert all("s3cret" not in u and "pw@" not in u for u in svc.config.shown())
    finally:
        await svc.close()


async def test_concurrent_starts_respect_both_limits_exactly(triton):
    svc = TritonService(ServiceConfig(triton.http_url, max_sequences_per_caller=4, max_sequences=10))
    callers = [{"from": f"ws/c{i}"} for i in range(4)]
    try:
        starts = [svc.sequence_start("sequence_accumulate", context=callers[i % 4]) for i in range(40)]
        outcomes = await asyncio.gather(*starts, return_exceptions=True)
        opened = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, ServiceError)]
        assert len(opened) == 10 and len(refused) == 30
        per_caller = [len(await svc.list_sequences(context=c)) for c in callers]
        assert sum(per_caller) == 10 and max(per_caller) <= 4
        assert {str(e).split(" (")[0].split(";")[0] for e in refused} <= {
            "too many open sequences",
            "the service has 10 open sequences, its limit",
        }
    finally:
        await svc.close()


async def test_a_call_that_does_not_say_who_sent_it_is_refused(triton):
    svc = TritonService(ServiceConfig(triton.http_url))
    try:
        with pytest.raises(ServiceError, match="no 'from' in its context"):
            await svc.sequence_start("sequence_accumulate", context={"user": {"id": "alice"}})
    finally:
        await svc.close()


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("execute", {"model_name": "add_sub", "inputs": {}}),
        ("list_models", {}),
        ("get_config", {"model_name": "add_sub"}),
        ("list_sequences", {}),
        ("sequence_start", {"model_name": "sequence_accumulate"}),
    ],
)
async def test_every_function_refuses_a_context_without_a_sender(triton, name, kwargs):
    """Issue 34, finding 12: only the sequence functions refused one; execute, list_models and get_config
    answered. (get_load answers everyone: hypha's load balancing asks it.)"""
    svc = TritonService(ServiceConfig(triton.http_url))
    try:
        for context in ({"user": {"id": "alice"}}, {"from": ""}, {"from": 7}):
            with pytest.raises(ServiceError, match="does not say who sent it"):
                await svc.call(name, (), {**kwargs, "context": context})
        assert await svc.call("get_load", (), {"context": {"user": {"id": "alice"}}}) == 0
    finally:
        await svc.close()


async def test_an_unexpected_failure_reaches_the_caller_as_a_short_error_with_an_id(triton, caplog):
    svc = TritonService(ServiceConfig(triton.http_url))

    async def broken(**kwargs):
        raise KeyError("internal detail")

    svc.list_models = broken  # type: ignore[method-assign]  (a bug inside the service, simulated)
    with pytest.raises(ServiceError, match=r"list_models\(\) failed on the service \(error id [0-9a-f]{12}\)") as info:
        await svc.call("list_models")
    assert "internal detail" not in str(info.value) and "Traceback" not in str(info.value)
    assert "internal detail" in caplog.text  # the traceback stays in the service's log
    await svc.close()


@pytest.fixture
async def bomb_server():
    """A hostile HTTP server (aiohttp.web, in this process): gzip bodies nobody asked for, a decompression bomb."""
    import gzip

    from aiohttp import web

    bomb = gzip.compress(b"\0" * (256 * 1024 * 1024), 9)  # 256 MB of zeros in ~250 KB

    async def config(request):
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    async def huge(request):
        return web.Response(body=b"{" + b" " * (3 * 1024 * 1024) + b"}", content_type="application/json")

    async def metadata(request):
        return web.json_response({"name": "triton", "version": "2", "extensions": ["model_configuration"]})

    app = web.Application()
    app.router.add_get("/v2", metadata)
    app.router.add_get("/v2/models/bomb/config", config)
    app.router.add_get("/v2/models/huge/config", huge)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_gzip_bomb_is_refused_without_inflating_it(bomb_server):
    import tracemalloc

    from pyotritonclient.transport.aiohttp import AiohttpTransport

    tracemalloc.start()
    try:
        async with InferenceServerClient(bomb_server) as client:  # asks for identity: gzip was not asked for
            with pytest.raises(InferenceServerException, match="a 'gzip' body that was not asked for"):
                await client.get_model_config("bomb")
        async with InferenceServerClient(bomb_server, transport=AiohttpTransport(max_response_bytes=1024**2)) as client:
            with pytest.raises(InferenceServerException, match="more than max_response_bytes"):
                await client.get_model_config("huge")  # 3 MB answer, 1 MB allowed
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 * 1024, peak  # the 256 MB never materialised


def test_asked_for_compression_is_bounded_too():
    import gzip

    from pyotritonclient.protocol.compression import decompress
    from pyotritonclient.protocol.tensors import ProtocolError

    with pytest.raises(ProtocolError, match="decompresses to more than 1000 bytes"):
        decompress(gzip.compress(b"\0" * 10_000), "gzip", 1000)
    assert decompress(gzip.compress(b"abc"), "gzip", 3) == b"abc"
    with pytest.raises(ProtocolError, match="the gzip body is corrupt"):
        decompress(b"not gzip", "gzip", 10)


def test_hostile_imjoy_data_is_refused_before_any_allocation():
    from pyotritonclient.values import codec as serialization

    with pytest.raises(InvalidInputError, match="exceeds max_array_len"):
        serialization.decode(b"\xdd\xff\xff\xff\xff")  # claims 4 G elements in 5 bytes
    with pytest.raises(InvalidInputError, match="the data is nested too deeply"):
        serialization.decode(b"\x91" * 1000 + b"\x00")


@pytest.mark.parametrize("headers", [{"X-Evil": "a\r\nInjected: 1"}, {"X\nEvil": "a"}, {"X-Num": 5}])
async def test_header_injection_is_refused_before_sending(headers):
    transport = MemoryTransport(lambda r: MemoryResponse.json({}))
    async with InferenceServerClient(URL, transport=transport) as client:
        with pytest.raises(InvalidInputError, match="must be strings without CR, LF or NUL"):
            await client.get_server_metadata(headers=headers)
    assert transport.requests == []


def test_sizes_are_counted_in_bytes_for_every_buffer_type():
    import array

    import numpy as np

    from pyotritonclient.service.policy import payload_size

    assert payload_size(memoryview(array.array("d", [0.0] * 10))) == 80  # bytes, not 10 elements
    words = np.array([b"x" * 1000, "y" * 500], dtype=object)
    assert payload_size(words) == 1500  # the items, not two pointers
    assert payload_size({"k": np.zeros(4, np.int16)}) == 1 + 8


async def test_headers_the_user_marks_secret_are_redacted_in_verbose_output(capsys):
    transport = MemoryTransport(lambda r: MemoryResponse.json({"name": "triton"}, headers={"X-Session": "srv-secret"}))
    async with InferenceServerClient(
        URL, verbose=True, transport=transport, secret_headers=["X-Tenant-Key", "x-session"]
    ) as client:
        await client.get_server_metadata(
            headers={"X-Tenant-Key": "tenant-secret", "Authorization": "Bearer t0k", "X-Trace": "t1"}
        )
    out = capsys.readouterr().out
    for secret in ("tenant-secret", "t0k", "srv-secret"):
        assert secret not in out
    assert "'X-Trace': 't1'" in out and out.count("<redacted>") == 3


@pytest.mark.parametrize(
    "config, message",
    [
        ([1, 2], "expected a JSON object"),
        ({"max_batch_size": "8"}, "max_batch_size '8' is not a non-negative int"),
        ({"input": {"a": 1}}, "'input' is not a list"),
        ({"input": [{"data_type": "TYPE_FP32"}]}, "an input has no name"),
        ({"output": [{"name": "o", "data_type": "TYPE_FP33"}]}, "output 'o' has an unknown data_type 'TYPE_FP33'"),
        ({"input": [{"name": "i", "data_type": "TYPE_FP32", "dims": ["x"]}]}, "input 'i' has dims \\['x'\\]"),
    ],
)
async def test_a_hostile_model_config_is_refused_before_it_is_used(config, message):
    from pyotritonclient.engine.options import ExecuteOptions
    from pyotritonclient.engine.session import Session

    triton = {"name": "triton", "version": "2", "extensions": ["binary_tensor_data", "model_configuration"]}
    transport = MemoryTransport(lambda r: MemoryResponse.json(triton if r.url.endswith("/v2") else config))
    async with InferenceServerClient(URL, transport=transport) as client:
        with pytest.raises(InferenceServerException, match=message):
            await Session(URL).execute("m", [[1.0]], ExecuteOptions(), client=client)
    assert not any(r.url.endswith("/infer") for r in transport.requests)


DEEP = b"[" * 100_000 + b"]" * 100_000  # valid JSON, nested past any recursion limit


@pytest.mark.parametrize(
    "status, headers, body",
    [
        (200, {"Content-Type": "application/json"}, b'{"outputs": ' + DEEP + b"}"),  # infer, JSON
        (200, {"Inference-Header-Content-Length": str(len(DEEP) + 13)}, b'{"outputs": ' + DEEP + b"}"),  # binary
        (400, {"Content-Type": "application/json"}, b'{"error": ' + DEEP + b"}"),  # an error body
    ],
)
async def test_deeply_nested_json_answers_are_bad_responses(status, headers, body):
    answer = MemoryResponse(status, headers, body)
    async with InferenceServerClient(URL, transport=MemoryTransport(lambda r: answer)) as client:
        with pytest.raises(InferenceServerException):
            await client.infer("m", [x()])


async def test_deeply_nested_metadata_is_a_bad_response_everywhere_it_is_read():
    from pyotritonclient import execute, get_config

    transport = MemoryTransport(lambda r: MemoryResponse(200, {"Content-Type": "application/json"}, DEEP))
    async with InferenceServerClient(URL, transport=transport) as client:
        for call in (client.get_server_metadata(), client.get_model_metadata("m"), client.get_model_config("m")):
            with pytest.raises(InferenceServerException, match="bad response"):
                await call
        with pytest.raises(InferenceServerException):
            await get_config(URL, "m", client=client)
        with pytest.raises(InferenceServerException):
            await execute([1], URL, "m", client=client)


async def test_an_over_long_server_sent_event_is_in_the_error_family():
    from pyotritonclient.protocol import sse

    body = b"data: " + b"x" * (sse.MAX_EVENT_BYTES + 10) + b"\n\n"
    answer = MemoryResponse(200, {"Content-Type": "text/event-stream"}, body)
    async with InferenceServerClient(URL, transport=MemoryTransport(lambda r: answer)) as client:
        with pytest.raises(InferenceServerException, match="longer than|more than"):
            async for _ in client.generate_stream("m", {"text_input": "hi"}):
                pass


@pytest.mark.parametrize("rtype", ["set", "orderedmap", "memoryview", "typedarray", "ndarray", "error"])
def test_imjoy_data_with_a_null_value_is_refused_as_bad_data(rtype):
    import msgpack

    from pyotritonclient.values import codec as serialization

    data = msgpack.packb({"_rtype": rtype, "_rvalue": None}, use_bin_type=True)
    try:
        serialization.decode(data)
    except InferenceServerException:
        pass  # refused, in the family
    # (a value the codec accepts is fine too: the point is that nothing else comes out)


async def test_a_binary_request_refused_with_422_says_binary_tensors_may_be_unsupported():
    """MLServer answers a binary request with 422 and a pydantic dump: the error says what to do."""
    dump = b'{"detail": [{"type": "missing", "loc": ["body", "inputs", 0, "data"], "msg": "Field required"}]}'
    import numpy as np

    answer = MemoryResponse(422, {"Content-Type": "application/json"}, dump)
    binary = InferInput("INPUT0", [1], "INT8").set_data_from_numpy(np.ones(1, np.int8))
    async with InferenceServerClient(URL, transport=MemoryTransport(lambda r: answer)) as client:
        with pytest.raises(ServerError) as refused:
            await client.infer("m", [binary])
    text = str(refused.value)
    assert "422" in text and "binary tensor" in text and "binary_data=False" in text
