"""The hostile-input suite's world: two installed shops, a snapshot of every table, the checks.

``open_world`` starts nothing of its own beyond what ``tests/web`` uses: the real app
(``open_runtime`` + ``create_app`` over ``httpx.ASGITransport``, via ``tests.web.conftest``) on a
migrated database, and one Saleor fake per shop on loopback (serving its JWKS and GraphQL API). The
app's outbound HTTP may reach those fakes only (``LoopbackOnly``): a hostile ``Saleor-Api-Url``
never makes it call the internet; it gets a connection error, as from an unreachable host. Every
outbound request is recorded, reached or not.

The JWKS refetch limiter runs on the world's clock (``refetch_clock``), not the wall clock: a
request may be sent in a fresh limiter window (``new_refetch_window``), so that forgeries really
reach the signature check that follows a refetch, instead of meeting a limiter that an earlier
request spent.

``World.send(probe)`` sends one request and checks it:

- no 5xx, except the designed 503 ``JWKS_UNAVAILABLE`` (an unknown key id while Saleor's keys
  cannot be fetched again: Saleor retries 5xx, so a rotated key loses no event);
- a refused request: the status is one its kind allows, the body is the app's JSON error with a
  code and a sentence, **no row of any table changed** (every table of the database is read
  before and after: nothing a refused request may touch changes; see ``snapshot``), and **no
  outbound request** was made but those its kind allows (``Probe.may_call``) and a JWKS refetch
  from the Saleor of the installed shop the request names (the designed reaction to an unknown
  key id or a mismatching signature, limited to one per shop per limiter window);
- a valid request (interleaved, so that an app refusing everything fails): a 2xx and its effect,
  checked by its kind (what was stored, what was answered);
- nothing logged at ERROR, no traceback, whatever the answer.

Violations are collected, not raised, so that one run reports every kind that misbehaved.
"""

from __future__ import annotations

import copy
import inspect as pyinspect
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.saleor.jwks import DEFAULT_REFETCH_INTERVAL, JwksRefetchLimiter, jwks_url
from saleor_gordon.store.tables import sync_jobs
from tests.support.fixtures import RunningSaleorFake
from tests.support.saleor_fake import SigningKey
from tests.support.shop import shop_config as realistic_shop_config
from tests.web.conftest import WebApp, _opener, install_from_fake

ALL_STAFF_PERMISSIONS = ["MANAGE_ORDERS", "MANAGE_APPS", "MANAGE_PRODUCTS", "MANAGE_SHIPPING"]
SHOP_B_APP_ID = "QXBwOjc="  # shop A keeps the fake's default app id; two shops, two app ids
OTHER_APP_ID = "QXBwOjk5OQ=="
DESIGNED_5XX = {(503, "JWKS_UNAVAILABLE")}

MAX_REPORTED_PER_KIND = 3

# Columns a refused request may legitimately change: none. (A refused request that names an unknown
# key id may make the app refetch the shop's JWKS and store it with ``jwks_fetched_at``; the app
# stores it only when it differs from the cached one, and a fake rotates its key only in a valid
# request, which makes the app fetch and store the new JWKS, so even that leaves every row as it
# was.)
VOLATILE_COLUMNS: dict[str, frozenset[str]] = {}


def shop_config() -> dict[str, Any]:
    """A realistic configuration (README), as the Dashboard saves it."""
    return realistic_shop_config(
        "https://backend.staging.gordondelivery.com",
        client_id="hostile-client",
        client_secret="hostile-secret-0123456789",
        external_ref_prefix="",
        delivery_groups=[
            {"deliverygroup": "Gordon Store", "channel": "sverige", "time_window": "17:00 - 21:00"}
        ],
        delivery_days={
            "timezone": "Europe/Stockholm",
            "cutoff": "14:00",
            "weekdays": [1, 2, 3, 4, 5],
            "lead_days": 1,
            "holiday_country": "SE",
        },
    )


# --- outbound -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One outbound request the app made."""

    method: str
    url: str

    def __str__(self) -> str:
        return f"{self.method} {self.url[:200]}"


@dataclass
class LoopbackOnly(httpx.AsyncBaseTransport):
    """The app's outbound transport: the shops' fakes are reachable, every other host is not.

    Every request is recorded in ``calls``, whether it reached a fake or not."""

    origins: set[str] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)
    calls: list[Call] = field(default_factory=list)
    inner: httpx.AsyncHTTPTransport = field(default_factory=httpx.AsyncHTTPTransport)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(Call(request.method, str(request.url)))
        origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii', 'replace')}"
        if origin not in self.origins:
            self.refused[origin[:80]] += 1
            raise httpx.ConnectError("unreachable in the hostile-input suite", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# --- logs -----------------------------------------------------------------------------------


class ErrorRecords(logging.Handler):
    """Keeps every record at ERROR or above, and every record carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info or record.stack_info:
            self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        taken, self.records = self.records, []
        return taken


# --- the database, whole --------------------------------------------------------------------

Snapshot = dict[str, list[str]]


async def table_names(engine: AsyncEngine) -> list[str]:
    """Every table in the database (reflected, so a table added later is covered too)."""
    async with engine.connect() as connection:
        names: list[str] = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return sorted(names)


async def snapshot(engine: AsyncEngine, tables: list[str]) -> Snapshot:
    """Every row of every table, as sorted text (``VOLATILE_COLUMNS`` left out)."""
    result: Snapshot = {}
    async with engine.connect() as connection:
        for name in tables:
            rows = await connection.execute(text(f'SELECT * FROM "{name}"'))  # noqa: S608 - reflected names
            skip = VOLATILE_COLUMNS.get(name, frozenset())
            columns = list(rows.keys())
            keys = [k for k in columns if k not in skip]
            result[name] = sorted(
                json.dumps([[k, row[k]] for k in keys], default=str, sort_keys=True)
                for row in rows.mappings()
            )
    return result


def rows(state: Snapshot, table: str) -> list[dict[str, Any]]:
    """The rows of ``table`` in a snapshot, as dictionaries (values as JSON gave them back)."""
    return [
        {key: _json_value(value) for key, value in json.loads(row)} for row in state.get(table, [])
    ]


def _json_value(value: Any) -> Any:
    """A JSON column read as text (SQLite) parsed, so both databases give the same value."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def describe_difference(before: Snapshot, after: Snapshot) -> str:
    lines = []
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        for row in sorted(old - new)[:2]:
            lines.append(f"{name}: - {row[:300]}")
        for row in sorted(new - old)[:2]:
            lines.append(f"{name}: + {row[:300]}")
    return "; ".join(lines)


# --- probes ---------------------------------------------------------------------------------

Header = tuple[bytes, bytes]
ValidCheck = Callable[[httpx.Response, Snapshot, Snapshot], str | Awaitable[str | None] | None]
"""A valid request's effect: a problem (text) or None; may be a coroutine (to read the stores)."""
CallAllowed = Callable[[Call], bool]


@dataclass
class Probe:
    """One request and what must come of it."""

    kind: str
    endpoint: str
    """``POST /api/webhooks/orders``, ``PUT /api/dashboard/config``…, for the figures."""
    method: str
    path: str
    headers: list[Header]
    body: bytes = b""
    chunked: bool = False
    """Send the body in pieces without Content-Length (the limit must hold on the stream too)."""
    allowed: frozenset[int] = frozenset()
    """Statuses a refusal of this kind may have (4xx, or the designed 503)."""
    valid: ValidCheck | None = None
    """Set for a valid request: it must be answered 2xx and this returns a problem or None."""
    authentic: bool = False
    """Really signed by the shop's Saleor, only odd: accepting it is no forgery (2xx allowed,
    state may change), but it must still get no 5xx and log no error."""
    may_call: CallAllowed | None = None
    """Outbound requests a refusal of this kind may make besides an installed shop's JWKS
    refetch (registration asks the claimed Saleor before it can tell a token is bad)."""
    new_refetch_window: bool = False
    """Send it in a fresh JWKS refetch-limiter window (the kind needs a refetch to succeed)."""

    def describe(self) -> str:
        shown = [(k.decode("latin-1"), v[:120].decode("latin-1")) for k, v in self.headers]
        return (
            f"{self.method} {self.path[:200]} headers={shown} "
            f"body[{len(self.body)}]={self.body[:160]!r}{' (chunked)' if self.chunked else ''}"
        )


@dataclass
class Violation:
    kind: str
    problem: str
    request: str
    status: int
    response: str


# --- shops and the world --------------------------------------------------------------------


@dataclass
class Shop:
    name: str
    fake: RunningSaleorFake
    installation_id: int
    order_ids: list[str] = field(default_factory=list)
    job_ids: list[int] = field(default_factory=list)
    signed: list[tuple[str, bytes]] = field(default_factory=list)
    """(event, body) of webhooks this shop's Saleor really sent (signed with ``sign``)."""
    app_deleted_body: bytes = b""
    config_version: int = 0
    """The version of the shop's stored configuration (``World.observe``): what a save based on
    the configuration as stored now sends."""

    @property
    def api_url(self) -> str:
        return self.fake.api_url

    @property
    def key(self) -> SigningKey:
        return self.fake.state.signing_key

    @property
    def app_id(self) -> str:
        return self.fake.state.app_id

    def sign(self, body: bytes) -> str:
        return self.fake.state.sign(body)

    def token(self, *, now: datetime | None = None, ttl: int = 300, **claims: object) -> str:
        claims.setdefault("user_permissions", ALL_STAFF_PERMISSIONS)
        return self.fake.state.dashboard_token(now=now or datetime.now(UTC), ttl=ttl, **claims)

    def event_body(self, event: str, order_id: str | None = None, **fields: Any) -> bytes:
        hooks = self.fake.state.webhooks_for(event)
        payload = self.fake.state.event_payload(
            event, order_id=order_id, query=hooks[0].query if hooks else None
        )
        payload.update(fields)
        return json.dumps(payload).encode()


@dataclass
class World:
    app: WebApp
    shops: list[Shop]
    outbound: LoopbackOnly
    errors: ErrorRecords
    tables: list[str]
    state: Snapshot = field(default_factory=dict)
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    status_by_kind: dict[str, Counter[int]] = field(default_factory=dict)
    endpoints: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    repairs: int = 0
    refetch_clock: float = 0.0
    """The JWKS refetch limiter's clock (seconds); only ``new_refetch_window`` moves it."""
    refetch_windows: int = 0
    calls_by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    """Outbound requests each kind caused (``METHOD origin/path``), for the figures."""

    @property
    def a(self) -> Shop:
        return self.shops[0]

    @property
    def b(self) -> Shop:
        return self.shops[1]

    def observe(self, state: Snapshot) -> None:
        """The database as it is now: its rows, and each shop's configuration version."""
        self.state = state
        versions = {row["id"]: row["config_version"] for row in rows(state, "installations")}
        for shop in self.shops:
            shop.config_version = versions.get(shop.installation_id, 0)

    def refetch_now(self) -> float:
        return self.refetch_clock

    def new_refetch_window(self) -> None:
        """Move the limiter's clock past its interval: every shop may be refetched once again."""
        self.refetch_clock += DEFAULT_REFETCH_INTERVAL + 1
        self.refetch_windows += 1

    async def send(self, probe: Probe) -> httpx.Response:
        if probe.new_refetch_window:
            self.new_refetch_window()
        before = self.state
        first_call = len(self.outbound.calls)
        content: bytes | AsyncIterator[bytes] = _chunks(probe.body) if probe.chunked else probe.body
        response = await self.app.client.request(
            probe.method, probe.path, headers=probe.headers, content=content
        )
        calls = self.outbound.calls[first_call:]
        after = await snapshot(self.app.runtime.engine, self.tables)
        self.observe(after)
        self._count(probe, response, calls)
        problems = self._problems(probe, response, before, after)
        if probe.valid is not None and 200 <= response.status_code < 300:
            try:
                outcome = probe.valid(response, before, after)
                problem = await outcome if pyinspect.isawaitable(outcome) else outcome
            except Exception as exc:  # a broken answer is reported, not raised
                problem = f"the answer could not be checked: {exc!r}"
            if problem:
                problems.append(problem)
        problems.extend(self._outbound_problems(probe, response, calls))
        for problem in problems:
            self.violations.append(
                Violation(
                    probe.kind,
                    problem,
                    probe.describe(),
                    response.status_code,
                    response.text[:400],
                )
            )
        await self._repair()
        return response

    def _count(self, probe: Probe, response: httpx.Response, calls: list[Call]) -> None:
        self.sent[probe.kind] += 1
        made = self.calls_by_kind.setdefault(probe.kind, Counter())
        for call in calls:
            made[f"{call.method} {origin_of(call.url)}{urlsplit(call.url).path}"[:100]] += 1
        self.endpoints[probe.endpoint] += 1
        self.statuses[response.status_code] += 1
        self.status_by_kind.setdefault(probe.kind, Counter())[response.status_code] += 1
        code = _error_code(response)
        if code:
            self.codes[code] += 1

    def _problems(
        self, probe: Probe, response: httpx.Response, before: Snapshot, after: Snapshot
    ) -> list[str]:
        problems = []
        status = response.status_code
        code = _error_code(response)
        if status >= 500 and (status, code) not in DESIGNED_5XX:
            problems.append(f"5xx ({status} {code})")
        for record in self.errors.take():
            problems.append(
                f"logged {record.levelname} {record.name}: {record.getMessage()[:300]}"
                + (" (with traceback)" if record.exc_info else "")
            )
        if probe.valid is not None:
            if not 200 <= status < 300:
                problems.append(f"a valid request was refused ({status} {code})")
            return problems
        if probe.authentic:
            if status >= 300 and status not in probe.allowed:
                problems.append(f"status {status} ({code}) not in {sorted(probe.allowed)}")
            if status >= 400 and _error_message(response) is None:
                problems.append("the refusal has no JSON error with a code and a message")
            return problems
        if 200 <= status < 300:
            problems.append("FORGED REQUEST ACCEPTED")
        elif status not in probe.allowed:
            problems.append(f"status {status} ({code}) not in {sorted(probe.allowed)}")
        message = _error_message(response)
        if status >= 400 and message is None:
            problems.append("the refusal has no JSON error with a code and a message")
        if after != before:
            problems.append(f"STATE CHANGED: {describe_difference(before, after)}")
        return problems

    def _outbound_problems(
        self, probe: Probe, response: httpx.Response, calls: list[Call]
    ) -> list[str]:
        """A refused request may make no outbound request but the ones its kind allows and a
        JWKS refetch from the installed shop it names (its first ``Saleor-Api-Url``, exactly)."""
        accepted = 200 <= response.status_code < 300
        if probe.valid is not None or (probe.authentic and accepted):
            return []
        claimed = next((v for k, v in probe.headers if k.lower() == b"saleor-api-url"), b"")
        named = [shop for shop in self.shops if shop.api_url.encode() == claimed]
        refetch = jwks_url(named[0].api_url) if named else None
        unexpected = [
            call
            for call in calls
            if not (call.method == "GET" and call.url == refetch)
            and not (probe.may_call is not None and probe.may_call(call))
        ]
        return [f"OUTBOUND REQUEST by a refused request: {call}" for call in unexpected]

    async def _repair(self) -> None:
        """Reinstall a shop a forgery uninstalled, so that the rest of the run still means much."""
        for shop in self.shops:
            if await self.app.installation(shop.api_url) is None:
                self.repairs += 1
                shop.order_ids, shop.job_ids, shop.signed = [], [], []
                await install_shop(self.app, shop)
                await seed_shop(self.app, shop, 1)
                self.errors.take()
                self.observe(await snapshot(self.app.runtime.engine, self.tables))

    def report(self) -> dict[str, Any]:
        return {
            "requests": sum(self.sent.values()),
            "kinds": dict(sorted(self.sent.items())),
            "statuses": dict(sorted(self.statuses.items())),
            "status_by_kind": {
                k: dict(sorted(v.items())) for k, v in sorted(self.status_by_kind.items())
            },
            "endpoints": dict(sorted(self.endpoints.items())),
            "codes": dict(self.codes.most_common()),
            "outbound_refused": sum(self.outbound.refused.values()),
            "calls_by_kind": {
                k: dict(v.most_common()) for k, v in sorted(self.calls_by_kind.items()) if v
            },
            "refetch_windows": self.refetch_windows,
            "violations": len(self.violations),
            "violated_kinds": dict(Counter(v.kind for v in self.violations)),
            "repairs": self.repairs,
        }

    def violation_summary(self) -> str:
        by_kind: dict[str, list[Violation]] = {}
        for violation in self.violations:
            by_kind.setdefault(violation.kind, []).append(violation)
        lines = []
        for kind, found in sorted(by_kind.items()):
            lines.append(f"{kind}: {len(found)} violation(s)")
            for violation in found[:MAX_REPORTED_PER_KIND]:
                lines.append(f"  - {violation.problem}")
                lines.append(f"    request: {violation.request}")
                lines.append(f"    answer: {violation.status} {violation.response}")
        return "\n".join(lines)


def _error_code(response: httpx.Response) -> str | None:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def _error_message(response: httpx.Response) -> str | None:
    """The refusal's sentence, when the body is the app's JSON error shape."""
    if not response.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or body.get("success") is not False:
        return None
    code, message = error.get("code"), error.get("message")
    if not (isinstance(code, str) and code and isinstance(message, str)):
        return None
    return message if len(message.split()) >= 3 else None  # a sentence, not a bare code


async def _chunks(body: bytes, size: int = 65_536) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


# --- building it ----------------------------------------------------------------------------


async def install_shop(app: WebApp, shop: Shop) -> None:
    installation = await install_from_fake(app, shop.fake)
    shop.installation_id = installation.id
    response = await app.client.put(
        "/api/dashboard/config",
        json={"config": shop_config(), "config_version": 0},  # a new installation's
        headers={"authorization-bearer": shop.token(), "saleor-api-url": shop.api_url},
    )
    assert response.status_code == 200, response.text


async def seed_shop(app: WebApp, shop: Shop, orders: int) -> None:
    """Orders created and paid, as Saleor delivers them; one job failed, one waiting."""
    for _ in range(orders):
        order = shop.fake.state.add_order()
        shop.order_ids.append(order["id"])
        for event in ("ORDER_CREATED", "ORDER_FULLY_PAID"):
            body = shop.event_body(event, order["id"])
            headers = webhook_headers(shop, event, body)
            response = await app.client.post("/api/webhooks/orders", content=body, headers=headers)
            assert response.status_code == 200, response.text
            shop.signed.append((event, body))
    async with app.runtime.engine.begin() as connection:
        rows = await connection.execute(
            sync_jobs.select().where(sync_jobs.c.installation_id == shop.installation_id)
        )
        shop.job_ids = sorted(row.id for row in rows)
        await connection.execute(
            sync_jobs.update()
            .where(sync_jobs.c.id == shop.job_ids[0])
            .values(status="failed", last_message="Gordon refused the order.")
        )
    deleted = json.loads(shop.event_body("APP_DELETED"))
    shop.app_deleted_body = json.dumps(deleted).encode()


def webhook_headers(shop: Shop, event: str, body: bytes, **override: str) -> list[Header]:
    values = {
        "Content-Type": "application/json",
        "Saleor-Event": event.lower(),
        "Saleor-Domain": shop.fake.state.domain,
        "Saleor-Signature": shop.sign(body),
        "Saleor-Api-Url": shop.api_url,
    }
    values.update(override)
    return [(k.encode(), v.encode("utf-8")) for k, v in values.items()]


@asynccontextmanager
async def open_world(
    database_url: str,
    fakes: list[RunningSaleorFake],
    *,
    orders_per_shop: int = 3,
    **settings: Any,
) -> AsyncIterator[World]:
    """``settings``: more of the app's ``Settings`` (``app_url``, allow-lists, …)."""
    fakes[1].state.app_id = SHOP_B_APP_ID
    outbound = LoopbackOnly(origins={origin_of(f.api_url) for f in fakes})
    errors = ErrorRecords()
    root = logging.getLogger()
    async for open_app in _opener(database_url):
        app = await open_app(transport=outbound, **settings)
        shops = [Shop(name, fake, 0) for name, fake in zip("AB", fakes, strict=True)]
        for shop in shops:
            await install_shop(app, shop)
            await seed_shop(app, shop, orders_per_shop)
        tables = await table_names(app.runtime.engine)
        world = World(app=app, shops=shops, outbound=outbound, errors=errors, tables=tables)
        app.runtime.jwks_limiter = JwksRefetchLimiter(clock=world.refetch_now)
        world.observe(await snapshot(app.runtime.engine, tables))
        root.addHandler(errors)
        try:
            yield world
        finally:
            root.removeHandler(errors)


def copy_payload(body: bytes) -> dict[str, Any]:
    payload: dict[str, Any] = copy.deepcopy(json.loads(body))
    return payload
