"""SequenceExecutor: run a stateful (sequence-batched) model step by step, with start/end handled for you.

    seq = SequenceExecutor(server_url=URL, model_name="cellpose-train", sequence_id=100)
    for image, labels in samples:
        result = await seq.step([image, labels, {"steps": 1}])   # sequence_start on the first step only
    result = await seq.end()                                    # re-sends the last inputs with sequence_end

After a step the server refused or that may not have reached the model (server error, timeout,
cancellation), the executor is *broken*: the server-side state is unknown, so further steps raise until
``reset()`` (which starts a new sequence on the next step). Errors found before sending (bad inputs)
leave the sequence as it was. With several servers (``server_url`` a list) the sequence is pinned to the server
that took its first step (``server``); if that server goes away, the next step raises ``SequenceLostError``.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .api import Inputs, ServerUrl, execute
from .engine.executor import Executor
from .engine.options import ExecuteOptions
from .engine.registry import session_for
from .errors import InferenceServerException, InvalidInputError
from .http import InferenceServerClient

_RESERVED = ("sequence_id", "sequence_start", "sequence_end")


def new_sequence_id() -> int:
    """A random id in 1..2**53 - 1 (exact in JavaScript too, for ids that travel through RPC)."""
    return random.SystemRandom().randrange(1, 2**53)


STRING_ID_LENGTH = 128  # Triton's longest string correlation id


def new_string_sequence_id(prefix: str = "seq-") -> str:
    """A random string id of exactly 128 bytes in UTF-8 (``prefix`` and hex digits), for a model with a string CORRID.

    Triton 2.51 pads a string correlation id to 128 bytes before the model's TYPE_STRING CORRID gets it, and then
    refuses (400 "unexpected number of string elements") or crashes the Python backend's stub on any shorter id;
    an id of exactly 128 bytes is not padded, and works on servers without that fault as well.
    """
    room = STRING_ID_LENGTH - 32  # at least 32 random hex digits
    size = len(prefix.encode("utf-8")) if isinstance(prefix, str) else STRING_ID_LENGTH
    if size > room:
        raise InvalidInputError(f"prefix must be a str of at most {room} bytes in UTF-8, got {prefix!r}")
    digits = STRING_ID_LENGTH - size
    return prefix + secrets.token_hex((digits + 1) // 2)[:digits]


class SequenceExecutor:
    """Steps of one sequence of a stateful model; ``execute`` options given here apply to every step."""

    def __init__(
        self,
        server_url: Optional[ServerUrl] = None,
        model_name: Optional[str] = None,
        sequence_id: Union[int, str, None] = None,
        client: Optional[InferenceServerClient] = None,
        *,
        start: bool = True,
        **options: Any,
    ) -> None:
        for key in _RESERVED[1:]:
            if key in options:
                raise InvalidInputError(f"{key} is managed by SequenceExecutor; do not pass it")
        if model_name is None or (server_url is None and client is None):
            raise InvalidInputError("SequenceExecutor needs server_url (or client) and model_name")
        if sequence_id is None:
            sequence_id = new_sequence_id()
        if isinstance(sequence_id, bool) or not isinstance(sequence_id, (int, str)) or sequence_id in (0, ""):
            raise InvalidInputError(f"sequence_id must be a non-zero int or a non-empty str, got {sequence_id!r}")
        self.server_url = server_url
        self.server: Optional[str] = None  # several servers: the one this sequence is pinned to
        self.model_name = model_name
        self.sequence_id = sequence_id
        self.client = client
        self.options = options
        self._open = not start  # start=False: continue a sequence that is already open on the server
        self._last_inputs: Optional[Inputs] = None
        self._broken: Optional[BaseException] = None
        self._lock: Optional[asyncio.Lock] = None  # steps of one sequence go one at a time, in call order
        self.steps = 0

    def _pool(self) -> Optional[Executor]:
        """The pool of servers this sequence runs on, or None for one server (or a client given)."""
        if self.client is not None or self.server_url is None:
            return None
        found = session_for(self.server_url)
        return found if len(found.urls) > 1 else None

    @property
    def is_open(self) -> bool:
        """True between the first step and ``end`` (a sequence is open on the server)."""
        return self._open

    @property
    def broken(self) -> Optional[BaseException]:
        """The error that left the server-side state unknown, if any (cleared by ``reset``)."""
        return self._broken

    def reset(self) -> None:
        """Forget this sequence's state here: the next step starts a new sequence (same id)."""
        self._open = False
        self._last_inputs = None
        self._broken = None
        self.steps = 0
        self.server = None

    async def _send(self, inputs: Inputs, start: bool, end: bool, options: Dict[str, Any]) -> Dict[str, Any]:
        if self._broken is not None:
            raise InferenceServerException(
                f"sequence {self.sequence_id!r} of model {self.model_name!r} failed earlier "
                f"({self._broken}); its server-side state is unknown: call reset() to start a new sequence"
            )
        for key in _RESERVED:
            if key in options:
                raise InvalidInputError(f"{key} is managed by SequenceExecutor; do not pass it")
        merged = {**self.options, **options}
        try:
            pool = self._pool()
            if pool is None:
                result = await execute(
                    inputs,
                    self.server_url,
                    self.model_name,
                    client=self.client,
                    sequence_id=self.sequence_id,
                    sequence_start=start,
                    sequence_end=end,
                    **merged,
                )
            else:  # several servers: the sequence is pinned to the one that took its first step
                settings = ExecuteOptions.of(
                    {**merged, "sequence_id": self.sequence_id, "sequence_start": start, "sequence_end": end}
                )
                if self.server is None or start:
                    self.server = await pool.choose(self.model_name)
                result = await pool.execute(self.model_name, inputs, settings, server=self.server)
        except InvalidInputError:
            raise  # refused before sending: the sequence goes on
        except InferenceServerException as exc:  # it reached the server (or may have): its state is unknown now
            self._broken = exc
            raise
        except BaseException as exc:  # cancelled, or a transport failure mid-way
            self._broken = exc
            raise
        self._last_inputs = inputs
        self.steps += 1
        return result

    @property
    def lock(self) -> asyncio.Lock:
        """Held while a step or the end is sent: steps go one at a time, in call order. A caller that must
        check something together with a step (the service's registry) holds it and calls ``step_held``."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def step(self, inputs: Inputs, **options: Any) -> Dict[str, Any]:
        """Send one step; the first step of a sequence carries ``sequence_start``."""
        async with self.lock:
            return await self.step_held(inputs, **options)

    async def step_held(self, inputs: Inputs, **options: Any) -> Dict[str, Any]:
        """``step`` for a caller that holds ``lock``."""
        result = await self._send(inputs, not self._open, False, options)
        self._open = True
        return result

    async def end(self, inputs: Optional[Inputs] = None, **options: Any) -> Dict[str, Any]:
        """Send the last step with ``sequence_end`` (the last inputs again if none are given)."""
        async with self.lock:
            return await self.end_held(inputs, **options)

    async def end_held(self, inputs: Optional[Inputs] = None, **options: Any) -> Dict[str, Any]:
        """``end`` for a caller that holds ``lock``."""
        if inputs is None:
            if self._last_inputs is None:
                raise InvalidInputError(
                    f"sequence {self.sequence_id!r}: nothing to end (no step was sent); pass the inputs to end()"
                )
            inputs = self._last_inputs
        result = await self._send(inputs, not self._open, True, options)
        self._open = False
        self._last_inputs = None
        self.steps = 0
        return result

    async def __call__(
        self,
        inputs_batch: Sequence[Inputs],
        on_step: Optional[Callable[[int, Dict[str, Any]], Any]] = None,
        **options: Any,
    ) -> List[Dict[str, Any]]:
        """Run a whole sequence: every item a step, the last one with ``sequence_end``; results in order."""
        if not isinstance(inputs_batch, (list, tuple)) or not inputs_batch:
            raise InvalidInputError("inputs_batch must be a non-empty list of step inputs")
        results = []
        last = len(inputs_batch) - 1
        for i, inputs in enumerate(inputs_batch):
            result = await (self.end(inputs, **options) if i == last else self.step(inputs, **options))
            results.append(result)
            if on_step is not None:
                outcome = on_step(i, result)
                if hasattr(outcome, "__await__"):
                    await outcome
        return results

    async def __aenter__(self) -> SequenceExecutor:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        """End a sequence left open (with the last inputs), so the server frees its state."""
        if self._open and self._broken is None and self._last_inputs is not None:
            try:
                await self.end()
            except Exception:
                if exc_type is None:
                    raise


SequenceExcutor = SequenceExecutor  # the spelling of 0.2.x, which users' code imports

__all__ = ["SequenceExcutor", "SequenceExecutor", "new_sequence_id", "new_string_sequence_id"]
