"""Deprecated import path of the local Triton launcher, kept for one release: use ``pyotritonclient.testing``."""

from __future__ import annotations

import warnings

from .testing.server import (
    Installation,
    ServerInstallError,
    TritonServer,
    cache_dir,
    free_port_block,
    install,
    main,
)

warnings.warn(
    "pyotritonclient.server moved to pyotritonclient.testing.server (this alias goes in 0.4)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["Installation", "ServerInstallError", "TritonServer", "cache_dir", "free_port_block", "install", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
