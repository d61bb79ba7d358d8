"""The administrative endpoints: model repository, statistics, trace and log settings, shared memory."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Mapping, Optional

from ..errors import InvalidInputError
from ..protocol.urls import model_path, segment
from ._base import ClientBase, Headers, Query


class AdminEndpoints(ClientBase):
    """Endpoints that manage the server rather than run models (mixed into ``InferenceServerClient``)."""

    # -- model repository ------------------------------------------------------------------

    async def get_model_repository_index(
        self, headers: Headers = None, query_params: Query = None, ready: bool = False
    ) -> List[Dict[str, Any]]:
        """Models in the repository (name, version, state, reason); ``ready=True`` lists only ready ones."""
        payload = {"ready": True} if ready else {}
        return await self._list("POST", "v2/repository/index", headers, query_params, payload)

    async def load_model(
        self,
        model_name: str,
        headers: Headers = None,
        query_params: Query = None,
        config: Optional[str] = None,
        files: Optional[Mapping[str, bytes]] = None,
    ) -> None:
        """(Re)load a model, optionally with a config JSON override and files ('file:1/model.py': bytes)."""
        params: Dict[str, Any] = {}
        if config is not None:
            params["config"] = config if isinstance(config, str) else json.dumps(config)
        if files:
            if config is None:
                raise InvalidInputError("load_model: 'files' needs 'config' too (Triton requires it)")
            for path, content in files.items():
                params[path] = base64.b64encode(content).decode("ascii")
        payload = {"parameters": params} if params else {}
        path = "v2/repository/models/" + segment(model_name, "model_name") + "/load"
        await self._json("POST", path, headers, query_params, payload)

    async def unload_model(
        self, model_name: str, headers: Headers = None, query_params: Query = None, unload_dependents: bool = False
    ) -> None:
        """Ask the server to unload the model (``unload_dependents`` too); unloading finishes asynchronously."""
        path = "v2/repository/models/" + segment(model_name, "model_name") + "/unload"
        payload = {"parameters": {"unload_dependents": unload_dependents}}
        await self._json("POST", path, headers, query_params, payload)

    # -- statistics, trace and log settings ------------------------------------------------

    async def get_inference_statistics(
        self, model_name: str = "", model_version: str = "", headers: Headers = None, query_params: Query = None
    ) -> Dict[str, Any]:
        """Inference statistics of one model (or version), or of every model when ``model_name`` is empty."""
        path = (model_path(model_name, model_version) if model_name else "v2/models") + "/stats"
        return await self._object("GET", path, headers, query_params)

    def _trace_path(self, model_name: Optional[str]) -> str:
        return (model_path(model_name) if model_name else "v2") + "/trace/setting"

    async def update_trace_settings(
        self,
        model_name: Optional[str] = None,
        settings: Optional[Mapping[str, Any]] = None,
        headers: Headers = None,
        query_params: Query = None,
    ) -> Dict[str, Any]:
        """Change trace settings, of one model or global when ``model_name`` is None; returns the new settings."""
        return await self._object("POST", self._trace_path(model_name), headers, query_params, dict(settings or {}))

    async def get_trace_settings(
        self, model_name: Optional[str] = None, headers: Headers = None, query_params: Query = None
    ) -> Dict[str, Any]:
        """Trace settings of one model, or global when ``model_name`` is None."""
        return await self._object("GET", self._trace_path(model_name), headers, query_params)

    async def update_log_settings(
        self, settings: Mapping[str, Any], headers: Headers = None, query_params: Query = None
    ) -> Dict[str, Any]:
        """Change the server's log settings; returns the new settings."""
        return await self._object("POST", "v2/logging", headers, query_params, dict(settings))

    async def get_log_settings(self, headers: Headers = None, query_params: Query = None) -> Dict[str, Any]:
        """The server's log settings."""
        return await self._object("GET", "v2/logging", headers, query_params)

    # -- shared memory ---------------------------------------------------------------------

    @staticmethod
    def _region(kind: str, name: str, action: str) -> str:
        region = f"/region/{segment(name, 'region name')}" if name else ""
        return f"v2/{kind}sharedmemory{region}/{action}"

    async def get_system_shared_memory_status(
        self, region_name: str = "", headers: Headers = None, query_params: Query = None
    ) -> Any:
        """Status of one registered system shared-memory region, or of all of them."""
        return await self._json("GET", self._region("system", region_name, "status"), headers, query_params)

    async def register_system_shared_memory(
        self, name: str, key: str, byte_size: int, offset: int = 0, headers: Headers = None, query_params: Query = None
    ) -> None:
        """Register a system shared-memory region (``key`` names it on the server's host) for inputs and outputs."""
        payload = {"key": key, "offset": offset, "byte_size": byte_size}
        await self._json("POST", self._region("system", name, "register"), headers, query_params, payload)

    async def unregister_system_shared_memory(
        self, name: str = "", headers: Headers = None, query_params: Query = None
    ) -> None:
        """Unregister one system shared-memory region, or all of them when ``name`` is empty."""
        await self._json("POST", self._region("system", name, "unregister"), headers, query_params, {})

    async def get_cuda_shared_memory_status(
        self, region_name: str = "", headers: Headers = None, query_params: Query = None
    ) -> Any:
        """Status of one registered CUDA shared-memory region, or of all of them."""
        return await self._json("GET", self._region("cuda", region_name, "status"), headers, query_params)

    async def register_cuda_shared_memory(
        self,
        name: str,
        raw_handle: bytes,
        device_id: int,
        byte_size: int,
        headers: Headers = None,
        query_params: Query = None,
    ) -> None:
        """Register a CUDA shared-memory region from its raw IPC handle (bytes or base64 text)."""
        handle = raw_handle if isinstance(raw_handle, str) else base64.b64encode(raw_handle).decode("ascii")
        payload = {"raw_handle": {"b64": handle}, "device_id": device_id, "byte_size": byte_size}
        await self._json("POST", self._region("cuda", name, "register"), headers, query_params, payload)

    async def unregister_cuda_shared_memory(
        self, name: str = "", headers: Headers = None, query_params: Query = None
    ) -> None:
        """Unregister one CUDA shared-memory region, or all of them when ``name`` is empty."""
        await self._json("POST", self._region("cuda", name, "unregister"), headers, query_params, {})
