"""Content-Encoding of bodies: a request body compressed (gzip or deflate) and an answer's body decompressed,
never past a limit (a small hostile body cannot become a large one in memory)."""

from __future__ import annotations

import zlib
from typing import Optional, Sequence

from ..errors import ProtocolError
from .tensors import Buffer

COMPRESSIONS = ("gzip", "deflate")


def compress(parts: Sequence[Buffer], algorithm: str) -> bytes:
    """Compress a request body (this one does join the parts: compression needs the whole)."""
    if algorithm == "gzip":
        packer = zlib.compressobj(wbits=31)
    elif algorithm == "deflate":
        packer = zlib.compressobj()
    else:
        raise ValueError(f"unsupported compression {algorithm!r}; expected one of {COMPRESSIONS}")
    chunks = [packer.compress(part) for part in parts]
    chunks.append(packer.flush())
    return b"".join(chunks)


def decompress(body: Buffer, encoding: Optional[str], limit: Optional[int] = None) -> Buffer:
    """Undo a Content-Encoding (gzip, deflate or identity), never producing more than ``limit`` bytes."""
    if not encoding or encoding == "identity":
        return body
    if encoding not in COMPRESSIONS:
        raise ProtocolError(f"unsupported Content-Encoding {encoding!r}")
    unpacker = zlib.decompressobj(wbits=31 if encoding == "gzip" else 15)
    try:
        if limit is None:
            out = unpacker.decompress(bytes(body)) + unpacker.flush()
            if not unpacker.eof:
                raise ProtocolError(f"the {encoding} body is corrupt: it ends before its stream does")
            return out
        out = unpacker.decompress(bytes(body), limit + 1)
    except zlib.error as exc:
        raise ProtocolError(f"the {encoding} body is corrupt: {exc}") from None
    if len(out) > limit or unpacker.unconsumed_tail:
        raise ProtocolError(f"the {encoding} body decompresses to more than {limit} bytes")
    if not unpacker.eof:
        raise ProtocolError(f"the {encoding} body is corrupt: it ends before its stream does")
    return out


__all__ = ["COMPRESSIONS", "compress", "decompress"]
