"""Reading request bodies with a size limit, before anything parses them."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from saleor_gordon.errors import WebhookRejected
from saleor_gordon.json_text import JsonUnusable, parse_json

MAX_BODY_BYTES = 1024 * 1024


async def read_limited_body(request: Request, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """The raw body, refused with 413 when it is larger than ``limit`` bytes."""
    too_large = WebhookRejected(
        "PAYLOAD_TOO_LARGE", f"The body is larger than {limit} bytes.", status_hint=413
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(body: bytes, *, code: str = "MALFORMED_JSON") -> dict[str, Any]:
    try:
        parsed = parse_json(body)
    except JsonUnusable as exc:
        raise WebhookRejected(code, f"The body {exc.reason}.", status_hint=400) from exc
    if not isinstance(parsed, dict):
        raise WebhookRejected(code, "The body must be a JSON object.", status_hint=400)
    return parsed
