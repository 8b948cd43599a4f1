"""Hostile kinds against the outbound policy: a tenant who names an internal address, hides a
host from the allow-list, or hands in another app's token.

Each kind is ``(draw, world) -> Probe`` like those of ``kinds.py``; they run in a world whose app
is on a public ``APP_URL`` (``test_outbound_kinds.py``), where an internal address is refused.
None of the refusals may cause an outbound call (the foreign token is checked with the shop's own
Saleor: that call is the check).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from tests.hostile.kinds import (
    Draw,
    Kind,
    _asks_claimed_saleor,
    _dashboard,
    _register,
    _register_headers,
    _shop,
    _token_headers,
    valid_dashboard_read,
    valid_register,
)
from tests.hostile.world import Probe, World, shop_config

WILDCARD_DOMAIN = "saleor.example"
"""The world's allow-list admits ``https://<anything>.saleor.example/graphql/``."""

INTERNAL_HOSTS = [
    "127.0.0.1", "localhost", "LOCALHOST.", "app.localhost", "127.1", "127.0.0.1.", "2130706433",
    "0x7f.1", "0177.0.0.1", "0", "0.0.0.0", "[::1]", "[::]", "[::ffff:127.0.0.1]",  # noqa: S104
    "[::ffff:7f00:1]", "[64:ff9b::7f00:1]", "10.0.0.1", "172.16.5.4", "192.168.1.1",
    "169.254.169.254", "[fe80::1]", "[fd00::1]", "100.64.0.1", "224.0.0.1",
]  # fmt: skip
PORTS = ["", ":9", ":80", ":5432", ":6379", ":8000", ":65535"]
GORDON_PATHS = ["", "/", "/admin/reset?x=1#", "/#", "/?", "/x#/oauth/token"]


def _internal(draw: Draw) -> tuple[str, str]:
    host: str = draw(st.sampled_from(INTERNAL_HOSTS))
    port: str = draw(st.sampled_from(PORTS))
    return host, port


def register_internal_saleor(draw: Draw, world: World) -> Probe:
    """``Saleor-Api-Url`` names an internal address: refused before any call."""
    host, port = _internal(draw)
    url = f"http://{host}{port}/graphql/"
    body = json.dumps({"auth_token": "t" * 30}).encode()
    return _register("register.internal_saleor", _register_headers(url), body, frozenset({403}))


def register_host_confusion(draw: Draw, world: World) -> Probe:
    """The allow-list's host hidden in the path, a fragment, a query or userinfo."""
    host, port = _internal(draw)
    target = f"https://{host}{port}"
    named = f"shop.{WILDCARD_DOMAIN}"
    trick, allowed = draw(
        st.sampled_from(
            [
                (f"{target}/x.{WILDCARD_DOMAIN}/graphql/", 403),
                (f"{target}/{named}/graphql/", 403),
                (f"{target}/graphql/#.{WILDCARD_DOMAIN}/graphql/", 400),
                (f"{target}/graphql/?.{WILDCARD_DOMAIN}/graphql/", 400),
                (f"https://{named}@{host}{port}/graphql/", 400),
                (f"https://{named}:pw@{host}{port}/graphql/", 400),
                (f"https://{named}%40{host}{port}/graphql/", 400),
            ]
        )
    )
    body = json.dumps({"auth_token": "t" * 30}).encode()
    headers = _register_headers(trick)
    return _register("register.host_confusion", headers, body, frozenset({allowed}))


def register_foreign_app_token(draw: Draw, world: World) -> Probe:
    """Another app installed in the shop's Saleor posts its own token for that Saleor."""
    shop = _shop(draw, world)
    identifier = draw(st.sampled_from(["com.example.other-app", None, "se.gordondelivery"]))
    token = shop.fake.state.issue_other_app_token(identifier=identifier)
    body = json.dumps({"auth_token": token}).encode()
    headers = _register_headers(shop.api_url)
    probe = _register("register.foreign_app_token", headers, body, frozenset({401}))
    probe.may_call = _asks_claimed_saleor(headers)  # only Saleor can tell whose token it is
    return probe


def _internal_gordon(draw: Draw) -> str:
    host, port = _internal(draw)
    scheme = draw(st.sampled_from(["http", "https"]))
    base = f"{scheme}://{host}{port}"
    how = draw(st.integers(0, 2))
    if how == 0:
        return base + draw(st.sampled_from(GORDON_PATHS))
    if how == 1:  # userinfo: the part before @ looks like Gordon
        return f"{scheme}://backend.gordondelivery.com@{host}{port}"
    return f"https://backend.gordondelivery.com{draw(st.sampled_from(['#', '?', '/#@']))}{host}"


def dashboard_internal_gordon(draw: Draw, world: World) -> Probe:
    """A shop owner saves or tests a Gordon base URL on an internal address."""
    shop = _shop(draw, world)
    endpoint = draw(st.sampled_from(["PUT /config", "POST /config/test-connection"]))
    config: dict[str, Any] = shop_config()
    config["gordon"]["base_url"] = _internal_gordon(draw)
    body = {"config": config} if endpoint == "PUT /config" else {"gordon": config["gordon"]}
    headers = [*_token_headers(shop, shop.token()), (b"Content-Type", b"application/json")]
    return _dashboard(
        "dashboard.internal_gordon",
        draw,
        shop,
        endpoint,
        headers,
        frozenset({422}),
        json.dumps(body).encode(),
    )


REFUSED_UNCALLED = frozenset(
    {"register.internal_saleor", "register.host_confusion", "dashboard.internal_gordon"}
)
"""Kinds whose refusal must come before any outbound call."""

OUTBOUND_KINDS: list[tuple[Kind, int]] = [
    (register_internal_saleor, 4),
    (register_host_confusion, 3),
    (register_foreign_app_token, 2),
    (dashboard_internal_gordon, 4),
    (valid_register, 1),
    (valid_dashboard_read, 1),
]
OUTBOUND_WEIGHTED: list[Kind] = [kind for kind, weight in OUTBOUND_KINDS for _ in range(weight)]
