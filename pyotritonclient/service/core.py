"""TritonService: the functions an RPC caller gets, with the policy that keeps the service safe to share.

- Only Triton URLs on the allowlist are used (a caller cannot make the service fetch arbitrary URLs).
- Requests larger than ``max_request_bytes`` are refused before anything is sent.
- Every call has a timeout.
- A sequence belongs to the caller that opened it (hypha's ``context["from"]``); others cannot step or end
  it. A sequence idle for ``sequence_idle_timeout`` seconds is ended on the server and freed;
  ``release_caller`` ends all of a caller's sequences (when it disconnects) and ``close`` ends them all.
  With a ``caller_alive`` check (hypha.py gives one), the owners of open sequences are checked every
  ``liveness_interval`` seconds and the sequences of a caller found gone twice in a row are released.
- Steps of one sequence run one at a time, in the order they arrive; the reaper never ends a sequence
  while one of its steps is running.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Union

from ..errors import InferenceServerException
from ..execution import execute, get_config, list_models, server_base_url
from ..sequence import SequenceExecutor
from .schemas import SCHEMAS

SequenceId = Union[int, str]
LOCAL_CALLER = "local"
# caller id -> False when the caller is certainly gone (disconnected); True or None when alive or unknown.
CallerCheck = Callable[[str], Awaitable[Optional[bool]]]


class ServiceError(Exception):
    """An error for the RPC caller: its message says what was wrong and what is expected."""


@dataclass
class ServiceConfig:
    """Policy of one service instance."""

    triton_url: str
    allowed_urls: Sequence[str] = ()  # besides triton_url
    max_request_bytes: int = 256 * 1024 * 1024
    timeout: float = 120.0  # seconds, per Triton call
    sequence_idle_timeout: float = 600.0  # seconds without a step before a sequence is ended
    max_sequences_per_caller: int = 64
    max_sequences: int = 1024  # open sequences of all callers together
    liveness_interval: float = 30.0  # seconds between checks that owners of sequences are still connected

    def allowed(self) -> List[str]:
        return sorted({server_base_url(u) for u in [self.triton_url, *self.allowed_urls]})


@dataclass
class _Sequence:
    owner: str
    model_name: str
    server_url: str
    executor: SequenceExecutor
    last_used: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one step at a time, in arrival order


def caller_of(context: Optional[Mapping[str, Any]]) -> str:
    """Who is calling: hypha's client id (``context["from"]``), else the user id, else "local"."""
    if not context:
        return LOCAL_CALLER
    if context.get("from"):
        return str(context["from"])
    user = context.get("user") or {}
    return str(user.get("id") or LOCAL_CALLER)


def payload_size(value: Any) -> int:
    """Bytes an input occupies: arrays by nbytes, strings and bytes by length, containers summed.

    Containers are measured before anything else: hypha's dicts answer attribute lookups with their keys,
    so a JSON object with an "nbytes" key must not be taken for an array."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return len(value)
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, Mapping):
        return sum(payload_size(k) + payload_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return sum(payload_size(v) for v in value)
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    return 8


class TritonService:
    """The service. Its public coroutine functions are what gets exported over RPC (see ``api()``)."""

    def __init__(self, config: ServiceConfig, caller_alive: Optional[CallerCheck] = None) -> None:
        self.config = config
        self.caller_alive = caller_alive
        self._sequences: Dict[str, _Sequence] = {}
        self._reaper: Optional["asyncio.Task[None]"] = None
        self._gone_once: set = set()  # callers found gone at the last liveness check

    # -- policy -------------------------------------------------------------------------------

    def _url(self, server_url: Optional[str]) -> str:
        if not server_url:
            return self.config.triton_url
        try:
            base = server_base_url(server_url)
        except InferenceServerException as exc:
            raise ServiceError(str(exc)) from None
        if base not in self.config.allowed():
            raise ServiceError(
                f"Triton URL {server_url!r} is not allowed by this service; allowed: {self.config.allowed()}"
            )
        return base  # the allowlist's own spelling: nothing of the caller's string goes further

    def _check_size(self, inputs: Any) -> None:
        size = payload_size(inputs)
        if size > self.config.max_request_bytes:
            raise ServiceError(
                f"the inputs are {size} bytes, more than this service accepts ({self.config.max_request_bytes} bytes)"
            )

    @staticmethod
    def _plain(results: Dict[str, Any]) -> Dict[str, Any]:
        """Outputs as RPC-friendly values: arrays stay arrays (writable copies), the rest is plain."""
        out: Dict[str, Any] = {}
        for name, value in results.items():
            if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "O":
                value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value.reshape(-1).tolist()]
            out[name] = value
        return out

    async def _call(self, coro: Any, timeout: Optional[float] = None) -> Any:
        """Await a Triton call; its errors become ServiceErrors. ``timeout`` bounds calls without their own."""
        try:
            if timeout is None:
                return await coro
            return await asyncio.wait_for(coro, timeout)
        except InferenceServerException as exc:
            raise ServiceError(str(exc)) from None
        except asyncio.TimeoutError:
            raise ServiceError(f"Triton did not answer within {timeout} seconds") from None

    # -- the functions ------------------------------------------------------------------------

    async def execute(
        self,
        model_name: str,
        inputs: Any,
        server_url: Optional[str] = None,
        model_version: str = "",
        select_outputs: Optional[List[str]] = None,
        parameters: Optional[Dict[str, Any]] = None,
        decode_json: bool = True,
        serialization: Optional[str] = None,
        context: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        url = self._url(server_url)
        self._check_size(inputs)
        results = await self._call(execute(
            inputs, url, model_name, model_version=model_version, select_outputs=select_outputs,
            parameters=parameters, decode_json=decode_json and serialization != "imjoy",
            serialization=serialization, timeout=self.config.timeout,
        ))
        return self._plain(results)

    async def list_models(
        self,
        server_url: Optional[str] = None,
        ready: bool = False,
        details: bool = False,
        context: Optional[Dict[str, Any]] = None,
    ) -> List[Dict[str, Any]]:
        url = self._url(server_url)
        return await self._call(list_models(url, ready=ready, details=details), self.config.timeout)

    async def get_config(
        self,
        model_name: str,
        server_url: Optional[str] = None,
        refresh: bool = False,
        context: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        url = self._url(server_url)
        return dict(await self._call(get_config(url, model_name, refresh=refresh), self.config.timeout))

    async def sequence_start(
        self,
        model_name: str,
        server_url: Optional[str] = None,
        sequence_id: Optional[SequenceId] = None,
        context: Optional[Dict[str, Any]] = None,
    ) -> SequenceId:
        owner = caller_of(context)
        url = self._url(server_url)
        if sum(1 for s in self._sequences.values() if s.owner == owner) >= self.config.max_sequences_per_caller:
            raise ServiceError(f"too many open sequences (limit {self.config.max_sequences_per_caller}); end some first")
        if len(self._sequences) >= self.config.max_sequences:
            raise ServiceError(f"the service has {len(self._sequences)} open sequences, its limit; try again later")
        if sequence_id is not None and str(sequence_id) in self._sequences:
            raise ServiceError(f"sequence {sequence_id!r} is already open")
        # An unknown model is reported now, not at the first step (the config is cached for the steps).
        await self._call(get_config(url, model_name), self.config.timeout)
        if sequence_id is not None and str(sequence_id) in self._sequences:  # opened while we waited
            raise ServiceError(f"sequence {sequence_id!r} is already open")
        try:
            executor = SequenceExecutor(url, model_name, sequence_id, decode_json=True, timeout=self.config.timeout)
        except InferenceServerException as exc:
            raise ServiceError(str(exc)) from None
        self._sequences[str(executor.sequence_id)] = _Sequence(owner, model_name, url, executor)
        self._ensure_reaper()
        return executor.sequence_id

    def _owned(self, sequence_id: SequenceId, context: Optional[Mapping[str, Any]]) -> _Sequence:
        entry = self._sequences.get(str(sequence_id))
        if entry is None:
            raise ServiceError(f"no open sequence {sequence_id!r} (never started, ended, or expired after being idle)")
        if entry.owner != caller_of(context):
            raise ServiceError(f"sequence {sequence_id!r} belongs to another caller")
        return entry

    async def sequence_step(
        self,
        sequence_id: SequenceId,
        inputs: Any,
        decode_json: bool = True,
        context: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        entry = self._owned(sequence_id, context)
        self._check_size(inputs)
        async with entry.lock:
            self._still_open(sequence_id, entry)
            entry.last_used = time.monotonic()
            try:
                results = await self._call(entry.executor.step(inputs, decode_json=decode_json))
            except ServiceError as exc:
                if entry.executor.broken is None:
                    raise  # refused before sending (bad inputs): the sequence goes on
                # It reached the server and failed there: the server-side state is unknown, so the
                # sequence is closed here (the server frees its side after its own idle time).
                self._sequences.pop(str(sequence_id), None)
                raise ServiceError(f"{exc} (sequence {sequence_id!r} is closed: start a new one)") from None
            finally:
                entry.last_used = time.monotonic()
        return self._plain(results)

    async def sequence_end(
        self,
        sequence_id: SequenceId,
        inputs: Any = None,
        decode_json: bool = True,
        context: Optional[Dict[str, Any]] = None,
    ) -> Dict[str, Any]:
        entry = self._owned(sequence_id, context)
        if inputs is not None:
            self._check_size(inputs)
        async with entry.lock:
            self._still_open(sequence_id, entry)
            try:
                results = await self._call(entry.executor.end(inputs, decode_json=decode_json))
            finally:
                self._sequences.pop(str(sequence_id), None)
        return self._plain(results)

    def _still_open(self, sequence_id: SequenceId, entry: _Sequence) -> None:
        """After waiting for a sequence's lock: it may have been ended or freed meanwhile."""
        if self._sequences.get(str(sequence_id)) is not entry:
            raise ServiceError(f"no open sequence {sequence_id!r} (ended or freed while this call waited)")

    async def list_sequences(self, context: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        owner, now = caller_of(context), time.monotonic()
        return [
            {"sequence_id": s.executor.sequence_id, "model_name": s.model_name, "steps": s.executor.steps,
             "idle_seconds": round(now - s.last_used, 3)}
            for s in self._sequences.values() if s.owner == owner
        ]

    # -- lifetime of sequences ----------------------------------------------------------------

    async def _finish(self, key: str) -> None:
        """End one sequence on the server (if it was started there) and forget it."""
        entry = self._sequences.pop(key, None)
        if entry is None:
            return
        async with entry.lock:  # after a step in flight, never in the middle of one
            executor = entry.executor
            if executor.is_open and executor.broken is None:
                try:
                    await asyncio.wait_for(executor.end(), self.config.timeout)
                except Exception:
                    pass  # the server frees it itself after its own idle time

    async def expire_idle(self) -> List[str]:
        """End and free the sequences idle for longer than the configured timeout; returns their ids.

        A sequence with a step running is not idle, however long the step takes."""
        now = time.monotonic()
        stale = [
            k for k, s in self._sequences.items()
            if not s.lock.locked() and now - s.last_used > self.config.sequence_idle_timeout
        ]
        for key in stale:
            await self._finish(key)
        return stale

    async def check_callers(self) -> List[str]:
        """Ask ``caller_alive`` about every owner of an open sequence; release the sequences of callers
        found gone at two checks in a row (a caller that is reconnecting keeps them). Returns the released."""
        if self.caller_alive is None:
            return []
        check = self.caller_alive

        async def alive(owner: str) -> Optional[bool]:
            try:
                return await asyncio.wait_for(check(owner), 15)
            except Exception:
                return None  # unknown: keep the sequences (the idle timeout still applies)

        owners = sorted({s.owner for s in self._sequences.values() if s.owner != LOCAL_CALLER})
        answers = await asyncio.gather(*(alive(owner) for owner in owners))
        gone = {owner for owner, answer in zip(owners, answers) if answer is False}
        released = sorted(gone & self._gone_once)
        self._gone_once = gone - self._gone_once
        for owner in released:
            await self.release_caller(owner)
        return released

    async def release_caller(self, context_or_caller: Any) -> int:
        """End every sequence of a caller (call it when the caller disconnects); returns how many."""
        owner = context_or_caller if isinstance(context_or_caller, str) else caller_of(context_or_caller)
        keys = [k for k, s in self._sequences.items() if s.owner == owner]
        for key in keys:
            await self._finish(key)
        return len(keys)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        interval = max(0.05, min(self.config.sequence_idle_timeout / 4, self.config.liveness_interval, 30.0))
        last_check = time.monotonic()
        while self._sequences:
            await asyncio.sleep(interval)
            try:
                await self.expire_idle()
                if self.caller_alive is not None and time.monotonic() - last_check >= self.config.liveness_interval:
                    last_check = time.monotonic()
                    await self.check_callers()
            except Exception:  # never let one failure stop the reaping
                pass
        self._gone_once.clear()

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
        for key in list(self._sequences):
            await self._finish(key)

    # -- export ---------------------------------------------------------------------------------

    def api(self) -> Dict[str, Any]:
        """The exported functions, each carrying its JSON schema as ``__schema__``."""
        return {name: self._exported(name, schema) for name, schema in SCHEMAS.items()}

    def _exported(self, name: str, schema: Dict[str, Any]) -> Any:
        method = getattr(self, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await method(*args, **kwargs)

        call.__name__ = name
        call.__doc__ = schema["description"]
        call.__schema__ = schema  # type: ignore[attr-defined]
        return call
