# Runs INSIDE Pyodide in Chromium (see page.html): cross-origin calls to Triton through nginx.
import struct
import sys
import time

from pyotritonclient.http import InferenceServerClient, InferenceServerException, InferInput

out = {"platform": sys.platform, "numpy_loaded": "numpy" in sys.modules, "origin": str(__import__("js").location.origin)}


def add_sub_inputs():
    a = InferInput("INPUT0", [16], "INT32").set_data_from_buffer(struct.pack("<16i", *range(16)))
    b = InferInput("INPUT1", [16], "INT32").set_data_from_list([3] * 16, binary_data=False)
    return [a, b]


async with InferenceServerClient(CONFIG["cors_url"]) as client:
    out["transport"] = type(client.transport).__name__
    out["ready"] = await client.is_server_ready()
    out["config_inputs"] = [i["name"] for i in (await client.get_model_config("add_sub"))["input"]]
    result = await client.infer("add_sub", add_sub_inputs())
    out["sum"] = result.as_list("OUTPUT0")
    out["gzip_both_ways"] = (await client.infer(
        "add_sub", add_sub_inputs(), request_compression_algorithm="gzip", response_compression_algorithm="gzip"
    )).as_list("OUTPUT1")
    values = [b"a\x00b", b"", "h\u00e9".encode()]
    echoed = await client.infer("echo_all", [InferInput("IN_BYTES", [3], "BYTES").set_data_from_list(values)])
    out["bytes_ok"] = echoed.as_list("OUT_BYTES") == values
    try:
        await client.infer("raise_error", [InferInput("INPUT0", [1], "FP32").set_data_from_list([1.0])])
    except InferenceServerException as exc:
        out["server_error"] = [exc.status(), exc.message()]
    started = time.monotonic()
    arrivals, texts = [], []
    async for event in client.generate_stream("decoupled_stream", {"TEXT": "hi", "COUNT": 3, "DELAY": 1.0}):
        arrivals.append(time.monotonic() - started)
        texts.append(event["TEXT"])
    out["stream_texts"], out["stream_arrivals"] = texts, arrivals

    stopped = []  # stopping a stream stops the model on Triton (the test reads the model's record)
    stream = client.generate_stream("cancellable_stream", {"TAG": CONFIG["stream_tag"], "COUNT": 100000, "DELAY": 0.02})
    async for event in stream:
        stopped.append(event["TOKEN"])
        if len(stopped) == 3:
            break
    await stream.aclose()
    out["stream_stopped"] = stopped

async with InferenceServerClient(CONFIG["cors_url"]) as client:  # 16 MB each way, timed (docs/performance.md)
    payload = bytearray(16 << 20)
    payload[-4:] = b"\x00\x00@@"  # 3.0
    big = InferInput("INPUT0", [4, 1024, 1024], "FP32").set_data_from_buffer(payload)
    times = []
    for _ in range(3):
        started = time.monotonic()
        answer = (await client.infer("identity_fp32", [big])).as_buffer("OUTPUT0")
        times.append(time.monotonic() - started)
    out["big_round_trip"] = {"ms": sorted(times)[1] * 1000, "bytes": answer.nbytes, "last": bytes(answer[-4:]) == b"\x00\x00@@"}

async with InferenceServerClient(CONFIG["hidden_url"]) as client:
    result = await client.infer("add_sub", add_sub_inputs())
    out["fallback_sum"] = result.as_list("OUTPUT0")

async with InferenceServerClient(CONFIG["plain_url"]) as client:
    try:
        await client.infer("add_sub", add_sub_inputs())
        out["no_cors"] = "no error"
    except InferenceServerException as exc:
        out["no_cors"] = [exc.status(), str(exc)]

RESULT = out

# The blocking client on the page's main thread: through JavaScript Promise Integration where the browser has
# it (this Python runs inside runPythonAsync), else refused with the reason.
from pyodide.ffi import can_run_sync

from pyotritonclient.sync import InferenceServerClient as BlockingClient

out["jspi"] = bool(can_run_sync())
try:
    with BlockingClient(CONFIG["cors_url"]) as blocking:
        out["sync_transport"] = type(blocking.transport).__name__
        out["sync_sum"] = blocking.infer("add_sub", add_sub_inputs()).as_list("OUTPUT0")
        out["sync_stream"] = [e["TEXT"] for e in blocking.generate_stream("decoupled_stream", {"TEXT": "j", "COUNT": 2, "DELAY": 0})]
except InferenceServerException as exc:
    out["sync_refused"] = str(exc)
RESULT = out
