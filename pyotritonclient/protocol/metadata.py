"""What a server offers, from its metadata: Triton's extensions, or the bare Open Inference Protocol. No I/O.

    caps = Capabilities.from_metadata(await client.get_server_metadata())
    caps.binary_tensors, caps.model_configuration, caps.sequences     # Triton: all True; MLServer: False
    config = config_from_metadata(await client.get_model_metadata("adder"))   # where /config is absent
    specs = specs_from_values(config, {"a": array})   # where the metadata lists no inputs either

Triton's HTTP API is the Open Inference Protocol (KServe v2) plus extensions, which its server metadata lists.
Servers that speak only the protocol (Seldon MLServer, KServe's servers, OpenVINO Model Server) list fewer or
none: then tensors travel as JSON, a model's metadata stands in for its config, and sequences are refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Mapping

from ..errors import InferenceServerException
from .dtypes import WIRE_TO_CONFIG, config_to_wire, get_dtype
from .tensors import expected_shape

__all__ = [
    "BINARY_TENSORS",
    "CONFIG_SOURCE",
    "Capabilities",
    "MODEL_CONFIGURATION",
    "MODEL_REPOSITORY",
    "SEQUENCES",
    "batches",
    "check_config",
    "config_from_metadata",
    "full_shape",
    "is_decoupled",
    "is_sequence_model",
    "takes_timeout",
    "tensor_summary",
]

BINARY_TENSORS = "binary_tensor_data"
MODEL_CONFIGURATION = "model_configuration"
SEQUENCES = "sequence"
MODEL_REPOSITORY = "model_repository"
CONFIG_SOURCE = "config_source"  # key of a config built from model metadata: "metadata"


@dataclass(frozen=True)
class Capabilities:
    """A server's name, version and protocol extensions (as its ``GET v2`` answer lists them)."""

    name: str
    version: str
    extensions: FrozenSet[str]

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any]) -> Capabilities:
        """From server metadata; a malformed answer is an error, not an empty list."""
        extensions = metadata.get("extensions", [])
        if not isinstance(extensions, list) or not all(isinstance(e, str) for e in extensions):
            raise InferenceServerException(f"bad server metadata: 'extensions' is not a list of str: {extensions!r}")
        return cls(str(metadata.get("name", "")), str(metadata.get("version", "")), frozenset(extensions))

    @property
    def binary_tensors(self) -> bool:
        """Tensors may travel as raw bytes after the JSON header (else: JSON lists)."""
        return BINARY_TENSORS in self.extensions

    @property
    def model_configuration(self) -> bool:
        """``GET v2/models/{name}/config`` exists (else the model's metadata is what there is)."""
        return MODEL_CONFIGURATION in self.extensions

    @property
    def sequences(self) -> bool:
        """Sequence ids and start/end flags are understood (stateful models)."""
        return SEQUENCES in self.extensions

    @property
    def repository(self) -> bool:
        """The server says it has the model repository extension (index, load, unload)."""
        return MODEL_REPOSITORY in self.extensions

    def describe(self) -> str:
        """``"mlserver 1.7.1"`` for messages."""
        return f"{self.name or 'the server'} {self.version}".strip()


def _wire_to_config(datatype: str) -> str:
    return WIRE_TO_CONFIG[get_dtype(datatype, "datatype").name]


def _tensors(entries: Any, kind: str, model: str) -> List[Dict[str, Any]]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise InferenceServerException(f"bad metadata of model {model!r}: {kind}s is not a list")
    specs = []
    for entry in entries:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise InferenceServerException(f"bad metadata of model {model!r}: an {kind} without a name")
        shape = entry.get("shape", [])
        if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) for d in shape):
            raise InferenceServerException(f"bad metadata of model {model!r}: {kind} {entry['name']!r} shape {shape!r}")
        try:
            data_type = _wire_to_config(str(entry.get("datatype")))
        except ValueError as exc:
            raise InferenceServerException(
                f"bad metadata of model {model!r}: {kind} {entry['name']!r}: {exc}"
            ) from None
        specs.append({"name": entry["name"], "data_type": data_type, "dims": list(shape)})
    return specs


def config_from_metadata(metadata: Mapping[str, Any]) -> Dict[str, Any]:
    """A Triton-shaped config from model metadata: inputs and outputs with their full shapes as ``dims`` and
    ``max_batch_size`` 0 (metadata does not say whether a model batches: a leading -1 is just a dimension).
    ``config_source`` is ``"metadata"``. A model whose metadata lists no inputs gets ``"input": []``: its inputs
    are then taken as given, by name."""
    model = str(metadata.get("name", "?"))
    return {
        "name": model,
        "platform": str(metadata.get("platform", "") or ""),
        "backend": "",
        "max_batch_size": 0,
        "input": _tensors(metadata.get("inputs"), "input", model),
        "output": _tensors(metadata.get("outputs"), "output", model),
        "versions": list(metadata.get("versions") or []),
        CONFIG_SOURCE: "metadata",
    }


# -- model configs ------------------------------------------------------------------------------


def check_config(config: Any, model_name: str) -> None:
    """A model config from a server, checked before anything relies on it: ``input``/``output`` lists of
    tensors with a name, a known datatype and integer dims, and an integer ``max_batch_size``."""

    def bad(what: str) -> InferenceServerException:
        return InferenceServerException(f"bad config of model {model_name!r} from the server: {what}")

    if not isinstance(config, dict):
        raise bad("not a JSON object")
    batch = config.get("max_batch_size", 0)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 0:
        raise bad(f"max_batch_size {batch!r} is not a non-negative int")
    for key in ("input", "output"):
        specs = config.get(key, [])
        if not isinstance(specs, list):
            raise bad(f"{key!r} is not a list")
        for spec in specs:
            if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
                raise bad(f"an {key} has no name")
            try:
                config_to_wire(str(spec.get("data_type")))
            except (ValueError, TypeError):
                raise bad(f"{key} {spec['name']!r} has an unknown data_type {spec.get('data_type')!r}") from None
            dims = spec.get("dims", [])
            if not isinstance(dims, list) or not all(
                isinstance(d, (int, str)) and str(d).lstrip("-").isdigit() for d in dims
            ):
                raise bad(f"{key} {spec['name']!r} has dims {dims!r}")


def tensor_summary(spec: Mapping[str, Any], config: Mapping[str, Any]) -> Dict[str, Any]:
    """One input or output of a config as ``{name, datatype (wire name), shape (with -1 for the batch), optional}``."""
    out = {"name": spec["name"], "datatype": config_to_wire(spec["data_type"]), "shape": full_shape(spec, config)}
    if "optional" in spec:
        out["optional"] = bool(spec["optional"])
    return out


def batches(config: Mapping[str, Any]) -> bool:
    """THE batching flag: whether the model takes a batch dimension first (``max_batch_size`` above 0)."""
    size = config.get("max_batch_size", 0)
    return isinstance(size, int) and not isinstance(size, bool) and size > 0


def full_shape(spec: Mapping[str, Any], config: Mapping[str, Any]) -> List[int]:
    """The shape a tensor has on the wire: the config's dims, with -1 first for a batching model."""
    return list(expected_shape(spec.get("dims", []), batches(config)))


def is_sequence_model(config: Mapping[str, Any]) -> bool:
    """Whether the model keeps state across a sequence's requests (a ``sequence_batching`` section)."""
    return isinstance(config.get("sequence_batching"), Mapping)


def is_decoupled(config: Mapping[str, Any]) -> bool:
    """Whether the model may send any number of responses per request (a decoupled transaction policy)."""
    policy = config.get("model_transaction_policy")
    return isinstance(policy, Mapping) and policy.get("decoupled") is True


def takes_timeout(config: Mapping[str, Any]) -> bool:
    """THE rule of a request's own ``timeout``: Triton honours it only under a dynamic batcher whose queue policy
    (the default priority level's, else the default one) allows an override of a default timeout above 0 (a
    request may only shorten it). Elsewhere Triton ignores it, so nothing is sent."""
    batcher = config.get("dynamic_batching")
    if not isinstance(batcher, Mapping):
        return False
    policy = batcher.get("default_queue_policy")
    by_level = batcher.get("priority_queue_policy")
    level = str(batcher.get("default_priority_level", 0))
    if isinstance(by_level, Mapping) and isinstance(by_level.get(level), Mapping):
        policy = by_level[level]
    if not isinstance(policy, Mapping) or policy.get("allow_timeout_override") is not True:
        return False
    default = policy.get("default_timeout_microseconds", 0)
    try:
        return int(default) > 0  # protobuf's JSON gives a uint64 as a string
    except (TypeError, ValueError):
        return False
