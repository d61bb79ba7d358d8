"""The high-level API: run a model on numpy arrays, strings and dicts, and get a dict of outputs back.

    results = await execute([image, {"diameter": 30}], server_url=URL, model_name="cellpose-python")
    results["mask"], results["info"], results["__info__"]

Inputs are checked against the model's config (cached per server and model) before anything is sent.
Calls share one pooled client per server and event loop (``shared_client``), or use the ``client`` given.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .errors import InferenceServerException, InferenceServerTimeout, InvalidInputError, ServerError
from .http import InferenceServerClient, InferRequestedOutput
from .model_io import Inputs, prepare_inputs, shape_outputs, tensor_summary

INFO_KEY = "__info__"  # results[INFO_KEY]: the response header (model_name, model_version, id, parameters, outputs)

# -- pooled clients -------------------------------------------------------------------------------

_clients: Dict[Tuple[str, int], InferenceServerClient] = {}
_closers: Dict[Tuple[str, int], Any] = {}  # one async generator per pooled client, see _close_with_loop


def server_base_url(server_url: str) -> str:
    """``host:port`` or a full URL -> the normalised base URL that keys clients and configs."""
    return InferenceServerClient._base_url(server_url, False)


def shared_client(server_url: str) -> InferenceServerClient:
    """The pooled client for ``server_url`` in the running event loop (created on first use).

    It is closed by ``close_clients()``, or when its loop shuts down (``asyncio.run`` does that), so a
    script's ``asyncio.run(main())`` ends without "Unclosed client session" warnings.
    """
    loop = asyncio.get_running_loop()
    key = (server_base_url(server_url), id(loop))
    client = _clients.get(key)
    if client is None or getattr(client, "_loop", loop) is not loop or client.closed:
        for stale in [k for k, c in _clients.items() if c._loop.is_closed()]:  # type: ignore[attr-defined]
            _clients.pop(stale)  # a loop closed without shutting down its async generators
            _closers.pop(stale, None)
        client = InferenceServerClient(key[0])
        client._loop = loop  # type: ignore[attr-defined]
        _clients[key] = client
        _close_with_loop(key, client)
    return client


async def _closer(key: Tuple[str, int], client: InferenceServerClient) -> Any:
    try:
        yield
    finally:
        if _clients.get(key) is client:
            del _clients[key]
            _closers.pop(key, None)
        if not client.closed:
            await client.close()


def _close_with_loop(key: Tuple[str, int], client: InferenceServerClient) -> None:
    """Tie ``client`` to its loop's end: ``loop.shutdown_asyncgens()`` (run by ``asyncio.run`` before it
    closes the loop) finalises every async generator started in the loop, and this one closes the client."""
    closer = _closer(key, client)
    try:
        closer.asend(None).send(None)  # run it to its ``yield`` now: the loop's firstiter hook registers it
    except StopIteration:
        _closers[key] = closer  # the loop only keeps a weak reference
    except Exception:  # a loop without async-generator hooks: close_clients() is the way then
        pass


async def close_clients() -> None:
    """Close the pooled clients of the running event loop (call before the loop ends, e.g. at exit)."""
    loop_id = id(asyncio.get_running_loop())
    for key in [k for k in _clients if k[1] == loop_id]:
        _closers.pop(key, None)
        await _clients.pop(key).close()


# -- model configs --------------------------------------------------------------------------------

_configs: Dict[Tuple[str, str, str], Dict[str, Any]] = {}
_read_at: Dict[Tuple[str, str, str], float] = {}
_pending: Dict[
    Tuple[str, str, str, int], asyncio.Future[Dict[str, Any]]
] = {}  # config reads under way  # when each cached config was read (time.monotonic())

# Inputs refused by the checks here with a cached config make execute read the config again (the model may
# have changed), unless the config was read less than this many seconds ago: a loop of bad inputs costs
# no requests, and at most one config request every few seconds.
CONFIG_RECHECK_SECONDS = 5.0


def forget_config(server_url: str, model_name: Optional[str] = None) -> None:
    """Drop cached configs of one model (all versions), or of every model of the server."""
    base = server_base_url(server_url)
    for key in [k for k in _configs if k[0] == base and (model_name is None or k[1] == model_name)]:
        del _configs[key]
        _read_at.pop(key, None)


async def get_config(
    server_url: str,
    model_name: str,
    *,
    model_version: str = "",
    client: Optional[InferenceServerClient] = None,
    refresh: bool = False,
    headers: Optional[Mapping[str, str]] = None,
) -> Dict[str, Any]:
    """The model's config (cached per server, model and version; ``refresh=True`` asks the server again).

    The dict is Triton's config plus ``server_url`` and ``model_name`` (as 0.2.x returned it).
    """
    key = (server_base_url(server_url), model_name, model_version)
    if refresh:
        return await _read_config(key, server_url, client, headers)
    if key in _configs:
        return _configs[key]
    # Calls started together on a cold cache (asyncio.gather of executes) share one config request.
    pending_key = (*key, id(asyncio.get_running_loop()))
    pending = _pending.get(pending_key)
    if pending is None:
        pending = asyncio.ensure_future(_read_config(key, server_url, client, headers))
        _pending[pending_key] = pending

        def finished(task: asyncio.Future[Any]) -> None:
            _pending.pop(pending_key, None)
            if not task.cancelled():
                task.exception()  # retrieved, even if every caller was cancelled meanwhile

        pending.add_done_callback(finished)
    return await asyncio.shield(pending)  # a caller cancelled does not cancel the others' request


async def _read_config(
    key: Tuple[str, str, str],
    server_url: str,
    client: Optional[InferenceServerClient],
    headers: Optional[Mapping[str, str]],
) -> Dict[str, Any]:
    _, model_name, model_version = key
    client = client or shared_client(server_url)
    try:
        config = await client.get_model_config(model_name, model_version, headers=headers)
    except InferenceServerException:
        _configs.pop(key, None)
        _read_at.pop(key, None)
        raise
    config["server_url"] = server_url
    config["model_name"] = model_name
    _configs[key] = config
    _read_at[key] = time.monotonic()
    return _configs[key]


async def list_models(
    server_url: str,
    *,
    ready: bool = False,
    details: bool = False,
    client: Optional[InferenceServerClient] = None,
    headers: Optional[Mapping[str, str]] = None,
) -> List[Dict[str, Any]]:
    """The models in the server's repository: ``name``, ``versions``, ``state`` (and ``states`` by version).

    ``ready=True`` lists only ready models; ``details=True`` adds ``inputs`` and ``outputs`` summaries
    (name, datatype, shape, optional) read from each ready model's config.
    """
    client = client or shared_client(server_url)
    index = await client.get_model_repository_index(headers=headers, ready=ready)
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
    result = sorted(models.values(), key=lambda m: m["name"])
    if details:
        for model in result:
            if model["state"] != "READY":
                continue
            config = await get_config(server_url, model["name"], client=client, refresh=True, headers=headers)
            model["inputs"] = [tensor_summary(spec, config) for spec in config.get("input", [])]
            model["outputs"] = [tensor_summary(spec, config) for spec in config.get("output", [])]
    return result


# -- execute --------------------------------------------------------------------------------------


async def execute(
    inputs: Inputs,
    server_url: Optional[str] = None,
    model_name: Optional[str] = None,
    *,
    client: Optional[InferenceServerClient] = None,
    model_version: str = "",
    select_outputs: Optional[Sequence[str]] = None,
    decode_bytes: bool = False,
    decode_json: bool = False,
    serialization: Optional[str] = None,
    cast: bool = False,
    request_id: str = "",
    parameters: Optional[Mapping[str, Any]] = None,
    headers: Optional[Mapping[str, str]] = None,
    timeout: Optional[float] = None,
    compression: Optional[str] = None,
    verbose: bool = False,
    sequence_id: Union[int, str] = 0,
    sequence_start: bool = False,
    sequence_end: bool = False,
    cache_config: bool = True,
    config: Optional[Mapping[str, Any]] = None,
) -> Dict[str, Any]:
    """Run ``model_name`` on ``inputs`` and return ``{output name: numpy array, "__info__": response}``.

    - ``inputs``: a list in the config's input order, or a dict by input name; optional inputs may be left
      out. ``str``, ``bytes``, ``dict`` and lists of them become BYTES (dicts as JSON).
    - dtypes and shapes are checked against the config before sending; ``cast=True`` converts arrays whose
      dtype casts safely to the model's. A batching model gets the batch dimension added to a single item.
    - ``decode_bytes`` / ``decode_json``: BYTES outputs become (nested) lists of ``str`` / parsed JSON.
    - ``serialization="imjoy"``: every input is any Python object, sent msgpack-encoded as one BYTES
      element, and BYTES outputs are decoded back the same way (0.2.x compatible).
    - ``timeout`` in seconds for the whole call; ``compression`` ("gzip" or "deflate") both ways.
    - ``client``: an existing ``InferenceServerClient`` (its URL is used); otherwise a pooled one.
    """
    if config is not None and server_url is None:
        server_url = config.get("server_url")
        model_name = model_name or config.get("model_name")
    if client is not None and server_url is None:
        server_url = client.url
    if not server_url or not model_name or not isinstance(model_name, str):
        raise InvalidInputError("execute needs server_url (or client) and model_name")
    if serialization == "imjoy" and (decode_bytes or decode_json):
        raise InvalidInputError('decode_bytes and decode_json do not apply to serialization="imjoy"')
    if compression not in (None, "gzip", "deflate"):
        raise InvalidInputError(f"compression must be None, 'gzip' or 'deflate', got {compression!r}")
    own_client = None
    if client is None:
        if verbose:
            client = own_client = InferenceServerClient(server_url, verbose=True)
        else:
            client = shared_client(server_url)
    deadline = None if timeout is None else time.monotonic() + timeout

    async def config_request(**options: Any) -> Dict[str, Any]:
        # ``timeout`` covers the whole call: a config request too (a cold cache, or a re-read).
        read = get_config(
            server_url, model_name, model_version=model_version, client=client, headers=headers, **options
        )
        if deadline is None:
            return await read
        try:
            return await asyncio.wait_for(read, max(deadline - time.monotonic(), 0.0))
        except asyncio.TimeoutError:
            raise InferenceServerTimeout(
                f"no model config of {model_name!r} within {timeout} s", status="TIMEOUT"
            ) from None

    def call(config_: Mapping[str, Any]) -> Any:
        return _run(
            client,
            model_name,
            config_,
            inputs,
            model_version=model_version,
            select_outputs=select_outputs,
            decode_bytes=decode_bytes,
            decode_json=decode_json,
            serialization=serialization,
            cast=cast,
            request_id=request_id,
            parameters=parameters,
            headers=headers,
            timeout=None if deadline is None else max(deadline - time.monotonic(), 0.001),
            compression=compression,
            sequence_id=sequence_id,
            sequence_start=sequence_start,
            sequence_end=sequence_end,
        )

    try:
        key = (server_base_url(server_url), model_name, model_version)
        cached = config is None and cache_config and key in _configs
        if config is None:
            config = await config_request(refresh=not cache_config)
        try:
            return await call(config)
        except (InvalidInputError, ServerError) as exc:
            # Refused (by the checks here, or by the server) with a cached config: the model may have
            # changed since it was cached. Ask for the config again; if it did change, try once more.
            # (A request the server refused was not run, so sending it again is safe.) Refusals here
            # re-read only a config older than CONFIG_RECHECK_SECONDS, so bad inputs cost no requests.
            refused_here = isinstance(exc, InvalidInputError)
            if not cached or not (refused_here or exc.http_status in (400, 404)):
                raise
            if refused_here and time.monotonic() - _read_at.get(key, 0.0) < CONFIG_RECHECK_SECONDS:
                raise
            forget_config(server_url, model_name)
            try:
                fresh = await config_request()
            except InferenceServerException:
                raise exc from None
            if _shape_of_config(fresh) == _shape_of_config(config):
                raise
            return await call(fresh)
    finally:
        if own_client is not None:
            await own_client.close()


def _shape_of_config(config: Mapping[str, Any]) -> Any:
    return json.dumps([config.get("input"), config.get("output"), config.get("max_batch_size")], sort_keys=True)


async def _run(
    client: InferenceServerClient,
    model_name: str,
    config: Mapping[str, Any],
    inputs: Inputs,
    *,
    model_version: str,
    select_outputs: Optional[Sequence[str]],
    decode_bytes: bool,
    decode_json: bool,
    serialization: Optional[str],
    cast: bool,
    request_id: str,
    parameters: Optional[Mapping[str, Any]],
    headers: Optional[Mapping[str, str]],
    timeout: Optional[float],
    compression: Optional[str],
    sequence_id: Union[int, str],
    sequence_start: bool,
    sequence_end: bool,
) -> Dict[str, Any]:
    infer_inputs = prepare_inputs(config, inputs, cast=cast, serialization=serialization)
    output_names = [spec["name"] for spec in config.get("output", [])]
    outputs = None
    if select_outputs is not None:
        if isinstance(select_outputs, str):
            select_outputs = [select_outputs]
        for name in select_outputs:
            if name not in output_names:
                raise InvalidInputError(f"model {model_name!r} has no output {name!r}; its outputs are {output_names}")
        outputs = [InferRequestedOutput(name) for name in select_outputs]
    result = await client.infer(
        model_name,
        infer_inputs,
        model_version=model_version,
        outputs=outputs,
        request_id=request_id,
        sequence_id=sequence_id,
        sequence_start=sequence_start,
        sequence_end=sequence_end,
        headers=headers,
        parameters=parameters,
        client_timeout=timeout,
        request_compression_algorithm=compression,
        response_compression_algorithm=compression,
    )
    results = shape_outputs(result, serialization=serialization, decode_bytes=decode_bytes, decode_json=decode_json)
    results[INFO_KEY] = result.get_response()
    return results


# -- execute_batch --------------------------------------------------------------------------------


async def execute_batch(
    batches: Sequence[Inputs],
    *args: Any,
    concurrency: int = 4,
    on_progress: Optional[Callable[[int, int, int, Any], Any]] = None,
    batch_size: Optional[int] = None,
    on_batch_end: Optional[Callable[[int, List[Any]], Any]] = None,
    raise_errors: bool = False,
    **options: Any,
) -> List[Any]:
    """Run ``execute`` on every item of ``batches``, at most ``concurrency`` at a time, results in order.

        await execute_batch(batches, server_url, model_name, concurrency=4, on_progress=None, **execute_options)

    A failing item does not stop the others: its slot holds the ``InferenceServerException`` (or other
    exception) instead of a result dict, unless ``raise_errors=True`` (then the first error is raised after
    every item has finished). ``on_progress(done, total, index, result)`` is called as items finish.
    The 0.2.x arguments still work, also positionally: ``execute_batch(batches, batch_size, on_batch_end,
    server_url=..., model_name=...)`` runs ``batch_size`` items together, then ``on_batch_end(start, results)``.
    """
    if len(args) > 2:
        raise TypeError(f"execute_batch takes at most 3 positional arguments, got {1 + len(args)}")
    if (
        args and isinstance(args[0], int) and not isinstance(args[0], bool)
    ):  # 0.2.x: (batches, batch_size, on_batch_end)
        batch_size = args[0]
        if len(args) > 1:
            on_batch_end = args[1]
    else:
        for name, value in zip(("server_url", "model_name"), args):
            if name in options:
                raise TypeError(f"execute_batch got multiple values for argument {name!r}")
            options[name] = value
    if on_batch_end is not None and batch_size is None:
        batch_size = 1  # the 0.2.x default
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1):
        raise InvalidInputError(f"batch_size must be a positive int, got {batch_size!r}")
    if concurrency < 1:
        raise InvalidInputError(f"concurrency must be at least 1, got {concurrency}")
    items = list(batches)
    results: List[Any] = [None] * len(items)
    done = 0
    server_url, model_name = options.get("server_url"), options.get("model_name")
    if items and options.get("config") is None and options.get("cache_config", True) and model_name:
        try:  # one config request, not one per item in flight (errors are reported per item below)
            await get_config(
                server_url or options["client"].url,
                model_name,
                model_version=options.get("model_version", ""),
                client=options.get("client"),
                headers=options.get("headers"),
            )
        except Exception:
            pass

    async def run(index: int) -> None:
        nonlocal done
        try:
            results[index] = await execute(items[index], **options)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # reported in its slot, the other items go on
            results[index] = exc
        done += 1
        if on_progress is not None:
            outcome = on_progress(done, len(items), index, results[index])
            if asyncio.iscoroutine(outcome):
                await outcome

    if batch_size:
        for start in range(0, len(items), batch_size):
            group = range(start, min(start + batch_size, len(items)))
            await asyncio.gather(*(run(i) for i in group))
            if on_batch_end is not None:
                outcome = on_batch_end(start, [results[i] for i in group])
                if asyncio.iscoroutine(outcome):
                    await outcome
    else:
        semaphore = asyncio.Semaphore(concurrency)

        async def bounded(index: int) -> None:
            async with semaphore:
                await run(index)

        await asyncio.gather(*(bounded(i) for i in range(len(items))))
    if raise_errors:
        for outcome in results:
            if isinstance(outcome, BaseException):
                raise outcome
    return results
