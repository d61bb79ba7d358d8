"""Computes on every optional input IN_<DTYPE>, so a test can check values against its own arithmetic:
integers + 3 (wrapping in their width), floats * 2 - 1, booleans negated, each BYTES element reversed
followed by b"#" and its length."""
import numpy as np
import triton_python_backend_utils as pb_utils

DTYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
          "FP16", "FP32", "FP64", "BYTES"]


def compute(dtype, x):
    if dtype == "BOOL":
        return np.logical_not(x)
    if dtype == "BYTES":
        out = np.empty(x.shape, dtype=np.object_)
        for i, item in np.ndenumerate(x):
            item = bytes(item)
            out[i] = item[::-1] + b"#" + str(len(item)).encode()
        return out
    if dtype.startswith("FP"):
        return (x * x.dtype.type(2) - x.dtype.type(1)).astype(x.dtype)
    with np.errstate(over="ignore"):
        return (x + x.dtype.type(3)).astype(x.dtype)


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            outputs = []
            for dtype in DTYPES:
                tensor = pb_utils.get_input_tensor_by_name(request, f"IN_{dtype}")
                if tensor is not None:
                    outputs.append(pb_utils.Tensor(f"OUT_{dtype}", compute(dtype, tensor.as_numpy())))
            responses.append(pb_utils.InferenceResponse(outputs))
        return responses
