"""Model inputs: values checked against a model's config and turned into the protocol's tensors. No I/O.

numpy is used when it is installed; without it (Pyodide without numpy, e.g. ImJoy's engine offline) inputs
may be RPC ndarrays (``{_rtype: "ndarray", ...}``), strings, bytes, dicts and (nested) lists of numbers. The
common call (arrays that already fit) takes the compiled fast path (compiled.py) instead."""

from __future__ import annotations

import json
from collections import abc
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

from ..errors import InvalidInputError
from ..protocol import inference as wire
from ..protocol.dtypes import config_to_wire, get_dtype
from ..protocol.input_data import Data, buffer_data, list_data
from ..protocol.metadata import CONFIG_SOURCE, batches, full_shape
from ..protocol.tensors import fit_shape
from . import codec as imjoy_codec
from . import ndarray as rpc_ndarray
from .compiled import CompiledInputs
from .ndarray import numpy_or_none
from .specs import specs_from_values

Inputs = Union[Sequence[Any], Mapping[str, Any]]


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
                    raise InvalidInputError(
                        f"input {name!r}: expected BYTES (str, bytes, dict or a list of them), "
                        f"got a list holding {type(item).__name__}"
                    )
                array[i] = _text_bytes(item)
            return array
        if isinstance(value, np.ndarray) and _tensors().takes(value.dtype, "BYTES"):
            return value
        raise InvalidInputError(
            f"input {name!r}: expected BYTES (str, bytes, dict or an object/bytes array), got {_describe(value)}"
        )
    if _is_text_like(value):
        raise InvalidInputError(f"input {name!r}: expected {datatype} numbers, got {type(value).__name__}")
    wanted = np.dtype(get_dtype(datatype).host)
    if not isinstance(value, np.ndarray):
        # Python numbers and (nested) lists take the model's dtype, if every value fits it exactly.
        try:
            array = np.asarray(value)
        except ValueError as exc:
            raise InvalidInputError(f"input {name!r}: cannot make an array of it ({exc})") from None
        if array.dtype.kind not in "biuf":
            raise InvalidInputError(f"input {name!r}: expected {datatype} numbers, got {_describe(value)}")
        converted = array.astype(wanted)
        if not np.array_equal(converted, array):
            raise InvalidInputError(f"input {name!r}: the values do not fit {datatype} ({wanted})")
        return converted
    if _tensors().takes(value.dtype, datatype):
        return value
    if cast and np.can_cast(value.dtype, wanted, "safe"):
        return value.astype(wanted)
    hint = " (cast=True or --cast converts it safely)" if np.can_cast(value.dtype, wanted, "safe") else ""
    raise InvalidInputError(f"input {name!r}: expected dtype {datatype} ({wanted}), got a {value.dtype} array{hint}")


def _describe(value: Any) -> str:
    dtype = getattr(value, "dtype", None)
    return f"a {dtype} array" if dtype is not None else type(value).__name__


def _check_shape(array: Any, name: str, spec: Mapping[str, Any], config: Mapping[str, Any]) -> Any:
    shape = _checked_shape(list(array.shape), name, spec, config)
    return array if len(shape) == array.ndim else array[None]  # a batching model's single item: batch of one


def _named_inputs(config: Mapping[str, Any], inputs: Inputs) -> List[Tuple[Mapping[str, Any], Any]]:
    specs = list(config.get("input", []))
    if not specs and config.get(CONFIG_SOURCE) == "metadata":  # the server does not describe the inputs
        specs = specs_from_values(config, inputs)
    names = [spec["name"] for spec in specs]
    model = config.get("name", config.get("model_name", "?"))
    if isinstance(inputs, abc.Mapping):
        unknown = [key for key in inputs if key not in names]
        if unknown:
            raise InvalidInputError(f"model {model!r} has no input {unknown[0]!r}; its inputs are {names}")
        values = [inputs.get(name) for name in names]
    elif isinstance(inputs, (list, tuple)):
        if len(inputs) > len(specs):
            raise InvalidInputError(f"model {model!r} takes {len(specs)} inputs {names}, got {len(inputs)}")
        values = list(inputs) + [None] * (len(specs) - len(inputs))
    else:
        raise InvalidInputError(
            f"inputs must be a list (in the order {names}) or a dict by input name, got {type(inputs).__name__}"
        )
    pairs = []
    for spec, value in zip(specs, values):
        if value is None:
            if not spec.get("optional", False):
                raise InvalidInputError(f"model {model!r}: input {spec['name']!r} is missing (required)")
            continue
        pairs.append((spec, value))
    return pairs


def _checked_shape(shape: List[int], name: str, spec: Mapping[str, Any], config: Mapping[str, Any]) -> List[int]:
    """``shape`` against the config (a batching model's single item gets the batch dimension)."""
    expected = full_shape(spec, config)
    fitted = fit_shape(shape, expected, batches(config))
    if fitted is None:
        raise InvalidInputError(f"input {name!r}: expected shape {expected} (-1: any size), got {list(shape)}")
    return list(fitted)


def _nested(value: Any, name: str) -> Tuple[List[int], List[Any]]:
    """A scalar or (nested, rectangular) list -> (shape, flat values), without numpy."""
    if not isinstance(value, (list, tuple)):
        return [], [value]
    if not value:
        return [0], []
    parts = [_nested(item, name) for item in value]
    inner = parts[0][0]
    if any(shape != inner for shape, _ in parts):
        raise InvalidInputError(f"input {name!r}: the nested lists are not rectangular")
    return [len(value), *inner], [v for _, flat in parts for v in flat]


def _plain_values(value: Any, name: str, datatype: str) -> Tuple[List[int], List[Any]]:
    """A value for ``datatype`` as (shape, flat list), numpy-free: text for BYTES, numbers otherwise."""
    if datatype == "BYTES":
        if _is_text_like(value):
            return [1], [_text_bytes(value)]
        shape, flat = _nested(value, name)
        if not shape or not all(_is_text_like(v) for v in flat):
            raise InvalidInputError(
                f"input {name!r}: expected BYTES (str, bytes, dict or a list of them), got {_describe(value)}"
            )
        return shape, [_text_bytes(v) for v in flat]
    if _is_text_like(value):
        raise InvalidInputError(f"input {name!r}: expected {datatype} numbers, got {type(value).__name__}")
    shape, flat = _nested(value, name)
    integral = datatype.startswith(("INT", "UINT"))
    for item in flat:
        ok = (
            isinstance(item, bool)
            if datatype == "BOOL"
            else (
                isinstance(item, int) and not isinstance(item, bool)
                if integral
                else isinstance(item, (int, float)) and not isinstance(item, bool)
            )
        )
        if not ok:
            raise InvalidInputError(
                f"input {name!r}: expected {datatype} values, got a {type(item).__name__} ({item!r})"
            )
    return shape, flat


def _input(
    name: str,
    datatype: str,
    value: Any,
    spec: Mapping[str, Any],
    config: Mapping[str, Any],
    cast: bool,
    np: Any,
    binary: bool,
) -> wire.TensorData:
    """One checked input value -> its tensor (raw bytes, or JSON for servers without the binary extension)."""
    if rpc_ndarray.is_ndarray(value):
        raw = rpc_ndarray.read(value, name)
        if np is None:
            if raw.datatype != datatype:
                raise InvalidInputError(
                    f"input {name!r}: expected dtype {datatype}, got a {value.get('_rdtype')} ndarray"
                )
            shape = _checked_shape(raw.shape, name, spec, config)
            return _tensor(name, datatype, shape, buffer_data(name, shape, datatype, raw.data, binary))
        value = np.frombuffer(raw.data, dtype=rpc_ndarray.WIRE_TO_NUMPY[raw.datatype]).reshape(raw.shape)
    if np is None:
        shape, flat = _plain_values(value, name, datatype)
        shape = _checked_shape(shape, name, spec, config)
        return _tensor(name, datatype, shape, list_data(name, shape, datatype, flat, binary))
    array = _to_array(value, name, datatype, cast)
    array = _check_shape(array, name, spec, config)
    shape = list(array.shape)
    return _tensor(name, datatype, shape, _tensors().input_data(name, shape, datatype, array, binary))


def _tensor(name: str, datatype: str, shape: List[int], data: Data) -> wire.TensorData:
    return wire.TensorData(name, datatype, shape, data[0], data[1])


def _tensors() -> Any:
    """utils/tensors.py (numpy's side of the rules), imported when numpy is there."""
    from ..utils import tensors

    return tensors


def prepare_inputs(
    config: Mapping[str, Any],
    inputs: Inputs,
    *,
    cast: bool = False,
    serialization: Optional[str] = None,
    binary: bool = True,
    plan: Optional[CompiledInputs] = None,
) -> List[wire.TensorData]:
    """Check ``inputs`` against the model config and turn them into the protocol's tensors, which
    ``InferenceServerClient.infer`` takes as inputs (nothing is sent);
    ``binary=False``: tensors as JSON lists (servers without Triton's binary tensor extension); ``plan``: the
    config's compiled plan, which takes arrays that need no conversion without the general checks."""
    if serialization not in (None, "triton", "imjoy"):
        raise InvalidInputError(f"serialization must be None, 'triton' or 'imjoy', got {serialization!r}")
    if plan is not None and binary and serialization != "imjoy":
        fast = plan.fast_inputs(inputs)
        if fast is not None:
            return fast
    np = numpy_or_none()
    prepared = []
    for spec, value in _named_inputs(config, inputs):
        name = spec["name"]
        datatype = config_to_wire(spec["data_type"])
        if serialization == "imjoy":
            if datatype != "BYTES":
                raise InvalidInputError(
                    f'input {name!r}: serialization="imjoy" needs BYTES (TYPE_STRING) inputs, the model has {datatype}'
                )
            shape = _checked_shape([1], name, spec, config)
            encoded = list_data(name, shape, "BYTES", [imjoy_codec.encode(value)], binary=True)
            prepared.append(_tensor(name, "BYTES", shape, encoded))
        else:
            prepared.append(_input(name, datatype, value, spec, config, cast, np, binary))
    return prepared


__all__ = [
    "Inputs",
    "prepare_inputs",
]
