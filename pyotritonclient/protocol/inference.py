"""Inference request bodies out, response bodies in: pure functions over bytes.

A request is a JSON header followed by the binary tensors back to back; the
``Inference-Header-Content-Length`` header tells where the JSON ends. Responses
use the same layout; when that header is missing (a browser whose CORS
configuration does not expose it) the end of the JSON is found by scanning.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..errors import ProtocolError
from .dtypes import DTYPES, get_dtype
from .tensors import Buffer, check_shape, element_count, expected_nbytes

HEADER_LENGTH = "Inference-Header-Content-Length"
# Request parameters Triton keeps for itself (tritonclient's TRITON_RESERVED_REQUEST_PARAMS and _PREFIX).
RESERVED_PARAMETERS = (
    "sequence_id",
    "sequence_start",
    "sequence_end",
    "priority",
    "timeout",
    "headers",
    "binary_data_output",
)
RESERVED_PARAMETER_PREFIX = "triton_"
BINARY_ONLY = ("FP16", "BF16")  # Triton's JSON tensor format has no representation for these


@dataclass
class TensorData:
    """One input tensor as it goes on the wire: raw binary bytes or a flat JSON list."""

    name: str
    datatype: str
    shape: List[int]
    binary: Optional[Buffer] = None
    json: Optional[List[Any]] = None
    parameters: Dict[str, Any] = field(default_factory=dict)

    def header(self) -> Dict[str, Any]:
        """The tensor's entry in the request's JSON header."""
        tensor: Dict[str, Any] = {"name": self.name, "shape": list(self.shape), "datatype": self.datatype}
        params = dict(self.parameters)
        if self.binary is not None:
            params["binary_data_size"] = memoryview(self.binary).nbytes
        elif self.json is not None:
            tensor["data"] = self.json
        if params:
            tensor["parameters"] = params
        return tensor


@dataclass
class RequestedOutput:
    """An output asked for in a request (binary or JSON, optional shared memory or class count)."""

    name: str
    binary: bool = True
    class_count: int = 0
    parameters: Dict[str, Any] = field(default_factory=dict)

    def header(self) -> Dict[str, Any]:
        """The output's entry in the request's JSON header."""
        params = dict(self.parameters)
        params["binary_data"] = bool(self.binary)
        if self.class_count:
            params["classification"] = int(self.class_count)
        return {"name": self.name, "parameters": params}


@dataclass
class EncodedRequest:
    """The body as separate parts (JSON header first) and the headers that describe it."""

    parts: List[Buffer]
    header_length: Optional[int]

    @property
    def headers(self) -> Dict[str, str]:
        """The HTTP headers the encoded body needs (content type, header length)."""
        if self.header_length is None:
            return {"Content-Type": "application/json"}
        return {"Content-Type": "application/octet-stream", HEADER_LENGTH: str(self.header_length)}


def _is_shape(shape: Any) -> bool:
    """A list of non-negative ints already (bool excluded): the common case, checked without conversion."""
    if type(shape) is not list:
        return False
    for dim in shape:
        if type(dim) is not int or dim < 0:
            return False
    return True


def validate_tensor(tensor: TensorData) -> None:
    """Raise ValueError naming the input if its data cannot match its datatype and shape."""
    dtype = DTYPES.get(tensor.datatype) or get_dtype(tensor.datatype, f"datatype of input {tensor.name!r}")
    if not _is_shape(tensor.shape):
        tensor.shape = check_shape(tensor.shape, tensor.name)
    if "shared_memory_region" in tensor.parameters:
        if tensor.binary is not None or tensor.json is not None:
            raise ValueError(f"input {tensor.name!r} has both shared-memory and inline data")
        return
    if (tensor.binary is None) == (tensor.json is None):
        raise ValueError(f"input {tensor.name!r} has no data (or both binary and JSON data)")
    if tensor.binary is not None:
        size = memoryview(tensor.binary).nbytes
        expected = expected_nbytes(dtype.name, tensor.shape)
        if expected is not None and size != expected:
            raise ValueError(
                f"input {tensor.name!r}: {size} bytes of data but {tensor.datatype} with shape "
                f"{tensor.shape} needs {expected}"
            )
    else:
        if tensor.datatype in BINARY_ONLY:
            raise ValueError(f"input {tensor.name!r}: {tensor.datatype} can only be sent as binary data")
        count = element_count(tensor.shape)
        if len(tensor.json) != count:  # type: ignore[arg-type]
            raise ValueError(
                f"input {tensor.name!r}: {len(tensor.json)} JSON values but shape {tensor.shape} "  # type: ignore[arg-type]
                f"has {count} elements"
            )


def request_parameters(
    parameters: Optional[Mapping[str, Any]] = None,
    *,
    sequence_id: Union[int, str] = 0,
    sequence_start: bool = False,
    sequence_end: bool = False,
    priority: int = 0,
    timeout: Optional[int] = None,
) -> Dict[str, Any]:
    """The request-level ``parameters`` object; user keys may not shadow the reserved ones."""
    params: Dict[str, Any] = {}
    for key, value in (parameters or {}).items():
        if not isinstance(key, str):
            raise ValueError(f"parameter names must be str, got {key!r}")
        if key in RESERVED_PARAMETERS:
            hint = f"; use the {key} argument instead" if key not in ("headers", "binary_data_output") else ""
            raise ValueError(f"parameter {key!r} is reserved for Triton{hint}")
        if key.startswith(RESERVED_PARAMETER_PREFIX):
            raise ValueError(
                f"parameter {key!r}: names starting with {RESERVED_PARAMETER_PREFIX!r} are reserved for Triton"
            )
        params[key] = value
    if not isinstance(sequence_id, (int, str)) or isinstance(sequence_id, bool):
        raise TypeError(f"sequence_id must be an int or a str, got {type(sequence_id).__name__}")
    if sequence_id not in (0, ""):
        params["sequence_id"] = sequence_id
        params["sequence_start"] = bool(sequence_start)
        params["sequence_end"] = bool(sequence_end)
    if priority:
        params["priority"] = int(priority)
    if timeout is not None:
        params["timeout"] = int(timeout)
    return params


_COMPACT = json.JSONEncoder(
    separators=(",", ":"), allow_nan=True
)  # (made once: json.dumps with options makes one per call)


def build_infer_request(
    inputs: Sequence[TensorData],
    outputs: Optional[Sequence[RequestedOutput]] = None,
    request_id: str = "",
    parameters: Optional[Mapping[str, Any]] = None,
) -> EncodedRequest:
    """Encode an inference request. Binary tensors stay separate parts: nothing is joined or copied."""
    names = set()
    for tensor in inputs:
        validate_tensor(tensor)
        if tensor.name in names:
            raise ValueError(f"input {tensor.name!r} is given twice")
        names.add(tensor.name)
    header: Dict[str, Any] = {}
    if request_id:
        header["id"] = str(request_id)
    params = dict(parameters or {})
    if outputs:
        header["outputs"] = [output.header() for output in outputs]
    else:
        params["binary_data_output"] = True
    if params:
        header["parameters"] = params
    header["inputs"] = [tensor.header() for tensor in inputs]
    head = _COMPACT.encode(header).encode("utf-8")
    binaries = [t.binary for t in inputs if t.binary is not None and memoryview(t.binary).nbytes]
    if not binaries and not any(t.binary is not None for t in inputs):
        return EncodedRequest([head], None)
    return EncodedRequest([head, *binaries], len(head))


@dataclass
class OutputTensor:
    """One output of a response: its raw binary bytes (a view on the body) or its JSON data."""

    name: str
    datatype: str
    shape: List[int]
    parameters: Dict[str, Any]
    binary: Optional[memoryview] = None
    json: Optional[List[Any]] = None


@dataclass
class InferResponse:
    """A parsed inference response: its JSON header and its outputs by name."""

    header: Dict[str, Any]
    outputs: Dict[str, OutputTensor]

    @property
    def model_name(self) -> str:
        """The model that answered."""
        return str(self.header.get("model_name", ""))

    @property
    def model_version(self) -> str:
        """The model version that answered."""
        return str(self.header.get("model_version", ""))


_JSON_TOKENS = re.compile(rb'\\.|["{}]', re.DOTALL)


def find_json_end(body: Buffer) -> int:
    """Offset just past the JSON object that starts ``body`` (binary data may follow it)."""
    view = memoryview(body).cast("B")
    depth, in_string, started = 0, False, False
    for match in _JSON_TOKENS.finditer(view):
        token = match.group()
        if len(token) == 2:  # an escape: only meaningful inside strings
            continue
        if token == b'"':
            in_string = not in_string
        elif not in_string:
            depth += 1 if token == b"{" else -1
            started = True
            if depth == 0:
                return match.end()
    if not started:
        raise ProtocolError("response body does not start with a JSON object")
    raise ProtocolError("response body ends inside its JSON header")


def _output_tensor(raw: Any) -> OutputTensor:
    """One entry of a response's ``outputs``, every field checked (the server may be broken or hostile)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise ProtocolError("a response output has no name")
    name, given = raw["name"], raw.get("datatype")
    if not isinstance(given, str):
        raise ProtocolError(f"output {name!r}: datatype {str(given)[:40]} is not a string")
    dtype = DTYPES.get(given)
    if dtype is None:  # another spelling, or an error naming the choices
        try:
            dtype = get_dtype(given, "output datatype")
        except ValueError as exc:
            raise ProtocolError(f"output {name!r}: {exc}") from None
    datatype = dtype.name
    shape = raw.get("shape", [])
    if not _is_shape(shape):
        raise ProtocolError(f"output {name!r}: shape {shape!r} is not a list of non-negative ints")
    if not isinstance(params := raw.get("parameters") or {}, dict):
        raise ProtocolError(f"output {name!r}: parameters are not an object")
    size = params.get("binary_data_size")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ProtocolError(f"output {name!r}: binary_data_size {size!r} is not a non-negative int")
        expected = expected_nbytes(dtype.name, shape)
        if expected is not None and size != expected:
            raise ProtocolError(
                f"output {name!r}: {size} bytes of data, but {datatype} with shape {shape} needs {expected}"
            )
    return OutputTensor(name, datatype, shape, params)


def header_length(value: Optional[str]) -> Optional[int]:
    """The Inference-Header-Content-Length header as an int (None when absent); ProtocolError if not digits."""
    if value is None or value == "":
        return None
    text = value.strip()
    if not text.isdigit() or not text.isascii():
        raise ProtocolError(f"Inference-Header-Content-Length {value[:40]!r} is not a non-negative integer")
    return int(text)


def parse_infer_response(body: Buffer, header_length: Optional[int] = None) -> InferResponse:
    """Parse a response body; binary outputs become zero-copy memoryviews into ``body``."""
    view = memoryview(body).cast("B")
    if header_length is None:
        header_length = find_json_end(view)
    if header_length < 0:
        raise ProtocolError(f"JSON header length {header_length} is negative")
    if header_length > len(view):
        raise ProtocolError(f"JSON header length {header_length} exceeds the {len(view)}-byte body")
    try:
        header = json.loads(bytes(view[:header_length]))
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"response JSON header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ProtocolError("response JSON header is not an object")
    outputs: Dict[str, OutputTensor] = {}
    offset = header_length
    entries = header.get("outputs", [])
    if not isinstance(entries, list):
        raise ProtocolError("response 'outputs' is not a list")
    for raw in entries:
        tensor = _output_tensor(raw)
        size = tensor.parameters.get("binary_data_size")
        if size is not None:
            if offset + size > len(view):
                raise ProtocolError(
                    f"output {tensor.name!r} needs {size} bytes at offset {offset} but the body has "
                    f"{len(view)} (truncated response?)"
                )
            tensor.binary = view[offset : offset + size]
            offset += size
        else:
            tensor.json = raw.get("data")
            if tensor.json is not None and (
                not isinstance(tensor.json, list) or len(tensor.json) != element_count(tensor.shape)
            ):
                raise ProtocolError(f"output {tensor.name!r}: its JSON data does not hold {tensor.shape} elements")
            if (
                tensor.datatype == "BYTES"
                and tensor.json is not None
                and not all(isinstance(v, str) for v in tensor.json)
            ):
                raise ProtocolError(f"output {tensor.name!r}: BYTES sent as JSON must be strings")
        if tensor.name in outputs:
            raise ProtocolError(f"output {tensor.name!r} appears twice in the response")
        outputs[tensor.name] = tensor
    if offset != len(view):
        raise ProtocolError(f"{len(view) - offset} unexpected byte(s) after the last output")
    return InferResponse(header, outputs)


def refused_binary_body(status: int, body: Buffer) -> bool:
    """Whether an answer to a request with binary tensors reads like a server that could not parse the body
    at all: 422 (a validation error, as pydantic servers answer) or a 500 whose text is such a validation error
    (MLServer 1.7 answers a binary body with its RequestValidationError traceback)."""
    if status == 422:
        return True
    return status == 500 and b"RequestValidationError" in bytes(body[:65536])


def error_message(body: Buffer, status: int) -> str:
    """Triton's own error text from an error body (``{"error": ...}``), else the body or status."""
    data = bytes(body)
    try:
        parsed = json.loads(data)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), (str, int, float)):
            return str(parsed["error"])
    except (ValueError, RecursionError):
        pass
    text = data.decode("utf-8", "replace").strip()
    return text or f"HTTP {status}"
