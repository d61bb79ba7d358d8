"""The model-config cache of one server: per (model, version) the config, when it was read and its compiled
inputs, kept in one entry; reads started together on a cold cache share one request."""

from __future__ import annotations

import time
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Tuple

from ..values.compiled import CompiledInputs
from ..values.ndarray import numpy_or_none
from .shared import SharedReads

Config = Dict[str, Any]
Key = Tuple[str, str]  # (model name, model version)


class Entry:
    """One cached config, the monotonic time it was read, and its compiled inputs (made on first use)."""

    __slots__ = ("config", "read_at", "compiled")

    def __init__(self, config: Config) -> None:
        self.config = config
        self.read_at = time.monotonic()
        self.compiled: Optional[CompiledInputs] = None


class ConfigCache:
    """Configs by (model, version); ``read`` shares one request among callers that start it together."""

    def __init__(self) -> None:
        self._entries: Dict[Key, Entry] = {}
        self._reads: SharedReads[Config] = SharedReads()

    def get(self, key: Key) -> Optional[Config]:
        """The cached config, or None."""
        entry = self._entries.get(key)
        return None if entry is None else entry.config

    def age(self, key: Key) -> float:
        """Seconds since the config was read (infinite when none is cached)."""
        entry = self._entries.get(key)
        return float("inf") if entry is None else time.monotonic() - entry.read_at

    def put(self, key: Key, config: Config) -> None:
        """Cache ``config`` (read just now)."""
        self._entries[key] = Entry(config)

    def drop(self, key: Key) -> None:
        """Forget one (model, version)."""
        self._entries.pop(key, None)

    def forget(self, model_name: Optional[str] = None) -> None:
        """Forget every version of one model, or every model."""
        for key in [k for k in self._entries if model_name is None or k[0] == model_name]:
            del self._entries[key]

    def compiled(self, key: Key, config: Mapping[str, Any]) -> Optional[CompiledInputs]:
        """The compiled inputs of the cached ``config`` (None for a config the caller gave)."""
        entry = self._entries.get(key)
        if entry is None or entry.config is not config:
            return None
        if entry.compiled is None:
            entry.compiled = CompiledInputs(config, numpy_or_none())
        return entry.compiled

    async def read(self, key: Key, start: Callable[[], Awaitable[Config]]) -> Config:
        """The cached config, else the result of ``start()``, which callers waiting meanwhile share (a caller
        cancelled does not cancel the others' request)."""
        entry = self._entries.get(key)
        if entry is not None:
            return entry.config
        return await self._reads.run(key, start)


__all__ = ["Config", "ConfigCache", "Entry", "Key"]
