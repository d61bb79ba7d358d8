"""Incremental server-sent-events parser (what /generate_stream answers with).

Feed it bytes as they arrive; it returns each complete event as soon as its
terminating blank line has been seen. Handles \\n, \\r\\n and \\r line endings,
multi-line data fields, comments and events split across any chunk boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

from ..errors import ProtocolError

MAX_EVENT_BYTES = 64 * 1024 * 1024  # one event (or one unfinished line) may not hold more: a server that never
# ends its lines must not make the client buffer without end
_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass
class Event:
    """One server-sent event: data, event type, id and retry."""

    data: str
    event: str = "message"
    id: Optional[str] = None
    retry: Optional[int] = None


class SSEParser:
    """Incremental server-sent-events parser: ``feed(bytes)`` returns the events completed so far; size-capped."""

    def __init__(self, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self.max_event_bytes = max_event_bytes
        self._size = 0  # bytes of data held for the event being read
        self._buffer = bytearray()  # bytes not yet split into lines
        self._scan = 0  # where the search for the next line end resumes
        self._data: List[str] = []
        self._event = ""
        self._id: Optional[str] = None
        self._retry: Optional[int] = None

    def feed(self, chunk: bytes) -> List[Event]:
        """Add bytes; return the events completed by them. Linear: each byte is scanned once."""
        self._buffer += chunk
        events: List[Event] = []
        start = 0  # where the current line begins in the buffer
        while True:
            match = _EOL.search(self._buffer, self._scan)
            if match is None or (match.group() == b"\r" and match.end() == len(self._buffer)):
                # No full line yet (a final \r may be the start of \r\n): the next search starts here.
                self._scan = len(self._buffer) if match is None else match.start()
                break
            event = self._line(bytes(self._buffer[start : match.start()]).decode("utf-8", "replace"))
            start = self._scan = match.end()
            if event is not None:
                events.append(event)
        del self._buffer[:start]
        self._scan -= start
        if len(self._buffer) > self.max_event_bytes:
            raise ProtocolError(f"a server-sent event line is longer than {self.max_event_bytes} bytes")
        return events

    def close(self) -> List[Event]:
        """End of stream: a last event without its blank line is still delivered."""
        events = self.feed(b"\n\n") if self._buffer else []
        if self._data:
            events += self.feed(b"\n")
        return events

    def _line(self, line: str) -> Optional[Event]:
        if line == "":
            if not self._data and not self._event:
                return None
            event = Event("\n".join(self._data), self._event or "message", self._id, self._retry)
            self._data, self._event, self._size = [], "", 0
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._size += len(value) + 1
            if self._size > self.max_event_bytes:
                raise ProtocolError(f"a server-sent event holds more than {self.max_event_bytes} bytes of data")
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None
