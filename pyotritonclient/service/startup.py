"""Being ``public/triton-client`` on a hypha server: a hypha startup function, configured by environment variables.

    PYOTRITON_SERVICE_TRITON_URL=http://127.0.0.1:8000 \\
        hypha --startup-functions=pyotritonclient.service.startup:hypha_startup

hypha calls ``hypha_startup`` once at start with the ``public`` workspace's API, acting as root. It then

- serves the service inside the hypha process, registered in ``public`` as ``triton-client`` (what the
  BioEngine's web apps, scripts and notebooks call), when ``PYOTRITON_SERVICE_TRITON_URL`` is set;
- writes a token scoped to ``public`` to ``PYOTRITON_SERVICE_TOKEN_FILE`` (mode 0600), when that is set, so that
  service processes of their own (``python -m pyotritonclient.service --workspace public --token ...``) can
  register there too, as replicas that keep their own restarts and SIGTERM drain.

It refuses to start next to hypha's own ``--triton-servers`` (which registers another ``public/triton-client``:
hypha would then pick one of the two at random for every call). See docs/service.md.

Every variable is named after the service command line's option: ``PYOTRITON_SERVICE_<OPTION>``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from ..protocol.urls import server_list
from .core import TritonService
from .envelope import guard
from .hypha import (
    SERVICE_TYPE,
    CallerCheck,
    http_definition,
    register_ndarray_codec,
    release_on_disconnect,
    service_definition,
)
from .policy import SETTINGS, ServiceConfig

PREFIX = "PYOTRITON_SERVICE_"
MiB = 1024 * 1024
TOKEN_SECONDS = 3600 * 24 * 365  # a year: the operator replaces the file when hypha's secret changes


class StartupRefused(RuntimeError):
    """The startup function will not run here (the message says why and what to do)."""


def _setting(env: Mapping[str, str], name: str) -> Any:
    """A tunable setting (policy.SETTINGS) from its variable, of its field's type, else its default."""
    default = ServiceConfig.default(name)
    return type(default)(_number(env, name.upper(), default))


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(PREFIX + name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise StartupRefused(f"{PREFIX}{name} must be a number, got {text!r}") from None
    if not value > 0:
        raise StartupRefused(f"{PREFIX}{name} must be more than 0, got {text!r}")
    return value


def config_from_env(env: Optional[Mapping[str, str]] = None) -> Optional[ServiceConfig]:
    """The service's configuration from ``PYOTRITON_SERVICE_*`` (None when no Triton URL is set)."""
    env = os.environ if env is None else env
    triton = env.get(PREFIX + "TRITON_URL", "").strip()
    if not triton:
        return None
    allowed = server_list(env.get(PREFIX + "ALLOW_URL", ""))
    return ServiceConfig(
        triton_url=triton,
        allowed_urls=allowed,
        max_request_bytes=int(_number(env, "MAX_REQUEST_MB", ServiceConfig.default("max_request_bytes") / MiB) * MiB),
        **{name: _setting(env, name) for name in SETTINGS},
    )


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, readable by this user only, safely on a shared machine: a new file, mode 0600
    from its creation, that then replaces whatever was at ``path`` (a symlink there is replaced, not followed; a
    file someone holds open keeps its old content and never sees the secret)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # O_EXCL, mode 0600
    try:
        os.fchmod(descriptor, 0o600)
        data = text.encode()
        while data:
            data = data[os.write(descriptor, data) :]
        os.fsync(descriptor)
        os.close(descriptor)
        descriptor = -1
        os.replace(temporary, path)
    except BaseException:
        if descriptor >= 0:
            os.close(descriptor)
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


async def _hypha_serves_triton_itself(server: Any) -> bool:
    """Whether this hypha was started with ``--triton-servers``: its own ``triton-client`` is registered in
    ``public`` before startup functions run (and the option is on its command line). A ``triton-client`` of this
    package's type is not hypha's: in cluster mode it is the one another hypha process's startup function made."""
    if any(arg.startswith("--triton-servers") for arg in sys.argv[1:]):
        return True
    try:
        services = await server.list_services({"workspace": "public"})
    except Exception:
        return False
    return any(
        str(s.get("id", "")).endswith(":triton-client") and s.get("type") != SERVICE_TYPE  # (ours: another process's)
        for s in services
        if isinstance(s, Mapping)
    )


async def hypha_startup(server: Any, env: Optional[Mapping[str, str]] = None) -> Dict[str, Any]:
    """hypha's startup function (see the module's docstring). Returns what it did (for logs and tests)."""
    env = os.environ if env is None else env
    if await _hypha_serves_triton_itself(server):
        raise StartupRefused(
            "pyotritonclient's startup function does not run next to hypha's own --triton-servers: both register "
            "public/triton-client and hypha would pick one of the two at random for every call. Start hypha "
            "without --triton-servers (and give PYOTRITON_SERVICE_TRITON_URL instead), or leave this startup "
            "function out (docs/service.md, 'Coming from hypha's triton service')."
        )
    config = config_from_env(env)
    token_file = env.get(PREFIX + "TOKEN_FILE", "").strip()
    if config is None and not token_file:
        raise StartupRefused(
            f"set {PREFIX}TRITON_URL (the Triton server(s) to serve, comma-separated) and/or "
            f"{PREFIX}TOKEN_FILE (where to write a token for service processes of their own)"
        )
    done: Dict[str, Any] = {}
    if token_file:
        token = await server.generate_token(
            {"workspace": "public", "permission": "read_write", "expires_in": TOKEN_SECONDS}
        )
        write_secret(Path(token_file), str(token))
        done["token_file"] = token_file
    if config is not None:
        service = TritonService(config)
        service_id = env.get(PREFIX + "SERVICE_ID", "").strip() or "triton-client"
        visibility = env.get(PREFIX + "VISIBILITY", "").strip() or "public"
        if not guard(server):
            raise StartupRefused(
                "this hypha's hypha-rpc cannot be guarded against forged callers (no message hook found): "
                "install the hypha-rpc version pinned in pyotritonclient[hypha] into hypha's environment"
            )
        service.caller_alive = CallerCheck(server)  # callers of other workspaces: the liveness check
        release_on_disconnect(server, service)  # callers of public: hypha's own event
        register_ndarray_codec(server)
        info = await server.register_service(service_definition(service, service_id, visibility))
        await server.register_service(http_definition(service, service_id, visibility))
        done["service"] = info["id"] if isinstance(info, Mapping) else str(info)
        print(f"pyotritonclient: registered {done['service']} (Triton: {', '.join(config.shown())})", flush=True)
    return done


__all__ = ["PREFIX", "StartupRefused", "config_from_env", "hypha_startup", "write_secret"]
