"""Reading request bodies with a size limit, before anything parses them."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.types import Receive

from saleor_gordon.errors import WebhookRejected

MAX_BODY_BYTES = 1024 * 1024


async def read_limited_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refused with 413 when it is larger than ``limit`` bytes."""
    return await read_limited_chunks(
        request.headers.get("content-length"), request.stream(), limit=limit
    )


async def read_limited_chunks(
    declared_length: str | None, chunks: AsyncIterable[bytes], *, limit: int = MAX_BODY_BYTES
) -> bytes:
    """The body from its ``chunks``, refused with 413 when the declared length (the
    Content-Length header) or the bytes received exceed ``limit``."""
    if declared_length is not None and declared_length.isdigit() and int(declared_length) > limit:
        raise _too_large(limit)
    received: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        received.append(chunk)
    return b"".join(received)


def _too_large(limit: int) -> WebhookRejected:
    return WebhookRejected(
        "PAYLOAD_TOO_LARGE", f"The body is larger than {limit} bytes.", status_hint=413
    )


async def asgi_body_chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The body chunks of a bare ASGI request, as Starlette's ``Request.stream()`` reads them."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
