"""``pyotritonclient infer``: a model on files, images, literals or whole folders, with progress; outputs to files."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from pathlib import Path
from typing import Any, List, Optional, Tuple

import click

from ..api import run_bounded
from ..engine.executor import Executor
from ..engine.options import ExecuteOptions
from ..engine.session import INFO_KEY
from ..errors import InferenceServerException, InvalidInputError
from ..http import InferenceServerClient
from ..transport.base import check_concurrency
from . import files
from .context import EXIT_INTERRUPTED, EXIT_SERVER, global_options, one_line, output_of, run, settings_of
from .show import Output, rate_line


@click.command()
@global_options
@click.argument("model")
@click.option(
    "--input",
    "-i",
    "inputs",
    multiple=True,
    metavar="NAME=VALUE",
    help="An input: FILE.npy, FILE.json, an image (.png .tif .jpg ...), FILE.txt, a folder or glob (a batch: "
    "one request per file), or a literal (JSON such as [1, 2] or text). Repeatable.",
)
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), help="Write the outputs here.")
@click.option("--model-version", default="", metavar="V", help="A version; default: the server's choice.")
@click.option("--cast", is_flag=True, help="Convert arrays whose dtype casts safely to the model's.")
@click.option(
    "--image-layout",
    type=click.Choice(["hwc", "chw"]),
    default="hwc",
    show_default=True,
    help="Images as (H, W, C) or channels first (C, H, W; grey images get C = 1).",
)
@click.option(
    "--parameter", "-p", "parameters", multiple=True, metavar="K=V", help="A request parameter (V read as JSON)."
)
@click.option("--concurrency", "-c", default=4, show_default=True, help="Batch items in flight at once.")
@click.option("--skip-existing", is_flag=True, help="In a batch, skip items whose output folder exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def infer(
    ctx: click.Context,
    model: str,
    inputs: Tuple[str, ...],
    out: Optional[Path],
    model_version: str,
    cast: bool,
    image_layout: str,
    parameters: Tuple[str, ...],
    concurrency: int,
    skip_existing: bool,
    as_json: bool,
) -> None:
    """Run MODEL once, or once per file of a folder/glob input; print a summary and write the outputs.

    Outputs are written as OUT/NAME.npy (arrays) or OUT/NAME.json (decoded JSON and strings); a batch writes
    OUT/ITEM/NAME.* per input file, each item's folder appearing only when complete.
    """
    settings = settings_of(ctx)
    output = output_of(ctx)
    try:
        check_concurrency(concurrency)  # (the one rule, as execute_batch and the transports have it)
    except InvalidInputError as exc:
        raise click.BadParameter(str(exc), param_hint="--concurrency") from None
    request_parameters = {}
    for text in parameters:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected K=V, got {text!r}", param_hint="--parameter")
        try:
            request_parameters[key] = json.loads(value)
        except ValueError:
            request_parameters[key] = value
    options = ExecuteOptions(
        model_version=model_version,
        decode_json=True,
        cast=cast,
        headers=settings.headers or None,
        timeout=settings.timeout,
        parameters=request_parameters or None,
    )

    async def work(client: InferenceServerClient) -> int:
        session = settings.session(client)
        model_config = await session.config(model, model_version, client=client, headers=settings.headers)
        names = [spec["name"] for spec in model_config.get("input", [])]
        specs = files.parse_input_specs(inputs, names)
        items = files.plan_items(specs)
        if any(spec.is_batch for spec in specs):
            if out is None:
                raise InvalidInputError("a batch (a folder or glob input) needs --out DIR for its outputs")
            return await _infer_batch(
                output, session, client, model, items, options, out, image_layout, concurrency, skip_existing
            )
        values = files.load_inputs(items[0], image_layout)
        results = await session.execute(model, values, options, client=client)
        results.pop(INFO_KEY, None)
        rows = [files.summary_row(name, value) for name, value in results.items()]
        if out is not None:
            for row, path in zip(rows, files.write_outputs(results, out)):
                row["file"] = str(path)
        if as_json:
            output.json(rows)
        else:
            columns = ["output", "dtype", "shape", "min", "max"]
            columns += ["preview"] if any(row["preview"] for row in rows) else []
            columns += ["file"] if out is not None else []
            output.table(columns, rows, title=f"{model} outputs")
        return 0

    code = run(ctx, work)
    if code:
        ctx.exit(code)


async def _infer_batch(
    output: Output,
    session: Executor,
    client: InferenceServerClient,
    model: str,
    items: List[files.Item],
    options: ExecuteOptions,
    out: Path,
    image_layout: str,
    concurrency: int,
    skip_existing: bool,
) -> int:
    """Every item through the model, ``concurrency`` at a time, with progress; Ctrl-C keeps finished items."""
    files.remove_partial(out)
    todo = [item for item in items if not (skip_existing and (out / item.name).is_dir())]
    skipped = len(items) - len(todo)
    if skipped:
        output.note(f"skipping {skipped} items already in {out}")
    failures: List[Tuple[str, str]] = []
    done = 0
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, stop.set)
    with output.progress(total=len(todo), label=model) as tick:

        async def one(item: files.Item) -> None:
            nonlocal done
            try:
                values = files.load_inputs(item, image_layout)
                results = await session.execute(model, values, options, client=client)
                results.pop(INFO_KEY, None)
                files.write_item(results, out, item.name)
            except InferenceServerException as exc:
                failures.append((item.name, str(exc)))
                tick(ok=False, item=item.name, detail=one_line(exc))
                return
            done += 1
            tick(ok=True, item=item.name)

        workers: asyncio.Future[Any] = asyncio.ensure_future(
            run_bounded(one, todo, max(1, min(concurrency, len(todo) or 1)))
        )
        stopper: asyncio.Future[Any] = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([workers, stopper], return_when=asyncio.FIRST_COMPLETED)
        finally:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C stops at once
            stopper.cancel()
            if not workers.done():
                workers.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await workers
            files.remove_partial(out)
        if not stop.is_set():
            workers.result()  # what no item could catch (a full disk, say) is raised here
    elapsed = time.perf_counter() - started
    if stop.is_set():
        output.note(
            f"interrupted: {done + skipped} of {len(items)} items done and kept in {out} "
            f"(--skip-existing finishes the rest)"
        )
        return EXIT_INTERRUPTED
    summary = f"{model}: {rate_line(done, elapsed)} written to {out}"
    if skipped:
        summary += f", {skipped} skipped"
    if failures:
        output.note(f"{summary}; {len(failures)} of {len(todo)} failed, first: {failures[0][0]}: {failures[0][1]}")
        return EXIT_SERVER
    output.note(summary)
    return 0
