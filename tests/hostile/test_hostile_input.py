"""Hostile input against the real app: no forgery accepted, no 5xx, no crash, nothing stored.

Two installed shops (each with its own Saleor fake, key and app id), configured, with orders
created and paid through real signed webhooks, one job failed. Then hypothesis draws requests of
the kinds in ``kinds.py`` (random, truncated, oversized, wrongly signed, replayed to the other shop,
relabelled, wrong content type, header injection, deep and huge JSON, invalid UTF-8, forged and
foreign Dashboard tokens, bad bodies and parameters), interleaved with valid ones, and
``World.send`` checks each answer, every table of the database and every outbound request the
app made (world.py says what exactly). About every other request is sent in a fresh JWKS
refetch-limiter window, so that forgeries reach the check after a refetch. The size and the seed
(fixed by default, printed, replayable): conftest.py. Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.internal.conjecture import providers

from tests.hostile.conftest import REPORTS, hostile_requests, hostile_seed, replay_hint
from tests.hostile.kinds import CONTENT_TYPES, EVIL_TEXTS
from tests.hostile.mix import weighted_kinds
from tests.hostile.world import Probe, World, open_world
from tests.support.fixtures import SaleorFakeFactory


def _modify(data: st.DataObject, probe: Probe, modifiers: Counter[str]) -> None:
    """Wrong content types and junk headers the app does not read, on hostile requests only."""
    if probe.valid is not None or probe.kind in ("dashboard.bad_body",):
        return
    if data.draw(st.integers(0, 3)) == 0:
        content_type = data.draw(st.sampled_from(CONTENT_TYPES))
        probe.headers = [(k, v) for k, v in probe.headers if k.lower() != b"content-type"]
        if content_type is not None:
            probe.headers.append((b"Content-Type", content_type.encode("utf-8", "surrogatepass")))
        modifiers["content_type"] += 1
    if data.draw(st.integers(0, 5)) == 0:
        value = data.draw(st.sampled_from(EVIL_TEXTS)).encode("utf-8", "surrogatepass")
        name = data.draw(
            st.sampled_from([b"X-Saleor-Api-Url", b"Cookie", b"X-Forwarded-For", b"X-Hostile"])
        )
        probe.headers.append((name, value))
        modifiers["junk_header"] += 1


@pytest.fixture
def seed_alone_decides(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Hypothesis mixes into about one draw in twenty constants it reads from the source of every
    local module imported so far, so the same seed drew other requests in the whole suite than in
    the replay of this one test. Without them the seed alone decides. (Hypothesis's internals: if
    they change, this fails loudly rather than replaying something else.)"""
    monkeypatch.setattr(providers, "_get_local_constants", providers.Constants)
    providers.CONSTANTS_CACHE.cache.clear()  # permitted constants computed with the local ones
    yield
    providers.CONSTANTS_CACHE.cache.clear()


@pytest.mark.timeout(max(600, hostile_requests("sqlite") // 5, hostile_requests("postgresql") // 5))
@pytest.mark.usefixtures("seed_alone_decides")
def test_hostile_requests_are_refused_without_harm(
    database_url: str, saleor_fake_factory: SaleorFakeFactory, request: pytest.FixtureRequest
) -> None:
    requests = hostile_requests("sqlite" if database_url.startswith("sqlite") else "postgresql")
    run_seed = hostile_seed()
    replay = replay_hint(run_seed, requests, request.node.name)
    kinds = weighted_kinds()
    fakes = [saleor_fake_factory(), saleor_fake_factory()]
    modifiers: Counter[str] = Counter()
    with asyncio.Runner() as runner:
        world_context = open_world(database_url, fakes)
        world: World = runner.run(world_context.__aenter__())
        started = time.monotonic()
        try:

            @seed(run_seed)
            @settings(
                max_examples=requests,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(st.data())
            def one_request(data: st.DataObject) -> None:
                kind = data.draw(st.sampled_from(kinds), label="kind")
                probe = kind(data.draw, world)
                _modify(data, probe, modifiers)
                if data.draw(st.booleans(), label="new refetch window"):
                    probe.new_refetch_window = True
                runner.run(world.send(probe))

            one_request()
        finally:
            seconds = time.monotonic() - started
            runner.run(world_context.__aexit__(None, None, None))
    figures: dict[str, Any] = {
        **world.report(),
        "seconds": seconds,
        "modifiers": dict(modifiers),
        "seed": run_seed,
        "asked": requests,
    }
    REPORTS.append((request.node.name, figures))
    assert figures["requests"] >= requests, replay
    valid = sum(n for kind, n in world.sent.items() if kind.startswith("valid."))
    assert valid > 0, f"no valid request was interleaved ({replay})"
    assert not world.violations, f"seed {run_seed}, {replay}\n" + world.violation_summary()
