"""What tritonclient.http users rely on beyond plain ``infer``, against the real Triton: ``async_infer``, system
shared memory in and out, client plugins (a header the server sees), reserved parameters, and BYTES outputs
typed as tritonclient types them (checked against tritonclient itself on the same server)."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from pathlib import Path

import numpy as np
import pytest

from pyotritonclient.errors import ClientClosedError, InferenceServerException, InferenceServerTimeout
from pyotritonclient.http import (
    InferenceServerClient,
    InferenceServerClientPlugin,
    InferInput,
    InferRequestedOutput,
    Request,
)
from pyotritonclient.http.auth import BasicAuth
from pyotritonclient.sync import InferenceServerClient as BlockingClient
from pyotritonclient.transport.memory import MemoryResponse, MemoryTransport
from pyotritonclient.utils import serialize_byte_tensor, serialized_byte_size
from pyotritonclient.utils import shared_memory as shm


def add_sub_inputs(a, b):
    x = InferInput("INPUT0", [16], "INT32").set_data_from_numpy(np.asarray(a, np.int32))
    y = InferInput("INPUT1", [16], "INT32").set_data_from_numpy(np.asarray(b, np.int32))
    return [x, y]


def delay_input(seconds):
    return [InferInput("DELAY", [1], "FP32").set_data_from_numpy(np.array([seconds], np.float32))]


# -- async_infer -----------------------------------------------------------------------------------------


async def test_async_infer_keeps_100_requests_in_flight_with_correct_results(triton):
    async with InferenceServerClient(triton.url) as client:
        base = np.arange(16, dtype=np.int32)
        handles = [client.async_infer("add_sub", add_sub_inputs(base * i, base)) for i in range(100)]
        assert sum(not h.done() for h in handles) == 100  # all started, none finished before this line
        results = await asyncio.gather(*(h.get_result() for h in handles))
        for i, result in enumerate(results):
            assert result.as_numpy("OUTPUT0").tolist() == (base * i + base).tolist()
            assert result.as_numpy("OUTPUT1").tolist() == (base * i - base).tolist()
        assert all(h.done() for h in handles)
        converted = await client.async_infer("add_sub", add_sub_inputs(base, base))  # `await` added by a converter
        assert (await converted.get_result()).as_numpy("OUTPUT0").tolist() == (2 * base).tolist()


async def test_async_infer_waits_time_out_without_losing_the_request(triton, tmp_path):
    async with InferenceServerClient(triton.url) as client:
        handle = client.async_infer("slow", delay_input(0.6))
        with pytest.raises(InferenceServerException, match="has not arrived yet"):
            await handle.get_result(block=False)
        with pytest.raises(InferenceServerTimeout, match="within 0.1 s \\(the request goes on\\)"):
            await handle.get_result(timeout=0.1)
        assert (await handle.get_result(timeout=5)).as_numpy("OUTPUT0").tolist() == [pytest.approx(0.6)]
        assert (await handle.get_result(block=False)).as_numpy("OUTPUT0").tolist() == [pytest.approx(0.6)]
        failing = client.async_infer("raise_error", [InferInput("INPUT0", [1], "FP32").set_data_from_list([1.0])])
        with pytest.raises(InferenceServerException, match=r"\[500\] .*deliberate failure"):
            await failing.get_result()
        with pytest.raises(InferenceServerException, match="'triton_x'.*reserved for Triton"):
            client.async_infer("slow", delay_input(0), parameters={"triton_x": 1})  # refused at the call
        marker = tmp_path / "running"
        cancelled = client.async_infer("slow", delay_input(2.0), parameters={"started_file": str(marker)})
        while not marker.exists():  # the request is running on the server (the model made the file)
            await asyncio.sleep(0.02)
        assert cancelled.cancel()
        with pytest.raises(ClientClosedError, match="cancelled"):
            await cancelled.get_result()
        left = client.async_infer("slow", delay_input(2.0))
    with pytest.raises(ClientClosedError):  # closing the client cancels what is still in flight
        await left.get_result()


def test_async_infer_from_the_blocking_client(triton):
    with BlockingClient(triton.url) as client:
        handles = [client.async_infer("add_sub", add_sub_inputs([i] * 16, [1] * 16)) for i in range(20)]
        assert [h.get_result().as_numpy("OUTPUT0")[0] for h in handles] == [i + 1 for i in range(20)]
        slow = client.async_infer("slow", delay_input(0.5))
        with pytest.raises(InferenceServerTimeout):
            slow.get_result(timeout=0.05)
        assert slow.get_result().as_numpy("OUTPUT0").tolist() == [0.5]


# -- plugins and reserved parameters -------------------------------------------------------------------------


class Stamp(InferenceServerClientPlugin):
    def __init__(self, value):
        self.value = value
        self.calls = 0

    def __call__(self, request: Request) -> None:
        self.calls += 1
        request.headers["X-Seen-By-Triton-Stamp"] = self.value


async def test_a_plugin_header_reaches_the_server_on_every_request(triton):
    stamp = Stamp("lab-7")
    headers = {"X-Other": "1"}
    tensor = InferInput("INPUT0", [2], "INT32").set_data_from_list([1, 2])
    async with InferenceServerClient(triton.url) as client:
        client.register_plugin(stamp)
        assert client.plugin() is stamp
        with pytest.raises(InferenceServerException, match="a plugin is already registered"):
            client.register_plugin(Stamp("again"))
        result = await client.infer("echo_parameters", [tensor], headers=headers)
        seen = {k.lower(): v for k, v in json.loads(result.as_numpy("PARAMETERS")[0]).items()}
        assert seen["x-seen-by-triton-stamp"] == "lab-7"  # Triton forwarded the plugin's header to the model
        assert headers == {"X-Other": "1"}  # the caller's dict is not changed
        assert await client.is_server_ready() and stamp.calls == 2  # every request, not just infer
        client.unregister_plugin()
        result = await client.infer("echo_parameters", [tensor])
        assert "X-Seen-By-Triton-Stamp" not in json.loads(result.as_numpy("PARAMETERS")[0])
        with pytest.raises(InferenceServerException, match="no plugin is registered"):
            client.unregister_plugin()


async def test_basic_auth_and_a_plugin_that_injects_are_checked():
    seen = []

    def handler(request):
        seen.append(dict(request.headers))
        return MemoryResponse(200, b"")

    client = InferenceServerClient("localhost:8000", transport=MemoryTransport(handler))
    client.register_plugin(BasicAuth("ann", "s3cr:et"))
    assert await client.is_server_live(headers={"authorization": "Bearer replaced"})
    assert seen[-1]["Authorization"] == "Basic " + base64.b64encode(b"ann:s3cr:et").decode()
    assert "authorization" not in seen[-1] and "s3cr" not in repr(client.plugin())
    client.unregister_plugin()

    class Injector(InferenceServerClientPlugin):
        def __call__(self, request):
            request.headers["X-Bad"] = "a\r\nHost: evil"

    client.register_plugin(Injector())
    with pytest.raises(InferenceServerException, match="plugin Injector: header 'X-Bad'.*header injection"):
        await client.is_server_live()
    assert len(seen) == 1  # refused before sending
    with pytest.raises(InferenceServerException, match="username may not contain ':'"):
        BasicAuth("a:b", "c")


@pytest.mark.parametrize("name", ["sequence_id", "priority", "timeout", "headers", "binary_data_output", "triton_x"])
async def test_reserved_parameters_are_refused_before_sending(name):
    transport = MemoryTransport(lambda request: MemoryResponse(200, b"{}"))
    client = InferenceServerClient("localhost:8000", transport=transport)
    with pytest.raises(InferenceServerException, match=f"'{name}'.*reserved for Triton"):
        await client.infer("m", add_sub_inputs([0] * 16, [0] * 16), parameters={name: 1})
    assert transport.requests == []


# -- BYTES outputs typed as tritonclient types them ------------------------------------------------------------


async def test_bytes_outputs_are_bytes_as_binary_and_str_as_json_like_tritonclient(triton):
    import tritonclient.http as peer

    values = np.array([b"12", b"x y", "\u00e9".encode()], dtype=object)
    ours, theirs = {}, {}
    peer_client = peer.InferenceServerClient(triton.url)
    async with InferenceServerClient(triton.url) as client:
        for binary in (True, False):
            tensor = InferInput("IN_BYTES", [3], "BYTES").set_data_from_numpy(values, binary_data=True)
            result = await client.infer("echo_all", [tensor], outputs=[InferRequestedOutput("OUT_BYTES", binary)])
            ours[binary] = result.as_numpy("OUT_BYTES").tolist()
            peer_tensor = peer.InferInput("IN_BYTES", [3], "BYTES")
            peer_tensor.set_data_from_numpy(values, binary_data=True)
            peer_result = peer_client.infer(
                "echo_all", [peer_tensor], outputs=[peer.InferRequestedOutput("OUT_BYTES", binary_data=binary)]
            )
            theirs[binary] = peer_result.as_numpy("OUT_BYTES").tolist()
    peer_client.close()
    assert ours == theirs
    assert ours[True] == [b"12", b"x y", "\u00e9".encode()] and ours[False] == ["12", "x y", "\u00e9"]


# -- system shared memory ---------------------------------------------------------------------------------------


def _on_disk(key: str) -> bool:
    return Path("/dev/shm", key.lstrip("/")).exists()


async def test_system_shared_memory_in_and_out(triton):
    tag = uuid.uuid4().hex[:8]
    in_key, out_key = f"/pyotriton_in_{tag}", f"/pyotriton_out_{tag}"
    a = np.arange(16, dtype=np.int32)
    b = np.full(16, 5, dtype=np.int32)
    size = a.nbytes
    inputs_region = shm.create_shared_memory_region(f"in_{tag}", in_key, 2 * size)
    outputs_region = shm.create_shared_memory_region(f"out_{tag}", out_key, 2 * size)
    assert _on_disk(in_key) and sorted(shm.mapped_shared_memory_regions()) == sorted([in_key, out_key])
    try:
        shm.set_shared_memory_region(inputs_region, [a, b])
        async with InferenceServerClient(triton.url) as client:
            await client.register_system_shared_memory(f"in_{tag}", in_key, 2 * size)
            await client.register_system_shared_memory(f"out_{tag}", out_key, 2 * size)
            status = await client.get_system_shared_memory_status()
            assert {r["name"] for r in status} >= {f"in_{tag}", f"out_{tag}"}
            x = InferInput("INPUT0", [16], "INT32").set_shared_memory(f"in_{tag}", size)
            y = InferInput("INPUT1", [16], "INT32").set_shared_memory(f"in_{tag}", size, offset=size)
            outputs = [
                InferRequestedOutput("OUTPUT0").set_shared_memory(f"out_{tag}", size),
                InferRequestedOutput("OUTPUT1").set_shared_memory(f"out_{tag}", size, offset=size),
            ]
            result = await client.infer("add_sub", [x, y], outputs=outputs)
            assert result.as_numpy("OUTPUT0") is None  # the data is in the region, not in the response
            total = shm.get_contents_as_numpy(outputs_region, np.int32, [16])
            diff = shm.get_contents_as_numpy(outputs_region, np.int32, [16], offset=size)
            assert total.tolist() == (a + b).tolist() and diff.tolist() == (a - b).tolist()
            del total, diff
            await client.unregister_system_shared_memory(f"in_{tag}")
            await client.unregister_system_shared_memory(f"out_{tag}")
            status = await client.get_system_shared_memory_status()
            assert not {r["name"] for r in status} & {f"in_{tag}", f"out_{tag}"}
    finally:
        shm.destroy_shared_memory_region(inputs_region)
        shm.destroy_shared_memory_region(outputs_region)
    assert not _on_disk(in_key) and not _on_disk(out_key)
    assert shm.mapped_shared_memory_regions() == []


async def test_bytes_through_shared_memory(triton):
    tag = uuid.uuid4().hex[:8]
    key = f"/pyotriton_str_{tag}"
    numbers = np.array([str(i).encode() for i in range(16)], dtype=object)
    ones = np.array([b"1"] * 16, dtype=object)
    packed = [serialize_byte_tensor(numbers), serialize_byte_tensor(ones)]
    sizes = [serialized_byte_size(p) for p in packed]
    region = shm.create_shared_memory_region(f"str_{tag}", key, sum(sizes) * 2)
    shm.set_shared_memory_region(region, packed)
    try:
        async with InferenceServerClient(triton.url) as client:
            await client.register_system_shared_memory(f"str_{tag}", key, sum(sizes) * 2)
            x = InferInput("INPUT0", [16], "BYTES").set_shared_memory(f"str_{tag}", sizes[0])
            y = InferInput("INPUT1", [16], "BYTES").set_shared_memory(f"str_{tag}", sizes[1], offset=sizes[0])
            out = InferRequestedOutput("OUTPUT0").set_shared_memory(f"str_{tag}", sum(sizes), offset=sum(sizes))
            await client.infer("add_sub_bytes", [x, y], outputs=[out])
            await client.unregister_system_shared_memory(f"str_{tag}")
        got = shm.get_contents_as_numpy(region, np.object_, [16], offset=sum(sizes))
        assert got.tolist() == [str(i + 1).encode() for i in range(16)]
    finally:
        shm.destroy_shared_memory_region(region)
    assert not _on_disk(key)


def test_shared_memory_checks_every_size_and_offset():
    tag = uuid.uuid4().hex[:8]
    key = f"/pyotriton_chk_{tag}"
    region = shm.create_shared_memory_region("chk", key, 64)
    try:
        with pytest.raises(shm.SharedMemoryException, match="already exists|File exists"):
            shm.create_shared_memory_region("chk", key, 64, create_only=True)
        second = shm.create_shared_memory_region("chk", key, 64)  # a second handle on the same region
        shm.set_shared_memory_region(second, [np.arange(4, dtype=np.int64)])
        assert shm.get_contents_as_numpy(region, np.int64, [4]).tolist() == [0, 1, 2, 3]
        shm.destroy_shared_memory_region(second)
        assert _on_disk(key) and shm.mapped_shared_memory_regions() == [key]  # the first handle keeps it
        with pytest.raises(shm.SharedMemoryException, match="do not fit region"):
            shm.set_shared_memory_region(region, [np.zeros(9, np.int64)])
        with pytest.raises(shm.SharedMemoryException, match="do not fit region"):
            shm.get_contents_as_numpy(region, np.float32, [8], offset=40)
        with pytest.raises(shm.SharedMemoryException, match="must be a list or tuple"):
            shm.set_shared_memory_region(region, np.zeros(2))
        shm.set_shared_memory_region(region, [np.array([0xFFFFFFF0], dtype="<u4")])  # a hostile BYTES length
        with pytest.raises(shm.SharedMemoryException, match="BYTES item"):
            shm.get_contents_as_numpy(region, np.object_, [1])
        with pytest.raises(shm.SharedMemoryException, match="byte_size must be a positive int"):
            shm.create_shared_memory_region("x", "/pyotriton_zero", 0)
    finally:
        shm.destroy_shared_memory_region(region)
    with pytest.raises(shm.SharedMemoryException, match="was destroyed"):
        shm.destroy_shared_memory_region(region)
    assert not _on_disk(key)


def test_cuda_shared_memory_says_why_it_is_not_there():
    from pyotritonclient.utils import cuda_shared_memory as cudashm

    with pytest.raises(cudashm.CudaSharedMemoryException, match="CUDA shared memory is not supported"):
        cudashm.create_shared_memory_region("r", 64, 0)
    assert cudashm.allocated_shared_memory_regions() == []


def test_a_client_never_closed_leaves_no_warning_and_outlives_its_loop(triton, tmp_path):
    import subprocess
    import sys

    script = tmp_path / "unclosed.py"
    script.write_text(
        "import asyncio, sys\n"
        "import pyotritonclient.http.aio as httpclient  # tritonclient.http.aio's module name\n"
        f"client = httpclient.InferenceServerClient({triton.url!r})\n"
        "async def main():\n"
        "    return await client.is_server_ready()\n"
        "print(asyncio.run(main()), asyncio.run(main()))  # a second loop gets a new connection pool\n"
    )
    out = subprocess.run([sys.executable, "-W", "error::ResourceWarning", str(script)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True True"
    assert "Unclosed" not in out.stderr and "connector" not in out.stderr, out.stderr
