"""Sleeps DELAY seconds, then answers OUTPUT0 = DELAY (timeouts and cancellation).

With a request parameter ``started_file`` it first creates that file, so a test can wait until the request is
really running on the server before it cancels or times it out."""
import json
import time

import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            started = json.loads(request.parameters() or "{}").get("started_file")
            if started:
                with open(started, "w") as marker:
                    marker.write("running")
            delay = pb_utils.get_input_tensor_by_name(request, "DELAY").as_numpy()
            time.sleep(float(delay.reshape(-1)[0]))
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUTPUT0", delay)]))
        return responses
