"""What a Gordon answer means, decided without I/O (like gidgethub's ``decipher_response``).

The Gordon adapter (``saleor_gordon.gordon.client``) sends requests and hands the raw answer here;
the worker acts on the value returned. Nothing in this module sleeps, logs or reads a clock: a
Retry-After given as an HTTP date needs ``now`` from the caller.

Rules, with their sources (``../shared/docs/gordon-api.md``):

* A JSON body with ``"status": "error"`` is a refusal whatever the HTTP code, because Gordon answers
  validation errors with 200 (bulk rows) or 400 (D1.5, B6). Exception: 408, 429 and 5xx stay
  retryable even with such a body, because the transport status says "try again" and a transient
  refusal must not need a person (our decision; the body's message goes into the reason).
* Not found (UNVERIFIED: Gordon's answer for an unknown ref is not documented): an answer whose message
  reads like "not found" / "does not exist" / "no such order" with a 4xx or 2xx code, or an HTTP 404
  without any message. The body is read before the status: a 404 whose message says something else
  ("Unable to find deliverygroup") is a refusal with that message, *not* a not-found, so that the order
  is not re-created with ``POST`` and refused again.
* 401 means the access token was refused. The client refreshes the token and retries once; when the
  classifier sees a 401 it is the persisting case, so the answer is a refusal telling the shop owner to
  check the credentials.
* 408, 429 (with Retry-After) and 5xx are retryable; other 4xx are refusals. A gateway's 502 or 504
  is a retryable outcome without Gordon's answer (``Retryable.answered`` False, like a timeout in the
  client): Gordon may have done what was asked.
* 2xx with a JSON object (or an empty body, e.g. 204) is accepted; 2xx with HTML or other non-JSON is a
  refusal, as it usually means the base URL points at a web page, not the API.

Messages are built from Gordon's ``message``/``error_description`` (of a JSON object only), never from
request data or a body that is not JSON, so they hold no credentials and nothing of a server that is not
Gordon. Each is a ``core.messages.Message``: the English text carrying a ``gordon.*`` code with the
HTTP status and Gordon's own words as parameters, so the Dashboard pages word the sentence around
Gordon's words in the staff user's language.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Final, TypeAlias

from saleor_gordon.core.kept_text import keepable_text
from saleor_gordon.core.messages import Message
from saleor_gordon.json_text import JsonUnusable, parse_json

BODY_EXCERPT_CHARS = 200
# The longest wait a Retry-After may ask for; longer ones are cut to it (a day: the retry policy's own
# maximum age is of that order, and larger values overflow datetime arithmetic, e.g. "1e300").
MAX_RETRY_AFTER_SECONDS = 24 * 60 * 60.0
DEFAULT_TOKEN_LIFETIME_SECONDS = 3600.0

CREDENTIALS_MESSAGE = (
    "Gordon refused the API credentials; check the client id and client secret, and that they "
    "belong to the environment of the base URL (staging credentials do not work in production)"
)
BASE_URL_HINT = "check the Gordon base URL in the app configuration"

# UNVERIFIED: Gordon's wording for an unknown order is not documented; these cover the usual phrasings.
_NOT_FOUND_MESSAGE = re.compile(
    r"\bnot\s+found\b|\bdoes\s+not\s+exist\b|\bdoesn't\s+exist\b|\bno\s+such\s+order\b|"
    r"\bunknown\s+order\b|\bcould\s+not\s+find\s+order\b",
    re.IGNORECASE,
)
_RETRYABLE_STATUSES = frozenset({408, 429})
# A gateway's "bad gateway" or "gateway timeout": Gordon's own answer did not arrive.
_GATEWAY_STATUSES = frozenset({502, 504})
_NOT_FOUND_404 = "Gordon does not know this order (HTTP 404)"
MAX_TRACKING_ID_CHARS: Final = 64
"""The longest tracking ID the app keeps (Gordon's are 9 characters)."""
_NOT_JSON = "Gordon answered HTTP {status} with a body that is not a JSON object"


@dataclass(frozen=True, slots=True)
class Accepted:
    """Gordon accepted the request; ``body`` is its JSON answer (empty for an empty body)."""

    external_ref: str | None
    tracking_id: str | None
    body: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Rejected:
    """Gordon refused the request; retrying the same request will not help.

    ``message``: what it means (``gordon.*``); for ``gordon.refused`` the English is Gordon's own
    words alone.
    """

    message: Message
    status: int | None

    @property
    def is_auth_failure(self) -> bool:
        """True when the credentials (not the order) were refused."""
        return self.status in (401, 403) and self.message.startswith(CREDENTIALS_MESSAGE)


@dataclass(frozen=True, slots=True)
class Retryable:
    """The request may succeed later; ``retry_after`` is Gordon's wish in seconds, if it said one.

    ``answered`` is False when no answer came back (timed out, connection lost): Gordon may then
    have done what was asked. ``reason`` is a clause (``gordon.*``): "Gordon answered HTTP 503".
    """

    reason: Message
    retry_after: float | None = None
    answered: bool = True


@dataclass(frozen=True, slots=True)
class NotFound:
    """Gordon does not know the order (UNVERIFIED recognition, see the module docstring)."""

    message: str


Outcome: TypeAlias = Accepted | Rejected | Retryable | NotFound


@dataclass(frozen=True, slots=True)
class TokenGranted:
    """An OAuth2 access token from ``POST /oauth/token``; ``repr`` never shows the token."""

    access_token: str = field(repr=False)
    expires_in: float


TokenOutcome: TypeAlias = TokenGranted | Rejected | Retryable


def parse_retry_after(value: str | None, *, now: datetime | None) -> float | None:
    """Turn a Retry-After header into seconds to wait (RFC 9110 §10.2.3).

    Args:
        value: the header value: delay-seconds (``"120"``) or an HTTP date.
        now: the current time (timezone-aware); needed only for the HTTP-date form.

    Returns:
        Seconds from 0 to ``MAX_RETRY_AFTER_SECONDS`` (larger values are cut to it), or None when the
        value is missing or unreadable (negative, NaN, infinite, not a number nor a date), or is a date
        and ``now`` was not given. A date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        until = _seconds_until_http_date(text, now=now)
        return None if until is None else min(until, MAX_RETRY_AFTER_SECONDS)
    if (
        not math.isfinite(seconds) or seconds < 0
    ):  # RFC 9110: delay-seconds is a non-negative integer
        return None
    return min(seconds, MAX_RETRY_AFTER_SECONDS)


def _seconds_until_http_date(text: str, *, now: datetime | None) -> float | None:
    if now is None:
        return None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None or now.tzinfo is None:
        return None
    return max((when - now).total_seconds(), 0.0)


def classify_gordon_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> Outcome:
    """Decide what an answer of Gordon's order API means.

    Args:
        status: the HTTP status code.
        headers: the response headers (case-insensitive mapping preferred; ``Retry-After`` and
            ``retry-after`` are both looked up).
        body: the raw response body.
        now: the current time, used only for a Retry-After given as an HTTP date.

    Returns:
        ``Accepted``, ``Rejected``, ``Retryable`` or ``NotFound``, per the rules in the module docstring.
    """
    document = _json_object(body)
    if status in _RETRYABLE_STATUSES or status >= 500:
        return _retryable(status, headers, body, document, now=now)
    if status == 401:
        english = f"{CREDENTIALS_MESSAGE} (HTTP 401 on an API call)"
        return Rejected(Message.of("gordon.credentials_refused", english, status=401), 401)
    # The error body before the status: a 404 may carry a message that is not a not-found.
    if document is not None and _is_error_body(document):
        message = _gordon_message(document)
        if not message and status == 404:
            return NotFound(_NOT_FOUND_404)
        if not message:
            english = f"Gordon refused (HTTP {status})"
            return Rejected(Message.of("gordon.refused_status", english, status=status), status)
        return _refusal(status, message)
    if status == 404:
        if document is None and body.strip():
            # Read to classify, never shown: "Not Found" is a not-found, an error page of
            # something that is not Gordon's order API ("Cannot PUT …") a wrong base URL.
            if _NOT_FOUND_MESSAGE.search(body.decode("utf-8", errors="replace")[:200]):
                return NotFound(_NOT_FOUND_404)
            return _not_json(404)
        detail = _gordon_message(document)
        if not detail or _NOT_FOUND_MESSAGE.search(detail):
            return NotFound(detail or _NOT_FOUND_404)
        return _refused(404, detail, f"Gordon refused the request (HTTP 404): {detail}")
    if 200 <= status < 300:
        return _accepted(status, body, document)
    if 300 <= status < 400:
        english = f"Gordon answered with a redirect (HTTP {status}); {BASE_URL_HINT}"
        return Rejected(Message.of("gordon.redirect", english, status=status), status)
    detail = _gordon_message(document)
    if detail:
        return _refused(status, detail, f"Gordon refused the request (HTTP {status}): {detail}")
    english = f"Gordon refused the request (HTTP {status})"
    return Rejected(Message.of("gordon.refused_status", english, status=status), status)


def _refused(status: int, words: str, english: str) -> Rejected:
    """Gordon refused with its own ``words`` (shown as Gordon wrote them)."""
    said = Message.of("gordon.refused", english, status=status, gordon_message=words)
    return Rejected(said, status)


def _not_json(status: int) -> Rejected:
    english = f"{_NOT_JSON.format(status=status)}; {BASE_URL_HINT}"
    return Rejected(Message.of("gordon.not_json", english, status=status), status)


def _retryable(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    document: Mapping[str, object] | None,
    *,
    now: datetime | None,
) -> Retryable:
    retry_after = parse_retry_after(_header(headers, "retry-after"), now=now)
    detail = _gordon_message(document)
    if detail:
        english = f"Gordon answered HTTP {status}: {detail}"
        reason = Message.of(
            "gordon.answered_status_said", english, status=status, gordon_message=detail
        )
    else:
        reason = Message.of(
            "gordon.answered_status", f"Gordon answered HTTP {status}", status=status
        )
    return Retryable(reason, retry_after, answered=status not in _GATEWAY_STATUSES)


def _refusal(status: int, message: str) -> Rejected | NotFound:
    """Gordon's error body with its own ``message`` (the English is its words alone)."""
    if (status < 300 or 400 <= status < 500) and _NOT_FOUND_MESSAGE.search(message):
        return NotFound(message)
    return _refused(status, message, message)


def _accepted(status: int, body: bytes, document: Mapping[str, object] | None) -> Outcome:
    if document is None and body.strip():
        return _not_json(status)
    answer: Mapping[str, object] = document or {}
    tracking_id = _optional_text(answer.get("tracking_id"))
    if tracking_id is not None and not keepable_text(tracking_id, MAX_TRACKING_ID_CHARS):
        # Stored, written on the order and its fulfillments, e-mailed to the customer: whoever
        # answers at the shop's base URL chose it.
        english = (
            f"Gordon answered HTTP {status} with a tracking ID the app cannot use (not one line "
            f"of at most {MAX_TRACKING_ID_CHARS} characters); {BASE_URL_HINT}"
        )
        message = Message.of(
            "gordon.tracking_id_unusable", english, status=status, limit=MAX_TRACKING_ID_CHARS
        )
        return Rejected(message, status)
    return Accepted(
        external_ref=_optional_text(answer.get("external_ref")),
        tracking_id=tracking_id,
        body=answer,
    )


def classify_token_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
) -> TokenOutcome:
    """Decide what an answer of ``POST /oauth/token`` means (gordon-api.md B2).

    Returns:
        ``TokenGranted`` on success; ``Rejected`` with an actionable message when the credentials or the
        base URL are wrong; ``Retryable`` on 408, 429 and 5xx.
    """
    document = _json_object(body)
    if status in _RETRYABLE_STATUSES or status >= 500:
        return _retryable(status, headers, body, document, now=now)
    if status in (400, 401, 403) and document is not None and "error" in document:
        detail = _optional_text(document.get("error_description")) or _optional_text(
            document.get("error")
        )
        english = f"{CREDENTIALS_MESSAGE} (HTTP {status}: {detail})"
        said = (
            Message.of(
                "gordon.credentials_refused_said", english, status=status, gordon_message=detail
            )
            if detail
            else Message.of("gordon.credentials_refused", english, status=status)
        )
        return Rejected(said, 401 if status == 400 else status)
    if status in (401, 403):
        english = f"{CREDENTIALS_MESSAGE} (HTTP {status})"
        return Rejected(Message.of("gordon.credentials_refused", english, status=status), status)
    if 200 <= status < 300 and document is not None:
        return _granted(status, document)
    english = f"Gordon's token endpoint answered HTTP {status} unexpectedly; {BASE_URL_HINT}"
    return Rejected(Message.of("gordon.token_unexpected", english, status=status), status)


def _granted(status: int, document: Mapping[str, object]) -> TokenOutcome:
    token = document.get("access_token")
    if not isinstance(token, str) or not token:
        english = (
            f"Gordon's token endpoint answered HTTP {status} without an access token; "
            f"{BASE_URL_HINT}"
        )
        return Rejected(Message.of("gordon.token_missing", english, status=status), status)
    expires_in = document.get("expires_in")
    lifetime = (
        float(expires_in)
        if isinstance(expires_in, int | float)
        and not isinstance(expires_in, bool)
        and expires_in > 0
        else DEFAULT_TOKEN_LIFETIME_SECONDS
    )
    return TokenGranted(access_token=token, expires_in=lifetime)


def _json_object(body: bytes) -> Mapping[str, object] | None:
    try:
        document = parse_json(body)
    except JsonUnusable:
        return None
    return document if isinstance(document, dict) else None


def _is_error_body(document: Mapping[str, object]) -> bool:
    status = document.get("status")
    return isinstance(status, str) and status.strip().lower() == "error"


def _gordon_message(document: Mapping[str, object] | None) -> str:
    """Gordon's own words: ``message``, else ``error_description``/``error`` of its JSON.

    Nothing of a body that is not a JSON object: whatever answered may not be Gordon (a base URL
    pointing elsewhere), and its text is not for the shop owner's eyes.
    """
    if document is not None:
        for key in ("message", "error_description", "error"):
            text = _optional_text(document.get(key))
            if text:
                return text[:BODY_EXCERPT_CHARS]
    return ""


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """The header ``name`` (lower case) whatever the case of the mapping's keys."""
    return {key.lower(): item for key, item in headers.items()}.get(name)


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
