"""ExecuteOptions: the one definition of what ``execute`` takes besides inputs, server and model.

``execute(**options)``, ``Session.execute``, ``SequenceExecutor`` and the RPC service all take these; the
service's JSON schema and argument checks are derived from the fields marked ``rpc`` (with ``rpc_default``
where the service's default differs). Adding an option means adding a field here and using it where it acts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Union

from ..errors import InvalidInputError
from ..protocol.deadline import Deadline


def _option(default: Any, doc: str, schema: Optional[Dict[str, Any]] = None, **extra: Any) -> Any:
    """A field with its documentation; ``schema`` (a JSON schema) marks it as offered to RPC callers."""
    metadata: Dict[str, Any] = {"doc": doc}
    if schema is not None:
        metadata["schema"] = {**schema, "description": doc}
    metadata.update(extra)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class ExecuteOptions:
    """How one ``execute`` call is made and how its outputs are shaped."""

    model_version: str = _option("", "Model version; default: the server's choice.", {"type": "string"})
    select_outputs: Optional[Sequence[str]] = _option(
        None, "Only these outputs (names).", {"type": "array", "items": {"type": "string"}}
    )
    decode_bytes: bool = _option(False, "BYTES outputs become (nested) lists of str.")
    decode_json: bool = _option(
        False, "BYTES outputs become parsed JSON where they are JSON.", {"type": "boolean"}, rpc_default=True
    )
    serialization: Optional[str] = _option(
        None,
        "imjoy: every input is any object, msgpack-encoded (0.2.x).",
        {"type": "string", "enum": ["triton", "imjoy"]},
    )
    cast: bool = _option(False, "Arrays whose dtype casts safely to the model's are converted.")
    request_id: str = _option("", "Request id, echoed in the response.")
    parameters: Optional[Mapping[str, Any]] = _option(None, "Triton request parameters.", {"type": "object"})
    headers: Optional[Mapping[str, str]] = _option(None, "Extra HTTP headers.")
    timeout: Union[None, float, Deadline] = _option(
        None, "Seconds for the whole call (a config read included), or the call's Deadline, used as it is."
    )
    compression: Optional[str] = _option(None, "gzip or deflate, both ways.")
    sequence_id: Union[int, str] = _option(0, "Sequence id (SequenceExecutor manages it).")
    sequence_start: bool = _option(False, "First request of a sequence.")
    sequence_end: bool = _option(False, "Last request of a sequence.")
    cache_config: bool = _option(True, "Use the cached model config (False: read it again).")
    binary_data: Optional[bool] = _option(
        None, "Tensors as raw bytes (True) or JSON (False); default: binary where the server has the extension."
    )
    verbose: bool = _option(False, "Print requests and responses (headers redacted).")
    idempotent: bool = _option(
        False,
        "The model may safely run twice: with several servers, a request that failed after it was sent is "
        "retried on another (one that could not connect always is). Never for sequence steps.",
        {"type": "boolean"},
    )

    def __post_init__(self) -> None:
        if self.serialization not in (None, "triton", "imjoy"):
            raise InvalidInputError(f"serialization must be None, 'triton' or 'imjoy', got {self.serialization!r}")
        if self.serialization == "imjoy" and (self.decode_bytes or self.decode_json):
            raise InvalidInputError('decode_bytes and decode_json do not apply to serialization="imjoy"')
        if self.compression not in (None, "gzip", "deflate"):
            raise InvalidInputError(f"compression must be None, 'gzip' or 'deflate', got {self.compression!r}")
        if not (self.timeout is None or isinstance(self.timeout, Deadline)) and (
            isinstance(self.timeout, bool) or not self.timeout > 0
        ):
            raise InvalidInputError(f"timeout must be a positive number of seconds, got {self.timeout!r}")
        if self.idempotent and self.sequence_id:
            raise InvalidInputError("idempotent does not apply to sequence steps: a step must not run twice")
        if isinstance(self.select_outputs, str):
            object.__setattr__(self, "select_outputs", [self.select_outputs])

    @classmethod
    def of(cls, options: Mapping[str, Any], what: str = "execute()") -> ExecuteOptions:
        """Options from keyword arguments; an unknown name is an InvalidInputError listing the options."""
        if not options and cls is ExecuteOptions:
            return _DEFAULTS  # frozen: one shared instance for the common call without options
        names = _names()
        for key in options:
            if key not in names:
                raise InvalidInputError(f"{what}: unknown option {key!r}; the options are {', '.join(option_names())}")
        return cls(**options)

    def but(self, **changes: Any) -> ExecuteOptions:
        """A copy with ``changes``."""
        return replace(self, **changes)


_NAME_SET: FrozenSet[str] = frozenset()


def _names() -> FrozenSet[str]:
    global _NAME_SET
    if not _NAME_SET:
        _NAME_SET = frozenset(option_names())
    return _NAME_SET


def option_names() -> List[str]:
    """Every option's name, in definition order."""
    return [f.name for f in fields(ExecuteOptions)]


def rpc_options() -> Dict[str, Dict[str, Any]]:
    """The options RPC callers may give: name -> JSON schema (with the service's default)."""
    out = {}
    for f in fields(ExecuteOptions):
        if "schema" in f.metadata:
            schema = dict(f.metadata["schema"])
            schema["default"] = f.metadata.get("rpc_default", f.default)
            out[f.name] = schema
    return out


__all__ = ["ExecuteOptions", "option_names", "rpc_options"]


_DEFAULTS = ExecuteOptions()
