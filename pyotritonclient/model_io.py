"""Model inputs and outputs: Python values checked against a model's config and turned into
``InferInput``s; BYTES outputs decoded back into ``str`` / JSON. Pure: nothing here touches the network."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import serialization as imjoy_codec
from .errors import InferenceServerException
from .http import InferInput
from .protocol.dtypes import config_to_wire, get_dtype

Inputs = Union[Sequence[Any], Mapping[str, Any]]


def tensor_summary(spec: Mapping[str, Any], config: Mapping[str, Any]) -> Dict[str, Any]:
    out = {"name": spec["name"], "datatype": config_to_wire(spec["data_type"]), "shape": full_shape(spec, config)}
    if "optional" in spec:
        out["optional"] = bool(spec["optional"])
    return out


def full_shape(spec: Mapping[str, Any], config: Mapping[str, Any]) -> List[int]:
    dims = [int(d) for d in spec.get("dims", [])]
    return ([-1] if config.get("max_batch_size", 0) else []) + dims


# -- inputs ---------------------------------------------------------------------------------------


def _is_text_like(value: Any) -> bool:
    return isinstance(value, (str, bytes, dict))


def _text_bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, dict):
        value = json.dumps(value)
    return str(value).encode("utf-8")


def _to_array(value: Any, name: str, datatype: str, cast: bool) -> Any:
    """One input value -> a numpy array of the model's dtype, or an error naming input and dtypes."""
    import numpy as np

    if datatype == "BYTES":
        if _is_text_like(value):
            return np.array([_text_bytes(value)], dtype=np.object_)
        if isinstance(value, (list, tuple)):
            array = np.empty(len(value), dtype=np.object_)
            for i, item in enumerate(value):
                if not _is_text_like(item):
                    raise InferenceServerException(
                        f"input {name!r}: expected BYTES (str, bytes, dict or a list of them), "
                        f"got a list holding {type(item).__name__}"
                    )
                array[i] = _text_bytes(item)
            return array
        if isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
            return value
        raise InferenceServerException(
            f"input {name!r}: expected BYTES (str, bytes, dict or an object/bytes array), got {_describe(value)}"
        )
    if _is_text_like(value):
        raise InferenceServerException(f"input {name!r}: expected {datatype} numbers, got {type(value).__name__}")
    wanted = np.dtype(np.float32 if datatype == "BF16" else get_dtype(datatype).numpy)
    if not isinstance(value, np.ndarray):
        # Python numbers and (nested) lists take the model's dtype, if every value fits it exactly.
        try:
            array = np.asarray(value)
        except ValueError as exc:
            raise InferenceServerException(f"input {name!r}: cannot make an array of it ({exc})") from None
        if array.dtype.kind not in "biuf":
            raise InferenceServerException(f"input {name!r}: expected {datatype} numbers, got {_describe(value)}")
        converted = array.astype(wanted)
        if not np.array_equal(converted, array):
            raise InferenceServerException(f"input {name!r}: the values do not fit {datatype} ({wanted})")
        return converted
    if value.dtype == wanted:
        return value
    if cast and np.can_cast(value.dtype, wanted, "safe"):
        return value.astype(wanted)
    hint = " (pass cast=True to convert it safely)" if np.can_cast(value.dtype, wanted, "safe") else ""
    raise InferenceServerException(
        f"input {name!r}: expected dtype {datatype} ({wanted}), got a {value.dtype} array{hint}"
    )


def _describe(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    return f"a {dtype} array" if dtype is not None else type(value).__name__


def _check_shape(array: Any, name: str, spec: Mapping[str, Any], config: Mapping[str, Any]) -> Any:
    expected = full_shape(spec, config)
    if config.get("max_batch_size", 0) and array.ndim == len(expected) - 1:
        array = array[None]  # a single item of a batching model: add the batch dimension
    shape = list(array.shape)
    if len(shape) != len(expected) or any(e != -1 and e != s for e, s in zip(expected, shape)):
        raise InferenceServerException(f"input {name!r}: expected shape {expected} (-1: any size), got {shape}")
    return array


def _named_inputs(config: Mapping[str, Any], inputs: Inputs) -> List[Tuple[Mapping[str, Any], Any]]:
    specs = list(config.get("input", []))
    names = [spec["name"] for spec in specs]
    model = config.get("name", config.get("model_name", "?"))
    if isinstance(inputs, Mapping):
        unknown = [key for key in inputs if key not in names]
        if unknown:
            raise InferenceServerException(f"model {model!r} has no input {unknown[0]!r}; its inputs are {names}")
        values = [inputs.get(name) for name in names]
    elif isinstance(inputs, (list, tuple)):
        if len(inputs) > len(specs):
            raise InferenceServerException(
                f"model {model!r} takes {len(specs)} inputs {names}, got {len(inputs)}"
            )
        values = list(inputs) + [None] * (len(specs) - len(inputs))
    else:
        raise InferenceServerException(
            f"inputs must be a list (in the order {names}) or a dict by input name, got {type(inputs).__name__}"
        )
    pairs = []
    for spec, value in zip(specs, values):
        if value is None:
            if not spec.get("optional", False):
                raise InferenceServerException(f"model {model!r}: input {spec['name']!r} is missing (required)")
            continue
        pairs.append((spec, value))
    return pairs


def prepare_inputs(
    config: Mapping[str, Any], inputs: Inputs, *, cast: bool = False, serialization: Optional[str] = None
) -> List[InferInput]:
    """Check ``inputs`` against the model config and turn them into ``InferInput``s (nothing is sent)."""
    if serialization not in (None, "triton", "imjoy"):
        raise InferenceServerException(f"serialization must be None, 'triton' or 'imjoy', got {serialization!r}")
    prepared = []
    for spec, value in _named_inputs(config, inputs):
        name = spec["name"]
        datatype = config_to_wire(spec["data_type"])
        if serialization == "imjoy":
            if datatype != "BYTES":
                raise InferenceServerException(
                    f'input {name!r}: serialization="imjoy" needs BYTES (TYPE_STRING) inputs, the model has {datatype}'
                )
            import numpy as np

            array = np.array([imjoy_codec.encode(value)], dtype=np.object_)
        else:
            array = _to_array(value, name, datatype, cast)
        array = _check_shape(array, name, spec, config)
        prepared.append(InferInput(name, list(array.shape), datatype).set_data_from_numpy(array))
    return prepared


# -- outputs --------------------------------------------------------------------------------------


def _decode_item(item: Any, as_json: bool) -> Any:
    if not isinstance(item, bytes):
        return item
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


def decode_bytes_output(array: Any, as_json: bool) -> Any:
    import numpy as np

    out = np.empty(array.shape, dtype=np.object_)
    for index, item in np.ndenumerate(array):
        out[index] = _decode_item(item, as_json)
    return out.tolist()
