"""The service's command line with a workspace, a token, protected visibility and an extra allowed URL, on a
real hypha: callers of the workspace reach it, others do not."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest


async def test_workspace_token_visibility_and_allow_url(hypha_server, triton, tmp_path):
    from hypha_rpc import connect_to_server

    owner = await connect_to_server({"server_url": hypha_server})
    workspace = owner.config.workspace
    token = await owner.generate_token()
    log = tmp_path / "service.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyotritonclient.service",
            "--hypha-url",
            hypha_server,
            "--triton-url",
            triton.http_url,
            "--allow-url",
            "http://127.0.0.1:9",
            "--workspace",
            workspace,
            "--token",
            token,
            "--visibility",
            "protected",
            "--service-id",
            "cli-protected",
        ],
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
    )
    same = other = None
    try:
        deadline = time.monotonic() + 60
        while "registered " not in log.read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the service did not register: {log.read_text()[-3000:]}")
            time.sleep(0.2)
        service_id = log.read_text().split("registered ", 1)[1].split()[0]
        assert service_id.startswith(f"{workspace}/") and service_id.endswith(":cli-protected")

        same = await connect_to_server({"server_url": hypha_server, "workspace": workspace, "token": token})
        svc = await same.get_service(service_id)
        assert "add_sub" in {m["name"] for m in await svc.list_models()}
        with pytest.raises(Exception, match="not allowed by this service") as info:
            await svc.list_models(server_url="http://127.0.0.2:1")
        assert "http://127.0.0.1:9/" in str(info.value)  # --allow-url is part of the allowlist

        other = await connect_to_server({"server_url": hypha_server})  # an anonymous caller elsewhere
        with pytest.raises(Exception, match="(?i)permission|not found|denied|protected"):
            await other.get_service(service_id)
    finally:
        process.terminate()
        process.wait(15)
        for client in (same, other, owner):
            if client is not None:
                await client.disconnect()


async def test_the_service_comes_back_after_hypha_restarts_with_a_new_secret(cache_dir, triton, tmp_path):
    from hypha_server import HyphaServer, ready_models, start_service_cli, wait_for_line

    hypha = HyphaServer(cache_dir, tmp_path / "hypha", secret="first-secret").start()
    log = tmp_path / "service.log"
    options = ["--client-id", "triton-secret", "--check-interval", "1", "--give-up-after", "120"]
    service = start_service_cli(log, hypha.url, triton.http_url, *options)
    try:
        service_id = await wait_for_line(service, log, "registered ")
        assert "add_sub" in await ready_models(hypha.url, service_id)
        hypha.stop()
        hypha.secret = "second-secret"  # hypha's default on every start: earlier connections are refused
        hypha.start()
        # An anonymous login lands in a new workspace, so the id is the one the service prints now.
        new_id = await wait_for_line(service, log, "again (a fresh connection)", timeout=90)
        assert new_id.endswith("/triton-secret:triton-client")
        assert "add_sub" in await ready_models(hypha.url, new_id)
    finally:
        service.terminate()
        service.wait(15)
        hypha.stop()
