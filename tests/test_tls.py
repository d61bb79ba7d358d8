"""TLS options against the real Triton behind a TLS-terminating TCP proxy (Triton's HTTP port has no TLS).

The proxy forwards bytes unchanged, so every request below is answered by the real server.
"""

from __future__ import annotations

import asyncio
import ssl

import pytest
import trustme

from pyotritonclient.errors import UnavailableError
from pyotritonclient.http import InferenceServerClient, InferenceServerException


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def start_tls_proxy(target: str, server_context: ssl.SSLContext) -> asyncio.AbstractServer:
    host, port = target.rsplit(":", 1)

    async def handle(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer))

    return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)


@pytest.fixture
def ca():
    return trustme.CA()


@pytest.fixture
async def proxy(triton, ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = await start_tls_proxy(triton.url, context)
    port = server.sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}", context
    server.close()


async def test_verification_against_a_ca_file(proxy, ca, tmp_path):
    url, _ = proxy
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    async with InferenceServerClient(url, ssl=True, ssl_options={"ca_certs": str(ca_file)}) as client:
        assert client.url.startswith("https://")
        assert (await client.get_server_metadata())["name"] == "triton"


async def test_an_untrusted_certificate_is_refused_and_named(proxy):
    url, _ = proxy
    async with InferenceServerClient(url, ssl=True, conn_timeout=5) as client:
        with pytest.raises(InferenceServerException) as info:
            await client.is_server_live()
    assert info.value.status() == "UNAVAILABLE"
    assert f"https://{url}/v2/health/live" in str(info.value)
    assert "certificate" in str(info.value).lower()


async def test_insecure_skips_verification(proxy):
    url, _ = proxy
    async with InferenceServerClient(url, ssl=True, insecure=True) as client:
        assert await client.is_server_ready()


async def test_an_ssl_context_and_a_client_certificate(proxy, ca, tmp_path):
    url, server_context = proxy
    server_context.verify_mode = ssl.CERT_REQUIRED  # the proxy now demands a client certificate
    ca.configure_trust(server_context)
    context = ssl.create_default_context()
    ca.configure_trust(context)
    async with InferenceServerClient(url, ssl=True, ssl_context=context, conn_timeout=5) as client:
        with pytest.raises(UnavailableError, match=r"\[UNAVAILABLE\] .*v2/health/live"):
            await client.is_server_live()  # no client certificate: the handshake fails
    leaf = ca.issue_cert("client@example.org")
    cert, key = tmp_path / "client.pem", tmp_path / "client.key"
    for blob in leaf.cert_chain_pems:
        with open(cert, "ab") as f:
            f.write(blob.bytes())
    leaf.private_key_pem.write_to_path(str(key))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    options = {"ca_certs": str(ca_file), "certfile": str(cert), "keyfile": str(key)}
    async with InferenceServerClient(url, ssl=True, ssl_options=options) as client:
        assert await client.is_server_live()
