"""SaleorClient: the app's GraphQL calls to one Saleor installation.

Each operation is one of the app's documents (``graphql/``, parsed with graphql-core and printed
once per process); its request body is that text pre-serialised once plus the variables, sent
with ``outbound.exchange`` (the outbound policy, none of httpx's client layers), the answer read
with ``json_text.parse_json``.

Foreign errors are mapped in one place, ``_map_errors`` / ``_raise_for_errors``:

- connection failure, timeout, HTTP 5xx or 429, a non-GraphQL answer -> SaleorUnavailable
- HTTP 401, or ``PermissionDenied`` that the ``{ app { id } }`` probe confirms (Saleor answers an
  unknown, deleted or deactivated app token with HTTP 200, ``app: null`` and ``PermissionDenied``,
  see samples ``graphql_responses/app_id_*_token.json``) -> SaleorTokenRevoked
- a mutation's ``errors`` that are all ``NOT_FOUND`` (its object was deleted) -> SaleorNotFound
- any other GraphQL error, or a mutation's ``errors`` -> SaleorGraphQLError

The token is sent per request in ``Authorization`` and never appears in messages or logs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, Final, Literal, NoReturn

import httpx
from graphql import parse, print_ast

from saleor_gordon import __version__, metrics
from saleor_gordon.core.fulfillment import LineToFulfil
from saleor_gordon.core.fulfillment_outcomes import (
    Accepted,
    AnswerUnreadable,
    Refused,
    read_fulfil_answer,
    read_tracking_answer,
)
from saleor_gordon.core.outcomes import parse_retry_after
from saleor_gordon.errors import (
    SaleorError,
    SaleorGraphQLError,
    SaleorNotFound,
    SaleorPermissionDenied,
    SaleorTokenRevoked,
    SaleorUnavailable,
)
from saleor_gordon.json_text import JsonUnusable, parse_json
from saleor_gordon.observability import sanitize_url
from saleor_gordon.outbound import (
    AnswerTooLarge,
    DestinationKind,
    DestinationNotAllowed,
    OutboundFailure,
    WholeAnswer,
    destination,
    exchange,
    json_body,
    parsed_url,
    request_extensions,
)
from saleor_gordon.saleor.documents import load_document

PERMISSION_DENIED: Final = "PermissionDenied"
NOT_FOUND: Final = "NOT_FOUND"
"""A mutation error's code when its object does not exist (``MetadataErrorCode``, ``OrderErrorCode``)."""
_UNAVAILABLE_STATUSES: Final = frozenset({429})
_MAX_PAGES: Final = 20  # of 100 items each: more warehouses or shipping zones than any shop has
ORDERS_PAGE_SIZE: Final = 100  # Saleor's maximum for `first`

OrderTimeField = Literal["createdAt", "updatedAt"]


@dataclass(frozen=True)
class OrdersPage:
    """One page of ``orders``: the orders as ``OrderDetails`` selects them."""

    orders: list[dict[str, Any]]
    next_cursor: str | None
    """The ``after`` of the next page; None on the last page."""
    total: int | None
    legacy_filter: bool
    """The page came from ``orders(filter:)`` because this Saleor lacks ``orders(where:)``."""


@dataclass(frozen=True)
class AppIdentity:
    """The app a token belongs to."""

    id: str
    """Its global ID in this Saleor (new with every installation)."""
    identifier: str | None
    """The ``id`` of the manifest it was installed from (``App.identifier``, Saleor 3.19+); None
    for an app created without a manifest."""


class _HTTPStatus(Exception):
    """Saleor answered an HTTP error status, with the Retry-After it asked for (seconds), if any."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class _NotGraphQL(Exception):
    """The answer is not a GraphQL result (not JSON, or neither ``data`` nor ``errors``)."""


class SaleorClient:
    """GraphQL client for one Saleor API URL and app token."""

    def __init__(
        self,
        *,
        saleor_api_url: str,
        token: str,
        http: httpx.AsyncClient | None = None,
        timeout: float = 15.0,
    ) -> None:
        self._url = saleor_api_url
        self._shown_url = sanitize_url(saleor_api_url)
        self._token = token
        self._timeout = timeout
        self._headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": f"saleor-gordon/{__version__}",
            "Authorization": f"Bearer {token}",
        }
        self._extensions = request_extensions(
            destination(DestinationKind.SALEOR, saleor_api_url), httpx.Timeout(timeout)
        )
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient()

    def __repr__(self) -> str:
        return f"SaleorClient({self._shown_url!r})"

    async def aclose(self) -> None:
        """Close the httpx client if this SaleorClient created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> SaleorClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def app_id(self) -> str:
        """The global ID of the app the token belongs to."""
        return (await self.app_identity()).id

    async def app_identity(self) -> AppIdentity:
        """Which app the token belongs to: its ID in this Saleor and its manifest's identifier."""
        data = await self._execute("AppId", {}, probe_on_denied=False)
        app = data.get("app")
        if not isinstance(app, dict) or not isinstance(app.get("id"), str):
            raise SaleorTokenRevoked()
        identifier = app.get("identifier")
        return AppIdentity(str(app["id"]), identifier if isinstance(identifier, str) else None)

    async def app_status(self) -> dict[str, Any]:
        """The app as ``AppStatus`` selects it: id, permissions and webhooks."""
        data = await self._execute("AppStatus", {}, probe_on_denied=False)
        app = data.get("app")
        if not isinstance(app, dict):
            raise SaleorTokenRevoked()
        return app

    async def shop_name(self) -> str | None:
        """The shop's name as its staff see it in the Dashboard (``shop { name }``)."""
        data = await self._execute("ShopName", {})
        shop = data.get("shop")
        name = shop.get("name") if isinstance(shop, dict) else None
        return name if isinstance(name, str) and name.strip() else None

    async def fetch_order(self, order_id: str) -> dict[str, Any] | None:
        """The order as ``OrderDetails`` selects it, or None when Saleor has no such order."""
        data = await self._execute("OrderForGordon", {"id": order_id})
        order = data.get("order")
        return order if isinstance(order, dict) else None

    async def channels_and_warehouses(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The shop's channels and warehouses (every page of warehouses)."""
        channels: list[dict[str, Any]] = []
        warehouses: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(_MAX_PAGES):
            data = await self._execute("ChannelsAndWarehouses", {"after": after})
            channels = [c for c in data.get("channels") or [] if isinstance(c, dict)]
            nodes, after = _page(data.get("warehouses"))
            warehouses.extend(nodes)
            if after is None:
                break
        return channels, warehouses

    async def shipping_methods(self) -> list[dict[str, Any]]:
        """The shipping zones with their methods and channels (needs MANAGE_SHIPPING).

        Raises:
            SaleorPermissionDenied: the app was installed without MANAGE_SHIPPING.
        """
        zones: list[dict[str, Any]] = []
        after: str | None = None
        for _ in range(_MAX_PAGES):
            data = await self._execute("ShippingMethods", {"after": after})
            nodes, after = _page(data.get("shippingZones"))
            zones.extend(nodes)
            if after is None:
                break
        return zones

    async def orders_page(
        self,
        *,
        field: OrderTimeField,
        since: datetime,
        until: datetime,
        after: str | None,
        legacy_filter: bool = False,
    ) -> OrdersPage:
        """The orders whose ``field`` lies in [since, until], by number, ``after`` a cursor.

        ``orders(where:)`` first; a Saleor that refuses it (before 3.22) is asked with the
        deprecated ``filter`` instead (``legacy_filter`` goes straight there). That filter knows
        creation only by day, so its orders are narrowed to the range here.
        """
        if not legacy_filter:
            where = {field: {"gte": since.isoformat(), "lte": until.isoformat()}}
            variables = {"where": where, "first": ORDERS_PAGE_SIZE, "after": after}
            try:
                data = await self._execute("OrdersPage", variables)
            except SaleorGraphQLError:
                legacy_filter = True
            else:
                return _orders_page(data, legacy_filter=False)
        legacy: dict[str, Any]
        if field == "createdAt":
            day_range = {"gte": since.date().isoformat(), "lte": until.date().isoformat()}
            legacy = {"created": day_range}
        else:
            legacy = {"updatedAt": {"gte": since.isoformat(), "lte": until.isoformat()}}
        variables = {"filter": legacy, "first": ORDERS_PAGE_SIZE, "after": after}
        page = _orders_page(await self._execute("OrdersPageLegacy", variables), legacy_filter=True)
        if field == "createdAt":
            kept = [o for o in page.orders if _created_within(o, since, until)]
            page = OrdersPage(kept, page.next_cursor, page.total, legacy_filter=True)
        return page

    async def write_metadata(
        self,
        order_id: str,
        *,
        public: Mapping[str, str],
        private: Mapping[str, str],
        delete_private: Sequence[str] = (),
    ) -> None:
        """Change an order's metadata in one request: upsert the ``public`` keys, upsert the
        ``private`` keys, remove the ``delete_private`` keys (absent keys are fine), in this
        order. A part with nothing to do is not sent: each mutation Saleor runs sends its own
        ``ORDER_METADATA_UPDATED``. Saleor runs every part sent even when one fails; the first
        failure is raised.

        Raises:
            SaleorNotFound: Saleor has no such order (it was deleted).
        """
        parts = (
            ("updateMetadata", bool(public)),
            ("updatePrivateMetadata", bool(private)),
            ("deletePrivateMetadata", bool(delete_private)),
        )
        if not any(sent for _, sent in parts):
            return
        data = await self._execute(
            "WriteOrderMetadata",
            {
                "id": order_id,
                "public": _entries(public),
                "private": _entries(private),
                "deletePrivate": list(delete_private),
                "writePublic": bool(public),
                "writePrivate": bool(private),
                "deletePrivateKeys": bool(delete_private),
            },
        )
        for field, sent in parts:
            if not sent:
                continue
            payload = data.get(field)
            if not isinstance(payload, dict):
                raise SaleorGraphQLError(f"Saleor returned no result for {field}.")
            _raise_for_mutation_errors(field, payload.get("errors"))

    # -- fulfillments (core/fulfillment.py decides; refusals are answers, not exceptions) ----

    async def fulfill_order(
        self,
        order_id: str,
        lines: Sequence[LineToFulfil],
        *,
        tracking_number: str,
        notify_customer: bool,
    ) -> Accepted | Refused:
        """``orderFulfill``: the lines from their warehouses with the tracking number; never
        beyond the stock (``allowStockToBeExceeded`` false).

        Returns Saleor's answer: the fulfillments created and the order after it, or its
        refusal (e.g. ``Refusal.NOT_ENOUGH_STOCK``) with the lines and warehouse concerned.
        """
        fulfil_input = {
            "lines": [line.as_input() for line in lines],
            "trackingNumber": tracking_number,
            "notifyCustomer": notify_customer,
            "allowStockToBeExceeded": False,
        }
        data = await self._execute("FulfillOrder", {"order": order_id, "input": fulfil_input})
        return _read_answer(read_fulfil_answer, "orderFulfill", data)

    async def update_fulfillment_tracking(
        self, fulfillment_id: str, *, tracking_number: str, notify_customer: bool
    ) -> Accepted | Refused:
        """``orderFulfillmentUpdateTracking``: replaces whatever the fulfillment has (Saleor
        does not check), so call it only for a fulfillment just read without a tracking number.

        Returns the fulfillment and the order after it, or Saleor's refusal.
        """
        tracking_input = {"trackingNumber": tracking_number, "notifyCustomer": notify_customer}
        data = await self._execute(
            "UpdateFulfillmentTracking", {"id": fulfillment_id, "input": tracking_input}
        )
        return _read_answer(read_tracking_answer, "orderFulfillmentUpdateTracking", data)

    async def _execute(
        self, operation: str, variables: dict[str, Any], *, probe_on_denied: bool = True
    ) -> dict[str, Any]:
        started, outcome = time.monotonic(), "error"
        try:
            with self._map_errors(operation):
                request = httpx.Request(
                    "POST",
                    parsed_url(self._url),
                    headers=self._headers,
                    content=request_body(operation, variables),
                    extensions=self._extensions,
                )
                data, errors = _graphql_result(await exchange(self._http, request))
            if errors:
                outcome = "graphql_error"
                await self._raise_for_errors(operation, errors, probe_on_denied)
            outcome = "ok"
        finally:
            elapsed = time.monotonic() - started
            metrics.SALEOR_REQUESTS.labels(operation, outcome).observe(elapsed)
        return data

    @contextmanager
    def _map_errors(self, operation: str) -> Iterator[None]:
        where = f"{operation} at {self._shown_url}"
        try:
            yield
        except _HTTPStatus as exc:
            raise _status_error(exc.status, where, retry_after=exc.retry_after) from exc
        except _NotGraphQL as exc:
            raise SaleorUnavailable(f"Saleor did not answer with GraphQL ({where}).") from exc
        except (
            TimeoutError,
            httpx.HTTPError,
            httpx.InvalidURL,  # outside httpx.HTTPError, like the IDNA UnicodeError below
            UnicodeError,
        ) as exc:
            if isinstance(exc, DestinationNotAllowed):
                message = f"Saleor may not be called ({where}): the API URL {exc.reason}."
                raise SaleorUnavailable(message) from exc
            if isinstance(exc, OutboundFailure):
                raise SaleorUnavailable(f"Saleor {exc.reason} ({where}).") from exc
            reason = (
                "the API URL is not usable"
                if isinstance(exc, httpx.InvalidURL | UnicodeError)
                else type(exc).__name__
            )
            raise SaleorUnavailable(f"Saleor could not be reached ({where}): {reason}.") from exc

    async def _raise_for_errors(
        self, operation: str, errors: Sequence[Any], probe_on_denied: bool
    ) -> NoReturn:
        message = "; ".join(_error_message(error) for error in errors)
        if any(_error_code(error) == PERMISSION_DENIED for error in errors):
            if not probe_on_denied:
                raise SaleorTokenRevoked()
            await self.app_id()  # raises SaleorTokenRevoked if the token itself is refused
            raise SaleorPermissionDenied(
                f"Saleor denied {operation}: {message}", saleor_message=message
            )
        raise SaleorGraphQLError(f"Saleor refused {operation}: {message}", saleor_message=message)


def failure_summary(exc: SaleorError) -> str:
    """A short, fixed clause for what went wrong in a call, safe to show to a person.

    Never Saleor's own error text: "Saleor refused the token", "Saleor answered HTTP 500", ...
    """
    cause = exc.__cause__
    if isinstance(exc, SaleorTokenRevoked):
        return "Saleor refused the token"
    if isinstance(cause, DestinationNotAllowed):
        return f"the API URL {cause.reason}"
    if isinstance(cause, AnswerTooLarge):
        return f"Saleor {cause.reason}"
    if isinstance(cause, _HTTPStatus):
        return f"Saleor answered HTTP {cause.status}"
    if isinstance(cause, _NotGraphQL):
        return "the URL did not answer like a Saleor GraphQL API"
    if isinstance(exc, SaleorUnavailable):
        return "Saleor could not be reached"
    return "Saleor answered with an error"


def request_body(operation: str, variables: Mapping[str, Any]) -> bytes:
    """The JSON body of a request of one of the app's operations: ``query`` (the document as
    graphql-core prints it, serialised once per process) and ``variables`` (left out when there
    are none)."""
    if not variables:
        return _query_only(operation)
    return _query_prefix(operation) + json_body(variables) + b"}"


@cache
def _printed(operation: str) -> str:
    """The operation's document parsed (a syntax error fails here, not at Saleor) and printed."""
    return print_ast(parse(load_document(operation)))


@cache
def _query_prefix(operation: str) -> bytes:
    return b'{"query":' + json_body(_printed(operation)) + b',"variables":'


@cache
def _query_only(operation: str) -> bytes:
    return json_body({"query": _printed(operation)})


def _graphql_result(answer: WholeAnswer) -> tuple[dict[str, Any], list[Any]]:
    """``data`` and ``errors`` of a GraphQL answer.

    Raises:
        _HTTPStatus: an HTTP error status (whatever the body says: Saleor's status decides).
        _NotGraphQL: not JSON, not an object, neither ``data`` nor ``errors``, or no ``data``
            object where there are no errors.
    """
    if answer.status >= httpx.codes.BAD_REQUEST:
        retry_after = parse_retry_after(answer.headers.get("retry-after"), now=datetime.now(UTC))
        raise _HTTPStatus(answer.status, retry_after)
    try:
        result = parse_json(answer.body)
    except JsonUnusable as exc:
        raise _NotGraphQL(f"the answer {exc.reason}") from None
    if not isinstance(result, dict) or ("data" not in result and "errors" not in result):
        raise _NotGraphQL('no "data" or "errors" in the answer')
    data, errors = result.get("data"), result.get("errors")
    if errors:
        return (data if isinstance(data, dict) else {}), (
            errors if isinstance(errors, list) else [errors]
        )
    if not isinstance(data, dict):
        raise _NotGraphQL('no "data" object in an answer without errors')
    return data, []


def _status_error(status: int | None, where: str, *, retry_after: float | None = None) -> Exception:
    if status == httpx.codes.UNAUTHORIZED:
        return SaleorTokenRevoked()
    if status is None or status >= httpx.codes.INTERNAL_SERVER_ERROR:
        return SaleorUnavailable(
            f"Saleor answered HTTP {status} ({where}).", retry_after=retry_after
        )
    if status in _UNAVAILABLE_STATUSES:
        return SaleorUnavailable(
            f"Saleor answered HTTP {status} ({where}); try again later.", retry_after=retry_after
        )
    return SaleorGraphQLError(f"Saleor answered HTTP {status} ({where}).", status=status)


def _page(connection: object) -> tuple[list[dict[str, Any]], str | None]:
    """The nodes of a GraphQL connection and the cursor of the next page (None: last page)."""
    if not isinstance(connection, dict):
        return [], None
    nodes = [
        edge["node"]
        for edge in connection.get("edges") or []
        if isinstance(edge, dict) and isinstance(edge.get("node"), dict)
    ]
    info = connection.get("pageInfo")
    more = isinstance(info, dict) and info.get("hasNextPage") is True
    cursor = info.get("endCursor") if isinstance(info, dict) else None
    return nodes, cursor if more and isinstance(cursor, str) else None


def _orders_page(data: Mapping[str, Any], *, legacy_filter: bool) -> OrdersPage:
    connection = data.get("orders")
    nodes, cursor = _page(connection)
    total = connection.get("totalCount") if isinstance(connection, dict) else None
    return OrdersPage(
        nodes, cursor, total if isinstance(total, int) else None, legacy_filter=legacy_filter
    )


def _created_within(order: Mapping[str, Any], since: datetime, until: datetime) -> bool:
    created = order.get("created")
    try:
        moment = datetime.fromisoformat(created) if isinstance(created, str) else None
    except ValueError:
        moment = None
    if moment is None:
        return True  # the sync job judges an order it cannot place in time
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return since <= moment <= until


def _read_answer(
    read: Callable[[object], Accepted | Refused], field: str, data: Mapping[str, Any]
) -> Accepted | Refused:
    try:
        return read(data.get(field))
    except AnswerUnreadable as exc:
        raise SaleorGraphQLError(
            f"Saleor answered {field} in a form the app cannot read: {exc}."
        ) from exc


def _entries(items: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in items.items()]


def _raise_for_mutation_errors(field: str, errors: object) -> None:
    if not errors:
        return
    if not isinstance(errors, list):
        raise SaleorGraphQLError(f"Saleor answered {field} with malformed errors.")
    details = "; ".join(
        f"{e.get('code')} {e.get('field')}: {e.get('message')}" if isinstance(e, dict) else str(e)
        for e in errors
    )
    if all(isinstance(e, dict) and e.get("code") == NOT_FOUND for e in errors):
        raise SaleorNotFound(f"Saleor refused {field}: {details}", saleor_message=details)
    raise SaleorGraphQLError(f"Saleor refused {field}: {details}")


def _error_code(error: Any) -> object:
    if not isinstance(error, dict):
        return None
    extensions = error.get("extensions")
    exception = extensions.get("exception") if isinstance(extensions, dict) else None
    return exception.get("code") if isinstance(exception, dict) else None


def _error_message(error: Any) -> str:
    if isinstance(error, dict):
        return str(error.get("message", "unknown error"))
    return str(error)
