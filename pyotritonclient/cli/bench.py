"""``pyotritonclient bench``: requests in flight at a fixed concurrency, latency percentiles and throughput.

    inputs = synthetic_inputs(config, shapes={"image": [3, 256, 256]})
    result = await run_bench(client, "cellpose-python", prepare_inputs(config, inputs), concurrency=4, seconds=5)
    result.as_dict()   # requests, errors, seconds, throughput, p50_ms, p90_ms, p99_ms, mean_ms, max_ms

Like Triton's perf_analyzer: the inputs are prepared once and sent again and again, so what is measured is the
request (client encoding, network, server) and not reading files. Warm-up requests are not counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from ..api import run_bounded
from ..errors import InferenceServerException, InvalidInputError
from ..http import InferenceServerClient, InferInput
from ..protocol.dtypes import config_to_wire, get_dtype
from ..protocol.inference import TensorData
from ..protocol.metadata import batches
from ..transport.base import check_concurrency


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ascending ``ordered``, interpolated linearly (numpy's default)."""
    if not ordered:
        return float("nan")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class BenchResult:
    """What one benchmark run measured (latencies of successful requests, in milliseconds)."""

    model: str
    concurrency: int
    seconds: float
    latencies_ms: List[float] = field(default_factory=list)
    errors: int = 0
    first_error: Optional[str] = None

    @property
    def requests(self) -> int:
        """Requests that succeeded."""
        return len(self.latencies_ms)

    @property
    def throughput(self) -> float:
        """Successful requests per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> Dict[str, Any]:
        """The numbers, rounded for printing and JSON (``p50_ms`` ... ``max_ms`` are None without a success)."""
        ordered = sorted(self.latencies_ms)

        def ms(value: float) -> Optional[float]:
            return None if not ordered else round(value, 3)

        return {
            "model": self.model,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "throughput": round(self.throughput, 2),
            "p50_ms": ms(percentile(ordered, 50)),
            "p90_ms": ms(percentile(ordered, 90)),
            "p99_ms": ms(percentile(ordered, 99)),
            "mean_ms": ms(sum(ordered) / len(ordered) if ordered else 0.0),
            "max_ms": ms(ordered[-1] if ordered else 0.0),
            "first_error": self.first_error,
        }


def synthetic_inputs(
    config: Mapping[str, Any], shapes: Optional[Mapping[str, Sequence[int]]] = None, batch_size: int = 1
) -> Dict[str, Any]:
    """Random values for every required input: variable dims (-1) are 1 unless ``shapes`` says otherwise;
    models that batch get a leading ``batch_size``. Numbers are small (0..9 or [0, 1)), BYTES are ``b"0"``."""
    import numpy as np

    shapes = dict(shapes or {})
    names = [spec["name"] for spec in config.get("input", [])]
    for name in shapes:
        if name not in names:
            raise InvalidInputError(f"--shape {name}: the model has no input {name!r}; its inputs are {names}")
    rng = np.random.default_rng(0)
    values: Dict[str, Any] = {}
    batching = batches(config)
    for spec in config.get("input", []):
        name = spec["name"]
        if spec.get("optional", False) and name not in shapes:
            continue
        shape = [int(d) for d in shapes.get(name, [1 if int(d) < 0 else int(d) for d in spec.get("dims", [])])]
        if batching and name not in shapes:
            shape = [batch_size, *shape]
        datatype = config_to_wire(spec["data_type"])
        if datatype == "BYTES":
            values[name] = np.full(shape, b"0", dtype=np.object_)
            continue
        dtype = np.dtype(get_dtype(datatype).host)
        if dtype.kind == "f":
            values[name] = rng.random(shape).astype(dtype)
        elif dtype.kind == "b":
            values[name] = rng.integers(0, 2, shape).astype(dtype)
        else:
            values[name] = rng.integers(0, 10, shape).astype(dtype)
    return values


async def run_bench(
    client: InferenceServerClient,
    model: str,
    inputs: Sequence[Union[InferInput, TensorData]],
    *,
    concurrency: int = 1,
    requests: Optional[int] = None,
    seconds: Optional[float] = None,
    warmup: int = 5,
    model_version: str = "",
    headers: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
    on_progress: Optional[Callable[[int, float], None]] = None,
) -> BenchResult:
    """Send ``inputs`` to ``model`` from ``concurrency`` workers until ``requests`` are done or ``seconds``
    have passed (one of the two); ``on_progress(done, elapsed)`` after each request."""
    check_concurrency(concurrency)
    if (requests is None) == (seconds is None):
        raise InvalidInputError("give either --requests or --seconds")
    if requests is not None and requests < 1:
        raise InvalidInputError(f"--requests must be at least 1, got {requests}")
    if seconds is not None and not seconds > 0:
        raise InvalidInputError(f"--seconds must be more than 0, got {seconds}")

    async def one() -> None:
        await client.infer(model, inputs, model_version=model_version, headers=headers, client_timeout=timeout)

    for _ in range(max(warmup, 0)):
        await one()  # a warm-up failure is the model's answer to these inputs: raised as it is
    result = BenchResult(model, concurrency, 0.0)
    issued = 0
    start = time.perf_counter()
    end = None if seconds is None else start + seconds

    def more() -> bool:
        nonlocal issued
        if end is not None:
            return time.perf_counter() < end
        assert requests is not None
        if issued >= requests:
            return False
        issued += 1
        return True

    def issue() -> Iterator[None]:
        while more():
            yield None

    async def request(_: None) -> None:
        began = time.perf_counter()
        try:
            await one()
        except InferenceServerException as exc:
            result.errors += 1
            result.first_error = result.first_error or str(exc)
            return
        now = time.perf_counter()
        result.latencies_ms.append((now - began) * 1000.0)
        if on_progress is not None:
            on_progress(result.requests, now - start)

    await run_bounded(request, issue(), concurrency)
    result.seconds = time.perf_counter() - start
    return result
