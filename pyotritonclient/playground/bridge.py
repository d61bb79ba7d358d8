"""What the playground page calls inside Pyodide: this package's client behind functions that take and give
plain values (ndarrays as ``{_rtype: "ndarray", ...}``, numpy-free), so the page's JavaScript needs no Python."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional, Set, Tuple

from ..api import execute, get_config, list_models
from ..engine.registry import session_for
from ..errors import InferenceServerException
from ..platform import IN_BROWSER, js_module, pyodide_ffi
from ..protocol.metadata import is_decoupled, is_sequence_model, tensor_summary
from ..sequence import SequenceExecutor
from ..values import ndarray as rpc_ndarray
from ..values.browser import js_buffer

_SEQUENCES: Dict[Tuple[str, str], SequenceExecutor] = {}  # (server, model) -> the page's running sequence
_STOPPING: Set[Tuple[str, str]] = set()  # (server, model) whose stream the page's Stop button ended


def np_to_wire(dtype: Any) -> str:
    """A numpy dtype's Triton wire name (``float32`` -> ``FP32``); TypeError when it has none."""
    from ..utils import np_to_triton_dtype

    datatype = np_to_triton_dtype(dtype)
    if datatype is None:
        raise TypeError(f"numpy dtype {dtype} has no Triton datatype")
    return datatype


def _for_page(value: Any) -> Any:
    """An output as the page takes it: ndarrays with a JavaScript buffer (numpy arrays too, where Pyodide has
    numpy), lists and dicts as they are."""
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind == "O":  # BYTES as a numpy object array
        return [_for_page(item) for item in value.reshape(-1).tolist()]
    if kind is not None:
        from ..utils.byte_order import in_wire_order

        value = rpc_ndarray.encode(np_to_wire(value.dtype), list(value.shape), in_wire_order(value).tobytes())
    if isinstance(value, dict) and value.get("_rtype") == "ndarray":
        return {**value, "_rvalue": js_buffer(value["_rvalue"])}
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _error(exc: BaseException) -> Dict[str, Any]:
    """An error in plain words: its kind, the message (the server's own, for a server error) and HTTP status."""
    status = exc.http_status if isinstance(exc, InferenceServerException) else None
    text = exc.message() if isinstance(exc, InferenceServerException) else str(exc)
    return {"error": text, "kind": type(exc).__name__, "status": status}


async def connect(url: str) -> Dict[str, Any]:
    """Server metadata and the models (name, state, versions); ``{"error": ...}`` when it cannot be reached."""
    try:
        session = session_for(url)
        metadata = await session.client.get_server_metadata()
        models = await list_models(url)
    except Exception as exc:
        return _error(exc)
    return {"metadata": metadata, "models": models}


async def describe(url: str, model_name: str) -> Dict[str, Any]:
    """A model's inputs and outputs (name, datatype, shape with -1 for any size, optional) and whether it is
    stateful (a sequence model)."""
    try:
        config = await get_config(url, model_name, refresh=True)
    except Exception as exc:
        return _error(exc)
    return {
        "name": model_name,
        "inputs": [tensor_summary(spec, config) for spec in config.get("input", [])],
        "outputs": [tensor_summary(spec, config) for spec in config.get("output", [])],
        "max_batch_size": config.get("max_batch_size", 0),
        "sequence": is_sequence_model(config),
        "decoupled": is_decoupled(config),
    }


async def run(url: str, model_name: str, inputs: Dict[str, Any]) -> Dict[str, Any]:
    """Run the model once: ``{"outputs": {name: value}, "ms": latency}`` or an error in plain words."""
    started = time.perf_counter()
    try:
        results = await execute(inputs, url, model_name, decode_json=True)
    except Exception as exc:
        return _error(exc)
    return _outputs(results, started)


def _outputs(results: Dict[str, Any], started: float) -> Dict[str, Any]:
    results.pop("__info__", None)
    return {"outputs": {k: _for_page(v) for k, v in results.items()}, "ms": (time.perf_counter() - started) * 1e3}


async def stream(url: str, model_name: str, inputs: Dict[str, Any], on_event: Callable[[Any], Any]) -> Dict[str, Any]:
    """Stream a decoupled model's answers (``generate_stream``): ``on_event(event)`` with each event as it comes
    (output name -> value); ``stop`` ends it, and the model on Triton. ``{"events", "stopped", "ms"}`` at the end,
    or an error in plain words (after the events before it)."""
    key = (url, model_name)
    _STOPPING.discard(key)
    started = time.perf_counter()
    count, stopped = 0, False
    try:
        events = session_for(url).client.generate_stream(model_name, dict(inputs))
        try:
            async for event in events:
                count += 1
                on_event(_js_event(event))
                if key in _STOPPING:
                    stopped = True
                    break
        finally:
            await events.aclose()  # (a stopped stream: fetch is aborted, Triton cancels the request)
    except Exception as exc:
        return {**_error(exc), "events": count}
    finally:
        _STOPPING.discard(key)
    return {"events": count, "stopped": stopped, "ms": (time.perf_counter() - started) * 1e3}


def stop(url: str, model_name: str) -> bool:
    """End the running stream of ``model_name`` at its next event (the page's Stop button)."""
    _STOPPING.add((url, model_name))
    return True


def _js_event(event: Dict[str, Any]) -> Any:
    """An event as a JavaScript object, where the page runs in Pyodide (a dict elsewhere)."""
    if not IN_BROWSER:
        return event
    return pyodide_ffi().to_js(event, dict_converter=js_module().Object.fromEntries)


async def load(url: str, model_name: str, unload: bool = False) -> Dict[str, Any]:
    """Load (or unload) a model where the server allows it; the models afterwards."""
    try:
        client = session_for(url).client
        if unload:
            await client.unload_model(model_name)
        else:
            await client.load_model(model_name)
        return {"models": await list_models(url)}
    except Exception as exc:
        return _error(exc)


async def sequence(url: str, model_name: str, action: str, inputs: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """``start`` a sequence of a stateful model, then ``step`` and ``end`` it with inputs; each answer has the
    outputs, the latency and the steps so far."""
    key = (url, model_name)
    try:
        if action == "start":
            _SEQUENCES[key] = SequenceExecutor(url, model_name, decode_json=True)
            return {"steps": 0, "sequence_id": _SEQUENCES[key].sequence_id}
        executor = _SEQUENCES.get(key)
        if executor is None:
            return {"error": "no sequence is running for this model: start one first", "kind": "NoSequence"}
        started = time.perf_counter()
        if action == "step":
            results = await executor.step(inputs or {})
            steps = executor.steps
        else:
            results = await executor.end(inputs or None)
            steps = None
            _SEQUENCES.pop(key, None)
    except Exception as exc:
        return _error(exc)
    return {**_outputs(results, started), "steps": steps}


__all__ = ["connect", "describe", "load", "np_to_wire", "run", "sequence", "stop", "stream"]
