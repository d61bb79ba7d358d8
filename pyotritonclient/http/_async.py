"""``InferAsyncRequest``: a handle on an inference running in the background (``client.async_infer``)."""

from __future__ import annotations

import asyncio
from typing import Any, Generator, Optional

from ..errors import ClientClosedError, InferenceServerException, InferenceServerTimeout
from ._infer import InferResult


class InferAsyncRequest:
    """tritonclient's handle, in asyncio form: ``result = await request.get_result()``.

    The request runs as a task as soon as ``async_infer`` returns; many share the client's connection pool.
    ``await client.async_infer(...)`` also works and gives the handle (for code converted by adding ``await``).
    """

    def __init__(self, task: asyncio.Task[InferResult]) -> None:
        self._task = task
        task.add_done_callback(_retrieve)

    async def get_result(self, block: bool = True, timeout: Optional[float] = None) -> InferResult:
        """The result once the answer is in (``block=False``: now, or an error if it is not in yet).

        ``timeout`` (seconds) bounds the wait, not the request: after an ``InferenceServerTimeout`` the request
        goes on and a later ``get_result`` can still collect it. The server's errors are raised here."""
        if not block:
            if not self._task.done():
                raise InferenceServerException("failed to obtain inference response: it has not arrived yet")
            return self._outcome()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            if self._task.done():  # the request's own timeout, not the wait's
                return self._outcome()
            raise InferenceServerTimeout(
                f"failed to obtain inference response within {timeout} s (the request goes on)", status="TIMEOUT"
            ) from None
        except asyncio.CancelledError:
            if not self._task.cancelled():
                raise  # the caller was cancelled, not the request
        return self._outcome()

    def _outcome(self) -> InferResult:
        if self._task.cancelled():
            raise ClientClosedError(
                "the inference was cancelled (request.cancel() or client.close()) before its answer"
            )
        return self._task.result()

    def done(self) -> bool:
        """True once the answer (or an error) is in."""
        return self._task.done()

    def cancel(self) -> bool:
        """Stop waiting for the answer (the connection is dropped; the server may still run the model)."""
        return self._task.cancel()

    def __await__(self) -> Generator[Any, None, InferAsyncRequest]:
        return self._itself().__await__()

    async def _itself(self) -> InferAsyncRequest:
        return self


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark the outcome as seen: an error nobody asked for is not worth an 'exception never retrieved' log."""
    if not task.cancelled():
        task.exception()
