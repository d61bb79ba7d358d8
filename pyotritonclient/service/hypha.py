"""Register a TritonService on a hypha server (hypha-rpc). hypha-rpc reconnects by itself after a lost
connection and registers the service again; ``serve`` keeps the process alive until cancelled.

Callers that disconnect: hypha announces ``client_disconnected`` only inside the workspace where it
happened, so the service frees at once the sequences of callers of its own workspace, and finds the others
gone by asking hypha's registry for their built-in service, then pinging it (``TritonService.check_callers``,
every ``liveness_interval``). Every message is checked first (envelope.py): only what hypha stamps says who
sent it."""

from __future__ import annotations

import asyncio
import contextvars
import signal
from typing import Any, Dict, List, Optional

from ..errors import InferenceServerException
from ..values.ndarray import read
from .core import TritonService
from .envelope import from_a_client, guard
from .http_streams import StreamApp
from .policy import Undecodable

SERVICE_TYPE = "triton-client"


def service_definition(
    service: TritonService, service_id: str = "triton-client", visibility: str = "public"
) -> Dict[str, Any]:
    """The hypha service description: id, type, config (public, with caller context) and the functions."""
    return {
        "id": service_id,
        "name": "Triton Inference Server client",
        "type": SERVICE_TYPE,
        "description": "Run models of a Triton Inference Server on ndarrays: execute, sequences, model listing.",
        "config": {"visibility": visibility, "require_context": True},
        "triton_urls": service.config.shown(),
        **service.api(),
    }


def http_definition(service: TritonService, service_id: str, visibility: str = "public") -> Dict[str, Any]:
    """The service's streams for plain HTTP clients (http_streams.py), an ``asgi`` service that hypha serves at
    ``/{workspace}/apps/{service_id}-http/generate_stream``."""
    return {
        "id": f"{service_id}-http",
        "name": "Triton Inference Server client: streams over HTTP",
        "type": "asgi",
        "config": {"visibility": visibility},
        "serve": StreamApp(service).serve,
    }


async def register(
    service: TritonService,
    hypha_url: str,
    workspace: Optional[str] = None,
    token: Optional[str] = None,
    service_id: str = "triton-client",
    client_id: Optional[str] = None,
    visibility: str = "public",
    websocket_compression: bool = False,
) -> Any:
    """Connect to hypha and register the service; returns (server connection, service info).

    The service's websocket declines permessage-deflate unless ``websocket_compression``: tensors are
    incompressible in practice, and deflating them made a 16 MB call ~9x slower (docs/performance.md)."""
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
    if websocket_compression:
        server = await connect_to_server(options)
    else:
        _decline_compression_in_context()
        marker = _NO_COMPRESSION.set(True)  # read by reconnections too: they run in tasks made in this context
        try:
            server = await connect_to_server(options)
        finally:
            _NO_COMPRESSION.reset(marker)
    if not guard(server):
        await server.disconnect()
        raise RuntimeError(
            "this hypha-rpc cannot be guarded against forged callers (no message hook found): the service refuses "
            "to start; install the hypha-rpc version pinned in pyotritonclient[hypha]"
        )
    if service.caller_alive is None or isinstance(service.caller_alive, CallerCheck):
        service.caller_alive = CallerCheck(server)  # through the connection of now (a fresh one after a loss)
    register_ndarray_codec(server)
    release_on_disconnect(server, service)
    info = await server.register_service(service_definition(service, service_id, visibility))
    await server.register_service(http_definition(service, service_id, visibility))
    _announce_reconnections(server, info["id"] if isinstance(info, dict) else service_id, hypha_url)
    return server, info


def decode_ndarray(value: Dict[str, Any]) -> Any:
    """An RPC ndarray as the service takes it (a numpy array, sharing the received bytes), its lengths checked
    before anything is built. Its ``_rvalue`` may be bytes, a list of chunks, or a ``memoryview``: what npm
    hypha-rpc sends for an ``ArrayBuffer`` (the BioEngine README's JavaScript example), which hypha-rpc's own
    decoder refuses (``Unsupported data type: <class 'dict'>``) before the service runs."""
    import numpy as np

    try:
        raw = read(value, "ndarray")
        from ..utils.byte_order import little_endian

        return np.frombuffer(raw.data, dtype=little_endian(str(value["_rdtype"]))).reshape(raw.shape)
    except Exception as exc:  # refused at the call (policy.payload_size), with its message and no traceback
        return Undecodable(exc.message() if isinstance(exc, InferenceServerException) else f"bad ndarray: {exc}")


def register_ndarray_codec(server: Any) -> None:
    """Decode ndarrays on the service's connection with ``decode_ndarray`` (hypha-rpc's codec hook)."""
    try:
        server.register_codec({"name": "ndarray", "decoder": decode_ndarray})
    except Exception:  # a connection without the hook: hypha-rpc's own decoder stays
        pass


_NO_COMPRESSION: contextvars.ContextVar[bool] = contextvars.ContextVar("pyotriton_no_ws_compression", default=False)


def _decline_compression_in_context() -> None:
    """Make hypha-rpc's websocket connections opened where ``_NO_COMPRESSION`` is set offer no compression.

    hypha-rpc (0.21) has no option for it; its connection builds the ``websockets.connect`` arguments in one
    method, which is wrapped here once. Connections made elsewhere in the process are left as they are."""
    try:
        from hypha_rpc.websocket_client import WebsocketRPCConnection
    except ImportError:
        return
    original = WebsocketRPCConnection._ws_connect_kwargs
    if getattr(original, "_declines_compression", False):
        return

    def connect_kwargs(self: Any) -> Dict[str, Any]:
        kwargs: Dict[str, Any] = original(self)
        if _NO_COMPRESSION.get():
            kwargs["compression"] = None
        return kwargs

    connect_kwargs._declines_compression = True  # type: ignore[attr-defined]
    WebsocketRPCConnection._ws_connect_kwargs = connect_kwargs


class CallerCheck:
    """A ``caller_alive`` for the service: pings the caller's built-in hypha service through ``server`` (the
    service's connection; replaced when the service connects afresh).

    False when hypha says the caller is not connected, or when the caller has not answered at
    ``SILENT_CHECKS`` checks in a row while hypha answered the service itself: a caller of a hypha process that
    died stays listed in Redis until hypha reaps it (every 5 minutes by default), and a ping to it goes
    nowhere. None when the answer is unknown (for example while the service itself is reconnecting)."""

    SILENT_CHECKS = 3

    def __init__(self, server: Any) -> None:
        self.server = server
        self.silent: Dict[str, int] = {}  # caller -> checks in a row without an answer

    async def __call__(self, caller: str) -> Optional[bool]:
        try:  # hypha's registry first: a departed client's services are gone from it at once, on every process
            await asyncio.wait_for(registered(self.server, f"{caller}:built-in"), 8)
        except Exception as exc:
            if "not found" in str(exc).lower() and caller in str(exc):
                self.silent.pop(caller, None)
                return False
        try:  # registered: does it answer? (a client of a hypha process that died stays registered a while)
            builtin = await self.server.rpc.get_remote_service(f"{caller}:built-in", {"timeout": 10})
            answer = await asyncio.wait_for(builtin.ping("ping"), 10) == "pong" or None
        except Exception as exc:
            if "not connected" in str(exc) and caller in str(exc):
                self.silent.pop(caller, None)
                return False
            if not isinstance(exc, asyncio.TimeoutError):
                return None
            try:  # no answer: only evidence when the service's own connection works
                await asyncio.wait_for(ping(self.server), 10)
            except Exception:
                return None
            if len(self.silent) < 10_000 or caller in self.silent:
                self.silent[caller] = self.silent.get(caller, 0) + 1
            return False if self.silent.get(caller, 0) >= self.SILENT_CHECKS else None
        self.silent.pop(caller, None)
        return answer


def release_on_disconnect(server: Any, service: TritonService) -> None:
    """Free a caller's sequences as soon as hypha announces its disconnection (callers of our workspace)."""

    async def disconnected(event: Dict[str, Any]) -> None:
        if not isinstance(event, dict) or from_a_client(event):  # only hypha's own announcements (envelope.py)
            return
        data: Dict[str, Any] = event["data"] if isinstance(event.get("data"), dict) else {}
        client, workspace = data.get("id"), data.get("workspace")
        if client:
            await service.release_caller(f"{workspace}/{client}" if workspace and "/" not in client else client)

    try:
        server.on("client_disconnected", disconnected)
    except Exception:  # an older hypha-rpc: the liveness check still frees them
        pass


class GaveUp(Exception):
    """The service could not get back onto hypha within ``give_up_after`` seconds."""


async def manager_of(server: Any) -> Any:
    """The workspace manager of the hypha process the connection is on now, looked up afresh: after hypha-rpc
    reconnected to another process of a cluster (through a balancer), the connection's own manager proxy still
    names the lost process (hypha-rpc 0.21) and would never answer."""
    rpc = getattr(server, "rpc", None)
    if rpc is None or not hasattr(rpc, "get_manager_service"):
        return server
    return await rpc.get_manager_service({"timeout": 10}, max_retries=1)


async def ping(server: Any) -> Any:
    """Ask the hypha server the connection is on now whether it answers."""
    return await (await manager_of(server)).echo("ping")


async def registered(server: Any, service_id: str) -> Any:
    """hypha's registry entry of ``service_id`` (it raises "not found" for a service that is not listed)."""
    return await (await manager_of(server)).get_service_info(service_id)


def _announce_reconnections(server: Any, service_id: str, hypha_url: str) -> None:
    """Print a line each time hypha-rpc has reconnected by itself and registered the service again (on a
    cluster: possibly through another hypha process). hypha-rpc fires the event when a connection is made;
    the handler is added after the first one, so every call is a reconnection."""

    def registered(*_: Any) -> None:
        print(f"registered {service_id} on {hypha_url} again (reconnected)", flush=True)

    try:
        server.rpc.on("services_registered", registered)
    except Exception:  # an older hypha-rpc: the watch's own line still tells
        pass


async def _watch(
    service: TritonService,
    hypha_url: str,
    state: Dict[str, Any],
    stop: asyncio.Event,
    check_interval: float,
    give_up_after: float,
    options: Dict[str, Any],
) -> None:
    """Keep the service registered. hypha-rpc reconnects by itself after a lost connection, but a hypha that
    restarted with a new signing secret refuses that reconnection for good: when the connection has failed two
    checks in a row, connect afresh (same service id, same configuration), with backoff; give up (``GaveUp``)
    after ``give_up_after`` seconds so a process manager can restart the process."""
    failed_since: Optional[float] = None
    misses = 0
    delay = check_interval
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return
        except asyncio.TimeoutError:
            pass
        try:
            await asyncio.wait_for(ping(state["server"]), 10)
            failed_since, misses, delay = None, 0, check_interval
            continue
        except Exception:
            misses += 1
        now = asyncio.get_running_loop().time()
        if failed_since is None:
            failed_since = now
        down_for = now - failed_since
        if misses < 2:
            continue  # hypha-rpc may be reconnecting by itself
        try:
            await asyncio.wait_for(state["server"].disconnect(), 5)
        except Exception:
            pass
        try:
            state["server"], info = await asyncio.wait_for(register(service, hypha_url, **options), 30)
            print(f"registered {info['id']} on {hypha_url} again (a fresh connection)", flush=True)
            failed_since, misses, delay = None, 0, check_interval
        except Exception as exc:
            if down_for > give_up_after:
                raise GaveUp(f"could not register on {hypha_url} again within {give_up_after} s: {exc}") from None
            delay = min(delay * 2, 30.0)


async def serve(
    service: TritonService,
    hypha_url: str,
    check_interval: float = 15.0,
    give_up_after: float = 300.0,
    grace_period: float = 30.0,
    **options: Any,
) -> None:
    """Register and stay registered until cancelled, SIGTERM or Ctrl-C. On SIGTERM or Ctrl-C the replica
    stops taking new work (``get_load`` reports it busy, new calls are refused saying why), lets the calls in
    flight finish within ``grace_period`` seconds, ends its open sequences on Triton, then unregisters and
    disconnects. A lost registration is made again (see ``_watch``); ``GaveUp`` is raised when that fails for
    ``give_up_after`` s."""
    server, info = await register(service, hypha_url, **options)
    print(f"registered {info['id']} on {hypha_url} (Triton: {', '.join(service.config.shown())})", flush=True)
    state: Dict[str, Any] = {"server": server}
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: List[int] = []
    for name in ("SIGTERM", "SIGINT"):
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError, TypeError):
            pass  # not the main thread, or a platform without signal handlers: cancellation still works
    watcher = loop.create_task(_watch(service, hypha_url, state, stop, check_interval, give_up_after, options))
    try:
        done, _ = await asyncio.wait({watcher, loop.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done:
            watcher.result()  # GaveUp propagates
        else:
            report = await service.drain(grace_period, "the service replica is stopping")
            print(report.describe(grace_period), flush=True)
            try:
                await asyncio.wait_for(state["server"].unregister_service(info["id"]), 10)
            except Exception:
                pass  # disconnecting removes it too
    finally:
        stop.set()
        watcher.cancel()
        for sig in handled:
            loop.remove_signal_handler(sig)
        await service.close()
        try:
            await state["server"].disconnect()
        except Exception:
            pass
