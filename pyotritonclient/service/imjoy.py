"""The ImJoy plugin's face: the service for the app that loaded the plugin, pointed at another Triton at run time.

``plugin/TritonClient.imjoy.html`` installs this package in ImJoy's Python engine, builds an ``ImJoyPlugin``
and exports functions that look it up at call time. Every function here acts on the current configuration:
``configure`` swaps the service and ends the previous server's open sequences.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from .. import __version__
from ..values.browser import with_js_buffers
from .calls import bind
from .core import TritonService
from .policy import ServiceConfig, ServiceError
from .schemas import SCHEMAS

DEFAULT_TRITON_URL = "https://ai.imjoy.io/triton"
FUNCTIONS = (*SCHEMAS, "configure")


class ImJoyPlugin:
    """What the plugin exports: the service's functions, ``configure``, ``setup`` and ``run``."""

    def __init__(self, api: Any = None, triton_url: str = DEFAULT_TRITON_URL) -> None:
        self.api = api
        self.service = TritonService(ServiceConfig(triton_url))
        for name in SCHEMAS:
            setattr(self, name, self._forward(name))

    def _forward(self, name: str) -> Any:
        async def function(*args: Any, **kwargs: Any) -> Any:
            result = await self.service.call(name, args, kwargs)  # the current service, at call time
            return with_js_buffers(result) if isinstance(result, dict) else result

        function.__name__ = name
        function.__doc__ = SCHEMAS[name]["description"]
        return function

    async def setup(self) -> None:
        """Called by ImJoy once the plugin is loaded."""
        if self.api is not None:
            await self.api.log(
                f"Triton-Client ready: pyotritonclient {__version__}, Triton at {self.service.config.shown()[0]}"
            )

    async def configure(self, *args: Any, **kwargs: Any) -> List[str]:
        """Point the plugin at another Triton: ``configure(triton_url, allowed_urls=None, timeout=None)`` or
        ``configure({triton_url, allowed_urls, timeout})``. Ends the open sequences of the previous server;
        returns the Triton URLs now allowed (credentials in them shown as ``***``)."""
        return await self._configure(**bind("configure", self._configure, args, kwargs))

    async def _configure(
        self, triton_url: str, allowed_urls: Optional[Sequence[str]] = None, timeout: Optional[float] = None
    ) -> List[str]:
        if not isinstance(triton_url, str) or not triton_url:
            raise ServiceError(f"configure(): triton_url must be a URL string, got {triton_url!r}")
        if allowed_urls is not None and (
            isinstance(allowed_urls, str) or not all(isinstance(u, str) for u in allowed_urls)
        ):
            raise ServiceError(f"configure(): allowed_urls must be a list of URL strings, got {allowed_urls!r}")
        config = ServiceConfig(triton_url, allowed_urls=list(allowed_urls or []))
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
                raise ServiceError(f"configure(): timeout must be a positive number of seconds, got {timeout!r}")
            config.timeout = float(timeout)
        service = TritonService(config)  # raises for a bad URL, before anything changes
        previous, self.service = self.service, service
        await previous.close()
        return service.config.shown()

    async def run(self, ctx: Any = None) -> None:
        """ImJoy's "run" button: shows how many models the configured server has."""
        models = await self.service.list_models()
        if self.api is not None:
            await self.api.showMessage(f"{len(models)} models at {self.service.config.shown()[0]}")

    def exports(self) -> Dict[str, Any]:
        """The functions by name, as the plugin file exports them."""
        return {name: getattr(self, name) for name in (*FUNCTIONS, "setup", "run")}
