"""Stateful: OUTPUT is the running sum of INPUT over a sequence (keyed by CORRID); START resets it.

Also the model of sequence_accumulate_str (a symlink): there CORRID is a string, and the id it got is answered
as CORRID_SEEN when the config declares that output."""
import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        self.sums = {}
        outputs = json.loads(args["model_config"])["output"]
        self.answers_id = any(output["name"] == "CORRID_SEEN" for output in outputs)

    def execute(self, requests):
        responses = []
        for request in requests:
            value = int(pb_utils.get_input_tensor_by_name(request, "INPUT").as_numpy().reshape(-1)[0])
            start = int(pb_utils.get_input_tensor_by_name(request, "START").as_numpy().reshape(-1)[0])
            end = int(pb_utils.get_input_tensor_by_name(request, "END").as_numpy().reshape(-1)[0])
            corrid = pb_utils.get_input_tensor_by_name(request, "CORRID").as_numpy().reshape(-1)[0]
            corrid = bytes(corrid) if isinstance(corrid, bytes) else int(corrid)
            total = (0 if start else self.sums.get(corrid, 0)) + value
            if end:
                self.sums.pop(corrid, None)
            else:
                self.sums[corrid] = total
            outputs = [pb_utils.Tensor("OUTPUT", np.array([[total]], np.int32))]
            if self.answers_id:
                outputs.append(pb_utils.Tensor("CORRID_SEEN", np.array([[corrid]], np.object_)))
            responses.append(pb_utils.InferenceResponse(outputs))
        return responses
