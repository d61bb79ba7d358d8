"""Our HTTP/1.1 response reader against h11's, fed the same random and hostile bytes (tests/http11_oracle.py).

Where both take a response they must read the same status, headers and body; we may refuse more than h11 only
where docs/architecture.md says so (a version other than 1.0/1.1, bare LF line ends, folded lines, control
characters in the head); we must never take what h11 refuses. The sans-I/O parser is fed the bytes cut at
random places; the real transport gets them from a socket. ``./dev fuzz`` runs many more cases
(PYOTRITON_FUZZ_CASES)."""

from __future__ import annotations

import os
import random
import socket

import pytest
from http11_oracle import compare, hostile_response, oracle, splits_for, stricter_by_design, valid_response
from loopback import LoopbackServer

from pyotritonclient.transport import Deadline, Request, TransportError
from pyotritonclient.transport.asyncio_http11 import Http11Transport

CASES = int(os.environ.get("PYOTRITON_FUZZ_CASES", "3000"))


@pytest.mark.parametrize("seed", range(4))
def test_the_sans_io_reader_agrees_with_h11(seed):
    rng = random.Random(seed)
    verdicts = {"ok": 0, "bad": 0}
    for case in range(CASES):
        data = (valid_response if case % 3 == 0 else hostile_response)(rng)
        differs = compare(data, splits_for(data, rng))
        assert not differs, f"seed {seed}, case {case}: {differs}\n{data!r}"
        verdicts[oracle(data)[0]] += 1
    assert verdicts["ok"] > CASES // 4 and verdicts["bad"] > CASES // 4, verdicts  # both kinds were tried


def test_well_formed_answers_are_read_alike_in_every_cut():
    """Valid answers only: h11 takes each, and so do we, cut anywhere."""
    rng = random.Random(99)
    for _ in range(CASES // 3):
        data = valid_response(rng)
        assert oracle(data)[0] == "ok", data
        assert not compare(data, splits_for(data, rng)), data


class Replay(LoopbackServer):
    """Answers each request with the bytes it is given, in pieces, then closes the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.answer = b""
        self.cuts: list = []

    def serve(self, connection: socket.socket) -> None:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = b""
        while b"\r\n\r\n" not in request:
            more = connection.recv(65536)
            if not more:
                return
            request += more
        data, cuts = self.answer, self.cuts
        for start, end in zip([0, *cuts], [*cuts, len(data)]):
            connection.sendall(data[start:end])
        connection.shutdown(socket.SHUT_WR)
        connection.close()


async def test_the_transport_reads_from_a_socket_what_h11_reads():
    """The connection's own path (a body of known length received in place, chunked and until-close bodies,
    connection handling) on the same bytes, through a real socket."""
    server = Replay()
    rng = random.Random(7)
    try:
        for case in range(min(CASES // 10, 400)):
            data = (valid_response if case % 2 == 0 else hostile_response)(rng)
            server.answer, server.cuts = data, splits_for(data, rng)
            expected = oracle(data, trailing="trailing")
            transport = Http11Transport(network_timeout=30)  # a connection of its own: stray bytes of an
            try:  # earlier answer would otherwise meet the next request
                response = await transport.send(Request("GET", f"{server.url}/v2"), Deadline())
            except TransportError:
                refused = expected[0] in ("bad", "trailing") or stricter_by_design(data)
                assert refused, f"case {case}: we refused {data!r}"
                continue
            finally:
                await transport.close()
            # (bytes after a complete answer: it is returned, and the connection is dropped when they come)
            assert expected[0] in ("ok", "trailing"), f"case {case}: we took what h11 refuses: {data!r}"
            status, _, body = expected[1]
            assert (response.status, bytes(response.body)) == (status, body), f"case {case}: {data!r}"
    finally:
        server.close()
