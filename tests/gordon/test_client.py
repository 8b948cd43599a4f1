"""GordonClient against the Gordon sandbox over a real loopback socket."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Hashable

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.outcomes import Accepted, NotFound, Rejected, Retryable
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.gordon.tokens import TokenCache, TokenKey
from saleor_gordon.store.rate import DatabaseRateLimiter
from tests.gordon.conftest import FakeClock, MakeClient, gordon_order
from tests.support.fixtures import StartSandbox
from tests.support.shop import CLIENT_ID, CLIENT_SECRET


def token_requests(sandbox: RunningSandbox) -> int:
    return sandbox.state.count("POST", "/oauth/token")


def methods(sandbox: RunningSandbox, prefix: str = "/api/") -> list[str]:
    return [str(entry["method"]) for entry in sandbox.state.requests(path_prefix=prefix)]


async def test_push_order_is_accepted_with_a_tracking_id(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    # given
    client = make_client(gordon_sandbox)
    # when
    outcome = await client.push_order(gordon_order("1001"))
    # then
    assert isinstance(outcome, Accepted)
    assert outcome.external_ref == "1001"
    assert outcome.tracking_id is not None
    assert re.fullmatch(r"[0-9A-Za-z]{9}", outcome.tracking_id)
    assert gordon_sandbox.state.count("PUT", "/api/orders/1001") == 1
    [put] = gordon_sandbox.state.requests(method="PUT")
    assert put["body"] == gordon_order("1001")


async def test_one_token_serves_many_calls(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox)
    for number in range(5):
        assert isinstance(await client.push_order(gordon_order(f"10{number}")), Accepted)
    assert token_requests(gordon_sandbox) == 1


async def test_clients_of_one_account_share_the_token(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    await make_client(gordon_sandbox).push_order(gordon_order("1"))
    await make_client(gordon_sandbox).push_order(gordon_order("2"))
    assert token_requests(gordon_sandbox) == 1


async def test_token_is_refreshed_60_seconds_before_expiry(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    # given a token of 3600 s, used once
    clock = FakeClock()
    client = make_client(gordon_sandbox, token_cache=TokenCache(clock=clock))
    await client.get_order("1")
    # when it is still 61 s from expiry, then 59 s
    clock.advance(3600 - 61)
    await client.get_order("1")
    calls_before_margin = token_requests(gordon_sandbox)
    clock.advance(2)
    await client.get_order("1")
    # then the token is renewed only inside the margin
    assert calls_before_margin == 1
    assert token_requests(gordon_sandbox) == 2


async def test_concurrent_first_calls_request_one_token(
    start_gordon_sandbox: StartSandbox, make_client: MakeClient
) -> None:
    sandbox = start_gordon_sandbox(
        latency=0.05
    )  # keeps the token request in flight while others wait
    client = make_client(sandbox)
    outcomes = await asyncio.gather(*(client.push_order(gordon_order(str(n))) for n in range(10)))
    assert all(isinstance(outcome, Accepted) for outcome in outcomes)
    assert token_requests(sandbox) == 1


async def test_refused_token_is_refreshed_and_the_call_retried_once(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    # given a cached token that Gordon no longer accepts
    client = make_client(gordon_sandbox)
    await client.push_order(gordon_order("1001"))
    gordon_sandbox.state.revoke_tokens()
    # when
    outcome = await client.push_order(gordon_order("1001"))
    # then
    assert isinstance(outcome, Accepted)
    assert token_requests(gordon_sandbox) == 2
    statuses = [entry["status"] for entry in gordon_sandbox.state.requests(method="PUT")]
    assert statuses == [404, 401, 200]  # the first push created it with POST


async def test_persisting_401_is_rejected_with_a_credentials_hint(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox)
    gordon_sandbox.state.script_faults([401, 401, 401])
    outcome = await client.get_order("1001")
    assert isinstance(outcome, Rejected)
    assert outcome.is_auth_failure
    assert "client id" in outcome.message
    assert methods(gordon_sandbox) == ["GET", "GET"]  # retried once, not more
    assert token_requests(gordon_sandbox) == 2


async def test_unknown_order_is_created_when_gordon_refuses_the_update(
    start_gordon_sandbox: StartSandbox, make_client: MakeClient
) -> None:
    # given an account where PUT does not create (the sandbox's default)
    sandbox = start_gordon_sandbox()
    client = make_client(sandbox)
    # when the order is pushed twice
    first = await client.push_order(gordon_order("1001"))
    second = await client.push_order(gordon_order("1001", city="Stockholm"))
    # then the first push created it and the second updated it
    assert isinstance(first, Accepted)
    assert isinstance(second, Accepted)
    assert first.tracking_id == second.tracking_id
    assert methods(sandbox) == ["PUT", "POST", "PUT"]
    assert sandbox.state.orders["1001"].body["city"] == "Stockholm"


async def test_create_that_finds_the_ref_in_use_updates_instead(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    # given an order that exists, and a PUT that answers "not found" (a race on Gordon's side)
    client = make_client(gordon_sandbox)
    await client.push_order(gordon_order("1001"))
    gordon_sandbox.state.clear_requests()
    gordon_sandbox.state.script_faults([404])
    # when
    outcome = await client.push_order(gordon_order("1001"))
    # then
    assert isinstance(outcome, Accepted)
    statuses = [
        (e["method"], e["status"]) for e in gordon_sandbox.state.requests(path_prefix="/api/")
    ]
    assert statuses == [("PUT", 404), ("POST", 400), ("PUT", 200)]


async def test_validation_error_is_rejected_with_gordons_message(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox)
    order = gordon_order("1001", address=None, zip=None, city=None)
    outcome = await client.push_order(order)
    assert outcome == Rejected("Missing required fields: address, zip, city", 400)


async def test_unknown_delivery_group_is_rejected(
    start_gordon_sandbox: StartSandbox, make_client: MakeClient
) -> None:
    sandbox = start_gordon_sandbox(delivery_groups=("Gordon Store",))
    client = make_client(sandbox)
    outcome = await client.push_order(gordon_order("1001", deliverygroup="Gordon Mars"))
    assert outcome == Rejected("Unable to find deliverygroup", 400)


async def test_order_without_external_ref_is_rejected_without_a_call(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    outcome = await make_client(gordon_sandbox).push_order(gordon_order(external_ref=None))
    assert isinstance(outcome, Rejected)
    assert gordon_sandbox.state.requests() == []


async def test_ref_is_url_encoded(gordon_sandbox: RunningSandbox, make_client: MakeClient) -> None:
    client = make_client(gordon_sandbox)
    outcome = await client.push_order(gordon_order("SE/1001 ö?"))
    assert isinstance(outcome, Accepted)
    assert "SE/1001 ö?" in gordon_sandbox.state.orders
    assert isinstance(await client.get_order("SE/1001 ö?"), Accepted)


async def test_get_order_reads_it_back_or_says_not_found(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox)
    await client.push_order(gordon_order("1001"))
    found = await client.get_order("1001")
    missing = await client.get_order("9999")
    assert isinstance(found, Accepted)
    assert found.body["city"] == "Älvsjö"
    assert isinstance(missing, NotFound)


async def test_delete_order_then_again_is_not_found(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox)
    await client.push_order(gordon_order("1001"))
    deleted = await client.delete_order("1001")
    again = await client.delete_order("1001")
    assert isinstance(deleted, Accepted)
    assert deleted.external_ref == "1001"
    assert isinstance(again, NotFound)


async def test_delete_of_a_planned_order_is_rejected(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox)
    await client.push_order(gordon_order("1001"))
    gordon_sandbox.state.mark_planned("1001")
    outcome = await client.delete_order("1001")
    assert isinstance(outcome, Rejected)
    assert "cancel it in the Gordon platform" in outcome.message


async def test_server_error_is_retryable(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox)
    gordon_sandbox.state.script_faults([503, 503])
    first = await client.push_order(gordon_order("1001"))
    second = await client.push_order(gordon_order("1001"))
    third = await client.push_order(gordon_order("1001"))
    assert isinstance(first, Retryable)
    assert "503" in first.reason
    assert isinstance(second, Retryable)
    assert isinstance(third, Accepted)


async def test_rate_limit_returns_retry_after(
    start_gordon_sandbox: StartSandbox, make_client: MakeClient
) -> None:
    sandbox = start_gordon_sandbox(retry_after=7)
    sandbox.state.script_faults([429])
    outcome = await make_client(sandbox).push_order(gordon_order("1001"))
    assert isinstance(outcome, Retryable)
    assert outcome.retry_after == 7.0
    assert "429" in outcome.reason
    assert outcome.answered  # Gordon answered: it did not do it


@pytest.mark.parametrize("http", ["httpx"], indirect=True)  # words of the client's timeout
async def test_timeout_is_retryable(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox, timeout=0.2)
    await client.get_order("warm-up")  # the token request must not be the one that hangs
    gordon_sandbox.state.script_faults(["timeout"])
    outcome = await client.push_order(gordon_order("1001"))
    assert isinstance(outcome, Retryable)
    assert outcome.reason == "Gordon could not be reached or did not answer within 0.2 s"
    assert not outcome.answered  # Gordon may have done it


@pytest.mark.parametrize("http", ["httpx"], indirect=True)  # words of the client's timeout
async def test_unreachable_host_is_retryable(make_client: MakeClient, closed_port: int) -> None:
    closed = RunningSandbox(f"http://127.0.0.1:{closed_port}", state=None)  # type: ignore[arg-type]
    outcome = await make_client(closed).push_order(gordon_order("1001"))
    # the same words as a timeout: what the network said is not the tenant's to read
    assert outcome == Retryable(
        "Gordon could not be reached or did not answer within 5 s", answered=False
    )


async def test_wrong_credentials_are_rejected_with_an_actionable_message(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    client = make_client(gordon_sandbox, client_secret="wrong")
    outcome = await client.push_order(gordon_order("1001"))
    assert isinstance(outcome, Rejected)
    assert outcome.is_auth_failure
    assert "client id and client secret" in outcome.message
    assert "staging" in outcome.message
    assert methods(gordon_sandbox) == []


async def test_check_credentials_succeeds(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    check = await make_client(gordon_sandbox).check_credentials()
    assert check.ok
    assert check.problem is None
    assert gordon_sandbox.base_url in check.message


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"client_secret": "wrong"}, "credentials"),
        ({"client_id": "someone-else"}, "credentials"),
        ({"base_url_suffix": "/v2"}, "base_url"),
        ({"closed_port": True}, "unreachable"),
    ],
)
async def test_check_credentials_says_what_is_wrong(
    gordon_sandbox: RunningSandbox,
    make_client: MakeClient,
    overrides: dict[str, object],
    problem: str,
    closed_port: int,
) -> None:
    # given
    overrides = dict(overrides)  # the parameter's own dict serves every run of it
    base_url = gordon_sandbox.base_url + str(overrides.pop("base_url_suffix", ""))
    if overrides.pop("closed_port", False):
        base_url = f"http://127.0.0.1:{closed_port}"
    client = make_client(gordon_sandbox, base_url=base_url, **overrides)
    # when
    check = await client.check_credentials()
    # then
    assert not check.ok
    assert check.problem == problem
    assert CLIENT_SECRET not in check.message


async def test_check_credentials_spots_an_api_that_refuses_the_token(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    gordon_sandbox.state.script_faults([401])
    check = await make_client(gordon_sandbox).check_credentials()
    assert not check.ok
    assert check.problem == "credentials"
    assert "staging vs production" in check.message


async def test_secrets_and_tokens_never_reach_logs_or_outcomes(
    gordon_sandbox: RunningSandbox, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    # given every logger at DEBUG
    caplog.set_level(logging.DEBUG)
    client = make_client(gordon_sandbox)
    # when the client goes through tokens, refreshes, refusals, faults and failures
    outcomes: list[object] = [await client.push_order(gordon_order("1001"))]
    gordon_sandbox.state.revoke_tokens()
    outcomes.append(await client.push_order(gordon_order("1001")))
    gordon_sandbox.state.script_faults([401, 401, 503, 429])
    outcomes += [await client.get_order("1001") for _ in range(3)]
    outcomes.append(
        await make_client(gordon_sandbox, client_secret=CLIENT_SECRET + "x").get_order("1")
    )
    outcomes.append(await client.check_credentials())
    tokens = list(gordon_sandbox.state.tokens)
    # then
    assert len(tokens) >= 3
    logged = caplog.text + "".join(repr(record.args) for record in caplog.records)
    for secret in [CLIENT_SECRET, *tokens]:
        assert secret not in logged
        assert all(secret not in repr(outcome) for outcome in outcomes)
    assert CLIENT_SECRET not in repr(client)
    assert caplog.records, "the test must capture something to be meaningful"


# --- pacing: every request waits for its account's turn -------------------------------------------


class RecordingPacer:
    """The smallest RequestPacer: lets every request through and notes whose turn it was."""

    def __init__(self) -> None:
        self.keys: list[Hashable] = []

    async def acquire(self, key: Hashable) -> None:
        self.keys.append(key)


async def test_every_request_token_included_waits_for_the_accounts_turn(
    gordon_sandbox: RunningSandbox, make_client: MakeClient
) -> None:
    pacer = RecordingPacer()
    client = make_client(gordon_sandbox, rate_limiter=pacer)

    assert isinstance(await client.push_order(gordon_order("1001")), Accepted)
    assert isinstance(await client.delete_order("1001"), Accepted)

    sent = gordon_sandbox.state.requests()
    assert [entry["path"] for entry in sent][:1] == ["/oauth/token"]
    account = TokenKey.for_credentials(gordon_sandbox.base_url, CLIENT_ID, CLIENT_SECRET)
    assert pacer.keys == [account] * len(sent)


def database_pacer(
    engine: AsyncEngine, per_second: float
) -> tuple[DatabaseRateLimiter, list[float]]:
    """The production pacer on a stopped clock, and the waits it asked for (instead of sleeping)."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    return DatabaseRateLimiter(engine, per_second, clock=lambda: 1_000_000.0, sleep=sleep), slept


async def test_two_clients_of_one_account_share_the_database_schedule(
    gordon_sandbox: RunningSandbox, make_client: MakeClient, migrated_engine: AsyncEngine
) -> None:
    """The production pacer (store/rate.py) spaces the requests of every client of an account."""
    pacer, slept = database_pacer(migrated_engine, 2.0)
    first = make_client(gordon_sandbox, rate_limiter=pacer)
    second = make_client(gordon_sandbox, rate_limiter=pacer)

    assert isinstance(await first.push_order(gordon_order("1")), Accepted)
    assert isinstance(await second.push_order(gordon_order("2")), Accepted)

    sent = len(gordon_sandbox.state.requests())
    assert sent >= 3  # a token and two orders
    assert slept == pytest.approx([0.5 * slot for slot in range(1, sent)])


async def test_another_shops_client_id_without_its_secret_spends_none_of_its_requests(
    gordon_sandbox: RunningSandbox, make_client: MakeClient, migrated_engine: AsyncEngine
) -> None:
    """A tenant that copies a shop's client id (not its secret) paces on a schedule of its own."""
    pacer, slept = database_pacer(migrated_engine, 1.0)
    owner = make_client(gordon_sandbox, rate_limiter=pacer)
    squatter = make_client(gordon_sandbox, rate_limiter=pacer, client_secret="guessed-wrong")

    for _ in range(3):  # the squatter's token requests, refused
        assert isinstance(await squatter.get_order("1"), Rejected)
    squatter_waits, slept[:] = list(slept), []
    assert isinstance(await owner.push_order(gordon_order("1")), Accepted)

    assert squatter_waits == pytest.approx([1.0, 2.0])  # its own schedule filled up
    # the owner's token, PUT and POST from a fresh schedule (on the squatter's: 3.0, 4.0, 5.0)
    assert slept == pytest.approx([1.0, 2.0])
