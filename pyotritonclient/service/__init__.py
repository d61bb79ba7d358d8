"""The RPC face: Triton execution, model listing and sequences as plain functions with JSON schemas.

``policy.py`` (configuration, URL allowlist, size limit), ``sequences.py`` (ownership, one step at a time,
idle and orphaned sequences ended), ``calls.py`` (any calling style; errors for the caller), ``core.py``
(``TritonService``, the face), ``hypha.py`` (registration on hypha), ``imjoy.py`` (the ImJoy plugin's face).
"""

from .core import ServiceConfig, ServiceError, TritonService

__all__ = ["ServiceConfig", "ServiceError", "TritonService"]
