"""What keeps a shared service safe: its configuration, the Triton URL allowlist and the request size limit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from ..api import server_base_url
from ..errors import InferenceServerException
from ..protocol.deadline import Deadline
from ..protocol.urls import redact_url, server_list

LOCAL_CALLER = "local"


class ServiceError(InferenceServerException):
    """An error for the RPC caller: its message says what was wrong and what is expected.

    A subclass of InferenceServerException only so that one ``except`` catches everything this package
    raises; it is about the caller's request to the service, which may never have reached Triton."""


class ServiceTimeout(ServiceError):
    """A call that did not finish within the service's per-call timeout; ``then`` says what became of the
    caller's state (a sequence closed), for the caller's message."""

    def __init__(self, msg: str, then: str = "") -> None:
        super().__init__(msg)
        self.then = then


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
    max_streams_per_caller: int = 4  # open generate_stream streams of one caller
    max_streams: int = 64  # open streams of all callers together
    stream_max_events: int = 100_000  # events of one stream
    stream_max_bytes: int = 64 * 1024 * 1024  # their size together
    stream_idle_timeout: float = 60.0  # seconds a caller may leave a stream without asking for the next event
    stream_timeout: float = 3600.0  # seconds one stream may last
    # events the service hands out per second, all streams together: each is two messages on the service's
    # websocket (hypha-rpc's answer to a pull), and hypha disconnects a client that sends more than
    # HYPHA_WS_MSG_RATE_LIMIT (200/s) for longer than its burst (2,000); 80 leaves 40 messages/s for the rest
    max_events_per_second: float = 80.0

    @classmethod
    def default(cls, field_name: str) -> Any:
        """A setting's default: THE one home of the service's defaults (the command line and the startup
        function's variables read theirs here)."""
        return cls.__dataclass_fields__[field_name].default

    def defaults(self) -> List[str]:
        """The default server's base URL, or the default servers' (``triton_url`` may list several, by commas)."""
        try:
            return list(dict.fromkeys(server_base_url(u) for u in server_list(self.triton_url)))
        except InferenceServerException as exc:
            raise ServiceError(f"bad Triton URL in the service configuration: {exc.message()}") from None

    def allowed(self) -> List[str]:
        """The normalised Triton base URLs callers may use (each default server and the other allowed ones)."""
        try:
            return sorted({*self.defaults(), *(server_base_url(u) for u in self.allowed_urls)})
        except InferenceServerException as exc:
            raise ServiceError(f"bad Triton URL in the service configuration: {exc.message()}") from None

    def shown(self) -> List[str]:
        """The allowed URLs as callers may see them: credentials in them replaced by ``***``."""
        return [redact_url(url) for url in self.allowed()]

    def deadline(self, given: Optional[Deadline] = None) -> Deadline:
        """The call's one deadline: the one ``call`` made (``given``), or one of ``timeout`` seconds from now for
        a function called directly. Every wait of the call is bounded by it; none makes another."""
        return Deadline(self.timeout) if given is None else given

    def url(self, server_url: Optional[str]) -> str:
        """The caller's choice of server (or the default), as the allowlist spells it; ServiceError if not allowed."""
        if not server_url:
            return ",".join(self.defaults())  # several: session_for makes them one pool
        if not isinstance(server_url, str):
            raise ServiceError(f"server_url must be a string, got {type(server_url).__name__}")
        try:
            base = server_base_url(server_url)
        except InferenceServerException as exc:
            raise ServiceError(exc.message()) from None
        if base not in self.allowed():
            shown = redact_url(server_url)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."  # never echo a caller's payload back whole
            raise ServiceError(f"Triton URL {shown!r} is not allowed by this service; allowed: {self.shown()}")
        return base  # the allowlist's own spelling: nothing of the caller's string goes further

    def check_size(self, payload: Any, what: str = "the inputs") -> None:
        """ServiceError when ``payload`` holds more bytes than ``max_request_bytes``."""
        size = payload_size(payload)
        if size > self.max_request_bytes:
            raise ServiceError(
                f"{what} are {size} bytes, more than this service accepts ({self.max_request_bytes} bytes)"
            )


# The settings a deployer tunes beyond the URLs and the request size, each a ServiceConfig field: the command
# line names it --max-streams-per-caller, the startup function PYOTRITON_SERVICE_MAX_STREAMS_PER_CALLER; its type and
# default are the field's. One table for both (service/__main__.py, service/startup.py).
SETTINGS: Dict[str, str] = {
    "timeout": "seconds per Triton call",
    "sequence_idle_timeout": "seconds without a step before a sequence is ended on Triton and freed",
    "liveness_interval": "seconds between checks that owners of open sequences and streams are still connected",
    "max_streams_per_caller": "open generate_stream streams one caller may hold",
    "stream_idle_timeout": "seconds a caller may leave a stream without asking for its next event before it is ended",
    "max_events_per_second": "events all streams together hand out per second (two messages each: keep it below "
    "half of hypha's HYPHA_WS_MSG_RATE_LIMIT, 200)",
}


def no_streaming_step(model_name: str, streaming: bool) -> ServiceError:
    """THE refusal of a streaming step of a sequence, which Triton's HTTP API cannot carry (its /infer refuses
    decoupled models, its generate_stream takes no sequence id): a stream of a sequence model (``streaming``),
    or a sequence of a decoupled model."""
    why = (
        "Triton's HTTP API has no streaming step of a sequence (generate_stream carries no sequence id; "
        "/infer refuses decoupled models)"
    )
    if streaming:
        return ServiceError(
            f"model {model_name[:100]!r} is a sequence model and cannot stream: {why}; "
            "use sequence_start/step/end with a model that is not decoupled"
        )
    return ServiceError(
        f"model {model_name[:100]!r} is decoupled and cannot run as a sequence: {why}; use generate_stream"
    )


def sender_of(context: Mapping[str, Any]) -> str:
    """The sender hypha stamped on a call (``context["from"]``); ServiceError when the context names none."""
    sender = context.get("from") if isinstance(context, Mapping) else None
    if not sender or not isinstance(sender, str):
        raise ServiceError("the call does not say who sent it (no 'from' in its context): refused")
    return sender


def caller_of(context: Optional[Mapping[str, Any]]) -> str:
    """Who is calling: hypha's client id (``context["from"]``); "local" for an in-process call (no context).

    A context that does not say who sent the call is refused: ownership must not rest on a guess."""
    if context is None:
        return LOCAL_CALLER
    sender = sender_of(context)
    if sender.startswith("*/"):
        # hypha's cluster mode (0.21): a call that crossed from another hypha process arrives from that
        # process's manager ("*/manager-<server id>", as root), whoever sent it: every caller there would share
        # one owner. Ownership must not rest on that.
        raise ServiceError(
            f"the call was forwarded by another hypha server ({sender}), which does not say who sent it: sequences "
            "need the caller's own identity; call this replica through the hypha process it is connected to"
        )
    return sender


MAX_NESTING = 100  # levels of containers in a call's arguments (a deeper one is refused, never recursed into)


class Undecodable:
    """An argument the RPC layer could not decode (hypha.decode_ndarray): it travels to the call, where
    ``payload_size`` refuses it with ``message`` (so the caller gets the message, never the decoder's traceback)."""

    def __init__(self, message: str) -> None:
        self.message = message


def payload_size(value: Any) -> int:
    """Bytes an input occupies: arrays by nbytes, strings and bytes by length, containers (sets too) summed;
    ServiceError for an argument nested more than MAX_NESTING levels deep or one that did not decode.

    Containers are measured before anything else: hypha's dicts answer attribute lookups with their keys,
    so a JSON object with an "nbytes" key must not be taken for an array. No recursion: a caller chooses the
    depth."""
    total = 0
    stack: List[Tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ServiceError(f"the arguments are nested more than {MAX_NESTING} levels deep")
        if isinstance(item, Undecodable):
            raise ServiceError(item.message)
        if isinstance(item, (bytes, bytearray, memoryview)):
            total += memoryview(item).nbytes
        elif isinstance(item, str):
            total += len(item.encode("utf-8", "surrogatepass"))
        elif isinstance(item, Mapping):
            for key, entry in item.items():
                stack.append((key, depth + 1))
                stack.append((entry, depth + 1))
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend((entry, depth + 1) for entry in item)
        elif getattr(getattr(item, "dtype", None), "kind", "") == "O":  # an object array: its items, not pointers
            stack.extend((entry, depth + 1) for entry in item.reshape(-1).tolist())
        else:
            nbytes = getattr(item, "nbytes", None)
            total += nbytes if isinstance(nbytes, int) else 8
    return total
