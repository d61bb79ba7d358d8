"""The service's open sequences: who owns each, one step at a time, and ending those idle or orphaned.

- A sequence belongs to the caller that opened it (``caller_of(context)``): it is keyed by (caller, the id the
  caller chose), and another caller asking for it gets the answer a missing sequence gets.
- The id sent to Triton is chosen here, at random, never the caller's: Triton keys sequences by model and id on
  the whole server, so callers on other replicas (or other services) choosing the same id never collide.
- Steps of one sequence run one at a time, in the order they arrive; nothing ends a sequence mid-step.
- A sequence idle for ``sequence_idle_timeout`` seconds is ended on the server and freed (the reaper).
- With a ``caller_alive`` check, owners are checked every ``liveness_interval`` seconds; the sequences of a
  caller found gone at two checks in a row are released (a caller that is reconnecting keeps them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple, Union

from ..api import get_config
from ..engine.registry import session_for
from ..engine.session import Session
from ..errors import InferenceServerException
from ..protocol.deadline import Deadline
from ..protocol.metadata import is_decoupled
from ..protocol.urls import redact_url
from ..sequence import SequenceExecutor, new_sequence_id, new_string_sequence_id
from .calls import guarded
from .departures import CallerCheck, Departures
from .policy import LOCAL_CALLER, ServiceConfig, ServiceError, ServiceTimeout, caller_of, no_streaming_step

logger = logging.getLogger("pyotritonclient.service")
SequenceId = Union[int, str]
Key = Tuple[str, str]  # (owner, str(the caller's sequence id))


@dataclass
class OpenSequence:
    """One open sequence and what the registry knows of it."""

    owner: str
    model_name: str
    executor: SequenceExecutor  # its sequence_id is the one sent to Triton, chosen by the service
    caller_id: SequenceId  # the id the caller chose (or was given) and uses
    last_used: float = field(default_factory=time.monotonic)

    @property
    def lock(self) -> asyncio.Lock:
        """The sequence's one lock (its executor's): one step at a time, in arrival order."""
        return self.executor.lock


def string_ids(config: Mapping[str, Any]) -> bool:
    """Whether the model's sequence batcher takes string correlation ids (a CORRID control of TYPE_STRING)."""
    batching = config.get("sequence_batching") if isinstance(config, Mapping) else None
    for control_input in (batching or {}).get("control_input") or []:
        for control in (control_input or {}).get("control") or []:
            if isinstance(control, Mapping) and control.get("kind") == "CONTROL_SEQUENCE_CORRID":
                return control.get("data_type") == "TYPE_STRING"
    return False


class SequenceRegistry:
    """The open sequences of one service, keyed by (owner, ``str(sequence_id)``)."""

    def __init__(self, config: ServiceConfig, caller_alive: Optional[CallerCheck] = None) -> None:
        self.config = config
        self.caller_alive = caller_alive
        self.open: Dict[Key, OpenSequence] = {}
        self._reaper: Optional[asyncio.Task[None]] = None
        self._departures = Departures()
        self.ended: Dict[Key, str] = {}  # sequences ended by the service stopping, and why (bounded)
        self._starting: Dict[str, int] = {}  # owner -> starts under way (their slots are reserved)
        self._ids_starting: Set[Key] = set()  # chosen sequence ids of starts under way
        self.liveness_checks = 0  # completed rounds of check_callers (each asks every owner once)

    async def start(
        self, model_name: str, url: str, sequence_id: Optional[SequenceId], owner: str, deadline: Deadline
    ) -> SequenceId:
        """Open a sequence for ``owner`` (limits checked, the model's config read now, within ``deadline``) and
        return its id.

        The slot is reserved before the first ``await``, so concurrent starts cannot pass the limits."""
        mine = sum(1 for s in self.open.values() if s.owner == owner) + self._starting.get(owner, 0)
        if mine >= self.config.max_sequences_per_caller:
            raise ServiceError(
                f"too many open sequences (limit {self.config.max_sequences_per_caller}); end some first"
            )
        if len(self.open) + sum(self._starting.values()) >= self.config.max_sequences:
            raise ServiceError(
                f"the service has {self.config.max_sequences} open sequences, its limit; try again later"
            )
        if sequence_id is not None and (
            isinstance(sequence_id, bool) or not isinstance(sequence_id, (int, str)) or sequence_id in (0, "")
        ):
            raise ServiceError(f"sequence_id must be a non-zero int or a non-empty str, got {sequence_id!r}")
        key = None if sequence_id is None else (owner, str(sequence_id))
        if key is not None and (key in self.open or key in self._ids_starting):
            raise ServiceError(f"sequence {sequence_id!r} is already open")
        self._starting[owner] = self._starting.get(owner, 0) + 1
        if key is not None:
            self._ids_starting.add(key)
        try:
            # An unknown model is reported now, not at the first step (the config is cached for the steps).
            config = await guarded(get_config(url, model_name), deadline)
            if is_decoupled(config):
                raise no_streaming_step(model_name, streaming=False)
            session = session_for(url)
            # (several servers: each step's server is checked when the sequence pins itself to one)
            capabilities = await guarded(session.capabilities(), deadline) if isinstance(session, Session) else None
            if capabilities is not None and not capabilities.sequences:
                raise ServiceError(
                    f"{capabilities.describe()} at {redact_url(url)} has no sequence support: "
                    f"{model_name!r} cannot run as a sequence"
                )
            # Triton's id: random, of the kind the model's CORRID takes (whatever kind the caller's id is)
            triton_id: SequenceId = new_string_sequence_id("svc-") if string_ids(config) else new_sequence_id()
            try:
                executor = SequenceExecutor(url, model_name, triton_id, decode_json=True, timeout=self.config.timeout)
            except InferenceServerException as exc:
                raise ServiceError(exc.message()) from None
            caller_id = new_sequence_id() if sequence_id is None else sequence_id
            while key is None and (owner, str(caller_id)) in self.open:
                caller_id = new_sequence_id()
            self.open[(owner, str(caller_id))] = OpenSequence(owner, model_name, executor, caller_id)
        finally:
            self._starting[owner] -= 1
            if not self._starting[owner]:
                del self._starting[owner]
            if key is not None:
                self._ids_starting.discard(key)
        self._ensure_reaper()
        return caller_id

    def owned(self, sequence_id: SequenceId, context: Optional[Mapping[str, Any]]) -> OpenSequence:
        """The caller's open sequence ``sequence_id``; ServiceError if the caller has none of that id (another
        caller's sequence of the same id is not looked at: the answer is the same as for an id never used)."""
        key = (caller_of(context), str(sequence_id))
        entry = self.open.get(key)
        if entry is None:
            why = self.ended.get(key)
            if why:
                raise ServiceError(f"sequence {sequence_id!r} was ended: {why}; start a new sequence")
            raise ServiceError(
                f"you have no open sequence {sequence_id!r} here (never started by you on this service replica, "
                "ended, or expired after being idle); a sequence stays on the replica that started it: keep using "
                "that service object"
            )
        return entry

    async def step(
        self, entry: OpenSequence, sequence_id: SequenceId, inputs: Any, decode_json: bool, deadline: Deadline
    ) -> Dict[str, Any]:
        """One step, after the steps before it (its turn awaited within ``deadline``, then the request sent
        within what is left of it); a step that failed on the server closes the sequence."""
        await guarded(entry.lock.acquire(), deadline)
        try:
            self._still_open(entry)
            entry.last_used = time.monotonic()
            try:
                stepping = entry.executor.step_held(inputs, decode_json=decode_json, timeout=deadline)
                return await guarded(stepping)  # type: ignore[no-any-return]
            except ServiceError as exc:
                if entry.executor.broken is None:
                    raise  # refused before sending (bad inputs): the sequence goes on
                # It reached the server and failed there: the server-side state is unknown, so the
                # sequence is closed here (the server frees its side after its own idle time).
                self.open.pop((entry.owner, str(entry.caller_id)), None)
                closed = f"sequence {sequence_id!r} is closed: start a new one"
                if isinstance(exc, ServiceTimeout):
                    raise ServiceTimeout(str(exc), then=closed) from None
                raise ServiceError(f"{exc} ({closed})") from None
            finally:
                entry.last_used = time.monotonic()
        finally:
            entry.lock.release()

    async def end(
        self, entry: OpenSequence, sequence_id: SequenceId, inputs: Any, decode_json: bool, deadline: Deadline
    ) -> Dict[str, Any]:
        """The last step (with ``inputs``, or the last ones again), its turn awaited within ``deadline``; the
        sequence is freed whatever happens."""
        await guarded(entry.lock.acquire(), deadline)
        try:
            self._still_open(entry)
            try:
                ending = entry.executor.end_held(inputs, decode_json=decode_json, timeout=deadline)
                return await guarded(ending)  # type: ignore[no-any-return]
            finally:
                self.open.pop((entry.owner, str(entry.caller_id)), None)
        finally:
            entry.lock.release()

    def _still_open(self, entry: OpenSequence) -> None:
        """After waiting for a sequence's lock: it may have been ended or freed meanwhile."""
        if self.open.get((entry.owner, str(entry.caller_id))) is not entry:
            raise ServiceError(f"no open sequence {entry.caller_id!r} (ended or freed while this call waited)")

    def listed(self, owner: str) -> List[Dict[str, Any]]:
        """``owner``'s open sequences: id, model, steps, idle seconds."""
        now = time.monotonic()
        return [
            {
                "sequence_id": s.caller_id,
                "model_name": s.model_name,
                "steps": s.executor.steps,
                "idle_seconds": round(now - s.last_used, 3),
            }
            for s in self.open.values()
            if s.owner == owner
        ]

    async def finish(self, key: Key, within: Optional[float] = None) -> bool:
        """End one sequence on the server (if it was started there) and forget it; True when the server
        confirmed the end (or nothing had been sent). ``within`` bounds the whole of it, waiting for a step
        in flight included (default: the service's timeout for the end request)."""
        entry = self.open.pop(key, None)
        if entry is None:
            return True

        async def end() -> bool:
            async with entry.lock:  # after a step in flight, never in the middle of one
                executor = entry.executor
                if executor.is_open and executor.broken is None:
                    await executor.end_held()
                return True

        try:
            return await asyncio.wait_for(end(), within if within is not None else self.config.timeout)
        except Exception:
            return False  # the server frees it itself after its own idle time

    async def expire_idle(self) -> List[SequenceId]:
        """End and free the sequences idle for longer than the configured timeout; returns their (callers') ids."""
        now = time.monotonic()
        stale = [
            k
            for k, s in self.open.items()
            if not s.lock.locked() and now - s.last_used > self.config.sequence_idle_timeout
        ]
        ids = [self.open[key].caller_id for key in stale]
        for key in stale:
            await self.finish(key)
        return ids

    async def check_callers(self) -> List[str]:
        """Ask ``caller_alive`` about every owner of an open sequence; release the sequences of callers
        found gone at two checks in a row. Returns the callers released."""
        if self.caller_alive is None:
            return []
        owners = [s.owner for s in self.open.values() if s.owner != LOCAL_CALLER]
        released = await self._departures.gone(owners, self.caller_alive)
        for owner in released:
            await self.release(owner, "its caller disconnected (gone at two liveness checks in a row)")
        self.liveness_checks += 1
        return released

    async def release(self, owner: str, because: str = "its caller disconnected") -> int:
        """End every sequence of ``owner`` on the server, remembering ``because`` for the owner's later calls
        (a caller that comes back under the same name is told); returns how many. Logged."""
        keys = [k for k, s in self.open.items() if s.owner == owner]
        for key in keys:
            if len(self.ended) < 10_000:
                self.ended[key] = because
        confirmed = sum(await asyncio.gather(*(self.finish(key) for key in keys)))
        if keys:
            logger.info("ended %d sequence(s) of %s: %s (%d confirmed by Triton)", len(keys), owner, because, confirmed)
        return len(keys)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        interval = max(0.05, min(self.config.sequence_idle_timeout / 4, self.config.liveness_interval, 30.0))
        last_check = time.monotonic()
        while self.open:
            await asyncio.sleep(interval)
            try:
                await self.expire_idle()
                if self.caller_alive is not None and time.monotonic() - last_check >= self.config.liveness_interval:
                    last_check = time.monotonic()
                    await self.check_callers()
            except Exception:  # never let one failure stop the reaping
                pass
        self._departures.forget()

    async def close(self, ended_because: str = "", within: Optional[float] = None) -> Tuple[int, int]:
        """Stop the reaper and end every open sequence, all at once, within ``within`` seconds (remembering
        ``ended_because`` for later calls). Returns (ended on the server, not confirmed)."""
        if self._reaper is not None:
            self._reaper.cancel()
        keys = list(self.open)
        for key in keys:
            if ended_because and len(self.ended) < 10_000:
                self.ended[key] = ended_because
        done = await asyncio.gather(*(self.finish(key, within) for key in keys))
        return sum(done), len(done) - sum(done)
