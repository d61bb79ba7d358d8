"""The ``pyotritonclient`` command line (``pip install 'pyotritonclient[cli]'``): models, config, infer, bench, serve.

pyotritonclient --url localhost:8000 models
pyotritonclient infer cellpose --input image=cells/ --out masks/
python -m pyotritonclient bench add_sub --concurrency 4 --seconds 5
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

__all__ = ["main"]


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    try:
        from .app import cli
    except ImportError as exc:  # click/rich are the ``cli`` extra, not core dependencies
        print(
            f"pyotritonclient: the command line needs the 'cli' extra ({exc.name} is missing): "
            "pip install 'pyotritonclient[cli]'",
            file=sys.stderr,
        )
        return 1
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="pyotritonclient", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
