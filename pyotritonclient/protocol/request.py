"""A request as a value: the method, URL, headers and body parts the client made, which any transport sends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence, Union

Buffer = Union[bytes, bytearray, memoryview]
BodyParts = Sequence[Buffer]


class BadRequest(ValueError):
    """A request that cannot be written as it is (a header that would break the head, a URL of another scheme);
    nothing was sent."""


@dataclass(frozen=True)
class Request:
    """One HTTP request. ``body`` is a sequence of buffers sent back to back, never joined by the client."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: BodyParts = ()

    def body_length(self) -> int:
        """Total number of bytes in the body, without joining it."""
        return body_length(self.body)


def body_length(body: BodyParts) -> int:
    """THE length of a body of parts: the sum of their sizes, without joining them."""
    return sum(memoryview(part).nbytes for part in body)


__all__ = ["BadRequest", "BodyParts", "Buffer", "Request", "body_length"]
