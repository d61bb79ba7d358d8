"""Register a TritonService on a hypha server (hypha-rpc). hypha-rpc reconnects by itself after a lost
connection and registers the service again; ``serve`` keeps the process alive until cancelled."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, Optional

from .core import TritonService

SERVICE_TYPE = "triton-client"


def service_definition(service: TritonService, service_id: str = "triton-client",
                       visibility: str = "public") -> Dict[str, Any]:
    return {
        "id": service_id,
        "name": "Triton Inference Server client",
        "type": SERVICE_TYPE,
        "description": "Run models of a Triton Inference Server on ndarrays: execute, sequences, model listing.",
        "config": {"visibility": visibility, "require_context": True},
        "triton_urls": service.config.allowed(),
        **service.api(),
    }


async def register(
    service: TritonService,
    hypha_url: str,
    workspace: Optional[str] = None,
    token: Optional[str] = None,
    service_id: str = "triton-client",
    client_id: Optional[str] = None,
    visibility: str = "public",
) -> Any:
    """Connect to hypha and register the service; returns (server connection, service info)."""
    try:
        from hypha_rpc import connect_to_server
    except ImportError:
        raise RuntimeError('the hypha service needs hypha-rpc: pip install "pyotritonclient[hypha]"') from None
    options: Dict[str, Any] = {"server_url": hypha_url}
    if workspace:
        options["workspace"] = workspace
    if token:
        options["token"] = token
    if client_id:
        options["client_id"] = client_id
    server = await connect_to_server(options)
    info = await server.register_service(service_definition(service, service_id, visibility))
    return server, info


async def serve(service: TritonService, hypha_url: str, **options: Any) -> None:
    """Register and stay registered until cancelled (Ctrl-C); the sequences are ended on the way out."""
    server, info = await register(service, hypha_url, **options)
    print(f"registered {info['id']} on {hypha_url} (Triton: {', '.join(service.config.allowed())})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await service.close()
        await server.disconnect()
