"""The pool's rules one by one, fast, against one real Triton reached under two spellings of its address
(``127.0.0.1`` and ``localhost``: two members of a pool, one server), a port that refuses connections, and, for
what a real server cannot be made to do at a chosen moment, a hand-written member. test_pool.py shows the same
rules with two Tritons (killed and restarted); these pin each rule's edges so that `./dev mutate` finds a change."""

from __future__ import annotations

import asyncio
import socket
from contextlib import asynccontextmanager

import numpy as np
import pytest
from conftest import refused_port, spellings
from loopback import LoopbackServer, ReadyButSlow, requests
from loopback import RelayServer as HalfServer

from pyotritonclient.engine.options import ExecuteOptions
from pyotritonclient.engine.pool import INDEX_TIMEOUT, READY_TIMEOUT, RECHECK_SECONDS, Member, ServerPool
from pyotritonclient.engine.session import Session
from pyotritonclient.errors import InvalidInputError, NoServerError, SequenceLostError, ServerError, UnavailableError


def inputs():
    return [np.arange(16, dtype=np.int32), np.ones(16, dtype=np.int32)]


def right(result) -> bool:
    return result["OUTPUT0"].tolist() == list(range(1, 17)) and result["OUTPUT1"].tolist() == list(range(-1, 15))


@asynccontextmanager
async def pool_over(server, *urls, **options):
    """A pool whose first member is the hand-written ``server``, then ``urls``; closes the pool, then the server."""
    pool = ServerPool([Session(server.url), *(Session(url) for url in urls)], **options)
    try:
        yield pool
    finally:
        await pool.close()
        server.close()


def test_the_documented_limits():
    assert (RECHECK_SECONDS, READY_TIMEOUT, INDEX_TIMEOUT) == (2.0, 2.0, 2.0)


def test_a_pool_needs_a_server_and_shows_its_urls_redacted():
    with pytest.raises(InvalidInputError, match="^a server pool needs at least one server URL$"):
        ServerPool([])
    pool = ServerPool([Session("http://u:pw@a:1"), Session("b:2")])
    assert pool.url == "http://***@a:1/,http://b:2/"
    assert pool.urls == ["http://u:pw@a:1/", "http://b:2/"]
    assert pool.member("http://u:pw@a:1").url == "http://u:pw@a:1/"
    assert pool.member(" b:2/ ") is pool.members[1]
    with pytest.raises(InvalidInputError) as caught:
        pool.member("http://u:pw@c:3")
    assert caught.value.message() == "http://***@c:3 is not one of this pool's servers"


def test_a_new_members_status():
    member = Member(Session("http://u:pw@a:1"))
    assert member.status() == {
        "url": "http://***@a:1/",
        "ready": True,
        "in_flight": 0,
        "served": 0,
        "reason": "",
        "index": "unknown",
    }
    member.index_failed = "boom"
    assert member.status()["index"] == "failed" and member.status()["reason"] == "boom"
    member.down = "gone"
    assert member.status()["reason"] == "gone" and member.status()["ready"] is False


async def test_calls_one_at_a_time_alternate_between_the_members_all_right(two, triton):
    for _ in range(10):
        assert right(await two.execute("add_sub", inputs()))
    assert [s["served"] for s in two.status()] == [5, 5]
    assert two.status()[0] == {
        "url": spellings(triton)[0],
        "ready": True,
        "in_flight": 0,
        "served": 5,
        "reason": "",
        "index": "ok",
    }


async def test_the_member_with_fewer_calls_in_flight_is_chosen(two, triton):
    first, second = two.members
    first.in_flight, second.in_flight = 3, 2  # as if calls were running there
    try:
        for _ in range(3):
            assert await two.choose("add_sub") == second.url
            assert right(await two.execute("add_sub", inputs()))
        assert [first.served, second.served] == [0, 3]
        assert [first.in_flight, second.in_flight] == [3, 2]  # counted up and down, never reset
        first.in_flight, second.in_flight = 0, 2
        assert await two.choose("add_sub") == first.url
    finally:
        first.in_flight = second.in_flight = 0


async def test_the_client_is_the_least_busy_members_or_the_first_if_all_are_out(two):
    first, second = two.members
    first.in_flight = 3
    assert two.client is second.session.client
    first.in_flight = 0
    first.down = second.down = "out"
    assert two.client is first.session.client
    first.down = second.down = None


async def test_a_server_refusing_connections_is_taken_out_and_calls_go_to_the_other(triton):
    dead = f"http://127.0.0.1:{refused_port()}/"
    pool = ServerPool([Session(dead), Session(triton.http_url)], recheck_seconds=0.2)
    try:
        for _ in range(4):
            assert right(await pool.execute("add_sub", inputs()))
        status = pool.status()
        assert status[0]["ready"] is False and status[0]["served"] == 0 and status[0]["reason"]
        assert status[1]["served"] == 4
        assert (await pool.config("add_sub"))["name"] == "add_sub"
        models = await pool.list_models()
        assert [m["servers"] for m in models if m["name"] == "add_sub"] == [[triton.http_url + "/"]]
        assert list(pool.unanswered) == [dead] and pool.unanswered[dead].startswith("out: ")
    finally:
        await pool.close()


async def test_a_member_out_is_checked_again_until_it_answers_ready(triton):
    port = refused_port()
    pool = ServerPool([Session(f"http://127.0.0.1:{port}"), Session(triton.http_url)], recheck_seconds=0.2)
    back = None
    try:
        assert right(await pool.execute("add_sub", inputs()))
        assert pool.members[0].down and pool.members[0].checker is not None
        checker = pool.members[0].checker
        back = HalfServer(triton, port=port)  # the same port, now answering
        await asyncio.wait_for(checker, 120)  # the background check ends when the member is ready again
        assert pool.members[0].down is None and pool.members[0].checker is None
    finally:
        await pool.close()
        if back is not None:
            back.close()


async def test_no_server_left_names_each_and_why_redacted():
    urls = [f"http://u:pw@127.0.0.1:{refused_port()}/", f"http://127.0.0.1:{refused_port()}/"]
    pool = ServerPool([Session(url) for url in urls])
    try:
        with pytest.raises(NoServerError) as caught:
            await pool.execute("add_sub", inputs())
        shown = ["http://***@" + urls[0].split("@")[1], urls[1]]
        assert list(caught.value.reasons) == shown
        assert all(why.startswith("out: ") for why in caught.value.reasons.values())
        message = caught.value.message()
        assert message.startswith(f"no server can take model 'add_sub': {shown[0]}: out: ") and "pw" not in message
        assert f"; {shown[1]}: out: " in message
        with pytest.raises(NoServerError, match=r"^\[UNAVAILABLE\] no server can take the model list: "):
            await pool.list_models()
        with pytest.raises(NoServerError, match=r"^\[UNAVAILABLE\] no server can take the config of model 'add_sub': "):
            await pool.config("add_sub")
        with pytest.raises(NoServerError, match=r"^\[UNAVAILABLE\] no server can take model 'add_sub': "):
            await pool.choose("add_sub")
    finally:
        await pool.close()


async def test_a_model_no_member_has_is_named_for_each_member(two, triton):
    with pytest.raises(NoServerError) as caught:
        await two.execute("no_such_model", inputs())
    assert caught.value.reasons == {url: "has no ready model 'no_such_model'" for url in spellings(triton)}


async def test_a_model_listed_but_not_ready_is_not_a_candidate(triton):
    half = HalfServer(triton, state="UNAVAILABLE")
    async with pool_over(half, triton.http_url) as pool:
        for _ in range(3):
            assert right(await pool.execute("add_sub", inputs()))
        assert half.infers == 0


async def test_a_call_that_failed_after_it_was_sent_is_retried_only_when_idempotent(triton):
    half = HalfServer(triton)
    pool = ServerPool([Session(half.url), Session(triton.http_url)], recheck_seconds=0.2)
    try:
        pool.members[1].in_flight = 1  # the half server is chosen first
        with pytest.raises(UnavailableError) as caught:
            await pool.execute("add_sub", inputs())
        # (the transport may send it twice: a reused connection closed without an answer is retried once)
        assert caught.value.unsent is False and half.infers > 0 and pool.members[1].served == 0
        assert "closed the connection" in pool.members[0].down  # taken out, and why
        if pool.members[0].checker is not None:
            pool.members[0].checker.cancel()
        pool.members[0].down = None  # back in (as after a recheck), and chosen first again
        before = half.infers
        assert right(await pool.execute("add_sub", inputs(), ExecuteOptions(idempotent=True)))
        assert pool.members[1].served == 1 and half.infers > before
    finally:
        pool.members[1].in_flight = 0
        await pool.close()
        half.close()


async def test_a_pinned_call_runs_on_its_server_only_and_is_lost_with_it(two, triton):
    first, second = two.members
    for _ in range(3):
        assert right(await two.execute("add_sub", inputs(), server=spellings(triton)[1]))
    assert [first.served, second.served] == [0, 3]
    second.in_flight = 2  # two more pinned calls under way: counted up and down, never reset
    assert right(await two.execute("add_sub", inputs(), server=second.url))
    assert (second.in_flight, second.served, first.served) == (2, 4, 0)
    second.in_flight = 0
    second.down = "stopped"
    step = ExecuteOptions(sequence_id=9, sequence_start=True)
    with pytest.raises(SequenceLostError) as caught:
        await two.execute("add_sub", inputs(), step, server=second.url)
    assert caught.value.message() == f"sequence 9 of model 'add_sub' was lost: its server {second.url} is out (stopped)"
    assert caught.value.server == second.url
    with pytest.raises(SequenceLostError) as caught:
        await two.execute("add_sub", inputs(), server=second.url)
    assert caught.value.message().startswith("the call was lost: its server ")
    second.down = None


async def test_a_pinned_call_whose_server_fails_is_lost_and_the_server_taken_out(triton):
    half = HalfServer(triton)
    async with pool_over(half, triton.http_url, recheck_seconds=0.2) as pool:
        with pytest.raises(SequenceLostError) as caught:
            await pool.execute("add_sub", inputs(), ExecuteOptions(sequence_id=4), server=half.url)
        assert caught.value.message().startswith(
            f"sequence 4 of model 'add_sub' was lost: its server {half.url}/ failed ("
        )
        assert isinstance(caught.value.__cause__, UnavailableError)
        assert pool.members[0].down and pool.members[0].in_flight == 0 and pool.members[0].served == 0


async def test_the_callers_options_reach_the_server(two):
    result = await two.execute("add_sub", inputs(), ExecuteOptions(select_outputs=["OUTPUT1"]))
    assert list(result) == ["OUTPUT1"] or sorted(k for k in result if not k.startswith("__")) == ["OUTPUT1"]


async def test_a_call_that_cannot_choose_within_its_timeout_says_so_naming_each_server():
    slow = ReadyButSlow()
    pool = ServerPool([Session(slow.url)])
    try:
        with pytest.raises(NoServerError) as caught:
            await pool.execute("add_sub", inputs(), ExecuteOptions(timeout=0.5))
        assert caught.value.reasons == {slow.url + "/": "no answer in time"}
        assert caught.value.message() == (
            f"no server can take model 'add_sub' within 0.5 s: {slow.url}/: no answer in time"
        )
    finally:
        await pool.close()
        slow.close()


async def test_a_model_unloaded_since_the_index_was_read_sends_the_call_to_another_member(triton):
    gone = HalfServer(triton, refuse=True)
    gone.states = ["", "UNAVAILABLE"]  # ready at the first index read, gone at the next
    pool = ServerPool([Session(gone.url), Session(triton.http_url)])
    try:
        pool.members[1].in_flight = 1  # the other member is asked first
        assert right(await pool.execute("add_sub", inputs()))
        assert gone.infers == 1 and pool.members[1].served == 1 and pool.members[0].down is None
    finally:
        pool.members[1].in_flight = 0
        await pool.close()
        gone.close()


async def test_a_refusal_by_a_member_that_still_has_the_model_is_the_callers_error(triton):
    refusing = HalfServer(triton, refuse=True)
    pool = ServerPool([Session(refusing.url), Session(triton.http_url)])
    try:
        pool.members[1].in_flight = 1
        with pytest.raises(ServerError) as caught:
            await pool.execute("add_sub", inputs())
        assert caught.value.http_status == 400 and refusing.infers == 1 and pool.members[1].served == 0
    finally:
        pool.members[1].in_flight = 0
        await pool.close()
        refusing.close()


async def test_an_idempotent_call_that_failed_everywhere_names_each_failure(triton):
    half = HalfServer(triton)
    async with pool_over(half) as pool:
        with pytest.raises(NoServerError) as caught:
            await pool.execute("add_sub", inputs(), ExecuteOptions(idempotent=True))
        (why,) = caught.value.reasons.values()
        assert why.startswith("failed: ") and "closed the connection" in why


class NotReady(LoopbackServer):
    """Answers every readiness check 503 (a server starting or stopping) and counts them."""

    def __init__(self) -> None:
        self.checks = 0
        super().__init__()

    def serve(self, connection: socket.socket) -> None:
        for _request in requests(connection):
            self.checks += 1
            connection.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")


async def test_a_member_that_stays_not_ready_stays_out_and_the_reason_is_kept_current(triton):
    starting = NotReady()
    pool = ServerPool([Session(starting.url), Session(triton.http_url)], recheck_seconds=0.05)
    member = pool.members[0]
    try:
        assert right(await pool.execute("add_sub", inputs()))
        while starting.checks < 4 and member.checker is not None:  # the first check and three rechecks
            await asyncio.sleep(0.01)
        assert member.down == "not ready (GET v2/health/ready)" and member.checker is not None
        pool.take_out(member, "stopped by the test")  # already out: the reason is updated, one checker only
        assert member.down == "stopped by the test"
    finally:
        await pool.close()
        starting.close()


async def test_calls_go_round_the_tied_members_in_order(triton):
    port = triton.http_port
    urls = [f"http://127.0.0.1:{port}/", f"http://localhost:{port}/", f"http://x@127.0.0.1:{port}/"]
    pool = ServerPool([Session(url) for url in urls])
    try:
        served = []
        for _ in range(3):
            assert right(await pool.execute("add_sub", inputs()))
            served.append([m.served for m in pool.members])
        assert served == [[0, 1, 0], [0, 1, 1], [1, 1, 1]]
    finally:
        await pool.close()


async def test_a_pinned_call_takes_the_callers_options(two, triton):
    result = await two.execute("add_sub", inputs(), ExecuteOptions(select_outputs=["OUTPUT1"]), server=two.urls[1])
    assert sorted(k for k in result if not k.startswith("__")) == ["OUTPUT1"]
