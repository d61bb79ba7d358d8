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
