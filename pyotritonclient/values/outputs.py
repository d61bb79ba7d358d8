"""Model outputs shaped for the caller: numpy arrays (RPC ndarrays without numpy), BYTES decoded to text or
JSON, the imjoy codec's objects, and plain values for RPC callers. No I/O."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence

from ..http import InferResult
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


def shape_outputs(
    result: InferResult,
    *,
    serialization: Optional[str] = None,
    decode_bytes: bool = False,
    decode_json: bool = False,
) -> Dict[str, Any]:
    """A response's outputs by name: numpy arrays (or RPC ndarrays without numpy); BYTES decoded as asked
    (``str``/JSON lists, or the imjoy codec's objects)."""
    np = numpy_or_none()
    results: Dict[str, Any] = {}
    for output in result.get_response().get("outputs", []):
        name, datatype = output["name"], output.get("datatype")
        shape = [int(d) for d in output.get("shape", [])]
        as_text = serialization == "imjoy" or decode_bytes or decode_json or np is None
        if datatype == "BYTES" and as_text:
            items = result.as_list(name)
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
            results[name] = result.as_numpy(name)
        else:
            buffer = result.as_buffer(name)
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
