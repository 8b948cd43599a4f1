"""The kinds of request the hostile-input suite sends, each drawn with hypothesis.

A kind is a function ``(draw, world) -> Probe``: it draws what varies (bytes, lengths, which shop,
which endpoint, which header) and says which statuses a refusal may have. Every kind but the
``valid.*`` ones is built so that no reading of it is authentic: the body is not what the shop's
Saleor signed, the signature is not the shop's, the token is not a valid Dashboard token for that
shop and app, or the request is malformed. ``valid.*`` kinds are interleaved so that an app that
refuses everything fails the suite too.

Where several headers of one name are sent, the app reads the first (Starlette's ``get``); the
duplicate kinds put the hostile value first, so a later genuine value never rescues a request.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import strategies as st

from saleor_gordon.core.shop_config import parse_delivery_days
from saleor_gordon.saleor.manifest import ORDER_EVENTS
from tests.hostile import forge
from tests.hostile.world import (
    ALL_STAFF_PERMISSIONS,
    OTHER_APP_ID,
    Call,
    CallAllowed,
    Header,
    Probe,
    Shop,
    Snapshot,
    World,
    rows,
    shop_config,
    webhook_headers,
)
from tests.support.saleor_fake import STAFF_USER, SigningKey

T = TypeVar("T")
Draw = Callable[[st.SearchStrategy[Any]], Any]
Kind = Callable[[Draw, World], Probe]

ORDERS = "/api/webhooks/orders"
APP_DELETED = "/api/webhooks/app-deleted"
REGISTER = "/api/register"
DASHBOARD = "/api/dashboard"
MAX_BODY = 1024 * 1024

OUTSIDER = SigningKey.generate()
"""A well-formed RSA key no shop uses (the attacker's)."""
WEAK_KEY = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - on purpose

WEBHOOK_REFUSALS = frozenset({400, 401, 413})
SIGNATURE_REFUSALS = frozenset({401})
UNKNOWN_KEY_REFUSALS = frozenset({401, 503})  # 503: only JWKS_UNAVAILABLE (World checks the code)
REGISTER_REFUSALS = frozenset({400, 401, 403, 413})
TOKEN_REFUSALS = frozenset({400, 401})
BODY_REFUSALS = frozenset({400, 413, 415, 422})

CONTENT_TYPES = [
    None,
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=----hostile",
    "application/json; charset=utf-16",
    "application/xml",
    "application/json\r\nX-Injected: yes",
    "\x00\xff",
]
EVIL_TEXTS = [
    "",
    " ",
    "\r\n",
    "a\r\nX-Injected: 1",
    "\x00",
    "é€😀",
    "\u202e\u200b",
    "%0d%0aSet-Cookie: x=1",
    "' OR 1=1 --",
    "../../../etc/passwd",
    "${jndi:ldap://x}",
    "{{7*7}}",
    "<script>alert(1)</script>",
]


def webhook_url_variants(shop: Shop) -> list[str]:
    """URLs that look like the shop's but are not the installed one (never just whitespace)."""
    url = shop.api_url
    return [
        url.rstrip("/"),
        url + "x",
        url.replace("http://", "https://"),
        url.replace("127.0.0.1", "localhost"),
        url.replace("/graphql/", "/GRAPHQL/"),
        url + "?saleor-api-url=" + url,
        url + "#",
        url.replace("http://", "HTTP://"),
        url.replace("127.0.0.1", "127.0.0.1."),
        "http://127.0.0.1:9/graphql/",
        "https://shop.example.com/graphql/",
    ]


BAD_URLS = [
    "ftp://shop.example.com/graphql/",
    "javascript:alert(1)",
    "/graphql/",
    "http://",
    "http://host:99999/graphql/",
    "http://host:port/graphql/",
    "http://exa mple.com/graphql/",
    "http://shop.example.com/graphql/\r\nX-Injected: 1",
    "http://shop.example.com/\x00/graphql/",
    "http://[::1/graphql/",
    "http://" + "a" * 3000 + ".example.com/graphql/",
    "file:///etc/passwd",
]


# --- shared pieces --------------------------------------------------------------------------
#
# The world changes as requests are sent (new orders, a reinstalled shop), and hypothesis insists
# that the same choices draw the same way: so what is picked from a list that grows, or cut at a
# length that varies, is drawn as a number of fixed range and reduced here.


def _pick(draw: Draw, items: Sequence[T]) -> T:
    return items[int(draw(st.integers(0, 1 << 16))) % len(items)]


def _cut(draw: Draw, length: int) -> int:
    """A position in ``range(length)`` (0 for an empty text)."""
    return int(draw(st.integers(0, 9_999))) * length // 10_000


def _shop(draw: Draw, world: World) -> Shop:
    shop: Shop = draw(st.sampled_from(world.shops))
    return shop


def _other(world: World, shop: Shop) -> Shop:
    return world.b if shop is world.a else world.a


def _signed(draw: Draw, shop: Shop) -> tuple[str, bytes]:
    """One webhook this shop's Saleor really sent: an order event, or APP_DELETED."""
    if draw(st.integers(0, 4)) == 0:
        return "APP_DELETED", shop.app_deleted_body
    return _pick(draw, shop.signed)


def _path_for(event: str) -> str:
    return APP_DELETED if event == "APP_DELETED" else ORDERS


def _webhook(
    kind: str,
    event: str,
    body: bytes,
    headers: list[Header],
    allowed: frozenset[int],
    *,
    path: str | None = None,
    chunked: bool = False,
) -> Probe:
    target = path or _path_for(event)
    return Probe(kind, f"POST {target}", "POST", target, headers, body, chunked, allowed)


def _set_header(headers: list[Header], name: str, value: bytes | None) -> list[Header]:
    """``headers`` with ``name`` replaced by ``value`` (None: removed)."""
    kept = [(k, v) for k, v in headers if k.lower() != name.lower().encode()]
    return kept if value is None else [*kept, (name.encode(), value)]


def _detached(key: rsa.RSAPrivateKey, kid: str, body: bytes, **header: Any) -> str:
    return forge.sign_detached(key, body, {**forge.SALEOR_HEADER_BASE, "kid": kid, **header})


def _junk_text(draw: Draw, max_size: int = 64) -> str:
    return str(draw(st.one_of(st.sampled_from(EVIL_TEXTS), st.text(max_size=max_size))))


def _junk_bytes(draw: Draw) -> bytes:
    generated: bytes = draw(
        st.one_of(
            st.binary(max_size=256),
            st.sampled_from(
                [
                    b"",
                    b"null",
                    b"[]",
                    b"{}",
                    b'"x"',
                    b"1",
                    b"{",
                    b"\xff\xfe{}",
                    b"\xef\xbb\xbf{}",
                    b"{'single': 'quotes'}",
                    b'{"a": NaN}',
                    b'{"a": Infinity}',
                    b"\x00" * 64,
                ]
            ),
            st.text(max_size=128).map(lambda t: t.encode("utf-8", "surrogatepass")),
        )
    )
    return generated


def _deep(draw: Draw) -> bytes:
    depth = draw(st.sampled_from([200, 999, 1_000, 5_000, 100_000, 400_000]))
    opener, closer = draw(
        st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"order":', "}"), ('{"config":', "}")])
    )
    return (opener * depth + "1" + closer * depth).encode()


def _huge_json(draw: Draw) -> bytes:
    which = draw(st.integers(0, 5))
    if which == 0:  # an integer with more digits than Python converts
        return b'{"order": {"id": ' + b"9" * draw(st.integers(4_301, 200_000)) + b"}}"
    if which == 1:
        return b'{"auth_token": 1' + b"0" * 5_000 + b"}"
    if which == 2:  # big but under the limit
        return json.dumps({"order": {"id": "x", "lines": ["y" * 1_000] * 900}}).encode()
    if which == 3:
        return b'{"a": 1e999999, "b": -1e999999, "c": 1' + b"0" * 4_000 + b".5}"
    if which == 4:
        return json.dumps({f"k{i}": i for i in range(60_000)}).encode()
    return b'{"order": {"id": "' + b"\\ud800" * 10_000 + b'"}}'


def _invalid_utf8(draw: Draw, body: bytes) -> bytes:
    at = _cut(draw, len(body))
    bad = draw(st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"]))
    return body[:at] + bad + body[at:]


def _oversized(draw: Draw, body: bytes | None = None) -> bytes:
    extra = draw(st.integers(1, 300_000))
    if body is None or draw(st.booleans()):
        return b"[" + b"0," * ((MAX_BODY + extra) // 2) + b"0]"
    return body[:-1] + b', "padding": "' + b"x" * (MAX_BODY + extra) + b'"}'


# --- webhooks: malformed --------------------------------------------------------------------


def webhook_random(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event = draw(st.sampled_from([*ORDER_EVENTS, "APP_DELETED", "order_created", "x"]))
    headers: list[Header] = []
    for name in ("Saleor-Event", "Saleor-Signature", "Saleor-Api-Url"):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            continue
        value = {
            1: _junk_text(draw),
            2: {"Saleor-Event": event.lower(), "Saleor-Api-Url": shop.api_url}.get(
                name, shop.sign(b"{}")
            ),
            3: draw(st.text(alphabet="ABCDEFabcdef0123456789-_.", max_size=80)),
        }[choice]
        headers.append((name.encode(), value.encode("utf-8", "surrogatepass")))
    path = draw(st.sampled_from([ORDERS, APP_DELETED]))
    return _webhook(
        "webhook.random", event, _junk_bytes(draw), headers, WEBHOOK_REFUSALS, path=path
    )


def webhook_missing_header(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    name = draw(st.sampled_from(["Saleor-Event", "Saleor-Signature", "Saleor-Api-Url"]))
    value = draw(st.sampled_from([None, b"", b"   ", b"\t"]))
    headers = _set_header(webhook_headers(shop, event, body), name, value)
    if name == "Saleor-Signature":  # the deprecated copy must not stand in for it
        headers.append((b"X-Saleor-Signature", shop.sign(body).encode()))
    return _webhook("webhook.missing_header", event, body, headers, frozenset({400}))


def webhook_bad_api_url(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    url = draw(st.sampled_from(BAD_URLS)).encode("utf-8", "surrogatepass")
    headers = _set_header(webhook_headers(shop, event, body), "Saleor-Api-Url", url)
    return _webhook("webhook.bad_api_url", event, body, headers, frozenset({400}))


def webhook_truncated(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    cut = _cut(draw, len(body))
    headers = webhook_headers(shop, event, body)  # the signature of the whole body
    return _webhook("webhook.truncated", event, body[:cut], headers, WEBHOOK_REFUSALS)


def webhook_oversized(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    big = _oversized(draw, body)
    chunked = draw(st.booleans())
    headers = webhook_headers(shop, event, big)  # signed by the shop: still too large
    return _webhook("webhook.oversized", event, big, headers, frozenset({413}), chunked=chunked)


def webhook_invalid_utf8(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    broken = _invalid_utf8(draw, body)
    headers = webhook_headers(shop, event, broken)  # signed by the shop: the bytes are odd
    probe = _webhook("webhook.invalid_utf8", event, broken, headers, frozenset({400}))
    probe.authentic = draw(st.booleans())
    if not probe.authentic:  # the same bytes under a forged signature: refused whatever they are
        forged = _detached(OUTSIDER.private_key, shop.key.kid, broken).encode()
        probe.headers = _set_header(headers, "Saleor-Signature", forged)
        probe.allowed = WEBHOOK_REFUSALS
    return probe


def webhook_deep_json(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event = draw(st.sampled_from(["ORDER_CREATED", "APP_DELETED"]))
    body = _deep(draw)
    signed_by_shop = draw(st.booleans()) and event != "APP_DELETED"  # see relabelled_event
    signature = (
        shop.sign(body) if signed_by_shop else _detached(OUTSIDER.private_key, shop.key.kid, body)
    )
    headers = webhook_headers(shop, event, body, **{"Saleor-Signature": signature})
    allowed = frozenset({400, 413}) if signed_by_shop else WEBHOOK_REFUSALS
    return _webhook("webhook.deep_json", event, body, headers, allowed)


def webhook_huge_json(draw: Draw, world: World) -> Probe:
    """Huge JSON under a forged signature (the shop's key signs only what no parser accepts)."""
    shop = _shop(draw, world)
    event = draw(st.sampled_from(["ORDER_FULLY_PAID", "APP_DELETED"]))
    body = _huge_json(draw)
    headers = webhook_headers(shop, event, body)
    unparsable = body.startswith((b'{"order": {"id": 9', b'{"auth_token": 1'))
    if not unparsable or draw(st.booleans()):
        signature = _detached(OUTSIDER.private_key, shop.key.kid, body)
        headers = _set_header(headers, "Saleor-Signature", signature.encode())
    return _webhook("webhook.huge_json", event, body, headers, WEBHOOK_REFUSALS)


def webhook_signed_oddities(draw: Draw, world: World) -> Probe:
    """Really signed by the shop's key, odd but parsable: no 5xx, no error logged.

    Accepting these is no forgery (Saleor signed them), so only the answer's class is checked.
    """
    shop = _shop(draw, world)
    event = draw(st.sampled_from(["ORDER_CREATED", "ORDER_FULLY_PAID", "ORDER_METADATA_UPDATED"]))
    payload = json.loads(_pick(draw, shop.signed)[1])
    order = payload["order"]
    how = draw(st.integers(0, 7))
    if how == 0:
        order["id"] = "\ud800" + "x" * draw(st.integers(0, 10))
        body = json.dumps(payload).encode()  # ensure_ascii: a lone surrogate as an escape
    elif how == 1:
        order["id"] = "O" * draw(st.sampled_from([256, 1_000, 100_000]))
        body = json.dumps(payload).encode()
    elif how == 2:
        order["number"] = draw(st.sampled_from([10**100, -1, 1.5, True, None, [], "x" * 1000]))
        body = json.dumps(payload).encode()
    elif how == 3:
        payload["issuedAt"] = draw(st.sampled_from(["x" * 1000, 1, None, "", "9999-99-99", {}]))
        body = json.dumps(payload).encode()
    elif how == 4:
        payload["issuingPrincipal"] = draw(
            st.sampled_from(
                [
                    {"__typename": "A" * 1000, "id": "B" * 1000},
                    [],
                    "App",
                    {"__typename": "App", "id": 1},
                ]
            )
        )
        body = json.dumps(payload).encode()
    elif how == 5:
        body = json.dumps(payload).encode()[:-1] + b', "x": NaN, "y": 1e999999}'
    elif how == 6:
        order["id"] = draw(st.text(min_size=1, max_size=40))
        body = json.dumps(payload, ensure_ascii=draw(st.booleans())).encode(
            "utf-8", "surrogatepass"
        )
    else:  # just under the size limit
        body = json.dumps(payload).encode()
        body = body[:-1] + b', "padding": "' + b"x" * (MAX_BODY - len(body) - 20) + b'"}'
    probe = _webhook(
        "webhook.signed_oddities", event, body, webhook_headers(shop, event, body), frozenset({400})
    )
    probe.authentic = True
    return probe


def webhook_not_an_order(draw: Draw, world: World) -> Probe:
    """Validly signed by the shop, but no order in it: nothing may be recorded."""
    shop = _shop(draw, world)
    body = draw(
        st.sampled_from(
            [b"[]", b'"x"', b"1", b"null", b"{}", b'{"order": null}', b'{"order": {"id": ""}}',
             b'{"order": {"id": 5}}', b'{"order": []}', b'{"order": {"number": "1"}}']
        )
    )  # fmt: skip
    event = draw(st.sampled_from(ORDER_EVENTS))
    return _webhook(
        "webhook.not_an_order", event, body, webhook_headers(shop, event, body), frozenset({400})
    )


def webhook_wrong_endpoint(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    path = ORDERS if event == "APP_DELETED" else APP_DELETED
    headers = webhook_headers(shop, event, body)
    if draw(st.booleans()):
        wrong = draw(st.sampled_from(["product_created", "checkout_created", "order-created", "*"]))
        headers = _set_header(headers, "Saleor-Event", wrong.encode())
        path = draw(st.sampled_from([ORDERS, APP_DELETED]))
    return _webhook("webhook.wrong_event", event, body, headers, frozenset({400}), path=path)


# --- webhooks: wrongly signed ---------------------------------------------------------------


def webhook_wrong_key(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    signature = _detached(OUTSIDER.private_key, shop.key.kid, body)  # the shop's kid, not its key
    headers = webhook_headers(shop, event, body, **{"Saleor-Signature": signature})
    return _webhook("webhook.wrong_key", event, body, headers, SIGNATURE_REFUSALS)


def webhook_unknown_kid(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    kid = draw(
        st.one_of(
            st.sampled_from([OUTSIDER.kid, "1", "../jwks"]),
            st.text(
                alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                min_size=8,
                max_size=12,
            ),
        )
    )
    signature = _detached(OUTSIDER.private_key, kid, body)
    headers = webhook_headers(shop, event, body, **{"Saleor-Signature": signature})
    return _webhook("webhook.unknown_kid", event, body, headers, UNKNOWN_KEY_REFUSALS)


def webhook_tampered(draw: Draw, world: World) -> Probe:
    """The shop's genuine signature over its genuine body, sent with a changed body."""
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    signature = shop.sign(body)
    payload = json.loads(body)
    how = draw(st.integers(0, 5))
    if how == 0 and isinstance(payload.get("order"), dict):
        payload["order"]["id"] = _pick(draw, _other(world, shop).order_ids)
    elif how == 1 and isinstance(payload.get("order"), dict):
        payload["order"]["number"] = "99999"
    elif how == 2:
        payload["issuingPrincipal"] = {"__typename": "App", "id": shop.app_id}
    elif how == 3 and isinstance(payload.get("app"), dict):
        payload["app"]["id"] = OTHER_APP_ID
    else:
        payload["issuedAt"] = "2030-01-01T00:00:00+00:00"
    tampered = json.dumps(payload).encode()
    append = draw(st.booleans())
    if tampered == body or append:
        tampered = body + draw(st.sampled_from([b" ", b"\n", b"\x00"]))
    headers = webhook_headers(shop, event, tampered, **{"Saleor-Signature": signature})
    return _webhook("webhook.tampered", event, tampered, headers, WEBHOOK_REFUSALS)


def webhook_alg_confusion(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    kid = shop.key.kid
    how = draw(st.integers(0, 5))
    if how == 0:  # alg none, empty or junk signature
        head = forge.header_segment({"alg": "none", "b64": False, "crit": ["b64"], "kid": kid})
        signature = f"{head}.." + draw(st.sampled_from(["", "AA", "e30"]))
    elif how == 1:  # HS256 keyed with the shop's public key
        secret = draw(st.sampled_from(forge.public_key_secrets(shop.key)))
        signature = forge.hmac_detached(
            secret, body, {**forge.SALEOR_HEADER_BASE, "alg": "HS256", "kid": kid}
        )
    else:  # the shop's own key, another algorithm
        alg = draw(st.sampled_from(["RS512", "PS256", "RS384", "ES256"]))
        sign_as = alg if alg in ("RS512", "PS256") else "RS256"
        signature = forge.sign_detached(
            shop.key.private_key,
            body,
            {**forge.SALEOR_HEADER_BASE, "alg": alg, "kid": kid},
            alg=sign_as,
        )
    headers = webhook_headers(shop, event, body, **{"Saleor-Signature": signature})
    return _webhook("webhook.alg_confusion", event, body, headers, SIGNATURE_REFUSALS)


def webhook_b64_crit(draw: Draw, world: World) -> Probe:
    """Signed with the shop's real key, but the header is not Saleor's (RFC 7797) header."""
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    kid = shop.key.kid
    variants: list[tuple[dict[str, Any] | str, bool]] = [
        ({"alg": "RS256", "kid": kid}, False),  # no b64/crit: a standard JWS over the raw body
        ({"alg": "RS256", "kid": kid}, True),  # standard JWS, payload encoded
        ({"alg": "RS256", "b64": True, "crit": ["b64"], "kid": kid}, True),
        ({"alg": "RS256", "b64": False, "kid": kid}, False),  # b64 not critical
        ({"alg": "RS256", "b64": "false", "crit": ["b64"], "kid": kid}, False),
        ({"alg": "RS256", "b64": False, "crit": ["b64", "exp"], "kid": kid}, False),
        ({"alg": "RS256", "b64": False, "crit": [], "kid": kid}, False),
        ({"alg": "RS256", "b64": False, "crit": "b64", "kid": kid}, False),
        ({"alg": "RS256", "b64": 0, "crit": ["b64"], "kid": kid}, False),
        (f'{{"alg":"RS256","b64":false,"crit":["b64"],"kid":"{kid}","kid":"{kid}"}}', False),
        (f'{{"alg":"none","alg":"RS256","b64":false,"crit":["b64"],"kid":"{kid}"}}', False),
        ('["RS256"]', False),
        ({"alg": "RS256", "b64": False, "crit": ["b64"]}, False),  # no kid
        ({"alg": "RS256", "b64": False, "crit": ["b64"], "kid": ""}, False),
        ({"alg": "RS256", "b64": False, "crit": ["b64"], "kid": [kid]}, False),
        ({"alg": "RS256", "b64": False, "crit": ["b64"], "kid": kid, "jwk": OUTSIDER.public_jwk}, False),
    ]  # fmt: skip
    header, encoded = draw(st.sampled_from(variants))
    key = OUTSIDER.private_key if "jwk" in str(header) else shop.key.private_key  # embedded key
    signature = forge.sign_detached(key, body, header, encoded_payload=encoded)
    if draw(st.integers(0, 3)) == 0:  # a complete JWS with the payload inside
        signature = forge.compact_jws(shop.key.private_key, body, {"alg": "RS256", "kid": kid})
    headers = webhook_headers(shop, event, body, **{"Saleor-Signature": signature})
    return _webhook("webhook.b64_crit_header", event, body, headers, SIGNATURE_REFUSALS)


def webhook_bad_signature_text(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    real = shop.sign(body)
    head, _, sig = real.partition("..")
    options = [
        head + ".." + sig[:-4],
        head + "." + sig,
        head + "..." + sig,
        head + ".." + sig + "..",
        head + ".." + sig[::-1],
        "A" * 20_000 + ".." + sig,
        head + ".." + sig + "=" * 2,
        head + "\r\n.." + sig,
        head.upper() + ".." + sig,
        _junk_text(draw),
    ]
    signature = draw(st.sampled_from(options))
    headers = webhook_headers(shop, event, body)
    headers = _set_header(headers, "Saleor-Signature", signature.encode("utf-8", "surrogatepass"))
    return _webhook("webhook.bad_signature_text", event, body, headers, WEBHOOK_REFUSALS)


def webhook_weak_key(draw: Draw, world: World) -> Probe:
    """A 1024-bit key under the shop's kid."""
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    signature = _detached(WEAK_KEY, shop.key.kid, body)
    headers = webhook_headers(shop, event, body, **{"Saleor-Signature": signature})
    return _webhook("webhook.weak_key", event, body, headers, SIGNATURE_REFUSALS)


# --- webhooks: replayed ---------------------------------------------------------------------


def webhook_replay_other_shop(draw: Draw, world: World) -> Probe:
    """Shop A's genuine webhook, claimed to come from shop B."""
    shop = _shop(draw, world)
    other = _other(world, shop)
    event, body = _signed(draw, shop)
    headers = webhook_headers(shop, event, body)
    headers = _set_header(headers, "Saleor-Api-Url", other.api_url.encode())
    if draw(st.booleans()):
        headers = _set_header(headers, "Saleor-Domain", other.fake.state.domain.encode())
    return _webhook("webhook.replay_other_shop", event, body, headers, UNKNOWN_KEY_REFUSALS)


def webhook_replay_unknown_shop(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    url = draw(st.sampled_from(webhook_url_variants(shop)))
    headers = _set_header(webhook_headers(shop, event, body), "Saleor-Api-Url", url.encode())
    return _webhook("webhook.replay_unknown_shop", event, body, headers, frozenset({400, 401}))


def webhook_relabelled_event(draw: Draw, world: World) -> Probe:
    """A genuine order webhook with another event name: Saleor signs the body, not the headers.

    The body says which event it is (``__typename``); ORDER_CREATED relabelled ORDER_FULLY_PAID
    would meet the shop's trigger for an unpaid order.
    """
    shop = _shop(draw, world)
    event, body = _pick(draw, shop.signed)
    relabel = draw(st.sampled_from([e for e in [*ORDER_EVENTS, "APP_DELETED"] if e != event]))
    headers = webhook_headers(shop, relabel, body, **{"Saleor-Signature": shop.sign(body)})
    return _webhook("webhook.relabelled_event", relabel, body, headers, frozenset({400, 401}))


def webhook_duplicate_headers(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    other = _other(world, shop)
    event, body = _signed(draw, shop)
    genuine = webhook_headers(shop, event, body)
    which = draw(st.integers(0, 2))
    if which == 0:  # another shop's URL first, the genuine one after it
        first = (b"Saleor-Api-Url", other.api_url.encode())
        allowed = UNKNOWN_KEY_REFUSALS
    elif which == 1:  # a forged signature first
        first = (b"Saleor-Signature", _detached(OUTSIDER.private_key, shop.key.kid, body).encode())
        allowed = SIGNATURE_REFUSALS
    else:  # an event this endpoint does not take first
        wrong = "order_created" if event == "APP_DELETED" else "app_deleted"
        first = (b"Saleor-Event", wrong.encode())
        allowed = frozenset({400})
    return _webhook("webhook.duplicate_headers", event, body, [first, *genuine], allowed)


def webhook_header_injection(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    name = draw(st.sampled_from(["Saleor-Api-Url", "Saleor-Event", "Saleor-Signature"]))
    original = dict(webhook_headers(shop, event, body))[name.encode()]
    middle = len(original) // 2
    payload = draw(
        st.sampled_from(
            [b"\r\nSaleor-Api-Url: http://evil/graphql/\r\n", b"\n", b"\r", b"\x00", b"\xc3\xa9",
             b"\xff\xfe", b"\x1b[31m", "ö".encode("latin-1"), b" " + b"x" * 70_000]
        )
    )  # fmt: skip
    value = original[:middle] + payload + original[middle:]
    headers = _set_header(webhook_headers(shop, event, body), name, value)
    allowed = frozenset({400, 401})
    return _webhook("webhook.header_injection", event, body, headers, allowed)


def webhook_huge_headers(draw: Draw, world: World) -> Probe:
    """Forged signature plus a flood of headers and huge values."""
    shop = _shop(draw, world)
    event, body = _signed(draw, shop)
    headers = webhook_headers(
        shop,
        event,
        body,
        **{"Saleor-Signature": _detached(OUTSIDER.private_key, shop.key.kid, body)},
    )
    count = draw(st.integers(1, 2_000))
    size = draw(st.sampled_from([10, 1_000, 100_000, 1_000_000]))
    extra = [(f"X-Hostile-{i}".encode(), b"v" * (size if i == 0 else 10)) for i in range(count)]
    return _webhook("webhook.huge_headers", event, body, headers + extra, SIGNATURE_REFUSALS)


# --- register -------------------------------------------------------------------------------


def _register_headers(url: str | bytes) -> list[Header]:
    value = url if isinstance(url, bytes) else url.encode()
    return [
        (b"Saleor-Api-Url", value),
        (b"Saleor-Domain", b"shop"),
        (b"Content-Type", b"application/json"),
    ]


def _register(
    kind: str, headers: list[Header], body: bytes, allowed: frozenset[int], chunked: bool = False
) -> Probe:
    return Probe(kind, f"POST {REGISTER}", "POST", REGISTER, headers, body, chunked, allowed)


def _asks_claimed_saleor(headers: list[Header]) -> CallAllowed:
    """Registration asks the claimed Saleor whether the token works (``{ app { id } }``): that one
    POST, to the URL the request claims (as the app reads the header), and nothing else."""
    claimed = next((v for k, v in headers if k.lower() == b"saleor-api-url"), b"")
    try:
        url = str(httpx.URL(claimed.decode("latin-1")))
    except (httpx.InvalidURL, UnicodeError):
        url = None

    def allowed(call: Call) -> bool:
        return url is not None and call.method == "POST" and call.url == url

    return allowed


def register_random(draw: Draw, world: World) -> Probe:
    headers: list[Header] = []
    if draw(st.booleans()):
        url = draw(st.sampled_from([*BAD_URLS, _shop(draw, world).api_url, _junk_text(draw)]))
        headers.append((b"Saleor-Api-Url", url.encode("utf-8", "surrogatepass")))
    return _register("register.random", headers, _junk_bytes(draw), REGISTER_REFUSALS)


def register_bad_body(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    how = draw(st.integers(0, 6))
    genuine = json.dumps({"auth_token": "t" * 30}).encode()
    if how == 0:
        body = genuine[: _cut(draw, len(genuine))]
    elif how == 1:  # a token with an encoded lone surrogate can reach the outbound call: 401
        body = _invalid_utf8(draw, genuine)
    elif how == 2:
        body = _deep(draw)
    elif how == 3:
        body = _huge_json(draw)
    elif how == 4:
        token = draw(
            st.sampled_from([None, 1, 10**400 if False else 1e300, [], {}, "", "   ", True])
        )
        body = json.dumps({"auth_token": token}).encode()
    elif how == 5:
        body = json.dumps({"token": "t" * 30, "authToken": "t" * 30}).encode()
    else:
        body = _junk_bytes(draw)
    allowed = frozenset({400, 401, 413}) if how == 1 else frozenset({400, 413})
    headers = _register_headers(shop.api_url)
    probe = _register("register.bad_body", headers, body, allowed)
    if how == 1:  # a well-formed body whose token has an encoded lone surrogate
        probe.may_call = _asks_claimed_saleor(headers)
    return probe


def register_forged_token(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    token = draw(
        st.one_of(
            st.text(
                alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                min_size=1,
                max_size=40,
            ),
            st.sampled_from(EVIL_TEXTS[2:]),
            st.just(shop.token()),  # a Dashboard token is not an app token
        )
    )
    body = json.dumps({"auth_token": token}).encode()
    headers = _register_headers(shop.api_url)
    probe = _register("register.forged_token", headers, body, frozenset({400, 401}))
    probe.may_call = _asks_claimed_saleor(headers)
    return probe


def register_other_shop_token(draw: Draw, world: World) -> Probe:
    """A token shop B's Saleor really issued, registered for shop A."""
    shop = _shop(draw, world)
    token = _other(world, shop).fake.state.issue_token()
    body = json.dumps({"auth_token": token}).encode()
    headers = _register_headers(shop.api_url)
    probe = _register("register.other_shop_token", headers, body, frozenset({401}))
    probe.may_call = _asks_claimed_saleor(headers)
    return probe


def register_unknown_saleor(draw: Draw, world: World) -> Probe:
    """A Saleor the app cannot reach (or that does not exist), with a token from a real one."""
    shop = _shop(draw, world)
    url = draw(st.sampled_from(webhook_url_variants(shop)[1:]))
    # Not a token that Saleor issued: with one, a spelling of the same Saleor's URL that still
    # reaches it (HTTP://, a trailing dot) would be a genuine installation under that spelling.
    token = draw(st.sampled_from(["x" * 30, _other(world, shop).fake.state.issue_token()]))
    body = json.dumps({"auth_token": token}).encode()
    headers = _register_headers(url)
    probe = _register("register.unknown_saleor", headers, body, frozenset({400, 401}))
    probe.may_call = _asks_claimed_saleor(headers)
    return probe


def register_malformed(draw: Draw, world: World) -> Probe:
    """Oversized bodies, bad URLs, injected headers."""
    shop = _shop(draw, world)
    body = json.dumps({"auth_token": "x" * 30}).encode()
    how = draw(st.integers(0, 3))
    if how == 0:
        big = _oversized(draw, body)
        return _register(
            "register.malformed",
            _register_headers(shop.api_url),
            big,
            frozenset({413}),
            draw(st.booleans()),
        )
    if how == 1:
        url = draw(st.sampled_from(BAD_URLS)).encode("utf-8", "surrogatepass")
        return _register("register.malformed", _register_headers(url), body, frozenset({400}))
    if how == 2:
        url = shop.api_url.encode()
        injected = draw(st.sampled_from([b"\r\nX: 1", b"\x00", b"\xc3\xa9", b" "]))
        value = url[:10] + injected + url[10:]
        # é (read as latin-1) makes another host name: unreachable, so 401 after trying
        allowed = frozenset({400, 401}) if injected == b"\xc3\xa9" else frozenset({400})
        probe = _register("register.malformed", _register_headers(value), body, allowed)
        if injected == b"\xc3\xa9":
            probe.may_call = _asks_claimed_saleor(probe.headers)
        return probe
    headers = [(b"Saleor-Api-Url", b""), *_register_headers(shop.api_url)]  # empty first
    return _register("register.malformed", headers, body, frozenset({400}))


# --- Dashboard API ----------------------------------------------------------------------------

READ_GETS = ["/session", "/config", "/jobs", "/jobs/{job}", "/order?order_id={order}",
             "/order/send-preview?order_id={order}", "/shop-options"]  # fmt: skip
READ_POSTS = [
    "/jobs/{job}/retry",
    "/jobs/retry-failed",
    "/order/send",
    "/config/delivery-date-preview",
]
CONFIGURE = ["PUT /config", "POST /config/test-connection"]
ALL_ENDPOINTS = [f"GET {p}" for p in READ_GETS] + [f"POST {p}" for p in READ_POSTS] + CONFIGURE


def _dashboard(
    kind: str,
    draw: Draw,
    shop: Shop,
    endpoint: str,
    headers: list[Header],
    allowed: frozenset[int],
    body: bytes | None = None,
) -> Probe:
    method, _, template = endpoint.partition(" ")
    path = DASHBOARD + template.format(job=_pick(draw, shop.job_ids), order=shop.order_ids[0])
    if body is None and method != "GET":
        body = json.dumps(_good_body(template, shop)).encode()
        headers = [*headers, (b"Content-Type", b"application/json")]
    label = f"{method} {DASHBOARD}{template.split('?')[0]}"
    return Probe(kind, label, method, path, headers, body or b"", False, allowed)


def _good_body(template: str, shop: Shop) -> Any:
    if template == "/config":
        return {"config": shop_config(), "config_version": shop.config_version}
    if template == "/config/test-connection":
        return {"gordon": shop_config()["gordon"]}
    if template == "/config/delivery-date-preview":
        return {"delivery_days": shop_config()["delivery_days"]}
    if template == "/order/send":
        return {"order_id": shop.order_ids[0]}
    return None


def _token_headers(shop: Shop, token: str | bytes, url: str | bytes | None = None) -> list[Header]:
    value = token if isinstance(token, bytes) else token.encode("utf-8", "surrogatepass")
    api_url = url if isinstance(url, bytes) else (url or shop.api_url).encode()
    return [(b"authorization-bearer", value), (b"saleor-api-url", api_url)]


def _claims(shop: Shop, **override: Any) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {
        "iat": now, "exp": now + 300, "iss": shop.api_url, "owner": "saleor", "type": "thirdparty",
        "email": "admin@example.com", "is_staff": True, "app": shop.app_id,
        "user_permissions": ALL_STAFF_PERMISSIONS,
    }  # fmt: skip
    claims.update(override)
    return claims


def dashboard_no_token(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    endpoint = draw(st.sampled_from(ALL_ENDPOINTS))
    headers = draw(
        st.sampled_from(
            [[], [(b"saleor-api-url", shop.api_url.encode())], [(b"authorization-bearer", shop.token().encode())],
             [(b"authorization", b"Bearer " + shop.token().encode()), (b"saleor-api-url", shop.api_url.encode())],
             [(b"authorization-bearer", b"  "), (b"saleor-api-url", shop.api_url.encode())]]
        )
    )  # fmt: skip
    return _dashboard("dashboard.no_token", draw, shop, endpoint, headers, frozenset({401}))


def dashboard_garbage_token(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    token = draw(
        st.one_of(
            st.text(min_size=1, max_size=200).filter(lambda t: t.strip() != ""),
            st.sampled_from(["a.b.c", "e30.e30.", "e30.e30.e30", "..", "Bearer x", "x" * 20_000]),
        )
    )
    endpoint = draw(st.sampled_from(ALL_ENDPOINTS))
    return _dashboard(
        "dashboard.garbage_token", draw, shop, endpoint, _token_headers(shop, token), TOKEN_REFUSALS
    )


def dashboard_forged_token(draw: Draw, world: World) -> Probe:
    """Structurally valid JWTs that are not the shop's: other key, other kid, other algorithm."""
    shop = _shop(draw, world)
    claims = _claims(shop)
    kid = shop.key.kid
    how = draw(st.integers(0, 6))
    if how == 0:
        token = forge.jwt_token(OUTSIDER.private_key, claims, {"alg": "RS256", "kid": kid})
    elif how == 1:
        token = forge.jwt_token(OUTSIDER.private_key, claims, {"alg": "RS256", "kid": OUTSIDER.kid})
    elif how == 2:
        token = forge.jwt_token(None, claims, {"alg": "none", "kid": kid})
    elif how == 3:
        secret = draw(st.sampled_from(forge.public_key_secrets(shop.key)))
        token = forge.jwt_token(None, claims, {"alg": "HS256", "kid": kid}, hmac_secret=secret)
    elif how == 4:
        alg = draw(st.sampled_from(["RS512", "PS256"]))
        token = forge.jwt_token(shop.key.private_key, claims, {"alg": alg, "kid": kid}, alg=alg)
    elif how == 5:  # the shop's key, a header the app does not accept for tokens
        header = draw(st.sampled_from([{"alg": "RS256", "kid": kid, "crit": ["b64"], "b64": False},
                                       {"alg": "RS256", "kid": kid, "b64": True}, {"alg": "RS256"},
                                       f'{{"alg":"RS256","kid":"{kid}","kid":"x"}}']))  # fmt: skip
        token = forge.jwt_token(shop.key.private_key, claims, header)
    else:
        token = forge.jwt_token(WEAK_KEY, claims, {"alg": "RS256", "kid": kid})
    endpoint = draw(st.sampled_from(ALL_ENDPOINTS))
    return _dashboard(
        "dashboard.forged_token",
        draw,
        shop,
        endpoint,
        _token_headers(shop, token),
        frozenset({401}),
    )


def dashboard_bad_claims(draw: Draw, world: World) -> Probe:
    """Signed with the shop's real key: expired, not yet valid, other issuer, other app, junk."""
    shop = _shop(draw, world)
    other = _other(world, shop)
    now = int(datetime.now(UTC).timestamp())
    override = draw(
        st.sampled_from(
            [{"exp": now - 1}, {"exp": now - 86_400}, {"exp": None}, {"exp": str(now + 300)}, {"exp": True},
             {"exp": float("nan")}, {"nbf": now + 3_600}, {"nbf": "soon"}, {"iss": other.api_url},
             {"iss": shop.api_url.rstrip("/")}, {"iss": None}, {"app": OTHER_APP_ID}, {"app": other.app_id},
             {"app": None}, {"app": [shop.app_id]}]
        )
    )  # fmt: skip
    claims = {k: v for k, v in _claims(shop, **override).items() if v is not None}
    token = (
        shop.key.sign_jwt(claims)
        if override != {"exp": float("nan")}
        else forge.jwt_token(
            shop.key.private_key, json.dumps(claims), {"alg": "RS256", "kid": shop.key.kid}
        )
    )
    endpoint = draw(st.sampled_from(ALL_ENDPOINTS))
    return _dashboard(
        "dashboard.bad_claims", draw, shop, endpoint, _token_headers(shop, token), frozenset({401})
    )


def dashboard_other_shop(draw: Draw, world: World) -> Probe:
    """Shop A's valid token for shop B's data, or for a URL that is almost A's."""
    shop = _shop(draw, world)
    other = _other(world, shop)
    url = draw(st.sampled_from([other.api_url, *webhook_url_variants(shop)]))
    endpoint = draw(st.sampled_from(ALL_ENDPOINTS))
    headers = _token_headers(shop, shop.token(), url)
    return _dashboard("dashboard.other_shop", draw, other, endpoint, headers, frozenset({400, 401}))


def dashboard_no_permission(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    permissions = draw(st.sampled_from([[], ["MANAGE_PRODUCTS"], "MANAGE_ORDERS", None, {"MANAGE_ORDERS": True},
                                        ["manage_orders"], ["MANAGE_APPS"], ["MANAGE_ORDERS", "MANAGE_APPS "]]))  # fmt: skip
    if permissions in (["MANAGE_APPS"],):
        endpoints = ALL_ENDPOINTS
    elif permissions == ["MANAGE_ORDERS", "MANAGE_APPS "]:
        endpoints = CONFIGURE
    else:
        endpoints = ALL_ENDPOINTS
    if draw(st.booleans()):  # MANAGE_ORDERS alone may not configure
        permissions, endpoints = ["MANAGE_ORDERS"], CONFIGURE
    token = shop.token(user_permissions=permissions)
    endpoint = draw(st.sampled_from(endpoints))
    return _dashboard(
        "dashboard.no_permission",
        draw,
        shop,
        endpoint,
        _token_headers(shop, token),
        frozenset({403}),
    )


def dashboard_header_injection(draw: Draw, world: World) -> Probe:
    shop = _shop(draw, world)
    token, url = shop.token().encode(), shop.api_url.encode()
    which = draw(st.integers(0, 4))
    injected = draw(
        st.sampled_from([b"\r\nsaleor-api-url: http://evil/", b"\n", b"\x00", b"\xc3\xa9", b"\xff"])
    )
    if which == 0:
        headers = _token_headers(shop, token[:20] + injected + token[20:])
        allowed = frozenset({401})
    elif which == 1:
        headers = _token_headers(shop, token, url[:12] + injected + url[12:])
        allowed = frozenset({400, 401})
    elif which == 2:
        headers = _token_headers(shop, token + b"x" * draw(st.sampled_from([20_000, 1_000_000])))
        allowed = frozenset({401})
    elif which == 3:  # another shop's URL first
        other = _other(world, shop)
        headers = [(b"saleor-api-url", other.api_url.encode()), *_token_headers(shop, token)]
        allowed = frozenset({401})
    else:  # a forged token first
        forged = forge.jwt_token(
            OUTSIDER.private_key, _claims(shop), {"alg": "RS256", "kid": shop.key.kid}
        )
        headers = [(b"authorization-bearer", forged.encode()), *_token_headers(shop, token)]
        allowed = frozenset({401})
    endpoint = draw(st.sampled_from(ALL_ENDPOINTS))
    return _dashboard("dashboard.header_injection", draw, shop, endpoint, headers, allowed)


def _bad_config(draw: Draw) -> Any:
    config = shop_config()
    how = draw(st.integers(0, 17))
    if how == 0:
        config["gordon"]["base_url"] = draw(
            st.sampled_from(["ftp://x", "", "http://", "javascript:x", "https://" + "a" * 5000])
        )
    elif how == 1:
        config["trigger_events"] = draw(
            st.sampled_from([["X"], [], "ORDER_FULLY_PAID", [None], [1] * 1000])
        )
    elif how == 2:
        config["delivery_groups"] = draw(
            st.sampled_from([None, "x", [None], [{}], [{"channel": 1}] * 500])
        )
    elif how == 3:
        config["default_time_window"] = draw(
            st.sampled_from(["25:00 - 26:00", "14:00-13:00", "", "x" * 10_000, 14])
        )
    elif how == 4:
        config["delivery_days"]["weekdays"] = draw(
            st.sampled_from([[], [8], [0], [1.5], [True], ["1"], [10**30]])
        )
    elif how == 5:
        config["delivery_days"]["timezone"] = draw(
            st.sampled_from(
                [
                    "Mars/Base",
                    "../../etc/passwd",
                    "",
                    "\x00",
                    "UTC\n",
                    "Europe/" + "x" * 300,
                    "/etc/localtime",
                    1,
                ]
            )
        )
    elif how == 6:
        config["delivery_days"]["lead_days"] = draw(
            st.sampled_from([-1, 10**18, 1e308, "1", None, 366, 100_000])
        )
    elif how == 7:
        config["delivery_days"]["cutoff"] = draw(
            st.sampled_from(["99:99", "24:00", "", "14", "14:00:00:00", 1400])
        )
    elif how == 8:
        config["delivery_days"]["holiday_country"] = draw(
            st.sampled_from(["XX", "", "se", "SE\x00", 1, "ÅÄ"])
        )
    elif how == 9:
        config["external_ref_prefix"] = draw(
            st.sampled_from(["x" * 10_000, None, 5, "\r\n", "../"])
        )
    elif how == 10:
        config[draw(st.sampled_from(["unknown_field", "\ud800"]))] = 1
    elif how == 15:
        where = draw(st.sampled_from(["external_ref_prefix", "default_time_window"]))
        config[where] = draw(st.sampled_from(["\ud800", "a\udfffb", "\x00"]))
    elif how == 16:
        config["gordon"][draw(st.sampled_from(["client_id", "client_secret"]))] = "\ud800x"
    elif how == 17:
        config["delivery_groups"][0]["deliverygroup"] = draw(
            st.sampled_from(["\ud800", "\x00", "x" * 100_000])
        )
    elif how == 11:
        config["gordon"] = draw(st.sampled_from([None, "x", [], {"base_url": None}]))
    elif how == 12:
        config["delivery_days"] = draw(st.sampled_from([None, [], "x", {"timezone": "UTC"}]))
    elif how == 13:
        return draw(st.sampled_from([None, [], "x", 1, {}]))
    else:
        config["gordon"]["client_id"] = draw(st.sampled_from(["", None, "x" * 100_000, 1, "\x00"]))
    return config


def dashboard_bad_body(draw: Draw, world: World) -> Probe:
    """A valid configurer token; the body is what is hostile (for ``PUT /config`` also a valid
    configuration based on a version that is not the stored one: refused with 409, nothing
    stored)."""
    shop = _shop(draw, world)
    endpoint = draw(
        st.sampled_from(
            [
                "PUT /config",
                "POST /config/test-connection",
                "POST /config/delivery-date-preview",
                "POST /order/send",
            ]
        )
    )
    template = endpoint.partition(" ")[2]
    how = draw(st.integers(0, 10 if template == "/config" else 9))
    content_type = b"application/json"
    allowed = BODY_REFUSALS
    genuine = json.dumps(_good_body(template, shop)).encode()
    if how == 0:
        body = _junk_bytes(draw)
    elif how == 1:
        body = genuine[: _cut(draw, len(genuine))]
    elif how == 2:
        body = _invalid_utf8(draw, genuine)
    elif how == 3:
        body = _deep(draw)
    elif how == 4:
        body = _huge_json(draw)
    elif how == 5:
        body = _oversized(draw, genuine)
        allowed = frozenset({413})
    elif how == 6:  # the right JSON, the wrong content type
        body = genuine
        content_type = draw(
            st.sampled_from(
                [
                    b"",
                    b"text/plain",
                    b"application/x-www-form-urlencoded",
                    b"application/jsonx",
                    b"multipart/form-data",
                ]
            )
        )
        allowed = frozenset({415})
    elif how == 7:
        wrapper = {"/config": "config", "/config/test-connection": "gordon",
                   "/config/delivery-date-preview": "delivery_days", "/order/send": "order_id"}[template]  # fmt: skip
        value = _bad_config(draw)
        if template == "/config/test-connection":
            value = value.get("gordon") if isinstance(value, dict) else value
        elif template == "/config/delivery-date-preview":
            value = value.get("delivery_days") if isinstance(value, dict) else value
        elif template == "/order/send":
            value = draw(st.sampled_from([None, 1, [], "", "x" * 256]))
        sent = {wrapper: value}
        if template == "/config":  # based on the stored version: the configuration is judged
            sent["config_version"] = shop.config_version
        body = json.dumps(sent).encode()
        if body == genuine:  # the part this endpoint reads came out unchanged
            body = json.dumps({**sent, "extra": 1}).encode()
    elif how == 8:
        body = json.dumps({**json.loads(genuine), "extra": True}).encode()
    elif how == 10:  # a valid configuration based on one that is not the stored one
        stored = shop.config_version
        based_on = draw(
            st.sampled_from([stored + 1, stored + 7, *([stored - 1, 0] if stored else [])])
        )
        body = json.dumps({"config": shop_config(), "config_version": based_on}).encode()
        allowed = frozenset({409})
    else:
        body = json.dumps(draw(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                                            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=4),
                                            max_leaves=20))).encode()  # fmt: skip
    headers = [*_token_headers(shop, shop.token()), (b"Content-Type", content_type)]
    probe = _dashboard("dashboard.bad_body", draw, shop, endpoint, headers, allowed, body=body)
    probe.chunked = how == 5 and draw(st.booleans())
    # An odd value the validator accepts (a 5,000-character https base URL) is the configurer's
    # own choice, made with a valid token: it may be saved; it must just not crash.
    probe.authentic = how == 7
    return probe


def dashboard_bad_params(draw: Draw, world: World) -> Probe:
    """A valid reader token; the path or query is hostile, or names the other shop's job."""
    shop = _shop(draw, world)
    other = _other(world, shop)
    options = [
        ("GET", "/jobs?page=0"), ("GET", "/jobs?page=abc"), ("GET", "/jobs?page=" + "9" * 40),
        ("GET", "/jobs?page_size=1000"), ("GET", "/jobs?page_size=-1"), ("GET", "/jobs?status=bogus"),
        ("GET", "/jobs?search=" + "x" * 300), ("GET", "/jobs/abc"), ("GET", "/jobs/-1"),
        ("GET", "/jobs/" + "9" * 30), ("GET", "/jobs/2147483648"), ("GET", "/jobs/9223372036854775808"),
        ("GET", "/jobs/1.5"), ("POST", "/jobs/" + "9" * 30 + "/retry"), ("POST", "/jobs/9223372036854775808/retry"),
        ("GET", "/order"), ("GET", "/order?order_id="), ("GET", "/order?order_id=" + "x" * 300),
        ("GET", "/order/send-preview"), ("GET", "/order/send-preview?order_id=" + "x" * 300),
        ("DELETE", "/config"), ("PATCH", "/config"), ("GET", "/nothing-here"), ("GET", "/jobs/%00"),
        ("GET", f"/jobs/{other.job_ids[0]}"), ("POST", f"/jobs/{other.job_ids[0]}/retry"),
        ("GET", f"/order?order_id={other.order_ids[0]}"),
    ]  # fmt: skip
    method, path = draw(st.sampled_from(options))
    headers = _token_headers(shop, shop.token())
    label = (
        f"{method} {DASHBOARD}{path.split('?')[0]}"
        if "/jobs/" not in path
        else f"{method} {DASHBOARD}/jobs/{{id}}"
    )
    probe = Probe(
        "dashboard.bad_params",
        label,
        method,
        DASHBOARD + path,
        headers,
        b"",
        False,
        frozenset({404, 405, 422}),
    )
    if path == f"/order?order_id={other.order_ids[0]}":  # answered 200, as an unknown order
        probe.valid = _other_shop_order_is_unknown
    return probe


def _other_shop_order_is_unknown(
    response: httpx.Response, before: Snapshot, after: Snapshot
) -> str | None:
    """Asking about the other shop's order: answered, but as an order this shop never saw."""
    if response.json().get("job") is not None:
        return "the other shop's job was shown"
    return None if before == after else "state changed"


# --- valid requests -------------------------------------------------------------------------


def _unchanged(response: httpx.Response, before: Snapshot, after: Snapshot) -> str | None:
    return None if before == after else "a read changed the database"


def valid_order_webhook(draw: Draw, world: World, shop: Shop | None = None) -> Probe:
    """A genuine order webhook: acknowledged and stored once, for its shop and order."""
    shop = shop or _shop(draw, world)
    order = shop.fake.state.add_order()
    shop.order_ids.append(order["id"])
    event = draw(st.sampled_from(["ORDER_CREATED", "ORDER_FULLY_PAID", "ORDER_UPDATED"]))
    body = shop.event_body(event, order["id"])
    installation_id = shop.installation_id

    def recorded(response: httpx.Response, before: Snapshot, after: Snapshot) -> str | None:
        if response.json().get("success") is not True:
            return f"not acknowledged: {response.text[:200]}"
        new = set(after["webhook_events"]) - set(before["webhook_events"])
        rows = [dict(json.loads(row)) for row in new]
        if (
            len(rows) != 1
            or rows[0].get("installation_id") != installation_id
            or rows[0].get("order_id") != order["id"]
        ):
            return f"expected one event of installation {installation_id}, got {rows}"
        return None

    probe = _webhook(
        "valid.order_webhook", event, body, webhook_headers(shop, event, body), frozenset()
    )
    probe.valid = recorded
    return probe


def valid_other_app_deleted(draw: Draw, world: World) -> Probe:
    """Saleor tells the app another app was deleted: acknowledged, nothing removed."""
    shop = _shop(draw, world)
    payload = json.loads(shop.app_deleted_body)
    payload["app"] = {"id": OTHER_APP_ID}
    body = json.dumps(payload).encode()
    probe = _webhook(
        "valid.other_app_deleted",
        "APP_DELETED",
        body,
        webhook_headers(shop, "APP_DELETED", body),
        frozenset(),
    )
    probe.valid = _unchanged
    return probe


def valid_dashboard_read(draw: Draw, world: World) -> Probe:
    """A read of the shop's own data: answered with exactly that data, and nothing stored."""
    shop = _shop(draw, world)
    path = draw(st.sampled_from(["/session", "/config", "/jobs", "/jobs?status=failed", "/jobs/{job}",
                                 "/order?order_id={order}"]))  # fmt: skip
    probe = _dashboard(
        "valid.dashboard_read",
        draw,
        shop,
        f"GET {path}",
        _token_headers(shop, shop.token()),
        frozenset(),
    )
    runtime = world.app.runtime
    asked = probe.path.removeprefix(DASHBOARD)

    async def answered_with_the_shops_data(
        response: httpx.Response, before: Snapshot, after: Snapshot
    ) -> str | None:
        if before != after:
            return "a read changed the database"
        body = response.json()
        jobs = [
            job
            for job in rows(after, "sync_jobs")
            if job["installation_id"] == shop.installation_id
        ]
        if path == "/session":
            expected = {"saleor_api_url": shop.api_url, "user_email": STAFF_USER["email"],
                        "can_configure": True, "configured": True, "token_revoked": False,
                        "timezone": "Europe/Stockholm"}  # fmt: skip  # the shop's delivery days
            return None if body == expected else f"session {body}, expected {expected}"
        if path == "/config":
            document = await runtime.installations.get_config_document(shop.installation_id)
            assert document is not None
            if body["config"] != document[0] or body["client_secret_set"] is not True:
                return f"config answered {body['config']}, stored {document[0]}"
            if str(body["config"]["gordon"].get("client_secret") or "") != "":
                return "the client secret was shown"
            return None
        if path.startswith("/jobs?") or path == "/jobs":
            wanted = [j for j in jobs if path == "/jobs" or j["status"] == "failed"]
            ids = [item["id"] for item in body["items"]]
            if body["total"] != len(wanted) or not set(ids) <= {j["id"] for j in wanted}:
                return f"jobs {ids} (total {body['total']}), the shop's are {[j['id'] for j in wanted]}"
            page = min(len(wanted), 25)  # the first page, of the default size
            return None if len(set(ids)) == len(ids) == page else f"a page of {len(ids)} jobs"
        if path == "/jobs/{job}":
            job_id = int(asked.rsplit("/", 1)[1])
            [job] = [j for j in jobs if j["id"] == job_id] or [None]
            if job is None or (body["id"], body["order_id"]) != (job["id"], job["order_id"]):
                return f"job {job_id} answered as {body}"
            return None
        order_id = asked.split("=", 1)[1]
        found = [j for j in jobs if j["order_id"] == order_id]
        if body["order_id"] != order_id or (body["job"] or {}).get("id") != (
            found[0]["id"] if found else None
        ):
            return f"order {order_id} answered as {body}, its job is {found}"
        return None

    probe.valid = answered_with_the_shops_data
    return probe


REF_PREFIXES = ["", "SG-", "web/"]
TIME_WINDOWS = ["14:00 - 16:00", "08:00 - 12:00", "17:00 - 21:00"]
TIMEZONES = ["Europe/Stockholm", "Europe/Helsinki", "UTC"]


def valid_dashboard_write(draw: Draw, world: World) -> Probe:
    """A configurer saves a changed configuration (stored as sent, the secret kept when left
    empty), or previews the delivery date of rules it has not saved (answered, nothing stored)."""
    shop = _shop(draw, world)
    if draw(st.booleans()):
        return _save_config(draw, world, shop)
    return _preview_delivery_date(draw, shop)


def _save_config(draw: Draw, world: World, shop: Shop) -> Probe:
    config = shop_config()
    config["external_ref_prefix"] = draw(st.sampled_from(REF_PREFIXES))
    config["default_time_window"] = draw(st.sampled_from(TIME_WINDOWS))
    config["delivery_days"]["lead_days"] = draw(st.integers(0, 3))
    secret = draw(st.sampled_from(["", "another-secret-0123456789"]))
    config["gordon"]["client_secret"] = secret
    body = json.dumps({"config": config, "config_version": shop.config_version}).encode()
    headers = [*_token_headers(shop, shop.token()), (b"Content-Type", b"application/json")]
    version = shop.config_version
    probe = _dashboard(
        "valid.dashboard_write", draw, shop, "PUT /config", headers, frozenset(), body
    )
    runtime = world.app.runtime

    async def stored_as_sent(
        response: httpx.Response, before: Snapshot, after: Snapshot
    ) -> str | None:
        saved = {"saved": True, "client_secret_set": True, "config_version": version + 1}
        if response.json() != saved:
            return f"answered {response.text[:200]}"
        document = await runtime.installations.get_config_document(shop.installation_id)
        assert document is not None
        data, stored_secret = document
        sent = {k: v for k, v in config["gordon"].items() if k != "client_secret"}
        stored = {k: data[k] for k in ("external_ref_prefix", "default_time_window")}
        stored["delivery_groups"] = [  # stored with every rule field, unset ones null
            {k: v for k, v in group.items() if v is not None} for group in data["delivery_groups"]
        ]
        expected = {k: config[k] for k in stored}
        if stored != expected or data["delivery_days"] != config["delivery_days"]:
            return f"stored {stored} {data['delivery_days']}, sent {expected} {config['delivery_days']}"
        if {k: v for k, v in data["gordon"].items() if k != "client_secret"} != sent:
            return f"stored gordon {data['gordon']}, sent {sent}"
        [old] = [row for row in rows(before, "installations") if row["id"] == shop.installation_id]
        kept = runtime.secret_box.decrypt(old["gordon_secret_encrypted"])
        if stored_secret != (secret or kept):
            return "the client secret was not stored as sent (or not kept when left empty)"
        others = [row for row in rows(after, "installations") if row["id"] != shop.installation_id]
        if others != [
            row for row in rows(before, "installations") if row["id"] != shop.installation_id
        ]:
            return "another shop's installation changed"
        return None

    probe.valid = stored_as_sent
    return probe


def _preview_delivery_date(draw: Draw, shop: Shop) -> Probe:
    weekdays = sorted(draw(st.sets(st.integers(1, 7), min_size=1, max_size=7)))
    days = {
        "timezone": draw(st.sampled_from(TIMEZONES)),
        "cutoff": draw(st.sampled_from(["00:30", "14:00", "23:59"])),
        "weekdays": weekdays,
        "lead_days": draw(st.integers(0, 3)),
        "holiday_country": draw(st.sampled_from(["SE", "FI"])),
    }
    body = json.dumps({"delivery_days": days}).encode()
    headers = [*_token_headers(shop, shop.token()), (b"Content-Type", b"application/json")]
    probe = _dashboard(
        "valid.dashboard_write", draw, shop, "POST /config/delivery-date-preview", headers,
        frozenset(), body,
    )  # fmt: skip

    def the_rules_date(response: httpx.Response, before: Snapshot, after: Snapshot) -> str | None:
        answer = response.json()
        now = datetime.fromisoformat(answer["now"])
        expected = parse_delivery_days(days).first_date(now)
        given = date.fromisoformat(answer["delivery_date"])
        earliest = now.astimezone(ZoneInfo(str(days["timezone"]))).date() + timedelta(
            days=int(str(days["lead_days"]))
        )
        if given != expected or given.isoweekday() not in weekdays or given < earliest:
            return f"previewed {given} for {days} at {now}, the rules give {expected}"
        return None if before == after else "a preview changed the database"

    probe.valid = the_rules_date
    return probe


def valid_register(draw: Draw, world: World) -> Probe:
    """Saleor reinstalls the app for a shop (a fresh token): the same installation, new token."""
    shop = _shop(draw, world)
    token = shop.fake.state.issue_token()
    probe = _register(
        "valid.register",
        _register_headers(shop.api_url),
        json.dumps({"auth_token": token}).encode(),
        frozenset(),
    )
    runtime = world.app.runtime

    async def token_replaced(
        response: httpx.Response, before: Snapshot, after: Snapshot
    ) -> str | None:
        if response.json() != {"success": True}:
            return response.text[:200]
        installation = await runtime.installations.get_installation(shop.api_url)
        if installation is None:
            return "the installation is gone"
        found = (installation.id, installation.app_id, installation.token, installation.revoked_at)
        if found != (shop.installation_id, shop.app_id, token, None):
            return f"stored (id, app, token, revoked) {found[:2]}, token new: {found[2] == token}"
        return None

    probe.valid = token_replaced
    return probe


def valid_rotated_key_webhook(draw: Draw, world: World) -> Probe:
    """The shop's Saleor signs with a new key: one JWKS refetch, the webhook is accepted, the new
    key is kept (the refetch limiter's window is fresh: a rotation must not lose an event)."""
    shop = _shop(draw, world)
    kid = shop.fake.state.rotate_key(keep_old=draw(st.booleans()))
    probe = valid_order_webhook(draw, world, shop)
    probe.kind = "valid.rotated_key_webhook"
    probe.new_refetch_window = True
    recorded = probe.valid
    assert recorded is not None

    def recorded_and_key_kept(
        response: httpx.Response, before: Snapshot, after: Snapshot
    ) -> str | None:
        problem = recorded(response, before, after)
        [row] = [r for r in rows(after, "installations") if r["id"] == shop.installation_id]
        kids = [key.get("kid") for key in row["jwks"]["keys"]]
        return problem or (None if kid in kids else f"the new key {kid} is not stored: {kids}")

    probe.valid = recorded_and_key_kept
    return probe


# --- the mix ----------------------------------------------------------------------------------
#
# (kind, weight); mix.py adds the KINDS of every kinds_*.py module beside this one.

KINDS: list[tuple[Kind, int]] = [
    (webhook_random, 4), (webhook_missing_header, 2), (webhook_bad_api_url, 2), (webhook_truncated, 3),
    (webhook_oversized, 2), (webhook_invalid_utf8, 2), (webhook_deep_json, 2), (webhook_huge_json, 2), (webhook_signed_oddities, 2),
    (webhook_not_an_order, 2), (webhook_wrong_endpoint, 2), (webhook_wrong_key, 3), (webhook_unknown_kid, 2),
    (webhook_tampered, 4), (webhook_alg_confusion, 3), (webhook_b64_crit, 3), (webhook_bad_signature_text, 2),
    (webhook_weak_key, 1), (webhook_replay_other_shop, 3), (webhook_replay_unknown_shop, 2),
    (webhook_relabelled_event, 3), (webhook_duplicate_headers, 2), (webhook_header_injection, 3),
    (webhook_huge_headers, 1),
    (register_random, 2), (register_bad_body, 2), (register_forged_token, 2), (register_other_shop_token, 1),
    (register_unknown_saleor, 1), (register_malformed, 2),
    (dashboard_no_token, 2), (dashboard_garbage_token, 2), (dashboard_forged_token, 4), (dashboard_bad_claims, 3),
    (dashboard_other_shop, 3), (dashboard_no_permission, 2), (dashboard_header_injection, 2),
    (dashboard_bad_body, 5), (dashboard_bad_params, 3),
    (valid_order_webhook, 3), (valid_other_app_deleted, 1), (valid_dashboard_read, 2), (valid_dashboard_write, 2),
    (valid_register, 1), (valid_rotated_key_webhook, 1),
]  # fmt: skip
