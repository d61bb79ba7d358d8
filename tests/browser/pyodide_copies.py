# Runs INSIDE Pyodide (see run_pyodide.mjs): how many times a 16 MB tensor is copied between the JavaScript
# buffers and the Python heap, each way, over the fetch transport against the real Triton.
# Request: the body handed to fetch is one Uint8Array of its own (the one copy out of the WASM heap), and the
# Python heap gains nothing for it. Response: the answer's bytes land in the Python heap once (tracemalloc's
# peak is one payload), and the output is a view on them.
import time
import tracemalloc

from pyodide.code import run_js

from pyotritonclient.http import InferenceServerClient, InferInput

run_js(
    """
globalThis.__bodies = [];
const original = globalThis.fetch;
globalThis.fetch = (url, options) => {
  const body = options && options.body;
  if (body && body.byteLength > 1000000) {
    globalThis.__bodies.push({ bytes: body.byteLength, own_buffer: body.buffer.byteLength === body.byteLength });
  }
  return original(url, options);
};
"""
)

SIZE = 16 << 20


async def round_trip():
    payload = bytearray(SIZE)
    payload[:8] = b"\x00\x00\x80?\x00\x00\x00@"  # 1.0, 2.0 as little-endian FP32
    payload[-4:] = b"\x00\x00@@"  # 3.0
    client = InferenceServerClient(CONFIG["url"])  # noqa: F821 - CONFIG comes from run_pyodide.mjs
    tensor = InferInput("INPUT0", [4, 1024, 1024], "FP32").set_data_from_buffer(payload)
    await client.infer("identity_fp32", [tensor])  # warm: connections, imports
    times, peaks = [], []
    for _ in range(3):
        tracemalloc.start()
        started = time.perf_counter()
        result = await client.infer("identity_fp32", [tensor])
        output = result.as_buffer("OUTPUT0")
        times.append(time.perf_counter() - started)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    same = bytes(output[:8]) == bytes(payload[:8]) and bytes(output[-4:]) == bytes(payload[-4:])
    is_view = isinstance(output, memoryview) and output.nbytes == SIZE
    await client.close()
    bodies = run_js("JSON.stringify(globalThis.__bodies)")
    return {
        "payload": SIZE,
        "python_peak": min(peaks),
        "ms": sorted(t * 1000 for t in times)[1],
        "same": same,
        "output_is_view": is_view,
        "bodies": bodies,
    }


RESULT = await round_trip()  # noqa: F704 - runPythonAsync allows top-level await
