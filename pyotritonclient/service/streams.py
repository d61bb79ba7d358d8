"""Streams to RPC callers: a model's ``generate_stream`` events handed on as an async iterator, bounded.

Each open stream reads Triton's events in a task of its own, a few ahead of its caller (``PREFETCH``), and every
way a stream stops closes the HTTP stream to Triton, which cancels the request there (the model sees
``request.is_cancelled()``): its caller stops iterating (``aclose``), the caller disconnects (``release``), the
caller leaves it without asking for the next event (``stream_idle_timeout``), a bound is passed (events, bytes,
lifetime), or the service stops. A caller may hold ``max_streams_per_caller`` streams, the service
``max_streams``. An error Triton sends after its 200 reaches the caller as an error, after the events before it.

Every event handed out is two messages on the service's websocket (hypha-rpc's answer to a pull, or the HTTP
app's ``send``), and hypha disconnects a client that sends too many per second (``HYPHA_WS_MSG_RATE_LIMIT``, 200,
after a burst of 2,000): all streams together are paced to ``max_events_per_second`` (``Pace``, with a burst of
3 s of it), so that a fast model slows down instead of cutting every caller off.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, AsyncIterator, Callable, Dict, List, Mapping, Optional, Tuple

from ..errors import InferenceServerException, InferenceServerTimeout
from ..protocol import inference as wire
from .departures import CallerCheck, Departures
from .policy import LOCAL_CALLER, ServiceConfig, ServiceError, payload_size

logger = logging.getLogger("pyotritonclient.service")

PREFETCH = 8  # events read from Triton ahead of the caller (the rest waits in the socket: Triton slows down)
Source = Callable[[], AsyncIterator[Dict[str, Any]]]  # opens the stream to Triton when called

_EVENT, _END, _ERROR = "event", "end", "error"


class Pace:
    """A token bucket: ``take()`` returns at once while the rate allows it, else waits for the next token."""

    def __init__(self, per_second: float, burst: float) -> None:
        self.per_second = per_second
        self.burst = max(1.0, burst)
        self.tokens = self.burst
        self.at = time.monotonic()

    async def take(self) -> None:
        """One token, waiting for it when the bucket is empty."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.per_second)
        self.at = now
        self.tokens -= 1
        if self.tokens < 0:  # (the next one is ours: wait until it has come)
            await asyncio.sleep(-self.tokens / self.per_second)


class OpenStream:
    """One caller's stream: ``async for event in stream`` (``__anext__``), ``aclose()`` to stop it."""

    def __init__(self, registry: StreamRegistry, owner: str, model_name: str, source: Source) -> None:
        self.id = uuid.uuid4().hex
        self.owner = owner
        self.model_name = model_name
        self.events = 0  # events read from Triton
        self.bytes = 0  # their size (as payload_size counts it)
        self.started = self.pulled_at = time.monotonic()
        self.waiting = False  # the caller is waiting for the next event now
        self.ended: Optional[str] = None  # why the stream ended before its last event (said to the caller)
        self._over = False  # the caller has had the end (or the error): every later call ends at once
        self._held: Optional[Tuple[str, Any]] = None  # the end or error that ``ready`` took off the queue
        self._registry = registry
        self._queue: asyncio.Queue[Tuple[str, Any]] = asyncio.Queue(PREFETCH)
        self._task = asyncio.get_running_loop().create_task(self._read(source))

    def __aiter__(self) -> OpenStream:
        return self

    async def __anext__(self) -> Dict[str, Any]:
        """The next event, as Triton sent it; StopAsyncIteration after the last; ServiceError when Triton sent an
        error or the stream was ended (the message says why)."""
        if self._over:
            raise StopAsyncIteration
        self.pulled_at = time.monotonic()
        self.waiting = True
        try:
            if self._held is not None:
                (kind, value), self._held = self._held, None
            else:
                kind, value = await self._queue.get()
        finally:
            self.waiting = False
            self.pulled_at = time.monotonic()
        if kind == _EVENT:
            await self._registry.pace.take()
            return value  # type: ignore[no-any-return]
        self._over = True
        self._registry.forget(self)
        if kind == _ERROR:
            raise ServiceError(value)
        raise StopAsyncIteration

    def ready(self, most: int) -> List[Dict[str, Any]]:
        """The events already read from Triton, at most ``most``, taken without waiting (one message for several,
        where the caller's path allows it: the HTTP app); the end or an error stays for ``__anext__``."""
        found: List[Dict[str, Any]] = []
        while len(found) < most and self._held is None and not self._queue.empty():
            item = self._queue.get_nowait()
            if item[0] == _EVENT:
                found.append(item[1])
            else:
                self._held = item
        return found

    async def aclose(self) -> None:
        """Stop the stream (the caller needs no more events): Triton is told to stop."""
        await self.end("")

    async def end(self, because: str) -> None:
        """End the stream now: close the stream to Triton; a caller waiting (or asking later) gets ``because``
        as an error (nothing when empty: it was the caller's own wish)."""
        if self._over or self.ended is not None:
            return
        self.ended = because or "closed by its caller"
        self._task.cancel()
        try:
            await self._task
        except BaseException:  # (CancelledError, or what the reader raised on the way out)
            pass
        self._held = None
        while not self._queue.empty():  # the events read ahead are not wanted any more
            self._queue.get_nowait()
        ending = (_ERROR, f"the stream of {self.model_name!r} was ended: {because}") if because else (_END, None)
        self._queue.put_nowait(ending)
        self._registry.forget(self)

    async def _read(self, source: Source) -> None:
        """Triton's events into the queue, each bound checked; the end or the error last."""
        config = self._registry.config
        events = source()
        try:
            async for event in events:
                self.events += 1
                self.bytes += payload_size(event)
                bound = self._passed(config)
                if bound:
                    await self._queue.put((_ERROR, f"the stream of {self.model_name!r} was ended: {bound}"))
                    return
                await self._queue.put((_EVENT, event))
            await self._queue.put((_END, None))
        except asyncio.CancelledError:
            raise
        except InferenceServerTimeout:
            silence = f"generate_stream() did not finish within the service's timeout ({config.timeout:g} s)"
            await self._queue.put((_ERROR, f"{silence}: Triton sent nothing for that long; try again later"))
        except InferenceServerException as exc:
            await self._queue.put((_ERROR, f"{self.model_name}: {exc.message()}"))
        except Exception:  # a bug: the caller gets an id, the traceback stays in the log
            error_id = uuid.uuid4().hex[:12]
            logger.exception("stream of %s failed (error id %s)", self.model_name, error_id)
            await self._queue.put((_ERROR, f"the stream failed on the service (error id {error_id})"))
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()  # (the HTTP stream to Triton closed: Triton cancels the request)

    def _passed(self, config: ServiceConfig) -> str:
        """Which bound the stream has passed ("" for none)."""
        if self.events > config.stream_max_events:
            return f"it passed {config.stream_max_events} events, the service's bound per stream"
        if self.bytes > config.stream_max_bytes:
            return f"it passed {config.stream_max_bytes} bytes, the service's bound per stream"
        if time.monotonic() - self.started > config.stream_timeout:
            return f"it lasted longer than {config.stream_timeout:g} s, the service's bound per stream"
        return ""


class StreamRegistry:
    """The open streams of one service, by id; the limits per caller and in all; the reaper of idle ones."""

    def __init__(self, config: ServiceConfig, caller_alive: Callable[[], Optional[CallerCheck]]) -> None:
        self.config = config
        self.open: Dict[str, OpenStream] = {}
        self._caller_alive = caller_alive  # the service's check of the moment (hypha.py sets it after a connect)
        self._departures = Departures()
        self._reaper: Optional[asyncio.Task[None]] = None
        rate = config.max_events_per_second
        self.pace = Pace(rate, burst=rate * 3)  # (hypha's own burst is 10 s of its rate)

    def start(self, owner: str, model_name: str, source: Source) -> OpenStream:
        """A new stream of ``owner``, within the limits (ServiceError saying which otherwise)."""
        mine = sum(1 for stream in self.open.values() if stream.owner == owner)
        if mine >= self.config.max_streams_per_caller:
            raise ServiceError(
                f"you have {mine} open streams, the most this service allows per caller: "
                "finish or close one (stop iterating) first"
            )
        if len(self.open) >= self.config.max_streams:
            raise ServiceError(f"this service has {len(self.open)} open streams, its limit: try again later")
        stream = OpenStream(self, owner, model_name, source)
        self.open[stream.id] = stream
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        return stream

    def forget(self, stream: OpenStream) -> None:
        """``stream`` is over (its last event taken, or ended)."""
        self.open.pop(stream.id, None)

    def owned(self, owner: str) -> List[OpenStream]:
        """The open streams of ``owner``."""
        return [stream for stream in self.open.values() if stream.owner == owner]

    async def release(self, owner: str, because: str = "its caller disconnected") -> int:
        """End every stream of ``owner``; returns how many."""
        streams = self.owned(owner)
        await asyncio.gather(*(stream.end(because) for stream in streams))
        if streams:
            logger.info("ended %d stream(s) of %s: %s", len(streams), owner, because)
        return len(streams)

    async def expire_idle(self) -> int:
        """End the streams whose caller has not asked for an event for ``stream_idle_timeout``; how many."""
        limit = self.config.stream_idle_timeout
        now = time.monotonic()
        idle = [s for s in self.open.values() if not s.waiting and now - s.pulled_at > limit]
        because = f"its caller did not ask for the next event within {limit:g} s"
        await asyncio.gather(*(stream.end(because) for stream in idle))
        return len(idle)

    async def check_callers(self) -> List[str]:
        """End the streams of callers found gone at two liveness checks in a row; returns those callers."""
        check = self._caller_alive()
        if check is None:
            return []
        owners = [stream.owner for stream in self.open.values() if stream.owner != LOCAL_CALLER]
        gone = await self._departures.gone(owners, check)
        for owner in gone:
            await self.release(owner, "its caller disconnected (gone at two liveness checks in a row)")
        return gone

    async def _reap(self) -> None:
        config = self.config
        interval = max(0.05, min(config.stream_idle_timeout / 4, config.liveness_interval, 30.0))
        last_check = time.monotonic()
        while self.open:
            await asyncio.sleep(interval)
            try:
                await self.expire_idle()
                if time.monotonic() - last_check >= config.liveness_interval:
                    last_check = time.monotonic()
                    await self.check_callers()
            except Exception:  # never let one failure stop the reaping
                logger.exception("ending idle or orphaned streams failed")
        self._departures.forget()

    async def close(self, because: str = "the service is stopping") -> int:
        """End every stream (the service stops); how many."""
        if self._reaper is not None:
            self._reaper.cancel()
        streams = list(self.open.values())
        await asyncio.gather(*(stream.end(because) for stream in streams))
        return len(streams)


def check_stream_parameters(inputs: Mapping[str, Any], parameters: Mapping[str, Any]) -> None:
    """A stream's request parameters: none that Triton or the service keeps for itself. A sequence's id among them
    would step a sequence on Triton past the service's ownership of sequences (sequences.py)."""
    if "parameters" in inputs:
        raise ServiceError(
            "generate_stream(): 'parameters' is not an input: give the request's parameters as parameters"
        )
    for key in parameters:
        if str(key) in wire.RESERVED_PARAMETERS or str(key).startswith(wire.RESERVED_PARAMETER_PREFIX):
            hint = (
                ": a stream is not a sequence's step (use sequence_start/step/end)"
                if str(key).startswith("seq")
                else ""
            )
            raise ServiceError(
                f"generate_stream(): parameter {str(key)[:60]!r} is kept for Triton and the service{hint}"
            )


__all__ = ["PREFETCH", "OpenStream", "Pace", "StreamRegistry", "check_stream_parameters"]
