"""The ``pyotritonclient`` command group: global options, ``--version``, and the commands of the modules beside it."""

from __future__ import annotations

import click

from .. import __version__
from .bench_command import bench
from .context import Group, global_options, settings_of
from .infer import infer
from .listing import config, models
from .playground_command import playground
from .serve import serve


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, "--version", prog_name="pyotritonclient")
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Talk to a Triton Inference Server: list models, read configs, run a model on files, measure, serve, play."""
    settings_of(ctx)


for _command in (models, config, infer, bench, serve, playground):
    cli.add_command(_command)
