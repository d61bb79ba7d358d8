"""The high-level API: run a model on numpy arrays, strings and dicts, and get a dict of outputs back.

    results = await execute([image, {"diameter": 30}], server_url=URL, model_name="cellpose-python")
    results["mask"], results["info"], results["__info__"]

Thin functions over the running loop's ``Session`` for the server (session.py): inputs are checked against
the model's cached config before anything is sent; calls share the session's pooled client, or use the
``client`` given. What ``execute`` takes is ``ExecuteOptions`` (options.py).
"""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, TypeVar, Union

from .engine.options import ExecuteOptions
from .engine.registry import close_sessions, forget_config, session_for
from .engine.session import CONFIG_RECHECK_SECONDS, INFO_KEY
from .errors import InferenceServerException, InvalidInputError
from .http import InferenceServerClient
from .protocol.deadline import Deadline
from .protocol.urls import base_url
from .transport.base import check_concurrency
from .values.inputs import Inputs

__all__ = [
    "CONFIG_RECHECK_SECONDS",
    "INFO_KEY",
    "Inputs",
    "ServerUrl",
    "close_clients",
    "execute",
    "execute_batch",
    "forget_config",
    "get_config",
    "list_models",
    "run_bounded",
    "server_base_url",
    "shared_client",
]

close_clients = close_sessions  # the name 0.3.0 documented
T = TypeVar("T")


async def run_bounded(work: Callable[[T], Awaitable[Any]], items: Iterable[T], concurrency: int) -> None:
    """THE scheduler of many calls: ``work(item)`` for each item, at most ``concurrency`` at a time, by workers
    that pull from one iterator (memory stays bounded however many items there are; a lazy iterator may decide
    when to stop). An exception ``work`` lets out cancels the other workers and is raised. Used by
    ``execute_batch`` and the command line's ``infer`` and ``bench``."""
    check_concurrency(concurrency)
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            await work(item)

    workers = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*workers)
    finally:
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)


ServerUrl = Union[str, Sequence[str]]  # one server, or several (a list, or URLs separated by commas)


def _label(server_url: ServerUrl) -> Optional[str]:
    """The caller's spelling of one server URL (shown in configs read for the call)."""
    return server_url if isinstance(server_url, str) and "," not in server_url else None


def server_base_url(server_url: str) -> str:
    """``host:port`` or a full URL -> the normalised base URL that keys clients and configs."""
    return base_url(server_url)


def shared_client(server_url: ServerUrl) -> InferenceServerClient:
    """The pooled client for ``server_url`` in the running event loop (created on first use; for several
    servers, the least busy one's)."""
    return session_for(server_url).client


async def get_config(
    server_url: ServerUrl,
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
    session = session_for(server_url)
    return await session.config(
        model_name, model_version, refresh=refresh, client=client, headers=headers, server_url=_label(server_url)
    )


async def list_models(
    server_url: ServerUrl,
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
    return await session_for(server_url).list_models(ready=ready, details=details, client=client, headers=headers)


async def execute(
    inputs: Inputs,
    server_url: Optional[ServerUrl] = None,
    model_name: Optional[str] = None,
    *,
    client: Optional[InferenceServerClient] = None,
    config: Optional[Mapping[str, Any]] = None,
    **options: Any,
) -> Dict[str, Any]:
    """Run ``model_name`` on ``inputs`` and return ``{output name: array, "__info__": response}``.

    - ``inputs``: a list in the config's input order, or a dict by input name; optional inputs may be left
      out. ``str``, ``bytes``, ``dict`` and lists of them become BYTES (dicts as JSON). Without numpy,
      arrays are RPC ndarrays (``{_rtype: "ndarray", ...}``) both ways.
    - ``options`` are ``ExecuteOptions`` fields: ``model_version``, ``select_outputs``, ``decode_bytes``,
      ``decode_json``, ``serialization`` ("imjoy": msgpack-encoded objects, 0.2.x), ``cast``, ``request_id``,
      ``parameters``, ``headers``, ``timeout`` (seconds, the whole call), ``compression`` ("gzip"/"deflate"),
      ``sequence_id``/``sequence_start``/``sequence_end``, ``cache_config``, ``verbose``.
    - dtypes and shapes are checked against the config before sending; ``cast=True`` converts arrays whose
      dtype casts safely to the model's. A batching model gets the batch dimension added to a single item.
    - ``server_url``: one server, or several (a list, or URLs separated by commas): each call then goes to the
      least busy ready server that has the model, and one that cannot connect to its server is sent to
      another (see ``ServerPool`` and docs/scaling.md; ``idempotent=True`` retries after a failure too).
    - ``client``: an existing ``InferenceServerClient`` (its URL is used); ``config``: a config to use
      instead of the cached one (its ``server_url``/``model_name`` fill in missing arguments).

    Raises ``InvalidInputError`` before sending for bad inputs or options, ``ServerError`` for the server's
    refusals, ``UnavailableError``/``InferenceServerTimeout`` when there is no answer.
    """
    if config is not None and server_url is None:
        server_url = config.get("server_url")
        model_name = model_name or config.get("model_name")
    if client is not None and server_url is None:
        server_url = client.url
    if not server_url or not model_name or not isinstance(model_name, str):
        raise InvalidInputError("execute needs server_url (or client) and model_name")
    settings = ExecuteOptions.of(options)
    if settings.timeout is not None and not isinstance(settings.timeout, Deadline):
        settings = settings.but(timeout=Deadline(settings.timeout))  # the call's one deadline, down to the socket
    return await session_for(server_url).execute(
        model_name, inputs, settings, client=client, config=config, server_url=_label(server_url)
    )


# -- execute_batch --------------------------------------------------------------------------------


def _batch_arguments(
    args: Sequence[Any], options: Dict[str, Any], batch_size: Optional[int], on_batch_end: Any
) -> Tuple[Optional[int], Any]:
    """execute_batch's positional arguments, in either generation's order: ``(server_url, model_name)`` put
    into ``options``, or 0.2.x's ``(batch_size, on_batch_end)`` returned; then the batch size checked."""
    if len(args) > 2:
        raise TypeError(f"execute_batch takes at most 3 positional arguments, got {1 + len(args)}")
    if args and isinstance(args[0], int) and not isinstance(args[0], bool):  # 0.2.x: (batches, batch_size, ...)
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
    return batch_size, on_batch_end


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
    batch_size, on_batch_end = _batch_arguments(args, options, batch_size, on_batch_end)
    check_concurrency(concurrency)
    items = list(batches)
    results: List[Any] = [None] * len(items)
    done = 0
    model_name = options.get("model_name")
    target = options.get("server_url") or getattr(options.get("client"), "url", None)
    if items and target and model_name and options.get("config") is None and options.get("cache_config", True):
        try:  # one config request, not one per item in flight
            await get_config(
                target,
                model_name,
                model_version=options.get("model_version", ""),
                client=options.get("client"),
                headers=options.get("headers"),
            )
        except InferenceServerException:
            pass  # each item then reports it in its own slot (the call below reads the config again)

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
        await run_bounded(run, range(len(items)), concurrency)
    if raise_errors:
        for outcome in results:
            if isinstance(outcome, BaseException):
                raise outcome
    return results
