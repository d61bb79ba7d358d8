"""A real, local Triton for tests, demos and notebooks: ``TritonServer`` (installs the server once, from the
``nvidia-pytriton`` wheel) and ``install``. Not needed to use the client."""

from .server import Installation, ServerInstallError, TritonServer, cache_dir, free_port_block, install

__all__ = ["Installation", "ServerInstallError", "TritonServer", "cache_dir", "free_port_block", "install"]
