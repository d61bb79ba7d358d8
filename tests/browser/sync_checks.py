# Runs INSIDE Pyodide in a web worker (see worker.js): the blocking client, no await anywhere.
import struct
import sys

from pyotritonclient.http import InferenceServerException, InferInput
from pyotritonclient.sync import InferenceServerClient

out = {"platform": sys.platform, "worker": hasattr(__import__("js"), "importScripts")}
values = [b"a\x00b", b"", "h\u00e9".encode(), bytes(range(256))]
with InferenceServerClient(CONFIG["cors_url"]) as client:
    out["transport"] = type(client.transport).__name__
    out["live"] = client.is_server_live()
    out["config_inputs"] = [i["name"] for i in client.get_model_config("add_sub")["input"]]
    a = InferInput("INPUT0", [16], "INT32").set_data_from_buffer(struct.pack("<16i", *range(16)))
    b = InferInput("INPUT1", [16], "INT32").set_data_from_list([3] * 16, binary_data=True)
    result = client.infer("add_sub", [a, b])
    out["sum"] = result.as_list("OUTPUT0")
    out["difference"] = result.as_list("OUTPUT1")
    echoed = client.infer("echo_all", [InferInput("IN_BYTES", [4], "BYTES").set_data_from_list(values, binary_data=True)])
    out["bytes_intact"] = echoed.as_list("OUT_BYTES") == values
    try:
        client.get_model_config("no_such_model")
    except InferenceServerException as exc:
        out["missing"] = [exc.status(), exc.message()]
    try:
        for event in client.generate_stream("decoupled_stream", {"TEXT": "s", "COUNT": 1, "DELAY": 0}):
            pass
    except InferenceServerException as exc:
        out["stream"] = str(exc)
RESULT = out
