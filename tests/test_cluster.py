"""The service on hypha's cluster mode (issue 28): two hypha processes sharing the real Redis behind nginx, two
service replicas connected through the balancer (one lands on each process), the real Triton. A caller on one
process reaches both replicas; one hypha process killed with SIGKILL: its replica comes back through the other
one, no call hangs, and the replica's open sequence goes on."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from cluster import Cluster
from hypha_server import start_service_cli, wait_for_line

A = np.arange(16, dtype=np.int32)
B = np.full(16, 3, dtype=np.int32)


@pytest.fixture
async def cluster(cache_dir, triton, tmp_path):
    from hypha_rpc import connect_to_server

    running = Cluster(cache_dir, tmp_path / "cluster").start()
    balancer = running.balancer
    assert balancer is not None
    owner = await connect_to_server({"server_url": running.hyphas[1].url})  # keeps the workspace alive
    workspace = owner.config.workspace
    token = await owner.generate_token({"workspace": workspace, "permission": "read_write", "expires_in": 3600})
    replicas = []
    try:
        for index in (0, 1):  # replica i connects through balancer port i: hypha i while it is up
            log = tmp_path / f"replica-{index}.log"
            options = ["--workspace", workspace, "--token", token, "--client-id", f"replica-{index}"]
            options += ["--check-interval", "2", "--grace-period", "5", "--liveness-interval", "2"]
            process = start_service_cli(log, balancer.url(index), triton.http_url, *options)
            replicas.append((process, log))
        ids = [await wait_for_line(process, log, "registered ") for process, log in replicas]
        yield {"cluster": running, "workspace": workspace, "token": token, "ids": ids, "replicas": replicas,
               "owner": owner}  # fmt: skip
    finally:
        for process, _ in replicas:
            process.terminate()
            try:
                process.wait(20)
            except Exception:
                process.kill()
        try:
            await asyncio.wait_for(owner.disconnect(), 10)
        except Exception:
            pass
        running.stop()


async def _caller(url, workspace, token):
    from hypha_rpc import connect_to_server

    return await connect_to_server({"server_url": url, "workspace": workspace, "token": token, "method_timeout": 20})


async def test_a_caller_on_one_hypha_reaches_replicas_on_both(cluster):
    """Replicas connected to hypha-0 and hypha-1; a caller on hypha-1 chooses by load: both serve, all right."""
    hyphas = cluster["cluster"].hyphas
    caller = await _caller(hyphas[1].url, cluster["workspace"], cluster["token"])
    try:
        served = {}
        for service_id in cluster["ids"]:  # each replica by its full id, through hypha-1
            svc = await caller.get_service(service_id)
            results = await svc.execute(model_name="add_sub", inputs=[A, B])
            assert results["OUTPUT0"].tolist() == (A + B).tolist()
        chooser = f"{cluster['workspace']}/triton-client"

        async def worker():  # one call after another: each choice sees the other workers' calls in flight
            got = []
            for _ in range(10):
                svc = await caller.get_service(chooser, {"mode": "select:min:get_load"})
                out = await svc.execute(model_name="slow", inputs=[np.array([0.2], np.float32)])
                served[svc.id] = served.get(svc.id, 0) + 1
                got.append(float(out["OUTPUT0"][0]))
            return got

        answers = sum(await asyncio.gather(*(worker() for _ in range(4))), [])  # 40 calls, four in flight
        assert answers == [pytest.approx(0.2)] * 40
        assert len(served) == 2 and all(count > 0 for count in served.values()), served
    finally:
        await caller.disconnect()


async def test_a_killed_hypha_process_loses_no_replica_and_hangs_no_call(cluster):
    running = cluster["cluster"]
    lost_id = cluster["ids"][0]  # connected to hypha-0 through balancer port 0
    (_, lost_log), _ = cluster["replicas"]
    caller = await _caller(running.hyphas[1].url, cluster["workspace"], cluster["token"])
    try:
        svc = await caller.get_service(lost_id)
        # a caller on another hypha process reaches the replica as '*/manager-hypha-1': it may run models but
        # cannot own a sequence there (tests/test_service_isolation.py)
        with pytest.raises(Exception, match="forwarded by another hypha server"):
            await svc.sequence_start(model_name="sequence_accumulate")
        in_flight = asyncio.ensure_future(svc.execute(model_name="slow", inputs=[np.array([2.0], np.float32)]))
        while await svc.get_load() < 1:  # the call has reached the replica: it is in flight when hypha-0 dies
            assert not in_flight.done(), in_flight
            await asyncio.sleep(0.02)
        killed_at = time.monotonic()
        running.kill(0)
        outcome = await asyncio.wait_for(asyncio.gather(in_flight, return_exceptions=True), 60)  # never hangs
        print(f"\nin flight when hypha-0 died: {type(outcome[0]).__name__}: {str(outcome[0]).splitlines()[0][:120]}")
        # the replica comes back through the balancer's backup (hypha-1), same id, and says so
        await wait_for_line(running.balancer.process, lost_log, "again (reconnected)", timeout=60)
        logged = time.monotonic() - killed_at
        back = None
        while back is None:
            assert time.monotonic() - killed_at < 120, "the replica did not come back"  # only stops a hung test
            try:
                again = await caller.get_service(lost_id)
                back = await asyncio.wait_for(again.execute(model_name="add_sub", inputs=[A, B]), 10)
            except Exception:
                await asyncio.sleep(0.5)
        took = time.monotonic() - killed_at
        assert back["OUTPUT0"].tolist() == (A + B).tolist()
        print(f"replica registered again {logged:.1f} s after the kill; callers reach it after {took:.1f} s")
        # now on the caller's own hypha process: the caller is itself again, and may own a sequence there
        seq = await again.sequence_start(model_name="sequence_accumulate")
        step = await again.sequence_step(sequence_id=seq, inputs={"INPUT": np.array([5], np.int32)})
        assert int(np.asarray(step["OUTPUT"]).reshape(-1)[0]) == 5
        await again.sequence_end(sequence_id=seq)
    finally:
        await caller.disconnect()


async def _accumulate_requests(triton_url: str) -> int:
    """How many requests Triton has run for ``sequence_accumulate`` (its statistics: a step or an end)."""
    from pyotritonclient.http import InferenceServerClient

    async with InferenceServerClient(triton_url) as client:
        stats = await client.get_inference_statistics("sequence_accumulate")
    return sum(int(m["inference_stats"]["success"]["count"]) for m in stats["model_stats"])


async def test_a_sequence_whose_caller_went_down_with_its_hypha_is_ended_on_triton(cluster, triton):
    """Alice is connected to hypha-0 directly and owns a sequence on the replica there. hypha-0 dies: the
    replica comes back through hypha-1, finds Alice gone at its liveness checks, ends her sequence on Triton
    (one more request there) and says why when Alice, back on hypha-1 under the same name, steps it again."""
    from hypha_rpc import connect_to_server

    running = cluster["cluster"]
    replica_id = cluster["ids"][0]  # connected to hypha-0 through balancer port 0
    (process, log), _ = cluster["replicas"]
    login = {"workspace": cluster["workspace"], "token": cluster["token"], "client_id": "alice", "method_timeout": 20}
    alice = await connect_to_server({"server_url": running.hyphas[0].url, **login})
    svc = await alice.get_service(replica_id)
    seq = await svc.sequence_start(model_name="sequence_accumulate")
    first = await svc.sequence_step(sequence_id=seq, inputs={"INPUT": np.array([5], np.int32)})
    assert int(np.asarray(first["OUTPUT"]).reshape(-1)[0]) == 5
    ran = await _accumulate_requests(triton.http_url)
    killed_at = time.monotonic()
    running.kill(0)
    try:
        await asyncio.wait_for(alice.disconnect(), 10)  # (her reconnection attempts go nowhere)
    except Exception:
        pass
    await wait_for_line(process, log, "again (", timeout=90)
    await wait_for_line(process, log, "ended 1 sequence(s) of", timeout=120)
    print(f"\nalice's sequence ended on Triton {time.monotonic() - killed_at:.1f} s after her hypha died")
    assert await _accumulate_requests(triton.http_url) == ran + 1  # the end reached Triton
    alice = await connect_to_server({"server_url": running.hyphas[1].url, **login})
    try:
        again = await alice.get_service(replica_id)
        with pytest.raises(Exception, match="was ended: its caller disconnected"):
            await again.sequence_step(sequence_id=seq, inputs={"INPUT": np.array([1], np.int32)})
    finally:
        await alice.disconnect()


async def test_sigterm_drains_a_replica_whose_callers_are_on_another_hypha(cluster):
    """A caller on hypha-0 with calls running on the replica connected to hypha-1: SIGTERM finishes them, the
    replica says it is busy and takes no new work meanwhile, and later calls by load go to the other one."""
    running = cluster["cluster"]
    _, (stopping_process, stopping_log) = cluster["replicas"]
    stopping_id, staying_id = cluster["ids"][1], cluster["ids"][0]
    caller = await _caller(running.hyphas[0].url, cluster["workspace"], cluster["token"])
    try:
        stopping = await caller.get_service(stopping_id)
        slow = [stopping.execute(model_name="slow", inputs=[np.array([2.0], np.float32)]) for _ in range(2)]
        in_flight = asyncio.gather(*slow)
        while await stopping.get_load() < 2:  # both calls have reached the replica
            assert not in_flight.done(), in_flight
            await asyncio.sleep(0.02)
        stopping_process.terminate()  # SIGTERM
        while await stopping.get_load() < 1_000_000:  # it has taken the signal
            await asyncio.sleep(0.02)
        with pytest.raises(Exception, match="takes no new work"):
            await stopping.execute(model_name="add_sub", inputs=[A, B])
        results = await asyncio.wait_for(in_flight, 60)  # every call in flight completes, across processes
        assert all(float(r["OUTPUT0"][0]) == 2.0 for r in results)
        assert stopping_process.wait(30) == 0, stopping_log.read_text()[-2000:]
        assert "no call running" in stopping_log.read_text()
        for _ in range(5):
            svc = await caller.get_service("triton-client", {"mode": "select:min:get_load"})
            assert svc.id == staying_id
            out = await svc.execute(model_name="add_sub", inputs=[A, B])
            assert np.array_equal(out["OUTPUT0"], A + B)
    finally:
        await caller.disconnect()


def _handshake_extensions(url: str) -> str:
    """The Sec-WebSocket-Extensions a websocket handshake to ``url``/ws gets when it offers permessage-deflate."""
    import base64
    import os
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            more = sock.recv(4096)
            assert more, head
            head += more
    lines = head.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    assert lines[0].split()[1] == "101", lines
    found = [line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("sec-websocket-extensions")]
    return ",".join(found)


async def test_no_websocket_of_the_recipe_is_compressed(cluster):
    """The speed recipe (docs/service.md) in the cluster: an offer of permessage-deflate is declined both through
    the balancer and straight at a hypha process."""
    running = cluster["cluster"]
    assert _handshake_extensions(running.balancer.url(0)) == ""
    assert _handshake_extensions(running.hyphas[1].url) == ""


async def test_a_call_whose_callers_hypha_dies_ends_with_an_error_and_the_replica_goes_on(cluster):
    """The caller is connected to hypha-0, the replica to hypha-1; hypha-0 dies mid-call. The caller's call ends
    with an error within its method timeout (hypha-rpc keeps it while it tries to reconnect, then says the call
    timed out, naming the method and the lost path); it never hangs. The replica finishes the call (its answer
    has nowhere to go) and goes on serving."""
    running = cluster["cluster"]
    replica_id = cluster["ids"][1]  # connected to hypha-1
    caller = await _caller(running.hyphas[0].url, cluster["workspace"], cluster["token"])  # method_timeout 20 s
    watcher = await _caller(running.hyphas[1].url, cluster["workspace"], cluster["token"])
    try:
        svc = await caller.get_service(replica_id)
        replica = await watcher.get_service(replica_id)
        in_flight = asyncio.ensure_future(svc.execute(model_name="slow", inputs=[np.array([2.0], np.float32)]))
        while await replica.get_load() < 1:  # the call is running on the replica
            assert not in_flight.done(), in_flight
            await asyncio.sleep(0.02)
        killed_at = time.monotonic()
        running.kill(0)
        outcome = (await asyncio.wait_for(asyncio.gather(in_flight, return_exceptions=True), 60))[0]
        took = time.monotonic() - killed_at
        assert isinstance(outcome, Exception), outcome
        shown = f"{type(outcome).__name__}: {str(outcome)[:90]}"
        print(f"\nthe caller's call ended {took:.1f} s after its hypha died: {shown}")
        assert "execute" in str(outcome) and ("timed out" in str(outcome) or "onnection" in str(outcome)), outcome
        while await replica.get_load() > 0:  # the replica finishes the call (nothing hangs there either)
            await asyncio.sleep(0.05)
        out = await replica.execute(model_name="add_sub", inputs=[A, B])
        assert np.array_equal(out["OUTPUT0"], A + B)
    finally:
        for connection in (caller, watcher):
            try:
                await asyncio.wait_for(connection.disconnect(), 10)
            except Exception:
                pass
