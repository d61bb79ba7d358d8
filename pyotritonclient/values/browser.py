"""Handing RPC ndarrays to JavaScript in Pyodide: their bytes copied once into a ``Uint8Array`` (in CPython,
where nothing below runs, the bytes as they are). Proven in the real Pyodide (the ImJoy plugin and playground
tests), which mutation testing cannot reach: `./dev mutate` leaves this module out (docs/contributing.md)."""

from __future__ import annotations

from typing import Any, Dict, Mapping

from ..platform import IN_BROWSER, js_module
from .ndarray import is_ndarray


def js_buffer(data: Any) -> Any:
    """Bytes for JavaScript: in Pyodide one copy into a ``Uint8Array`` (elsewhere the bytes as they are)."""
    if not IN_BROWSER:
        return bytes(data)
    js = js_module()
    view = memoryview(data).cast("B")
    array = js.Uint8Array.new(view.nbytes)
    if view.nbytes:
        array.assign(view)
    return array


def with_js_buffers(results: Mapping[str, Any]) -> Dict[str, Any]:
    """Outputs whose ndarrays hold JavaScript buffers (in Pyodide): an RPC layer then hands them to JavaScript
    as they are, where converting Python ``bytes`` cost seconds for 16 MB (ImJoy's Pyodide 0.22)."""
    if not IN_BROWSER:
        return dict(results)
    return {k: {**v, "_rvalue": js_buffer(v["_rvalue"])} if is_ndarray(v) else v for k, v in results.items()}


__all__ = ["js_buffer", "with_js_buffers"]
