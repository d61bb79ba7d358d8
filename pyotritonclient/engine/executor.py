"""Executor: what a single server (``Session``) and a pool of servers (``ServerPool``) both offer, so that the
API, the sequences, the CLI and the service call either without asking which one they have."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Protocol, runtime_checkable

from ..http import InferenceServerClient
from ..values.inputs import Inputs
from .configs import Config
from .options import ExecuteOptions


@runtime_checkable
class Executor(Protocol):
    """One server or several as one (see engine/session.py and engine/pool.py)."""

    url: str  # for messages: the base URL, or the pool's URLs joined by commas (credentials redacted there)

    @property
    def urls(self) -> List[str]:
        """The base URL of each server (one for a ``Session``): with several, a sequence pins itself to one."""

    @property
    def client(self) -> InferenceServerClient:
        """A pooled client (a pool's least busy ready member's)."""

    async def choose(self, model_name: str) -> str:
        """The base URL of the server that would take a call of ``model_name`` now."""

    async def execute(
        self,
        model_name: str,
        inputs: Inputs,
        options: Optional[ExecuteOptions] = None,
        *,
        client: Optional[InferenceServerClient] = None,
        config: Optional[Mapping[str, Any]] = None,
        server_url: Optional[str] = None,
        server: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Run the model once; ``server``: only that server (a pinned sequence)."""

    async def config(
        self,
        model_name: str,
        model_version: str = "",
        *,
        refresh: bool = False,
        client: Optional[InferenceServerClient] = None,
        headers: Optional[Mapping[str, str]] = None,
        server_url: Optional[str] = None,
    ) -> Config:
        """The model's config (cached)."""

    async def list_models(
        self,
        *,
        ready: bool = False,
        details: bool = False,
        client: Optional[InferenceServerClient] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> List[Dict[str, Any]]:
        """The models: ``name``, ``versions``, ``state``, ``states`` (+ inputs/outputs)."""

    async def close(self) -> None:
        """Release the pooled clients."""


__all__ = ["Executor"]
