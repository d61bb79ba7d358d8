"""Cellpose-train-like sequence model: state per sequence (CORRID), reset by START, freed by END.

Each step adds param["steps"] (default 1) to steps_done and the image mean to image_sum, and answers
info = {"steps_done", "samples", "image_sum", "start", "end", "corrid"} and loss = 1 / (1 + steps_done).
param["sleep"] delays the answer (seconds); param["started_file"] is created first, so a test can wait until the
step is really running on the server.
"""
import json
import time

import numpy as np
import triton_python_backend_utils as pb_utils


def flag(request, name):
    return int(pb_utils.get_input_tensor_by_name(request, name).as_numpy().reshape(-1)[0])


class TritonPythonModel:
    def initialize(self, args):
        self.state = {}

    def execute(self, requests):
        responses = []
        for request in requests:
            corrid, start, end = flag(request, "CORRID"), flag(request, "START"), flag(request, "END")
            image = pb_utils.get_input_tensor_by_name(request, "image").as_numpy()
            param = json.loads(pb_utils.get_input_tensor_by_name(request, "param").as_numpy().reshape(-1)[0])
            state = {"steps_done": 0, "samples": 0, "image_sum": 0.0} if start else self.state.get(
                corrid, {"steps_done": 0, "samples": 0, "image_sum": 0.0})
            if param.get("started_file"):
                with open(param["started_file"], "w") as marker:
                    marker.write("running")
            time.sleep(float(param.get("sleep", 0)))  # for timeout and cancellation tests
            state = dict(state)
            state["steps_done"] += int(param.get("steps", 1))
            state["samples"] += 1
            state["image_sum"] += float(image.mean())
            if end:
                self.state.pop(corrid, None)
            else:
                self.state[corrid] = state
            info = dict(state, start=bool(start), end=bool(end), corrid=corrid, live=len(self.state))
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor("info", np.array([[json.dumps(info).encode()]], dtype=np.object_)),
                pb_utils.Tensor("loss", np.array([[1.0 / (1 + state["steps_done"])]], dtype=np.float32)),
            ]))
        return responses
