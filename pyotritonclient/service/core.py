"""TritonService: the functions an RPC caller gets (execute, models, sequences), over the policy and registry.

Every exported function takes positional arguments, keyword arguments or one options object (calls.py);
URLs and sizes are checked by the policy (policy.py); sequences live in the registry (sequences.py).
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Dict, List, Mapping, Optional

from ..api import get_config, list_models
from ..engine.deadline import bound
from ..engine.options import ExecuteOptions, rpc_options
from ..engine.registry import session_for
from ..errors import InferenceServerException, InferenceServerTimeout
from ..protocol.deadline import Deadline
from ..protocol.metadata import is_sequence_model
from ..values.outputs import plain_for_rpc
from .calls import bind, guarded
from .departures import CallerCheck
from .policy import (
    LOCAL_CALLER,
    ServiceConfig,
    ServiceError,
    ServiceTimeout,
    caller_of,
    no_streaming_step,
    payload_size,
    sender_of,
)
from .schemas import SCHEMAS
from .sequences import SequenceId, SequenceRegistry
from .streams import OpenStream, StreamRegistry, check_stream_parameters

logger = logging.getLogger("pyotritonclient.service")
RPC_DEFAULTS = {name: schema["default"] for name, schema in rpc_options().items()}
STOPPING_LOAD = 1_000_000  # what a stopping replica reports as its load

__all__ = ["LOCAL_CALLER", "DrainReport", "ServiceConfig", "ServiceError", "TritonService", "caller_of", "payload_size"]


@dataclass
class DrainReport:
    """What a drain did: calls still running at its deadline, sequences ended on Triton or not confirmed."""

    seconds: float
    calls_left: int
    sequences_ended: int
    sequences_unconfirmed: int

    def describe(self, grace: float) -> str:
        """One log line saying what happened."""
        calls = f"{self.calls_left} call(s) still running at the {grace:g} s deadline" if self.calls_left else ""
        line = f"stopping after {self.seconds:.1f} s: {calls or 'no call running'}; "
        line += f"{self.sequences_ended} open sequence(s) ended on Triton"
        if self.sequences_unconfirmed:
            line += f", {self.sequences_unconfirmed} not confirmed (Triton frees them after its idle time)"
        return line


class TritonService:
    """The service. Its public coroutine functions are what gets exported over RPC (see ``api()``)."""

    def __init__(self, config: ServiceConfig, caller_alive: Optional[CallerCheck] = None) -> None:
        self.config = config
        config.allowed()  # a bad URL in the configuration is reported now
        self.sequences = SequenceRegistry(config, caller_alive)
        self.streams = StreamRegistry(config, lambda: self.sequences.caller_alive)
        self.in_flight = 0  # calls running now (get_load)
        self.stopping: Optional[str] = None  # why this replica takes no new work, once it is stopping
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def caller_alive(self) -> Optional[CallerCheck]:
        """How the registry asks whether a caller is still connected (hypha.py sets one)."""
        return self.sequences.caller_alive

    @caller_alive.setter
    def caller_alive(self, check: Optional[CallerCheck]) -> None:
        """How the registry asks whether a caller is still connected (hypha.py sets one)."""
        self.sequences.caller_alive = check

    @property
    def _sequences(self) -> Dict[Any, Any]:
        return self.sequences.open

    # -- the functions ------------------------------------------------------------------------

    async def execute(
        self,
        model_name: str,
        inputs: Any,
        server_url: Optional[str] = None,
        context: Optional[Dict[str, Any]] = None,
        *,
        deadline: Optional[Deadline] = None,
        **options: Any,
    ) -> Dict[str, Any]:
        """Run a model once; outputs by name. ``options``: the ExecuteOptions offered to RPC callers (their
        JSON schema is SCHEMAS["execute"]), with the service's defaults; the service sets the timeout (the
        call's ``deadline``, passed down to the socket as it is)."""
        url = self.config.url(server_url)
        self.config.check_size(inputs)  # (call() checks every call's arguments; this covers direct calls)
        settings = {**RPC_DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
        if settings.get("serialization") == "imjoy":
            settings["decode_json"] = False
        settings["model_version"] = settings.get("model_version") or ""
        settings["timeout"] = self.config.deadline(deadline)
        try:
            execute_options = ExecuteOptions.of(settings, "execute()")
        except InferenceServerException as exc:
            raise ServiceError(exc.message()) from None
        results = await guarded(session_for(url).execute(model_name, inputs, execute_options))
        return plain_for_rpc(results)

    async def generate_stream(
        self,
        model_name: str,
        inputs: Any,
        parameters: Optional[Dict[str, Any]] = None,
        server_url: Optional[str] = None,
        model_version: str = "",
        context: Optional[Dict[str, Any]] = None,
    ) -> OpenStream:
        """Stream a model's answers (Triton's ``generate_stream``, e.g. a decoupled model's tokens): an async
        iterator of events, each an object of output name -> value, as they come. Stop iterating to stop the
        model; the limits per caller and per stream are the service's (docs/streaming.md)."""
        url = self.config.url(server_url)
        if not isinstance(model_name, str) or not model_name:
            raise ServiceError(f"model_name must be a non-empty string, got {model_name!r}"[:200])
        if not isinstance(inputs, Mapping):
            raise ServiceError(f"inputs must be an object of input name -> value, got {type(inputs).__name__}")
        if parameters is not None and not isinstance(parameters, Mapping):
            raise ServiceError(f"parameters must be an object, got {type(parameters).__name__}")
        check_stream_parameters(inputs, parameters or {})
        try:
            json.dumps([inputs, parameters])
        except (TypeError, ValueError):
            raise ServiceError("the inputs of generate_stream must be JSON values (strings, numbers, lists)") from None
        executor, timeout = session_for(url), self.config.timeout

        async def source() -> AsyncIterator[Dict[str, Any]]:
            chosen = await executor.choose(model_name)
            reading = get_config(chosen, model_name, model_version=str(model_version or ""))  # cached after once
            config = await bound(
                Deadline(timeout), reading, lambda: InferenceServerTimeout("no config", status="TIMEOUT")
            )
            if is_sequence_model(config):  # (a silent Triton is the stream's timeout, said as for its events)
                raise no_streaming_step(model_name, streaming=True)
            client = session_for(chosen).client
            events = client.generate_stream(
                model_name, dict(inputs), str(model_version or ""), dict(parameters or {}), timeout=timeout
            )
            try:
                async for event in events:
                    yield event
            finally:
                await events.aclose()

        return self.streams.start(caller_of(context), model_name, source)

    async def list_models(
        self,
        server_url: Optional[str] = None,
        ready: bool = False,
        details: bool = False,
        context: Optional[Dict[str, Any]] = None,
        deadline: Optional[Deadline] = None,
    ) -> List[Dict[str, Any]]:
        """The models of the server: name, versions, state (and inputs/outputs with ``details``)."""
        url = self.config.url(server_url)
        listing = list_models(url, ready=bool(ready), details=bool(details))
        return await guarded(listing, self.config.deadline(deadline))  # type: ignore[no-any-return]

    async def get_config(
        self,
        model_name: str,
        server_url: Optional[str] = None,
        refresh: bool = False,
        context: Optional[Dict[str, Any]] = None,
        deadline: Optional[Deadline] = None,
    ) -> Dict[str, Any]:
        """The model's Triton config."""
        url = self.config.url(server_url)
        return dict(await guarded(get_config(url, model_name, refresh=bool(refresh)), self.config.deadline(deadline)))

    async def sequence_start(
        self,
        model_name: str,
        server_url: Optional[str] = None,
        sequence_id: Optional[SequenceId] = None,
        context: Optional[Dict[str, Any]] = None,
        deadline: Optional[Deadline] = None,
    ) -> SequenceId:
        """Open a sequence for a stateful model; only this caller may use it."""
        url, owner = self.config.url(server_url), caller_of(context)
        return await self.sequences.start(model_name, url, sequence_id, owner, self.config.deadline(deadline))

    async def sequence_step(
        self,
        sequence_id: SequenceId,
        inputs: Any,
        decode_json: bool = True,
        context: Optional[Dict[str, Any]] = None,
        deadline: Optional[Deadline] = None,
    ) -> Dict[str, Any]:
        """One step of the caller's sequence (the first starts it on the server)."""
        entry = self.sequences.owned(sequence_id, context)
        self.config.check_size(inputs)
        step = self.sequences.step(entry, sequence_id, inputs, bool(decode_json), self.config.deadline(deadline))
        return plain_for_rpc(await step)

    async def sequence_end(
        self,
        sequence_id: SequenceId,
        inputs: Any = None,
        decode_json: bool = True,
        context: Optional[Dict[str, Any]] = None,
        deadline: Optional[Deadline] = None,
    ) -> Dict[str, Any]:
        """End the caller's sequence (with these inputs, or the last step's again) and free it."""
        entry = self.sequences.owned(sequence_id, context)
        if inputs is not None:
            self.config.check_size(inputs)
        ending = self.sequences.end(entry, sequence_id, inputs, bool(decode_json), self.config.deadline(deadline))
        return plain_for_rpc(await ending)

    async def list_sequences(self, context: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        """The caller's open sequences."""
        return self.sequences.listed(caller_of(context))

    async def get_load(self, context: Optional[Dict[str, Any]] = None) -> int:
        """Calls running on this replica now; a stopping replica reports ``STOPPING_LOAD`` so that callers
        choosing with ``select:min:get_load`` go elsewhere."""
        return self.in_flight + len(self.streams.open) + (STOPPING_LOAD if self.stopping else 0)

    # -- stopping -------------------------------------------------------------------------------

    async def drain(self, grace: float, reason: str = "the service is stopping") -> DrainReport:
        """Stop taking new work (new calls are refused with ``reason``), let the calls in flight finish within
        ``grace`` seconds, then end every open sequence on Triton, all at once, within what is left of ``grace``
        (at least a second, so that sequences get their end even when calls used all of it)."""
        started = time.monotonic()
        self.stopping = reason
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except asyncio.TimeoutError:
            pass
        left = self.in_flight
        await self.streams.close(reason)
        remaining = max(1.0, grace - (time.monotonic() - started))
        ended, unconfirmed = await self.sequences.close(ended_because=reason, within=remaining)
        return DrainReport(time.monotonic() - started, left, ended, unconfirmed)

    # -- lifetime of sequences ----------------------------------------------------------------

    async def expire_idle(self) -> List[SequenceId]:
        """End and free the sequences idle for longer than the configured timeout; returns their ids."""
        return await self.sequences.expire_idle()

    async def check_callers(self) -> List[str]:
        """Release the sequences of callers found gone twice in a row (see sequences.py)."""
        return await self.sequences.check_callers()

    async def release_caller(self, context_or_caller: Any) -> int:
        """End every sequence of a caller (call it when the caller disconnects); returns how many."""
        owner = context_or_caller if isinstance(context_or_caller, str) else caller_of(context_or_caller)
        await self.streams.release(owner)
        return await self.sequences.release(owner)

    async def close(self) -> None:
        """End every open sequence and stream, and stop the reapers."""
        await self.streams.close()
        await self.sequences.close()

    # -- export ---------------------------------------------------------------------------------

    async def call(self, name: str, args: Any = (), kwargs: Optional[Dict[str, Any]] = None) -> Any:
        """Call the exported function ``name`` with arguments in any calling style (see calls.py)."""
        if name not in SCHEMAS:
            raise ServiceError(f"no function {name!r}; the functions are {', '.join(SCHEMAS)}")
        method = getattr(self, name)
        if name == "get_load":
            return await method()
        if self.stopping:
            self._refuse_while_stopping(name, args, kwargs or {})
        # The same guards for every function: a sender, the size limit on all its arguments, one deadline (made
        # here, passed to the function, which bounds every wait by it: no second timeout around the call).
        if kwargs and kwargs.get("context") is not None:
            sender_of(kwargs["context"])  # (one forwarded by another hypha process still runs models)
        self.config.check_size((args, kwargs), f"the arguments of {name}()")
        self.in_flight += 1
        self._idle.clear()
        try:
            bound = bind(name, method, args, kwargs or {}, SCHEMAS[name])
            if name in DEADLINED:
                bound["deadline"] = Deadline(self.config.timeout)
            return await method(**bound)
        except (ServiceTimeout, asyncio.TimeoutError) as exc:
            then = getattr(exc, "then", "")
            raise ServiceError(
                f"{name}() did not finish within the service's timeout ({self.config.timeout:g} s): "
                f"Triton is busy or not answering; try again later{f' ({then})' if then else ''}"
            ) from None
        except ServiceError:
            raise
        except InferenceServerException as exc:
            raise ServiceError(str(exc)) from None
        except Exception:  # a bug or an input nothing checked: the caller gets an id, the traceback stays here
            error_id = uuid.uuid4().hex[:12]
            logger.exception("service call %s failed (error id %s)", name, error_id)
            message = f"{name}() failed on the service (error id {error_id}); its log has the details"
            raise ServiceError(message) from None
        finally:
            self.in_flight -= 1
            if not self.in_flight:
                self._idle.set()

    def _refuse_while_stopping(self, name: str, args: Any, kwargs: Dict[str, Any]) -> None:
        """A call that reached a stopping replica: refused, saying why (and for a sequence, that it ends here)."""
        if name in ("sequence_step", "sequence_end"):
            given = kwargs.get("sequence_id", args[0] if args else None)
            if isinstance(given, dict):
                given = given.get("sequence_id")
            raise ServiceError(
                f"sequence {given!r} was ended: {self.stopping} (this replica takes no new work; "
                "start a new sequence on another replica)"
            )
        raise ServiceError(f"{name}(): {self.stopping}; this replica takes no new work: get the service again")

    def api(self) -> Dict[str, Any]:
        """The exported functions, each carrying its JSON schema as ``__schema__``."""
        return {name: exported(self.call, name) for name in SCHEMAS}


# The exported functions that wait on Triton: each takes the call's one Deadline (made by ``call``).
DEADLINED = frozenset(
    name for name in SCHEMAS if "deadline" in inspect.signature(getattr(TritonService, name)).parameters
)


async def outcome(call: Callable[..., Any], name: str, args: Any, kwargs: Dict[str, Any]) -> Any:
    """``(True, result)``, or ``(False, error)`` with a fresh ServiceError that carries no traceback."""
    try:
        return True, await call(name, args, kwargs)
    except ServiceError as exc:
        return False, ServiceError(exc.message())


# The exported function is compiled from this source under a name that is no file: an RPC library that sends
# the caller the traceback of a refusal (hypha-rpc does) shows one frame, '<triton-client>', and the message;
# none of the service's file paths, install location or source lines.
_EXPORTED = compile(
    "async def function(*args, **kwargs):\n"
    "    ok, value = await outcome(call, name, args, kwargs)\n"
    "    if ok:\n"
    "        return value\n"
    "    raise value\n",
    "<triton-client>",
    "exec",
)


def exported(call: Callable[..., Any], name: str) -> Any:
    """An RPC function ``name`` that hands its arguments to ``call(name, args, kwargs)``; a refusal reaches
    the caller as its message alone."""
    scope: Dict[str, Any] = {"outcome": outcome, "call": call, "name": name}
    exec(_EXPORTED, scope)
    function = scope["function"]
    function.__name__ = name
    function.__qualname__ = name
    function.__doc__ = SCHEMAS[name]["description"]
    function.__schema__ = SCHEMAS[name]
    return function
