"""engine/shared.py, the one-at-a-time shared read that the capabilities, the config cache, a pool member's
index and the pool's first check use (issue 35: four copies of it before)."""

from __future__ import annotations

import asyncio

import pytest

from pyotritonclient.engine.shared import SharedRead, SharedReads


async def test_callers_meanwhile_share_one_read_and_a_later_call_reads_again():
    runs, gate, started = [], asyncio.Event(), asyncio.Event()

    async def start():
        runs.append(1)
        started.set()
        await gate.wait()
        return len(runs)

    shared: SharedRead[int] = SharedRead()
    waiting = [asyncio.ensure_future(shared.run(start)) for _ in range(5)]
    await started.wait()
    assert shared.running and len(runs) == 1
    gate.set()
    assert await asyncio.gather(*waiting) == [1] * 5 and not shared.running
    assert await shared.run(start) == 2  # ended: the next call starts another read


async def test_once_keeps_the_first_answer_for_good():
    runs = []

    async def start():
        runs.append(1)
        return len(runs)

    shared: SharedRead[int] = SharedRead(once=True)
    assert [await shared.run(start) for _ in range(3)] == [1, 1, 1] and runs == [1]


async def test_a_cancelled_caller_does_not_cancel_the_others_and_errors_reach_everyone():
    gate = asyncio.Event()

    async def start():
        await gate.wait()
        raise ValueError("no answer")

    shared: SharedRead[int] = SharedRead()
    first, second = asyncio.ensure_future(shared.run(start)), asyncio.ensure_future(shared.run(start))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    with pytest.raises(ValueError, match="no answer"):
        await second
    assert first.cancelled()


async def test_reads_by_key_are_apart_and_dropped_when_done():
    reads: SharedReads[str] = SharedReads()

    async def start(key: str) -> str:
        await asyncio.sleep(0)
        return key

    assert await asyncio.gather(reads.run("a", lambda: start("a")), reads.run("b", lambda: start("b"))) == ["a", "b"]
    assert reads._reads == {}


async def test_a_read_whose_callers_were_all_cancelled_is_still_forgotten_when_it_ends():
    reads: SharedReads[str] = SharedReads()
    gate, ended = asyncio.Event(), asyncio.Event()

    async def start() -> str:
        try:
            await gate.wait()
            return "x"
        finally:
            ended.set()

    caller = asyncio.ensure_future(reads.run("k", start))
    await asyncio.sleep(0)
    caller.cancel()
    gate.set()
    await ended.wait()
    await asyncio.sleep(0)  # (the read's own cleanup runs right after it)
    assert reads._reads == {}
