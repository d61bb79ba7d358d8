"""Session: one Triton server in one event loop — its pooled client, its model-config cache, and ``execute``.

    session = session_for("localhost:8000")          # the running loop's session for this server
    config = await session.config("add_sub")          # cached; calls started together share one request
    results = await session.execute("add_sub", inputs, ExecuteOptions(decode_json=True))

The config cache re-reads a config when a request was refused with it (the model may have changed), at most
once per call and at most every ``CONFIG_RECHECK_SECONDS`` for refusals made here, so bad inputs cost no
requests. Sessions close with their event loop (``asyncio.run`` scripts end without "Unclosed client session").
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Dict, List, Mapping, Optional, Tuple

from .capabilities import SEQUENCES, Capabilities, config_from_metadata
from .errors import (
    InferenceServerException,
    InferenceServerTimeout,
    InvalidInputError,
    ServerError,
    UnsupportedError,
)
from .http import InferenceServerClient, InferRequestedOutput
from .model_io import Inputs, check_config, numpy_or_none, prepare_inputs, shape_outputs, tensor_summary
from .model_plan import ModelPlan
from .options import ExecuteOptions
from .protocol.endpoints import base_url
from .session_features import ServerFeatures

INFO_KEY = "__info__"  # results[INFO_KEY]: the response header (model_name, model_version, id, parameters, outputs)
CONFIG_RECHECK_SECONDS = 5.0  # a config younger than this is trusted when inputs are refused here

Config = Dict[str, Any]
_Key = Tuple[str, str]  # (model name, model version)


class Session(ServerFeatures):
    """One server, one event loop. Create through ``session_for``; ``close()`` releases the pooled client."""

    def __init__(self, server_url: str, client: Optional[InferenceServerClient] = None) -> None:
        self.url = base_url(server_url)
        self._client: Optional[InferenceServerClient] = client  # None: made on first use
        self._configs: Dict[_Key, Config] = {}
        self._read_at: Dict[_Key, float] = {}
        self._pending: Dict[_Key, asyncio.Future[Config]] = {}  # config reads under way, shared
        self._plans: Dict[_Key, Tuple[Config, ModelPlan]] = {}  # compiled from the cached configs
        self._capabilities: Optional[Capabilities] = None  # read once: GET v2 (server metadata)
        self._capabilities_read: Optional[asyncio.Future[Capabilities]] = None

    @property
    def client(self) -> InferenceServerClient:
        """The pooled client (created on first use, again after it was closed)."""
        if self._client is None or self._client.closed:
            self._client = InferenceServerClient(self.url)
        return self._client

    async def close(self) -> None:
        """Close the pooled client (the cache stays; the next use opens a new client)."""
        if self._client is not None and not self._client.closed:
            await self._client.close()

    # -- model configs ---------------------------------------------------------------------------

    def cached_config(self, model_name: str, model_version: str = "") -> Optional[Config]:
        """The cached config, or None."""
        return self._configs.get((model_name, model_version))

    def forget(self, model_name: Optional[str] = None) -> None:
        """Drop the cached configs of one model (all versions), or of every model."""
        for key in [k for k in self._configs if model_name is None or k[0] == model_name]:
            del self._configs[key]
            self._read_at.pop(key, None)
            self._plans.pop(key, None)

    def _plan(self, key: _Key, config: Mapping[str, Any]) -> Optional[ModelPlan]:
        """The compiled plan of the cached config ``config`` (None for a config the caller gave)."""
        entry = self._plans.get(key)
        if entry is not None and entry[0] is config:
            return entry[1]
        if self._configs.get(key) is not config:
            return None
        plan = ModelPlan(config, numpy_or_none())
        self._plans[key] = (config, plan)
        return plan

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
        """The model's config plus ``server_url`` (the caller's spelling, else the base URL) and ``model_name``,
        as 0.2.x returned it; cached."""
        key = (model_name, model_version)
        label = server_url or self.url
        if refresh:
            return await self._read_config(key, client, headers, label)
        if key in self._configs:
            return self._configs[key]
        pending = self._pending.get(key)
        if pending is None:  # calls started together on a cold cache share one request
            pending = asyncio.ensure_future(self._read_config(key, client, headers, label))
            self._pending[key] = pending

            def finished(task: asyncio.Future[Config]) -> None:
                self._pending.pop(key, None)
                if not task.cancelled():
                    task.exception()  # retrieved, even if every caller was cancelled meanwhile

            pending.add_done_callback(finished)
        return await asyncio.shield(pending)  # a caller cancelled does not cancel the others' request

    async def _read_config(
        self, key: _Key, client: Optional[InferenceServerClient], headers: Optional[Mapping[str, str]], label: str
    ) -> Config:
        model_name, model_version = key
        try:
            capabilities = await self.capabilities(client, headers)
            if capabilities.model_configuration:
                config = await (client or self.client).get_model_config(model_name, model_version, headers=headers)
            else:  # the bare protocol: the model's metadata is what there is
                metadata = await (client or self.client).get_model_metadata(model_name, model_version, headers=headers)
                config = config_from_metadata(metadata)
        except InferenceServerException:
            self._configs.pop(key, None)
            self._read_at.pop(key, None)
            raise
        check_config(config, model_name)
        config["server_url"] = label
        config["model_name"] = model_name
        self._configs[key] = config
        self._read_at[key] = time.monotonic()
        return config

    # -- listing ---------------------------------------------------------------------------------

    async def list_models(
        self,
        *,
        ready: bool = False,
        details: bool = False,
        client: Optional[InferenceServerClient] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> List[Dict[str, Any]]:
        """The repository's models: ``name``, ``versions``, ``state``, ``states`` (+ inputs/outputs)."""
        index = await self._repository_index(client, headers, ready)
        models: Dict[str, Dict[str, Any]] = {}
        for entry in index:
            model = models.setdefault(entry["name"], {"name": entry["name"], "versions": [], "states": {}})
            version = entry.get("version")
            if version:
                model["versions"].append(version)
                model["states"][version] = entry.get("state", "")
            model.setdefault("state", entry.get("state", ""))
            if entry.get("state") == "READY":
                model["state"] = "READY"
            if entry.get("reason"):
                model["reason"] = entry["reason"]
        result = sorted(models.values(), key=lambda m: str(m["name"]))
        if details:
            for model in result:
                if model["state"] != "READY":
                    continue
                config = await self.config(model["name"], refresh=True, client=client, headers=headers)
                model["inputs"] = [tensor_summary(spec, config) for spec in config.get("input", [])]
                model["outputs"] = [tensor_summary(spec, config) for spec in config.get("output", [])]
        return result

    # -- execute ---------------------------------------------------------------------------------

    async def execute(
        self,
        model_name: str,
        inputs: Inputs,
        options: Optional[ExecuteOptions] = None,
        *,
        client: Optional[InferenceServerClient] = None,
        config: Optional[Mapping[str, Any]] = None,
        server_url: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Run the model once (see ``pyotritonclient.execute``); the stale-config rule is applied here.

        ``server_url``: the caller's spelling, shown in a config read for this call."""
        options = options or ExecuteOptions()
        own = InferenceServerClient(self.url, verbose=True) if options.verbose and client is None else None
        client = own or client or self.client
        deadline = None if options.timeout is None else time.monotonic() + options.timeout
        try:
            key = (model_name, options.model_version)
            cached = config is None and options.cache_config and key in self._configs
            if cached:
                config = self._configs[key]
            elif config is None:
                config = await self._config_by(
                    deadline, options, model_name, client, server_url, refresh=not options.cache_config
                )
            try:
                return await self._infer(client, model_name, config, inputs, options, deadline)
            except (InvalidInputError, ServerError) as exc:
                if not cached or not self._worth_rechecking(exc, key, options):
                    raise
                self.forget(model_name)
                try:
                    fresh = await self._config_by(deadline, options, model_name, client, server_url)
                except InferenceServerException:
                    raise exc from None
                if _shape_of(fresh) == _shape_of(config):
                    raise
                return await self._infer(client, model_name, fresh, inputs, options, deadline)
        finally:
            if own is not None:
                await own.close()

    def _worth_rechecking(self, exc: InferenceServerException, key: _Key, options: ExecuteOptions) -> bool:
        """Refused with a cached config: the model may have changed. Refusals made here re-read a config
        older than CONFIG_RECHECK_SECONDS; a server's 400/404 re-reads it (the request was not run), except
        for a sequence step, whose server-side state a second attempt could disturb."""
        if isinstance(exc, InvalidInputError):
            return time.monotonic() - self._read_at.get(key, 0.0) >= CONFIG_RECHECK_SECONDS
        return exc.http_status in (400, 404) and not options.sequence_id

    async def _config_by(
        self,
        deadline: Optional[float],
        options: ExecuteOptions,
        model_name: str,
        client: InferenceServerClient,
        server_url: Optional[str],
        refresh: bool = False,
    ) -> Config:
        """A config read within what is left of the call's timeout."""
        read = self.config(
            model_name,
            options.model_version,
            refresh=refresh,
            client=client,
            headers=options.headers,
            server_url=server_url,
        )
        if deadline is None:
            return await read
        try:
            return await asyncio.wait_for(read, max(deadline - time.monotonic(), 0.0))
        except asyncio.TimeoutError:
            raise InferenceServerTimeout(
                f"no model config of {model_name!r} within {options.timeout} s", status="TIMEOUT"
            ) from None

    async def _infer(
        self,
        client: InferenceServerClient,
        model_name: str,
        config: Mapping[str, Any],
        inputs: Inputs,
        options: ExecuteOptions,
        deadline: Optional[float],
    ) -> Dict[str, Any]:
        capabilities = self._capabilities or await self._capabilities_by(deadline, options, client)
        binary = self._binary(capabilities, options)
        if options.sequence_id and not capabilities.sequences:
            raise UnsupportedError(
                f"{self._where(capabilities)} has no sequence support (the 'sequence' extension): "
                f"model {model_name!r} cannot run as a sequence there",
                extension=SEQUENCES,
            )
        plan = self._plan((model_name, options.model_version), config)
        infer_inputs = prepare_inputs(
            config, inputs, cast=options.cast, serialization=options.serialization, binary=binary, plan=plan
        )
        outputs = None
        output_names = plan.output_names if plan else [spec["name"] for spec in config.get("output", [])]
        if options.select_outputs is not None:
            for name in options.select_outputs:
                if name not in output_names:
                    raise InvalidInputError(
                        f"model {model_name!r} has no output {name!r}; its outputs are {output_names}"
                    )
            outputs = [InferRequestedOutput(name, binary_data=binary) for name in options.select_outputs]
        elif not binary and output_names:
            outputs = [InferRequestedOutput(name, binary_data=False) for name in output_names]
        result = await client.infer(
            model_name,
            infer_inputs,
            model_version=options.model_version,
            outputs=outputs,
            request_id=options.request_id,
            sequence_id=options.sequence_id,
            sequence_start=options.sequence_start,
            sequence_end=options.sequence_end,
            headers=options.headers,
            parameters=options.parameters,
            client_timeout=None if deadline is None else max(deadline - time.monotonic(), 0.001),
            request_compression_algorithm=options.compression,
            response_compression_algorithm=options.compression,
        )
        results = shape_outputs(
            result,
            serialization=options.serialization,
            decode_bytes=options.decode_bytes,
            decode_json=options.decode_json,
        )
        results[INFO_KEY] = result.get_response()
        return results


def _shape_of(config: Mapping[str, Any]) -> str:
    return json.dumps([config.get("input"), config.get("output"), config.get("max_batch_size")], sort_keys=True)


# The running loop's sessions (and pools of several servers) live in loop_sessions.py; imported here, after
# Session is defined, so that ``from pyotritonclient.session import session_for`` keeps working.
from .loop_sessions import close_sessions, forget_config, session_for  # noqa: E402

__all__ = ["CONFIG_RECHECK_SECONDS", "INFO_KEY", "Session", "close_sessions", "forget_config", "session_for"]
