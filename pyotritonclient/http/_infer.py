"""InferInput, InferRequestedOutput and InferResult: the tensors of one inference call.

numpy is imported only inside the numpy methods: the buffer/list methods work without it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

from ..errors import InvalidInputError
from ..protocol import inference as wire
from ..protocol.compression import decompress
from ..protocol.dtypes import get_dtype
from ..protocol.input_data import buffer_data, list_data
from ..protocol.tensors import Buffer, check_shape, pack_values, unpack_values

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np


_TENSORS: Any = None


def _tensors() -> Any:
    """utils/tensors.py (numpy to and from the protocol's tensors), imported on first use: this module works
    without numpy."""
    global _TENSORS
    if _TENSORS is None:
        from ..utils import tensors

        _TENSORS = tensors
    return _TENSORS


class InferInput:
    """An input tensor: name, shape, datatype and its data (binary or JSON)."""

    def __init__(self, name: str, shape: Sequence[int], datatype: str) -> None:
        if not isinstance(name, str) or not name:
            raise InvalidInputError(f"input name must be a non-empty str, got {name!r}")
        self._name = name
        self._shape = self._checked_shape(shape)
        try:
            self._datatype = get_dtype(datatype, f"datatype of input {name!r}").name
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None
        self._binary: Optional[Buffer] = None
        self._json: Optional[List[Any]] = None
        self._parameters: Dict[str, Any] = {}

    @classmethod
    def from_checked(cls, name: str, shape: List[int], datatype: str, array: Any) -> InferInput:
        """An input whose name, shape, wire datatype and little-endian C-contiguous array of that datatype
        were checked by the caller (model_plan): built without checking them again."""
        tensor = cls.__new__(cls)
        tensor._name, tensor._shape, tensor._datatype = name, shape, datatype
        tensor._binary = memoryview(array.reshape(-1).view("u1"))
        tensor._json = None
        tensor._parameters = {}
        return tensor

    def _checked_shape(self, shape: Sequence[int]) -> List[int]:
        try:
            return check_shape(shape, getattr(self, "_name", "?"))
        except ValueError as exc:
            raise InvalidInputError(str(exc)) from None

    def name(self) -> str:
        """The input's name."""
        return self._name

    def datatype(self) -> str:
        """The input's Triton datatype (``FP32``, ``BYTES``...)."""
        return self._datatype

    def shape(self) -> List[int]:
        """The input's shape."""
        return list(self._shape)

    def set_shape(self, shape: Sequence[int]) -> InferInput:
        """Change the shape (the data set before must be set again to match it)."""
        self._shape = self._checked_shape(shape)
        return self

    def _clear(self) -> None:
        self._binary, self._json = None, None
        for key in ("shared_memory_region", "shared_memory_byte_size", "shared_memory_offset"):
            self._parameters.pop(key, None)

    def set_data_from_numpy(self, input_tensor: np.ndarray, binary_data: bool = True) -> InferInput:
        """Take the data from a numpy array whose dtype and shape match this input.

        Binary data is a zero-copy view of a C-contiguous array: do not modify the array before
        the request is sent.
        """
        binary, json_data = _tensors().input_data(self._name, self._shape, self._datatype, input_tensor, binary_data)
        self._clear()
        self._binary, self._json = binary, json_data
        return self

    def set_data_from_buffer(self, buffer: Buffer, binary_data: bool = True) -> InferInput:
        """Take raw wire-layout bytes (little-endian, row-major; BYTES length-prefixed). No numpy needed."""
        binary, json_data = buffer_data(self._name, self._shape, self._datatype, buffer, binary_data)
        self._clear()
        self._binary, self._json = binary, json_data
        return self

    def set_data_from_list(self, values: Sequence[Any], binary_data: bool = False) -> InferInput:
        """Take a flat list of Python values (bool/int/float; str or bytes for BYTES). No numpy needed."""
        binary, json_data = list_data(self._name, self._shape, self._datatype, values, binary_data)
        self._clear()
        self._binary, self._json = binary, json_data
        return self

    def set_shared_memory(self, region_name: str, byte_size: int, offset: int = 0) -> InferInput:
        """Read this input from a registered shared-memory region instead of the request body."""
        self._clear()
        self._parameters["shared_memory_region"] = region_name
        self._parameters["shared_memory_byte_size"] = int(byte_size)
        if offset:
            self._parameters["shared_memory_offset"] = int(offset)
        return self

    def _get_binary_data(self) -> Optional[Buffer]:
        return self._binary

    def _get_tensor(self) -> Dict[str, Any]:
        return self.to_wire().header()

    def to_wire(self) -> wire.TensorData:
        """The input as the sans-I/O protocol layer takes it (JSON header + binary data)."""
        if self._binary is None and self._json is None and "shared_memory_region" not in self._parameters:
            raise InvalidInputError(
                f"input {self._name!r} has no data: call set_data_from_numpy, set_data_from_buffer or "
                "set_data_from_list first"
            )
        return wire.TensorData(
            self._name, self._datatype, list(self._shape), self._binary, self._json, dict(self._parameters)
        )


Tensor = Union[InferInput, wire.TensorData]
"""An input as ``infer`` takes it: the client's ``InferInput`` or the protocol's ``TensorData`` (what values/ makes)."""


class InferRequestedOutput:
    """An output to return: binary or JSON, optionally as top-``class_count`` classification."""

    def __init__(
        self,
        name: str,
        binary_data: bool = True,
        class_count: int = 0,
        parameters: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._name = name
        self._binary = binary_data
        self._class_count = class_count
        self._parameters = dict(parameters or {})

    def name(self) -> str:
        """The output's name."""
        return self._name

    def set_shared_memory(self, region_name: str, byte_size: int, offset: int = 0) -> InferRequestedOutput:
        """Have the server write this output into a registered shared-memory region."""
        self._parameters.update(shared_memory_region=region_name, shared_memory_byte_size=int(byte_size))
        if offset:
            self._parameters["shared_memory_offset"] = int(offset)
        return self

    def unset_shared_memory(self) -> InferRequestedOutput:
        """Receive this output in the response again, not in shared memory."""
        for key in ("shared_memory_region", "shared_memory_byte_size", "shared_memory_offset"):
            self._parameters.pop(key, None)
        return self

    def _get_tensor(self) -> Dict[str, Any]:
        return self.to_wire().header()

    def to_wire(self) -> wire.RequestedOutput:
        """The requested output as the protocol layer takes it."""
        binary = self._binary and "shared_memory_region" not in self._parameters
        return wire.RequestedOutput(self._name, binary, self._class_count, dict(self._parameters))


class InferResult:
    """The outputs of one inference. Binary outputs are views on the one response buffer."""

    def __init__(self, response: wire.InferResponse) -> None:
        self._response = response

    @classmethod
    def from_response_body(
        cls,
        response_body: Buffer,
        verbose: bool = False,
        header_length: Optional[int] = None,
        content_encoding: Optional[str] = None,
    ) -> InferResult:
        """Parse a complete response body.

        ``header_length`` comes from the Inference-Header-Content-Length header; the body is decompressed
        first if ``content_encoding`` says so."""
        body = decompress(response_body, content_encoding)
        result = cls(wire.parse_infer_response(body, header_length))
        if verbose:
            print(json.dumps(result.get_response()))
        return result

    def to_wire(self) -> wire.InferResponse:
        """The response as the protocol layer parsed it (header and output tensors), e.g. for values/."""
        return self._response

    def get_response(self) -> Dict[str, Any]:
        """The response's JSON header (model_name, model_version, id, parameters, outputs)."""
        return self._response.header

    def get_output(self, name: str) -> Optional[Dict[str, Any]]:
        """The JSON header entry of output ``name`` (datatype, shape, parameters), or None."""
        for output in self._response.header.get("outputs", []):
            if output.get("name") == name:
                return dict(output)
        return None

    def output_names(self) -> List[str]:
        """The names of the outputs in this response."""
        return list(self._response.outputs)

    def _tensor(self, name: str) -> Optional[wire.OutputTensor]:
        return self._response.outputs.get(name)

    def as_buffer(self, name: str) -> Optional[memoryview]:
        """An output's raw wire bytes (BYTES still length-prefixed), without numpy; None if absent."""
        tensor = self._tensor(name)
        if tensor is None:
            return None
        if tensor.binary is not None:
            return tensor.binary
        if tensor.json is None:
            return None  # e.g. written to shared memory
        return memoryview(pack_values(tensor.datatype, tensor.json))

    def as_list(self, name: str) -> Optional[List[Any]]:
        """An output's values as a flat Python list, without numpy. BYTES items are ``bytes`` when the server
        sent the output as binary data and ``str`` when it sent it as JSON (as ``tritonclient`` gives them)."""
        tensor = self._tensor(name)
        if tensor is None:
            return None
        if tensor.binary is not None:
            return unpack_values(tensor.datatype, tensor.binary)
        return None if tensor.json is None else list(tensor.json)  # JSON BYTES stay str, as tritonclient gives them

    def as_numpy(self, name: str) -> Optional[np.ndarray]:
        """An output as a numpy array (a zero-copy view for binary fixed-size outputs); None if absent."""
        tensor = self._tensor(name)
        if tensor is None:
            return None
        array: Optional[np.ndarray] = _tensors().output_array(tensor)
        return array
