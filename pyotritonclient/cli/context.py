"""What every command shares: the global options, the client they make, and errors as one line with an exit code.

Exit codes: 0 done; 1 the server refused or failed (or some batch items failed); 2 bad usage or input, refused
before anything was sent; 3 no answer from the server (unreachable, timed out); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, TypeVar

import click

from ..engine.executor import Executor
from ..engine.pool import ServerPool
from ..engine.session import Session
from ..errors import InferenceServerException, InferenceServerTimeout, InvalidInputError, UnavailableError
from ..http import InferenceServerClient
from ..protocol.urls import redact_url, server_list
from .show import Output

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
    opened: List[ServerPool] = field(default_factory=list)  # pools made by session(), closed by run()

    @property
    def urls(self) -> List[str]:
        """The server, or the servers (``--url`` takes several separated by commas)."""
        return server_list(self.url) or [DEFAULT_URL]

    @property
    def shown_url(self) -> str:
        """The server(s) as the command may print them: credentials in a URL replaced by ``***``."""
        return ",".join(redact_url(url) for url in self.urls)

    def session(self, client: InferenceServerClient) -> Executor:
        """The server's session (calls pass ``client``), or for several servers a pool of sessions with a client
        each (the calls go to the least busy one that has the model; see docs/scaling.md)."""
        if len(self.urls) == 1:
            return Session(self.urls[0])
        pool = ServerPool([Session(url, client=self.client(url)) for url in self.urls])
        self.opened.append(pool)
        return pool

    def client(self, url: Optional[str] = None) -> InferenceServerClient:
        """A client for the server (the first one of several); every ``--header`` is redacted in ``--verbose``
        output."""
        return InferenceServerClient(
            url or self.urls[0],
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


class Group(click.Group):
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
            raise CliError(one_line(exc), _exit_code(exc)) from None


def one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    first, _, rest = text.partition("\n")
    return first if not rest.strip() else f"{first} (+{len(rest.splitlines())} more lines; --verbose shows them)"


# -- global options, accepted before or after the command --------------------------------------------


def settings_of(ctx: click.Context) -> Settings:
    """The global options of this invocation."""
    return ctx.ensure_object(Settings)


def _set_url(ctx: click.Context, _: click.Parameter, value: Optional[str]) -> None:
    if value:
        settings_of(ctx).url = value


def _set_headers(ctx: click.Context, _: click.Parameter, values: Tuple[str, ...]) -> None:
    for value in values:
        if "=" in value and (":" not in value or value.index("=") < value.index(":")):
            key, sep, text = value.partition("=")
        else:
            key, sep, text = value.partition(":")
        if not key.strip() or not sep:
            raise click.BadParameter(f"expected K=V (or 'K: V'), got {value!r}", param_hint="--header")
        settings_of(ctx).headers[key.strip()] = text.strip()


def _set_timeout(ctx: click.Context, _: click.Parameter, value: Optional[float]) -> None:
    if value is not None:
        if not value > 0:
            raise click.BadParameter(f"must be more than 0 seconds, got {value}", param_hint="--timeout")
        settings_of(ctx).timeout = value


def _set_verbose(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value:
        settings_of(ctx).verbose = True


def global_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--url, --header, --timeout and --verbose, on the group and on every command."""
    for option in reversed(
        [
            click.option(
                "--url",
                metavar="URL",
                callback=_set_url,
                expose_value=False,
                help="Triton's HTTP address, host:port or http(s)://... (several, separated by commas, share "
                f"the calls)  [default: $TRITON_URL or {DEFAULT_URL}]",
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


def run(ctx: click.Context, work: Callable[[InferenceServerClient], Awaitable[T]]) -> T:
    """Run ``work(client)`` in a fresh event loop; --verbose request lines go to stderr, not into the output."""
    settings = settings_of(ctx)

    async def main() -> T:
        client = settings.client()
        try:
            return await work(client)
        finally:
            await client.close()
            for pool in settings.opened:
                await pool.close()
            settings.opened.clear()

    redirect = contextlib.redirect_stdout(sys.stderr) if settings.verbose else contextlib.nullcontext()
    with redirect:
        return asyncio.run(main())


def output_of(ctx: click.Context) -> Output:
    """Where the command prints."""
    return Output(sys.stdout)  # stdout as it is now, before --verbose moves prints to stderr
