"""Answers the request's parameters as a JSON string (PARAMETERS), and INPUT0 unchanged (OUTPUT0)."""
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            params = np.array([request.parameters().encode()], dtype=np.object_)
            data = pb_utils.get_input_tensor_by_name(request, "INPUT0").as_numpy()
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor("PARAMETERS", params), pb_utils.Tensor("OUTPUT0", data),
            ]))
        return responses
