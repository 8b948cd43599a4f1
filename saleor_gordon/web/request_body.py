"""Reading request bodies with a size limit, before anything parses them."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request

from saleor_gordon.errors import WebhookRejected

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
        parsed = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookRejected(code, f"The body is not valid JSON: {exc}", status_hint=400) from exc
    except RecursionError as exc:  # "[" * 100_000 exhausts the parser's stack
        raise WebhookRejected(
            code, "The body is not usable JSON: it is nested too deeply.", status_hint=400
        ) from exc
    if not isinstance(parsed, dict):
        raise WebhookRejected(code, "The body must be a JSON object.", status_hint=400)
    return parsed
