"""Decoupled: COUNT responses "token <i>" (padded with "." to SIZE characters), DELAY seconds apart, stopping as
soon as Triton says the request was cancelled (request.is_cancelled()); FAIL_AT: an error response instead of that
token (an error after the stream's 200). What it produced is written to <progress dir>/<TAG>.json after every token
and at the end, so a test can see from outside that Triton stopped it: {"produced", "cancelled", "done"}."""
import json
import os
import tempfile
import time

import numpy as np
import triton_python_backend_utils as pb_utils

PROGRESS = os.environ.get("STREAM_PROGRESS_DIR") or os.path.join(tempfile.gettempdir(), "pyotritonclient-stream-progress")


def scalar(request, name, default):
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    return default if tensor is None else tensor.as_numpy().reshape(-1)[0]


def record(tag, **state):
    if not tag:
        return
    os.makedirs(PROGRESS, exist_ok=True)
    path = os.path.join(PROGRESS, tag + ".json")
    with open(path + ".part", "w") as out:
        json.dump(state, out)
    os.replace(path + ".part", path)


class TritonPythonModel:
    def execute(self, requests):
        for request in requests:
            sender = request.get_response_sender()
            tag = scalar(request, "TAG", b"")
            tag = "".join(c for c in (tag.decode() if isinstance(tag, bytes) else str(tag)) if c.isalnum() or c in "-_")
            count = int(scalar(request, "COUNT", 3))
            delay = float(scalar(request, "DELAY", 0.0))
            fail_at = int(scalar(request, "FAIL_AT", -1))
            size = int(scalar(request, "SIZE", 0))
            produced, cancelled = 0, False
            record(tag, produced=0, cancelled=False, done=False)
            for i in range(count):
                if request.is_cancelled():
                    cancelled = True
                    break
                if i and delay:
                    time.sleep(delay)
                    if request.is_cancelled():
                        cancelled = True
                        break
                if i == fail_at:
                    break
                out = np.array([f"token {i}".ljust(size, ".").encode()], dtype=np.object_)
                sender.send(pb_utils.InferenceResponse([pb_utils.Tensor("TOKEN", out)]))
                produced += 1
                record(tag, produced=produced, cancelled=False, done=False)
            record(tag, produced=produced, cancelled=cancelled, done=True)
            if not cancelled and fail_at == produced:
                error = pb_utils.TritonError(f"deliberate failure at token {produced}")
                sender.send(pb_utils.InferenceResponse(error=error), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            elif cancelled:
                error = pb_utils.TritonError("cancelled", pb_utils.TritonError.CANCELLED)
                sender.send(pb_utils.InferenceResponse(error=error), flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
            else:
                sender.send(flags=pb_utils.TRITONSERVER_RESPONSE_COMPLETE_FINAL)
        return None
