"""An HTTP/1.x response head (status line and headers) parsed from its bytes: a pure function, every line checked."""

from __future__ import annotations

import re
from typing import Dict, Tuple

from .base import Headers

_STATUS = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: [^\r\n]*)?")


class BadResponse(Exception):
    """The server's bytes are not a well-formed HTTP/1.1 response."""


def parse_head(head: bytes) -> Tuple[bool, int, Headers]:
    """(HTTP/1.1?, status, headers) of a head without its final blank line; repeated headers are joined with
    ", " (two different Content-Length values are refused); BadResponse names the first bad line."""
    lines = head.split(b"\r\n")
    match = _STATUS.fullmatch(lines[0])
    if match is None:
        raise BadResponse(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    found: Dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip() or b" " in name:
            raise BadResponse(f"bad header line {line[:80]!r}")
        key = name.decode("latin-1").lower()
        text = value.strip().decode("latin-1")
        before = found.get(key)
        if key == "content-length" and before not in (None, text):
            raise BadResponse("two different Content-Length headers")
        found[key] = text if before is None or key == "content-length" else before + ", " + text
    return match.group(1) == b"1", int(match.group(2)), Headers.of_lowered(found)


__all__ = ["BadResponse", "parse_head"]
