"""Boundaries and exact messages of classify_gordon_response / classify_token_response.

Found by mutation testing (docs/testing.md): status ranges at their edges, which key of an error body
is Gordon's message, bodies that are not UTF-8, and the token endpoint's refusals by status.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from saleor_gordon.core.outcomes import (
    BASE_URL_HINT,
    CREDENTIALS_MESSAGE,
    Accepted,
    NotFound,
    Outcome,
    Rejected,
    Retryable,
    TokenGranted,
    TokenOutcome,
    classify_gordon_response,
    classify_token_response,
)

NOW = datetime(2030, 2, 25, 12, 0, tzinfo=UTC)
OK = {"external_ref": "A1", "tracking_id": "T1", "status": "OK"}


def body(document: object) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (299, body(OK), Accepted("A1", "T1", OK)),
        (
            300,
            body(OK),
            Rejected(f"Gordon answered with a redirect (HTTP 300); {BASE_URL_HINT}", 300),
        ),
        (399, b"", Rejected(f"Gordon answered with a redirect (HTTP 399); {BASE_URL_HINT}", 399)),
        (400, b"", Rejected("Gordon refused the request (HTTP 400)", 400)),
        (
            400,
            b"\xff bad\n zip ",  # not JSON: nothing of it is shown
            Rejected("Gordon refused the request (HTTP 400)", 400),
        ),
        (
            400,
            body({"status": "error", "error_description": "bad zip", "error": "invalid"}),
            Rejected("bad zip", 400),
        ),
        (400, body({"status": "error", "error": "invalid"}), Rejected("invalid", 400)),
        (
            300,
            body({"status": "error", "message": "Order not found"}),
            Rejected("Order not found", 300),
        ),
        (299, body({"status": "error", "message": "Order not found"}), NotFound("Order not found")),
        (499, body({"status": "error", "message": "Order not found"}), NotFound("Order not found")),
    ],
    ids=lambda value: value if isinstance(value, int) else None,
)
def test_order_answers_at_the_edges(status: int, raw: bytes, expected: Outcome) -> None:
    assert classify_gordon_response(status, {}, raw, now=NOW) == expected


@pytest.mark.parametrize(
    ("status", "headers", "raw", "expected"),
    [
        (500, {}, b"", Retryable("Gordon answered HTTP 500", None)),
        (
            503,
            {"Retry-After": "Mon, 25 Feb 2030 12:00:30 GMT"},
            body({"message": "down for maintenance"}),
            Retryable("Gordon answered HTTP 503: down for maintenance", 30.0),
        ),
        (
            403,
            {},
            body({"error": "unauthorized_client"}),
            Rejected(f"{CREDENTIALS_MESSAGE} (HTTP 403: unauthorized_client)", 403),
        ),
        (
            400,
            {},
            body({"error": "invalid_client", "error_description": "Client authentication failed"}),
            Rejected(f"{CREDENTIALS_MESSAGE} (HTTP 400: Client authentication failed)", 401),
        ),
        (401, {}, b"", Rejected(f"{CREDENTIALS_MESSAGE} (HTTP 401)", 401)),
        (403, {}, b"", Rejected(f"{CREDENTIALS_MESSAGE} (HTTP 403)", 403)),
        (
            404,
            {},
            body({"error": "x"}),
            Rejected(
                f"Gordon's token endpoint answered HTTP 404 unexpectedly; {BASE_URL_HINT}", 404
            ),
        ),
        (
            300,
            {},
            body({"access_token": "t", "expires_in": 60}),
            Rejected(
                f"Gordon's token endpoint answered HTTP 300 unexpectedly; {BASE_URL_HINT}", 300
            ),
        ),
        (
            200,
            {},
            body({"access_token": 5}),
            Rejected(
                f"Gordon's token endpoint answered HTTP 200 without an access token; {BASE_URL_HINT}",
                200,
            ),
        ),
        (200, {}, body({"access_token": "t", "expires_in": 0}), TokenGranted("t", 3600.0)),
        (200, {}, body({"access_token": "t", "expires_in": 1}), TokenGranted("t", 1.0)),
        (299, {}, body({"access_token": "t", "expires_in": 0.5}), TokenGranted("t", 0.5)),
    ],
    ids=lambda value: value if isinstance(value, int) else None,
)
def test_token_answers_at_the_edges(
    status: int, headers: dict[str, str], raw: bytes, expected: TokenOutcome
) -> None:
    assert classify_token_response(status, headers, raw, now=NOW) == expected


def said(outcome: Outcome | TokenOutcome) -> tuple[str, dict[str, object]]:
    """What a person reads of a refusal or of a failure to answer: its code and parameters."""
    assert isinstance(outcome, Rejected | Retryable), outcome
    message = outcome.message if isinstance(outcome, Rejected) else outcome.reason
    return message.code, dict(message.params)


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (
            503,
            body({"message": "down"}),
            ("gordon.answered_status_said", {"status": 503, "gordon_message": "down"}),
        ),
        (502, b"<html>Bad Gateway</html>", ("gordon.answered_status", {"status": 502})),
        (429, b"", ("gordon.answered_status", {"status": 429})),
        (
            400,
            body({"status": "error", "message": "Unable to find deliverygroup"}),
            ("gordon.refused", {"status": 400, "gordon_message": "Unable to find deliverygroup"}),
        ),
        (
            422,
            body({"message": "bad zip"}),
            ("gordon.refused", {"status": 422, "gordon_message": "bad zip"}),
        ),
        (400, body({"status": "error"}), ("gordon.refused_status", {"status": 400})),
        (409, b"", ("gordon.refused_status", {"status": 409})),
        (401, b"", ("gordon.credentials_refused", {"status": 401})),
        (301, b"", ("gordon.redirect", {"status": 301})),
        (200, b"<html></html>", ("gordon.not_json", {"status": 200})),
        (404, b"<html>Cannot PUT</html>", ("gordon.not_json", {"status": 404})),
    ],
)
def test_each_order_answer_says_what_it_means_as_a_code(
    status: int, raw: bytes, expected: tuple[str, dict[str, object]]
) -> None:
    """Gordon's own words are a parameter, kept as Gordon wrote them; the sentence around them
    is the code's (the Dashboard pages word it in the shop owner's language)."""
    assert said(classify_gordon_response(status, {}, raw, now=NOW)) == expected


@pytest.mark.parametrize(
    "tracking_id",
    ["T" * 65, "T1\nT2", "T1\x00", "\ud800"],
    ids=["65-chars", "line-break", "nul", "lone-surrogate"],
)
def test_an_acceptance_with_a_tracking_id_the_app_cannot_keep_is_a_refusal(
    tracking_id: str,
) -> None:
    """The tracking ID is stored (64 characters), written on the order and its fulfillments and
    e-mailed to the customer: whoever answers at the shop's Gordon base URL chose it."""
    raw = body({"external_ref": "A1", "tracking_id": tracking_id, "status": "OK"})

    outcome = classify_gordon_response(200, {}, raw, now=NOW)

    assert isinstance(outcome, Rejected)
    assert outcome.status == 200
    assert said(outcome) == ("gordon.tracking_id_unusable", {"status": 200, "limit": 64})
    assert outcome.message == (
        "Gordon answered HTTP 200 with a tracking ID the app cannot use (not one line of at "
        f"most 64 characters); {BASE_URL_HINT}"
    )


def test_a_tracking_id_of_64_characters_is_kept() -> None:
    raw = body({"external_ref": "A1", "tracking_id": "T" * 64, "status": "OK"})

    outcome = classify_gordon_response(200, {}, raw, now=NOW)

    assert isinstance(outcome, Accepted)
    assert outcome.tracking_id == "T" * 64


def test_gordons_own_refusal_keeps_its_words_as_the_english_text() -> None:
    refused = classify_gordon_response(
        400, {}, body({"status": "error", "message": "External Ref in Use"}), now=NOW
    )

    assert isinstance(refused, Rejected)
    assert refused.message == "External Ref in Use"  # the log's and the CLI's text, unchanged


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (
            401,
            body({"error": "access_denied", "error_description": "Unauthorized"}),
            ("gordon.credentials_refused_said", {"status": 401, "gordon_message": "Unauthorized"}),
        ),
        (403, b"", ("gordon.credentials_refused", {"status": 403})),
        (418, b"", ("gordon.token_unexpected", {"status": 418})),
        (200, body({"expires_in": 60}), ("gordon.token_missing", {"status": 200})),
        (500, b"", ("gordon.answered_status", {"status": 500})),
    ],
)
def test_each_token_answer_says_what_it_means_as_a_code(
    status: int, raw: bytes, expected: tuple[str, dict[str, object]]
) -> None:
    assert said(classify_token_response(status, {}, raw, now=NOW)) == expected
