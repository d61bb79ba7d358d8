"""The RPC face: Triton execution, model listing and sequences as plain functions with JSON schemas.

``TritonService`` (core.py) holds the policy (allowed Triton URLs, request size limit, timeouts, sequence
ownership and idle expiry); ``hypha.py`` registers it on a hypha server; ``plugin/`` wraps it for ImJoy.
"""

from .core import ServiceConfig, ServiceError, TritonService

__all__ = ["ServiceConfig", "ServiceError", "TritonService"]
