"""Cellpose-like: image FP32 [C, H, W] + JSON param -> mask UINT16 [H, W] and info (JSON).

mask = 1 where the channel sum of the image exceeds param["threshold"] (default 0), else 0.
info = {"diameter": param.get("diameter"), "shape": [C, H, W], "param": param}.
"""
import json

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            image = pb_utils.get_input_tensor_by_name(request, "image").as_numpy()
            tensor = pb_utils.get_input_tensor_by_name(request, "param")
            param = json.loads(tensor.as_numpy().reshape(-1)[0]) if tensor is not None else {}
            mask = (image.sum(axis=0) > float(param.get("threshold", 0))).astype(np.uint16)
            info = {"diameter": param.get("diameter"), "shape": list(image.shape), "param": param}
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor("mask", mask),
                pb_utils.Tensor("info", np.array([json.dumps(info).encode()], dtype=np.object_)),
            ]))
        return responses
