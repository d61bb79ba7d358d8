"""Client plugins, as in tritonclient: an object called with every request's headers before it is sent."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Dict, MutableMapping, Optional


class Request:
    """What a plugin sees of a request: its ``headers``, a dict the plugin may change in place."""

    def __init__(self, headers: Optional[MutableMapping[str, str]]) -> None:
        self.headers: MutableMapping[str, str] = headers if headers is not None else {}


class InferenceServerClientPlugin(ABC):
    """Base of client plugins: ``__call__(request)`` changes ``request.headers`` in place (add auth, trace ids).

    Registered with ``client.register_plugin(plugin)``, it is called before every request the client sends,
    streams included; one plugin per client (``unregister_plugin()`` first to change it)."""

    @abstractmethod
    def __call__(self, request: Request) -> None:
        """Change ``request.headers`` in place."""


def apply_plugin(plugin: Optional[InferenceServerClientPlugin], headers: Dict[str, str]) -> Dict[str, str]:
    """The headers after the plugin ran on a copy of them (the caller's dicts are never changed)."""
    if plugin is None:
        return headers
    request = Request(dict(headers))
    plugin(request)
    if not isinstance(request.headers, MutableMapping):
        raise TypeError(f"plugin {type(plugin).__name__} left request.headers as a {type(request.headers).__name__}")
    return dict(request.headers)
