"""Holds the single instance until told to go, and records each request it ran (Triton's request `timeout`).

A request's parameters ``started_file`` (created when it starts running) and ``release_file`` (it runs until that
file exists, 60 s at most) let a test keep the instance busy for exactly as long as it needs, without a clock.
Each request that reaches the model appends its TAG to ``ran_file`` when one is given."""
import json
import os
import time

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            parameters = json.loads(request.parameters() or "{}")
            tags = pb_utils.get_input_tensor_by_name(request, "TAG").as_numpy()
            if parameters.get("ran_file"):
                with open(parameters["ran_file"], "a") as ran:
                    ran.write("".join(t.decode() for t in tags.reshape(-1)) + "\n")
            if parameters.get("started_file"):
                with open(parameters["started_file"], "w") as marker:
                    marker.write("running")
            release = parameters.get("release_file")
            waited = 0.0
            while release and not os.path.exists(release) and waited < 60:
                time.sleep(0.01)
                waited += 0.01
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("TAG_OUT", tags.astype(np.object_))]))
        return responses
