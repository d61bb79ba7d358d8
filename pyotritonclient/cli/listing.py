"""``pyotritonclient models`` and ``pyotritonclient config MODEL``: what the server has, as tables or JSON."""

from __future__ import annotations

from typing import Any, Dict, List

import click

from ..http import InferenceServerClient
from ..protocol.metadata import is_sequence_model, tensor_summary
from .context import global_options, output_of, run, settings_of


@click.command()
@global_options
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--ready", is_flag=True, help="Only models that are ready.")
@click.pass_context
def models(ctx: click.Context, as_json: bool, ready: bool) -> None:
    """The server's models with their state and versions."""
    out = output_of(ctx)
    settings = settings_of(ctx)

    async def work(client: InferenceServerClient) -> List[Dict[str, Any]]:
        return await settings.session(client).list_models(ready=ready, client=client, headers=settings.headers)

    listed = run(ctx, work)
    if as_json:
        out.json(listed)
        return
    rows = [{**model, "versions": ", ".join(model.get("versions", [])) or "-"} for model in listed]
    out.table(["name", "state", "versions", "reason"], rows, title=f"{len(rows)} models at {settings.shown_url}")


@click.command()
@global_options
@click.argument("model")
@click.option("--model-version", default="", metavar="V", help="A version; default: the server's choice.")
@click.option("--json", "as_json", is_flag=True, help="Print Triton's config as JSON.")
@click.pass_context
def config(ctx: click.Context, model: str, model_version: str, as_json: bool) -> None:
    """A model's inputs and outputs (name, datatype, shape with -1 for variable sizes)."""
    out = output_of(ctx)
    settings = settings_of(ctx)

    async def work(client: InferenceServerClient) -> Dict[str, Any]:
        return await settings.session(client).config(model, model_version, client=client, headers=settings.headers)

    model_config = run(ctx, work)
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
    if is_sequence_model(model_config):
        title += ", sequence model"
    out.table(["kind", "name", "datatype", "shape", "optional"], rows, title=title)
