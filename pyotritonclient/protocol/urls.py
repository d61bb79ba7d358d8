"""Where requests go and what may be printed of them: base-URL normalisation, REST paths, redaction. Pure."""

from __future__ import annotations

from typing import Dict, List, Mapping, Sequence, Union
from urllib.parse import quote, urlsplit, urlunsplit

from ..errors import InvalidInputError

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
    path = "v2/models/" + segment(model_name, "model_name")
    if model_version:
        path += "/versions/" + segment(str(model_version), "model_version")
    return path
