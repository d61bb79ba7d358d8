"""A stand-in for the BioEngine's model runner, with its interface: one BYTES input holding msgpack'd
imjoy-encoded {"model_id", "inputs", "return_rdf", "weight_format"}, one BYTES output "result" holding
{"success": True, "rdf": {...}} (return_rdf) or {"success": True, "outputs": [...]}, or
{"success": False, "error": "..."}. Models: "affable-shark" (outputs = each input array * 2, as float32) and
"chatty-frog" (outputs = each input array's sum over its last axis, as float32); any other id fails."""
import msgpack
import numpy as np
import triton_python_backend_utils as pb_utils

MODELS = {
    "affable-shark": {"name": "NucleiSegmentationBoundaryModel", "axes": "bcyx", "run": lambda a: a.astype(np.float32) * 2},
    "chatty-frog": {"name": "StarDist stand-in", "axes": "byxc", "run": lambda a: a.astype(np.float32).sum(-1)},
}


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


def run(request):
    model_id = request.get("model_id")
    model = MODELS.get(model_id)
    if model is None:
        return {"success": False, "error": f"model {model_id!r} not found"}
    if request.get("return_rdf"):
        rdf = {"id": model_id, "name": model["name"], "format_version": "0.4.9",
               "inputs": [{"name": "input0", "axes": model["axes"], "data_type": "float32"}],
               "outputs": [{"name": "output0", "axes": model["axes"]}], "weights": {"torchscript": {}}}
        return {"success": True, "rdf": rdf}
    return {"success": True, "outputs": [model["run"](array) for array in request.get("inputs") or []]}


class TritonPythonModel:
    def execute(self, requests):
        responses = []
        for request in requests:
            raw = pb_utils.get_input_tensor_by_name(request, "inputs").as_numpy().reshape(-1)[0]
            answer = run(decode(msgpack.unpackb(raw, raw=False)))
            packed = msgpack.packb(encode(answer), use_bin_type=True)
            responses.append(pb_utils.InferenceResponse([pb_utils.Tensor("result", np.array([packed], dtype=np.object_))]))
        return responses
