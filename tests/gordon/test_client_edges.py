"""GordonClient paths the sandbox does not take: scripted answers through httpx.MockTransport.

Each test scripts Gordon's answers per request and asserts the outcome in full.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from saleor_gordon.core.outcomes import BASE_URL_HINT, CREDENTIALS_MESSAGE, Rejected, Retryable
from saleor_gordon.gordon.client import CredentialCheck, GordonClient, TokenCache
from saleor_gordon.outbound import AnswerTooLarge, DestinationNotAllowed
from tests.gordon.conftest import gordon_order

BASE = "https://gordon.test"
TOKEN = httpx.Response(200, json={"access_token": "tok", "expires_in": 3600})
NOT_FOUND = httpx.Response(404, json={"status": "error", "message": "Order not found"})


def scripted(*answers: httpx.Response | Exception) -> tuple[Callable[..., GordonClient], list[str]]:
    """A client factory whose transport gives ``answers`` in turn; the list records the requests."""
    seen: list[str] = []
    queue: Iterator[httpx.Response | Exception] = iter(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        answer = next(queue)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def make(base_url: str = BASE) -> GordonClient:
        return GordonClient(
            base_url=base_url,
            client_id="id",
            client_secret="secret",
            http=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
            token_cache=TokenCache(),
        )

    return make, seen


async def test_not_found_after_put_and_post_is_a_refusal_naming_the_base_url() -> None:
    make, seen = scripted(TOKEN, NOT_FOUND, NOT_FOUND)

    outcome = await make().push_order(gordon_order("45"))

    assert outcome == Rejected(
        f"Gordon answered 'not found' while creating order 45: Order not found; {BASE_URL_HINT}",
        404,
    )
    assert isinstance(outcome, Rejected)
    assert (outcome.message.code, outcome.message.params) == (
        "gordon.not_found_on_create",
        {"ref": "45"},
    )
    assert seen == ["POST /oauth/token", "PUT /api/orders/45", "POST /api/orders"]


async def test_a_refused_token_refresh_after_a_401_is_the_answer() -> None:
    make, seen = scripted(TOKEN, httpx.Response(401), httpx.Response(503))

    outcome = await make().get_order("45")

    assert outcome == Retryable("Gordon answered HTTP 503", None)
    assert seen == ["POST /oauth/token", "GET /api/orders/45", "POST /oauth/token"]


async def test_a_token_request_that_fails_in_transport_is_the_answer() -> None:
    make, seen = scripted(httpx.ConnectError("refused"))

    outcome = await make().get_order("45")

    assert outcome == Retryable(
        "Gordon could not be reached or did not answer within 15 s", answered=False
    )
    assert isinstance(outcome, Retryable)
    assert (outcome.reason.code, outcome.reason.params) == ("gordon.no_answer", {"seconds": 15.0})
    assert seen == ["POST /oauth/token"]


async def test_a_base_url_of_another_scheme_is_refused() -> None:
    """httpx refuses ftp:// before any connection (a real transport: the mock takes any scheme)."""
    async with httpx.AsyncClient() as http:
        client = GordonClient(
            base_url="ftp://gordon.test",
            client_id="id",
            client_secret="secret",
            http=http,
            token_cache=TokenCache(),
        )

        outcome = await client.get_order("45")

    assert outcome == Rejected(f"The Gordon base URL cannot be used; {BASE_URL_HINT}", None)
    assert isinstance(outcome, Rejected)
    assert (outcome.message.code, outcome.message.params) == ("gordon.base_url_unusable", {})


async def test_an_order_without_a_reference_is_refused_without_asking_gordon() -> None:
    make, seen = scripted()

    outcome = await make().push_order({**gordon_order("45"), "external_ref": ""})

    assert isinstance(outcome, Rejected)
    assert (outcome.message.code, outcome.message.params) == ("gordon.no_external_ref", {})
    assert seen == []


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (
            [httpx.Response(503)],
            CredentialCheck(
                False,
                "Could not reach Gordon at https://gordon.test: Gordon answered HTTP 503",
                "unreachable",
            ),
        ),
        (
            [httpx.Response(401)],
            CredentialCheck(False, f"{CREDENTIALS_MESSAGE} (HTTP 401)", "credentials"),
        ),
        (
            [httpx.Response(404)],
            CredentialCheck(
                False,
                f"Gordon's token endpoint answered HTTP 404 unexpectedly; {BASE_URL_HINT}",
                "base_url",
            ),
        ),
        (
            [TOKEN, httpx.Response(403)],
            CredentialCheck(
                False,
                "Gordon issued a token but its order API refused it; the base URL and the "
                "credentials may belong to different environments (staging vs production)",
                "credentials",
            ),
        ),
        (
            [TOKEN, httpx.ReadTimeout("slow")],
            CredentialCheck(
                False,
                "Gordon's order API failed: Gordon could not be reached or did not answer "
                "within 15 s",
                "unavailable",
            ),
        ),
        (
            [TOKEN, httpx.Response(503)],
            CredentialCheck(
                False, "Gordon's order API failed: Gordon answered HTTP 503", "unavailable"
            ),
        ),
        (
            [TOKEN, httpx.Response(404, text="<html>Not Found</html>")],
            CredentialCheck(
                False,
                f"Gordon's order API answered HTTP 404 with a non-JSON body; {BASE_URL_HINT}",
                "base_url",
            ),
        ),
        (
            [TOKEN, NOT_FOUND],
            CredentialCheck(True, "Connected to Gordon at https://gordon.test"),
        ),
    ],
    ids=[
        "token-503",
        "token-401",
        "token-404",
        "probe-403",
        "probe-timeout",
        "probe-503",
        "probe-html",
        "ok",
    ],
)
async def test_check_credentials_says_what_is_wrong(
    answers: list[httpx.Response | Exception], expected: CredentialCheck
) -> None:
    make, seen = scripted(*answers)

    assert await make().check_credentials() == expected
    assert (
        seen
        == ["POST /oauth/token", "GET /api/orders/saleor-gordon-connection-test"][: len(answers)]
    )


async def test_what_the_outbound_policy_ended_is_said_as_a_code() -> None:
    """An answer over the byte cap: no usable answer (Gordon may have acted), its limit as a
    parameter; a destination the policy refuses: the Gordon URL is to be corrected."""
    make, _ = scripted(TOKEN, AnswerTooLarge(1000))
    too_large = await make().get_order("45")
    make, _ = scripted(DestinationNotAllowed("points to a private or local network address"))
    refused = await make().get_order("45")

    assert too_large == Retryable("Gordon answered with more than 1000 bytes", answered=False)
    assert isinstance(too_large, Retryable)
    assert (too_large.reason.code, too_large.reason.params) == (
        "gordon.answer_too_large",
        {"limit": 1000},
    )
    assert isinstance(refused, Rejected)
    assert refused.message == (
        f"The Gordon base URL points to a private or local network address; {BASE_URL_HINT}"
    )
    assert (refused.message.code, refused.message.params) == ("gordon.base_url_not_allowed", {})
