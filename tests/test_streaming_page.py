"""The JavaScript page of docs/streaming.md, as written there, in headless Chromium against the real hypha and
the real Triton (issue 36): the tokens appear as they come, Stop ends the stream, and the model sees the
cancellation on Triton. Only the page's line of constants is changed (the hypha URL, the service, the model); its
hypha-rpc script is a CDN URL, answered from the local npm copy by routing the request in the browser."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

from test_service_streams import MODEL, finished, tagged
from waiting import wait_until

HERE = Path(__file__).resolve().parent
DOC = HERE.parent / "docs" / "streaming.md"


def page_of_the_docs(hypha_url: str, service_id: str, tag: str) -> str:
    html = re.search(r"```html\n(.*?)```", DOC.read_text(), re.S)
    assert html, "docs/streaming.md has no html example"
    constants = re.compile(r"^const HYPHA = .*;$", re.M)
    assert len(constants.findall(html.group(1))) == 1, "the example's first script line sets its constants"
    inputs = json.dumps({"TAG": tag, "COUNT": 100000, "DELAY": 0.02})
    line = (
        f"const HYPHA = {json.dumps(hypha_url)}, SERVICE = {json.dumps(service_id)}, MODEL = {json.dumps(MODEL)}, "
        f'INPUTS = {inputs}, OUTPUT = "TOKEN";'
    )
    return constants.sub(lambda _: line, html.group(1))


async def test_the_docs_page_shows_tokens_as_they_come_and_stop_stops_the_model(
    on_hypha, hypha_server, cache_dir, tmp_path
):
    service, _, service_id = on_hypha
    tag = tagged()["TAG"]
    page = tmp_path / "page.html"
    page.write_text(page_of_the_docs(hypha_server, service_id, tag))
    playwright = cache_dir / "npm" / "node_modules" / "playwright-core"
    modules = cache_dir / "npm-hypha" / "node_modules"
    process = await asyncio.create_subprocess_exec(  # (the service runs in this event loop: never block it)
        "node", str(HERE / "js" / "streaming_page.mjs"), str(playwright), str(modules), str(page),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = (data.decode() for data in await asyncio.wait_for(process.communicate(), 180))
    lines = [line for line in stdout.splitlines() if line.startswith("RESULT ")]
    assert process.returncode == 0 and lines, f"{stdout[-3000:]}\n{stderr[-2000:]}"
    text = json.loads(lines[-1][len("RESULT ") :])["text"]
    tokens = text.split("\n")[:-1]
    assert text.endswith("[stopped]"), text
    assert tokens == [f"token {i}" for i in range(len(tokens))] and len(tokens) >= 3, text  # in order, none lost
    state = await finished(tag)
    assert state["cancelled"] and state["produced"] < 100000, state
    await wait_until(lambda: not service.streams.open, "the page's stream ended")
