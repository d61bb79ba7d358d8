"""A model's config compiled once into what every ``execute`` needs: its inputs by position and name with
their wire datatypes, numpy dtypes and shapes, and its output names. The server engine keeps one per cached
config, so the common call (numpy arrays of the model's dtype and shape) is checked with a few lookups and
sent as zero-copy views; anything else takes the general path (inputs.py), which gives the error messages."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from ..protocol import inference as wire
from ..protocol.dtypes import config_to_wire, get_dtype
from ..protocol.metadata import batches
from ..protocol.tensors import expected_shape, fit_shape


class CompiledInput:
    """One input of a model: name, wire datatype, numpy dtype (None for BYTES/BF16), expected shape."""

    __slots__ = ("name", "datatype", "dtype", "shape", "optional", "spec")

    def __init__(self, spec: Mapping[str, Any], batching: bool, np: Any) -> None:
        self.spec = spec
        self.name: str = spec["name"]
        self.datatype = config_to_wire(spec["data_type"])
        numpy_name = get_dtype(self.datatype).numpy
        fixed = np is not None and numpy_name is not None and self.datatype != "BYTES"
        self.dtype = None
        if fixed:
            from ..utils.byte_order import wire_dtype

            self.dtype = wire_dtype(self.datatype)
        self.shape: Tuple[int, ...] = expected_shape(spec.get("dims", []), batching)
        self.optional = bool(spec.get("optional", False))


class CompiledInputs:
    """The inputs and outputs of one config; ``fast_inputs`` builds the request's tensors or says it can't."""

    def __init__(self, config: Mapping[str, Any], np: Any) -> None:
        self.batching = batches(config)
        self.inputs = [CompiledInput(spec, self.batching, np) for spec in config.get("input", [])]
        self.by_name: Dict[str, CompiledInput] = {plan.name: plan for plan in self.inputs}
        self.output_names: List[str] = [spec["name"] for spec in config.get("output", [])]
        self._np = np

    def fast_inputs(self, inputs: Any) -> Optional[List[wire.TensorData]]:
        """The tensors for ``inputs`` when every value is a numpy array that needs nothing done to it (the
        model's dtype, little-endian, the config's shape, or one item of a batching model);
        None otherwise (the general path then checks, converts, and names what is wrong)."""
        np = self._np
        if np is None:
            return None
        if type(inputs) is dict:
            if len(inputs) > len(self.inputs):
                return None
            pairs: List[Tuple[CompiledInput, Any]] = []
            for name, value in inputs.items():
                plan = self.by_name.get(name)
                if plan is None:
                    return None
                pairs.append((plan, value))
        elif type(inputs) is list or type(inputs) is tuple:
            if len(inputs) > len(self.inputs):
                return None
            pairs = list(zip(self.inputs, inputs))
        else:
            return None
        if len(pairs) < len(self.inputs):  # optional inputs left out: every required one must be there
            given = {plan.name for plan, _ in pairs}
            if any(not plan.optional and plan.name not in given for plan in self.inputs):
                return None
        ndarray = np.ndarray
        tensors = []
        for plan, value in pairs:
            if type(value) is not ndarray or plan.dtype is None or value.dtype != plan.dtype:
                return None  # (the one form of utils/tensors.takes that needs no work; a non-contiguous array
                # is copied into order by reshape below, as it must be)
            shape = fit_shape(value.shape, plan.shape, self.batching)
            if shape is None:
                return None
            tensors.append(
                wire.TensorData(plan.name, plan.datatype, list(shape), memoryview(value.reshape(-1).view("u1")))
            )
        return tensors


__all__ = ["CompiledInput", "CompiledInputs"]
