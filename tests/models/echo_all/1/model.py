"""Echoes every optional input IN_<DTYPE> given to OUT_<DTYPE>, for every Triton dtype (BF16 included)."""
import triton_python_backend_utils as pb_utils

DTYPES = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
          "FP16", "FP32", "FP64", "BYTES", "BF16"]


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            outputs = []
            for dtype in DTYPES:
                tensor = pb_utils.get_input_tensor_by_name(request, f"IN_{dtype}")
                if tensor is None:
                    continue
                if dtype == "BF16":
                    # numpy has no bfloat16: pass the tensor on without converting it.
                    outputs.append(pb_utils.Tensor.from_dlpack(f"OUT_{dtype}", tensor.to_dlpack()))
                else:
                    outputs.append(pb_utils.Tensor(f"OUT_{dtype}", tensor.as_numpy()))
            responses.append(pb_utils.InferenceResponse(outputs))
        return responses
