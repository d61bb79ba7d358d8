"""Decoupled: answers COUNT responses "<TEXT> <i>", DELAY seconds apart (generate_stream)."""
import time

import numpy as np
import triton_python_backend_utils as pb_utils


def scalar(request, name, default):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return default if tensor is None else tensor.as_numpy().reshape(-1)[0]


class TritonPythonModel:
    def execute(self, requests):
        for request in requests:
            sender = request.get_response_sender()
            text = scalar(request, "TEXT", b"")
            text = text.decode() if isinstance(text, bytes) else str(text)
            count = int(scalar(request, "COUNT", 3))
            delay = float(scalar(request, "DELAY", 0.0))
            for i in range(count):
                if i and delay:
                    time.sleep(delay)
                out = np.array([f"{text} {i}".encode()], dtype=np.object_)
                sender.send(pb_utils.InferenceResponse([pb_utils.Tensor("TEXT", out)]))
            sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return None
