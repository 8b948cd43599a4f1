"""classify_gordon_response, classify_token_response and parse_retry_after, table-driven.

Bodies marked "recorded" are the shapes quoted in ../shared/docs/gordon-api.md (B2, B4, B6).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from saleor_gordon.core.outcomes import (
    CREDENTIALS_MESSAGE,
    MAX_RETRY_AFTER_SECONDS,
    Accepted,
    NotFound,
    Outcome,
    Rejected,
    Retryable,
    TokenGranted,
    classify_gordon_response,
    classify_token_response,
    parse_retry_after,
)

NOW = datetime(2030, 2, 25, 12, 0, tzinfo=UTC)
PUT_OK = {
    "external_ref": "A1",
    "tracking_id": "0Zj7YGCUr",
    "status": "OK",
    "deliverygroup": "gordon stockholm",
}
BULK_ITEM_OK = {
    "external_ref": "10001038",
    "tracking_id": "tLk4mNR1D",
    "status": "OK",
    "depot": "gordon oslo",
    "orderId": "69ee8709",
    "deliveryDate": "2026-05-03",
    "labelReadyToPrint": False,
}
AREA_MESSAGE = (
    "Address is not within your area or not available selected weekday, please contact Gordon for "
    "more information"
)


def body(document: object) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("status", "headers", "raw", "expected"),
    [
        # recorded successes (B4)
        (200, {}, body(PUT_OK), Accepted("A1", "0Zj7YGCUr", PUT_OK)),
        (200, {}, body(BULK_ITEM_OK), Accepted("10001038", "tLk4mNR1D", BULK_ITEM_OK)),
        (
            200,
            {},
            body({"status": "OK", "external_ref": "A1"}),
            Accepted("A1", None, {"status": "OK", "external_ref": "A1"}),
        ),
        (201, {}, body({"external_ref": "A1"}), Accepted("A1", None, {"external_ref": "A1"})),
        (204, {}, b"", Accepted(None, None, {})),
        # recorded refusals (B6): the body decides, whatever the code
        (
            400,
            {},
            body(
                {"status": "error", "message": "Unable to find deliverygroup", "external_ref": "A1"}
            ),
            Rejected("Unable to find deliverygroup", 400),
        ),
        (200, {}, body({"status": "error", "message": AREA_MESSAGE}), Rejected(AREA_MESSAGE, 200)),
        (
            400,
            {},
            body({"status": "error", "message": "External Ref in Use"}),
            Rejected("External Ref in Use", 400),
        ),
        (
            400,
            {},
            body({"status": "error", "message": "Missing required fields: address, zip, city"}),
            Rejected("Missing required fields: address, zip, city", 400),
        ),
        (200, {}, body({"status": "ERROR", "message": "odd case"}), Rejected("odd case", 200)),
        (400, {}, body({"status": "error"}), Rejected("Gordon refused (HTTP 400)", 400)),
        # other 4xx
        (
            400,
            {},
            b"Bad Request",
            Rejected("Gordon refused the request (HTTP 400)", 400),
        ),
        (
            403,
            {},
            body({"message": "Forbidden"}),
            Rejected("Gordon refused the request (HTTP 403): Forbidden", 403),
        ),
        (422, {}, b"", Rejected("Gordon refused the request (HTTP 422)", 422)),
        # not found (UNVERIFIED shapes)
        (
            404,
            {},
            body({"status": "error", "message": "Order not found"}),
            NotFound("Order not found"),
        ),
        (404, {}, b"", NotFound("Gordon does not know this order (HTTP 404)")),
        (
            400,
            {},
            body({"status": "error", "message": "Order does not exist"}),
            NotFound("Order does not exist"),
        ),
        (200, {}, body({"status": "error", "message": "No such order"}), NotFound("No such order")),
        # retryable
        (
            503,
            {},
            b"<html>Service Unavailable</html>",
            Retryable("Gordon answered HTTP 503"),
        ),
        (
            500,
            {},
            body({"status": "error", "message": "boom"}),
            Retryable("Gordon answered HTTP 500: boom"),
        ),
        (
            502,
            {"Retry-After": "30"},
            b"",
            Retryable("Gordon answered HTTP 502", 30.0, answered=False),
        ),
        (504, {}, b"", Retryable("Gordon answered HTTP 504", None, answered=False)),
        (
            429,
            {"Retry-After": "7"},
            body({"message": "Too Many Requests"}),
            Retryable("Gordon answered HTTP 429: Too Many Requests", 7.0),
        ),
        (
            429,
            {"retry-after": "Mon, 25 Feb 2030 12:01:00 GMT"},
            b"",
            Retryable("Gordon answered HTTP 429", 60.0),
        ),
        (429, {}, b"", Retryable("Gordon answered HTTP 429", None)),
        (408, {}, b"", Retryable("Gordon answered HTTP 408", None)),
        # odd answers
        (
            301,
            {"Location": "https://elsewhere"},
            b"",
            Rejected(
                "Gordon answered with a redirect (HTTP 301); check the Gordon base URL in the app configuration",
                301,
            ),
        ),
        (
            200,
            {},
            b"<html>Gordon Last Mile</html>",
            Rejected(
                "Gordon answered HTTP 200 with a body that is not a JSON object; check the Gordon base URL in the app configuration",
                200,
            ),
        ),
        (
            200,
            {},
            b"[1, 2]",
            Rejected(
                "Gordon answered HTTP 200 with a body that is not a JSON object; check the Gordon base URL in the app configuration",
                200,
            ),
        ),
        (
            200,
            {},
            b"\xff\xfe",
            Rejected(
                "Gordon answered HTTP 200 with a body that is not a JSON object; check the Gordon base URL in the app configuration",
                200,
            ),
        ),
    ],
)
def test_classify_gordon_response(
    status: int, headers: dict[str, str], raw: bytes, expected: Outcome
) -> None:
    assert classify_gordon_response(status, headers, raw, now=NOW) == expected


def test_persisting_401_is_a_credentials_refusal() -> None:
    outcome = classify_gordon_response(401, {}, body({"error": "invalid_token"}))
    assert isinstance(outcome, Rejected)
    assert outcome.status == 401
    assert outcome.message.startswith(CREDENTIALS_MESSAGE)
    assert outcome.is_auth_failure


def test_unable_to_find_deliverygroup_is_not_a_missing_order() -> None:
    outcome = classify_gordon_response(
        400, {}, body({"status": "error", "message": "Unable to find deliverygroup"})
    )
    assert isinstance(outcome, Rejected)
    assert not outcome.is_auth_failure


def test_long_bodies_are_cut() -> None:
    outcome = classify_gordon_response(500, {}, b"x" * 10_000)
    assert isinstance(outcome, Retryable)
    assert len(outcome.reason) < 300


def test_tracking_id_of_another_type_is_ignored() -> None:
    outcome = classify_gordon_response(200, {}, body({"external_ref": 17, "tracking_id": 5}))
    assert outcome == Accepted(None, None, {"external_ref": 17, "tracking_id": 5})


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        # recorded (B2)
        (
            200,
            body(
                {
                    "access_token": "eyJhb.x.y",
                    "scope": "general",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                }
            ),
            TokenGranted("eyJhb.x.y", 3600.0),
        ),
        (200, body({"access_token": "t"}), TokenGranted("t", 3600.0)),
        (200, body({"access_token": "t", "expires_in": 120.5}), TokenGranted("t", 120.5)),
        (200, body({"access_token": "t", "expires_in": "soon"}), TokenGranted("t", 3600.0)),
        (
            401,
            body({"error": "access_denied", "error_description": "Unauthorized"}),
            Rejected(f"{CREDENTIALS_MESSAGE} (HTTP 401: Unauthorized)", 401),
        ),
        (
            400,
            body({"error": "invalid_client"}),
            Rejected(f"{CREDENTIALS_MESSAGE} (HTTP 400: invalid_client)", 401),
        ),
        (403, b"", Rejected(f"{CREDENTIALS_MESSAGE} (HTTP 403)", 403)),
        (503, b"", Retryable("Gordon answered HTTP 503")),
        (429, b"", Retryable("Gordon answered HTTP 429")),
        (
            404,
            b"Not Found",
            Rejected(
                "Gordon's token endpoint answered HTTP 404 unexpectedly; check the Gordon base URL in the app configuration",
                404,
            ),
        ),
        (
            200,
            body({"token": "x"}),
            Rejected(
                "Gordon's token endpoint answered HTTP 200 without an access token; check the Gordon base URL in the app configuration",
                200,
            ),
        ),
    ],
)
def test_classify_token_response(status: int, raw: bytes, expected: object) -> None:
    assert classify_token_response(status, {}, raw, now=NOW) == expected


def test_token_repr_hides_the_token() -> None:
    assert "secret-token" not in repr(TokenGranted("secret-token", 3600))


def test_token_refusals_are_auth_failures() -> None:
    outcome = classify_token_response(
        401, {}, body({"error": "access_denied", "error_description": "Unauthorized"})
    )
    assert isinstance(outcome, Rejected)
    assert outcome.is_auth_failure


@pytest.mark.parametrize(
    ("value", "now", "expected"),
    [
        ("120", None, 120.0),
        (" 5 ", None, 5.0),
        ("1.5", None, 1.5),
        ("0", None, 0.0),
        ("-3", None, None),
        ("-0.5", None, None),
        ("nan", None, None),
        ("inf", None, None),
        ("-inf", None, None),
        ("86400", None, MAX_RETRY_AFTER_SECONDS),
        ("86401", None, MAX_RETRY_AFTER_SECONDS),
        ("1e300", None, MAX_RETRY_AFTER_SECONDS),
        ("Fri, 31 Dec 9999 23:59:59 GMT", NOW, MAX_RETRY_AFTER_SECONDS),
        ("", None, None),
        (None, NOW, None),
        ("soon", NOW, None),
        ("Mon, 25 Feb 2030 12:00:30 GMT", NOW, 30.0),
        ("Mon, 25 Feb 2030 11:00:00 GMT", NOW, 0.0),
        ("Mon, 25 Feb 2030 12:00:30 GMT", None, None),
        ("Mon, 25 Feb 2030 12:00:30 GMT", NOW.replace(tzinfo=None), None),
        ("Mon, 25 Feb 2030 12:00:30 -0000", NOW, None),  # RFC 2822 "-0000": no known zone
        ("Mon, 25 Feb 2030 13:00:30 +0100", NOW + timedelta(seconds=10), 20.0),
    ],
)
def test_parse_retry_after(value: str | None, now: datetime | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=now) == expected


def test_retry_after_is_at_most_a_day() -> None:
    """A huge Retry-After must not overflow the caller's datetime arithmetic later."""
    assert MAX_RETRY_AFTER_SECONDS == 24 * 60 * 60
    outcome = classify_gordon_response(503, {"Retry-After": "1e300"}, b"", now=NOW)
    assert isinstance(outcome, Retryable)
    assert outcome.retry_after == MAX_RETRY_AFTER_SECONDS
    assert NOW + timedelta(seconds=outcome.retry_after) > NOW  # no OverflowError


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (
            404,
            body({"status": "error", "message": "Unable to find deliverygroup"}),
            Rejected("Unable to find deliverygroup", 404),
        ),
        (
            404,
            body({"message": "Unable to find deliverygroup"}),
            Rejected("Gordon refused the request (HTTP 404): Unable to find deliverygroup", 404),
        ),
        (404, body({"status": "error"}), NotFound("Gordon does not know this order (HTTP 404)")),
        (404, body({"message": "Not Found"}), NotFound("Not Found")),
        (404, b"Not Found", NotFound("Gordon does not know this order (HTTP 404)")),
        (
            404,
            b"<html>Cannot PUT /api/orders/1</html>",
            Rejected(
                "Gordon answered HTTP 404 with a body that is not a JSON object; "
                "check the Gordon base URL in the app configuration",
                404,
            ),
        ),
    ],
    ids=[
        "error-body-deliverygroup",
        "message-deliverygroup",
        "error-body-without-message",
        "message-not-found",
        "text-not-found",
        "text-other",
    ],
)
def test_a_404_is_not_found_only_when_its_message_says_so(
    status: int, raw: bytes, expected: Outcome
) -> None:
    """The body is read before the status: a 404 about the delivery group is the shop owner's to fix."""
    assert classify_gordon_response(status, {}, raw, now=NOW) == expected


@pytest.mark.parametrize("status", [404, 500, 503, 429, 408])
def test_retryable_statuses_with_an_error_body_stay_retryable_or_not_found(status: int) -> None:
    """The documented decision: 5xx/408/429 with an error body are retryable (404 is not one of them)."""
    outcome = classify_gordon_response(
        status, {}, body({"status": "error", "message": "Order not found"}), now=NOW
    )
    assert isinstance(outcome, NotFound if status == 404 else Retryable)


@pytest.mark.parametrize(
    ("status", "expected", "token_expected"),
    [
        (200, Rejected, Rejected),
        (400, Rejected, Rejected),
        (404, Rejected, Rejected),  # not NotFound: nothing in the body says the order is unknown
        (503, Retryable, Retryable),
    ],
)
def test_deeply_nested_json_is_read_as_not_json(
    status: int, expected: type[Outcome], token_expected: type[Outcome]
) -> None:
    """json.loads raises RecursionError on absurd nesting; the classifier treats such a body
    exactly as a body that is not JSON for a plain reason and starts the same way."""
    deep = b"[" * 100_000 + b"]" * 100_000
    not_json = b"[" * 500 + b"x"  # a syntax error, not too deep; the same first 200 bytes

    outcome = classify_gordon_response(status, {}, deep, now=NOW)
    token = classify_token_response(status, {}, deep, now=NOW)

    assert outcome == classify_gordon_response(status, {}, not_json, now=NOW)
    assert token == classify_token_response(status, {}, not_json, now=NOW)
    assert type(outcome) is expected
    assert type(token) is token_expected
    if isinstance(outcome, Rejected):
        assert outcome.status == status
        assert not outcome.is_auth_failure
    if isinstance(token, Rejected):
        assert token.status == status
    if status == 200:
        assert outcome == Rejected(
            "Gordon answered HTTP 200 with a body that is not a JSON object; check the Gordon "
            "base URL in the app configuration",
            200,
        )
