"""HTTP/1.1, sans-I/O: the request head written from a Request value; the response head parsed, the body's
framing decided from it and the request's method, and the body readers as small classes picked from a table
(``READERS``, as h11 does). The asyncio connection (transport/asyncio_connection.py) sends what ``write_head`` makes
and feeds the readers the bytes it receives; tests/test_http11_writer.py and tests/test_http11_differential.py give
the same bytes to h11 and compare.

    head = write_head(request, target_of(request.url))        # then the body parts, as they are
    http11, status, headers = parse_head(head_bytes)          # without the blank line that ends it
    frame = framing(http11, status, headers, limit, method)   # how the body ends, whether the connection stays
    reader = READERS[frame.kind](frame.length, limit)
    pieces = reader.feed(data); reader.done                   # ... reader.eof() when the server closes
"""

from __future__ import annotations

import re
from typing import Dict, List, Mapping, NamedTuple, Optional, Set, Tuple

from .request import BadRequest, Request
from .urls import Target

MAX_HEAD = 64 * 1024  # the status line and headers of one response
MAX_CHUNK_LINE = 1024  # a chunk-size line (with extensions)

_STATUS = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: [\t\x20-\x7e\x80-\xff]*)?")
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,15}")
_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a token (RFC 9110 §5.1)
_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*")  # visible characters, spaces and tabs: no CR, LF or NUL
_FIELD = _NAME.pattern + b":" + _VALUE.pattern
_FIELDS = re.compile(_FIELD + rb"(?:\r\n" + _FIELD + rb")*")  # all the header lines at once: the common case


def safe_header(name: object, value: object) -> bool:
    """THE rule for a header we send: a name and a value that are strings without CR, LF or NUL (one of them
    would let a caller's value end the header and start another: header injection, request smuggling)."""
    return isinstance(name, str) and isinstance(value, str) and not any(c in name or c in value for c in "\r\n\0")


BODY_METHODS = ("POST", "PUT", "PATCH")  # a Content-Length is sent for these even when the body is empty


def write_head(request: Request, target: Target) -> bytes:
    """THE request head: the request line, Host, the caller's headers, then Content-Length (and a default
    Content-Type) when there is a body. A header is written only when its name is a token and its value Latin-1
    text without control characters but tab (so never CR, LF or NUL: ``safe_header``'s rule, and more);
    BadRequest names the first that is not, and nothing is written then."""
    lines = [f"{request.method} {target.path} HTTP/1.1\r\nHost: {target.host}\r\n"]
    typed = False
    for name, value in request.headers.items():
        if not (name in _TOKENS or _is_token(name)) or not (
            type(value) is str
            and value.isascii()
            and value.isprintable()  # (the common case, at C speed)
            or _is_text(value)
        ):
            raise BadRequest(
                f"header {name!r}: a name must be a token and a value Latin-1 text, neither with CR, LF or NUL"
            )
        typed = typed or name.lower() == "content-type"
        lines.append(f"{name}: {value}\r\n")
    if request.body or request.method in BODY_METHODS:
        lines.append(f"Content-Length: {request.body_length()}\r\n")
        if not typed:
            lines.append("Content-Type: application/octet-stream\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


_TOKENS: Set[str] = set()  # header names found to be tokens (names repeat: each is checked once)


def _is_token(name: object) -> bool:
    if not isinstance(name, str) or not name.isascii() or not _NAME.fullmatch(name.encode("ascii")):
        return False
    if len(_TOKENS) < 1024:
        _TOKENS.add(name)
    return True


def _is_text(value: object) -> bool:
    """Latin-1 text without control characters but tab (what the common-case test above leaves out)."""
    if not safe_header("", value):
        return False
    try:
        return _VALUE.fullmatch(str(value).encode("latin-1")) is not None
    except UnicodeEncodeError:
        return False


class BadResponse(Exception):
    """The server's bytes are not a well-formed HTTP/1.1 response."""


class TooLarge(BadResponse):
    """The answer is past the caller's limit (``max_response_bytes``)."""


def parse_head(head: bytes) -> Tuple[bool, int, Dict[str, str]]:
    """(HTTP/1.1?, status, headers by lower-case name) of a head without its final blank line; repeated headers
    are joined with ", " (two different Content-Length values are refused); BadResponse names the first bad line.
    Lines end with CRLF (a bare LF inside a line is refused: it is where response splitting hides); a folded
    line (obs-fold) is refused, as RFC 9112 §5.2 allows."""
    lines = head.split(b"\r\n")
    match = _STATUS.fullmatch(lines[0])
    if match is None:
        raise BadResponse(f"not an HTTP/1.x status line: {lines[0][:80]!r}")
    status = int(match.group(2))
    if status < 100:
        raise BadResponse(f"status {status} is not one of HTTP's (100-999)")
    found: Dict[str, str] = {}
    checked = len(lines) > 1 and _FIELDS.fullmatch(head, len(lines[0]) + 2) is not None
    for line in lines[1:]:
        if checked:  # every line is a token, a colon and a clean value (one match for the whole block)
            name, _, value = line.partition(b":")
            key, text = name.decode("latin-1").lower(), value.strip(b" \t").decode("latin-1")
        else:
            key, text = _field(line, "header")  # names the first bad line
        before = found.get(key)
        if key == "content-length" and before not in (None, text):
            raise BadResponse("two different Content-Length headers")
        found[key] = text if before is None or key == "content-length" else before + ", " + text
    return match.group(1) == b"1", status, found


def _field(line: bytes, what: str) -> Tuple[str, str]:
    """(lower-case name, value) of a header or trailer line; BadResponse unless the name is a token and the value
    holds only visible characters, spaces and tabs."""
    name, sep, value = line.partition(b":")
    if not sep or not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
        raise BadResponse(f"bad {what} line {line[:80]!r}")
    return name.decode("latin-1").lower(), value.strip(b" \t").decode("latin-1")


def _take_line(pending: bytearray, limit: int, too_long: str) -> Optional[bytes]:
    """The next CRLF-ended line taken off ``pending`` (without its CRLF), or None until it has all come."""
    end = pending.find(b"\r\n")
    if end < 0:
        if len(pending) > limit:
            raise BadResponse(too_long)
        return None
    line = bytes(pending[:end])
    del pending[: end + 2]
    return line


class Framing(NamedTuple):
    """How a response's body ends: ``kind`` "length" (``length`` bytes), "chunked" or "close" (when the
    server closes); ``keep_alive``: the connection can carry the next request afterwards."""

    kind: str
    length: int
    keep_alive: bool


def framing(http11: bool, status: int, headers: Mapping[str, str], limit: int, method: str = "GET") -> Framing:
    """The body's framing from the head and the request's method (RFC 9112 §6.3): no body for the answer to a
    HEAD nor for 1xx/204/304, then Transfer-Encoding
    chunked, then Content-Length (checked whenever it is there), else until the server closes. A length past
    ``limit`` is refused before any byte of the body is read (TooLarge)."""
    options = {token.strip() for token in (headers.get("connection") or "").lower().split(",")}
    keep_alive = "close" not in options and (http11 or "keep-alive" in options)  # ("close" wins over all)
    # Both framing headers are checked even where they are not used: a bad one is a sign of smuggling.
    text = headers.get("content-length")
    if text is not None and (not text.isdigit() or not text.isascii() or len(text) > 40):
        raise BadResponse(f"bad Content-Length {text[:40]!r}")
    encoding = (headers.get("transfer-encoding") or "").lower()
    if encoding and encoding != "chunked":
        raise BadResponse(f"unsupported Transfer-Encoding {encoding!r}")
    if status in (204, 304) or 100 <= status < 200 or method == "HEAD":
        return Framing("length", 0, keep_alive)  # never a body, whatever the headers say
    if encoding:
        return Framing("chunked", 0, keep_alive)
    if text is not None:
        length = int(text)
        if length > limit:
            raise TooLarge(f"the answer is {length} bytes, more than max_response_bytes ({limit})")
        return Framing("length", length, keep_alive)
    return Framing("close", 0, False)


class Reader:
    """A body reader: ``feed`` returns the body's bytes found in ``data`` (in order), ``done`` says the body is
    complete, ``eof`` is called when the server closed the connection (BadResponse if the body was cut)."""

    def __init__(self, length: int, limit: int) -> None:
        self.length = length
        self.limit = limit
        self.size = 0  # body bytes handed out so far
        self.done = False

    def feed(self, data: bytes) -> List[bytes]:
        """The body bytes in ``data``."""
        raise NotImplementedError

    def eof(self) -> None:
        """The server closed the connection: fine only when the body is complete."""
        if not self.done:
            raise BadResponse("the server closed the connection in the middle of the body")

    def _counted(self, piece: bytes) -> bytes:
        self.size += len(piece)
        if self.size > self.limit:
            raise TooLarge(f"the answer is more than max_response_bytes ({self.limit})")
        return piece


class LengthReader(Reader):
    """A body of Content-Length bytes; a byte more is refused (nothing is pipelined on these connections)."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(length, limit)
        self.done = length == 0

    def feed(self, data: bytes) -> List[bytes]:
        """The body bytes in ``data``; BadResponse for bytes past the length."""
        if len(data) > self.length - self.size:
            raise BadResponse("more bytes than Content-Length")
        if not data:
            return []
        piece = self._counted(data)
        self.done = self.size == self.length
        return [piece]


SIZE_LINE, CHUNK_DATA, TRAILERS = "a size line", "a chunk's data", "the trailers"  # a chunked body's parts


class ChunkedReader(Reader):
    """``Transfer-Encoding: chunked``: size lines (extensions ignored), chunks each ending in CRLF, a zero-size
    chunk, trailers (skipped), a blank line. ``partial``: hand out the part of a chunk that has come (streams)."""

    def __init__(self, length: int, limit: int, partial: bool = False) -> None:
        super().__init__(length, limit)
        self.partial = partial
        self._pending = bytearray()
        self._next = SIZE_LINE  # what the bytes to come are: a size line, a chunk's data, or the trailers
        self._left = 0  # bytes of the current chunk still to come (its CRLF not counted)

    def feed(self, data: bytes) -> List[bytes]:
        """The body bytes in ``data``; BadResponse names what is malformed."""
        if self.done:
            if data:
                raise BadResponse("bytes after the end of a chunked body")
            return []
        pending = self._pending
        pending += data
        out: List[bytes] = []
        while not self.done:
            if self._next == SIZE_LINE:
                line = _take_line(pending, MAX_CHUNK_LINE, "chunk size line too long")
                if line is None:
                    break
                size = line.split(b";", 1)[0].strip(b" \t")
                if not _CHUNK_SIZE.fullmatch(size) or b"\n" in line:  # (extensions are ignored)
                    raise BadResponse(f"bad chunk size {size[:20]!r}")
                self._left = int(size, 16)
                self._next = CHUNK_DATA if self._left else TRAILERS
                if self.size + self._left > self.limit:  # refused on its declared size, before it is buffered
                    raise TooLarge(f"the answer is more than max_response_bytes ({self.limit})")
            elif self._next == TRAILERS:
                line = _take_line(pending, MAX_HEAD, "trailers too long")
                if line is None:
                    break
                if not line:
                    self.done = True
                    if pending:
                        raise BadResponse("bytes after the end of a chunked body")
                    break
                _field(line, "trailer")  # a trailer: skipped, but well-formed
            elif len(pending) >= self._left + 2:
                if pending[self._left : self._left + 2] != b"\r\n":
                    raise BadResponse("a chunk does not end with CRLF")
                if self._left:
                    out.append(self._counted(bytes(pending[: self._left])))
                del pending[: self._left + 2]
                self._next, self._left = SIZE_LINE, 0
            else:
                if self.partial and pending and self._left:
                    take = min(len(pending), self._left)
                    out.append(self._counted(bytes(pending[:take])))
                    del pending[:take]
                    self._left -= take
                break
        return out


class CloseReader(Reader):
    """A body without a length: everything until the server closes the connection."""

    def feed(self, data: bytes) -> List[bytes]:
        """All of ``data`` (bounded by the limit)."""
        return [self._counted(data)] if data else []

    def eof(self) -> None:
        """The end of the body."""
        self.done = True


READERS = {"length": LengthReader, "chunked": ChunkedReader, "close": CloseReader}

__all__ = [
    "BODY_METHODS",
    "MAX_HEAD",
    "READERS",
    "BadResponse",
    "ChunkedReader",
    "CloseReader",
    "Framing",
    "LengthReader",
    "Reader",
    "TooLarge",
    "framing",
    "parse_head",
    "safe_header",
    "write_head",
]
