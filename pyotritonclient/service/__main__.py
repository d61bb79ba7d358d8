"""python -m pyotritonclient.service --hypha-url URL --triton-url URL [options]: serve Triton over hypha."""

from __future__ import annotations

import argparse
import asyncio
import inspect
import logging
import sys
from pathlib import Path
from typing import Optional, Sequence

from .core import ServiceConfig, TritonService
from .hypha import GaveUp, serve
from .policy import SETTINGS

_SERVE_DEFAULTS = inspect.signature(serve).parameters  # the one home of these defaults: serve's signature

MiB = 1024 * 1024


def parser_for() -> argparse.ArgumentParser:
    """The command line's options (their defaults are ServiceConfig's)."""
    parser = argparse.ArgumentParser(
        prog="python -m pyotritonclient.service", description=__doc__.split(":")[1].strip()
    )
    parser.add_argument("--hypha-url", required=True, help="hypha server, e.g. https://hypha.aicell.io")
    parser.add_argument(
        "--triton-url",
        required=True,
        action="append",
        help="the default Triton server, e.g. http://127.0.0.1:8000; repeat it (or separate URLs by commas) for "
        "several servers that share the calls",
    )
    parser.add_argument("--allow-url", action="append", default=[], help="another Triton URL callers may choose")
    parser.add_argument("--workspace")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--token", help="a hypha token (shown in the process list: prefer --token-file)")
    secret.add_argument("--token-file", type=Path, help="a file holding the hypha token (e.g. the startup function's)")
    parser.add_argument("--service-id", default="triton-client")
    parser.add_argument("--client-id")
    parser.add_argument("--visibility", default="public", choices=["public", "protected"])
    parser.add_argument(
        "--websocket-compression",
        action="store_true",
        help="let the service's websocket to hypha use permessage-deflate (off: ~9x faster for large tensors)",
    )
    parser.add_argument("--max-request-mb", type=float, default=ServiceConfig.default("max_request_bytes") / MiB)
    for name, text in SETTINGS.items():  # (policy.py: one table of the tunable settings)
        default = ServiceConfig.default(name)
        parser.add_argument("--" + name.replace("_", "-"), type=type(default), default=default, help=text)
    parser.add_argument(
        "--check-interval",
        type=float,
        default=_SERVE_DEFAULTS["check_interval"].default,
        help="seconds between checks that the service is still connected to hypha",
    )
    parser.add_argument(
        "--give-up-after",
        type=float,
        default=_SERVE_DEFAULTS["give_up_after"].default,
        help="seconds without a connection after which the process exits with status 1 (for a process manager)",
    )
    parser.add_argument(
        "--grace-period",
        type=float,
        default=_SERVE_DEFAULTS["grace_period"].default,
        help="seconds a stopping replica (SIGTERM) gives the calls in flight before it ends its sequences",
    )
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: serve a Triton server over hypha until SIGTERM or Ctrl-C."""
    parser = parser_for()
    args = parser.parse_args(argv)
    token = args.token
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            parser.error(f"--token-file {args.token_file}: {exc.strerror}")
    config = ServiceConfig(
        triton_url=",".join(args.triton_url),
        allowed_urls=args.allow_url,
        max_request_bytes=int(args.max_request_mb * MiB),
        **{name: getattr(args, name) for name in SETTINGS},
    )
    service = TritonService(config)
    lines = logging.StreamHandler(sys.stdout)  # the service's own lines (sequences ended, failures) with its others
    lines.setFormatter(logging.Formatter("%(message)s"))
    logging.getLogger("pyotritonclient.service").addHandler(lines)
    logging.getLogger("pyotritonclient.service").setLevel(logging.INFO)
    try:
        asyncio.run(
            serve(
                service,
                args.hypha_url,
                workspace=args.workspace,
                token=token,
                service_id=args.service_id,
                client_id=args.client_id,
                visibility=args.visibility,
                websocket_compression=args.websocket_compression,
                check_interval=args.check_interval,
                give_up_after=args.give_up_after,
                grace_period=args.grace_period,
            )
        )
    except KeyboardInterrupt:
        pass
    except GaveUp as exc:
        print(f"giving up: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
