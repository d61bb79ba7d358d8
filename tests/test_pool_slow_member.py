"""A pool member that answers readiness but not its repository index (a wedged or overloaded server) does not
stall the pool (issue 24): calls go to the healthy member within their deadline, the slow member is remembered
as failing, and list_models lists what the healthy members have and names the one that did not answer. The
healthy member is the real Triton; the slow one is hand-written (a real Triton cannot be made to do this)."""

from __future__ import annotations

import asyncio
import socket

import numpy as np
import pytest
from loopback import ReadyButSlow

from pyotritonclient import execute, list_models
from pyotritonclient.engine.options import ExecuteOptions
from pyotritonclient.engine.registry import session_for
from pyotritonclient.errors import NoServerError, SequenceLostError


@pytest.fixture
def slow():
    server = ReadyButSlow()
    yield server
    server.close()


def add_sub_inputs():
    return [np.arange(16, dtype=np.int32), np.ones(16, dtype=np.int32)]


async def test_a_member_slow_to_list_its_models_does_not_stall_calls(triton, slow):
    """The review's reproduction: `--url healthy,slow --timeout 3 infer` still hung after 20 s."""
    urls = [triton.http_url, slow.url]
    for _ in range(4):  # in turn, the slow member would be chosen for half of them
        results = await asyncio.wait_for(execute(add_sub_inputs(), urls, "add_sub", timeout=3), 60)
        assert results["OUTPUT0"].tolist() == list(range(1, 17))
    assert slow.index_asked.is_set()  # it was asked, and did not hold the calls up
    status = {s["url"]: s for s in session_for(urls).status()}
    assert status[slow.url + "/"]["index"] == "failed"


async def test_list_models_lists_the_healthy_members_and_names_the_silent_one(triton, slow):
    urls = [triton.http_url, slow.url]
    models = await asyncio.wait_for(list_models(urls), 60)
    assert "add_sub" in {m["name"] for m in models}
    unanswered = session_for(urls).unanswered
    assert list(unanswered) == [slow.url + "/"] and "no answer" in unanswered[slow.url + "/"]


async def test_only_silent_members_is_a_clear_no_server_error(slow):
    other = ReadyButSlow()
    try:
        with pytest.raises(NoServerError) as refused:
            await asyncio.wait_for(execute(add_sub_inputs(), [slow.url, other.url], "add_sub", timeout=2), 60)
        assert len(refused.value.reasons) == 2
    finally:
        other.close()


async def test_the_pool_never_shows_a_password():
    """NoServerError's reasons and message, SequenceLostError.server, ServerPool.url and status()."""
    secret = ReadyButSlow(userinfo="alice:pw@")
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # a port that refuses connections: bound by the kernel, then closed here
    refusing = f"http://bob:hunter2@127.0.0.1:{port}"
    try:
        urls = [secret.url, refusing]
        pool = session_for(urls)
        with pytest.raises(NoServerError) as refused:
            await asyncio.wait_for(execute(add_sub_inputs(), urls, "add_sub", timeout=2), 60)
        shown = [str(refused.value), repr(refused.value.reasons), pool.url, repr(pool.status())]
        for text in shown:
            assert "pw" not in text and "hunter2" not in text, text
        step = ExecuteOptions(sequence_id=7, sequence_start=True)  # pinned to the server that is out now
        with pytest.raises(SequenceLostError) as lost:
            await pool.execute("add_sub", add_sub_inputs(), step, server=refusing)
        assert lost.value.server == f"http://***@127.0.0.1:{port}/"
        assert "hunter2" not in str(lost.value)
    finally:
        secret.close()
