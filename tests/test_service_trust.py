"""The service takes a caller's identity only from what the hypha server stamps (issue 34, findings 1 and 3).

hypha stamps ``from``, ``to``, ``ws`` and ``user`` on the first segment of every client's message and passes
the second segment (the sender's own) on untouched; hypha-rpc 0.21 takes the call's context from a ``ctx`` the
sender wrote, and lets the second segment overwrite the stamped fields. A real second client (Mallory, in a
workspace of her own) sends the forged messages over the real hypha; Alice's sequence must not move."""

from __future__ import annotations

import asyncio

import msgpack
import numpy as np
import pytest

from pyotritonclient.service import ServiceConfig, TritonService
from pyotritonclient.service.hypha import register


def wire_array(x: int) -> dict:
    return {"_rtype": "ndarray", "_rvalue": np.array([x], np.int32).tobytes(), "_rshape": [1], "_rdtype": "int32"}


def message(main: dict, extra: dict) -> bytes:
    return msgpack.packb(main) + msgpack.packb(extra)


@pytest.fixture
async def parties(hypha_server, triton):
    from hypha_rpc import connect_to_server

    service = TritonService(ServiceConfig(triton.http_url, sequence_idle_timeout=600, liveness_interval=3600))
    server, info = await register(service, hypha_server, service_id="triton-trust")
    alice = await connect_to_server({"server_url": hypha_server})
    mallory = await connect_to_server({"server_url": hypha_server})
    try:
        assert alice.config.workspace != mallory.config.workspace != server.config.workspace
        yield service, server, info, alice, mallory
    finally:
        for client in (alice, mallory, server):
            await client.disconnect()
        await service.close()


def total(result) -> int:
    return int(np.asarray(result["OUTPUT"]).reshape(-1)[0])


async def test_a_forged_context_cannot_step_list_or_end_another_callers_sequence(parties):
    service, server, info, alice, mallory = parties
    await forged_calls_leave_alice_alone(info["id"], alice, mallory)


async def forged_calls_leave_alice_alone(service_id: str, alice, mallory) -> None:
    """Alice's sequence (+5), Mallory's forged steps and ends (direct and chunked), then Alice's +1 and +1."""
    target, _, service_name = service_id.partition(":")
    alice_id = f"{alice.config.workspace}/{alice.config.client_id}"
    alice_ctx = {"from": alice_id, "ws": alice.config.workspace, "user": {"id": "alice", "is_anonymous": True}}
    svc = await alice.get_service(service_id)
    seq = await svc.sequence_start(model_name="sequence_accumulate", sequence_id=31337)
    assert total(await svc.sequence_step(sequence_id=seq, inputs={"INPUT": np.array([5], np.int32)})) == 5

    def call(function: str, kwargs: dict, main_extra: dict = None, extra_extra: dict = None) -> bytes:
        main = {"type": "method", "to": target, "method": f"services.{service_name}.{function}", **(main_extra or {})}
        return message(main, {"args": [{**kwargs, "_rkwargs": True}], **(extra_extra or {})})

    step = {"sequence_id": seq, "inputs": {"INPUT": wire_array(100)}}
    forged = [
        call("sequence_step", step, main_extra={"ctx": alice_ctx}),  # the review's reproduction
        call("sequence_step", step, extra_extra={"ctx": alice_ctx}),  # the sender's own segment
        call("sequence_step", step, extra_extra={"from": alice_id, "ws": alice.config.workspace}),
        call("sequence_end", {"sequence_id": seq}, main_extra={"ctx": alice_ctx}),
        call("sequence_end", {"sequence_id": seq}, extra_extra={"ctx": alice_ctx, "from": alice_id}),
    ]
    # a message over hypha-rpc's chunk size arrives in parts and is put together by the receiver's message cache
    padding = {"padding": b"\0" * (2 * mallory.rpc._long_message_chunk_size)}
    chunked = [
        call("sequence_end", {"sequence_id": seq}, extra_extra={"ctx": alice_ctx, **padding}),
        call("sequence_end", {"sequence_id": seq}, main_extra={"ctx": alice_ctx}, extra_extra=padding),
    ]
    # the control: Mallory's own (unforged) raw call reaches the service and opens her sequence
    own = call("sequence_start", {"model_name": "sequence_accumulate", "sequence_id": 4242})
    for raw in forged:
        await mallory.rpc._emit_message(raw)
    for raw in chunked:
        try:
            await mallory.rpc._send_chunks(raw, target, None)
        except Exception as refused:  # the service refuses to put it together
            assert "refused" in str(refused), refused
    await mallory.rpc._emit_message(own)
    mallory_svc = await mallory.get_service(service_id)
    deadline = asyncio.get_running_loop().time() + 60
    while not await mallory_svc.list_sequences():  # the raw messages have been handled when hers is open
        assert asyncio.get_running_loop().time() < deadline, "Mallory's own raw call never reached the service"
        await asyncio.sleep(0.1)
    assert [s["sequence_id"] for s in await mallory_svc.list_sequences()] == [4242]
    assert [s["sequence_id"] for s in await svc.list_sequences()] == [seq]  # still open, and Alice's
    assert total(await svc.sequence_step(sequence_id=seq, inputs={"INPUT": np.array([1], np.int32)})) == 6
    assert total(await svc.sequence_end(sequence_id=seq, inputs={"INPUT": np.array([1], np.int32)})) == 7


async def test_a_client_cannot_fire_the_services_own_events(parties, capsys):
    """Finding 3: an incoming message's ``type`` is fired as a local event; a client sent
    ``client_disconnected`` naming Alice (her sequences were released) and ``services_registered`` (a fake
    "registered ... again" line). Only the hypha server's own messages (which carry no stamped sender) may."""
    service, server, info, alice, mallory = parties
    target = info["id"].partition(":")[0]
    alice_id = f"{alice.config.workspace}/{alice.config.client_id}"
    svc = await alice.get_service(info["id"])
    seq = await svc.sequence_start(model_name="sequence_accumulate")
    assert total(await svc.sequence_step(sequence_id=seq, inputs={"INPUT": np.array([5], np.int32)})) == 5
    capsys.readouterr()
    for data in ({"id": alice_id}, {"id": alice.config.client_id, "workspace": alice.config.workspace}):
        await mallory.rpc._emit_message(message({"type": "client_disconnected", "to": target}, {"data": data}))
        await mallory.rpc._emit_message(msgpack.packb({"type": "client_disconnected", "to": target, "data": data}))
    await mallory.rpc._emit_message(msgpack.packb({"type": "services_registered", "to": target}))
    await mallory.rpc._emit_message(
        message({"type": "method", "to": target, "method": "x"}, {"type": "services_registered"})
    )
    # handled in order with a call of Mallory's that has an answer
    await (await mallory.get_service(info["id"])).list_sequences()
    assert [s["sequence_id"] for s in await svc.list_sequences()] == [seq]
    assert total(await svc.sequence_end(sequence_id=seq, inputs={"INPUT": np.array([1], np.int32)})) == 6
    assert "again" not in capsys.readouterr().out
