"""The benchmark's workloads and their inputs, numpy only: imported by bench_infer.py and by peer_worker.py,
which runs in the peers' venvs (where this package is not installed)."""

from __future__ import annotations

from typing import Any, Dict, List

import numpy as np

WORKLOADS = {  # name: (model, shape, dtype, requests per batch, in flight)
    "64 B sequential": ("add_sub", [16], np.int32, 400, 1),
    "64 B, 16 in flight": ("add_sub", [16], np.int32, 800, 16),
    "BYTES, 1,000 strings": ("echo_all", [1000], np.object_, 100, 1),
    "4 MB": ("identity_fp32", [1, 1024, 1024], np.float32, 30, 1),
    "64 MB": ("identity_fp32", [16, 1024, 1024], np.float32, 2, 1),
}
OUTPUT = {"add_sub": "OUTPUT0", "identity_fp32": "OUTPUT0", "echo_all": "OUT_BYTES"}
DATATYPE = {"int32": "INT32", "float32": "FP32", "object": "BYTES"}


def inputs_for(model: str, shape: List[int]) -> Dict[str, Any]:
    """The arrays a workload sends, by input name (the same in every process)."""
    if model == "add_sub":
        return {"INPUT0": np.arange(16, dtype=np.int32), "INPUT1": np.ones(16, dtype=np.int32)}
    if model == "echo_all":
        return {"IN_BYTES": np.array([b"item %d" % i for i in range(shape[0])], dtype=np.object_)}
    return {"INPUT0": np.random.default_rng(0).random(shape).astype(np.float32)}


def tensors(module: Any, data: Dict[str, Any]) -> List[Any]:
    """InferInputs of ``module`` (ours, tritonclient's HTTP or gRPC, 0.2.6's) holding ``data``."""
    out = []
    for name, value in data.items():
        tensor = module.InferInput(name, list(value.shape), DATATYPE[value.dtype.name])
        tensor.set_data_from_numpy(value)
        out.append(tensor)
    return out
