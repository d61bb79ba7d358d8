"""``pyotritonclient.http.aio``: the same async client under tritonclient.http.aio's module name.

``pyotritonclient.http`` is already async; code written for ``tritonclient.http.aio`` changes only its import.
"""

from . import (
    InferenceServerClient,
    InferenceServerClientPlugin,
    InferenceServerException,
    InferInput,
    InferRequestedOutput,
    InferResult,
    Request,
)

__all__ = [
    "InferInput",
    "InferRequestedOutput",
    "InferResult",
    "InferenceServerClient",
    "InferenceServerClientPlugin",
    "InferenceServerException",
    "Request",
]
