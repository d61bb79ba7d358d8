"""Two real callers of the service over a real hypha: the credentials in the service's Triton URL never reach
them, and concurrent starts over RPC respect the per-caller and the service-wide limits exactly."""

from __future__ import annotations

import asyncio

from pyotritonclient.service import ServiceConfig, TritonService
from pyotritonclient.service.hypha import register


async def test_two_callers_over_hypha(hypha_server, triton):
    from hypha_rpc import connect_to_server

    secret_url = f"http://reader:s3cret-pw@{triton.url}"
    service = TritonService(ServiceConfig(secret_url, max_sequences_per_caller=4, max_sequences=6))
    server, info = await register(service, hypha_server, service_id="triton-hostile")
    callers = [await connect_to_server({"server_url": hypha_server}) for _ in range(2)]
    received = []  # everything a caller gets back, as text
    try:
        services = [await c.get_service(info["id"]) for c in callers]
        service_info = await callers[0].get_service_info(info["id"])
        received.append(repr(service_info) + repr(dict(service_info)))
        assert "add_sub" in {m["name"] for m in await services[0].list_models()}  # the secret URL works
        for svc in services:
            try:
                await svc.list_models(server_url="http://169.254.169.254/latest")
            except Exception as exc:
                received.append(str(exc))
            try:
                await svc.execute(model_name="no_such_model", inputs=[])
            except Exception as exc:
                received.append(str(exc))
        assert any("not allowed by this service" in text and f"http://***@{triton.url}/" in text for text in received)
        for text in received:
            assert "s3cret-pw" not in text and "reader:" not in text, text

        starts = [services[i % 2].sequence_start(model_name="sequence_accumulate") for i in range(40)]
        outcomes = await asyncio.gather(*starts, return_exceptions=True)
        opened = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(opened) == 6  # the service-wide limit, exactly
        per_caller = [len(await svc.list_sequences()) for svc in services]
        assert sorted(per_caller) in ([2, 4], [3, 3]) and max(per_caller) <= 4 and sum(per_caller) == 6
        for failure in (o for o in outcomes if isinstance(o, BaseException)):
            text = str(failure)
            assert "too many open sequences" in text or "the service has 6 open sequences" in text, text
    finally:
        for client in callers:
            await client.disconnect()
        await service.close()
        await server.disconnect()
