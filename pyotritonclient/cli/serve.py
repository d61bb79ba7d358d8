"""``pyotritonclient serve MODEL_REPOSITORY``: the real local Triton (the testing launcher) until Ctrl-C."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path
from typing import Any, Optional

import click

from .context import EXIT_SERVER, CliError, global_options, output_of


@click.command()
@global_options
@click.argument("model_repository", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--http-port", type=int, help="Port of the HTTP endpoint (gRPC and metrics take the next two).")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=Path), help="Write Triton's log here.")
@click.option("--startup-timeout", default=120.0, show_default=True, help="Seconds to wait until ready.")
@click.option(
    "--allow-model-control",
    is_flag=True,
    help="Allow model load/unload, for callers that send the admin header printed at start (docs/security.md).",
)
@click.pass_context
def serve(
    ctx: click.Context,
    model_repository: Path,
    http_port: Optional[int],
    log_path: Optional[Path],
    startup_timeout: float,
    allow_model_control: bool,
) -> None:
    """Start a real local Triton on MODEL_REPOSITORY (no Docker) and print its URL; Ctrl-C stops it.

    Every model of the repository is loaded at start; none can be loaded afterwards unless
    ``--allow-model-control``, and then only by callers that send the admin header printed at start. The
    shared-memory, logging and trace APIs always want that header: no web page can program this Triton."""
    from ..testing.server import Installation, TritonServer, install

    output = output_of(ctx)
    if not Installation().installed():
        output.note("installing the Triton server (first time only, cached; a few minutes)...")
    installation = install()
    server = TritonServer(
        model_repository,
        http_port=http_port,
        startup_timeout=startup_timeout,
        log_path=log_path,
        installation=installation,
        model_control=allow_model_control,
    )
    output.note(f"starting Triton on {model_repository} ...")

    def on_signal(signum: int, _: Any) -> None:
        raise KeyboardInterrupt  # SIGTERM too: stop the server the same way

    # Both set here: a shell starts background jobs with SIGINT ignored, and Ctrl-C must still stop the server.
    previous = {signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server.start()
        except (RuntimeError, TimeoutError) as exc:
            message = f"Triton did not start: {_first_error(str(exc))} (log {server.log_path})"
            raise CliError(message, EXIT_SERVER) from None
        output.line(server.http_url)
        output.note(
            f"Triton is serving {model_repository} at {server.http_url} (log {server.log_path}); Ctrl-C stops it"
        )
        output.note(f"  export TRITON_URL={server.http_url}")
        (name, key), restricted = next(iter(server.admin_headers.items())), ", ".join(server.restricted_apis)
        output.note(f"  the {restricted} APIs want the header: --header '{name}: {key}'")
        while True:
            process = server.process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise CliError(f"Triton exited (code {code}): {_first_error(server.log_errors())}", EXIT_SERVER)
            time.sleep(0.2)
    except KeyboardInterrupt:
        if server.process is None:
            raise  # interrupted while starting: the launcher has stopped it already
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if server.process is not None:
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
