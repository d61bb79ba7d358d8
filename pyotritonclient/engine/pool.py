"""ServerPool: several servers as one. Each call goes to the ready server with the fewest requests in flight
(ties in turn) among those that have the model; a server that refuses connections, resets them or fails its
readiness check is taken out and checked again in the background (backoff up to ``recheck_seconds``) until it
is ready; a request that cannot have run (no connection was made) is sent to another server, one that failed
after it was sent only with ``idempotent=True`` and never a sequence step.

    results = await execute(inputs, ["http://gpu1:8000", "http://gpu2:8000"], "cellpose")

Create through ``session_for(urls)`` (one pool per list of servers and event loop); each server keeps its own
``Session`` (pooled client, config cache).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set

from ..errors import (
    InferenceServerException,
    InvalidInputError,
    NoServerError,
    SequenceLostError,
    ServerError,
    UnavailableError,
)
from ..http import InferenceServerClient
from ..protocol.deadline import Deadline
from ..protocol.urls import base_url, redact_url
from ..values.inputs import Inputs
from .configs import Config
from .deadline import bound
from .options import ExecuteOptions
from .session import Session
from .shared import SharedRead

RECHECK_SECONDS = 2.0  # the longest wait between two checks of a server that is out
READY_TIMEOUT = 2.0  # a readiness check without an answer in this time fails
INDEX_TIMEOUT = 2.0  # a repository index (the models a server has) without an answer in this time fails
INDEX_RETRY_SECONDS = 30.0  # the longest wait before asking a server whose index failed again


class Member:
    """One server of a pool: its session, its load and whether (and why) it is out."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.url = session.url
        self.in_flight = 0
        self.served = 0
        self.down: Optional[str] = None  # why it is out; None while it takes calls
        self.models: Optional[Set[str]] = None  # its ready models (None: not read yet, or it cannot list them)
        self.index_failed: Optional[str] = None  # why its index could not be read, until it is read again
        self.index_retry_at = 0.0  # when to ask a server whose index failed again (monotonic seconds)
        self.index_backoff = 1.0
        self.reading: SharedRead[Optional[Set[str]]] = SharedRead()  # its index, read by one caller at a time
        self.checker: Optional[asyncio.Task[None]] = None

    def status(self) -> Dict[str, Any]:
        """``{url, ready, in_flight, served, reason, index}`` (the URL with credentials redacted; ``index``:
        "ok", "failed" or "unknown", whether its list of models could be read)."""
        return {
            "url": redact_url(self.url),
            "ready": self.down is None,
            "in_flight": self.in_flight,
            "served": self.served,
            "reason": self.down or self.index_failed or "",
            "index": "failed" if self.index_failed else "ok" if self.models is not None else "unknown",
        }


class ServerPool:
    """Several servers in one event loop (see the module's docstring); ``members`` in the order given."""

    def __init__(self, sessions: Sequence[Session], recheck_seconds: float = RECHECK_SECONDS) -> None:
        if not sessions:
            raise InvalidInputError("a server pool needs at least one server URL")
        self.members = [Member(session) for session in sessions]
        self.url = ",".join(redact_url(member.url) for member in self.members)  # for messages: redacted
        self.recheck_seconds = recheck_seconds
        self.unanswered: Dict[str, str] = {}  # the servers the last list_models could not read, and why
        self._turn = 0
        self._checked: SharedRead[Any] = SharedRead(once=True)

    # -- choosing a server -----------------------------------------------------------------------

    @property
    def urls(self) -> List[str]:
        """The base URL of each member, in the order given."""
        return [member.url for member in self.members]

    def status(self) -> List[Dict[str, Any]]:
        """Every server's state: ready or out (and why), requests in flight, calls served."""
        return [member.status() for member in self.members]

    def member(self, url: str) -> Member:
        """The member for ``url`` (any spelling of its base URL); InvalidInputError if it is not in the pool."""
        wanted = base_url(url)
        for member in self.members:
            if member.url == wanted:
                return member
        raise InvalidInputError(f"{redact_url(url)} is not one of this pool's servers")

    async def _check_all_once(self) -> None:
        """On first use: every server's readiness, concurrently; those not ready are taken out."""
        await self._checked.run(lambda: asyncio.gather(*(self._probe(m) for m in self.members)))

    async def _probe(self, member: Member) -> None:
        reason = await self._not_ready(member)
        if reason:
            self.take_out(member, reason)

    async def _not_ready(self, member: Member) -> str:
        """'' when the server says it is ready, else why not."""
        try:
            ready = await asyncio.wait_for(member.session.client.is_server_ready(), READY_TIMEOUT)
        except asyncio.TimeoutError:
            return f"no readiness answer within {READY_TIMEOUT} s"
        except InferenceServerException as exc:
            return str(exc)
        return "" if ready else "not ready (GET v2/health/ready)"

    def take_out(self, member: Member, reason: str) -> None:
        """Stop sending calls to ``member`` and check it in the background until it is ready again."""
        member.models = None  # read again when it is back: its repository may have changed
        if member.down is not None:
            member.down = reason
            return
        member.down = reason
        member.checker = asyncio.ensure_future(self._recheck(member))

    async def _recheck(self, member: Member) -> None:
        delay = min(0.1, self.recheck_seconds)
        try:
            while True:
                await asyncio.sleep(delay)
                reason = await self._not_ready(member)
                if not reason:
                    member.down = None
                    return
                member.down = reason
                delay = min(delay * 2, self.recheck_seconds)
        finally:
            member.checker = None

    async def _models_of(self, member: Member) -> Optional[Set[str]]:
        """The member's ready models (read once, again after a miss), within ``INDEX_TIMEOUT``; None when they
        cannot be read (the failure is remembered, and the index asked for again after a backoff)."""
        if member.models is not None:
            return member.models
        if member.index_failed and time.monotonic() < member.index_retry_at:
            return None
        return await member.reading.run(lambda: self._read_index(member))

    async def _read_index(self, member: Member) -> Optional[Set[str]]:
        try:
            index = await asyncio.wait_for(member.session.repository_index(ready=True), INDEX_TIMEOUT)
        except (InferenceServerException, asyncio.TimeoutError) as exc:
            # no index (or no answer): skipped while others are known to have the model, tried again later
            member.index_failed = str(exc) or f"no answer to its repository index within {INDEX_TIMEOUT} s"
            member.index_retry_at = time.monotonic() + member.index_backoff
            member.index_backoff = min(member.index_backoff * 2, INDEX_RETRY_SECONDS)
            return None
        member.index_failed, member.index_backoff = None, 1.0
        member.models = {str(entry.get("name")) for entry in index if entry.get("state", "READY") == "READY"}
        return member.models

    async def _candidates(self, model_name: str, skip: Mapping[str, str]) -> Dict[str, Any]:
        """The members that may take a call of ``model_name`` now, and why each other one may not. The members'
        indexes are read concurrently; a member whose index cannot be read is used only when no member is known
        to have the model."""
        await self._check_all_once()
        reasons: Dict[str, str] = dict(skip)
        up = [member for member in self.members if member.url not in skip and member.down is None]
        for member in self.members:
            if member.url not in skip and member.down is not None:
                reasons[member.url] = f"out: {member.down}"
        indexes = await asyncio.gather(*(self._models_of(member) for member in up))
        known = [m for m, models in zip(up, indexes) if models is not None and model_name in models]
        unknown = [m for m, models in zip(up, indexes) if models is None]
        for member, models in zip(up, indexes):
            if models is not None and model_name not in models:
                reasons[member.url] = f"has no ready model {model_name!r}"
        return {"ready": known or unknown, "reasons": reasons}

    def _least_busy(self, ready: List[Member]) -> Member:
        fewest = min(member.in_flight for member in ready)
        tied = [member for member in ready if member.in_flight == fewest]
        self._turn += 1
        return tied[self._turn % len(tied)]

    def _none_left(self, what: str, reasons: Mapping[str, str]) -> NoServerError:
        listed = "; ".join(f"{redact_url(url)}: {why}" for url, why in reasons.items())
        return NoServerError(
            f"no server can take {what}: {listed}", reasons={redact_url(url): why for url, why in reasons.items()}
        )

    async def choose(self, model_name: str) -> str:
        """The URL of the server the next call of ``model_name`` would go to (a sequence pins itself here)."""
        found = await self._candidates(model_name, {})
        if not found["ready"]:
            raise self._none_left(f"model {model_name!r}", found["reasons"])
        return str(self._least_busy(found["ready"]).url)

    # -- calls -----------------------------------------------------------------------------------

    @property
    def client(self) -> InferenceServerClient:
        """The pooled client of the least busy server that is not out (of the first server if all are)."""
        ready = [member for member in self.members if member.down is None] or self.members[:1]
        return self._least_busy(ready).session.client

    async def execute(
        self,
        model_name: str,
        inputs: Inputs,
        options: Optional[ExecuteOptions] = None,
        *,
        client: Optional[InferenceServerClient] = None,
        config: Optional[Mapping[str, Any]] = None,
        server_url: Optional[str] = None,
        server: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Run the model on one server (see the module's docstring). ``server``: only that server (a pinned
        sequence); if it is out or fails, ``SequenceLostError`` names it. ``client``/``server_url`` are for
        the single-server signature and ignored here. ``options.timeout`` may be the call's Deadline already:
        it is passed on to the member as it is."""
        options = options or ExecuteOptions()
        deadline = Deadline.of(options.timeout)  # (the caller's, when it made one: not made twice)
        if options.timeout is not None and options.timeout is not deadline:  # (seconds: made into the Deadline once)
            options = options.but(timeout=deadline)
        if server is not None:
            return await self._pinned(self.member(server), model_name, inputs, options, config)
        tried: Dict[str, str] = {}
        while True:
            found = await self._within(deadline, self._candidates(model_name, tried), model_name, options, tried)
            if not found["ready"]:
                raise self._none_left(f"model {model_name!r}", found["reasons"])
            member = self._least_busy(found["ready"])
            if tried and deadline.left() == 0:
                raise self._none_left(f"model {model_name!r} within {deadline.timeout} s", tried)
            member.in_flight += 1
            try:
                result = await member.session.execute(model_name, inputs, options, config=config)
            except UnavailableError as exc:
                self.take_out(member, str(exc))
                if not (exc.unsent or (options.idempotent and not options.sequence_id)):
                    raise
                tried[member.url] = f"failed: {exc}"
                continue
            except ServerError as exc:
                if exc.http_status not in (400, 404) or not await self._lost_model(member, model_name):
                    raise
                tried[member.url] = f"has no ready model {model_name!r}"
                continue
            finally:
                member.in_flight -= 1
            member.served += 1
            return result

    async def _within(
        self, deadline: Deadline, choosing: Any, model_name: str, options: ExecuteOptions, tried: Dict[str, str]
    ) -> Dict[str, Any]:
        """Choosing a server takes no longer than what is left of the call's deadline."""

        def too_late() -> NoServerError:
            reasons = {**tried, **{m.url: "no answer in time" for m in self.members if m.url not in tried}}
            return self._none_left(f"model {model_name!r} within {deadline.timeout} s", reasons)

        return await bound(deadline, choosing, too_late)

    async def _lost_model(self, member: Member, model_name: str) -> bool:
        """After a refusal: True when the server's repository (read again) no longer has the model ready, so the
        request cannot have run there."""
        member.models = None
        models = await self._models_of(member)
        return models is not None and model_name not in models

    async def _pinned(
        self,
        member: Member,
        model_name: str,
        inputs: Inputs,
        options: ExecuteOptions,
        config: Optional[Mapping[str, Any]],
    ) -> Dict[str, Any]:
        what = f"sequence {options.sequence_id!r} of model {model_name!r}" if options.sequence_id else "the call"
        if member.down is not None:
            raise SequenceLostError(
                f"{what} was lost: its server {redact_url(member.url)} is out ({member.down})",
                server=redact_url(member.url),
            )
        member.in_flight += 1
        try:
            result = await member.session.execute(model_name, inputs, options, config=config)
        except UnavailableError as exc:
            self.take_out(member, str(exc))
            raise SequenceLostError(
                f"{what} was lost: its server {redact_url(member.url)} failed ({exc})", server=redact_url(member.url)
            ) from exc
        finally:
            member.in_flight -= 1
        member.served += 1
        return result

    async def config(
        self,
        model_name: str,
        model_version: str = "",
        *,
        refresh: bool = False,
        client: Optional[InferenceServerClient] = None,
        headers: Optional[Mapping[str, str]] = None,
        server_url: Optional[str] = None,
    ) -> Config:
        """The model's config from a server that has it (connection failures move on to the next one)."""
        tried: Dict[str, str] = {}
        while True:
            found = await self._candidates(model_name, tried)
            if not found["ready"]:
                raise self._none_left(f"the config of model {model_name!r}", found["reasons"])
            member = self._least_busy(found["ready"])
            try:
                return await member.session.config(model_name, model_version, refresh=refresh, headers=headers)
            except UnavailableError as exc:
                self.take_out(member, str(exc))
                tried[member.url] = f"failed: {exc}"

    async def list_models(
        self,
        *,
        ready: bool = False,
        details: bool = False,
        client: Optional[InferenceServerClient] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> List[Dict[str, Any]]:
        """The models of every server that is not out, merged by name; ``servers`` lists where each is ready.
        The servers are asked concurrently; those that do not answer within ``INDEX_TIMEOUT`` (or fail) are left
        out and named in ``unanswered`` (redacted URL -> why); NoServerError only when none answered."""
        await self._check_all_once()
        merged: Dict[str, Dict[str, Any]] = {}
        reasons: Dict[str, str] = {}
        up = [member for member in self.members if member.down is None]
        for member in self.members:
            if member.down is not None:
                reasons[member.url] = f"out: {member.down}"

        async def listed(member: Member) -> Any:
            try:
                call = member.session.list_models(ready=ready, details=details, headers=headers)
                return await asyncio.wait_for(call, None if details else INDEX_TIMEOUT)
            except asyncio.TimeoutError:
                return f"no answer within {INDEX_TIMEOUT} s"
            except UnavailableError as exc:
                self.take_out(member, str(exc))
                return f"failed: {exc}"
            except InferenceServerException as exc:
                return f"failed: {exc}"

        answers = await asyncio.gather(*(listed(member) for member in up))
        for member, models in zip(up, answers):
            if isinstance(models, str):
                reasons[member.url] = models
                continue
            for model in models:
                entry = merged.setdefault(model["name"], {**model, "versions": [], "states": {}, "servers": []})
                entry["versions"] = sorted(set(entry["versions"]) | set(model.get("versions", [])))
                entry["states"].update(model.get("states", {}))
                if model.get("state") == "READY":
                    entry["state"] = "READY"
                    entry["servers"].append(redact_url(member.url))
        self.unanswered = {redact_url(url): why for url, why in reasons.items()}
        if not merged and len(reasons) == len(self.members):
            raise self._none_left("the model list", reasons)
        return sorted(merged.values(), key=lambda m: str(m["name"]))

    async def close(self) -> None:
        """Stop the background checks and close every server's pooled client."""
        for member in self.members:
            if member.checker is not None:
                member.checker.cancel()
            await member.session.close()


__all__ = ["INDEX_TIMEOUT", "READY_TIMEOUT", "RECHECK_SECONDS", "Member", "ServerPool"]
