"""The "imjoy" serialization: any Python object (nested dicts, lists, ndarrays) as one BYTES tensor element.

The bytes are what pyotritonclient 0.2.x sent with ``serialization="imjoy"``: ``msgpack.dumps`` of the object
in imjoy-rpc's data representation (``imjoy_rpc.hypha.RPC.encode``):

- ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes`` (and their subclasses, e.g. ``numpy.float64`` and
  ``numpy.str_``) stay as they are; tuples become lists; dicts and lists are walked;
- a numpy array or any other numpy scalar becomes ``{"_rtype": "ndarray", "_rvalue": <raw C-order bytes>,
  "_rshape": [...], "_rdtype": "float32"}`` (in that key order);
- ``set`` -> ``{"_rtype": "set", "_rvalue": [...]}``, ``memoryview`` -> ``{"_rtype": "memoryview", "_rvalue":
  bytes}``, an exception -> ``{"_rtype": "error", "_rvalue": str(exc)}``;
- a dict that already has ``_rtype`` is walked and its ``_rtype`` moved last (what imjoy-rpc does).

Decoding turns those back (and also understands imjoy-rpc's ``typedarray``, ``orderedmap`` and an ndarray
``_rvalue`` sent in chunks). Server models written for 0.2.x decode it with imjoy-rpc + msgpack, or with any
msgpack reader. Everything else (functions, arbitrary classes, object arrays) is refused with an error.

msgpack is an optional dependency: ``pip install "pyotritonclient[imjoy]"``. numpy is used only if the
object holds arrays (or the data holds ndarrays), so plain data needs no numpy.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from typing import Any, Dict

from ..errors import InvalidInputError

NDARRAY = "ndarray"
_PLAIN = (bool, int, float, str, bytes)
_PREFIX = 'serialization="imjoy"'


def _msgpack() -> Any:
    try:
        import msgpack
    except ImportError:
        raise InvalidInputError(
            f'{_PREFIX} needs msgpack: pip install "pyotritonclient[imjoy]" (or pip install msgpack)'
        ) from None
    return msgpack


def to_imjoy(obj: Any) -> Any:
    """``obj`` in imjoy-rpc's representation: ndarrays (and sets, memoryviews, errors) as ``_rtype`` dicts."""
    if obj is None or isinstance(obj, _PLAIN):
        return obj
    if isinstance(obj, tuple):
        obj = list(obj)
    if isinstance(obj, list):
        return [to_imjoy(value) for value in obj]
    if isinstance(obj, dict):
        if "_rtype" in obj:
            encoded = {key: to_imjoy(value) for key, value in obj.items() if key != "_rtype"}
            encoded["_rtype"] = obj["_rtype"]
            return encoded
        return {key: to_imjoy(value) for key, value in obj.items()}
    np = sys.modules.get("numpy")  # an array can only exist if numpy was imported
    if np is not None and isinstance(obj, (np.ndarray, np.generic)):
        if obj.dtype.hasobject:
            raise InvalidInputError(
                f"{_PREFIX} cannot encode an array of Python objects (dtype {obj.dtype}): "
                "use a list, or an array of numbers"
            )
        return {"_rtype": NDARRAY, "_rvalue": obj.tobytes(), "_rshape": list(obj.shape), "_rdtype": str(obj.dtype)}
    if isinstance(obj, BaseException):
        return {"_rtype": "error", "_rvalue": str(obj)}
    if isinstance(obj, memoryview):
        return {"_rtype": "memoryview", "_rvalue": obj.tobytes()}
    if isinstance(obj, (set, frozenset)):
        return {"_rtype": "set", "_rvalue": [to_imjoy(value) for value in obj]}
    if isinstance(obj, bytearray):
        return bytes(obj)
    raise InvalidInputError(f"{_PREFIX} cannot encode a {type(obj).__module__}.{type(obj).__qualname__}")


def _ndarray(obj: Dict[str, Any], flat: bool) -> Any:
    import numpy as np

    value = obj.get("_rvalue")
    if isinstance(value, (list, tuple)):  # sent in chunks
        if not all(isinstance(chunk, (bytes, bytearray, memoryview)) for chunk in value):
            raise InvalidInputError(f"{_PREFIX}: an ndarray's _rvalue chunks must be bytes")
        value = b"".join(bytes(chunk) for chunk in value)
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise InvalidInputError(f"{_PREFIX}: an ndarray's _rvalue must be bytes, got {type(value).__name__}")
    try:
        array = np.frombuffer(value, dtype=np.dtype(obj.get("_rdtype")))
        return array if flat else array.reshape(tuple(obj.get("_rshape", array.shape)))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{_PREFIX}: bad ndarray in the data ({exc})") from None


def from_imjoy(obj: Any) -> Any:
    """The inverse of ``to_imjoy``: ``_rtype`` dicts back into ndarrays, sets, memoryviews, errors.
    InvalidInputError for data that is not imjoy-encoded as expected (it may come from anyone)."""
    try:
        return _from_imjoy(obj)
    except RecursionError:
        raise InvalidInputError(f"{_PREFIX}: the data is nested too deeply") from None
    except InvalidInputError:
        raise
    except (TypeError, ValueError, KeyError) as exc:  # e.g. a set of lists, an orderedmap of non-pairs
        raise InvalidInputError(f"{_PREFIX}: the data is not imjoy-encoded as expected ({exc})") from None


def _from_imjoy(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_from_imjoy(value) for value in obj]
    if not isinstance(obj, dict):
        return obj
    rtype = obj.get("_rtype")
    if rtype is None:
        return {key: _from_imjoy(value) for key, value in obj.items()}
    if rtype == NDARRAY:
        return _ndarray(obj, flat=False)
    if rtype == "typedarray":
        return _ndarray(obj, flat=True)
    if rtype == "memoryview":
        return memoryview(obj.get("_rvalue", b""))
    if rtype == "set":
        return set(_from_imjoy(obj.get("_rvalue", [])))
    if rtype == "orderedmap":
        return OrderedDict(_from_imjoy(obj.get("_rvalue", [])))
    if rtype == "error":
        return Exception(obj.get("_rvalue", ""))
    decoded = {key: _from_imjoy(value) for key, value in obj.items() if key != "_rtype"}
    decoded["_rtype"] = rtype  # an interface or other imjoy object: kept as a dict
    return decoded


def encode(obj: Any) -> bytes:
    """``obj`` -> the bytes of one BYTES tensor element (imjoy representation, msgpack)."""
    msgpack = _msgpack()
    data = to_imjoy(obj)
    try:
        return bytes(msgpack.packb(data, use_bin_type=True))
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInputError(f"{_PREFIX} cannot encode this object: {exc}") from None


def decode(data: Any) -> Any:
    """The bytes of one BYTES tensor element -> the Python object (ndarrays restored)."""
    msgpack = _msgpack()
    try:
        unpacked = msgpack.unpackb(bytes(data), raw=False, strict_map_key=False)
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{_PREFIX}: the output is not msgpack data ({exc})") from None
    return from_imjoy(unpacked)


__all__ = ["NDARRAY", "decode", "encode", "from_imjoy", "to_imjoy"]
