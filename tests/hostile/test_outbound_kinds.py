"""Hostile tenants against the outbound policy, in the hostile-input suite's world.

The app runs on a public ``APP_URL`` with an allow-list that names the two shops' Saleors and,
with wildcards, any ``http://…/graphql/`` and ``https://*.saleor.example/graphql/`` (so that an
internal address is refused by the address rule, not by the allow-list). The kinds of
``outbound_kinds.py`` (internal Saleors in every spelling, allow-list host confusion, internal
Gordon base URLs saved or tested, another app's token), interleaved with valid requests, drawn
with a fixed seed; ``World.send`` checks each answer and every table. On top: a refusal of the
kinds in ``REFUSED_UNCALLED`` causes no outbound request at all, and no answer is a 5xx.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.hostile.conftest import REPORTS
from tests.hostile.outbound_kinds import OUTBOUND_WEIGHTED, REFUSED_UNCALLED, WILDCARD_DOMAIN
from tests.hostile.world import Probe, World, open_world
from tests.support.fixtures import SaleorFakeFactory

REQUESTS = 150
PUBLIC_APP_URL = "https://gordon.example.com"


def outbound_calls(world: World) -> tuple[int, int, int]:
    """Requests that left the app: to hosts other than the shops' Saleors, and to those."""
    fakes = [shop.fake.state for shop in world.shops]
    return (
        sum(world.outbound.refused.values()),
        sum(sum(state.requests.values()) for state in fakes),
        sum(state.jwks_fetches for state in fakes),
    )


@pytest.mark.timeout(300)
def test_outbound_kinds_are_refused_without_a_call(
    database_url: str, saleor_fake_factory: SaleorFakeFactory, request: pytest.FixtureRequest
) -> None:
    fakes = [saleor_fake_factory(), saleor_fake_factory()]
    allow = "|".join(
        [
            *(re.escape(fake.api_url) for fake in fakes),
            r"http://[^/]+/graphql/",
            rf"https://.*\.{re.escape(WILDCARD_DOMAIN)}/graphql/",
        ]
    )
    called: Counter[str] = Counter()
    with asyncio.Runner() as runner:
        world_context = open_world(
            database_url, fakes, app_url=PUBLIC_APP_URL, allowed_saleor_urls=allow
        )
        world: World = runner.run(world_context.__aenter__())
        try:

            @settings(
                max_examples=REQUESTS,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(st.data())
            def one_request(data: st.DataObject) -> None:
                kind = data.draw(st.sampled_from(OUTBOUND_WEIGHTED), label="kind")
                probe: Probe = kind(data.draw, world)
                before = outbound_calls(world)
                runner.run(world.send(probe))
                if probe.kind in REFUSED_UNCALLED and outbound_calls(world) != before:
                    called[probe.kind] += 1

            one_request()
        finally:
            runner.run(world_context.__aexit__(None, None, None))
    REPORTS.append((request.node.name, {**world.report(), "seconds": 0.0, "modifiers": {}}))
    assert set(world.sent) == {
        "register.internal_saleor",
        "register.host_confusion",
        "register.foreign_app_token",
        "dashboard.internal_gordon",
        "valid.register",
        "valid.dashboard_read",
    }
    assert not world.violations, "\n" + world.violation_summary()
    assert called == Counter(), f"refused requests that called out: {dict(called)}"
