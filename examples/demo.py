"""Demo: start an embedded local Triton, list its models, run inference on numpy arrays, stop it.

Run it with `./dev demo` (which installs everything first) or `python examples/demo.py`.
"""

from __future__ import annotations

import asyncio
import pathlib
import sys

import numpy as np

from pyotritonclient.http import InferenceServerClient, InferInput
from pyotritonclient.testing.server import TritonServer

MODELS = pathlib.Path(__file__).resolve().parent.parent / "tests" / "models"


async def main(url: str) -> None:
    async with InferenceServerClient(url) as client:
        meta = await client.get_server_metadata()
        print(f"Triton {meta['version']} at {client.url}")
        for model in await client.get_model_repository_index():
            print(f"  model {model['name']:<22} version {model.get('version', '-'):<3} {model['state']}")

        a = np.arange(16, dtype=np.int32)
        b = np.full(16, 10, dtype=np.int32)
        inputs = [InferInput("INPUT0", [16], "INT32"), InferInput("INPUT1", [16], "INT32")]
        inputs[0].set_data_from_numpy(a)
        inputs[1].set_data_from_numpy(b)
        result = await client.infer("add_sub", inputs)
        print("add_sub INPUT0 =", a)
        print("add_sub INPUT1 =", b)
        print("add_sub OUTPUT0 (sum) =", result.as_numpy("OUTPUT0"))
        print("add_sub OUTPUT1 (difference) =", result.as_numpy("OUTPUT1"))

        image = np.random.default_rng(0).random([1, 4, 6]).astype(np.float32)
        image_in = InferInput("INPUT0", list(image.shape), "FP32").set_data_from_numpy(image)
        same = (await client.infer("identity_fp32", [image_in])).as_numpy("OUTPUT0")
        print("identity_fp32 round trip of a", image.shape, "float32 array: equal =", bool((same == image).all()))


if __name__ == "__main__":
    with TritonServer(MODELS) as server:
        print(f"started Triton (log: {server.log_path})")
        asyncio.run(main(server.url))
    print("stopped Triton")
    sys.exit(0)
