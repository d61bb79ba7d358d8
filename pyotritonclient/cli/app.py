"""The ``pyotritonclient`` commands (click): models, config, infer, bench, serve; errors as one line and an exit code.

Exit codes: 0 done; 1 the server refused or failed (or some batch items failed); 2 bad usage or input, refused
before anything was sent; 3 no answer from the server (unreachable, timed out); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, TypeVar

import click

from .. import __version__
from ..errors import InferenceServerException, InferenceServerTimeout, InvalidInputError, UnavailableError
from ..http import InferenceServerClient
from ..model_io import prepare_inputs, tensor_summary
from ..options import ExecuteOptions
from ..session import INFO_KEY, Session
from . import files
from .bench import run_bench, synthetic_inputs
from .show import Output, rate_line

EXIT_SERVER, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 1, 2, 3, 130
DEFAULT_URL = "localhost:8000"
T = TypeVar("T")


@dataclass
class Settings:
    """The global options (given before or after the command name)."""

    url: str = field(default_factory=lambda: os.environ.get("TRITON_URL") or DEFAULT_URL)
    headers: Dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    verbose: bool = False

    def client(self) -> InferenceServerClient:
        """A client for the server; every ``--header`` is redacted in ``--verbose`` output."""
        return InferenceServerClient(
            self.url,
            verbose=self.verbose,
            connection_timeout=self.timeout,
            network_timeout=self.timeout,
            secret_headers=tuple(self.headers),
        )


class CliError(click.ClickException):
    """A failure shown as ``error: <message>`` with its exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it on the class

    def show(self, file: Any = None) -> None:
        """One line on standard error."""
        click.echo(f"error: {self.message}", err=True)


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, (InvalidInputError, click.BadParameter)):
        return EXIT_USAGE
    if isinstance(exc, (UnavailableError, InferenceServerTimeout)):
        return EXIT_UNREACHABLE
    return EXIT_SERVER


class _Group(click.Group):
    """Turns what a command raises into one line and an exit code (a traceback too with ``--verbose``)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except (InferenceServerException, OSError, RuntimeError, ValueError) as exc:
            settings = ctx.find_object(Settings)
            if settings is not None and settings.verbose:
                traceback.print_exc()
            raise CliError(_one_line(exc), _exit_code(exc)) from None


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    first, _, rest = text.partition("\n")
    return first if not rest.strip() else f"{first} (+{len(rest.splitlines())} more lines; --verbose shows them)"


# -- global options, accepted before or after the command --------------------------------------------


def _settings(ctx: click.Context) -> Settings:
    return ctx.ensure_object(Settings)


def _set_url(ctx: click.Context, _: click.Parameter, value: Optional[str]) -> None:
    if value:
        _settings(ctx).url = value


def _set_headers(ctx: click.Context, _: click.Parameter, values: Tuple[str, ...]) -> None:
    for value in values:
        if "=" in value and (":" not in value or value.index("=") < value.index(":")):
            key, sep, text = value.partition("=")
        else:
            key, sep, text = value.partition(":")
        if not key.strip() or not sep:
            raise click.BadParameter(f"expected K=V (or 'K: V'), got {value!r}", param_hint="--header")
        _settings(ctx).headers[key.strip()] = text.strip()


def _set_timeout(ctx: click.Context, _: click.Parameter, value: Optional[float]) -> None:
    if value is not None:
        if not value > 0:
            raise click.BadParameter(f"must be more than 0 seconds, got {value}", param_hint="--timeout")
        _settings(ctx).timeout = value


def _set_verbose(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        _settings(ctx).verbose = True


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--url, --header, --timeout and --verbose, on the group and on every command."""
    for option in reversed(
        [
            click.option(
                "--url",
                metavar="URL",
                callback=_set_url,
                expose_value=False,
                help=f"Triton's HTTP address, host:port or http(s)://...  [default: $TRITON_URL or {DEFAULT_URL}]",
            ),
            click.option(
                "--header",
                "-H",
                metavar="K=V",
                multiple=True,
                callback=_set_headers,
                expose_value=False,
                help="An HTTP header for every request (repeatable); redacted in --verbose output.",
            ),
            click.option(
                "--timeout",
                type=float,
                metavar="SECONDS",
                callback=_set_timeout,
                expose_value=False,
                help="Seconds to connect and for each request.  [default: 60]",
            ),
            click.option(
                "--verbose",
                "-v",
                is_flag=True,
                callback=_set_verbose,
                expose_value=False,
                help="Print requests (to stderr) and tracebacks.",
            ),
        ]
    ):
        command = option(command)
    return command


def _run(ctx: click.Context, work: Callable[[InferenceServerClient], Awaitable[T]]) -> T:
    """Run ``work(client)`` in a fresh event loop; --verbose request lines go to stderr, not into the output."""
    settings = _settings(ctx)

    async def main() -> T:
        client = settings.client()
        try:
            return await work(client)
        finally:
            await client.close()

    redirect = contextlib.redirect_stdout(sys.stderr) if settings.verbose else contextlib.nullcontext()
    with redirect:
        return asyncio.run(main())


def _output(ctx: click.Context) -> Output:
    return Output(sys.stdout)  # stdout as it is now, before --verbose moves prints to stderr


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, "--version", prog_name="pyotritonclient")
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Talk to a Triton Inference Server: list models, read configs, run a model on files, measure, serve."""
    _settings(ctx)


# -- models, config --------------------------------------------------------------------------------------


@cli.command()
@global_options
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--ready", is_flag=True, help="Only models that are ready.")
@click.pass_context
def models(ctx: click.Context, as_json: bool, ready: bool) -> None:
    """The server's models with their state and versions."""
    out = _output(ctx)
    settings = _settings(ctx)

    async def work(client: InferenceServerClient) -> List[Dict[str, Any]]:
        return await Session(settings.url).list_models(ready=ready, client=client, headers=settings.headers)

    listed = _run(ctx, work)
    if as_json:
        out.json(listed)
        return
    rows = [{**model, "versions": ", ".join(model.get("versions", [])) or "-"} for model in listed]
    out.table(["name", "state", "versions", "reason"], rows, title=f"{len(rows)} models at {settings.url}")


@cli.command()
@global_options
@click.argument("model")
@click.option("--model-version", default="", metavar="V", help="A version; default: the server's choice.")
@click.option("--json", "as_json", is_flag=True, help="Print Triton's config as JSON.")
@click.pass_context
def config(ctx: click.Context, model: str, model_version: str, as_json: bool) -> None:
    """A model's inputs and outputs (name, datatype, shape with -1 for variable sizes)."""
    out = _output(ctx)
    settings = _settings(ctx)

    async def work(client: InferenceServerClient) -> Dict[str, Any]:
        return await Session(settings.url).config(model, model_version, client=client, headers=settings.headers)

    model_config = _run(ctx, work)
    if as_json:
        out.json({k: v for k, v in model_config.items() if k not in ("server_url", "model_name")})
        return
    rows = []
    for kind in ("input", "output"):
        for spec in model_config.get(kind, []):
            summary = tensor_summary(spec, model_config)
            rows.append(
                {
                    "kind": kind,
                    "name": summary["name"],
                    "datatype": summary["datatype"],
                    "shape": "[" + ", ".join(map(str, summary["shape"])) + "]",
                    "optional": "yes" if summary.get("optional") else "",
                }
            )
    backend = model_config.get("backend") or model_config.get("platform") or "?"
    batch = model_config.get("max_batch_size", 0)
    title = f"{model}: backend {backend}, max_batch_size {batch}"
    if "sequence_batching" in model_config:
        title += ", sequence model"
    out.table(["kind", "name", "datatype", "shape", "optional"], rows, title=title)


# -- infer ---------------------------------------------------------------------------------------------


@cli.command()
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
    settings = _settings(ctx)
    output = _output(ctx)
    if concurrency < 1:
        raise click.BadParameter(f"must be at least 1, got {concurrency}", param_hint="--concurrency")
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
    session = Session(settings.url)

    async def work(client: InferenceServerClient) -> int:
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

    code = _run(ctx, work)
    if code:
        ctx.exit(code)


async def _infer_batch(
    output: Output,
    session: Session,
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
    pending = iter(todo)
    with output.progress(total=len(todo), label=model) as tick:

        async def worker() -> None:
            nonlocal done
            for item in pending:
                try:
                    values = files.load_inputs(item, image_layout)
                    results = await session.execute(model, values, options, client=client)
                    results.pop(INFO_KEY, None)
                    files.write_item(results, out, item.name)
                except InferenceServerException as exc:
                    failures.append((item.name, str(exc)))
                    tick(ok=False, item=item.name, detail=_one_line(exc))
                    continue
                done += 1
                tick(ok=True, item=item.name)

        workers: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.gather(*(worker() for _ in range(min(concurrency, len(todo) or 1))))
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


# -- bench ---------------------------------------------------------------------------------------------


@cli.command()
@global_options
@click.argument("model")
@click.option("--input", "-i", "inputs", multiple=True, metavar="NAME=VALUE", help="Inputs, as for infer.")
@click.option("--shape", "shapes", multiple=True, metavar="NAME=D,D,...", help="Shape of a generated input.")
@click.option("--batch-size", default=1, show_default=True, help="Batch size of generated inputs (batching models).")
@click.option("--concurrency", "-c", default=1, show_default=True, help="Requests in flight at once.")
@click.option("--requests", "-n", type=int, help="Stop after this many requests.")
@click.option("--seconds", "-s", type=float, help="Stop after this long.  [default: 5 s]")
@click.option("--warmup", default=5, show_default=True, help="Requests sent first and not counted.")
@click.option("--model-version", default="", metavar="V", help="A version; default: the server's choice.")
@click.option("--cast", is_flag=True, help="Convert arrays whose dtype casts safely to the model's.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@click.pass_context
def bench(
    ctx: click.Context,
    model: str,
    inputs: Tuple[str, ...],
    shapes: Tuple[str, ...],
    batch_size: int,
    concurrency: int,
    requests: Optional[int],
    seconds: Optional[float],
    warmup: int,
    model_version: str,
    cast: bool,
    as_json: bool,
) -> None:
    """Latency percentiles and throughput of MODEL at a concurrency (inputs generated unless given)."""
    settings = _settings(ctx)
    output = _output(ctx)
    if requests is not None and seconds is not None:
        raise click.UsageError("give --requests or --seconds, not both")
    if requests is None and seconds is None:
        seconds = 5.0
    parsed_shapes: Dict[str, List[int]] = {}
    for text in shapes:
        name, sep, dims = text.partition("=")
        try:
            parsed_shapes[name] = [int(d) for d in dims.split(",")]
        except ValueError:
            sep = ""
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=D,D,..., got {text!r}", param_hint="--shape")

    async def work(client: InferenceServerClient) -> Dict[str, Any]:
        model_config = await Session(settings.url).config(model, model_version, client=client, headers=settings.headers)
        names = [spec["name"] for spec in model_config.get("input", [])]
        values = synthetic_inputs(model_config, parsed_shapes, batch_size) if not inputs else {}
        for spec in files.parse_input_specs(inputs, names):
            if spec.is_batch:
                raise InvalidInputError(f"input {spec.name!r}: bench takes one value per input, not a folder or glob")
            values[spec.name] = files.load_value(spec.name, spec.raw)
        prepared = prepare_inputs(model_config, values, cast=cast)
        bar = requests is not None and output.terminal  # a bar for a count of requests; --seconds just waits
        with output.progress(total=requests or 1, label=f"bench {model}") if bar else _no_tick() as tick:
            result = await run_bench(
                client,
                model,
                prepared,
                concurrency=concurrency,
                requests=requests,
                seconds=seconds,
                warmup=warmup,
                model_version=model_version,
                headers=settings.headers or None,
                timeout=settings.timeout,
                on_progress=lambda count, elapsed: tick(),
            )
        return result.as_dict()

    numbers = _run(ctx, work)
    if numbers["requests"] == 0:
        raise CliError(f"every request failed ({numbers['errors']}): {numbers['first_error']}", EXIT_SERVER)
    if as_json:
        output.json(numbers)
    else:
        output.line(
            f"{model}: {numbers['requests']} requests in {numbers['seconds']:.2f} s at concurrency "
            f"{numbers['concurrency']}: {numbers['throughput']:.1f} infer/s; latency p50 {numbers['p50_ms']:.2f} ms, "
            f"p90 {numbers['p90_ms']:.2f} ms, p99 {numbers['p99_ms']:.2f} ms (mean {numbers['mean_ms']:.2f}, "
            f"max {numbers['max_ms']:.2f}); {numbers['errors']} errors"
        )
    if numbers["errors"]:
        output.note(f"{numbers['errors']} requests failed, first: {numbers['first_error']}")
        ctx.exit(EXIT_SERVER)


@contextlib.contextmanager
def _no_tick() -> Any:
    yield lambda **_: None


# -- serve ---------------------------------------------------------------------------------------------


@cli.command()
@global_options
@click.argument("model_repository", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--http-port", type=int, help="Port of the HTTP endpoint (gRPC and metrics take the next two).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), help="Write Triton's log here.")
@click.option("--startup-timeout", default=120.0, show_default=True, help="Seconds to wait until ready.")
@click.pass_context
def serve(
    ctx: click.Context,
    model_repository: Path,
    http_port: Optional[int],
    log_path: Optional[Path],
    startup_timeout: float,
) -> None:
    """Start a real local Triton on MODEL_REPOSITORY (no Docker) and print its URL; Ctrl-C stops it."""
    from ..testing.server import Installation, TritonServer, install

    output = _output(ctx)
    if not Installation().installed():
        output.note("installing the Triton server (first time only, cached; a few minutes)...")
    installation = install()
    server = TritonServer(
        model_repository,
        http_port=http_port,
        startup_timeout=startup_timeout,
        log_path=log_path,
        installation=installation,
    )
    output.note(f"starting Triton on {model_repository} ...")
    stop = {"signal": 0}

    def on_signal(signum: int, _: Any) -> None:
        stop["signal"] = signum

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        server.start()
    except (RuntimeError, TimeoutError) as exc:
        raise CliError(f"Triton did not start: {_first_error(str(exc))} (log {server.log_path})", EXIT_SERVER) from None
    try:
        output.line(server.http_url)
        output.note(
            f"Triton is serving {model_repository} at {server.http_url} (log {server.log_path}); Ctrl-C stops it"
        )
        output.note(f"  export TRITON_URL={server.http_url}")
        while not stop["signal"]:
            process = server.process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise CliError(f"Triton exited (code {code}): {_first_error(server.log_errors())}", EXIT_SERVER)
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        output.note("stopping Triton ...")
        server.stop()


def _first_error(text: str) -> str:
    """Triton's own error lines in a log excerpt, without glog's prefix and the CPU-only CUDA notice, in one line."""
    found = []
    for line in (line.strip() for line in text.splitlines()):
        match = re.match(r"E\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] (.*)", line)
        message = match.group(1).strip('"') if match else line if line.lower().startswith("error:") else ""
        if message and "CudaDriverHelper" not in message and message not in found:
            found.append(message)
    return "; ".join(found[:3]) if found else (text.strip().splitlines() or ["no error in the log"])[0]
