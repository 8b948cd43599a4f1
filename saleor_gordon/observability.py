"""Logging setup and the helpers that keep secrets and customer data out of logs."""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(level: int) -> None:
    """Send the app's logs to stderr at ``level``; quiet chatty libraries."""
    logging.basicConfig(level=level, format=LOG_FORMAT, force=True)
    for noisy in ("httpx", "httpcore", "gql", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def mask_email(email: str | None) -> str:
    """``anna.svensson@example.com`` -> ``a***@example.com``."""
    if not email:
        return ""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def mask_phone(phone: str | None) -> str:
    """Keep the last two digits only: ``+46702286810`` -> ``***10``."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    return "***" + digits[-2:]


def mask_name(name: str | None) -> str:
    """Initials only: ``Anna Svensson`` -> ``A. S.``."""
    if not name:
        return ""
    return " ".join(part[:1] + "." for part in name.split())


def sanitize_url(url: str) -> str:
    """Drop credentials, query string and fragment from a URL before it is logged or shown.

    Never raises: a URL that cannot be parsed (bad port, unbalanced IPv6 bracket) is replaced by a
    placeholder rather than echoed, since it may still carry credentials.
    """
    try:
        parts = urlsplit(url)
        if not parts.netloc:  # sqlite:///path and the like carry no credentials
            return url
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparsable URL>"
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    if port is not None:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
