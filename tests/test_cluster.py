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
            options += ["--check-interval", "2", "--grace-period", "5"]
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
