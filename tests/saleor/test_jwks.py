"""jwks_url, fetch_jwks (against the fake over a real socket) and JwksRefetchLimiter."""

from __future__ import annotations

import httpx
import pytest

from saleor_gordon.errors import SaleorUnavailable
from saleor_gordon.saleor.jwks import JwksRefetchLimiter, JwksUnavailable, fetch_jwks, jwks_url
from saleor_gordon.saleor.signature import verify_webhook_signature
from tests.support.fixtures import RunningSaleorFake


@pytest.mark.parametrize(
    ("api_url", "expected"),
    [
        ("https://shop.example.com/graphql/", "https://shop.example.com/.well-known/jwks.json"),
        ("http://127.0.0.1:8000/graphql/", "http://127.0.0.1:8000/.well-known/jwks.json"),
        ("https://x.saleor.cloud/a/b/graphql/?q=1", "https://x.saleor.cloud/.well-known/jwks.json"),
        (
            "https://user:pw@shop.example.com/graphql/",
            "https://shop.example.com/.well-known/jwks.json",
        ),
    ],
)
def test_jwks_url(api_url: str, expected: str) -> None:
    assert jwks_url(api_url) == expected


@pytest.mark.parametrize("api_url", ["", "shop.example.com/graphql/", "ftp://x/graphql/"])
def test_jwks_url_refuses_non_http(api_url: str) -> None:
    with pytest.raises(ValueError, match="absolute"):
        jwks_url(api_url)


async def test_fetch_jwks_from_the_fake(saleor_fake: RunningSaleorFake) -> None:
    """The fetched JWKS verifies what the same Saleor signs."""
    api_url, state = saleor_fake

    async with httpx.AsyncClient() as http:
        jwks = await fetch_jwks(http, api_url, timeout=5)

    verify_webhook_signature(b"{}", state.sign(b"{}"), jwks)
    assert state.jwks_fetches == 1


@pytest.mark.parametrize(
    "served",
    [{"keys": []}, {"keys": [{"kty": "EC", "kid": "x"}]}, {"nope": 1}],
)
async def test_fetch_jwks_refuses_unusable_jwks(
    served: dict[str, object], saleor_fake: RunningSaleorFake
) -> None:
    api_url, state = saleor_fake
    state.serve_jwks(served)

    async with httpx.AsyncClient() as http:
        with pytest.raises(SaleorUnavailable, match=r"unusable|JSON object"):
            await fetch_jwks(http, api_url, timeout=5)


async def test_fetch_jwks_when_saleor_is_down(saleor_fake: RunningSaleorFake) -> None:
    api_url, state = saleor_fake
    state.down = True

    async with httpx.AsyncClient() as http:
        with pytest.raises(SaleorUnavailable, match="HTTP 503"):
            await fetch_jwks(http, api_url, timeout=5)


async def test_fetch_jwks_unreachable() -> None:
    """Nothing listens on port 9 of loopback: a connection error, in the app's words only."""
    async with httpx.AsyncClient() as http:
        with pytest.raises(SaleorUnavailable) as caught:
            await fetch_jwks(http, "http://127.0.0.1:9/graphql/", timeout=5)
    assert caught.value.message == (
        "The JWKS at http://127.0.0.1:9/.well-known/jwks.json could not be reached."
    )


async def test_fetch_jwks_bad_url() -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(SaleorUnavailable, match="absolute"):
            await fetch_jwks(http, "not a url", timeout=5)


async def test_fetch_jwks_does_not_follow_redirects() -> None:
    """A redirect is an answer we do not accept (Saleor serves the JWKS directly)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "http://evil.example/jwks.json"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(SaleorUnavailable, match="HTTP 302"):
            await fetch_jwks(http, "https://shop.example.com/graphql/", timeout=5)


async def test_fetch_jwks_refuses_huge_or_non_json_answers() -> None:
    bodies = [b"x" * 70_000, b"<html>", b"[]", b"[" * 5000, b'{"keys": ' + b"1" * 5000 + b"}"]
    for body in bodies:
        transport = httpx.MockTransport(
            lambda _request, body=body: httpx.Response(200, content=body)
        )
        async with httpx.AsyncClient(transport=transport) as http:
            with pytest.raises(SaleorUnavailable):
                await fetch_jwks(http, "https://shop.example.com/graphql/", timeout=5)


class TestJwksRefetchLimiter:
    """Tests for JwksRefetchLimiter."""

    def test_one_refetch_per_installation_per_interval(self) -> None:
        now = [1000.0]
        limiter = JwksRefetchLimiter(30.0, clock=lambda: now[0])

        assert limiter.try_acquire("https://a/graphql/") is True
        assert limiter.try_acquire("https://a/graphql/") is False
        assert limiter.try_acquire("https://b/graphql/") is True
        now[0] += 29.9
        assert limiter.try_acquire("https://a/graphql/") is False
        now[0] += 0.1
        assert limiter.try_acquire("https://a/graphql/") is True

    def test_memory_is_bounded(self) -> None:
        now = [0.0]
        limiter = JwksRefetchLimiter(1.0, clock=lambda: now[0])
        for index in range(10_000):
            limiter.try_acquire(f"https://{index}/graphql/")
        now[0] += 2

        assert limiter.try_acquire("https://new/graphql/") is True
        assert len(limiter._last) == 1

    def test_negative_interval(self) -> None:
        with pytest.raises(ValueError, match="negative"):
            JwksRefetchLimiter(-1)


@pytest.mark.parametrize(
    "api_url",
    [
        "http://x:99999/graphql/",
        "http://[::1/graphql/",
        "http://x:port/graphql/",
        "http://xn--a.com/graphql/",
        "http://\u00e9\u0301xn--.com/graphql/",
    ],
    ids=["port-out-of-range", "unbalanced-ipv6", "port-not-a-number", "bad-punycode", "bad-idna"],
)
async def test_fetch_jwks_maps_every_unusable_url(api_url: str) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(JwksUnavailable) as caught:
            await fetch_jwks(http, api_url, timeout=2)
    assert caught.value.reason
    assert caught.value.message == f"The JWKS at {caught.value.url} {caught.value.reason}."


async def test_fetch_jwks_reason_is_a_short_clause_without_remote_text() -> None:
    transport = httpx.MockTransport(
        lambda _request: httpx.Response(200, json={"keys": [{"kty": "EC", "kid": "remote"}]})
    )
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(JwksUnavailable) as caught:
            await fetch_jwks(http, "https://user:pw@shop.example.com/graphql/", timeout=5)
    assert caught.value.url == "https://shop.example.com/.well-known/jwks.json"
    assert caught.value.reason == "is unusable: it holds no valid RS256 key"


class TestRefetchedSince:
    def test_only_a_refetch_started_after_the_request_counts(self) -> None:
        now = [1000.0]
        limiter = JwksRefetchLimiter(30.0, clock=lambda: now[0])
        url = "https://a/graphql/"
        early = limiter.now()
        now[0] += 1.0
        assert limiter.try_acquire(url) is True
        assert limiter.refetched_since(url, early) is False  # acquired, not yet fetched
        limiter.record_success(url)
        assert limiter.refetched_since(url, early) is True
        assert limiter.refetched_since("https://b/graphql/", early) is False
        now[0] += 5.0
        late = limiter.now()  # a request arriving after that refetch started
        assert limiter.refetched_since(url, late) is False

    def test_a_new_refetch_forgets_the_previous_success(self) -> None:
        now = [1000.0]
        limiter = JwksRefetchLimiter(30.0, clock=lambda: now[0])
        url = "https://a/graphql/"
        limiter.try_acquire(url)
        limiter.record_success(url)
        now[0] += 31.0
        assert limiter.try_acquire(url) is True
        assert limiter.refetched_since(url, 0.0) is False
