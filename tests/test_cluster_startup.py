"""The BioEngine deployment on hypha's cluster mode: every hypha process runs the startup function
(``pyotritonclient.service.startup:hypha_startup``), so each serves ``public/triton-client`` from its own process.
The BioEngine's plain-HTTP client through the balancer and a Python caller on either process reach it; one
process killed, the same URL through the balancer answers every call again once hypha has removed the dead
process's registration (its orphan reaper, every 5 s here; until then some calls time out)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import requests
from cluster import Cluster
from test_bioengine import execute_over_http, installed_release

A = np.arange(16, dtype=np.int32)
B = np.full(16, 3, dtype=np.int32)


@pytest.fixture
def startup_cluster(cache_dir, triton, built_wheel, tmp_path):
    release = installed_release(cache_dir / "hypha-venv" / "bin" / "python", built_wheel, tmp_path / "release")
    running = Cluster(cache_dir, tmp_path / "cluster")
    for hypha in running.hyphas:
        hypha.env.update(
            {
                "PYTHONPATH": str(release),
                "HYPHA_STARTUP_FUNCTIONS": "pyotritonclient.service.startup:hypha_startup",
                "PYOTRITON_SERVICE_TRITON_URL": triton.http_url,
                # a dead process's registrations stay in Redis until hypha's orphan reaper removes them
                # (default every 300 s); until then hypha may route a call to them (docs/scaling.md)
                "HYPHA_ORPHAN_REAP_INTERVAL": "5",
                "HYPHA_ORPHAN_REAP_INITIAL_DELAY": "1",
            }
        )
    try:
        running.start()
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(str(exc))
    try:
        yield running
    finally:
        running.stop()


def _config_over_http(url: str) -> list:
    response = requests.get(f"{url}/public/services/triton-client/get_config?model_name=add_sub", timeout=60)
    assert response.ok, response.text[:1000]
    return [spec["name"] for spec in response.json()["input"]]


async def test_every_process_serves_public_triton_client_and_one_may_die(startup_cluster):
    from hypha_rpc import connect_to_server

    balancer = startup_cluster.balancer
    for index in (0, 1):  # the BioEngine's HTTP client, through the balancer to each process
        assert _config_over_http(balancer.url(index)) == ["INPUT0", "INPUT1"]
        out = execute_over_http(balancer.url(index), inputs=[A, B], model_name="add_sub")
        assert np.array_equal(out["OUTPUT0"], A + B)
    for hypha in startup_cluster.hyphas:  # a Python caller on either process
        caller = await connect_to_server({"server_url": hypha.url})
        try:
            svc = await caller.get_service("public/triton-client")
            out = await svc.execute(model_name="add_sub", inputs=[A, B])
            assert np.array_equal(out["OUTPUT0"], A + B)
        finally:
            await caller.disconnect()
    killed_at = time.monotonic()
    startup_cluster.kill(0)
    in_a_row, failed = 0, 0
    while in_a_row < 10:  # ten calls in a row through the balancer's port 0 (now hypha-1) succeed
        assert time.monotonic() - killed_at < 180, f"no recovery; {failed} calls failed"  # only stops a hung test
        try:
            out = execute_over_http(balancer.url(0), inputs=[A, B], model_name="add_sub")
            assert np.array_equal(out["OUTPUT0"], A + B)
            in_a_row += 1
        except (AssertionError, requests.RequestException):
            in_a_row, failed = 0, failed + 1
    took = time.monotonic() - killed_at
    print(f"\nwith hypha-0 killed: {failed} calls failed, then every call answered ({took:.1f} s after the kill)")
