"""Model outputs shaped for the caller: numpy arrays (RPC ndarrays without numpy), BYTES decoded to text or
JSON, the imjoy codec's objects, and plain values for RPC callers. No I/O."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Protocol, Sequence, Union

from ..protocol import inference as wire
from ..protocol.tensors import pack_values, unpack_values
from . import codec as imjoy_codec
from . import ndarray as rpc_ndarray
from .ndarray import numpy_or_none

__all__ = ["plain_for_rpc", "shape_outputs"]


def _decode_item(item: Any, as_json: bool) -> Any:
    if isinstance(item, str):  # a BYTES output the server sent as JSON
        text = item
    elif not isinstance(item, bytes):
        return item
    else:
        try:
            text = item.decode("utf-8")
        except UnicodeDecodeError:
            return item
    if as_json:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def _nest(flat: List[Any], shape: Sequence[int]) -> Any:
    """A flat list in row-major order -> nested lists of ``shape``."""
    if len(shape) <= 1:
        return list(flat)
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


class HasWire(Protocol):
    """A result that gives its protocol response (the client's ``InferResult``)."""

    def to_wire(self) -> wire.InferResponse:
        """The parsed response."""


def _items(tensor: wire.OutputTensor) -> Optional[List[Any]]:
    """An output's values as a flat list (BYTES items are bytes when sent binary, str when sent as JSON)."""
    if tensor.binary is not None:
        return unpack_values(tensor.datatype, tensor.binary)
    return None if tensor.json is None else list(tensor.json)


def _buffer(tensor: wire.OutputTensor) -> Optional[Any]:
    if tensor.binary is not None:
        return tensor.binary
    return None if tensor.json is None else memoryview(pack_values(tensor.datatype, tensor.json))


def shape_outputs(
    result: Union[wire.InferResponse, HasWire],
    *,
    serialization: Optional[str] = None,
    decode_bytes: bool = False,
    decode_json: bool = False,
) -> Dict[str, Any]:
    """A response's outputs by name: numpy arrays (or RPC ndarrays without numpy); BYTES decoded as asked
    (``str``/JSON lists, or the imjoy codec's objects). ``result``: the protocol's response, or a client's
    ``InferResult``."""
    response = result if isinstance(result, wire.InferResponse) else result.to_wire()
    np = numpy_or_none()
    results: Dict[str, Any] = {}
    for name, tensor in response.outputs.items():
        datatype, shape = tensor.datatype, list(tensor.shape)
        as_text = serialization == "imjoy" or decode_bytes or decode_json or np is None
        if datatype == "BYTES" and as_text:
            items = _items(tensor)
            if items is None:
                results[name] = None
            elif serialization == "imjoy":
                decoded = [imjoy_codec.decode(item) for item in items]
                results[name] = decoded[0] if len(decoded) == 1 else decoded
            elif decode_bytes or decode_json:
                results[name] = _nest([_decode_item(item, decode_json) for item in items], shape)
            else:
                results[name] = _nest(items, shape)
        elif np is not None:
            from ..utils.tensors import output_array

            results[name] = output_array(tensor)
        else:
            buffer = _buffer(tensor)
            results[name] = None if buffer is None else rpc_ndarray.encode(datatype, shape, buffer)
    return results


def plain_for_rpc(results: Mapping[str, Any]) -> Dict[str, Any]:
    """Outputs as RPC callers take them: arrays stay arrays, object arrays become lists of str/bytes."""
    out: Dict[str, Any] = {}
    for name, value in results.items():
        if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "O":
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value.reshape(-1).tolist()]
        out[name] = value
    return out
