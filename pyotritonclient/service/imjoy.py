"""The ImJoy plugin's face: the service for the app that loaded the plugin, pointed at another Triton at run time.

``plugin/TritonClient.imjoy.html`` installs this package in ImJoy's Python engine, builds an ``ImJoyPlugin``
and exports functions that look it up at call time. Every function here acts on the current configuration:
``configure`` swaps the service and ends the previous server's open sequences.
"""

from __future__ import annotations

import inspect
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
            if name != "generate_stream":  # (imjoy-rpc carries no iterators: a callback per event instead)
                setattr(self, name, self._forward(name))

    def _forward(self, name: str) -> Any:
        async def function(*args: Any, **kwargs: Any) -> Any:
            result = await self.service.call(name, args, kwargs)  # the current service, at call time
            return with_js_buffers(result) if isinstance(result, dict) else result

        function.__name__ = name
        function.__doc__ = SCHEMAS[name]["description"]
        return function

    async def generate_stream(self, *args: Any, **kwargs: Any) -> Dict[str, Any]:
        """``generate_stream(model_name, inputs, on_event, parameters=None, server_url=None, model_version="")``:
        imjoy-rpc carries no iterators, so ``on_event(event)`` is called with each event as it comes (and awaited);
        returning ``false`` stops the stream, and the model on Triton. Returns ``{events, stopped}`` after the last
        event; an error of the model rejects it (after the events before the error). imjoy-rpc lets a plain
        callback be called once: pass ``on_event`` inside an interface, ``{_rintf: true, on_event(event) {...}}``."""
        return await self._stream(**bind("generate_stream", self._stream, args, kwargs))

    async def _stream(
        self,
        model_name: str,
        inputs: Any,
        on_event: Any,
        parameters: Optional[Dict[str, Any]] = None,
        server_url: Optional[str] = None,
        model_version: str = "",
    ) -> Dict[str, Any]:
        handler = on_event if callable(on_event) else _member(on_event, "on_event")
        if not callable(handler):
            raise ServiceError(
                "generate_stream(): on_event must be {_rintf: true, on_event(event) {...}} (or a function), called "
                "with each event"
            )
        fields = {"model_name": model_name, "inputs": inputs, "parameters": parameters, "server_url": server_url}
        stream = await self.service.call("generate_stream", kwargs={**fields, "model_version": model_version})
        events, stopped = 0, False
        try:
            async for event in stream:
                events += 1
                answer = handler(event)
                if inspect.isawaitable(answer):
                    answer = await answer
                if answer is False:
                    stopped = True
                    break
        finally:
            await stream.aclose()
        return {"events": events, "stopped": stopped}

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


def _member(value: Any, name: str) -> Any:
    """``value.name`` or ``value[name]`` (imjoy-rpc hands an interface over as either), else None."""
    found = getattr(value, name, None)
    if found is None and isinstance(value, dict):
        found = value.get(name)
    return found
