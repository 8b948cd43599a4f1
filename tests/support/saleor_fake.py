"""A Saleor fake: a real ASGI app for tests, benchmarks and local trials.

One ``SaleorFakeState`` is one Saleor instance: its RSA signing key (kid = RFC 7638 thumbprint),
app tokens, orders, installed webhooks and failure switches. ``create_saleor_fake(state)`` serves:

- ``GET /.well-known/jwks.json``: the public key(s), or whatever ``serve_jwks`` set;
- ``POST /graphql/``: parses, validates and executes the request against the real Saleor schema
  (found by ``saleor_schema.find_schema``: ``SALEOR_SCHEMA_PATH``, else the copy kept in
  ``tests/data/saleor``) with graphql-core. Resolvers exist for ``app``, ``order``, ``shop``, ``channels``,
  ``warehouses``, ``shippingZones`` (only with MANAGE_SHIPPING among the installed app's
  permissions; ``app`` lists them, and the installed webhooks), ``updateMetadata``,
  ``updatePrivateMetadata``, ``deletePrivateMetadata``; other fields resolve from the stored dicts
  (absent = null). Errors are shaped like the recorded responses in ``samples/graphql_responses``.

Failure switches: ``down``, ``unavailable_for`` and ``fail_next`` answer HTTP errors at once;
``inject_graphql_faults`` (``GraphQLFaults``) makes seeded random GraphQL requests hang past the
client's timeout without being executed, and mutations be executed and then hang: their change is
made in Saleor (and its ORDER_METADATA_UPDATED sent) but the answer never arrives.

The state also signs and sends webhooks exactly like Saleor (headers, detached JWS, body bytes
rendered from the installed subscription query), installs an app from its manifest and POSTs the
token to ``tokenTargetUrl``. ``running_saleor_fake()`` serves it on 127.0.0.1 in a thread.

Run standalone: ``python -m tests.support.saleor_fake --port 8800``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import functools
import hashlib
import json
import logging
import random
import secrets
import ssl
import string
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import httpx
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import rsa
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    Visitor,
    build_schema,
    execute_sync,
    parse,
    validate,
    visit,
)
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from saleor_gordon.json_text import JsonUnusable, parse_json
from tests.support.loopback import serve_on_loopback
from tests.support.saleor_schema import SALEOR_VERSION, find_schema

log = logging.getLogger(__name__)

SCHEMA_VERSION: Final = "3.23"
DEFAULT_API_URL: Final = "http://127.0.0.1:8000/graphql/"
DEFAULT_APP_ID: Final = "QXBwOjQ="
DEFAULT_APP_NAME: Final = "Gordon Delivery"
STAFF_USER: Final = {"__typename": "User", "id": "VXNlcjoyMQ==", "email": "admin@example.com"}
TOKEN_LENGTH: Final = 30
ORDER_TEMPLATE: Final = Path(__file__).with_name("saleor_order_template.json")

ANONYMOUS_DENIED: Final = (
    "To access this path, you need one of the following permissions: "
    "AUTHENTICATED_STAFF_USER, AUTHENTICATED_APP"
)
ORDERS_DENIED: Final = (
    "To access this path, you need one of the following permissions: MANAGE_ORDERS"
)

# Used when no installed webhook gives a subscription for an event (shape of OrderEvents).
DEFAULT_EVENT_QUERY: Final = """
subscription {
  event {
    __typename issuedAt version
    issuingPrincipal { __typename ... on App { id name } ... on User { id email } }
    recipient { id name }
    ... on OrderCreated { order { id number status } }
    ... on OrderConfirmed { order { id number status } }
    ... on OrderPaid { order { id number status } }
    ... on OrderFullyPaid { order { id number status } }
    ... on OrderUpdated { order { id number status } }
    ... on OrderCancelled { order { id number status } }
    ... on OrderExpired { order { id number status } }
    ... on OrderFulfilled { order { id number status } }
    ... on OrderMetadataUpdated { order { id number status } }
    ... on FulfillmentCreated { order { id number status } fulfillment { id } notifyCustomer }
    ... on FulfillmentApproved { order { id number status } fulfillment { id } notifyCustomer }
    ... on FulfillmentTrackingNumberUpdated { order { id number status } fulfillment { id } }
    ... on AppDeleted { app { id name } }
  }
}
"""

DEFAULT_WAREHOUSES: Final = (
    {"__typename": "Warehouse", "id": "V2FyZWhvdXNlOjE=", "slug": "lager-vastberga",
     "name": "Lager Västberga", "clickAndCollectOption": "DISABLED"},
    {"__typename": "Warehouse", "id": "V2FyZWhvdXNlOjI=", "slug": "lager-goteborg",
     "name": "Lager Göteborg", "clickAndCollectOption": "DISABLED"},
)  # fmt: skip
"""Both serve the channel ``sverige`` (assigned to it and in its shipping zone)."""

# ShippingMethodType ids (what shippingZones shows) for the ShippingMethod ids orders carry.
DEFAULT_SHIPPING_ZONES: Final = (
    {"__typename": "ShippingZone", "id": "U2hpcHBpbmdab25lOjE=", "name": "Sverige hemleverans",
     "channels": [{"__typename": "Channel", "slug": "sverige"}],
     "shippingMethods": [
         {"__typename": "ShippingMethodType", "id": "U2hpcHBpbmdNZXRob2RUeXBlOjIx",
          "name": "Gordon hemleverans 17-21"},
         {"__typename": "ShippingMethodType", "id": "U2hpcHBpbmdNZXRob2RUeXBlOjIy",
          "name": "Gordon hemleverans 14-16"},
         {"__typename": "ShippingMethodType", "id": "U2hpcHBpbmdNZXRob2RUeXBlOjIz",
          "name": "Hämta i butik"},
     ],
     "warehouses": [dict(w) for w in DEFAULT_WAREHOUSES]},
)  # fmt: skip

HANG_POLL_SECONDS: Final = 0.05
TIMEOUT: Final = "timeout"
LOST: Final = "lost"

SHIPPING_DENIED: Final = (
    "To access this path, you need one of the following permissions: MANAGE_SHIPPING"
)

DEFAULT_CHANNELS: Final = (
    {"__typename": "Channel", "id": "Q2hhbm5lbDoz", "slug": "sverige", "name": "Sverige",
     "currencyCode": "SEK", "isActive": True, "defaultCountry": {"code": "SE", "country": "Sweden"},
     "warehouses": [dict(w) for w in DEFAULT_WAREHOUSES]},
)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Keys and signatures


@dataclass(frozen=True)
class SigningKey:
    """An RSA key as Saleor holds it: the private key plus its public JWK."""

    private_key: rsa.RSAPrivateKey
    kid: str
    public_jwk: dict[str, object]

    @classmethod
    def generate(cls) -> SigningKey:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = private_key.public_key().public_numbers()
        n, e = _b64url_uint(numbers.n), _b64url_uint(numbers.e)
        kid = rfc7638_thumbprint(n=n, e=e)
        jwk: dict[str, object] = {
            "kty": "RSA", "key_ops": ["verify"], "n": n, "e": e,
            "use": "sig", "kid": kid, "alg": "RS256",
        }  # fmt: skip
        return cls(private_key=private_key, kid=kid, public_jwk=jwk)

    def sign_detached(self, body: bytes) -> str:
        """Saleor's ``JWTManager.jws_encode``: detached JWS, unencoded payload, RS256."""
        return jwt.api_jws.encode(
            body,
            self.private_key,
            algorithm="RS256",
            headers={"kid": self.kid, "crit": ["b64"]},
            is_payload_detached=True,
        )

    def sign_jwt(self, claims: Mapping[str, object]) -> str:
        return jwt.encode(
            dict(claims), self.private_key, algorithm="RS256", headers={"kid": self.kid}
        )


def rfc7638_thumbprint(*, n: str, e: str) -> str:
    """JWK thumbprint (RFC 7638, SHA-256) of an RSA public key given as base64url n and e."""
    canonical = json.dumps({"e": e, "kty": "RSA", "n": n}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# --------------------------------------------------------------------------------------------
# State


@dataclass(frozen=True)
class RecordedMutation:
    """A metadata mutation the fake executed."""

    field: str
    order_id: str
    items: Mapping[str, str] | Sequence[str]
    changed: bool


@dataclass(frozen=True)
class PendingEvent:
    """A webhook a request caused, sent once the response is out (Saleor: on commit)."""

    event: str
    order_id: str
    fulfillment_id: str | None = None
    notify_customer: bool | None = None
    """``notifyCustomer`` of the fulfillment events that carry it."""


@dataclass(frozen=True)
class CustomerNotification:
    """An e-mail Saleor would have its notification plugins send to the customer.

    ``kind``: ``fulfillment_confirmation`` (a fulfillment was created or approved with
    ``notifyCustomer``) or ``fulfillment_update`` (``fulfillmentUpdateTracking`` with
    ``notifyCustomer``); ``tracking_number`` as the e-mail shows it.
    """

    kind: str
    order_id: str
    fulfillment_id: str
    tracking_number: str


@dataclass(frozen=True)
class GraphQLFaults:
    """Seeded random faults of ``POST /graphql/`` (``SaleorFakeState.inject_graphql_faults``).

    Rates are shares of GraphQL requests, from 0 to 1. ``timeout_rate``: the request (query or
    mutation) hangs for ``hang_seconds``, or until the client gives up, then answers 504 without
    being executed. ``lost_rate``: a mutation is executed (the metadata change is made, recorded
    in ``mutations`` and ``lost_answers``, and its ORDER_METADATA_UPDATED sent), then hangs the
    same way: the answer never arrives. Queries are never "lost" (that is a timeout).
    """

    timeout_rate: float = 0.0
    lost_rate: float = 0.0
    hang_seconds: float = 30.0
    seed: int | None = None


@dataclass(frozen=True)
class InstalledWebhook:
    name: str
    events: frozenset[str]
    target_url: str
    query: str
    is_active: bool = True

    def as_graphql(self) -> dict[str, Any]:
        """The webhook as ``App.webhooks`` returns it."""
        return {
            "__typename": "Webhook",
            "id": global_id("Webhook", self.name),
            "name": self.name,
            "isActive": self.is_active,
            "targetUrl": self.target_url,
            "subscriptionQuery": self.query,
            "asyncEvents": [
                {"__typename": "WebhookEventAsync", "eventType": event, "name": event}
                for event in sorted(self.events)
            ],
            "syncEvents": [],
        }


@dataclass(frozen=True)
class Delivery:
    """One webhook POST the fake made (status None: connection failed)."""

    event: str
    target_url: str
    headers: Mapping[str, str]
    body: bytes
    status: int | None


@dataclass
class SaleorFakeState:
    """One simulated Saleor. Mutate it from tests; the ASGI app reads it on every request."""

    api_url: str = DEFAULT_API_URL
    app_id: str = DEFAULT_APP_ID
    app_name: str = DEFAULT_APP_NAME
    version: str = SALEOR_VERSION
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate()], repr=False)
    jwks_override: dict[str, object] | None = None
    tokens: dict[str, bool] = field(default_factory=dict, repr=False)  # token -> accepted
    other_apps: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    """Tokens of other apps installed in this Saleor -> the app each belongs to."""
    orders: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    channels: list[dict[str, Any]] = field(
        default_factory=lambda: copy.deepcopy(list(DEFAULT_CHANNELS))
    )
    warehouses: list[dict[str, Any]] = field(
        default_factory=lambda: copy.deepcopy(list(DEFAULT_WAREHOUSES))
    )
    shipping_zones: list[dict[str, Any]] = field(
        default_factory=lambda: copy.deepcopy(list(DEFAULT_SHIPPING_ZONES))
    )
    app_permissions: frozenset[str] = frozenset({"MANAGE_ORDERS", "MANAGE_SHIPPING"})
    """What the app token may do (set from the manifest on install, like Saleor)."""
    webhooks: list[InstalledWebhook] = field(default_factory=list)
    orders_where: bool = True
    """False: like a Saleor before 3.22, ``orders(where:)`` is an unknown argument (HTTP 400)."""
    down: bool = False
    unavailable_until: float | None = None
    """``time.monotonic()`` until which every request is answered 503 (``unavailable_for``)."""
    failures_left: int = 0
    failure_status: int = 503
    refused: int = 0
    """HTTP requests answered with a failure status (``down``, ``unavailable_for``, ``fail_next``)."""
    requests: Counter[str] = field(default_factory=Counter)  # GraphQL operation name -> count
    jwks_fetches: int = 0
    mutations: list[RecordedMutation] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    graphql_faults: GraphQLFaults = field(default_factory=GraphQLFaults)
    faults_injected: Counter[str] = field(default_factory=Counter)
    """GraphQL faults injected by ``graphql_faults``, by kind (``"timeout"``, ``"lost"``)."""
    lost_answers: list[RecordedMutation] = field(default_factory=list)
    """Mutations executed whose answer was lost (``GraphQLFaults.lost_rate``)."""
    on_metadata_changed: Callable[[str], None] | None = field(default=None, repr=False)
    """Called with the order's id right after a metadata mutation changed an order's metadata,
    in the thread that executed it (the fake's server): who waits for a write learns of it as
    it lands, without reading every order again and again."""
    _next_number: int = 1000
    # Fulfillments (``orderFulfill``, ``fulfillmentUpdateTracking``, ``fulfillmentApprove``):
    stocks: dict[tuple[str, str], int] = field(default_factory=dict)
    """Stock quantity per (variant id, warehouse id). ``add_order`` raises a stock to what the
    allocations on it hold (Saleor allocates only stock it has); ``set_stock`` changes it."""
    fulfillment_auto_approve: bool = True
    """Site setting ``fulfillmentAutoApprove`` (Saleor's default: on). Off: new fulfillments
    wait for approval (``WAITING_FOR_APPROVAL``)."""
    fulfillment_allow_unpaid: bool = True
    """Site setting ``fulfillmentAllowUnpaid`` (Saleor's default: on)."""
    use_legacy_shipping_zone_stock_availability: bool = True
    """Site setting ``useLegacyShippingZoneStockAvailability`` (on in 3.23: the column's
    database default): which warehouses' stock serves a channel (``stock_warehouses``)."""
    staff_tokens: set[str] = field(default_factory=set, repr=False)
    """Tokens of a staff user (all permissions), as the Dashboard sends them."""
    notifications: list[CustomerNotification] = field(default_factory=list)
    _order_of_item: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    """(list field, item id) -> id of the order ``_find_in_orders`` found it in last."""
    _next_fulfillment_pk: int = 10
    _next_fulfillment_line_pk: int = 100
    _next_allocation_pk: int = 100
    _allocation_totals: Counter[tuple[str, str]] = field(default_factory=Counter, repr=False)
    """What the stored orders allocate per stock, as the fake counted them (``_count``): the sum
    ``add_order`` raises a stock to, kept as orders come, change through the fake and go, so
    adding an order costs its own allocations, not every order's."""
    _counted: dict[str, Counter[tuple[str, str]]] = field(default_factory=dict, repr=False)
    """Each stored order's part of ``_allocation_totals``, by order id."""
    _counting: threading.Lock = field(default_factory=threading.Lock, repr=False)
    """Held while counting: tests add orders while the server's thread fulfils others."""
    held_operations: frozenset[str] = frozenset()
    """GraphQL operations (by name) held once they arrived (``hold_operations``)."""
    held: Counter[str] = field(default_factory=Counter)
    """Held requests by operation: arrived while held (waiting, or since released)."""
    abandoned: Counter[str] = field(default_factory=Counter)
    """Held requests whose client gave up before the release: answered 504, never executed."""
    _held_open: threading.Event = field(default_factory=threading.Event, repr=False)
    _fault_random: random.Random = field(default_factory=random.Random, repr=False)
    _background: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _sends_started: int = field(default=0, repr=False)
    _sends_finished: int = field(default=0, repr=False)
    _sends_counting: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- app and tokens ------------------------------------------------------------------

    @property
    def domain(self) -> str:
        return urlsplit(self.api_url).netloc

    def app(self) -> dict[str, Any]:
        return {"__typename": "App", "id": self.app_id, "name": self.app_name,
                "isActive": True, "identifier": "se.gordondelivery.saleor",
                "permissions": [{"__typename": "Permission", "code": code, "name": code}
                                for code in sorted(self.app_permissions)],
                "webhooks": [hook.as_graphql() for hook in self.webhooks]}  # fmt: skip

    def issue_token(self) -> str:
        """A new 30-character app token that Saleor accepts."""
        alphabet = string.ascii_letters + string.digits
        token = "".join(secrets.choice(alphabet) for _ in range(TOKEN_LENGTH))
        self.tokens[token] = True
        return token

    def issue_other_app_token(
        self, *, app_id: str = "QXBwOjk5", identifier: str | None = "com.example.other-app"
    ) -> str:
        """A token of another app installed in this Saleor: ``{ app }`` answers that app."""
        alphabet = string.ascii_letters + string.digits
        token = "".join(secrets.choice(alphabet) for _ in range(TOKEN_LENGTH))
        self.other_apps[token] = {"__typename": "App", "id": app_id, "name": "Other app",
                                  "isActive": True, "identifier": identifier,
                                  "permissions": [], "webhooks": []}  # fmt: skip
        return token

    def revoke_token(self, token: str) -> None:
        self.tokens[token] = False

    def revoke_all_tokens(self) -> None:
        self.tokens = dict.fromkeys(self.tokens, False)

    def accepts(self, token: str | None) -> bool:
        return token is not None and (self.tokens.get(token, False) or token in self.staff_tokens)

    def issue_staff_token(self) -> str:
        """A token of the staff user ``STAFF_USER`` (what the Dashboard calls the API with)."""
        token = "staff-" + secrets.token_urlsafe(16)
        self.staff_tokens.add(token)
        return token

    # -- keys ------------------------------------------------------------------------------

    @property
    def signing_key(self) -> SigningKey:
        return self.keys[-1]

    @property
    def jwks(self) -> dict[str, object]:
        if self.jwks_override is not None:
            return self.jwks_override
        return {"keys": [key.public_jwk for key in self.keys]}

    def rotate_key(self, *, keep_old: bool = False) -> str:
        """Sign with a fresh key from now on; the JWKS lists the old key too if ``keep_old``."""
        new = SigningKey.generate()
        self.keys = [*self.keys, new] if keep_old else [new]
        return new.kid

    def serve_jwks(self, jwks: dict[str, object] | None) -> None:
        """Serve this JWKS instead of the real one (None: back to the real one)."""
        self.jwks_override = jwks

    def sign(self, body: bytes) -> str:
        return self.signing_key.sign_detached(body)

    def dashboard_token(self, *, now: datetime, ttl: int = 300, **claims: object) -> str:
        """A Dashboard token for the app like ``App.accessToken`` (claims overridable)."""
        iat = int(now.timestamp())
        base: dict[str, object] = {
            "iat": iat, "exp": iat + ttl, "iss": self.api_url, "owner": "saleor",
            "type": "thirdparty", "token": "fake", "email": STAFF_USER["email"],
            "user_id": STAFF_USER["id"], "is_staff": True, "app": self.app_id,
            "permissions": ["MANAGE_ORDERS"], "user_permissions": ["MANAGE_ORDERS", "MANAGE_APPS"],
        }  # fmt: skip
        return self.signing_key.sign_jwt({**base, **claims})

    # -- failures --------------------------------------------------------------------------

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """Answer the next ``count`` HTTP requests (any endpoint) with ``status``."""
        self.failures_left, self.failure_status = count, status

    def unavailable_for(self, seconds: float) -> None:
        """Answer every HTTP request (GraphQL and JWKS) with 503 for the next ``seconds``: an
        outage that ends by itself, whatever the test is busy with meanwhile."""
        self.unavailable_until = time.monotonic() + seconds

    def inject_graphql_faults(self, faults: GraphQLFaults) -> None:
        """From now on, GraphQL requests time out and mutations lose their answers at random
        (``GraphQLFaults``), following ``faults.seed``."""
        self.graphql_faults = faults
        self._fault_random = random.Random(faults.seed)

    def hold_operations(self, *operations: str) -> None:
        """Make requests of these GraphQL operations wait, once they arrived and before they are
        executed, until ``release_operations()``. One whose client gives up meanwhile (a killed
        worker) is answered 504 and never executed: it did not reach Saleor's resolvers. A test
        can so act while the app's request is surely in flight."""
        self._held_open.clear()
        self.held_operations = frozenset(operations)

    def release_operations(self) -> None:
        self.held_operations = frozenset()
        self._held_open.set()

    async def _wait_if_held(self, request: Request, operation: str) -> bool:
        """Hold ``operation`` while it is held; False when its client gave up meanwhile."""
        if operation not in self.held_operations:
            return True
        self.held[operation] += 1
        while not self._held_open.is_set():
            if await request.is_disconnected():
                self.abandoned[operation] += 1
                return False
            await asyncio.sleep(HANG_POLL_SECONDS)
        return True

    def _next_graphql_fault(self, *, mutation: bool) -> str | None:
        faults = self.graphql_faults
        if not (faults.timeout_rate or faults.lost_rate):
            return None
        roll = self._fault_random.random()
        if roll < faults.timeout_rate:
            return TIMEOUT
        if mutation and roll < faults.timeout_rate + faults.lost_rate:
            return LOST
        return None

    @property
    def webhook_sends(self) -> tuple[int, int]:
        """(started, finished): of the requests that caused webhooks (``PendingEvent``), how
        many had them counted in flight (before the request's response left) and how many have
        had every one sent and answered since. Equal means none is on its way; unchanged
        across a look at the app means none started or arrived meanwhile. Who waits for
        "nothing more will happen" needs both: a webhook a request caused may reach the app
        after every job looks settled (a fulfillment's FULFILLMENT_CREATED after the echo of
        the metadata write that followed it, say)."""
        with self._sends_counting:
            return self._sends_started, self._sends_finished

    def _sending(
        self, events: list[PendingEvent], *, principal: Mapping[str, Any]
    ) -> Callable[[], Coroutine[Any, Any, None]]:
        """What sends ``events``, counted in ``webhook_sends`` from this call on."""
        with self._sends_counting:
            self._sends_started += 1

        async def send() -> None:
            try:
                await _emit_pending(self, events, principal=principal)
            finally:
                with self._sends_counting:
                    self._sends_finished += 1

        return send

    def _in_background(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    @property
    def unavailable(self) -> bool:
        """Is the fake answering 503 now (``down``, or within ``unavailable_for``)?"""
        until = self.unavailable_until
        return self.down or (until is not None and time.monotonic() < until)

    def _take_failure(self) -> int | None:
        if self.unavailable:
            self.refused += 1
            return 503
        if self.failures_left > 0:
            self.failures_left -= 1
            self.refused += 1
            return self.failure_status
        return None

    # -- orders ----------------------------------------------------------------------------

    def add_order(self, order: Mapping[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Store an order (default: a new copy of the recorded order 45 with a fresh id/number).

        ``order`` is shaped like a GraphQL answer (e.g. a recorded sample); fields the app selects
        but the sample lacks get defaults. ``fields`` override top-level fields. Returns the stored
        dict: changing it changes what the fake serves.
        """
        stored = copy.deepcopy(dict(order)) if order is not None else self._fresh_order()
        stored.update(copy.deepcopy(fields))
        _fill_order_defaults(stored)
        for line in stored.get("lines") or []:
            for allocation in line["allocations"]:
                if "id" not in allocation:
                    self._next_allocation_pk += 1
                    allocation["id"] = global_id("Allocation", str(self._next_allocation_pk))
        self.orders[stored["id"]] = stored
        with self._counting:
            self._count(stored)
            for key in self._counted[stored["id"]]:
                self.stocks[key] = max(self.stocks.get(key, 0), self._allocation_totals[key])
        return stored

    def _count(self, order: Mapping[str, Any], *, gone: bool = False) -> None:
        """Count ``order``'s allocations (again) in ``_allocation_totals``; ``gone``: it was
        deleted. Every change the fake makes to an order's allocations is counted here (adding,
        updating, deleting it, a fulfilment's transaction), so the totals are what
        ``allocated`` would sum, without summing every order. An allocation a test changes by
        hand in a stored order counts for ``allocated`` at once, and here at the order's next
        change through the fake."""
        order_id = str(order["id"])
        self._allocation_totals.subtract(self._counted.pop(order_id, Counter()))
        if not gone:
            self._counted[order_id] = _allocations_per_stock(order)
            self._allocation_totals.update(self._counted[order_id])

    def order(self, order_id: str) -> dict[str, Any]:
        """The stored order (live; KeyError if unknown)."""
        return self.orders[order_id]

    def update_order(self, order_id: str, **fields: Any) -> dict[str, Any]:
        stored = self.orders[order_id]
        stored.update(copy.deepcopy(fields))
        with self._counting:
            self._count(stored)
        return stored

    def delete_order(self, order_id: str) -> None:
        """Delete the order as Saleor does (the Django admin, a data-retention task, the
        deletion of expired orders): its lines, allocations and fulfillments go with it, and no
        webhook says so. Afterwards ``order(id:)`` answers null and every mutation naming it (or
        one of its fulfillments) ``NOT_FOUND``. KeyError if unknown."""
        with self._counting:
            self._count(self.orders.pop(order_id), gone=True)

    # -- stock and fulfillments --------------------------------------------------------------

    def set_stock(self, variant_id: str, warehouse_id: str, quantity: int | None) -> None:
        """Set a variant's stock quantity in a warehouse (None: the warehouse has no stock
        record of it, as for a variant never stocked there)."""
        if quantity is None:
            self.stocks.pop((variant_id, warehouse_id), None)
        else:
            self.stocks[(variant_id, warehouse_id)] = quantity

    def stock_warehouses(self, channel_slug: str | None) -> list[str]:
        """The warehouses whose stock serves ``channel_slug``, as Saleor 3.23.28 counts them
        (``Stock.objects.for_channel_or_country(slug, include_shipping_zones=legacy)`` without a
        country, ``saleor/warehouse/models.py``): the channel's own warehouses; with the legacy
        setting only those also in a shipping zone of the channel, plus the channel's
        click-and-collect warehouses. Where ``orderFulfill`` may take stock from, and what a
        line's ``variant { stocks }`` lists."""
        channel = next((c for c in self.channels if c.get("slug") == channel_slug), None)
        if channel is None:
            return []
        assigned = [str(w["id"]) for w in channel.get("warehouses") or []]
        if not self.use_legacy_shipping_zone_stock_availability:
            return assigned
        zoned = {
            str(w["id"])
            for zone in self.shipping_zones
            if any(c.get("slug") == channel_slug for c in zone.get("channels") or [])
            for w in zone.get("warehouses") or []
        }
        collection = {
            str(w["id"])
            for w in self.warehouses
            if w.get("clickAndCollectOption") in ("LOCAL", "ALL")
        }
        return [w for w in assigned if w in zoned or w in collection]

    def allocated(self, variant_id: str, warehouse_id: str) -> int:
        """``Stock.quantity_allocated``: what every order's lines hold of this stock."""
        return sum(
            int(allocation.get("quantity") or 0)
            for order in list(self.orders.values())  # other threads add orders
            for line in order.get("lines") or []
            if _variant_id(line) == variant_id
            for allocation in line.get("allocations") or []
            if (allocation.get("warehouse") or {}).get("id") == warehouse_id
        )

    def order_line(self, line_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(order, line) of an order line id, live; None if no order has it."""
        return self._find_in_orders("lines", line_id)

    def fulfillment(self, fulfillment_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(order, fulfillment) of a fulfillment id, live; None if no order has it."""
        return self._find_in_orders("fulfillments", fulfillment_id)

    def _find_in_orders(
        self, list_field: str, item_id: str
    ) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(order, item) of an order whose list ``list_field`` has an item ``item_id``, live
        (ids are unique, as Saleor's).

        The order found last time for the id is looked at first, and every order only when it
        no longer has the item: reading an order's lines asks this for each line (the channel of
        its variant), and a scan of every stored order took milliseconds once a benchmark had
        stored a hundred thousand (most of the harness's CPU in bench/ingest.py's busy rounds).
        """
        remembered = self._order_of_item.get((list_field, item_id))
        order = self.orders.get(remembered) if remembered is not None else None
        found = _item_in(order, list_field, item_id) if order is not None else None
        if found is not None:
            return found
        for order in list(self.orders.values()):  # other threads add orders
            if (found := _item_in(order, list_field, item_id)) is not None:
                self._order_of_item[(list_field, item_id)] = str(order.get("id"))
                return found
        return None

    async def staff_request(
        self, http: httpx.AsyncClient, query: str, variables: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Execute ``query`` as the staff user of the Dashboard would, in process, and send the
        webhooks it causes (issued by ``STAFF_USER``) through ``http``; the result's ``data``.

        Raises ``AssertionError`` on a GraphQL error (a test's own mistake).
        """
        context = _Context(state=self, token=self.issue_staff_token())
        document, errors = _checked_document(load_schema(), query)
        if document is None or errors:
            raise AssertionError(f"not a valid Saleor request: {errors}")
        result = execute_sync(
            load_schema(), document, variable_values=dict(variables or {}), context_value=context
        )
        if not isinstance(result, ExecutionResult) or result.errors:
            raise AssertionError(f"Saleor answered with errors: {getattr(result, 'errors', None)}")
        await _emit_pending(self, context.pending_events, principal=STAFF_USER, http=http)
        return dict(result.data or {})

    async def staff_fulfill(
        self,
        http: httpx.AsyncClient,
        order_id: str,
        *,
        tracking_number: str | None = None,
        notify_customer: bool = True,
    ) -> dict[str, Any]:
        """Fulfil every unfulfilled line from the warehouses it is allocated in (a line of an
        untracked variant: the first warehouse serving the channel that keeps it), as a person
        does on the Dashboard's fulfil page (``orderFulfill``); the mutation's payload
        (``errors`` of a refusal included)."""
        order = self.orders[order_id]
        lines = []
        for line in order.get("lines") or []:
            to_fulfil = int(line["quantity"]) - int(line.get("quantityFulfilled") or 0)
            stocks = []
            for allocation in line.get("allocations") or []:
                quantity = min(to_fulfil, int(allocation.get("quantity") or 0))
                if quantity > 0:
                    stocks.append(
                        {"warehouse": allocation["warehouse"]["id"], "quantity": quantity}
                    )
                    to_fulfil -= quantity
            variant_id = _variant_id(line)
            if to_fulfil > 0 and not stocks and not _tracks_inventory(line) and variant_id:
                serving = self.stock_warehouses((order.get("channel") or {}).get("slug"))
                kept = [w for w in serving if (variant_id, w) in self.stocks]
                if kept:  # the Dashboard's fulfil page offers the warehouses that keep it
                    stocks.append({"warehouse": kept[0], "quantity": to_fulfil})
            if stocks:
                lines.append({"orderLineId": line["id"], "stocks": stocks})
        fulfil_input: dict[str, Any] = {"lines": lines, "notifyCustomer": notify_customer}
        if tracking_number is not None:
            fulfil_input["trackingNumber"] = tracking_number
        variables = {"order": order_id, "input": fulfil_input}
        return await self._staff_mutation(http, STAFF_ORDER_FULFILL, variables)

    async def staff_update_tracking(
        self,
        http: httpx.AsyncClient,
        fulfillment_id: str,
        tracking_number: str,
        *,
        notify_customer: bool = False,
    ) -> dict[str, Any]:
        """``orderFulfillmentUpdateTracking`` as a person on the order page (edit tracking)."""
        tracking = {"trackingNumber": tracking_number, "notifyCustomer": notify_customer}
        variables = {"id": fulfillment_id, "input": tracking}
        return await self._staff_mutation(http, STAFF_UPDATE_TRACKING, variables)

    async def staff_approve_fulfillment(
        self, http: httpx.AsyncClient, fulfillment_id: str, *, notify_customer: bool = True
    ) -> dict[str, Any]:
        """``orderFulfillmentApprove`` as a person on the order page (approve)."""
        variables = {"id": fulfillment_id, "notifyCustomer": notify_customer}
        return await self._staff_mutation(http, STAFF_APPROVE_FULFILLMENT, variables)

    async def _staff_mutation(
        self, http: httpx.AsyncClient, document: str, variables: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The payload of the one mutation ``document`` runs as staff."""
        (payload,) = (await self.staff_request(http, document, variables)).values()
        if not isinstance(payload, dict):
            raise AssertionError(f"Saleor answered no payload: {payload!r}")
        return payload

    def _new_fulfillment(
        self,
        order: dict[str, Any],
        status: str,
        tracking_number: str,
        warehouse_id: str,
        lines: list[tuple[dict[str, Any], int]],
    ) -> dict[str, Any]:
        """A fulfillment of ``lines`` (order line, quantity) added to ``order``. Its warehouse is
        the one of its first line's stock (none without one, as ``Fulfillment.warehouse``)."""
        self._next_fulfillment_pk += 1
        fulfillments: list[dict[str, Any]] = order.setdefault("fulfillments", [])
        warehouse = next((w for w in self.warehouses if w["id"] == warehouse_id), None)
        stocked = bool(lines) and _has_stock(self, lines[0][0], warehouse_id)
        fulfillment_lines = []
        for line, quantity in lines:
            self._next_fulfillment_line_pk += 1
            fulfillment_lines.append({
                "__typename": "FulfillmentLine",
                "id": global_id("FulfillmentLine", str(self._next_fulfillment_line_pk)),
                "quantity": quantity, "orderLine": {"id": line["id"]},
            })  # fmt: skip
        fulfillment = {
            "__typename": "Fulfillment",
            "id": global_id("Fulfillment", str(self._next_fulfillment_pk)),
            "fulfillmentOrder": max((int(f.get("fulfillmentOrder") or 0) for f in fulfillments),
                                    default=0) + 1,
            "status": status, "statusDisplay": FULFILLMENT_STATUS_DISPLAY[status],
            "trackingNumber": tracking_number, "created": datetime.now(UTC).isoformat(),
            "warehouse": copy.deepcopy(warehouse) if stocked else None,
            "lines": fulfillment_lines, "metadata": [], "privateMetadata": [],
            "_warehouseId": warehouse_id,  # what approval takes the stock from
        }  # fmt: skip
        fulfillments.append(fulfillment)
        return fulfillment

    def _fresh_order(self) -> dict[str, Any]:
        order = _order_template()
        order_uuid = str(uuid.uuid4())
        self._next_number += 1
        order.update(
            id=global_id("Order", order_uuid), token=order_uuid, number=str(self._next_number)
        )
        for line in order.get("lines") or []:  # ids are unique in Saleor, also across orders
            line["id"] = global_id("OrderLine", str(uuid.uuid4()))
        # The recorded order asked for 2026-12-01; a fresh copy asks for a week from today, so that
        # it stays deliverable whenever the tests run.
        in_a_week = (datetime.now(UTC) + timedelta(days=7)).date().isoformat()
        for item in order.get("metadata") or []:
            if item.get("key") == "gordon.delivery_date":
                item["value"] = in_a_week
        return order

    # -- installation and webhooks ---------------------------------------------------------

    def install(self, manifest: Mapping[str, Any]) -> str:
        """Create the manifest's webhooks (like ``install_app``) and return a new app token."""
        self.webhooks = [
            InstalledWebhook(
                name=str(hook["name"]),
                events=frozenset(hook.get("asyncEvents") or ()),
                target_url=str(hook["targetUrl"]),
                query=str(hook["query"]),
                is_active=bool(hook.get("isActive", True)),
            )
            for hook in manifest.get("webhooks", [])
        ]
        if manifest.get("name"):
            self.app_name = str(manifest["name"])
        if "permissions" in manifest:
            self.app_permissions = frozenset(str(p) for p in manifest["permissions"])
        return self.issue_token()

    def webhooks_for(self, event: str) -> list[InstalledWebhook]:
        return [hook for hook in self.webhooks if hook.is_active and event.upper() in hook.events]

    def event_payload(
        self,
        event: str,
        *,
        order_id: str | None = None,
        principal: Mapping[str, Any] | None = None,
        query: str | None = None,
        issued_at: datetime | None = None,
        fulfillment_id: str | None = None,
        notify_customer: bool | None = None,
    ) -> dict[str, Any]:
        """The body Saleor would send for ``event`` (e.g. ``ORDER_FULLY_PAID``), as a dict.

        Rendered by executing ``query`` (default: the installed webhook's subscription for the
        event, else DEFAULT_EVENT_QUERY) against the schema with the stored order (and, for the
        fulfillment events, the stored fulfillment and ``notifyCustomer``).
        """
        hooks = self.webhooks_for(event)
        document = query or (hooks[0].query if hooks else DEFAULT_EVENT_QUERY)
        event_object = self._event_object(event, order_id, principal, issued_at)
        if fulfillment_id is not None:
            found = self.fulfillment(fulfillment_id)
            event_object["fulfillment"] = copy.deepcopy(found[1]) if found else None
        if notify_customer is not None:
            event_object["notifyCustomer"] = notify_customer
        root = {"event": event_object}
        schema = load_schema()
        parsed, errors = _checked_document(schema, document)
        if parsed is None or errors:
            raise ValueError(f"cannot render {event}: {errors}")
        result = execute_sync(
            schema, parsed, root_value=root, context_value=_Context(state=self, token=None)
        )
        if result.errors or not result.data:
            raise ValueError(f"cannot render {event}: {result.errors}")
        rendered: dict[str, Any] = result.data["event"]
        return rendered

    def order_event_payload(
        self, event: str, order_id: str, *, principal: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Body of an order event; principal defaults to the staff user (use ``app()`` for own)."""
        return self.event_payload(event, order_id=order_id, principal=principal)

    def _event_object(
        self,
        event: str,
        order_id: str | None,
        principal: Mapping[str, Any] | None,
        issued_at: datetime | None,
    ) -> dict[str, Any]:
        moment = issued_at or datetime.now(UTC)
        obj: dict[str, Any] = {
            "__typename": event_typename(event),
            "issuedAt": moment.isoformat(),
            "version": self.version,
            "issuingPrincipal": dict(principal) if principal is not None else dict(STAFF_USER),
            "recipient": self.app(),
            "app": self.app(),
        }
        if order_id is not None:
            obj["order"] = copy.deepcopy(self.orders[order_id])
        return obj

    def webhook_request(
        self, event: str, payload: Mapping[str, Any], *, api_url: str | None = None
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body bytes of the webhook request Saleor sends for ``payload``."""
        body = json.dumps(payload).encode()  # Saleor's separators and \\u escapes
        url = api_url or self.api_url
        domain = urlsplit(url).netloc
        signature = self.sign(body)
        name = event.lower()
        headers = {
            "User-Agent": f"Saleor/{SCHEMA_VERSION}",
            "Content-Type": "application/json",
            "X-Saleor-Event": name, "X-Saleor-Domain": domain, "X-Saleor-Signature": signature,
            "Saleor-Event": name, "Saleor-Domain": domain, "Saleor-Signature": signature,
            "Saleor-Api-Url": url,
        }  # fmt: skip
        return headers, body

    async def deliver(
        self,
        http: httpx.AsyncClient,
        target_url: str,
        event: str,
        payload: Mapping[str, Any],
        *,
        retries: int = 0,
        backoff: float = 0.0,
    ) -> Delivery:
        """POST a signed webhook; like Saleor, retry connection errors and 5xx (never 3xx/4xx)."""
        headers, body = self.webhook_request(event, payload)
        delivery = await self._post_once(http, target_url, event, headers, body)
        for attempt in range(retries):
            if delivery.status is not None and delivery.status < 500:
                break
            await asyncio.sleep(backoff * 2**attempt)
            delivery = await self._post_once(http, target_url, event, headers, body)
        return delivery

    async def emit(
        self,
        http: httpx.AsyncClient,
        event: str,
        *,
        order_id: str | None = None,
        principal: Mapping[str, Any] | None = None,
        fulfillment_id: str | None = None,
        notify_customer: bool | None = None,
    ) -> list[Delivery]:
        """Send ``event`` to every installed webhook subscribed to it."""
        deliveries = []
        for hook in self.webhooks_for(event):
            payload = self.event_payload(
                event, order_id=order_id, principal=principal, query=hook.query,
                fulfillment_id=fulfillment_id, notify_customer=notify_customer,
            )  # fmt: skip
            deliveries.append(await self.deliver(http, hook.target_url, event, payload))
        return deliveries

    async def uninstall(self, http: httpx.AsyncClient) -> list[Delivery]:
        """``appDelete``: the token stops working at once, then APP_DELETED is sent (3.23.5+)."""
        self.revoke_all_tokens()
        deliveries = await self.emit(http, "APP_DELETED", principal=STAFF_USER)
        self.webhooks = []
        return deliveries

    async def register(
        self, http: httpx.AsyncClient, token_target_url: str, token: str | None = None
    ) -> httpx.Response:
        """Saleor's token POST to ``tokenTargetUrl`` (``send_app_token``)."""
        body = {"auth_token": token if token is not None else self.issue_token()}
        headers = {
            "User-Agent": f"Saleor/{SCHEMA_VERSION}",
            "X-Saleor-Domain": self.domain, "Saleor-Domain": self.domain,
            "Saleor-Api-Url": self.api_url, "Saleor-Schema-Version": SCHEMA_VERSION,
        }  # fmt: skip
        return await http.post(token_target_url, json=body, headers=headers, follow_redirects=False)

    async def install_app(self, http: httpx.AsyncClient, manifest_url: str) -> httpx.Response:
        """The whole install: GET the manifest, create its webhooks, POST a new token."""
        response = await http.get(
            manifest_url,
            headers={
                "Saleor-Schema-Version": SCHEMA_VERSION,
                "User-Agent": f"Saleor/{SCHEMA_VERSION}",
            },
            follow_redirects=False,
        )
        response.raise_for_status()
        manifest = response.json()
        token = self.install(manifest)
        return await self.register(http, str(manifest["tokenTargetUrl"]), token)

    async def _post_once(
        self,
        http: httpx.AsyncClient,
        target_url: str,
        event: str,
        headers: dict[str, str],
        body: bytes,
    ) -> Delivery:
        try:
            response = await http.post(target_url, content=body, headers=headers, timeout=20.0)
            status: int | None = response.status_code
        except httpx.HTTPError:
            status = None
        delivery = Delivery(event.lower(), target_url, headers, body, status)
        self.deliveries.append(delivery)
        return delivery


def _item_in(
    order: dict[str, Any], list_field: str, item_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(order, item) if the order's list ``list_field`` has an item ``item_id``."""
    for item in order.get(list_field) or []:
        if item.get("id") == item_id:
            return order, item
    return None


def event_typename(event: str) -> str:
    """``ORDER_FULLY_PAID`` / ``order_fully_paid`` -> ``OrderFullyPaid``."""
    return "".join(part.capitalize() for part in event.lower().split("_"))


def global_id(type_name: str, pk: str) -> str:
    return base64.b64encode(f"{type_name}:{pk}".encode()).decode()


def _order_template() -> dict[str, Any]:
    template: dict[str, Any] = json.loads(ORDER_TEMPLATE.read_text(encoding="utf-8"))
    return template


def _fill_order_defaults(order: dict[str, Any]) -> None:
    order.setdefault("__typename", "Order")
    order.setdefault("chargeStatus", "FULL")
    order.setdefault("isPaid", True)
    order.setdefault("metadata", [])
    order.setdefault("privateMetadata", [])
    order.setdefault("fulfillments", [])
    for line in order.get("lines") or []:
        line.setdefault("allocations", [])
        line.setdefault("isShippingRequired", True)
        line.setdefault("quantityFulfilled", 0)
        allocations = line["allocations"]
        if len(allocations) == 1:  # the samples' allocations have no quantity: all of the line
            unfulfilled = int(line.get("quantity") or 0) - int(line["quantityFulfilled"])
            allocations[0].setdefault("quantity", unfulfilled)
        if any("quantity" not in allocation for allocation in allocations):
            raise ValueError(f"give each allocation of line {line.get('id')} its quantity")


def _variant_id(line: Mapping[str, Any]) -> str | None:
    """The id of a line's variant; None when the variant was deleted (``variant: null``)."""
    variant = line.get("variant")
    if isinstance(variant, Mapping):
        return str(variant["id"])
    return None if "variant" in line else line.get("productVariantId")


def _allocations_per_stock(order: Mapping[str, Any]) -> Counter[tuple[str, str]]:
    """What an order's allocations hold per (variant id, warehouse id) stock (every stock it
    allocates in, a quantity of 0 too), as ``SaleorFakeState.allocated`` sums them."""
    held: Counter[tuple[str, str]] = Counter()
    for line in order.get("lines") or []:
        variant_id = _variant_id(line)
        if variant_id is None:
            continue
        for allocation in line.get("allocations") or []:
            held[(variant_id, allocation["warehouse"]["id"])] += int(
                allocation.get("quantity") or 0
            )
    return held


# --------------------------------------------------------------------------------------------
# Schema and resolvers


def schema_path() -> Path:
    """Saleor's schema, as ``saleor_schema.find_schema`` finds it (raises ``SchemaNotFound``)."""
    return find_schema()


def load_schema(path: Path | None = None) -> GraphQLSchema:
    """The Saleor schema with the fake's resolvers; built once per process (it is big). Without
    ``path``: the schema ``schema_path`` finds, looked for once per process (the fake asks for
    it on every request and every webhook it renders)."""
    return _default_schema() if path is None else _build_schema(path.resolve())


@functools.cache
def _default_schema() -> GraphQLSchema:
    return _build_schema(schema_path().resolve())


@functools.cache
def _build_schema(path: Path) -> GraphQLSchema:
    schema = build_schema(path.read_text(encoding="utf-8"))
    _attach_resolvers(schema)
    return schema


@dataclass
class _Context:
    state: SaleorFakeState
    token: str | None
    pending_events: list[PendingEvent] = field(default_factory=list)

    @property
    def principal(self) -> dict[str, Any]:
        """Who the request acts as: the staff user for a staff token, else the app."""
        return dict(STAFF_USER) if self.token in self.state.staff_tokens else self.state.app()


def _attach_resolvers(schema: GraphQLSchema) -> None:
    query, mutation = schema.query_type, schema.mutation_type
    if query is None or mutation is None:
        raise ValueError("not a Saleor schema")
    query.fields["app"].resolve = _resolve_app
    query.fields["order"].resolve = _resolve_order
    query.fields["orders"].resolve = _resolve_orders
    query.fields["shop"].resolve = _resolve_shop
    query.fields["channels"].resolve = _resolve_channels
    query.fields["warehouses"].resolve = _resolve_warehouses
    query.fields["shippingZones"].resolve = _resolve_shipping_zones
    mutation.fields["orderFulfill"].resolve = _resolve_order_fulfill
    mutation.fields["orderFulfillmentUpdateTracking"].resolve = _resolve_update_tracking
    mutation.fields["orderFulfillmentApprove"].resolve = _resolve_approve_fulfillment
    order_line, fulfillment_line = (
        _object_type(schema, n) for n in ("OrderLine", "FulfillmentLine")
    )
    order_line.fields["quantityToFulfill"].resolve = _resolve_quantity_to_fulfill
    order_line.fields["variant"].resolve = _resolve_line_variant
    variant = _object_type(schema, "ProductVariant")
    variant.fields["trackInventory"].resolve = _resolve_track_inventory
    variant.fields["stocks"].resolve = _resolve_variant_stocks
    _object_type(schema, "Stock").fields["quantityAllocated"].resolve = _resolve_quantity_allocated
    fulfillment_line.fields["orderLine"].resolve = _resolve_fulfillment_order_line
    mutation.fields["updateMetadata"].resolve = functools.partial(_resolve_update, "metadata")
    mutation.fields["updatePrivateMetadata"].resolve = functools.partial(
        _resolve_update, "privateMetadata"
    )
    mutation.fields["deleteMetadata"].resolve = functools.partial(_resolve_delete, "metadata")
    mutation.fields["deletePrivateMetadata"].resolve = functools.partial(
        _resolve_delete, "privateMetadata"
    )


def _object_type(schema: GraphQLSchema, name: str) -> GraphQLObjectType:
    found = schema.get_type(name)
    if not isinstance(found, GraphQLObjectType):
        raise ValueError(f"not a Saleor schema: no object type {name}")
    return found


def _permission_denied(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"exception": {"code": "PermissionDenied"}})


def _context(info: GraphQLResolveInfo[Any]) -> _Context:
    context = info.context
    if not isinstance(context, _Context):
        raise TypeError("the fake's resolvers need a _Context")
    return context


def _authorised(
    info: GraphQLResolveInfo[Any], denied_message: str = ORDERS_DENIED
) -> SaleorFakeState:
    context = _context(info)
    if not context.state.accepts(context.token):
        raise _permission_denied(denied_message)
    return context.state


def _resolve_app(_root: object, info: GraphQLResolveInfo[Any], **_: object) -> dict[str, Any]:
    context = _context(info)
    other = context.state.other_apps.get(context.token or "")
    return other if other is not None else _authorised(info, ANONYMOUS_DENIED).app()


def _resolve_shop(_root: object, info: GraphQLResolveInfo[Any]) -> dict[str, Any]:
    state = _context(info).state
    return {"__typename": "Shop", "version": state.version, "name": "Matkassen AB",
            "domain": {"host": state.domain, "url": state.api_url},
            "fulfillmentAutoApprove": state.fulfillment_auto_approve,
            "fulfillmentAllowUnpaid": state.fulfillment_allow_unpaid}  # fmt: skip


def _resolve_channels(_root: object, info: GraphQLResolveInfo[Any], **_: object) -> list[Any]:
    return copy.deepcopy(_authorised(info, ANONYMOUS_DENIED).channels)


def _resolve_warehouses(_root: object, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
    return _connection(_authorised(info).warehouses, args)


def _resolve_shipping_zones(_root: object, info: GraphQLResolveInfo[Any], **args: Any) -> Any:
    state = _authorised(info, SHIPPING_DENIED)
    if "MANAGE_SHIPPING" not in state.app_permissions:
        raise _permission_denied(SHIPPING_DENIED)
    return _connection(state.shipping_zones, args)


def _connection(items: list[dict[str, Any]], args: Mapping[str, Any]) -> dict[str, Any]:
    """A Relay connection page: ``first`` items after the cursor ``after`` (an index here)."""
    start = int(args["after"]) + 1 if args.get("after") else 0
    first = int(args.get("first") or 100)
    page = items[start : start + first]
    return {
        "edges": [
            {"node": copy.deepcopy(node), "cursor": str(start + i)} for i, node in enumerate(page)
        ],
        "pageInfo": {
            "hasNextPage": start + first < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": str(start) if page else None,
            "endCursor": str(start + len(page) - 1) if page else None,
        },
        "totalCount": len(items),
    }


def _resolve_order(
    _root: object, info: GraphQLResolveInfo[Any], id: str | None = None, **_: object
) -> dict[str, Any] | None:
    state = _authorised(info)
    if id is None:
        return None
    _check_order_id(id)
    order = state.orders.get(id)
    return copy.deepcopy(order) if order is not None else None


def _resolve_orders(_root: object, info: GraphQLResolveInfo[Any], **args: Any) -> dict[str, Any]:
    """``orders``: the stored orders filtered by ``where`` (ids, number, status, createdAt,
    updatedAt) or the legacy ``filter`` (ids, numbers, status, created by day, updatedAt), sorted
    by ``sortBy`` (number by default), paged with cursors that name the last order's sort key."""
    state = _authorised(info)
    orders = [o for o in list(state.orders.values()) if _order_matches(o, args)]
    sort = args.get("sortBy") or {}
    key = _ORDER_SORT_KEYS.get(sort.get("field") or "NUMBER", _ORDER_SORT_KEYS["NUMBER"])
    descending = sort.get("direction") == "DESC"
    orders.sort(key=key, reverse=descending)
    after = args.get("after")
    if after:
        mark = tuple(json.loads(base64.b64decode(after)))
        orders_after = [o for o in orders if (key(o) < mark if descending else key(o) > mark)]
    else:
        orders_after = orders
    first = min(int(args.get("first") or 100), 100)
    page = orders_after[:first]

    def cursor(order: dict[str, Any]) -> str:
        return base64.b64encode(json.dumps(list(key(order))).encode()).decode()

    return {
        "edges": [{"node": copy.deepcopy(o), "cursor": cursor(o)} for o in page],
        "pageInfo": {
            "hasNextPage": len(orders_after) > first,
            "hasPreviousPage": len(orders_after) < len(orders),
            "startCursor": cursor(page[0]) if page else None,
            "endCursor": cursor(page[-1]) if page else None,
        },
        "totalCount": len(orders),
    }


def _number(order: Mapping[str, Any]) -> int:
    return int(order.get("number") or 0)


def _moment(value: object) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_ORDER_SORT_KEYS: Final[dict[str, Any]] = {
    "NUMBER": lambda o: (_number(o),),
    "CREATED_AT": lambda o: (_moment(o["created"]).isoformat(), _number(o)),
    "LAST_MODIFIED_AT": lambda o: (_moment(o["updatedAt"]).isoformat(), _number(o)),
}


def _in_range(value: object, bounds: Mapping[str, Any] | None) -> bool:
    if not bounds:
        return True
    moment = _moment(value)
    low, high = bounds.get("gte"), bounds.get("lte")
    return (low is None or moment >= _moment(low)) and (high is None or moment <= _moment(high))


def _order_matches(order: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
    where = args.get("where") or {}
    legacy = args.get("filter") or {}
    checks = [
        _in_range(order.get("created"), where.get("createdAt")),
        _in_range(order.get("updatedAt"), where.get("updatedAt")),
        _in_range(order.get("updatedAt"), legacy.get("updatedAt")),
    ]
    if ids := where.get("ids") or legacy.get("ids"):
        checks.append(order.get("id") in ids)
    if statuses := (where.get("status") or {}).get("oneOf"):
        checks.append(order.get("status") in statuses)
    if (numbers := legacy.get("numbers")) is not None:
        checks.append(str(order.get("number")) in numbers)
    if days := legacy.get("created"):
        day = _moment(order.get("created")).date().isoformat()
        low, high = days.get("gte"), days.get("lte")
        checks.append((low is None or day >= str(low)) and (high is None or day <= str(high)))
    return all(checks)


def _check_order_id(value: str) -> None:
    try:
        type_name, _, pk = base64.b64decode(value, validate=True).decode().partition(":")
        uuid.UUID(pk)
    except ValueError:
        type_name = ""
    if type_name != "Order":
        raise GraphQLError(
            f"Invalid ID: {value}. Expected: Order.",
            extensions={"exception": {"code": "GraphQLError"}},
        )


def _resolve_update(
    kind: str, _root: object, info: GraphQLResolveInfo[Any], id: str, input: list[dict[str, str]]
) -> dict[str, Any]:
    state = _authorised(info)
    items = {item["key"]: item["value"] for item in input}
    return _apply_metadata_change(
        info, state, kind, id, items, lambda entries: _upsert(entries, items)
    )


def _resolve_delete(
    kind: str, _root: object, info: GraphQLResolveInfo[Any], id: str, keys: list[str]
) -> dict[str, Any]:
    state = _authorised(info)
    return _apply_metadata_change(
        info,
        state,
        kind,
        id,
        list(keys),
        lambda entries: [e for e in entries if e["key"] not in keys],
    )


def _apply_metadata_change(
    info: GraphQLResolveInfo[Any],
    state: SaleorFakeState,
    kind: str,
    order_id: str,
    recorded: Mapping[str, str] | Sequence[str],
    change: Any,
) -> dict[str, Any]:
    _check_order_id(order_id)
    field_name = info.field_name
    order = state.orders.get(order_id)
    if order is None:
        state.mutations.append(RecordedMutation(field_name, order_id, recorded, changed=False))
        error = {
            "field": "id",
            "code": "NOT_FOUND",
            "message": f"Couldn't resolve to a node: {order_id}",
        }
        return {"item": None, "errors": [error], "metadataErrors": [error]}
    before = copy.deepcopy(order[kind])
    order[kind] = change(order[kind])
    changed = order[kind] != before
    state.mutations.append(RecordedMutation(field_name, order_id, recorded, changed=changed))
    if changed:
        order["updatedAt"] = datetime.now(UTC).isoformat()
        _context(info).pending_events.append(PendingEvent("ORDER_METADATA_UPDATED", order_id))
        if state.on_metadata_changed is not None:
            state.on_metadata_changed(order_id)
    return {"item": copy.deepcopy(order), "errors": [], "metadataErrors": []}


def _upsert(entries: list[dict[str, str]], items: Mapping[str, str]) -> list[dict[str, str]]:
    result = [dict(entry, value=items.get(entry["key"], entry["value"])) for entry in entries]
    present = {entry["key"] for entry in entries}
    result.extend({"key": k, "value": v} for k, v in items.items() if k not in present)
    return result


# --------------------------------------------------------------------------------------------
# Fulfillments: orderFulfill, fulfillmentUpdateTracking, fulfillmentApprove, as Saleor 3.23.28
# executes them (saleor/graphql/order/mutations/order_fulfill.py, fulfillment_update_tracking.py,
# fulfillment_approve.py; saleor/order/actions.py create_fulfillments, order_fulfilled,
# approve_fulfillment, _create_fulfillment_lines; saleor/warehouse/management.py decrease_stock;
# saleor/warehouse/models.py StockQuerySet.for_channel_or_country). A line is fulfilled from a
# warehouse that holds a stock record of its variant among the stocks serving the order's channel
# (``SaleorFakeState.stock_warehouses``); the stock's quantity counts only for a variant that
# tracks its inventory (``trackInventory``). Not modelled: preorders, gift cards.

FULFILLMENT_STATUS_DISPLAY: Final = {
    "FULFILLED": "Fulfilled", "REFUNDED": "Refunded", "RETURNED": "Returned",
    "REPLACED": "Replaced", "REFUNDED_AND_RETURNED": "Refunded and returned",
    "CANCELED": "Canceled", "WAITING_FOR_APPROVAL": "Waiting for approval",
}  # fmt: skip
TRACKING_NUMBER_MAX_LENGTH: Final = 255
"""``Fulfillment.tracking_number`` is a varchar(255): longer fails in the database."""

STAFF_ORDER_FULFILL: Final = """
mutation StaffOrderFulfill($order: ID!, $input: OrderFulfillInput!) {
  orderFulfill(order: $order, input: $input) {
    fulfillments { id status trackingNumber }
    order { id status }
    errors { field code message warehouse orderLines }
  }
}
"""
STAFF_UPDATE_TRACKING: Final = """
mutation StaffUpdateTracking($id: ID!, $input: FulfillmentUpdateTrackingInput!) {
  orderFulfillmentUpdateTracking(id: $id, input: $input) {
    fulfillment { id status trackingNumber }
    errors { field code message }
  }
}
"""
STAFF_APPROVE_FULFILLMENT: Final = """
mutation StaffApproveFulfillment($id: ID!, $notifyCustomer: Boolean!) {
  orderFulfillmentApprove(id: $id, notifyCustomer: $notifyCustomer) {
    fulfillment { id status trackingNumber }
    order { id status }
    errors { field code message warehouse orderLines }
  }
}
"""


class _Refused(Exception):
    """Saleor's ``ValidationError``: the mutation answers with these errors and changes nothing."""

    def __init__(self, *errors: dict[str, Any]) -> None:
        super().__init__(errors)
        self.errors = list(errors)


def _order_error(
    code: str,
    message: str,
    *,
    field: str | None = None,
    warehouse: str | None = None,
    order_lines: list[str] | None = None,
) -> dict[str, Any]:
    """An ``OrderError`` (``validation_error_to_error_type`` with the params it attaches)."""
    return {"field": field, "message": message, "code": code, "warehouse": warehouse,
            "orderLines": order_lines, "variants": None, "addressType": None}  # fmt: skip


def _refused_payload(exc: _Refused, *nulls: str) -> dict[str, Any]:
    return {**dict.fromkeys(nulls), "errors": exc.errors, "orderErrors": exc.errors}


def _database_error() -> GraphQLError:
    """What Saleor answers (DEBUG off) for a value its database refuses: a top-level error."""
    return GraphQLError("Internal Server Error", extensions={"exception": {"code": "DataError"}})


def _decoded_id(value: object) -> tuple[str, str] | None:
    """(type, pk) of a Saleor global ID (base64 of ``Type:pk``, pk an integer or a UUID)."""
    try:
        type_name, colon, pk = base64.b64decode(str(value), validate=True).decode().partition(":")
        if not colon or not (pk.isdigit() or uuid.UUID(pk)):
            return None
    except (ValueError, UnicodeDecodeError):
        return None
    return type_name, pk


def _node_pk(value: object, expected: str, field: str) -> str:
    """``from_global_id_or_error(value, expected, raise_error=True)`` as a field error."""
    decoded = _decoded_id(value)
    if decoded is None:
        message = f"Invalid ID: {value}. Expected: {expected}."
        raise _Refused(_order_error("GRAPHQL_ERROR", message, field=field))
    type_name, pk = decoded
    if type_name != expected:
        message = f"Invalid ID: {value}. Expected: {expected}, received: {type_name}."
        raise _Refused(_order_error("GRAPHQL_ERROR", message, field=field))
    return pk


def _not_found(node_id: str, field: str) -> _Refused:
    return _Refused(
        _order_error("NOT_FOUND", f"Couldn't resolve to a node: {node_id}", field=field)
    )


def _duplicates(values: Sequence[object]) -> list[object]:
    return [value for value, count in Counter(values).items() if count > 1]


def _authorised_to_manage_orders(info: GraphQLResolveInfo[Any]) -> _Context:
    """The mutations' ``permissions = (MANAGE_ORDERS,)``: staff, or an app holding it."""
    context = _context(info)
    state = context.state
    if not state.accepts(context.token) or not (
        context.token in state.staff_tokens or "MANAGE_ORDERS" in state.app_permissions
    ):
        raise _permission_denied(ORDERS_DENIED)
    return context


@contextmanager
def _transaction(state: SaleorFakeState, orders: Sequence[dict[str, Any]]) -> Iterator[None]:
    """All or nothing for these orders (changed in place) and the stock, like Saleor's atomic
    block: an error puts back what they held."""
    saved = [(order, copy.deepcopy(order)) for order in {id(o): o for o in orders}.values()]
    stocks = dict(state.stocks)
    try:
        yield
    except BaseException:
        for live, before in saved:
            live.clear()
            live.update(before)
        state.stocks.clear()
        state.stocks.update(stocks)
        raise
    finally:
        with state._counting:
            for live, _ in saved:
                if live.get("id") in state.orders:
                    state._count(live)


def _resolve_order_fulfill(
    _root: object,
    info: GraphQLResolveInfo[Any],
    input: dict[str, Any],
    order: str | None = None,
) -> dict[str, Any]:
    context = _authorised_to_manage_orders(info)
    try:
        return _order_fulfill(context, order, input)
    except _Refused as exc:
        return _refused_payload(exc, "fulfillments", "order")


def _order_fulfill(context: _Context, order_id: str | None, data: dict[str, Any]) -> dict[str, Any]:
    """``OrderFulfill.perform_mutation``: its checks in its order, then ``create_fulfillments``."""
    state = context.state
    if not order_id:
        raise _Refused(_order_error("NOT_FOUND", "Order does not exist."))
    _node_pk(order_id, "Order", "order")
    order = state.orders.get(order_id)
    if order is None:
        raise _not_found(order_id, "order")
    if not order.get("isPaid") and (
        state.fulfillment_auto_approve and not state.fulfillment_allow_unpaid
    ):
        message = "Cannot fulfill unpaid order."
        raise _Refused(_order_error("CANNOT_FULFILL_UNPAID_ORDER", message, field="order"))
    lines_input: list[dict[str, Any]] = data["lines"]
    for line_input in lines_input:
        if warehouses := _duplicates([stock["warehouse"] for stock in line_input["stocks"]]):
            raise _Refused(_order_error("DUPLICATED_INPUT_ITEM", "Duplicated warehouse ID.",
                                        field="warehouse", warehouse=str(warehouses[0])))  # fmt: skip
    line_ids = [line_input.get("orderLineId") for line_input in lines_input]
    if lines := _duplicates(line_ids):
        raise _Refused(_order_error("DUPLICATED_INPUT_ITEM", "Duplicated order line ID.",
                                    field="orderLineId", order_lines=[str(lines[0])]))  # fmt: skip
    order_lines = _order_lines(state, line_ids)
    quantities = [[int(stock["quantity"]) for stock in line["stocks"]] for line in lines_input]
    _check_line_quantities(order_lines, quantities)
    if sum(sum(line) for line in quantities) <= 0:
        message = "Total quantity must be larger than 0."
        raise _Refused(_order_error("ZERO_QUANTITY", message, field="lines"))
    by_warehouse: dict[str, list[tuple[dict[str, Any], int]]] = {}
    for line_input, line in zip(lines_input, order_lines, strict=True):
        for stock in line_input["stocks"]:
            if stock["quantity"] > 0:
                _node_pk(stock["warehouse"], "Warehouse", "warehouse")
                by_warehouse.setdefault(stock["warehouse"], []).append((line, stock["quantity"]))
    owners = [order, *(_owner(state, line) for line in order_lines)]
    with _transaction(state, owners):
        return _create_fulfillments(
            context, order, by_warehouse,
            tracking_number=data.get("trackingNumber") or "",
            notify_customer=bool(data.get("notifyCustomer", True)),  # absent: True; null: False
            allow_stock_to_be_exceeded=bool(data.get("allowStockToBeExceeded")),
        )  # fmt: skip


def _order_lines(state: SaleorFakeState, line_ids: list[Any]) -> list[dict[str, Any]]:
    """``get_nodes_or_error(line_ids, "lines", OrderLine)``. Like Saleor, a line of another order
    is accepted."""
    invalid = []
    for line_id in line_ids:
        decoded = _decoded_id(line_id) if line_id else None
        if decoded is None:
            invalid.append(line_id)
        elif decoded[0] != "OrderLine":
            message = f"Must receive OrderLine id: {line_id}."
            raise _Refused(_order_error("GRAPHQL_ERROR", message, field="lines"))
    if invalid:
        message = f"Could not resolve to a node with the global id list of '{invalid}'."
        raise _Refused(_order_error("GRAPHQL_ERROR", message, field="lines"))
    found = [state.order_line(str(line_id)) for line_id in line_ids]
    if all(item is None for item in found):
        message = f"Could not resolve to a node with the global id list of '{line_ids}'."
        raise _Refused(_order_error("GRAPHQL_ERROR", message, field="lines"))
    missing = [line_id for line_id, item in zip(line_ids, found, strict=True) if item is None]
    if missing:  # Saleor's assertion in get_nodes, answered as a top-level error
        _, pk = _decoded_id(missing[0]) or ("", "")
        raise GraphQLError(f"There is no node of type OrderLine with pk {pk}")
    return [item[1] for item in found if item is not None]


def _owner(state: SaleorFakeState, line: Mapping[str, Any]) -> dict[str, Any]:
    found = state.order_line(str(line["id"]))
    assert found is not None
    return found[0]


def _check_line_quantities(lines: list[dict[str, Any]], quantities: list[list[int]]) -> None:
    """``clean_order_line_quantities``: no line beyond what remains to fulfil."""
    for line, line_quantities in zip(lines, quantities, strict=True):
        remaining = int(line["quantity"]) - int(line.get("quantityFulfilled") or 0)
        if sum(line_quantities) > remaining:
            message = f"Only {remaining} item{'' if remaining == 1 else 's'} remaining to fulfill."
            raise _Refused(_order_error("FULFILL_ORDER_LINE", message, field="orderLineId",
                                        order_lines=[str(line["id"])]))  # fmt: skip


def _create_fulfillments(
    context: _Context,
    order: dict[str, Any],
    by_warehouse: dict[str, list[tuple[dict[str, Any], int]]],
    *,
    tracking_number: str,
    notify_customer: bool,
    allow_stock_to_be_exceeded: bool,
) -> dict[str, Any]:
    """``create_fulfillments``: one fulfillment per warehouse; stock taken only when approved."""
    state = context.state
    approved = state.fulfillment_auto_approve
    status = "FULFILLED" if approved else "WAITING_FOR_APPROVAL"
    events, created = context.pending_events, []
    staged: list[PendingEvent] = []
    for warehouse_id, entries in by_warehouse.items():
        if len(tracking_number) > TRACKING_NUMBER_MAX_LENGTH:
            raise _database_error()
        stocked: list[tuple[dict[str, Any], int]] = []
        missing: list[dict[str, Any]] = []
        serving = state.stock_warehouses((order.get("channel") or {}).get("slug"))
        for line, quantity in entries:
            stocked_here = warehouse_id in serving and _has_stock(state, line, warehouse_id)
            if stocked_here or allow_stock_to_be_exceeded:
                stocked.append((line, quantity))
            else:
                missing.append(line)
        if missing:
            raise _Refused(*(_insufficient_stock(line, warehouse_id) for line in missing))
        fulfillment = state._new_fulfillment(order, status, tracking_number, warehouse_id, stocked)
        if approved:
            _decrease_stock(state, stocked, warehouse_id, allow_stock_to_be_exceeded)
        for line, quantity in stocked:
            line["quantityFulfilled"] = int(line.get("quantityFulfilled") or 0) + quantity
        created.append(fulfillment)
        if tracking_number:
            staged.append(PendingEvent(
                "FULFILLMENT_TRACKING_NUMBER_UPDATED", order["id"], fulfillment["id"]
            ))  # fmt: skip
    if approved:
        staged.extend(_order_fulfilled(state, order, created, notify_customer, approved_now=False))
    else:
        staged.append(PendingEvent("ORDER_UPDATED", order["id"]))
    events.extend(staged)
    return {"fulfillments": copy.deepcopy(created), "order": copy.deepcopy(order),
            "errors": [], "orderErrors": []}  # fmt: skip


def _tracks_inventory(line: Mapping[str, Any]) -> bool:
    """Saleor counts the stock of the line's variant (``ProductVariant.track_inventory``,
    default on); a deleted variant counts as tracked (it has no stock at all)."""
    variant = line.get("variant")
    return not isinstance(variant, Mapping) or variant.get("trackInventory", True) is not False


def _has_stock(state: SaleorFakeState, line: Mapping[str, Any], warehouse_id: str | None) -> bool:
    variant_id = _variant_id(line)
    return variant_id is not None and (variant_id, str(warehouse_id)) in state.stocks


def _insufficient_stock(line: Mapping[str, Any], warehouse_id: str | None) -> dict[str, Any]:
    """One error of ``prepare_insufficient_stock_order_validation_errors``."""
    return _order_error("INSUFFICIENT_STOCK", "Insufficient product stock.", field="stocks",
                        warehouse=warehouse_id, order_lines=[str(line["id"])])  # fmt: skip


def _decrease_stock(
    state: SaleorFakeState,
    lines: list[tuple[dict[str, Any], int]],
    warehouse_id: str,
    allow_stock_to_be_exceeded: bool,
) -> None:
    """``decrease_stock``: give back each line's allocations (whichever warehouse holds them,
    first ones first), then take the quantity from the warehouse's stock, refusing what the
    stock lacks beyond what other orders hold allocated. A variant whose inventory Saleor does
    not track is left out of the second part (``get_order_lines_with_track_inventory``)."""
    for line, quantity in lines:
        remaining = quantity
        for allocation in line.get("allocations") or []:
            taken = min(remaining, int(allocation["quantity"]))
            allocation["quantity"] = int(allocation["quantity"]) - taken
            remaining -= taken
            if remaining == 0:
                break
    short = []
    for line, quantity in lines:
        variant_id = _variant_id(line)
        if variant_id is None or not _tracks_inventory(line):
            continue
        key = (variant_id, warehouse_id)
        if key not in state.stocks or state.stocks[key] - state.allocated(*key) < quantity:
            if not allow_stock_to_be_exceeded:
                short.append(line)
            if key not in state.stocks:
                continue
        state.stocks[key] -= quantity
    if short:
        raise _Refused(*(_insufficient_stock(line, warehouse_id) for line in short))


def _order_fulfilled(
    state: SaleorFakeState,
    order: dict[str, Any],
    fulfillments: list[dict[str, Any]],
    notify_customer: bool,
    *,
    approved_now: bool,
) -> list[PendingEvent]:
    """``order_fulfilled``: the order's status, then the events and the customer's e-mails."""
    _refresh_order_status(order)
    order_id = order["id"]
    events = [
        PendingEvent("FULFILLMENT_CREATED", order_id, f["id"], notify_customer)
        for f in fulfillments
    ]
    fully = order["status"] == "FULFILLED"
    if fully or approved_now:
        events.extend(
            PendingEvent("FULFILLMENT_APPROVED", order_id, f["id"], notify_customer)
            for f in fulfillments
        )
    events.append(PendingEvent("ORDER_UPDATED", order_id))
    if fully:
        events.append(PendingEvent("ORDER_FULFILLED", order_id))
    if notify_customer:
        state.notifications.extend(
            CustomerNotification("fulfillment_confirmation", order_id, f["id"], f["trackingNumber"])
            for f in fulfillments
        )
    return events


def _refresh_order_status(order: dict[str, Any]) -> None:
    """``refresh_order_status``: the status from the quantities fulfilled, waiting, returned."""
    lines = order.get("lines") or []
    total = sum(int(line["quantity"]) for line in lines)
    fulfilled = sum(int(line.get("quantityFulfilled") or 0) for line in lines)

    def quantity(*statuses: str) -> int:
        return sum(
            int(line["quantity"])
            for f in order.get("fulfillments") or [] if f["status"] in statuses
            for line in f.get("lines") or []
        )  # fmt: skip

    returned = quantity("RETURNED", "REFUNDED_AND_RETURNED")
    replaced = quantity("REPLACED")
    waiting = quantity("WAITING_FOR_APPROVAL")
    total, fulfilled = total - replaced, fulfilled - replaced
    if total == 0:
        return
    if fulfilled - waiting <= 0:
        status = "UNFULFILLED"
    elif 0 < returned < total:
        status = "PARTIALLY_RETURNED"
    elif returned == total:
        status = "RETURNED"
    elif fulfilled - waiting < total:
        status = "PARTIALLY_FULFILLED"
    else:
        status = "FULFILLED"
    if order.get("status") != status:
        order["status"] = status
        order["updatedAt"] = datetime.now(UTC).isoformat()


def _resolve_update_tracking(
    _root: object, info: GraphQLResolveInfo[Any], id: str, input: dict[str, Any]
) -> dict[str, Any]:
    """``FulfillmentUpdateTracking``: any fulfillment, any number (no check that it changed);
    FULFILLMENT_TRACKING_NUMBER_UPDATED and ORDER_UPDATED every time."""
    context = _authorised_to_manage_orders(info)
    try:
        order, fulfillment = _find_fulfillment(context.state, id)
    except _Refused as exc:
        return _refused_payload(exc, "fulfillment", "order")
    tracking_number = input.get("trackingNumber") or ""
    if len(tracking_number) > TRACKING_NUMBER_MAX_LENGTH:
        raise _database_error()
    fulfillment["trackingNumber"] = tracking_number
    context.pending_events.extend([
        PendingEvent("FULFILLMENT_TRACKING_NUMBER_UPDATED", order["id"], fulfillment["id"]),
        PendingEvent("ORDER_UPDATED", order["id"]),
    ])  # fmt: skip
    if input.get("notifyCustomer"):
        context.state.notifications.append(
            CustomerNotification("fulfillment_update", order["id"], id, tracking_number)
        )
    return {"fulfillment": copy.deepcopy(fulfillment), "order": copy.deepcopy(order),
            "errors": [], "orderErrors": []}  # fmt: skip


def _resolve_approve_fulfillment(
    _root: object,
    info: GraphQLResolveInfo[Any],
    id: str,
    notifyCustomer: bool,  # noqa: N803 - the GraphQL argument's name
    allowStockToBeExceeded: bool = False,  # noqa: N803
) -> dict[str, Any]:
    """``FulfillmentApprove``: a waiting fulfillment takes its stock and becomes FULFILLED."""
    context = _authorised_to_manage_orders(info)
    state = context.state
    try:
        order, fulfillment = _find_fulfillment(state, id)
        if fulfillment["status"] != "WAITING_FOR_APPROVAL":
            message = (
                "Invalid fulfillment status, only WAITING_FOR_APPROVAL fulfillments can be "
                "accepted."
            )
            raise _Refused(_order_error("INVALID", message))
        if not state.fulfillment_allow_unpaid and not order.get("isPaid"):
            raise _Refused(
                _order_error("CANNOT_FULFILL_UNPAID_ORDER", "Cannot fulfill unpaid order.")
            )
        with _transaction(state, [order]):
            fulfillment["status"] = "FULFILLED"
            fulfillment["statusDisplay"] = FULFILLMENT_STATUS_DISPLAY["FULFILLED"]
            warehouse_id = fulfillment.get("_warehouseId")
            lines = [
                (found[1], int(f_line["quantity"]))
                for f_line in fulfillment.get("lines") or []
                if (found := state.order_line(f_line["orderLine"]["id"])) is not None
            ]
            missing = [line for line, _ in lines if not _has_stock(state, line, warehouse_id)]
            if missing and not allowStockToBeExceeded:
                raise _Refused(*(_insufficient_stock(line, None) for line in missing))
            _decrease_stock(state, lines, str(warehouse_id), allowStockToBeExceeded)
            events = _order_fulfilled(
                state, order, [fulfillment], notifyCustomer, approved_now=True
            )
    except _Refused as exc:
        return _refused_payload(exc, "fulfillment", "order")
    context.pending_events.extend(events)
    return {"fulfillment": copy.deepcopy(fulfillment), "order": copy.deepcopy(order),
            "errors": [], "orderErrors": []}  # fmt: skip


def _find_fulfillment(
    state: SaleorFakeState, fulfillment_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    _node_pk(fulfillment_id, "Fulfillment", "id")
    found = state.fulfillment(fulfillment_id)
    if found is None:
        raise _not_found(fulfillment_id, "id")
    return found


def _resolve_quantity_to_fulfill(line: Mapping[str, Any], _info: GraphQLResolveInfo[Any]) -> int:
    """``OrderLine.quantityToFulfill`` = ``quantity_unfulfilled``."""
    return int(line["quantity"]) - int(line.get("quantityFulfilled") or 0)


STOCKS_DENIED: Final = (
    "To access this path, you need one of the following permissions: MANAGE_PRODUCTS, MANAGE_ORDERS"
)
_CHANNEL_OF_VARIANT: Final = "_channelSlug"
"""Where a line's variant carries its order's channel (Saleor's ``ChannelContext``)."""


def _resolve_line_variant(
    line: Mapping[str, Any], info: GraphQLResolveInfo[Any]
) -> dict[str, Any] | None:
    """``OrderLine.variant``: the variant in the channel of the line's order (an app with
    MANAGE_ORDERS sees every product, ``ALL_PRODUCTS_PERMISSIONS``)."""
    variant = line.get("variant")
    if not isinstance(variant, Mapping):
        return None
    found = _context(info).state.order_line(str(line.get("id")))
    channel = (found[0].get("channel") or {}).get("slug") if found is not None else None
    return {**variant, _CHANNEL_OF_VARIANT: channel}


def _resolve_track_inventory(variant: Mapping[str, Any], _info: GraphQLResolveInfo[Any]) -> bool:
    return variant.get("trackInventory", True) is not False


def _resolve_variant_stocks(
    variant: Mapping[str, Any], info: GraphQLResolveInfo[Any], **_: object
) -> list[dict[str, Any]]:
    """``ProductVariant.stocks`` (MANAGE_PRODUCTS or MANAGE_ORDERS): its stock records in the
    warehouses serving the channel it was read in (``resolve_stocks``: the loaders apply the
    rule of ``stock_warehouses``), every one without a channel; in the order they were made."""
    context = _context(info)
    state = context.state
    app_may = bool({"MANAGE_PRODUCTS", "MANAGE_ORDERS"} & state.app_permissions)
    if context.token is None:  # a webhook's payload: rendered with the app's permissions
        allowed = app_may
    else:
        staff = context.token in state.staff_tokens
        allowed = state.accepts(context.token) and (staff or app_may)
    if not allowed:
        raise _permission_denied(STOCKS_DENIED)
    channel = variant.get(_CHANNEL_OF_VARIANT)
    warehouses = {str(w["id"]): w for w in state.warehouses}
    serving = set(state.stock_warehouses(channel) if channel else warehouses)
    plain = {key: value for key, value in variant.items() if key != _CHANNEL_OF_VARIANT}
    return [
        {"__typename": "Stock", "id": global_id("Stock", str(pk)),
         "warehouse": copy.deepcopy(warehouses[warehouse_id]), "productVariant": plain,
         "quantity": quantity, _STOCK_OF: (variant_id, warehouse_id), "quantityReserved": 0}
        for pk, ((variant_id, warehouse_id), quantity) in enumerate(list(state.stocks.items()), 1)
        if variant_id == variant.get("id") and warehouse_id in serving
        and warehouse_id in warehouses
    ]  # fmt: skip


_STOCK_OF: Final = "_stockOf"
"""Where a ``Stock`` carries its (variant id, warehouse id), for its ``quantityAllocated``."""


def _resolve_quantity_allocated(stock: Mapping[str, Any], info: GraphQLResolveInfo[Any]) -> int:
    """``Stock.quantityAllocated``, summed only when a request selects it (as Saleor's resolver
    does): summing every order's allocations is the fake's costliest step, and the app's order
    read lists a variant's stocks without it."""
    variant_id, warehouse_id = stock[_STOCK_OF]
    return _context(info).state.allocated(variant_id, warehouse_id)


def _resolve_fulfillment_order_line(
    fulfillment_line: Mapping[str, Any], info: GraphQLResolveInfo[Any]
) -> dict[str, Any] | None:
    """``FulfillmentLine.orderLine``: the order line as it is now."""
    reference = fulfillment_line.get("orderLine")
    if not isinstance(reference, Mapping):
        return None
    context = info.context
    found = (
        context.state.order_line(str(reference["id"])) if isinstance(context, _Context) else None
    )
    return copy.deepcopy(found[1]) if found is not None else dict(reference)


# --------------------------------------------------------------------------------------------
# HTTP


def create_saleor_fake(state: SaleorFakeState) -> Starlette:
    """The ASGI app of one fake Saleor."""

    async def jwks(_request: Request) -> Response:
        if (status := state._take_failure()) is not None:
            return JSONResponse({"error": "unavailable"}, status_code=status)
        state.jwks_fetches += 1
        return JSONResponse(state.jwks)

    async def graphql_endpoint(request: Request) -> Response:
        if (status := state._take_failure()) is not None:
            return JSONResponse({"error": "unavailable"}, status_code=status)
        return await _handle_graphql(state, request)

    return Starlette(
        routes=[
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            Route("/graphql/", graphql_endpoint, methods=["POST"]),
        ]
    )


async def _handle_graphql(state: SaleorFakeState, request: Request) -> Response:
    try:
        body = parse_json(await request.body())
        if not isinstance(body, dict):
            raise TypeError
        query = body["query"]
        variables = body.get("variables") or {}
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise TypeError
    except (JsonUnusable, KeyError, TypeError):
        return _errors_response(["Must provide a JSON body with a query string."], status=400)
    document, errors = _checked_document(load_schema(), query)
    if document is None:
        return _errors_response(list(errors), status=400)
    operation = body.get("operationName")
    operation_name = operation if isinstance(operation, str) else _operation_name(document)
    state.requests[operation_name] += 1
    if not await state._wait_if_held(request, operation_name):
        return JSONResponse({"error": "the client gave up while held"}, status_code=504)
    if errors:
        return _errors_response(list(errors), status=400)
    if not state.orders_where and _uses_orders_where(document):
        message = "Unknown argument 'where' on field 'Query.orders'."
        return _errors_response([message], status=400)
    name = operation if isinstance(operation, str) else None
    fault = state._next_graphql_fault(mutation=_is_mutation(document, name))
    if fault == TIMEOUT:
        return await _hung(state, request, TIMEOUT)
    context = _Context(state=state, token=_bearer_token(request))
    recorded_before = len(state.mutations)
    result = execute_sync(
        load_schema(), document, variable_values=variables,
        operation_name=name, context_value=context,
    )  # fmt: skip
    if not isinstance(result, ExecutionResult):  # pragma: no cover - no async resolvers here
        raise TypeError("unexpected async execution")
    if fault == LOST:  # done in Saleor, and its events sent; the answer is lost on the way back
        state.lost_answers.extend(state.mutations[recorded_before:])
        if context.pending_events:
            state._in_background(
                state._sending(context.pending_events, principal=context.principal)()
            )
        return await _hung(state, request, LOST)
    payload = {
        **result.formatted,
        "extensions": {"cost": {"requestedQueryCost": 1, "maximumAvailable": 50000}},
    }
    task = (
        BackgroundTask(state._sending(context.pending_events, principal=context.principal))
        if context.pending_events
        else None
    )
    return JSONResponse(payload, background=task)


async def _hung(state: SaleorFakeState, request: Request, kind: str) -> Response:
    """Hold the request for ``hang_seconds``, or until the client gives up; then 504."""
    state.faults_injected[kind] += 1
    deadline = time.monotonic() + state.graphql_faults.hang_seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            break
        await asyncio.sleep(HANG_POLL_SECONDS)
    return JSONResponse({"error": f"{kind} (injected by the Saleor fake)"}, status_code=504)


def _is_mutation(document: DocumentNode, operation_name: str | None) -> bool:
    """Is the operation the request runs (by name, else the first) a mutation?"""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [
        d
        for d in operations
        if operation_name is None or (d.name and d.name.value == operation_name)
    ]
    return bool(chosen) and chosen[0].operation == OperationType.MUTATION


@functools.lru_cache(maxsize=256)
def _checked_document(
    schema: GraphQLSchema, query: str
) -> tuple[DocumentNode | None, tuple[str, ...]]:
    """Parse and validate a query once per text: both are pure and cost tens of milliseconds
    against Saleor's schema, while executing costs a few (the app sends the same few documents
    thousands of times in long runs). None for a document that does not parse, with its error."""
    try:
        document = parse(query)
    except GraphQLError as exc:
        return None, (exc.message,)
    return document, tuple(error.message for error in validate(schema, document))


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client the fake makes: building one loads the CA bundle, which
    cost more than the rest of a metadata mutation."""
    return ssl.create_default_context()


async def _emit_pending(
    state: SaleorFakeState,
    events: list[PendingEvent],
    *,
    principal: Mapping[str, Any],
    http: httpx.AsyncClient | None = None,
) -> None:
    """Send the webhooks a request caused, in the order it caused them."""
    if http is None:
        async with httpx.AsyncClient(verify=_tls_context()) as own:
            await _emit_pending(state, events, principal=principal, http=own)
        return
    for pending in events:
        if pending.order_id in state.orders:
            await state.emit(
                http, pending.event, order_id=pending.order_id, principal=principal,
                fulfillment_id=pending.fulfillment_id, notify_customer=pending.notify_customer,
            )  # fmt: skip


def _uses_orders_where(document: DocumentNode) -> bool:
    """Does the document ask ``orders(where: …)`` (what a Saleor before 3.22 refuses)?"""
    found = False

    class _Finder(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            nonlocal found
            if node.name.value == "orders" and any(
                argument.name.value == "where" for argument in node.arguments or ()
            ):
                found = True

    visit(document, _Finder())
    return found


def _operation_name(document: DocumentNode) -> str:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
            return definition.name.value
    return "anonymous"


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() in {"bearer", "jwt"} else None


def _errors_response(messages: list[str], *, status: int) -> JSONResponse:
    errors = [
        {"message": m, "extensions": {"exception": {"code": "GraphQLError"}}} for m in messages
    ]
    return JSONResponse({"errors": errors}, status_code=status)


# --------------------------------------------------------------------------------------------
# Serving


@contextmanager
def running_saleor_fake(
    state: SaleorFakeState | None = None,
) -> Iterator[tuple[str, SaleorFakeState]]:
    """Serve a fake Saleor on 127.0.0.1 (free port) in a thread; yields (api_url, state)."""
    state = state or SaleorFakeState()
    load_schema()  # build before serving, not inside the first request
    with serve_on_loopback(create_saleor_fake(state)) as base_url:
        state.api_url = f"{base_url}/graphql/"
        yield state.api_url, state


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a fake Saleor on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8800)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    state = SaleorFakeState(api_url=f"http://127.0.0.1:{args.port}/graphql/")
    order = state.add_order()
    log.info(
        "Saleor fake at %s; app token %s; order %s", state.api_url, state.issue_token(), order["id"]
    )
    uvicorn.run(create_saleor_fake(state), host="127.0.0.1", port=args.port, log_level="info")


if __name__ == "__main__":
    main()
