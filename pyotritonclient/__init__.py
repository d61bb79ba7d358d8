"""pyotritonclient: an async client for NVIDIA Triton Inference Server, in CPython and in the browser.

The high-level API (``execute``, ``execute_batch``, ``get_config``, ``list_models``, ``SequenceExecutor``)
is imported lazily, so that ``import pyotritonclient`` does not import numpy.
"""

from typing import Any

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
    "execute": "execution",
    "execute_batch": "execution",
    "get_config": "execution",
    "list_models": "execution",
    "close_clients": "execution",
    "SequenceExecutor": "sequence",
    "SequenceExcutor": "sequence",
    "ExecuteOptions": "options",
    "Session": "session",
    "session_for": "session",
    "ServerPool": "pool",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pyotritonclient' has no attribute {name!r}")
    import importlib

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
# (the module is "execution", not "execute": a submodule named like the function would shadow it)
