"""The Gordon sandbox: a fake Gordon Delivery API for tests, benchmarks and local trials.

It follows the documented contract (``../shared/docs/gordon-api.md`` B2-B6, D1) and makes choices where
Gordon's behaviour is UNVERIFIED; each such choice is marked "sandbox choice" below and must stay
consistent with ``core.outcomes``:

* ``POST /oauth/token`` (JSON, client credentials) -> ``access_token``/``expires_in``; wrong credentials
  -> 401 ``{"error":"access_denied","error_description":"Unauthorized"}`` (B2). A missing ``audience`` is
  accepted (B2, OBSERVED), a different one is refused with 403 (sandbox choice, Auth0-like).
* ``/api/*`` needs ``Authorization: Bearer <token>``; missing, unknown or expired -> 401.
* ``PUT /api/orders/{ref}`` updates; an unknown ref -> 404 ``{"status":"error","message":"Order not
  found"}``, so clients must create with POST (sandbox choice: whether Gordon's PUT upserts is
  UNVERIFIED, and the stricter answer exercises the client's PUT -> POST path). With
  ``tolerant_update`` PUT creates an unknown ref instead (upsert).
* ``POST /api/orders`` creates; a known ref -> 400 ``External Ref in Use`` (B6, OBSERVED); an
  ``external_ref`` that is not a string -> 400 ``external_ref must be a string`` (sandbox choice).
* ``GET``/``DELETE /api/orders/{ref}``; unknown -> 404 ``Order not found``; DELETE of a planned order ->
  400 with a message telling to cancel in the Gordon platform (B4).
* Validation (B5): ``Missing required fields: a, b`` in the documented field order; inventory items need
  ``name`` and an integer ``quantity`` >= 1; ``deliverydate`` ``YYYY-MM-DD`` and ``time-window``
  ``HH:MM - HH:MM`` (the space-less form too) are checked (messages are sandbox choices);
  ``Unable to find deliverygroup`` (B6, VERIFIED) when ``delivery_groups`` is set and the group is not in
  it (case-insensitive). Successful writes answer
  ``{"external_ref", "tracking_id", "status": "OK", "deliverygroup"}`` with a 9-character tracking id
  that is stable per ref, and the group lower-cased as Gordon echoes the routed depot (B6).

``SandboxState.hold()`` makes ``/api/*`` requests wait once they arrived (``held`` counts them) until
``release()``, so a test can act while a request is surely in flight.

Faults (latency, random 503/429/timeouts/lost answers, scripted statuses) apply to ``/api/*`` only, never
to the token endpoint or the ``/_sandbox`` control endpoints. Injected 503/429 bodies carry no
``"status":"error"``. Random faults are off by default (every rate 0) and follow ``seed``; every fault
injected, scripted or random, is counted by kind in ``SandboxState.faults_injected`` (``"503"``,
``"429"``, ``"timeout"``, ``"lost"``, …).
Every write per order is counted in ``SandboxState.writes`` (``OrderWrites``): the PUT/POST/DELETE
requests that reached the sandbox with a content other than the one before, the writes applied to
its copy (stored or deleted, an identical content included), and the applied writes whose answer
the sandbox lost on purpose. The counts outlive a DELETE, so a re-created order is seen.
Every request to the token endpoint and ``/api/*`` is recorded (the client secret redacted); see
``CONTROL ENDPOINTS`` in ``create_gordon_sandbox``. So that long benchmarks do not grow without limit, the
in-memory recording keeps only the last ``SandboxOptions.max_recorded_requests`` (10 000 by default; the
``record_file``, when given, gets every one), and expired access tokens are forgotten whenever a new one
is issued. A body that is not JSON (including JSON nested too deeply for the parser) is refused with
400 ``Invalid JSON body`` and recorded as text.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import re
import secrets
import string
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Final, NamedTuple

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from saleor_gordon.json_text import JsonUnusable, parse_json

DEFAULT_CLIENT_ID = "sandbox-client"
DEFAULT_CLIENT_SECRET = "sandbox-secret"  # noqa: S105 -- the sandbox's documented default
DEFAULT_AUDIENCE = "https://gordonapi.herokuapp.com/"
TRACKING_ID_LENGTH = 9
REQUIRED_FIELDS = (
    "external_ref",
    "customer-name",
    "address",
    "zip",
    "city",
    "deliverydate",
    "time-window",
    "deliverygroup",
    "inventory",
)
ORDER_NOT_FOUND = "Order not found"
REF_IN_USE = "External Ref in Use"
UNKNOWN_GROUP = "Unable to find deliverygroup"
ORDER_PLANNED = "Order is planned and can no longer be deleted; cancel it in the Gordon platform"
HANG_POLL_SECONDS = 0.05
MAX_RECORDED_REQUESTS = 10_000  # requests kept in memory (the oldest are dropped first)
REF_NOT_TEXT = "external_ref must be a string"

_ALPHABET = string.digits + string.ascii_letters
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_WINDOW = re.compile(r"([01]\d|2[0-3]):[0-5]\d ?- ?([01]\d|2[0-3]):[0-5]\d")

Fault = int | str  # an HTTP status, "timeout", or "lost" (done, but the answer never arrives)
TIMEOUT: Final = "timeout"
LOST: Final = "lost"
Endpoint = Callable[[Request, bytes], Awaitable[Response]]


@dataclass(frozen=True)
class SandboxOptions:
    """How the sandbox behaves. Rates are shares of ``/api/*`` requests, from 0 to 1."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = field(default=DEFAULT_CLIENT_SECRET, repr=False)
    audience: str = DEFAULT_AUDIENCE
    token_expires_in: int = 3600  # seconds
    delivery_groups: tuple[str, ...] = ()  # empty: every group is accepted
    tolerant_update: bool = False  # PUT on an unknown ref creates it instead of answering 404
    latency: float = 0.0  # seconds added to every token and API request
    error_rate: float = 0.0  # share answered 503
    rate_limit_rate: float = 0.0  # share answered 429 with Retry-After
    retry_after: float = 2.0  # seconds, sent with 429
    timeout_rate: float = 0.0  # share that hangs for hang_seconds, then 504, without acting
    lost_rate: float = 0.0  # share done in Gordon whose answer hangs, then 504 (see "lost")
    hang_seconds: float = 30.0
    seed: int | None = None
    record_file: Path | None = None  # every recorded request, as JSON lines (unbounded, on disk)
    max_recorded_requests: int = MAX_RECORDED_REQUESTS  # kept in memory, the newest
    clock: Callable[[], float] = time.monotonic  # for token expiry


@dataclass
class StoredOrder:
    """An order as the sandbox holds it."""

    body: dict[str, object]
    tracking_id: str
    planned: bool = False
    writes: int = 1  # accepted PUT/POST requests

    def as_json(self) -> dict[str, object]:
        return {
            "body": self.body,
            "tracking_id": self.tracking_id,
            "planned": self.planned,
            "writes": self.writes,
        }


DELETED_CONTENT: Final = "(deleted)"  # what a DELETE "sends", for ``OrderWrites``


@dataclass
class OrderWrites:
    """Every write request for one ``external_ref``, as the sandbox saw it (``SandboxState.writes``).

    ``contents_sent`` counts the PUT/POST/DELETE requests that arrived (whatever the answer,
    injected faults included) with a content other than the one the request before carried (a
    DELETE's content is ``DELETED_CONTENT``): A, A, B, A counts three. ``applied`` counts the
    writes that changed the stored copy (stored, an identical content included, or deleted);
    ``deleted`` those that deleted it; ``answers_lost`` the applied ones whose answer the sandbox
    lost on purpose (``"lost"``).
    """

    contents_sent: int = 0
    applied: int = 0
    deleted: int = 0
    answers_lost: int = 0
    last_content: str | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "contents_sent": self.contents_sent,
            "applied": self.applied,
            "deleted": self.deleted,
            "answers_lost": self.answers_lost,
        }


class SandboxState:
    """Everything the sandbox knows; in-process tests may read it and call its methods."""

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.orders: dict[str, StoredOrder] = {}
        self.tokens: dict[str, float] = {}  # access token -> clock() at expiry
        self.faults: deque[Fault] = deque()
        self.faults_injected: Counter[str] = Counter()  # kind ("503", "timeout", ...) -> count
        self.writes: dict[str, OrderWrites] = {}  # external_ref -> its writes (never forgotten)
        self.rng = random.Random(options.seed)  # noqa: S311 -- fault injection, not security
        self._requests: deque[dict[str, object]] = deque(
            maxlen=max(options.max_recorded_requests, 1)
        )
        # Requests recorded since the last clear: ``seq`` keeps counting past the bound.
        self._seq = 0
        self._lock = threading.Lock()  # tests read the recording from another thread
        self._open = threading.Event()  # cleared by hold(): /api/* requests wait for release()
        self._open.set()
        self.held = 0  # /api/* requests that arrived while held (waiting or since released)

    # --- recording -------------------------------------------------------------------------------
    def record(self, entry: dict[str, object]) -> None:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._requests.append(entry)  # the deque drops the oldest beyond max_recorded_requests
            if self.options.record_file is not None:
                with self.options.record_file.open("a", encoding="utf-8") as sink:
                    sink.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def requests(
        self, *, method: str | None = None, path: str | None = None, path_prefix: str | None = None
    ) -> list[dict[str, object]]:
        """Recorded requests kept in memory, oldest first, optionally filtered (method case-insensitive)."""
        with self._lock:
            entries = list(self._requests)
        return [entry for entry in entries if _matches(entry, method, path, path_prefix)]

    def count(self, method: str, path: str) -> int:
        """How many ``method`` requests reached ``path`` (e.g. ``count("PUT", "/api/orders/1001")``)."""
        return len(self.requests(method=method, path=path))

    def note_write_sent(self, ref: str, content: str) -> None:
        """A PUT/POST/DELETE for ``ref`` arrived with ``content`` (canonical JSON or
        ``DELETED_CONTENT``), before any fault is injected."""
        writes = self.writes.setdefault(ref, OrderWrites())
        if content != writes.last_content:
            writes.contents_sent += 1
            writes.last_content = content

    def note_write_applied(self, ref: str, *, deleted: bool = False) -> None:
        writes = self.writes.setdefault(ref, OrderWrites())
        writes.applied += 1
        writes.deleted += int(deleted)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
            self._seq = 0

    # --- control ---------------------------------------------------------------------------------
    def mark_planned(self, ref: str) -> bool:
        """Mark an order planned (DELETE is refused from then on); False when unknown."""
        order = self.orders.get(ref)
        if order is None:
            return False
        order.planned = True
        return True

    def script_faults(self, faults: Iterable[Fault]) -> None:
        """Make the next ``/api/*`` requests fail with these statuses, in order.

        ``"timeout"`` hangs (``hang_seconds``, or until the client gives up), then answers 504
        without doing anything. ``"lost"`` does the request (the order is stored or deleted), then
        hangs the same way: the change is made in Gordon but its answer never reaches the client.
        """
        self.faults = deque(faults)

    def hold(self) -> None:
        """Make every ``/api/*`` request wait, once it arrived, until ``release()``.

        A test can then act while a client's request is surely in flight (``held`` counts them)
        instead of slowing every request down and hoping to be in time.
        """
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    async def wait_if_held(self) -> None:
        if self._open.is_set():
            return
        with self._lock:
            self.held += 1
        await asyncio.to_thread(self._open.wait)

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    def reset(self) -> None:
        self.release()
        self.orders.clear()
        self.tokens.clear()
        self.faults.clear()
        self.faults_injected.clear()
        self.writes.clear()
        self.clear_requests()

    # --- behaviour -------------------------------------------------------------------------------
    def issue_token(self) -> str:
        now = self.options.clock()
        for expired in [known for known, expires_at in self.tokens.items() if expires_at <= now]:
            del self.tokens[expired]
        token = "sbx_" + secrets.token_urlsafe(24)
        self.tokens[token] = now + self.options.token_expires_in
        return token

    def token_is_valid(self, token: str | None) -> bool:
        expires_at = self.tokens.get(token or "")
        return expires_at is not None and self.options.clock() < expires_at

    def next_fault(self) -> Fault | None:
        """The scripted fault if any, else a random one according to the rates."""
        if self.faults:
            return self.faults.popleft()
        options = self.options
        rates: tuple[tuple[Fault, float], ...] = (
            (503, options.error_rate),
            (429, options.rate_limit_rate),
            (TIMEOUT, options.timeout_rate),
            (LOST, options.lost_rate),
        )
        if not any(rate for _, rate in rates):
            return None
        roll = self.rng.random()
        for fault, rate in rates:
            if roll < rate:
                return fault
            roll -= rate
        return None


class RunningSandbox(NamedTuple):
    """A sandbox served on a loopback port."""

    base_url: str
    state: SandboxState


def tracking_id_for(ref: str) -> str:
    """A 9-character alphanumeric tracking id, stable per ref (D1.4)."""
    number = int.from_bytes(hashlib.sha256(ref.encode("utf-8")).digest(), "big")
    characters = []
    for _ in range(TRACKING_ID_LENGTH):
        number, index = divmod(number, len(_ALPHABET))
        characters.append(_ALPHABET[index])
    return "".join(characters)


def validate_order(order: Mapping[str, object], delivery_groups: Iterable[str]) -> str | None:
    """Gordon's validation as the sandbox plays it: the first message that applies, or None."""
    missing = [name for name in REQUIRED_FIELDS if _is_blank(order.get(name))]
    if missing:
        return "Missing required fields: " + ", ".join(missing)
    problems = _inventory_problems(order["inventory"])
    if problems:
        return "Invalid inventory: " + "; ".join(problems)
    if not _matches_fully(_DATE, order["deliverydate"]):
        return "Invalid deliverydate, expected YYYY-MM-DD"
    if not _matches_fully(_TIME_WINDOW, order["time-window"]):
        return "Invalid time-window, expected HH:MM - HH:MM"
    groups = {group.casefold() for group in delivery_groups}
    if groups and str(order["deliverygroup"]).casefold() not in groups:
        return UNKNOWN_GROUP
    return None


def create_gordon_sandbox(options: SandboxOptions | None = None) -> Starlette:
    """Build the sandbox ASGI app; its state is ``sandbox_state(app)``.

    CONTROL ENDPOINTS (not recorded, no faults, no auth):
        GET    /_sandbox/requests?method=PUT&path=/api/orders/1&path_prefix=/api/
                                               {"count": n, "requests": [{seq, time, method, path, ref,
                                               body, status, fault, duration_ms}, ...]}
        DELETE /_sandbox/requests              forget the recording
        POST   /_sandbox/faults {"next": [503, 429, "timeout", "lost"]}   script the next /api/* answers
        GET    /_sandbox/faults / DELETE /_sandbox/faults              show / clear the script
        GET    /_sandbox/orders                {"orders": {ref: {body, tracking_id, planned, writes}}}
        GET    /_sandbox/writes                {"writes": {ref: {contents_sent, applied, deleted,
                                               answers_lost}}} (``OrderWrites``, deleted refs too)
        POST   /_sandbox/orders/{ref}/planned  mark planned (404 when unknown)
        POST   /_sandbox/tokens/revoke         every issued token becomes invalid (next call -> 401)
        POST   /_sandbox/reset                 orders, tokens, faults and recording cleared
    """
    state = SandboxState(options or SandboxOptions())
    gordon = _GordonEndpoints(state)
    control = _ControlEndpoints(state)
    routes = [
        Route("/oauth/token", _recorded(state, gordon.token), methods=["POST"]),
        Route("/api/orders", _recorded(state, _api(state, gordon.create_order)), methods=["POST"]),
        Route(
            "/api/orders/{ref:path}",
            _recorded(state, _api(state, gordon.get_order)),
            methods=["GET"],
        ),
        Route(
            "/api/orders/{ref:path}",
            _recorded(state, _api(state, gordon.put_order)),
            methods=["PUT"],
        ),
        Route(
            "/api/orders/{ref:path}",
            _recorded(state, _api(state, gordon.delete_order)),
            methods=["DELETE"],
        ),
        *control.routes(),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


def sandbox_state(app: Starlette) -> SandboxState:
    """The state of an app built by ``create_gordon_sandbox``."""
    state = app.state.sandbox
    if not isinstance(state, SandboxState):
        raise TypeError("not a Gordon sandbox app")
    return state


class _GordonEndpoints:
    """The API as Gordon's clients see it."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def token(self, request: Request, body: bytes) -> Response:
        await _add_latency(self.state)
        document = _json_object(body)
        options = self.state.options
        if document is None or document.get("grant_type") != "client_credentials":
            return JSONResponse(
                {"error": "invalid_request", "error_description": "Bad Request"}, 400
            )
        if not _credentials_match(document, options):
            return JSONResponse(
                {"error": "access_denied", "error_description": "Unauthorized"}, 401
            )
        if document.get("audience", options.audience) != options.audience:
            description = f"Service not enabled within domain: {document.get('audience')}"
            return JSONResponse({"error": "access_denied", "error_description": description}, 403)
        answer = {
            "access_token": self.state.issue_token(),
            "scope": "general",
            "token_type": "Bearer",
            "expires_in": options.token_expires_in,
        }
        return JSONResponse(answer)

    async def get_order(self, request: Request, body: bytes) -> Response:
        ref = request.path_params["ref"]
        order = self.state.orders.get(ref)
        if order is None:
            return _error(ORDER_NOT_FOUND, 404)
        # sandbox choice: the stored fields plus tracking_id (Gordon's GET example shows neither).
        return JSONResponse({**order.body, "tracking_id": order.tracking_id})

    async def put_order(self, request: Request, body: bytes) -> Response:
        ref = request.path_params["ref"]
        document = _json_object(body)
        if document is None:
            return _error("Invalid JSON body", 400)
        if document.setdefault("external_ref", ref) != ref:
            return _error("external_ref in the body does not match the URL", 400)
        if ref not in self.state.orders and not self.state.options.tolerant_update:
            return _error(ORDER_NOT_FOUND, 404)
        return self._store(ref, document)

    async def create_order(self, request: Request, body: bytes) -> Response:
        document = _json_object(body)
        if document is None:
            return _error("Invalid JSON body", 400)
        ref = document.get("external_ref")
        if ref is not None and not isinstance(
            ref, str
        ):  # checked first: a list is not even hashable
            return _error(REF_NOT_TEXT, 400)
        if ref and ref in self.state.orders:
            return _error(REF_IN_USE, 400)
        return self._store(ref or "", document)

    async def delete_order(self, request: Request, body: bytes) -> Response:
        ref = request.path_params["ref"]
        order = self.state.orders.get(ref)
        if order is None:
            return _error(ORDER_NOT_FOUND, 404)
        if order.planned:
            return _error(ORDER_PLANNED, 400)
        del self.state.orders[ref]
        self.state.note_write_applied(ref, deleted=True)
        return JSONResponse({"status": "OK", "external_ref": ref})

    def _store(self, ref: str, document: dict[str, object]) -> Response:
        problem = validate_order(document, self.state.options.delivery_groups)
        if problem is not None:
            return _error(problem, 400, external_ref=ref or None)
        existing = self.state.orders.get(ref)
        if existing is None:
            self.state.orders[ref] = StoredOrder(body=document, tracking_id=tracking_id_for(ref))
        else:
            existing.body = document
            existing.writes += 1
        self.state.note_write_applied(ref)
        answer = {
            "external_ref": ref,
            "tracking_id": tracking_id_for(ref),
            "status": "OK",
            "deliverygroup": str(document["deliverygroup"]).lower(),
        }
        return JSONResponse(answer)


class _ControlEndpoints:
    """``/_sandbox/*``: what tests and people use to steer and inspect the sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/requests", self.list_requests, methods=["GET"]),
            Route("/_sandbox/requests", self.clear_requests, methods=["DELETE"]),
            Route("/_sandbox/faults", self.set_faults, methods=["POST"]),
            Route("/_sandbox/faults", self.show_faults, methods=["GET"]),
            Route("/_sandbox/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_sandbox/orders", self.list_orders, methods=["GET"]),
            Route("/_sandbox/writes", self.list_writes, methods=["GET"]),
            Route("/_sandbox/orders/{ref:path}/planned", self.mark_planned, methods=["POST"]),
            Route("/_sandbox/tokens/revoke", self.revoke_tokens, methods=["POST"]),
            Route("/_sandbox/reset", self.reset, methods=["POST"]),
        ]

    async def list_requests(self, request: Request) -> Response:
        query = request.query_params
        entries = self.state.requests(
            method=query.get("method"), path=query.get("path"), path_prefix=query.get("path_prefix")
        )
        return JSONResponse({"count": len(entries), "requests": entries})

    async def clear_requests(self, request: Request) -> Response:
        self.state.clear_requests()
        return JSONResponse({"status": "OK"})

    async def set_faults(self, request: Request) -> Response:
        faults = _parse_faults(await request.body())
        if faults is None:
            message = 'expected {"next": [status, ...]} with statuses 400-599, "timeout" or "lost"'
            return _error(message, 400)
        self.state.script_faults(faults)
        return await self.show_faults(request)

    async def show_faults(self, request: Request) -> Response:
        return JSONResponse({"next": list(self.state.faults)})

    async def clear_faults(self, request: Request) -> Response:
        self.state.script_faults(())
        return JSONResponse({"next": []})

    async def list_orders(self, request: Request) -> Response:
        orders = {ref: order.as_json() for ref, order in self.state.orders.items()}
        return JSONResponse({"orders": orders})

    async def list_writes(self, request: Request) -> Response:
        writes = {ref: counts.as_json() for ref, counts in self.state.writes.items()}
        return JSONResponse({"writes": writes})

    async def mark_planned(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        if not self.state.mark_planned(ref):
            return _error(ORDER_NOT_FOUND, 404)
        return JSONResponse({"status": "OK", "external_ref": ref, "planned": True})

    async def revoke_tokens(self, request: Request) -> Response:
        self.state.revoke_tokens()
        return JSONResponse({"status": "OK"})

    async def reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"status": "OK"})


def _recorded(state: SandboxState, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a Gordon-facing endpoint so that each request and its answer are recorded."""

    async def handle(request: Request) -> Response:
        try:
            body = await request.body()
        except ClientDisconnect:  # the client gave up before sending its body: nothing to answer
            return Response(status_code=499)
        started = time.monotonic()
        received_at = time.time()
        response = await endpoint(request, body)
        state.record(
            {
                "time": received_at,
                "method": request.method,
                "path": request.url.path,
                "ref": request.path_params.get("ref"),
                "body": _redacted(_json_value(body)),
                "status": response.status_code,
                "fault": response.headers.get("x-sandbox-fault"),
                "duration_ms": round((time.monotonic() - started) * 1000, 1),
            }
        )
        return response

    return handle


def _api(state: SandboxState, endpoint: Endpoint) -> Endpoint:
    """Wrap an ``/api/*`` endpoint with hold, latency, faults and the Bearer check, in that order."""

    async def handle(request: Request, body: bytes) -> Response:
        await state.wait_if_held()
        await _add_latency(state)
        written = _written_ref(request, body)
        if written is not None:
            state.note_write_sent(*written)
        fault = state.next_fault()
        if fault is not None:
            state.faults_injected[str(fault)] += 1
        if fault is not None and fault != LOST:
            return await _inject(fault, state, request)
        if not state.token_is_valid(_bearer_token(request)):
            return JSONResponse(
                {"error": "invalid_token", "error_description": "Unauthorized"}, 401
            )
        response = await endpoint(request, body)
        if fault == LOST:  # done in Gordon; the answer is lost on the way back
            if written is not None and response.status_code == 200:
                state.writes[written[0]].answers_lost += 1
            await _hang(request, state.options.hang_seconds)
            return _fault_response(504, LOST)
        return response

    return handle


def _written_ref(request: Request, body: bytes) -> tuple[str, str] | None:
    """(external_ref, content) of a PUT/POST/DELETE of an order; None for anything else."""
    if request.method == "DELETE":
        return request.path_params["ref"], DELETED_CONTENT
    if request.method not in ("PUT", "POST"):
        return None
    document = _json_object(body)
    ref = request.path_params.get("ref") or (document or {}).get("external_ref")
    if not isinstance(ref, str) or not ref or document is None:
        return None
    return ref, json.dumps(document, sort_keys=True, ensure_ascii=False)


async def _inject(fault: Fault, state: SandboxState, request: Request) -> Response:
    if fault == TIMEOUT:
        await _hang(request, state.options.hang_seconds)
        return _fault_response(504, TIMEOUT)
    status = int(fault)
    headers = {"Retry-After": _format_seconds(state.options.retry_after)} if status == 429 else {}
    return _fault_response(status, str(status), headers)


def _fault_response(status: int, label: str, headers: Mapping[str, str] | None = None) -> Response:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    all_headers = {"x-sandbox-fault": label, **(headers or {})}
    body = {"message": f"{phrase} (injected by the Gordon sandbox)"}
    return JSONResponse(body, status, headers=all_headers)


async def _hang(request: Request, seconds: float) -> None:
    """Hold the request for ``seconds``, or until the client gives up."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(HANG_POLL_SECONDS)


async def _add_latency(state: SandboxState) -> None:
    if state.options.latency > 0:
        await asyncio.sleep(state.options.latency)


def _credentials_match(document: Mapping[str, object], options: SandboxOptions) -> bool:
    client_id = document.get("client_id")
    client_secret = document.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        return False
    id_ok = hmac.compare_digest(client_id.encode(), options.client_id.encode())
    secret_ok = hmac.compare_digest(client_secret.encode(), options.client_secret.encode())
    return id_ok and secret_ok


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _error(message: str, status: int, **extra: object) -> Response:
    body = {
        "status": "error",
        "message": message,
        **{k: v for k, v in extra.items() if v is not None},
    }
    return JSONResponse(body, status)


def _inventory_problems(inventory: object) -> list[str]:
    items = inventory if isinstance(inventory, list) else []
    problems = []
    for number, item in enumerate(items, start=1):
        entry = item if isinstance(item, dict) else {}
        if _is_blank(entry.get("name")):
            problems.append(f"item {number} needs a name")
        quantity = entry.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            problems.append(f"item {number} needs a quantity of at least 1")
    return problems


def _is_blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not value
    return False


def _matches_fully(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value.strip()) is not None


def _json_value(body: bytes) -> object:
    if not body:
        return None
    try:
        return parse_json(body)
    except JsonUnusable:
        return body.decode("utf-8", errors="replace")


def _json_object(body: bytes) -> dict[str, object] | None:
    value = _json_value(body)
    return value if isinstance(value, dict) else None


def _redacted(value: object) -> object:
    if isinstance(value, dict) and "client_secret" in value:
        return {**value, "client_secret": "***"}
    return value


def _matches(
    entry: Mapping[str, object], method: str | None, path: str | None, prefix: str | None
) -> bool:
    if method and str(entry["method"]).upper() != method.upper():
        return False
    if path and entry["path"] != path:
        return False
    return not (prefix and not str(entry["path"]).startswith(prefix))


def _parse_faults(body: bytes) -> list[Fault] | None:
    document = _json_object(body)
    faults = document.get("next") if document is not None else None
    if not isinstance(faults, list) or not all(_is_fault(fault) for fault in faults):
        return None
    return list(faults)


def _is_fault(value: object) -> bool:
    if value in (TIMEOUT, LOST):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and 400 <= value <= 599


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)
