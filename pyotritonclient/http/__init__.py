"""Async Triton HTTP/REST client with the API of ``tritonclient.http`` (add ``await``)."""

from ..errors import InferenceServerException, InferenceServerTimeout
from ._client import InferenceServerClient
from ._infer import InferInput, InferRequestedOutput, InferResult

__all__ = [
    "InferenceServerClient",
    "InferInput",
    "InferRequestedOutput",
    "InferResult",
    "InferenceServerException",
    "InferenceServerTimeout",
]
