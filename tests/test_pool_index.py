"""The pool's reading of its members' repositories, rule by rule, against one real Triton under two spellings of
its address and a relay to it that fails, rewrites or silences chosen answers: the index (ready models, backoff
after a failure), the merged model list, the config. The call rules are in test_pool_rules.py."""

from __future__ import annotations

import json
import time

import pytest
from conftest import spellings
from loopback import RelayServer as HalfServer
from test_pool_rules import inputs, pool_over, right

from pyotritonclient.engine.pool import ServerPool
from pyotritonclient.engine.session import Session
from pyotritonclient.errors import NoServerError


async def test_list_models_merges_the_members(two, triton):
    models = {m["name"]: m for m in await two.list_models()}
    assert models["add_sub"]["servers"] == spellings(triton)
    assert models["add_sub"]["state"] == "READY"
    assert list(models) == sorted(models)
    assert two.unanswered == {}


async def test_the_config_comes_from_a_member_that_has_the_model(two):
    config = await two.config("add_sub")
    assert config["name"] == "add_sub" and [i["name"] for i in config["input"]] == ["INPUT0", "INPUT1"]


async def test_list_models_is_the_members_lists_merged_with_where_each_is_ready(two, triton):
    one = Session(triton.http_url)
    try:
        for options in ({}, {"ready": True}, {"details": True}):
            alone = await one.list_models(**options)
            merged = await two.list_models(**options)
            assert merged == [{**m, "servers": spellings(triton) if m["state"] == "READY" else []} for m in alone]
        assert "inputs" in merged[0] and two.unanswered == {}
    finally:
        await one.close()


async def test_a_member_where_the_model_is_not_ready_is_not_listed_as_a_server(triton):
    half = HalfServer(triton, state="UNAVAILABLE")
    async with pool_over(half, triton.http_url) as pool:
        models = {m["name"]: m for m in await pool.list_models(headers={"X-Trace": "t1"})}
        assert models["add_sub"]["servers"] == [triton.http_url + "/"]
        assert models["add_sub"]["state"] == "READY" and models["add_sub"]["versions"] == ["1"]
        (index,) = [(h, b) for method, path, h, b in half.seen if path == "/v2/repository/index"]
        assert index[0].get("x-trace") == "t1"  # the caller's headers reach every member
        assert json.loads(index[1] or b"{}").get("ready") in (None, False)
        await pool.list_models(ready=True)
        assert json.loads(half.seen[-1][3]) == {"ready": True} and half.seen[-1][1] == "/v2/repository/index"
        only_half = ServerPool([Session(half.url)])
        try:
            models = {m["name"]: m for m in await only_half.list_models()}
            assert models["add_sub"]["servers"] == [] and models["add_sub"]["state"] == "UNAVAILABLE"
        finally:
            await only_half.close()


async def test_the_config_is_asked_with_the_callers_version_refresh_and_headers(triton):
    half = HalfServer(triton)
    async with pool_over(half) as pool:
        config = await pool.config("add_sub", "1", headers={"X-Trace": "t2"})
        assert config["name"] == "add_sub"
        asked = [(path, h.get("x-trace")) for method, path, h, b in half.seen if "config" in path]
        assert asked == [("/v2/models/add_sub/versions/1/config", "t2")]
        await pool.config("add_sub", "1")  # cached
        assert len([p for m, p, h, b in half.seen if "config" in p]) == 1
        await pool.config("add_sub", "1", refresh=True)
        assert len([p for m, p, h, b in half.seen if "config" in p]) == 2


async def test_a_member_failing_to_answer_the_config_is_taken_out_and_the_next_asked(triton):
    half = HalfServer(triton, close_on="/config")
    pool = ServerPool([Session(half.url), Session(triton.http_url)], recheck_seconds=0.2)
    try:
        pool.members[1].in_flight = 1  # the half server is asked first
        config = await pool.config("add_sub")
        assert config["name"] == "add_sub" and half.infers > 0
        assert "closed the connection" in pool.members[0].down and pool.members[1].down is None
        alone = ServerPool([Session(half.url)])
        try:
            with pytest.raises(NoServerError) as caught:
                await alone.config("add_sub")
            (why,) = caught.value.reasons.values()
            assert why.startswith("failed: ") and "closed the connection" in why
        finally:
            await alone.close()
    finally:
        pool.members[1].in_flight = 0
        await pool.close()
        half.close()


async def test_the_index_is_asked_for_ready_models_and_models_without_a_state_count_as_ready(triton):
    half = HalfServer(triton, state="-", close_on="/never")
    async with pool_over(half) as pool:
        assert right(await pool.execute("add_sub", inputs()))
        (body,) = [b for method, path, h, b in half.seen if path == "/v2/repository/index"]
        assert json.loads(body) == {"ready": True}
        assert "add_sub" in pool.members[0].models


async def test_a_member_whose_index_fails_is_used_when_no_member_is_known_to_have_the_model(triton):
    half = HalfServer(triton, close_on="/repository/index")
    pool = ServerPool([Session(half.url)])
    member = pool.members[0]
    try:
        assert right(await pool.execute("add_sub", inputs()))  # its models are unknown: it is tried
        assert member.models is None and "repository/index" in member.index_failed
        assert member.status()["index"] == "failed" and member.index_backoff == 2.0
        assert member.index_retry_at > time.monotonic()
        member.index_retry_at = 0.0  # as if the backoff had passed
        assert right(await pool.execute("add_sub", inputs()))
        assert member.index_backoff == 4.0
        half.close_on = "/never"  # the index answers again
        member.index_retry_at = 0.0
        assert right(await pool.execute("add_sub", inputs()))
        assert (member.index_failed, member.index_backoff, member.status()["index"]) == (None, 1.0, "ok")
    finally:
        await pool.close()
        half.close()


async def test_a_member_that_fails_to_list_is_taken_out_and_the_others_listed(triton):
    half = HalfServer(triton, close_on="/repository/index")
    async with pool_over(half, triton.http_url, recheck_seconds=0.2) as pool:
        models = {m["name"]: m for m in await pool.list_models()}
        assert models["add_sub"]["servers"] == [triton.http_url + "/"]
        assert list(pool.unanswered) == [half.url + "/"] and pool.unanswered[half.url + "/"].startswith("failed: ")
        assert "closed the connection" in pool.members[0].down


async def test_an_empty_repository_is_an_empty_list_not_an_error(triton):
    empty = HalfServer(triton, state="empty")
    async with pool_over(empty) as pool:
        assert await pool.list_models() == [] and pool.unanswered == {}
