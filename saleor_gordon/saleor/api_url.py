"""Checking the ``Saleor-Api-Url`` header before anything uses it as a URL."""

from __future__ import annotations

import functools
from typing import Final
from urllib.parse import urlsplit

MAX_SALEOR_API_URL_CHARS: Final = 2048


@functools.lru_cache(maxsize=1024)  # a shop sends the same value with every request
def saleor_api_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be a Saleor API URL (a clause after "the header"), or None if it can."""
    if len(value) > MAX_SALEOR_API_URL_CHARS:
        return f"is longer than {MAX_SALEOR_API_URL_CHARS} characters"
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number in 0-65535
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "is not an absolute http(s) URL"
    # Every whitespace character but " " is also not printable.
    if " " in value or not value.isprintable():
        return "contains spaces or control characters"
    return None
