"""Authentication plugins for ``InferenceServerClient.register_plugin`` (tritonclient.http.auth's names)."""

from __future__ import annotations

import base64

from ..errors import InvalidInputError
from ._plugin import InferenceServerClientPlugin, Request

__all__ = ["BasicAuth"]


class BasicAuth(InferenceServerClientPlugin):
    """HTTP Basic authentication on every request: ``client.register_plugin(BasicAuth("user", "password"))``.

    The credentials are kept only as the header value; ``repr`` and ``--verbose`` output never show them."""

    def __init__(self, username: str, password: str) -> None:
        for what, value in (("username", username), ("password", password)):
            if not isinstance(value, str):
                raise InvalidInputError(f"BasicAuth {what} must be a str, got {type(value).__name__}")
        if ":" in username:
            raise InvalidInputError("BasicAuth username may not contain ':' (it separates user and password)")
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._header = "Basic " + token

    def __call__(self, request: Request) -> None:
        """Set the ``Authorization`` header (replacing one given by the caller, in any letter case)."""
        for key in [k for k in request.headers if k.lower() == "authorization"]:
            del request.headers[key]
        request.headers["Authorization"] = self._header

    def __repr__(self) -> str:
        return "BasicAuth(<redacted>)"
