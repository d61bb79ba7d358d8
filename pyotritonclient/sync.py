"""A blocking facade over the async client, for scripts and REPLs where ``await`` is not at hand (CPython).

    from pyotritonclient.sync import InferenceServerClient
    client = InferenceServerClient("localhost:8000")
    client.infer("add_sub", inputs).as_numpy("OUTPUT0")
    for event in client.generate_stream("llm", {"text_input": "hi"}): ...
    client.close()

Every method of the async client is here with the same arguments. In CPython they run on a private event
loop in a background thread (so it also works where another event loop is running, e.g. in Jupyter). In a
Pyodide web worker (JupyterLite's kernel) requests are synchronous XMLHttpRequests (transport/browser/xhr.py), so
each call completes without the event loop; ``generate_stream`` is not offered there. On a browser's main
thread with JavaScript Promise Integration each call blocks through ``pyodide.ffi.run_sync``; elsewhere blocking
is refused with the reason (use ``await``; docs/browser.md says more).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any, Callable, Iterator, Optional

from .errors import InferenceServerException
from .http import InferenceServerClient as AsyncInferenceServerClient
from .platform import IN_BROWSER, can_block_on_promises, in_worker, run_sync
from .transport.base import DEFAULT_NETWORK_TIMEOUT


class _LoopThread:
    """One event loop in a daemon thread; ``run(coro)`` blocks until the coroutine is done."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="pyotritonclient-sync", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: Optional[float] = None) -> Any:
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except BaseException:
            future.cancel()
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


class _PromiseIntegration:
    """Runs coroutines to their end with ``pyodide.ffi.run_sync`` (JavaScript Promise Integration)."""

    @staticmethod
    def run(coro: Any, timeout: Optional[float] = None) -> Any:
        return run_sync(coro)

    def stop(self) -> None:
        """Nothing to stop."""


class _Completed:
    """Runs coroutines that never wait on the event loop (the synchronous XHR transport's) to their end."""

    @staticmethod
    def run(coro: Any, timeout: Optional[float] = None) -> Any:
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value
        coro.close()
        raise InferenceServerException(
            "this call would have to wait on the event loop: use the async client with await"
        )

    def stop(self) -> None:
        """Nothing to stop."""


class InferAsyncRequest:
    """The blocking twin of ``pyotritonclient.http.InferAsyncRequest``: ``get_result(block=True, timeout=None)``."""

    def __init__(self, runner: Any, request: Any = None, result: Any = None) -> None:
        self._runner = runner
        self._request = request
        self._result = result

    def get_result(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        """The ``InferResult``, waiting for it in this thread (at most ``timeout`` seconds when given)."""
        if self._request is None:
            return self._result
        return self._runner.run(self._request.get_result(block, timeout))


class InferenceServerClient:
    """The blocking twin of ``pyotritonclient.http.InferenceServerClient`` (same constructor arguments)."""

    def __init__(self, url: str, *args: Any, **kwargs: Any) -> None:
        self._runner: Any
        if IN_BROWSER:
            from .transport.browser.xhr import SyncXHRTransport

            if in_worker():
                kwargs.setdefault(
                    "transport",
                    SyncXHRTransport(network_timeout=kwargs.get("network_timeout", DEFAULT_NETWORK_TIMEOUT)),
                )
                self._runner = _Completed()
            elif can_block_on_promises():
                self._runner = _PromiseIntegration()  # the fetch transport, each call blocking through JSPI
            else:
                raise InferenceServerException(
                    "the synchronous client needs a web worker in the browser (synchronous requests with binary "
                    "bodies are only allowed there) or JavaScript Promise Integration (not in this runtime, or "
                    "not entered through runPythonAsync): use pyotritonclient.http with await on the main thread "
                    "(top-level await works in JupyterLite and Pyodide consoles; see docs/browser.md)"
                )
        else:
            self._runner = _LoopThread()
        self._client: AsyncInferenceServerClient = self._runner.run(self._make(url, args, kwargs))
        self._closed = False

    @staticmethod
    async def _make(url: str, args: Any, kwargs: Any) -> AsyncInferenceServerClient:
        return AsyncInferenceServerClient(url, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # (also while __init__ has not finished)
            raise AttributeError(name)
        attribute = getattr(self._client, name)
        if name == "generate_stream":
            return self._stream
        if name == "async_infer":
            return self._async_infer
        if inspect.iscoroutinefunction(attribute):
            return self._blocking(attribute)
        return attribute

    def _blocking(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if self._closed:
                raise InferenceServerException("this client is closed")
            return self._runner.run(method(*args, **kwargs))

        call.__name__ = method.__name__
        call.__doc__ = method.__doc__
        return call

    def _async_infer(self, *args: Any, **kwargs: Any) -> InferAsyncRequest:
        """``async_infer``: the request starts now on the client's loop; ``get_result()`` blocks for it."""
        if self._closed:
            raise InferenceServerException("this client is closed")
        if not isinstance(self._runner, _LoopThread):  # the browser: no loop to run it on meanwhile
            return InferAsyncRequest(self._runner, result=self._runner.run(self._client.infer(*args, **kwargs)))

        async def start() -> Any:
            return self._client.async_infer(*args, **kwargs)

        return InferAsyncRequest(self._runner, request=self._runner.run(start()))

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        """``generate_stream`` as a plain iterator: each event is yielded as soon as it arrives."""
        if isinstance(self._runner, _Completed):
            raise InferenceServerException(
                "generate_stream is not offered by the blocking client in the browser: use the async client "
                "(async for event in client.generate_stream(...))"
            )
        agen = self._client.generate_stream(*args, **kwargs)
        try:
            while True:
                try:
                    yield self._runner.run(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._runner.run(agen.aclose())

    def close(self) -> None:
        """Close the client and stop its private event loop."""
        if not self._closed:
            self._closed = True
            try:
                self._runner.run(self._client.close())
            finally:
                self._runner.stop()

    def __enter__(self) -> InferenceServerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            try:
                self.close()
            except Exception:
                pass


__all__ = ["InferAsyncRequest", "InferenceServerClient"]
