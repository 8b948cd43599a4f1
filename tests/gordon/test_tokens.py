"""TokenCache: caching per credentials, early refresh, one refresh at a time."""

from __future__ import annotations

import asyncio

from saleor_gordon.core.outcomes import Rejected, Retryable, TokenGranted, TokenOutcome
from saleor_gordon.gordon.tokens import TokenCache, TokenKey
from tests.gordon.conftest import FakeClock

SECRET = "hunter2-Gordon"
KEY = TokenKey.for_credentials("https://gordon.test/", "client", SECRET)


class TokenEndpoint:
    """Hands out numbered tokens, optionally slowly, and counts the requests."""

    def __init__(self, lifetime: float = 3600.0, delay: float = 0.0) -> None:
        self.calls = 0
        self.lifetime = lifetime
        self.delay = delay

    async def __call__(self) -> TokenOutcome:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return TokenGranted(f"token-{self.calls}", self.lifetime)


def test_key_holds_a_digest_not_the_secret() -> None:
    other = TokenKey.for_credentials("https://gordon.test", "client", "other secret")
    assert SECRET not in repr(KEY)
    assert KEY.base_url == "https://gordon.test"
    assert other != KEY


async def test_token_is_cached_until_the_margin() -> None:
    clock = FakeClock()
    cache = TokenCache(clock=clock)
    endpoint = TokenEndpoint()
    first = await cache.get(KEY, endpoint)
    clock.advance(3539)
    second = await cache.get(KEY, endpoint)
    clock.advance(1)
    third = await cache.get(KEY, endpoint)
    assert (first, second, third) == ("token-1", "token-1", "token-2")


async def test_short_tokens_are_kept_for_half_their_life() -> None:
    clock = FakeClock()
    cache = TokenCache(clock=clock)
    endpoint = TokenEndpoint(lifetime=30)
    await cache.get(KEY, endpoint)
    clock.advance(14)
    assert await cache.get(KEY, endpoint) == "token-1"
    clock.advance(1)
    assert await cache.get(KEY, endpoint) == "token-2"


async def test_concurrent_callers_share_one_fetch() -> None:
    cache = TokenCache()
    endpoint = TokenEndpoint(delay=0.01)
    tokens = await asyncio.gather(*(cache.get(KEY, endpoint) for _ in range(20)))
    assert set(tokens) == {"token-1"}
    assert endpoint.calls == 1


async def test_keys_do_not_share_tokens() -> None:
    cache = TokenCache()
    endpoint = TokenEndpoint()
    other = TokenKey.for_credentials("https://gordon.test", "another client", SECRET)
    assert await cache.get(KEY, endpoint) != await cache.get(other, endpoint)


async def test_invalidate_forgets_only_the_refused_token() -> None:
    cache = TokenCache()
    endpoint = TokenEndpoint()
    stale = await cache.get(KEY, endpoint)
    assert isinstance(stale, str)
    cache.invalidate(KEY, stale)
    fresh = await cache.get(KEY, endpoint)
    cache.invalidate(KEY, stale)  # a late 401 for the old token must not drop the new one
    assert await cache.get(KEY, endpoint) == fresh == "token-2"


async def test_failures_are_returned_and_not_cached() -> None:
    cache = TokenCache()
    answers: list[TokenOutcome] = [Retryable("down"), Rejected("no", 401), TokenGranted("t", 3600)]

    async def fetch() -> TokenOutcome:
        return answers.pop(0)

    assert await cache.get(KEY, fetch) == Retryable("down")
    assert await cache.get(KEY, fetch) == Rejected("no", 401)
    assert await cache.get(KEY, fetch) == "t"


class HeldEndpoint:
    """A token endpoint that answers ``answers`` in turn, each once the test lets it."""

    def __init__(self, *answers: TokenOutcome) -> None:
        self.answers = list(answers)
        self.calls = 0
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()

    async def __call__(self) -> TokenOutcome:
        self.calls += 1
        self.asked.set()
        await self.answer.wait()
        return self.answers.pop(0)


async def test_a_token_fetched_ahead_is_the_one_the_next_get_takes() -> None:
    cache = TokenCache()
    endpoint = HeldEndpoint(TokenGranted("ahead", 3600), TokenGranted("again", 3600))

    assert cache.fetch_ahead(KEY, endpoint) is not None
    await endpoint.asked.wait()  # asked before anybody needs the token
    assert cache.fetch_ahead(KEY, endpoint) is None  # on its way: not asked twice
    getting = asyncio.ensure_future(cache.get(KEY, endpoint))
    endpoint.answer.set()

    assert await getting == "ahead"
    assert endpoint.calls == 1
    assert cache.fetch_ahead(KEY, endpoint) is None  # cached now


async def test_a_failure_fetched_ahead_is_the_outcome_of_the_get_waiting_for_it() -> None:
    cache = TokenCache()
    endpoint = HeldEndpoint(Retryable("down"), TokenGranted("later", 3600))

    cache.fetch_ahead(KEY, endpoint)
    await endpoint.asked.wait()
    getting = asyncio.ensure_future(cache.get(KEY, endpoint))
    endpoint.answer.set()

    assert await getting == Retryable("down")
    assert endpoint.calls == 1  # the call did not ask a second time
    assert await cache.get(KEY, endpoint) == "later"  # not kept: the next get asks anew


async def test_a_get_cancelled_while_waiting_leaves_the_token_fetched_ahead_to_be_cached() -> None:
    cache = TokenCache()
    endpoint = HeldEndpoint(TokenGranted("ahead", 3600))

    cache.fetch_ahead(KEY, endpoint)
    await endpoint.asked.wait()
    getting = asyncio.ensure_future(cache.get(KEY, endpoint))
    await asyncio.sleep(0)  # the get is waiting for the request ahead
    getting.cancel()
    endpoint.answer.set()

    assert await cache.get(KEY, endpoint) == "ahead"
    assert endpoint.calls == 1


async def test_a_request_ahead_its_owner_cancelled_leaves_the_waiting_get_to_ask_itself() -> None:
    cache = TokenCache()
    endpoint = HeldEndpoint(TokenGranted("own", 3600))

    ahead = cache.fetch_ahead(KEY, endpoint)
    assert ahead is not None
    await endpoint.asked.wait()
    getting = asyncio.ensure_future(cache.get(KEY, endpoint))
    await asyncio.sleep(0)  # the get is waiting for the request ahead
    ahead.cancel()  # its owner no longer needs it
    endpoint.answer.set()

    assert await getting == "own"
    assert endpoint.calls == 2
