"""A model written for serialization="imjoy" (0.2.x): msgpack + imjoy-rpc's ndarray representation.

It decodes the object, answers {"echo": <object>, "doubled": <every ndarray times 2>, "kinds": <types>,
"sha256": <hex digest of the bytes it received>, "size": <their length>}.
"""
import hashlib

import msgpack
import numpy as np
import triton_python_backend_utils as pb_utils


def decode(obj):
    if isinstance(obj, dict):
        if obj.get("_rtype") == "ndarray":
            return np.frombuffer(obj["_rvalue"], dtype=obj["_rdtype"]).reshape(obj["_rshape"])
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj


def encode(obj):
    if isinstance(obj, np.ndarray):
        return {"_rtype": "ndarray", "_rvalue": obj.tobytes(), "_rshape": list(obj.shape), "_rdtype": str(obj.dtype)}
    if isinstance(obj, dict):
        return {k: encode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [encode(v) for v in obj]
    return obj


def doubled(obj):
    if isinstance(obj, np.ndarray):
        return obj * 2
    if isinstance(obj, dict):
        return {k: doubled(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [doubled(v) for v in obj]
    return obj


def kinds(obj):
    if isinstance(obj, dict):
        return {k: kinds(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [kinds(v) for v in obj]
    return type(obj).__name__


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "inputs").as_numpy().reshape(-1)[0]
            obj = decode(msgpack.unpackb(raw, raw=False))
            answer = {"echo": obj, "doubled": doubled(obj), "kinds": kinds(obj),
                      "sha256": hashlib.sha256(raw).hexdigest(), "size": len(raw)}
            packed = msgpack.packb(encode(answer), use_bin_type=True)
            responses.append(pb_utils.InferenceResponse([
                pb_utils.Tensor("outputs", np.array([packed], dtype=np.object_)),
            ]))
        return responses
