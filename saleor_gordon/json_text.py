"""Parsing JSON text: the one function every input of the app goes through.

Files given to the command line, request bodies, Saleor's JWKS and JWS headers, Gordon's answers: all
are read with ``parse_json``, which turns every way ``json.loads`` can fail on hostile or broken text
into one ``JsonUnusable`` with a sentence for a person:

- malformed JSON (``json.JSONDecodeError``), with line and column;
- bytes that are not UTF-8 (``UnicodeDecodeError``);
- nesting so deep that the parser exhausts its stack (``RecursionError``, e.g. ``"[" * 100_000``);
- other ``ValueError`` of the parser, e.g. an integer with more digits than Python converts.

Pure (standard library and ``errors`` only), so the core may use it too (architecture.md, dependency
direction). ``parse_json_object`` reads a request body that must be an object, refusing it with a
coded ``WebhookRejected`` otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from saleor_gordon.errors import WebhookRejected

__all__ = ["JsonUnusable", "parse_json", "parse_json_object"]


class JsonUnusable(ValueError):
    """The text is not usable JSON; ``reason`` completes "<the text> …", e.g. "is not valid JSON (…)"."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def parse_json(
    text: str | bytes,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
) -> object:
    """The JSON value of ``text``.

    Raises:
        JsonUnusable: the text is not usable JSON (see the module docstring), or
            ``object_pairs_hook`` refused an object with a ``ValueError``.
    """
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        raise JsonUnusable(
            f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except UnicodeDecodeError:
        raise JsonUnusable("is not valid JSON: the text is not UTF-8") from None
    except RecursionError:
        raise JsonUnusable("is not usable JSON: it is nested too deeply") from None
    except ValueError as exc:  # e.g. an integer too long to convert, or object_pairs_hook refusing
        raise JsonUnusable(f"is not usable JSON: {exc}") from None


def parse_json_object(body: bytes, *, code: str = "MALFORMED_JSON") -> dict[str, Any]:
    """The JSON object of a request body.

    Raises:
        WebhookRejected: ``code`` (400): the body is not usable JSON, or not an object.
    """
    try:
        parsed = parse_json(body)
    except JsonUnusable as exc:
        raise WebhookRejected(code, f"The body {exc.reason}.", status_hint=400) from exc
    if not isinstance(parsed, dict):
        raise WebhookRejected(code, "The body must be a JSON object.", status_hint=400)
    return parsed
