"""gray = the mean of the channels of a fixed-size RGB image FP32 [3, 8, 8] (a model with fixed dims)."""
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        out = []
        for r in requests:
            image = pb_utils.get_input_tensor_by_name(r, "image").as_numpy()
            out.append(pb_utils.InferenceResponse([pb_utils.Tensor("gray", image.mean(axis=0).astype("float32"))]))
        return out
