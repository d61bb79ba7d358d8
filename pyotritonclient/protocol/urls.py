"""Where requests go and what may be printed of them: base-URL normalisation, REST paths, redaction. Pure."""

from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Mapping, NamedTuple, Sequence, Tuple, Union
from urllib.parse import quote, urlsplit, urlunsplit

from ..errors import InvalidInputError
from .request import BadRequest

_SECRET_WORDS = ("auth", "cookie", "token", "secret", "password", "api-key", "apikey")


def redact_url(url: str) -> str:
    """``url`` fit for a message: a user name or password in it is replaced by ``***`` (also in the CLI's
    ``user:password@host:port`` form, without a scheme)."""
    if "://" not in url:
        authority, slash, rest = url.partition("/")
        return "***@" + authority.rsplit("@", 1)[1] + slash + rest if "@" in authority else url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def redact_headers(headers: Mapping[str, str], secret: Sequence[str] = ()) -> Dict[str, str]:
    """Headers safe to log: credentials, cookies and the headers named in ``secret`` replaced by '<redacted>'."""
    marked = {name.lower() for name in secret}
    return {
        k: ("<redacted>" if k.lower() in marked or any(w in k.lower() for w in _SECRET_WORDS) else v)
        for k, v in headers.items()
    }


def server_list(value: Union[str, Sequence[str]]) -> List[str]:
    """One server or several: a URL, URLs separated by commas, or a list of URLs -> the URLs, stripped, empty
    parts dropped, in order. The one place a list of servers is split."""
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(u, str) for u in value):
        parts = list(value)
    else:
        raise InvalidInputError(f"server_url must be a URL or a list of URLs, got {type(value).__name__}")
    return [part.strip() for part in parts if part.strip()]


def base_url(url: str, ssl: bool = False) -> str:
    """``host:port`` (https with ``ssl``) or a full http(s) URL, with any path prefix -> ``scheme://host/prefix/``.

    The one normalisation: clients, pooled sessions, config caches and the service's allowlist all key on it."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidInputError(f"server url must be a non-empty str like 'localhost:8000', got {url!r}")
    url = url.strip()
    if "://" not in url:
        url = ("https://" if ssl else "http://") + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(f"server url {redact_url(url)!r} is not a valid http(s) URL")
    return url.rstrip("/") + "/"


def segment(value: str, what: str) -> str:
    """One path segment, percent-encoded (``/`` included); ``.`` and ``..`` refused: an HTTP library would
    resolve them as navigation and the request would reach another endpoint."""
    if not isinstance(value, str) or not value or value in (".", ".."):
        raise InvalidInputError(f"{what} must be a non-empty str other than '.' and '..', got {value!r}")
    return quote(value, safe="")


def model_path(model_name: str, model_version: str = "") -> str:
    """``v2/models/<name>[/versions/<version>]`` with each segment percent-encoded."""
    if type(model_name) is str and type(model_version) is str:
        return _model_path(model_name, model_version)  # (the common call: encoded once per model)
    return _model_path.__wrapped__(model_name, model_version)


@lru_cache(maxsize=1024)
def _model_path(model_name: str, model_version: str) -> str:
    path = "v2/models/" + segment(model_name, "model_name")
    if model_version:
        path += "/versions/" + segment(str(model_version), "model_version")
    return path


DEFAULT_PORTS = {"http": 80, "https": 443}


class Target(NamedTuple):
    """Where a request goes: ``origin`` (scheme, host, port: what a connection is kept for), ``path`` (the
    request target: path and query) and ``host`` (the Host header: the port only when it is not the default)."""

    origin: Tuple[str, str, int]
    path: str
    host: str


@lru_cache(maxsize=256)  # (URLs repeat: a client sends to a handful of endpoints)
def target_of(url: str) -> Target:
    """THE URL split of every request: its origin, request target and Host header; BadRequest for a URL that is
    not http(s) with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadRequest(f"{redact_url(url)}: not a URL ({exc})") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise BadRequest(f"{redact_url(url)}: only http and https URLs are supported")
    default = DEFAULT_PORTS[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if not path.isascii() or not path.isprintable() or " " in path:  # (a space would end the request line)
        raise BadRequest(f"{redact_url(url)}: a space or a character outside ASCII in the path: percent-encode it")
    return Target(
        (parts.scheme, parts.hostname, port or default), path, host if port in (None, default) else f"{host}:{port}"
    )
