"""Like add_sub, on BYTES tensors holding decimal integers: OUTPUT0 = a + b, OUTPUT1 = a - b, as BYTES."""
import numpy as np
import triton_python_backend_utils as pb_utils


def as_ints(tensor):
    return np.array([int(x) for x in tensor.as_numpy().reshape(-1)], dtype=np.int64)


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            a = as_ints(pb_utils.get_input_tensor_by_name(request, "INPUT0"))
            b = as_ints(pb_utils.get_input_tensor_by_name(request, "INPUT1"))
            to_bytes = lambda v: np.array([str(x).encode() for x in v], dtype=np.object_)
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor("OUTPUT0", to_bytes(a + b)),
                pb_utils.Tensor("OUTPUT1", to_bytes(a - b)),
            ]))
        return responses
