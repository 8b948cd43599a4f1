"""Logging setup and the helpers that keep secrets and customer data out of logs.

The app's own log lines name orders by ID and number only. What it does not write itself (the text
of an unexpected error, a library's message) goes through ``MaskingFormatter``, which every entry
point installs with ``configure_logging``: e-mail addresses and phone numbers are masked in the
message and in the traceback. Names cannot be recognised in free text. A message is one line:
the control characters of text from outside (a line break in Saleor's error message, a terminal
escape) are written escaped (``\\n``, ``\\x1b``), so such text cannot forge a log line, and a
message or field longer than ``MAX_SHOWN_CHARS`` (a Saleor's error text, a key id a request
claims) is cut there, saying how much was left out, so nobody can fill the logs through it.

Two formats (``SALEOR_GORDON_LOG_FORMAT``): ``console``, one readable line per record, and
``json``, one JSON object per line (``JsonFormatter``) with the stable dotted event name that
starts every message of the app (``webhook.accepted``, ``job.crashed``) and the ``key=value``
fields of the message (``job_id``, ``order_id``, ``saleor_api_url``...) as fields of the object.
Unset, the format is ``console`` when stderr is a terminal and ``json`` otherwise.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import sys
from datetime import UTC, datetime
from functools import lru_cache
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# local@domain.tld
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
# +46 70 228 68 10 / +46702286810 (international) and 070-228 68 10 / 0702286810 (national, trunk 0)
_PHONE = re.compile(r"(?<![\w+])(?:\+\d(?:[ -]?\d){6,14}|0\d(?:[ -]?\d){6,11})(?!\w)")

# line breaks (also U+2028/U+2029), tabs, escape sequences and the other C0/C1 control characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

MAX_SHOWN_CHARS = 2_000
"""The most of a log message, or of one of its fields, a log line shows (``_shown``)."""
MAX_SHOWN_TRACEBACK_CHARS = 20_000
"""The most of a traceback a log line shows: the app's deepest stack is a few thousand
characters; the rest would be an exception's text from outside."""

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


LogFormat = Literal["json", "console"]

# the first word of a message when it is a dotted event name: webhook.accepted, job.retry_scheduled
_EVENT = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+")
# key=value pairs in a message's text, whoever wrote them (job_id=42, Saleor's "Token=abc"): the
# word after a key named like a credential is hidden even when the format string names no field
_FIELD = re.compile(r"(?<![\w.-])([A-Za-z][\w-]*)=(\S+)")
# a conversion of a %-format string: %s, %d, %.1f, %r, %% (which converts nothing)
_CONVERSION = re.compile(r"%(?:\(\w+\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
# the name a format string gives the conversion right after it: "job_id=" of "job_id=%s"
_FIELD_NAME = re.compile(r"(?<![\w.])([a-z][a-z0-9_]*)=\Z")
_WHITESPACE = re.compile(r"\s")
# fields that could carry a credential are never echoed, whatever a message puts there
_SECRET_WORDS = ("token", "secret", "password", "passwd", "authorization", "api_key", "credential")
_RESERVED = frozenset({"time", "level", "event", "logger", "message", "exc", "stack"})


def configure_logging(level: int, log_format: LogFormat | None = None) -> None:
    """Send the app's logs (uvicorn's too) to stderr at ``level``, customer data masked, in
    ``log_format`` (unset: console on a terminal, json otherwise); quiet chatty libraries."""
    if log_format is None:
        log_format = "console" if sys.stderr.isatty() else "json"
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else MaskingFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for noisy in ("httpx", "httpcore", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # through the same handler
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True


def one_line(text: str) -> str:
    """``text`` with its control characters escaped as Python writes them: ``\\n``, ``\\x1b``."""
    return _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def mask_customer_data(text: str) -> str:
    """``text`` with every e-mail address and phone number masked (``mask_email``, ``mask_phone``)."""
    text = _EMAIL.sub(lambda found: mask_email(found.group()), text)
    return _PHONE.sub(lambda found: mask_phone(found.group()), text)


class MaskingFormatter(logging.Formatter):
    """A formatter that masks customer data in the message, the traceback and the stack, shows a
    field named like a credential (``token=``, ``client_secret=``...) as ``***`` and writes the
    message as one line (``one_line``)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        masked = _shown_message(message, _named_values(record, secrets_only=True))
        if masked != message:  # other handlers (and the caller's record) keep the original
            record = copy.copy(record)
            record.msg, record.args = masked, None
        return super().format(record)

    def formatException(self, ei: _ExcInfo) -> str:  # noqa: N802 - logging's name
        return _cut(mask_customer_data(super().formatException(ei)), MAX_SHOWN_TRACEBACK_CHARS)

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return mask_customer_data(super().formatStack(stack_info))


class JsonFormatter(MaskingFormatter):
    """One JSON object per record: ``time`` (ISO 8601, UTC), ``level``, ``event``, ``logger``,
    ``message``, the ``key=value`` fields its format string names (``_named_values``), ``exc``
    (the traceback) and ``stack``.

    Everything is masked as by ``MaskingFormatter``; a field named like a credential (``token``,
    ``secret``...) shows as ``***``, in the message too.
    """

    def format(self, record: logging.LogRecord) -> str:
        named = _named_values(record)
        message = _shown_message(record.getMessage(), named)
        first = message.split(" ", 1)[0]
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "event": first if _EVENT.fullmatch(first) else record.name,
            "logger": record.name,
            "message": message,
        }
        for key, value in named.items():
            if key not in _RESERVED and key not in entry:
                entry[key] = "***" if _names_a_secret(key) else _shown(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = _cut(mask_customer_data(record.exc_text), MAX_SHOWN_TRACEBACK_CHARS)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _shown_message(message: str, named: dict[str, str]) -> str:
    """A record's ``message`` as a log line shows it: the whole value of a field named like a
    credential (``named``: its format string's fields) replaced by ``***`` (and, should its format
    string not name it, the word after such a ``key=``), customer data masked, one line."""
    for key, value in named.items():
        if _names_a_secret(key):
            message = message.replace(f"{key}={value}", f"{key}=***")
    shown = _shown(message)
    # most lines name no credential at all: one search instead of a look at every field
    return _FIELD.sub(_hide_secret_field, shown) if _mentions_a_secret(shown) else shown


def _shown(text: str) -> str:
    """``text`` masked, on one line, at most ``MAX_SHOWN_CHARS`` long."""
    return _cut(one_line(mask_customer_data(text)), MAX_SHOWN_CHARS)


def _cut(text: str, limit: int) -> str:
    """``text`` up to ``limit`` characters, then how many more there were. Masked first: a cut
    through an e-mail address must not leave the part the mask would have hidden."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit} more characters)"


def _named_values(record: logging.LogRecord, *, secrets_only: bool = False) -> dict[str, str]:
    """The fields the app's format string names, each with the value its arguments give: for
    ``"reconcile.failed installation_id=%s error=%s"``, ``installation_id`` and ``error``, the
    whole of the error's text (as given: ``_shown`` masks it). What the format string writes right after a
    conversion belongs to the value (``retry_in=%.1fs``: ``2.5s``; ``listen=%s:%s``:
    ``127.0.0.1:8000``), up to a space; a trailing ``,;:`` does not.

    Only the format string names fields: text from outside in an argument (Saleor's error message
    saying ``job_id=999``) adds none. A record without arguments (its message written by whoever
    logged it) has no fields. ``secrets_only``: only the fields named like a credential.
    """
    template, args = record.msg, record.args
    if not isinstance(template, str) or not isinstance(args, tuple) or not args:
        return {}
    named = _template_fields(template, len(args))
    if named is None:
        return {}
    fields: dict[str, str] = {}
    for name, piece, first, taken in named:
        if secrets_only and not _names_a_secret(name):
            continue
        try:
            value = piece % args[first : first + taken]
        except (TypeError, ValueError):
            continue
        fields[name] = value.rstrip(",;:")
    return fields


@lru_cache(maxsize=1024)
def _template_fields(template: str, arguments: int) -> tuple[tuple[str, str, int, int], ...] | None:
    """Where ``template`` names fields (``_named_values``), worked out once per format string:
    each field's name, the piece of the template that writes its value, the index of its first
    argument and how many it takes. None when the template's conversions do not match
    ``arguments`` or cannot be told apart (``%*d``, ``%(name)s``)."""
    conversions = [c for c in _CONVERSION.finditer(template) if c.group() != "%%"]
    if len(conversions) != arguments or any(
        "*" in c.group() or c.group().startswith("%(") for c in conversions
    ):
        return None
    named: list[tuple[str, str, int, int]] = []
    for index, conversion in enumerate(conversions):
        name = _FIELD_NAME.search(template, 0, conversion.start())
        if name is None:
            continue
        space = _WHITESPACE.search(template, conversion.end())
        end = space.start() if space is not None else len(template)
        taken = sum(1 for c in conversions[index:] if c.start() < end)
        named.append((name.group(1), template[conversion.start() : end], index, taken))
    return tuple(named)


@lru_cache(maxsize=1024)
def _names_a_secret(key: str) -> bool:
    """Whether a field named ``key`` could carry a credential (``token``, ``client_secret``...)."""
    return _mentions_a_secret(key)


def _mentions_a_secret(text: str) -> bool:
    """Whether ``text`` has one of the words of a credential's name, in any case."""
    lowered = text.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def _hide_secret_field(found: re.Match[str]) -> str:
    key, value = found.groups()
    if not _names_a_secret(key):
        return found.group()
    return f"{key}=***{value[len(value.rstrip(',;:')) :]}"  # "token=abc:" -> "token=***:"


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
