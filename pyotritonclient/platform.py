"""The only place that asks which platform this is: CPython or Pyodide/Emscripten, and inside Pyodide its
``js`` globals, its FFI (moved in 0.21), whether this is a web worker and whether JSPI can block on a promise.
Everything else asks here (the transports, the blocking facade, the RPC ndarrays)."""

from __future__ import annotations

import sys
from typing import Any

IN_BROWSER = sys.platform == "emscripten"


def js_module() -> Any:
    """Pyodide's `js` module (the browser's globals); imported at call time: it exists only under Pyodide."""
    import js  # available only under Pyodide

    return js


def pyodide_ffi() -> Any:
    """Pyodide's FFI: ``pyodide.ffi`` since 0.21, the ``pyodide`` module itself before (ImJoy's engine: 0.20)."""
    try:
        import pyodide.ffi as ffi

        if hasattr(ffi, "to_js"):
            return ffi
    except ImportError:
        pass
    import pyodide

    return pyodide


def in_worker() -> bool:
    """True inside a web worker (where synchronous XMLHttpRequest may carry binary bodies)."""
    js = js_module()
    return hasattr(js, "importScripts") and not hasattr(js, "document")


def can_block_on_promises() -> bool:
    """True where Pyodide can block on a promise (JSPI, and Python entered through runPythonAsync)."""
    try:
        from pyodide.ffi import can_run_sync

        return bool(can_run_sync())
    except (ImportError, AttributeError):
        return False


def run_sync(coro: Any) -> Any:
    """Run a coroutine to its end by blocking on its promise (``pyodide.ffi.run_sync``, JSPI)."""
    from pyodide.ffi import run_sync as blocking

    return blocking(coro)


__all__ = ["IN_BROWSER", "can_block_on_promises", "in_worker", "js_module", "pyodide_ffi", "run_sync"]
