"""A real, local Triton for tests, demos and notebooks: ``TritonServer`` (installs the server once, from the
``nvidia-pytriton`` wheel) and ``install``. Not needed to use the client.

The names are loaded on first use, so that ``python -m pyotritonclient.testing.server`` runs the module once
(no "found in sys.modules" warning)."""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers and the documentation see; loaded lazily below
    from .server import (
        Installation,
        ServerInstallError,
        TritonServer,
        cache_dir,
        free_port_block,
        free_ports,
        install,
    )

__all__ = [
    "Installation",
    "ServerInstallError",
    "TritonServer",
    "cache_dir",
    "free_port_block",
    "free_ports",
    "install",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
