"""Stateful, keyed by a string CORRID: OUTPUT is the running sum of INPUT over a sequence; CORRID_SEEN the id."""
import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.sums = {}

    def execute(self, requests):
        responses = []
        for request in requests:
            value = int(pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy().reshape(-1)[0])
            start = int(pb_utils.get_input_tensor_by_name(request, "START").as_numpy().reshape(-1)[0])
            end = int(pb_utils.get_input_tensor_by_name(request, "END").as_numpy().reshape(-1)[0])
            corrid = bytes(pb_utils.get_input_tensor_by_name(request, "CORRID").as_numpy().reshape(-1)[0])
            total = (0 if start else self.sums.get(corrid, 0)) + value
            if end:
                self.sums.pop(corrid, None)
            else:
                self.sums[corrid] = total
            outputs = [
                pb_utils.Tensor("OUTPUT", np.array([[total]], np.int32)),
                pb_utils.Tensor("CORRID_SEEN", np.array([[corrid]], np.object_)),
            ]
            responses.append(pb_utils.InferenceResponse(outputs))
        return responses
