"""Always answers with an error, to test how server errors surface."""
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def execute(self, requests):
        return [pb_utils.InferenceResponse(error=pb_utils.TritonError("deliberate failure from raise_error"))
                for _ in requests]
