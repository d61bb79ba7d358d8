"""A decoupled sequence model: each step sends COUNT responses, the running sum of INPUT over the sequence.

Triton 2.51's HTTP API cannot reach it with a sequence's id (its /infer refuses decoupled models, its
generate_stream carries no correlation id): the suite keeps that fact, which is why the service refuses a
streaming step of a sequence with the reason (tests/test_stream_sequences.py)."""
import numpy as np
import triton_python_backend_utils as pb_utils


def scalar(request, name):
    return int(pb_utils.get_input_tensor_by_name(request, name).as_numpy().reshape(-1)[0])


class TritonPythonModel:
    def initialize(self, args):
        self.sums = {}

    def execute(self, requests):
        for request in requests:
            value, count, corrid = scalar(request, "INPUT"), scalar(request, "COUNT"), scalar(request, "CORRID")
            total = 0 if scalar(request, "START") else self.sums.get(corrid, 0)
            sender = request.get_response_sender()
            for _ in range(count):
                total += value
                sender.send(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT", np.array([total], np.int32))]))
            if scalar(request, "END"):
                self.sums.pop(corrid, None)
            else:
                self.sums[corrid] = total
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return None
