"""``pyotritonclient playground``: the model playground page served locally, Triton behind it on the same origin."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Tuple

import click

from .context import global_options, settings_of


@click.command()
@global_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve the page on.")
@click.option("--port", default=8765, show_default=True, help="Port to serve the page on (0: any free one).")
@click.option(
    "--pyodide-dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A local Pyodide distribution (the folder with pyodide.mjs) instead of the CDN.",
)
@click.option("--pyodide-url", default=None, help="Where the page loads Pyodide from (default: jsDelivr's CDN).")
@click.option("--no-proxy", is_flag=True, help="Do not pass /triton/ on to --url (the page then needs a CORS server).")
@click.option(
    "--allow-model-control",
    is_flag=True,
    help="Let the page load and unload models on Triton (off by default; model files are never passed on).",
)
@click.option(
    "--allowed-host",
    multiple=True,
    metavar="NAME",
    help="A host name the page may be reached by besides localhost and IP addresses (repeatable).",
)
@click.option(
    "--max-body-mb",
    type=click.FloatRange(min=0, min_open=True),
    default=1024.0,
    show_default=True,
    help="The largest request body passed on to Triton, in MB.",
)
@click.pass_context
def playground(
    ctx: click.Context,
    host: str,
    port: int,
    pyodide_dir: Optional[Path],
    pyodide_url: Optional[str],
    no_proxy: bool,
    allow_model_control: bool,
    allowed_host: Tuple[str, ...],
    max_body_mb: float,
) -> None:
    """Serve the model playground (pick a model, drop an image, see the outputs) with Triton at --url behind it.

    Only the page this command serves can call Triton through it (a per-run token, the Origin and the Host are
    checked); see docs/security.md."""
    from ..playground.server import DEFAULT_PYODIDE, serve

    url = None if no_proxy else settings_of(ctx).urls[0]
    try:
        serve(
            url, host, port, pyodide_dir, pyodide_url or DEFAULT_PYODIDE,
            allow_model_control=allow_model_control, allowed_hosts=allowed_host,
            max_body_bytes=int(max_body_mb * (1 << 20)),
        )  # fmt: skip
    except KeyboardInterrupt:
        pass
