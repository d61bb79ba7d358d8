"""Session: one Triton server in one event loop — its pooled client, what it offers (capabilities read once),
its model-config cache, and ``execute``.

    session = session_for("localhost:8000")          # the running loop's session for this server
    config = await session.config("add_sub")          # cached; calls started together share one request
    results = await session.execute("add_sub", inputs, ExecuteOptions(decode_json=True))

The config cache re-reads a config when a request was refused with it (the model may have changed), at most
once per call and at most every ``CONFIG_RECHECK_SECONDS`` for refusals made here, so bad inputs cost no
requests. Sessions close with their event loop (``asyncio.run`` scripts end without "Unclosed client session").
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional

from ..errors import (
    InferenceServerException,
    InferenceServerTimeout,
    InvalidInputError,
    ServerError,
    UnsupportedError,
)
from ..http import InferenceServerClient, InferRequestedOutput
from ..protocol.deadline import Deadline
from ..protocol.metadata import (
    BINARY_TENSORS,
    MODEL_REPOSITORY,
    SEQUENCES,
    Capabilities,
    check_config,
    config_from_metadata,
    takes_timeout,
    tensor_summary,
)
from ..protocol.urls import base_url, redact_url
from ..values.inputs import Inputs, prepare_inputs
from ..values.outputs import shape_outputs
from .configs import Config, ConfigCache, Key
from .deadline import bound
from .options import ExecuteOptions
from .shared import SharedRead

INFO_KEY = "__info__"  # results[INFO_KEY]: the response header (model_name, model_version, id, parameters, outputs)
CONFIG_RECHECK_SECONDS = 5.0  # a config younger than this is trusted when inputs are refused here


class Session:
    """One server, one event loop. Create through ``session_for``; ``close()`` releases the pooled client."""

    def __init__(self, server_url: str, client: Optional[InferenceServerClient] = None) -> None:
        self.url = base_url(server_url)
        self._client: Optional[InferenceServerClient] = client  # None: made on first use
        self.configs = ConfigCache()
        self._capabilities: Optional[Capabilities] = None  # read once: GET v2 (server metadata)
        self._capabilities_read: SharedRead[Capabilities] = SharedRead()

    @property
    def urls(self) -> List[str]:
        """``[url]``: one server."""
        return [self.url]

    async def choose(self, model_name: str) -> str:
        """This server's URL (the one server there is)."""
        return self.url

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

    # -- what the server offers ------------------------------------------------------------------

    async def capabilities(
        self, client: Optional[InferenceServerClient] = None, headers: Optional[Mapping[str, str]] = None
    ) -> Capabilities:
        """The server's name, version and extensions, read once per session (calls started together share it)."""
        if self._capabilities is not None:
            return self._capabilities
        return await self._capabilities_read.run(lambda: self._read_capabilities(client, headers))

    async def _read_capabilities(
        self, client: Optional[InferenceServerClient], headers: Optional[Mapping[str, str]]
    ) -> Capabilities:
        metadata = await (client or self.client).get_server_metadata(headers=headers)
        self._capabilities = Capabilities.from_metadata(metadata)
        return self._capabilities

    def where(self, capabilities: Capabilities) -> str:
        """``"mlserver 1.7.1 at http://host:port/"`` for messages (credentials in the URL redacted)."""
        return f"{capabilities.describe()} at {redact_url(self.url)}"

    def _binary(self, capabilities: Capabilities, options: ExecuteOptions) -> bool:
        """Binary tensors where the server has the extension, unless the options say otherwise."""
        if options.binary_data is None:
            return capabilities.binary_tensors
        if options.binary_data and not capabilities.binary_tensors:
            raise UnsupportedError(
                f"{self.where(capabilities)} does not take binary tensors (no "
                f"'{BINARY_TENSORS}' extension): leave binary_data unset, or False, to send JSON",
                extension=BINARY_TENSORS,
            )
        return bool(options.binary_data)

    # -- model configs ---------------------------------------------------------------------------

    def cached_config(self, model_name: str, model_version: str = "") -> Optional[Config]:
        """The cached config, or None."""
        return self.configs.get((model_name, model_version))

    def forget(self, model_name: Optional[str] = None) -> None:
        """Drop the cached configs of one model (all versions), or of every model."""
        self.configs.forget(model_name)

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
        return await self.configs.read(key, lambda: self._read_config(key, client, headers, label))

    async def _read_config(
        self, key: Key, client: Optional[InferenceServerClient], headers: Optional[Mapping[str, str]], label: str
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
            self.configs.drop(key)
            raise
        check_config(config, model_name)
        config["server_url"] = label
        config["model_name"] = model_name
        self.configs.put(key, config)
        return config

    # -- listing ---------------------------------------------------------------------------------

    async def repository_index(
        self,
        ready: bool = False,
        *,
        client: Optional[InferenceServerClient] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> List[Dict[str, Any]]:
        """The repository index (its models and their states). A server that does not list the extension may
        still have it (MLServer does): asked all the same, and a 404/405 becomes an ``UnsupportedError`` naming
        the extension."""
        try:
            return await (client or self.client).get_model_repository_index(headers=headers, ready=ready)
        except ServerError as exc:
            if exc.http_status not in (404, 405):
                raise
            capabilities = await self.capabilities(client, headers)
            if capabilities.repository:
                raise
            raise UnsupportedError(
                f"{self.where(capabilities)} cannot list its models: it has no model repository "
                f"extension ({exc.message()}); name the model instead",
                extension=MODEL_REPOSITORY,
            ) from None

    async def list_models(
        self,
        *,
        ready: bool = False,
        details: bool = False,
        client: Optional[InferenceServerClient] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> List[Dict[str, Any]]:
        """The repository's models: ``name``, ``versions``, ``state``, ``states`` (+ inputs/outputs)."""
        index = await self.repository_index(ready, client=client, headers=headers)
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
        server: Optional[str] = None,
    ) -> Dict[str, Any]:
        """Run the model once (see ``pyotritonclient.execute``); the stale-config rule is applied here.

        ``server_url``: the caller's spelling, shown in a config read for this call; ``server``: a pool's
        pinning, which for one server can only name this one. ``options.timeout``: seconds, or the call's Deadline
        (used as it is, down to the socket)."""
        if server is not None and base_url(server) != self.url:
            raise InvalidInputError(f"{redact_url(server)} is not this session's server {redact_url(self.url)}")
        options = options or ExecuteOptions()
        own = InferenceServerClient(self.url, verbose=True) if options.verbose and client is None else None
        client = own or client or self.client
        deadline = Deadline.of(options.timeout)
        try:
            key = (model_name, options.model_version)
            cached = None if config is not None or not options.cache_config else self.configs.get(key)
            if cached is not None:
                config = cached
            elif config is None:
                config = await self._config_by(
                    deadline, options, model_name, client, server_url, refresh=not options.cache_config
                )
            try:
                return await self._infer(client, model_name, config, inputs, options, deadline)
            except (InvalidInputError, ServerError) as exc:
                if cached is None or not self._worth_rechecking(exc, key, options):
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

    def _worth_rechecking(self, exc: InferenceServerException, key: Key, options: ExecuteOptions) -> bool:
        """Refused with a cached config: the model may have changed. Refusals made here re-read a config
        older than CONFIG_RECHECK_SECONDS; a server's 400/404 re-reads it (the request was not run), except
        for a sequence step, whose server-side state a second attempt could disturb."""
        if isinstance(exc, InvalidInputError):
            return self.configs.age(key) >= CONFIG_RECHECK_SECONDS
        return exc.http_status in (400, 404) and not options.sequence_id

    async def _config_by(
        self,
        deadline: Deadline,
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
        return await bound(
            deadline,
            read,
            lambda: InferenceServerTimeout(
                f"no model config of {model_name!r} within {deadline.timeout} s", status="TIMEOUT"
            ),
        )

    async def _infer(
        self,
        client: InferenceServerClient,
        model_name: str,
        config: Mapping[str, Any],
        inputs: Inputs,
        options: ExecuteOptions,
        deadline: Deadline,
    ) -> Dict[str, Any]:
        capabilities = self._capabilities
        if capabilities is None:
            capabilities = await bound(
                deadline,
                self.capabilities(client, options.headers),
                lambda: InferenceServerTimeout(f"no server metadata within {deadline.timeout} s", status="TIMEOUT"),
            )
        binary = self._binary(capabilities, options)
        if options.sequence_id and not capabilities.sequences:
            raise UnsupportedError(
                f"{self.where(capabilities)} has no sequence support (the 'sequence' extension): "
                f"model {model_name!r} cannot run as a sequence there",
                extension=SEQUENCES,
            )
        plan = self.configs.compiled((model_name, options.model_version), config)
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
            timeout=deadline.microseconds() if takes_timeout(config) else None,  # Triton drops it once late
            client_timeout=deadline,
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


__all__ = ["CONFIG_RECHECK_SECONDS", "INFO_KEY", "Config", "Session"]
