"""Who sent a hypha message: only the fields the hypha server stamps, never what the sender wrote (docs/security.md).

hypha stamps ``from``, ``to``, ``ws`` and ``user`` on the first msgpack segment of every client's message and
passes the second segment (the sender's own: arguments, promise) on untouched. hypha-rpc 0.21 hands a method the
call's context from a ``ctx`` the sender may have written in either segment, lets the second segment overwrite
the stamped fields, and fires any message's ``type`` as a local event. ``guard`` puts a check in front of
hypha-rpc on the service's RPC: the context is made from the stamped fields alone, a message whose sender's
segment changes a stamped field, its type or its context is dropped, and a client may only send method calls
(the server's own events, such as ``client_disconnected``, carry no stamped sender).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

logger = logging.getLogger("pyotritonclient.service")

STAMPED = frozenset({"from", "to", "ws", "user"})  # what hypha writes on the first segment of a client's message
SENDERS_MAY_NOT_WRITE = STAMPED | {"ctx", "type"}  # in their own segment ("type" would change what is fired)
CLIENT_TYPES = frozenset({"method"})  # what another client may send; everything else comes from hypha itself
_ABSENT = object()


class Forged(Exception):
    """A message whose sender wrote what only the hypha server may: dropped, never handled."""


def from_a_client(main: Dict[str, Any]) -> bool:
    """A message that a client sent (hypha stamped a sender on it), as opposed to the hypha server's own."""
    return "from" in main


def forged(first: Dict[str, Any], message: Dict[str, Any], context: Dict[str, Any]) -> Optional[str]:
    """Why a message is forged, or None. ``first``: its first segment as hypha delivered it (before hypha-rpc
    merged the sender's segment into it); ``message``: what hypha-rpc is about to fire; ``context``: the context
    made from ``first``."""
    if "ctx" in first:
        return "a message with a context of its sender's"
    if message.get("ctx") is not context:
        return "a message whose sender's segment sets its context"
    changed = sorted(k for k in SENDERS_MAY_NOT_WRITE - {"ctx"} if message.get(k, _ABSENT) is not first.get(k, _ABSENT))
    if changed:
        return f"a message whose sender's segment sets {', '.join(changed)}"
    if from_a_client(first) and first.get("type") not in CLIENT_TYPES:
        return f"a {str(first.get('type'))[:40]!r} message from a client ({str(first['from'])[:80]})"
    return None


def forged_chunked(trusted: Dict[str, Any], message: Dict[str, Any]) -> Optional[str]:
    """Why a message put together from chunks is forged, or None. ``trusted``: the context of the call that
    completed it (stamped by hypha); hypha-rpc stamps the message and its context from it, then merges the
    sender's segment, which must change neither (nor the type: only method calls come in chunks)."""
    context = message.get("ctx")
    if not isinstance(context, dict):
        return "a chunked message without a context"
    changed = sorted(k for k in STAMPED if message.get(k) != trusted.get(k) or context.get(k) != trusted.get(k))
    if changed:
        return f"a chunked message whose sender's segment sets {', '.join(changed)}"
    if message.get("type") not in CLIENT_TYPES:
        return f"a chunked {str(message.get('type'))[:40]!r} message"
    return None


def guard(server: Any) -> bool:
    """Put the checks in front of hypha-rpc on ``server``'s RPC (a ``connect_to_server`` result, or the
    interface hypha gives a startup function): forged messages are dropped with a log line. False when this
    hypha-rpc has not the parts it needs (then the service does not start).

    hypha-rpc makes a message's context in ``_add_context_to_message`` from the first segment, then merges the
    sender's segment and fires the message's type in ``_fire``, all in one synchronous call: the context is made
    here from the first segment alone, and ``_fire`` checks that the sender's segment changed nothing of it.
    Chunked messages are put together (and fired, in the same synchronous call) by the built-in
    ``message_cache.process``: ``_fire`` checks them against the trusted context of the call that completes them,
    without reading their bytes again."""
    rpc: Any = getattr(server, "rpc", None)
    services = getattr(rpc, "_services", None)
    builtin = services.get("built-in") if isinstance(services, dict) else None
    annotations = getattr(rpc, "_method_annotations", None)
    if builtin is None or annotations is None:
        return False
    if getattr(rpc, "_pyotriton_guarded", False):
        return True
    cache = builtin.get("message_cache") or {}
    original_process: Any = cache.get("process")
    original_fire: Any = getattr(rpc, "_fire", None)
    if original_process not in annotations or original_fire is None or not hasattr(rpc, "_add_context_to_message"):
        return False
    made: List[Any] = [None, None, None]  # the last message given a context: (message, its first segment, context)
    completing: List[Optional[Dict[str, Any]]] = [None]  # while a chunked message is put together: its call's context

    def add_context(main: Dict[str, Any]) -> Dict[str, Any]:
        first = dict(main)
        context = {k: v for k, v in main.items() if k != "ctx"}
        context.update(rpc.default_context)
        main["ctx"] = context
        made[:] = [main, first, context]
        return main

    def fire(event: Any, data: Any = None) -> Any:
        if data is not None and data is made[0]:
            first, context = made[1], made[2]
            made[:] = [None, None, None]
            why = forged(first, data, context)
            if why:
                _dropped(Forged(why))
                return None
        elif completing[0] is not None and isinstance(data, dict):
            trusted, completing[0] = completing[0], None
            why = forged_chunked(trusted, data)
            if why:
                _dropped(Forged(why))
                return None
        return original_fire(event, data)

    def process(key: str, heartbeat: bool = False, context: Optional[Dict[str, Any]] = None) -> Any:
        completing[0] = context if isinstance(context, dict) else {}
        try:
            return original_process(key, heartbeat, context=context)
        finally:
            completing[0] = None

    annotations[process] = annotations[original_process]
    cache["process"] = process
    rpc._add_context_to_message = add_context
    rpc._fire = fire
    rpc._pyotriton_guarded = True
    return True


_DROPPED_LOGGED = 0


def _dropped(refusal: Forged) -> None:
    """A log line for a dropped message (at most 100 at warning level: a client cannot flood the log)."""
    global _DROPPED_LOGGED
    _DROPPED_LOGGED += 1
    level = logging.WARNING if _DROPPED_LOGGED <= 100 else logging.DEBUG
    logger.log(level, "dropped %s", refusal)
