# Runs INSIDE Pyodide (see run_pyodide.mjs): the package on raw buffers, without numpy, over fetch.
import struct
import sys
import time

from pyotritonclient.http import InferenceServerClient, InferenceServerException, InferInput, InferRequestedOutput
from pyotritonclient.transport import IN_BROWSER, Deadline, Request

out = {"platform": sys.platform, "in_browser": IN_BROWSER, "numpy_loaded": "numpy" in sys.modules}


async def checks():
    async with InferenceServerClient(CONFIG["url"]) as client:
        out["transport"] = type(client.transport).__name__
        out["live"] = await client.is_server_live()
        out["ready"] = await client.is_model_ready("add_sub")
        out["server_name"] = (await client.get_server_metadata())["name"]
        out["metadata_inputs"] = [i["name"] for i in (await client.get_model_metadata("add_sub"))["inputs"]]
        out["config_backend"] = (await client.get_model_config("add_sub"))["backend"]
        out["index_has_add_sub"] = "add_sub" in {m["name"] for m in await client.get_model_repository_index()}

        a = InferInput("INPUT0", [16], "INT32").set_data_from_buffer(struct.pack("<16i", *range(16)))
        b = InferInput("INPUT1", [16], "INT32").set_data_from_list([3] * 16, binary_data=False)  # JSON
        result = await client.infer("add_sub", [a, b])
        out["sum"] = result.as_list("OUTPUT0")
        out["diff_bytes_ok"] = bytes(result.as_buffer("OUTPUT1")) == struct.pack("<16i", *[i - 3 for i in range(16)])
        outputs = [InferRequestedOutput("OUTPUT0", binary_data=False)]
        out["json_output"] = (await client.infer("add_sub", [a, b], outputs=outputs)).as_list("OUTPUT0")
        gz = await client.infer("add_sub", [a, b], request_compression_algorithm="gzip")
        out["gzip_request_sum"] = gz.as_list("OUTPUT0")

        values = [b"a\x00b", b"", "h\u00e9".encode()]
        tensor = InferInput("IN_BYTES", [3], "BYTES").set_data_from_list(values)
        echoed = await client.infer("echo_all", [tensor])
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

        try:
            await client.infer("slow", [InferInput("DELAY", [1], "FP32").set_data_from_list([2.0])], client_timeout=0.4)
        except InferenceServerException as exc:
            out["timeout_status"] = exc.status()

    if CONFIG.get("hidden_url"):  # a proxy that hides Inference-Header-Content-Length
        async with InferenceServerClient(CONFIG["hidden_url"]) as client:
            response = await client.transport.send(Request(
                "POST", client.url + "v2/models/add_sub/infer", {"Content-Type": "application/json"},
                [b'{"inputs":[{"name":"INPUT0","shape":[16],"datatype":"INT32","data":[' + b",".join(b"1" for _ in range(16))
                 + b']},{"name":"INPUT1","shape":[16],"datatype":"INT32","data":[' + b",".join(b"2" for _ in range(16))
                 + b']}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]}']), Deadline())
            out["hidden_header_absent"] = "inference-header-content-length" not in response.headers
            result = await client.infer("add_sub", [a, b])
            out["fallback_sum"] = result.as_list("OUTPUT0")

    async with InferenceServerClient(CONFIG["refused_url"]) as client:
        try:
            await client.is_server_live()
        except InferenceServerException as exc:
            out["unreachable"] = [exc.status(), str(exc)]


await checks()
try:
    from pyotritonclient.sync import InferenceServerClient as SyncClient

    SyncClient(CONFIG["url"])
    out["sync_refusal"] = "constructed"
except InferenceServerException as exc:
    out["sync_refusal"] = str(exc)
out["numpy_loaded_after"] = "numpy" in sys.modules
RESULT = out
