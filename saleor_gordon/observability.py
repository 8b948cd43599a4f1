"""Logging setup and the helpers that keep secrets and customer data out of logs.

The app's own log lines name orders by ID and number only. What it does not write itself (the text
of an unexpected error, a library's message) goes through ``MaskingFormatter``, which every entry
point installs with ``configure_logging``: e-mail addresses and phone numbers are masked in the
message and in the traceback (issue 8, defect 4). Names cannot be recognised in free text.
"""

from __future__ import annotations

import copy
import logging
import re
from types import TracebackType
from urllib.parse import urlsplit, urlunsplit

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# local@domain.tld
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# +46 70 228 68 10 / +46702286810 (international) and 070-228 68 10 / 0702286810 (national, trunk 0)
_PHONE = re.compile(r"(?<![\w+])(?:\+\d(?:[ -]?\d){6,14}|0\d(?:[ -]?\d){6,11})(?!\w)")

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def configure_logging(level: int) -> None:
    """Send the app's logs to stderr at ``level``, customer data masked; quiet chatty libraries."""
    handler = logging.StreamHandler()
    handler.setFormatter(MaskingFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("httpx", "httpcore", "gql", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def mask_customer_data(text: str) -> str:
    """``text`` with every e-mail address and phone number masked (``mask_email``, ``mask_phone``)."""
    text = _EMAIL.sub(lambda found: mask_email(found.group()), text)
    return _PHONE.sub(lambda found: mask_phone(found.group()), text)


class MaskingFormatter(logging.Formatter):
    """A formatter that masks customer data in the message, the traceback and the stack."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        masked = mask_customer_data(message)
        if masked != message:  # other handlers (and the caller's record) keep the original
            record = copy.copy(record)
            record.msg, record.args = masked, None
        return super().format(record)

    def formatException(self, ei: _ExcInfo) -> str:  # noqa: N802 - logging's name
        return mask_customer_data(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return mask_customer_data(super().formatStack(stack_info))


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
