"""JSON schemas of the service functions, so that apps and agents can discover how to call them."""

from __future__ import annotations

from typing import Any, Dict, List

from ..engine.options import rpc_options

_MODEL = {"type": "string", "description": "Name of the model in the Triton model repository."}
_URL = {
    "type": "string",
    "description": "Triton server URL; optional, must be one the service allows (default: the service's own).",
}
_INPUTS = {
    "description": (
        "Model inputs: a list in the model config's input order, or an object by input name. "
        "Arrays travel as ndarrays; strings and objects become BYTES (objects as JSON)."
    ),
    "anyOf": [{"type": "array"}, {"type": "object"}],
}
_SEQ = {
    "description": "Sequence id returned by sequence_start (int or string).",
    "anyOf": [{"type": "integer"}, {"type": "string"}],
}


def _schema(name: str, description: str, properties: Dict[str, Any], required: List[str]) -> Dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required},
    }


SCHEMAS: Dict[str, Dict[str, Any]] = {
    "execute": _schema(
        "execute",
        "Run a Triton model once. Returns an object: output name -> ndarray (BYTES outputs decoded to "
        "strings or JSON), plus '__info__' with the response header.",
        {"model_name": _MODEL, "inputs": _INPUTS, "server_url": _URL, **rpc_options()},
        ["model_name", "inputs"],
    ),
    "generate_stream": _schema(
        "generate_stream",
        "Stream a model's answers (e.g. a decoupled model's tokens): an async iterator of events, each an object "
        "of output name -> value, in order as the model sends them. Stop iterating to stop the model.",
        {
            "model_name": _MODEL,
            "inputs": {"type": "object", "description": "Input name -> JSON value (string, number or a list)."},
            "parameters": {"type": "object", "description": "Request parameters for the model (optional)."},
            "server_url": _URL,
            "model_version": {"type": "string", "default": ""},
        },
        ["model_name", "inputs"],
    ),
    "list_models": _schema(
        "list_models",
        "List the models of the Triton server: name, versions, state (and inputs/outputs with details).",
        {
            "server_url": _URL,
            "ready": {"type": "boolean", "default": False},
            "details": {"type": "boolean", "default": False},
        },
        [],
    ),
    "get_config": _schema(
        "get_config",
        "The model's Triton config (inputs, outputs, dtypes, dims, batching).",
        {"model_name": _MODEL, "server_url": _URL, "refresh": {"type": "boolean", "default": False}},
        ["model_name"],
    ),
    "sequence_start": _schema(
        "sequence_start",
        "Open a sequence for a stateful model; returns its id. Only the caller that opened it may use it.",
        {"model_name": _MODEL, "server_url": _URL, "sequence_id": _SEQ},
        ["model_name"],
    ),
    "sequence_step": _schema(
        "sequence_step",
        "Send one step of a sequence (the first step starts it on the server). Returns the outputs.",
        {"sequence_id": _SEQ, "inputs": _INPUTS, "decode_json": {"type": "boolean", "default": True}},
        ["sequence_id", "inputs"],
    ),
    "sequence_end": _schema(
        "sequence_end",
        "End a sequence (with these inputs, or the last step's again) and free it. Returns the outputs.",
        {"sequence_id": _SEQ, "inputs": _INPUTS, "decode_json": {"type": "boolean", "default": True}},
        ["sequence_id"],
    ),
    "list_sequences": _schema("list_sequences", "The caller's open sequences: id, model, steps, idle seconds.", {}, []),
    "get_load": _schema(
        "get_load",
        "Calls this replica is running now (a stopping replica reports a huge number). Several replicas of the "
        "service on one hypha: get_service(id, {mode: 'select:min:get_load'}) picks the least loaded.",
        {},
        [],
    ),
}
