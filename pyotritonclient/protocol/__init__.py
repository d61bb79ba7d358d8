"""Sans-I/O core: the Triton HTTP/REST protocol as pure functions over bytes (no numpy, no asyncio)."""

from ..errors import ProtocolError
from .compression import compress, decompress
from .dtypes import CONFIG_TO_WIRE, DTYPES, DType, config_to_wire, get_dtype
from .inference import (
    HEADER_LENGTH,
    EncodedRequest,
    InferResponse,
    OutputTensor,
    RequestedOutput,
    TensorData,
    build_infer_request,
    error_message,
    find_json_end,
    parse_infer_response,
    request_parameters,
)
from .sse import Event, SSEParser
from .tensors import deserialize_bytes, element_count, expected_nbytes, serialize_bytes

__all__ = [
    "CONFIG_TO_WIRE",
    "DTYPES",
    "DType",
    "config_to_wire",
    "get_dtype",
    "HEADER_LENGTH",
    "EncodedRequest",
    "InferResponse",
    "OutputTensor",
    "RequestedOutput",
    "TensorData",
    "build_infer_request",
    "compress",
    "decompress",
    "error_message",
    "find_json_end",
    "parse_infer_response",
    "request_parameters",
    "Event",
    "SSEParser",
    "ProtocolError",
    "deserialize_bytes",
    "element_count",
    "expected_nbytes",
    "serialize_bytes",
]
