"""The sessions of each event loop: ``session_for(url)`` gives the running loop's ``Session`` for one server (any
spelling of its base URL) or its ``ServerPool`` for several; they close when the loop shuts down."""

from __future__ import annotations

import asyncio
import weakref
from typing import Dict, Optional, Sequence, Tuple, Union

from ..protocol.urls import base_url, server_list
from ..transport.base import at_loop_shutdown
from .executor import Executor
from .pool import ServerPool
from .session import Session


class _LoopSessions:
    """The sessions of one event loop, closed when the loop shuts down its async generators."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.sessions: Dict[str, Session] = {}
        self.by_spelling: Dict[str, Session] = {}  # the URL as callers wrote it -> its session
        self.pools: Dict[Tuple[str, ...], ServerPool] = {}  # several servers: their ServerPool (pool.py)
        self._closer = at_loop_shutdown(self.close)  # (without loop hooks, close_sessions() is the way)

    async def close(self) -> None:
        for pool in list(self.pools.values()):
            await pool.close()
        for session in list(self.sessions.values()):
            await session.close()


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSessions] = weakref.WeakKeyDictionary()


def session_for(server_url: Union[str, Sequence[str]]) -> Executor:
    """The running event loop's ``Session`` for ``server_url`` (any spelling of the same base URL), or its
    ``ServerPool`` for several servers: a list of URLs, or one string of URLs separated by commas."""
    loop = asyncio.get_running_loop()
    sessions = _by_loop.get(loop)
    if sessions is None:
        sessions = _by_loop[loop] = _LoopSessions(loop)
    if isinstance(server_url, str):
        session = sessions.by_spelling.get(server_url)
        if session is not None:
            return session
        if "," not in server_url:
            return _session(sessions, server_url)
    urls = list(dict.fromkeys(base_url(u) for u in server_list(server_url)))
    if len(urls) == 1:
        return _session(sessions, urls[0])
    key = tuple(urls)
    pool = sessions.pools.get(key)
    if pool is None:
        pool = sessions.pools[key] = ServerPool([_session(sessions, url) for url in urls])
    return pool


def _session(sessions: _LoopSessions, server_url: str) -> Session:
    url = base_url(server_url)
    session = sessions.sessions.get(url)
    if session is None:
        session = sessions.sessions[url] = Session(url)
    if len(sessions.by_spelling) < 256:  # the spellings seen, bounded (a caller may invent many)
        sessions.by_spelling[server_url] = session
    return session


async def close_sessions() -> None:
    """Close the pooled clients of the running event loop's sessions (call before the loop ends)."""
    sessions = _by_loop.get(asyncio.get_running_loop())
    if sessions is not None:
        await sessions.close()


def forget_config(server_url: Union[str, Sequence[str]], model_name: Optional[str] = None) -> None:
    """Drop cached configs of one model (all versions) or of every model of the server (or servers: a list or
    URLs separated by commas), in every loop."""
    for url in {base_url(u) for u in server_list(server_url)}:
        for sessions in list(_by_loop.values()):
            session = sessions.sessions.get(url)
            if session is not None:
                session.forget(model_name)


__all__ = ["close_sessions", "forget_config", "session_for"]
