"""Input specs read from the values themselves, for a model whose server describes no inputs (by name, any
shape): numpy arrays give their datatype, text and dicts are BYTES, RPC ndarrays say theirs."""

from __future__ import annotations

from collections import abc
from typing import Any, Dict, List, Mapping

from ..errors import InvalidInputError
from ..protocol.dtypes import WIRE_TO_CONFIG

__all__ = ["specs_from_values"]


def _text_like(value: Any) -> bool:
    return isinstance(value, (str, bytes, dict))


def specs_from_values(config: Mapping[str, Any], inputs: Any) -> List[Dict[str, Any]]:
    """Input specs taken from the values themselves (by name, any shape), for a model whose metadata lists no
    inputs: numpy arrays give their datatype, text and dicts are BYTES, RPC ndarrays say theirs."""
    from ..values import ndarray as rpc_ndarray

    model = config.get("name", config.get("model_name", "?"))
    if not isinstance(inputs, abc.Mapping):
        raise InvalidInputError(
            f"the server does not describe the inputs of model {model!r}: give them as a dict by input name"
        )
    specs = []
    for name, value in inputs.items():
        if rpc_ndarray.is_ndarray(value):  # (a dict, but not JSON text: it says its own type)
            raw = rpc_ndarray.read(value, name)
            datatype, ndim = raw.datatype, len(raw.shape)
        elif _text_like(value) or isinstance(value, (list, tuple)) and value and _text_like(value[0]):
            datatype, ndim = "BYTES", 1
        else:
            try:
                import numpy as np
            except ImportError:
                raise InvalidInputError(f"input {name!r}: without numpy, give arrays as RPC ndarrays") from None
            from ..utils import np_to_triton_dtype

            array = np.asarray(value)
            datatype, ndim = np_to_triton_dtype(array.dtype) or "", array.ndim
            if not datatype:
                raise InvalidInputError(f"input {name!r}: no Triton datatype for a {array.dtype} array")
        specs.append({"name": name, "data_type": WIRE_TO_CONFIG[datatype], "dims": [-1] * max(ndim, 1)})
    return specs
