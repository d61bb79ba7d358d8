"""``pyotritonclient bench``: the command around bench.py's measuring loop (inputs, progress, the printed numbers)."""

from __future__ import annotations

import contextlib
from typing import Any, Dict, List, Optional, Tuple

import click

from ..engine.session import Session
from ..errors import InvalidInputError
from ..http import InferenceServerClient
from ..values.inputs import prepare_inputs
from . import files
from .bench import run_bench, synthetic_inputs
from .context import EXIT_SERVER, CliError, global_options, output_of, run, settings_of


@click.command()
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
    settings = settings_of(ctx)
    output = output_of(ctx)
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

    numbers = run(ctx, work)
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
