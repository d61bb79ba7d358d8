"""What a session knows of its server's features: capabilities read once, and the rules built on them.

Mixed into ``Session`` (session.py): the server's extensions from its metadata (one request per session), the
repository index with a clear refusal where the server has none, and whether tensors travel as binary data.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List, Mapping, Optional

from .capabilities import BINARY_TENSORS, MODEL_REPOSITORY, Capabilities
from .errors import InferenceServerTimeout, ServerError, UnsupportedError
from .http import InferenceServerClient
from .options import ExecuteOptions
from .protocol.endpoints import redact_url


class ServerFeatures:
    """The capability half of a ``Session``: needs ``url``, ``client``, ``_capabilities`` and
    ``_capabilities_read`` from it."""

    url: str
    _capabilities: Optional[Capabilities]
    _capabilities_read: Optional[asyncio.Future[Capabilities]]

    @property
    def client(self) -> InferenceServerClient:  # provided by Session
        raise NotImplementedError

    async def capabilities(
        self, client: Optional[InferenceServerClient] = None, headers: Optional[Mapping[str, str]] = None
    ) -> Capabilities:
        """The server's name, version and extensions, read once per session (calls started together share it)."""
        if self._capabilities is not None:
            return self._capabilities
        if self._capabilities_read is None or self._capabilities_read.done():
            self._capabilities_read = asyncio.ensure_future(self._read_capabilities(client, headers))
            self._capabilities_read.add_done_callback(_retrieved)
        return await asyncio.shield(self._capabilities_read)

    async def _read_capabilities(
        self, client: Optional[InferenceServerClient], headers: Optional[Mapping[str, str]]
    ) -> Capabilities:
        metadata = await (client or self.client).get_server_metadata(headers=headers)
        self._capabilities = Capabilities.from_metadata(metadata)
        return self._capabilities

    async def repository_index(self, ready: bool = False) -> List[Dict[str, Any]]:
        """The server's repository index (its models and their states) through its pooled client."""
        return await self._repository_index(None, None, ready)

    async def _repository_index(
        self, client: Optional[InferenceServerClient], headers: Optional[Mapping[str, str]], ready: bool
    ) -> List[Dict[str, Any]]:
        """The repository index. A server that does not list the extension may still have it (MLServer does):
        asked all the same, and a 404/405 becomes an ``UnsupportedError`` naming the extension."""
        try:
            return await (client or self.client).get_model_repository_index(headers=headers, ready=ready)
        except ServerError as exc:
            if exc.http_status not in (404, 405):
                raise
            capabilities = await self.capabilities(client, headers)
            if capabilities.repository:
                raise
            raise UnsupportedError(
                f"{self._where(capabilities)} cannot list its models: it has no model repository "
                f"extension ({exc.message()}); name the model instead",
                extension=MODEL_REPOSITORY,
            ) from None

    def _where(self, capabilities: Capabilities) -> str:
        """``"mlserver 1.7.1 at http://host:port/"`` for messages (credentials in the URL redacted)."""
        return f"{capabilities.describe()} at {redact_url(self.url)}"

    def _binary(self, capabilities: Capabilities, options: ExecuteOptions) -> bool:
        """Binary tensors where the server has the extension, unless the options say otherwise."""
        if options.binary_data is None:
            return capabilities.binary_tensors
        if options.binary_data and not capabilities.binary_tensors:
            raise UnsupportedError(
                f"{self._where(capabilities)} does not take binary tensors (no "
                f"'{BINARY_TENSORS}' extension): leave binary_data unset, or False, to send JSON",
                extension=BINARY_TENSORS,
            )
        return bool(options.binary_data)

    async def _capabilities_by(
        self, deadline: Optional[float], options: ExecuteOptions, client: InferenceServerClient
    ) -> Capabilities:
        read = self.capabilities(client, options.headers)
        if deadline is None:
            return await read
        try:
            return await asyncio.wait_for(read, max(deadline - time.monotonic(), 0.0))
        except asyncio.TimeoutError:
            raise InferenceServerTimeout(f"no server metadata within {options.timeout} s", status="TIMEOUT") from None


def _retrieved(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # seen, even if every caller was cancelled meanwhile
