"""How RPC calls reach the service and Triton: arguments bound from any calling style; errors made ServiceErrors.

JavaScript callers pass one object (``{model_name, inputs, _rkwargs: true}``); imjoy-rpc 0.5.x drops the
``_rkwargs`` marker on the way, so a function gets one plain dict. Python callers pass positional or keyword
arguments. ``bind`` turns all three into keyword arguments for the function, or raises a ServiceError that
names the missing or unknown field and lists the fields there are.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Sequence

from ..errors import InferenceServerException, InferenceServerTimeout
from ..protocol.deadline import Deadline
from .policy import ServiceError, ServiceTimeout


def bind(
    name: str,
    function: Callable[..., Any],
    args: Sequence[Any],
    kwargs: Mapping[str, Any],
    schema: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """The keyword arguments to call ``function`` (exported as ``name``) with; ``context`` passes through.

    The fields are the JSON schema's properties when a schema is given (in its order), else the function's
    parameters."""
    kwargs = {k: v for k, v in kwargs.items() if k != "_rkwargs"}
    context = kwargs.pop("context", None)
    signature = inspect.signature(function)
    if schema is not None:
        fields = list(schema["parameters"]["properties"])
        required = list(schema["parameters"]["required"])
    else:
        parameters = [
            p
            for p in signature.parameters.values()
            if p.name != "context" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        fields = [p.name for p in parameters]
        required = [p.name for p in parameters if p.default is p.empty]
    args = list(args)
    if len(args) == 1 and not kwargs and isinstance(args[0], Mapping) and fields:
        kwargs = {k: v for k, v in args[0].items() if k != "_rkwargs"}  # one options object
        args = []
    if len(args) > len(fields):
        raise ServiceError(f"{name}() takes at most {len(fields)} arguments ({', '.join(fields)}), got {len(args)}")
    bound: Dict[str, Any] = dict(zip(fields, args))
    for key, value in kwargs.items():
        if key not in fields:
            raise ServiceError(f"{name}(): unknown field {key!r}; the fields are {', '.join(fields) or 'none'}")
        if key in bound:
            raise ServiceError(f"{name}(): {key!r} is given twice (by position and by name)")
        bound[key] = value
    missing = [field for field in required if bound.get(field) is None]
    if missing:
        raise ServiceError(f"{name}(): {missing[0]!r} is required; the fields are {', '.join(fields)}")
    if "context" in signature.parameters:
        bound["context"] = context
    return bound


async def guarded(call: Any, deadline: Optional[Deadline] = None) -> Any:
    """Await a Triton call; its errors become ServiceErrors. ``deadline`` (the service call's) bounds what has no
    deadline of its own (a shared read, waiting for a sequence's turn)."""
    limit = None if deadline is None else deadline.request_timeout()
    try:
        if limit is None:
            return await call
        return await asyncio.wait_for(call, limit)
    except ServiceError:
        raise
    except InferenceServerTimeout as exc:
        raise ServiceTimeout(str(exc)) from None
    except InferenceServerException as exc:
        raise ServiceError(str(exc)) from None
    except asyncio.TimeoutError:
        raise ServiceTimeout(f"Triton did not answer within {deadline and deadline.timeout} seconds") from None
