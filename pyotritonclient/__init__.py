"""pyotritonclient: an async client for NVIDIA Triton Inference Server, in CPython and in the browser.

The high-level API (``execute``, ``execute_batch``, ``get_config``, ``list_models``, ``SequenceExecutor``)
is imported lazily, so that ``import pyotritonclient`` does not import numpy. The modules that moved into
the layer packages in 0.3 (``pyotritonclient.pool`` is now ``pyotritonclient.engine.pool``, ...) keep their
old import paths: ``MOVED`` maps each old name to its new module, the very same module object.
"""

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .errors import (
    ClientClosedError,
    InferenceServerException,
    InferenceServerTimeout,
    InvalidInputError,
    NoServerError,
    SequenceLostError,
    ServerError,
    UnavailableError,
    UnsupportedError,
)

__version__ = "0.3.0"

_LAZY = {
    "execute": "api",
    "execute_batch": "api",
    "get_config": "api",
    "list_models": "api",
    "close_clients": "api",
    "SequenceExecutor": "sequence",
    "SequenceExcutor": "sequence",
    "ExecuteOptions": "engine.options",
    "Session": "engine.session",
    "session_for": "engine.registry",
    "ServerPool": "engine.pool",
}

# old import path -> where the module lives now (the old name gives the same module object); a tuple: the module
# was split, the old name gives a module that finds each name in the new ones, in order
MOVED: Dict[str, Union[str, Tuple[str, ...]]] = {
    "capabilities": ("protocol.metadata", "values.specs"),
    "execution": "api",
    "loop_sessions": "engine.registry",
    "model_io": ("values.inputs", "values.outputs", "values.ndarray", "protocol.metadata"),
    "model_plan": "values.compiled",
    "ndarray": ("values.ndarray", "values.browser"),
    "options": "engine.options",
    "pool": "engine.pool",
    "serialization": "values.codec",
    "session": ("engine.session", "engine.registry"),
    "session_features": "engine.session",
    "protocol.endpoints": "protocol.urls",
    "transport.fetch": "transport.browser.fetch",
    "transport.xhr": "transport.browser.xhr",
    "transport.http11_head": "protocol.http11",
    # issue 35: names that say their room (a Session is not a server; the asyncio transport is not the protocol)
    "engine.server": "engine.session",
    "transport.http11": "transport.asyncio_http11",
    "transport.http11_connection": "transport.asyncio_connection",
    "transport.browser.platform": "platform",
}


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``pyotritonclient.<old name>`` and answers with the module at its new place."""

    def find_spec(
        self, fullname: str, path: Optional[Sequence[str]], target: Optional[ModuleType] = None
    ) -> Optional[importlib.machinery.ModuleSpec]:
        prefix, _, old = fullname.partition(".")
        if prefix != __name__ or old not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        target = MOVED[spec.name.partition(".")[2]]
        if isinstance(target, str):
            return importlib.import_module(f"{__name__}.{target}")
        return _Split(spec.name, [importlib.import_module(f"{__name__}.{name}") for name in target])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module at the new place is already imported."""


class _Split(ModuleType):
    """An old module that was split: each name is looked up in the new modules, in order."""

    def __init__(self, name: str, parts: List[ModuleType]) -> None:
        super().__init__(name, f"moved: {', '.join(part.__name__ for part in parts)}")
        self.__all__ = [n for part in parts for n in getattr(part, "__all__", [])]
        self._parts = parts

    def __getattr__(self, name: str) -> Any:
        for part in self._parts:
            if hasattr(part, name):
                return getattr(part, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")


if not any(isinstance(finder, _MovedModules) for finder in sys.meta_path):
    sys.meta_path.append(_MovedModules())


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyotritonclient' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "ClientClosedError",
    "InferenceServerException",
    "InferenceServerTimeout",
    "InvalidInputError",
    "NoServerError",
    "SequenceLostError",
    "ServerError",
    "UnavailableError",
    "UnsupportedError",
    "__version__",
    *_LAZY,
]
