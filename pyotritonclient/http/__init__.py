"""Async Triton HTTP/REST client with the API of ``tritonclient.http`` (add ``await``).

Like ``tritonclient.http`` this module also offers the helpers of ``utils`` (``np_to_triton_dtype``,
``serialize_byte_tensor``...); they need numpy and are loaded on first use, so importing the client does not.
"""

from typing import Any

from ..errors import InferenceServerException, InferenceServerTimeout
from ..protocol.inference import RESERVED_PARAMETER_PREFIX, RESERVED_PARAMETERS
from ._async import InferAsyncRequest
from ._client import InferenceServerClient
from ._infer import InferInput, InferRequestedOutput, InferResult
from ._plugin import InferenceServerClientPlugin, Request

TRITON_RESERVED_REQUEST_PARAMS = list(RESERVED_PARAMETERS)
TRITON_RESERVED_REQUEST_PARAMS_PREFIX = RESERVED_PARAMETER_PREFIX

_FROM_UTILS = (
    "deserialize_bf16_tensor",
    "deserialize_bytes_tensor",
    "np_to_triton_dtype",
    "raise_error",
    "serialize_bf16_tensor",
    "serialize_byte_tensor",
    "serialized_byte_size",
    "triton_to_np_dtype",
)


def __getattr__(name: str) -> Any:
    if name in _FROM_UTILS:
        from .. import utils

        value = getattr(utils, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pyotritonclient.http' has no attribute {name!r}")


def __dir__() -> list:  # type: ignore[type-arg]
    return sorted(set(globals()) | set(_FROM_UTILS))


__all__ = [
    "InferAsyncRequest",
    "InferInput",
    "InferRequestedOutput",
    "InferResult",
    "InferenceServerClient",
    "InferenceServerClientPlugin",
    "InferenceServerException",
    "InferenceServerTimeout",
    "Request",
    "TRITON_RESERVED_REQUEST_PARAMS",
    "TRITON_RESERVED_REQUEST_PARAMS_PREFIX",
    *_FROM_UTILS,
]
