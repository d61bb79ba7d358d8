"""The "imjoy" serialization: any Python object (nested dicts, lists, ndarrays) as one BYTES tensor element.

The bytes are what pyotritonclient 0.2.x sent with ``serialization="imjoy"``: the object in imjoy-rpc's
data representation (an ndarray becomes ``{"_rtype": "ndarray", "_rvalue": <raw bytes>, "_rshape": [...],
"_rdtype": "float32"}``; dicts, lists and plain values stay as they are), packed with msgpack. Server models
written for 0.2.x decode it with imjoy-rpc + msgpack, or with any msgpack reader.

msgpack is an optional dependency: ``pip install "pyotritonclient[imjoy]"``.
"""

from __future__ import annotations

from typing import Any

from .errors import InferenceServerException

NDARRAY = "ndarray"


def _msgpack() -> Any:
    try:
        import msgpack
    except ImportError:
        raise InferenceServerException(
            'serialization="imjoy" needs msgpack: pip install "pyotritonclient[imjoy]" (or pip install msgpack)'
        ) from None
    return msgpack


def to_imjoy(obj: Any) -> Any:
    """Replace every numpy array (and numpy scalar) in ``obj`` by imjoy-rpc's ndarray representation."""
    np = _numpy_if_loaded()
    if np is not None and isinstance(obj, (np.ndarray, np.generic)):
        array = np.asarray(obj)
        return {
            "_rtype": NDARRAY,
            "_rvalue": array.tobytes(),
            "_rshape": list(array.shape),
            "_rdtype": str(array.dtype),
        }
    if isinstance(obj, dict):
        return {key: to_imjoy(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_imjoy(value) for value in obj]
    return obj


def from_imjoy(obj: Any) -> Any:
    """Turn imjoy-rpc's ndarray representations in ``obj`` back into numpy arrays."""
    if isinstance(obj, dict):
        if obj.get("_rtype") == NDARRAY and "_rvalue" in obj:
            import numpy as np

            dtype = np.dtype(obj["_rdtype"])
            return np.frombuffer(obj["_rvalue"], dtype=dtype).reshape(obj.get("_rshape") or [])
        return {key: from_imjoy(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [from_imjoy(value) for value in obj]
    return obj


def encode(obj: Any) -> bytes:
    """``obj`` -> the bytes of one BYTES tensor element (imjoy representation, msgpack)."""
    try:
        return _msgpack().packb(to_imjoy(obj), use_bin_type=True)
    except TypeError as exc:
        raise InferenceServerException(f'serialization="imjoy" cannot encode this object: {exc}') from None


def decode(data: Any) -> Any:
    """The bytes of one BYTES tensor element -> the Python object (ndarrays restored)."""
    try:
        return from_imjoy(_msgpack().unpackb(bytes(data), raw=False, strict_map_key=False))
    except ValueError as exc:
        raise InferenceServerException(f'serialization="imjoy": the output is not msgpack data ({exc})') from None


def _numpy_if_loaded() -> Any:
    import sys

    return sys.modules.get("numpy")
