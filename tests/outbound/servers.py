"""Servers on loopback that play the other side of an outbound call: an internal service, a
Saleor or Gordon that answers too much, too slowly, or not HTTP at all.

Each is a plain asyncio server in the test's event loop (``async with serving(behaviour) as
server``) that counts what reached it: connections, the request heads and bodies, the bytes it
managed to send. ``server.url`` is ``http://127.0.0.1:<port>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Behaviour = Callable[["Server", asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]

CHUNK = 64 * 1024


@dataclass
class Request:
    head: str
    body: bytes

    @property
    def line(self) -> str:
        return self.head.split("\r\n", 1)[0]

    def header(self, name: str) -> str | None:
        for line in self.head.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None


@dataclass
class Server:
    behaviour: Behaviour
    port: int = 0
    connections: int = 0
    open_connections: int = 0
    most_open: int = 0
    requests: list[Request] = field(default_factory=list)
    sent: int = 0
    """Body bytes written before the client went away."""
    writers: list[asyncio.StreamWriter] = field(default_factory=list, repr=False)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    """Notified whenever a connection opens or closes."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        self.connections += 1
        self.open_connections += 1
        self.most_open = max(self.most_open, self.open_connections)
        await self._notify()
        try:
            await self.behaviour(self, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the app hung up: what these servers are for
        finally:
            self.open_connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            await self._notify()

    async def wait_for(self, predicate: Callable[[], bool], *, seconds: float = 5.0) -> None:
        """Until ``predicate()`` holds, checked whenever a connection opens or closes."""
        async with asyncio.timeout(seconds), self.changed:
            await self.changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    async def read_request(self, reader: asyncio.StreamReader) -> Request:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request = Request(head, b"")
        length = int(request.header("content-length") or 0)
        request.body = await reader.readexactly(length) if length else b""
        self.requests.append(request)
        return request

    async def write(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.sent += len(data)


@contextlib.asynccontextmanager
async def serving(
    behaviour: Behaviour, *, tls: ssl.SSLContext | None = None
) -> AsyncIterator[Server]:
    server = Server(behaviour)
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        try:
            await server.handle(reader, writer)
        except asyncio.CancelledError:
            # Only this context's end cancels it; Python 3.11's streams would log a cancelled
            # connection task as an error ("Exception in callback").
            return
        finally:
            tasks.discard(task)

    listener = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    server.port = listener.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        listener.close()
        for task in list(tasks):
            task.cancel()
        for writer in server.writers:  # no TLS close handshake with a client that may be gone
            writer.transport.abort()
        await asyncio.gather(*tasks, return_exceptions=True)
        await listener.wait_closed()


def response_head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def answer(
    body: bytes | dict[str, object] = b"{}",
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Behaviour:
    """Answers every request on the connection with ``body`` (JSON for a dict)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body

    async def behave(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        while True:
            await server.read_request(reader)
            fields = {"Content-Type": "application/json", "Content-Length": str(len(data))}
            writer.write(response_head(status, {**fields, **(headers or {})}))
            await server.write(writer, data)

    return behave


def internal_service(text: bytes = b"INTERNAL-ONLY db_password=hunter2") -> Behaviour:
    """What an attacker would like the app to reach: answers 500 with secrets in plain text."""
    return answer(text, status=500, headers={"Content-Type": "text/plain"})


def huge(total: int, *, declared: bool) -> Behaviour:
    """Answers 200 with ``total`` bytes of JSON-looking text, with or without Content-Length."""

    async def behave(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read_request(reader)
        fields = {"Content-Type": "application/json"}
        fields.update({"Content-Length": str(total)} if declared else {"Connection": "close"})
        writer.write(response_head(200, fields))
        block = b"[" + b"1," * (CHUNK // 2 - 1) + b"1"
        left = total
        while left > 0:
            piece = block[: min(left, len(block))]
            await server.write(writer, piece)
            left -= len(piece)

    return behave


def trickle(every: float, *, total: int = 1000) -> Behaviour:
    """Answers 200, then one byte of its body every ``every`` seconds."""

    async def behave(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read_request(reader)
        writer.write(
            response_head(200, {"Content-Type": "application/json", "Content-Length": str(total)})
        )
        await writer.drain()
        for _ in range(total):
            await asyncio.sleep(every)
            await server.write(writer, b" ")

    return behave


def silent() -> Behaviour:
    """Reads the request and never answers; ends when the client hangs up."""

    async def behave(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read_request(reader)
        while await reader.read(65536):
            pass  # anything more is not answered either

    return behave


def not_http() -> Behaviour:
    """Answers something that is not HTTP, then hangs up (an SSH or Redis port, say)."""

    async def behave(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read_request(reader)
        await server.write(writer, b"SSH-2.0-OpenSSH_9.2 internal-host\r\n")

    return behave


def gzip_bomb(unpacked: int) -> Behaviour:
    """Answers a small gzip body that unpacks to ``unpacked`` bytes, whatever was asked for."""
    packed = gzip.compress(b"0" * unpacked)

    async def behave(
        server: Server, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await server.read_request(reader)
        writer.write(
            response_head(
                200,
                {
                    "Content-Type": "application/json",
                    "Content-Encoding": "gzip",
                    "Content-Length": str(len(packed)),
                },
            )
        )
        await server.write(writer, packed)

    return behave


def tls_for(name: str, directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context with a certificate for ``name`` from a throwaway CA, and the CA's
    certificate file (what a client must trust)."""
    now = datetime.now(UTC)

    def certificate(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name, signer: Any, ca: bool
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        if ca:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        else:
            usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.add_extension(usage, critical=True).sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = certificate("test CA", ca_key, ca_name, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate(name, key, ca_name, ca_key, False)
    pem = serialization.Encoding.PEM
    ca_file, chain_file, key_file = (directory / f for f in ("ca.pem", "chain.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(pem))
    chain_file.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    key_file.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain_file, key_file)
    return context, ca_file
