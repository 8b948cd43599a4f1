"""The JSON API behind the app's Dashboard pages (``/api/dashboard/…``).

Every endpoint is guarded by ``dashboard_auth.authenticate`` and acts on the one installation the
request's ``saleor-api-url`` names. Reading and acting on orders needs MANAGE_ORDERS; changing the
configuration (and testing credentials) needs MANAGE_APPS too. Bodies are read with the app's one
JSON parser (size-limited, depth-safe) and validated by the Pydantic models below, which also
describe the API in the OpenAPI document (``/api/openapi.json``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from saleor_gordon.core.fulfillment import tracking_link
from saleor_gordon.core.gordon_order import ITEM_TYPES
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.kept_text import keepable_text
from saleor_gordon.core.order import MAX_ORDER_ID_CHARS
from saleor_gordon.core.shop_config import TRIGGER_EVENTS, DeliveryDays, parse_delivery_days
from saleor_gordon.core.translate import Problem
from saleor_gordon.errors import (
    ConfigChangedElsewhere,
    ConfigProblem,
    DashboardRequestRefused,
    SaleorError,
    SaleorTokenRevoked,
    SaleorUnavailable,
    ShopConfigInvalid,
)
from saleor_gordon.jobs.lifecycle import RETRYABLE_STATUSES, fulfillment_retryable
from saleor_gordon.jobs.views import JobView, said
from saleor_gordon.json_text import parse_json_object
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.graphql_client import failure_summary
from saleor_gordon.shop_actions import (
    OrderNotFound,
    SendPreview,
    check_gordon_connection,
    preview_send,
    read_shop_config,
    request_send,
    save_shop_config,
    shop_options,
)
from saleor_gordon.store.installations import Installation
from saleor_gordon.web import dashboard_knowledge
from saleor_gordon.web.dashboard_deps import (
    AppRuntime,
    Configurer,
    Reader,
    ShopInstallation,
)
from saleor_gordon.web.request_body import read_limited_body

M = TypeVar("M", bound=BaseModel)

PREFIX = "/api/dashboard"
MAX_PAGE_SIZE = 100
MAX_JOB_ID = 2**31 - 1  # job ids are INTEGER columns; a larger number is no job, not a crash
GORDON_ENVIRONMENTS = tuple(
    {"name": environment["id"].title(), "base_url": environment["base_url"]}
    for environment in dashboard_knowledge.GORDON_ENVIRONMENTS
)


# --- models ---------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProblemOut(_Model):
    path: str = Field(description="Where: a JSON path such as delivery_groups[0].channel")
    message: str = Field(description="What is wrong and what to do about it, in English")
    code: str | None = Field(
        default=None, description="The same as a message code (core.messages); null: none"
    )
    params: dict[str, Any] = Field(default_factory=dict, description="The code's parameters")


class SessionOut(_Model):
    saleor_api_url: str
    user_email: str | None
    can_configure: bool = Field(description="The user holds MANAGE_APPS and may change settings")
    configured: bool
    token_revoked: bool = Field(description="Saleor refused the app token; reinstall the app")
    timezone: str = Field(description="The shop's time zone (its delivery days'), for times shown")


class Environment(_Model):
    name: str
    base_url: str


class ConfigOut(_Model):
    config: dict[str, Any] | None = Field(
        description="The stored configuration without client_secret; null before the first save"
    )
    client_secret_set: bool
    config_version: int = Field(
        description="The version of the stored configuration (0 before the first save; every "
        "save, here or by `saleor-gordon config set`, adds one): send it back with PUT"
    )
    problems: list[ProblemOut] = Field(description="Why the stored configuration is invalid")
    environments: list[Environment]
    trigger_events: list[str]
    item_types: list[str]


class ConfigIn(_Model):
    config: dict[str, Any] = Field(
        description="The whole configuration (README: Configuration of a shop); an empty "
        "gordon.client_secret keeps the stored one"
    )
    config_version: int = Field(
        ge=0,
        le=2**63 - 1,
        description="Required: the config_version of the configuration this one was made from "
        "(GET). When another save came in since, nothing is stored and the answer is 409 "
        "CONFIG_CHANGED_ELSEWHERE; to replace it deliberately, GET it again and send its version.",
    )


class ConfigSaved(_Model):
    saved: Literal[True] = True
    client_secret_set: bool = Field(description="Whether a client secret is stored now, read back")
    config_version: int = Field(description="The version of the configuration just stored")


class GordonCredentialsIn(_Model):
    gordon: dict[str, Any] = Field(
        description="base_url, client_id and client_secret (empty: the stored secret)"
    )


class ConnectionOut(_Model):
    ok: bool
    message: str = Field(description="Gordon's answer, in English (for support)")
    problem: str | None = Field(description="credentials | unreachable | base_url | unavailable")
    code: str = Field(description="connection.ok or connection.<problem> (core.messages)")


class DeliveryDaysIn(_Model):
    delivery_days: dict[str, Any]


class DeliveryDateOut(_Model):
    now: datetime
    timezone: str = Field(description="The time zone the rules count days in")
    delivery_date: str = Field(description="YYYY-MM-DD: what an order placed now would get")
    explanation: str = Field(description="In English")


class Channel(_Model):
    slug: str | None
    name: str | None
    is_active: bool


class Warehouse(_Model):
    id: str | None
    slug: str | None
    name: str | None


class ShippingMethod(_Model):
    id: str | None
    name: str | None
    zone: str | None
    channels: list[str | None]


class ShopOptionsOut(_Model):
    channels: list[Channel]
    warehouses: list[Warehouse]
    shipping_methods: list[ShippingMethod] | None
    shipping_methods_note: str | None


class MessageOut(_Model):
    code: str | None = Field(
        description="core.messages code the page words in its language; null: written before "
        "codes existed, show `message`"
    )
    params: dict[str, Any] = Field(
        description="The code's parameters; a parameter may itself be a message {code, params, "
        "message} or a list"
    )
    message: str = Field(description="In English (logs, the command line, older readers)")


class HistoryOut(_Model):
    at: str
    attempt: int
    action: str
    outcome: str
    message: MessageOut | None


class JobOut(_Model):
    id: int
    order_id: str
    order_number: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_action: str | None
    last_outcome: str | None
    last_message: MessageOut | None
    external_ref: str | None
    tracking_id: str | None
    delivery_date: str | None
    time_window: str | None
    events_seen: list[str]
    in_progress: bool
    retryable: bool = Field(description="Retry (or Send to Gordon) can change something now")
    fulfillment_retryable: bool = Field(
        default=False,
        description="Try fulfilling again can change something now: Gordon has the order, its "
        "fulfillment is blocked (POST /jobs/{id}/retry-fulfillment)",
    )
    tracking_url: str | None = Field(
        default=None, description="The tracking link (the shop's tracking_url), if it has one"
    )
    fulfillment_state: str | None = Field(
        default=None,
        description="Where the order's fulfillment stands (core.fulfillment.FulfillmentState)",
    )
    fulfillment_message: MessageOut | None = Field(
        default=None, description="Why (a code of core.messages.FULFILLMENT_REASONS)"
    )
    created_at: datetime
    updated_at: datetime
    history: list[HistoryOut]


class JobPage(_Model):
    items: list[JobOut]
    total: int = Field(description="Jobs matching the filters")
    page: int
    page_size: int
    counts: dict[str, int] = Field(description="Jobs per status, unfiltered")


class RetryOut(_Model):
    queued: int
    message: str = Field(description="In English")
    job: JobOut | None = Field(
        default=None, description="The order's job as queued now (a retry of one order)"
    )


class OrderStatusOut(_Model):
    order_id: str
    job: JobOut | None = Field(description="null: no event of this order reached the app yet")


class ProblemDetail(_Model):
    field: str
    reason: str = Field(description="In English")
    fix: str = Field(description="In English")
    message: str = Field(description="In English, the field first (the command line's)")
    code: str = Field(description="core.messages problem code the page words in its language")
    params: dict[str, Any] = Field(description="The code's parameters")


class SendPreviewOut(_Model):
    order_id: str
    order_number: str | None
    action: str = Field(
        description="send | update | unchanged | withdraw | skip | fix | not_configured"
    )
    headline: str = Field(
        description="What the headline says: the action, or withdraw_expired for an order "
        "withdrawn because it expired (not cancelled) in Saleor"
    )
    can_send: bool
    message: MessageOut = Field(description="What sending would do, or why not")
    gordon_order: dict[str, Any] | None = Field(description="The exact body of PUT /api/orders")
    problems: list[ProblemDetail]
    warnings: list[ProblemDetail]


def _keepable_order_id(order_id: str) -> str:
    """An order id a job can hold (``keepable_text``): PostgreSQL refuses a NUL even in a
    lookup, and a line break would forge log lines."""
    if not keepable_text(order_id, MAX_ORDER_ID_CHARS):
        raise ValueError(f"an order id is one line of at most {MAX_ORDER_ID_CHARS} characters")
    return order_id


KeepableOrderId = Annotated[str, AfterValidator(_keepable_order_id)]


class SendIn(_Model):
    order_id: KeepableOrderId = Field(min_length=1, max_length=MAX_ORDER_ID_CHARS)


class SendOut(_Model):
    job_id: int
    message: str


# --- plumbing -------------------------------------------------------------------------------


def _json_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """Read and validate a JSON body with the app's own parser (size limit, nesting, types)."""

    async def dependency(request: Request) -> M:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";")[0].strip().lower() != "application/json":
            raise DashboardRequestRefused(
                "UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.", status_hint=415
            )
        data = parse_json_object(await read_limited_body(request), code="INVALID_REQUEST_JSON")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            where = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
            )
            raise DashboardRequestRefused(
                "INVALID_REQUEST", f"The request body is not usable: {where}.", status_hint=422
            ) from None

    return dependency


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of an endpoint that reads its body with ``_json_body``."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _config_invalid(
    exc: ShopConfigInvalid, what: str = "Nothing was saved"
) -> DashboardRequestRefused:
    count = len(exc.details)
    return DashboardRequestRefused(
        "CONFIG_INVALID",
        f"{what}: {count} problem{'s' if count != 1 else ''} to fix.",
        status_hint=422,
        problems=exc.details,
    )


@contextmanager
def _saleor_errors() -> Iterator[None]:
    """Saleor failures while serving a page, as answers the page can show."""
    try:
        yield
    except SaleorTokenRevoked as exc:
        raise DashboardRequestRefused(
            "SALEOR_TOKEN_REVOKED",
            "Saleor no longer accepts the app's token; reinstall the app in the Dashboard.",
            status_hint=409,
        ) from exc
    except SaleorUnavailable as exc:
        raise DashboardRequestRefused(
            "SALEOR_UNAVAILABLE",
            f"The app cannot read from Saleor right now ({failure_summary(exc)}); try again.",
            status_hint=503,
        ) from exc
    except SaleorError as exc:
        raise DashboardRequestRefused(
            "SALEOR_REFUSED", f"Saleor refused the app's request: {exc.message}", status_hint=502
        ) from exc


def _job_out(job: JobView, link_format: str) -> JobOut:
    data = job.to_dict()
    data.pop("saleor_api_url")  # the shop is the caller's own
    data.pop("last_code")
    data.pop("last_params")
    data.pop("fulfillment_code")
    data.pop("fulfillment_params")
    data["last_message"] = job.last_said
    data["fulfillment_message"] = job.fulfillment_said
    data["history"] = [
        {
            "at": entry["at"],
            "attempt": entry["attempt"],
            "action": entry["action"],
            "outcome": entry["outcome"],
            "message": said(entry["message"], entry["code"], entry["params"]),
        }
        for entry in job.history
    ]
    data["retryable"] = job.status in RETRYABLE_STATUSES
    data["fulfillment_retryable"] = fulfillment_retryable(job.status, job.fulfillment_state)
    data["tracking_url"] = tracking_link(job.tracking_id or "", link_format)
    return JobOut.model_validate(data)


async def _link_format(runtime: Runtime, installation_id: int) -> str:
    """The shop's tracking link format (``tracking_url``); empty when it has none (or no
    configuration that validates: the pages say so elsewhere)."""
    try:
        config = await runtime.installations.get_config(installation_id)
    except ShopConfigInvalid:
        return ""
    return config.tracking_url if config is not None else ""


def _problem(problem: Problem) -> ProblemDetail:
    said = problem.advice.to_json()
    return ProblemDetail(
        field=problem.field,
        reason=problem.reason,
        fix=problem.fix,
        message=problem.message,
        code=said["code"],
        params=said["params"],
    )


def _preview_out(preview: SendPreview) -> SendPreviewOut:
    return SendPreviewOut(
        order_id=preview.order_id,
        order_number=preview.order_number,
        action=preview.action,
        headline=preview.headline,
        can_send=preview.action in ("send", "update"),
        message=MessageOut(**preview.message.to_json()),
        gordon_order=preview.gordon_order,
        problems=[_problem(p) for p in preview.problems],
        warnings=[_problem(p) for p in preview.warnings],
    )


JobId = Annotated[int, Path(ge=1, le=MAX_JOB_ID)]
OrderId = Annotated[KeepableOrderId, Query(min_length=1, max_length=MAX_ORDER_ID_CHARS)]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


# --- routes ---------------------------------------------------------------------------------

router = APIRouter(prefix=PREFIX, tags=["dashboard"])


@router.get("/session", response_model=SessionOut)
async def session(user: Reader, installation: ShopInstallation, runtime: AppRuntime) -> SessionOut:
    stored = await read_shop_config(runtime, installation.id)
    return SessionOut(
        saleor_api_url=installation.saleor_api_url,
        user_email=user.user_email,
        can_configure=user.can_configure,
        configured=stored.config is not None,
        token_revoked=installation.revoked_at is not None,
        timezone=_shop_timezone(stored.config),
    )


@router.get("/config", response_model=ConfigOut)
async def get_config(user: Reader, runtime: AppRuntime) -> ConfigOut:
    stored = await read_shop_config(runtime, user.installation.id)
    return ConfigOut(
        config=stored.config,
        client_secret_set=stored.client_secret_set,
        config_version=stored.version,
        problems=[
            ProblemOut(path=p.path, message=p.message, code=p.code, params=dict(p.params))
            for p in stored.problems
        ],
        environments=[Environment(**e) for e in GORDON_ENVIRONMENTS],
        trigger_events=list(TRIGGER_EVENTS),
        item_types=list(ITEM_TYPES),
    )


@router.put(
    "/config",
    response_model=ConfigSaved,
    openapi_extra=_body_schema(ConfigIn),
    description="Store the whole configuration, based on the version it was made from "
    "(`config_version`, from GET). 409 `CONFIG_CHANGED_ELSEWHERE` when another save (another "
    "page, `saleor-gordon config set`) came in since: nothing is stored (GET the stored one). 422 `INVALID_REQUEST` without a "
    "version, `CONFIG_INVALID` with the problems of a configuration that does not validate.",
)
async def put_config(
    user: Configurer,
    body: Annotated[ConfigIn, Depends(_json_body(ConfigIn))],
    runtime: AppRuntime,
) -> ConfigSaved:
    try:
        version = await save_shop_config(
            runtime, user.installation.id, body.config, based_on=body.config_version
        )
    except ConfigChangedElsewhere:
        raise DashboardRequestRefused(
            "CONFIG_CHANGED_ELSEWHERE",
            "Nothing was saved: someone else saved the configuration after this page loaded "
            "it. Load the saved configuration (your changes are discarded), or save yours over it.",
            status_hint=409,
        ) from None
    except ShopConfigInvalid as exc:
        raise _config_invalid(exc) from None
    stored = await read_shop_config(runtime, user.installation.id)  # what was stored, read back
    return ConfigSaved(client_secret_set=stored.client_secret_set, config_version=version)


@router.post(
    "/config/test-connection",
    response_model=ConnectionOut,
    openapi_extra=_body_schema(GordonCredentialsIn),
)
async def test_connection(
    user: Configurer,
    body: Annotated[GordonCredentialsIn, Depends(_json_body(GordonCredentialsIn))],
    runtime: AppRuntime,
) -> ConnectionOut:
    try:
        check = await check_gordon_connection(runtime, user.installation.id, body.gordon)
    except ShopConfigInvalid as exc:
        raise _config_invalid(exc, "Gordon was not asked") from None
    return ConnectionOut(
        ok=check.ok,
        message=check.message,
        problem=check.problem,
        code=f"connection.{check.problem or 'ok'}",
    )


@router.post(
    "/config/delivery-date-preview",
    response_model=DeliveryDateOut,
    openapi_extra=_body_schema(DeliveryDaysIn),
)
async def delivery_date_preview(
    _user: Reader,
    body: Annotated[DeliveryDaysIn, Depends(_json_body(DeliveryDaysIn))],
    runtime: AppRuntime,
) -> DeliveryDateOut:
    now = runtime.clock()
    try:
        days = parse_delivery_days(body.delivery_days)
        date = days.first_date(now)
    except ShopConfigInvalid as exc:
        raise _config_invalid(exc, "No preview") from None
    except ValueError as exc:  # no allowed day within a year
        problem = ConfigProblem("delivery_days.weekdays", str(exc), "config.no_delivery_day")
        raise _config_invalid(ShopConfigInvalid([problem]), "No preview") from None
    return DeliveryDateOut(
        now=now,
        timezone=days.timezone,
        delivery_date=date.isoformat(),
        explanation=f"An order placed now ({_local(now, days.timezone)}) is delivered on "
        f"{_WEEKDAYS[date.weekday()]} {date.isoformat()}.",
    )


@router.get("/shop-options", response_model=ShopOptionsOut)
async def get_shop_options(
    _user: Reader, installation: ShopInstallation, runtime: AppRuntime
) -> ShopOptionsOut:
    with _saleor_errors():
        options = await shop_options(runtime, installation)
    return ShopOptionsOut.model_validate(options, from_attributes=True)


@router.get("/jobs", response_model=JobPage)
async def list_jobs(
    user: Reader,
    runtime: AppRuntime,
    status: JobStatus | None = None,
    search: str | None = Query(default=None, max_length=255),
    page: int = Query(default=1, ge=1, le=100_000),
    page_size: int = Query(default=25, ge=1, le=MAX_PAGE_SIZE),
) -> JobPage:
    installation_id = user.installation.id
    status_value = status.value if status else None
    jobs = await runtime.jobs.list_jobs(
        installation_id=installation_id,
        status=status_value,
        search=search,
        limit=page_size,
        offset=(page - 1) * page_size,
    )
    total = await runtime.jobs.count_jobs(
        installation_id=installation_id, status=status_value, search=search
    )
    counts = await runtime.jobs.count_by_status(installation_id=installation_id)
    link_format = await _link_format(runtime, installation_id)
    return JobPage(
        items=[_job_out(job, link_format) for job in jobs],
        total=total,
        page=page,
        page_size=page_size,
        counts={s.value: counts.get(s.value, 0) for s in JobStatus},
    )


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(job_id: JobId, user: Reader, runtime: AppRuntime) -> JobOut:
    job = await runtime.jobs.get_job(job_id, installation_id=user.installation.id)
    if job is None:
        raise _job_not_found(job_id)
    return _job_out(job, await _link_format(runtime, user.installation.id))


@router.post("/jobs/{job_id}/retry", response_model=RetryOut)
async def retry_job(job_id: JobId, user: Reader, runtime: AppRuntime) -> RetryOut:
    installation_id = user.installation.id
    job = await runtime.jobs.get_job(job_id, installation_id=installation_id)
    if job is None:
        raise _job_not_found(job_id)
    if job.status not in RETRYABLE_STATUSES:
        status = job.status.replace("_", " ")
        article = "An" if status[0] in "aeiou" else "A"
        raise DashboardRequestRefused(
            "NOTHING_TO_RETRY",
            f"{article} {status} order is not retried: running it again would change nothing.",
            status_hint=409,
            params={"status": job.status},
        )
    queued = await runtime.queue.retry_job(
        job_id, now=runtime.clock(), installation_id=installation_id
    )
    if not queued:
        raise _job_not_found(job_id)
    job = await runtime.jobs.get_job(job_id, installation_id=installation_id)
    return RetryOut(
        queued=1,
        message="The order is queued and will be sent again now.",
        job=_job_out(job, await _link_format(runtime, installation_id)) if job else None,
    )


@router.post("/jobs/{job_id}/retry-fulfillment", response_model=RetryOut)
async def retry_fulfillment(job_id: JobId, user: Reader, runtime: AppRuntime) -> RetryOut:
    """Try fulfilling the order again now (its stock may have arrived, which Saleor tells the app
    no event of): the job runs at once; Gordon, whose copy is unchanged, is not asked again."""
    installation_id = user.installation.id
    now = runtime.clock()
    if not await runtime.queue.retry_fulfillment(job_id, now=now, installation_id=installation_id):
        job = await runtime.jobs.get_job(job_id, installation_id=installation_id)
        if job is None:
            raise _job_not_found(job_id)
        raise DashboardRequestRefused(
            "NOTHING_TO_FULFIL",
            f"There is no blocked fulfillment to try again: the order is {job.status}"
            f" and its fulfillment {job.fulfillment_state or 'not started'}.".replace("_", " "),
            status_hint=409,
        )
    job = await runtime.jobs.get_job(job_id, installation_id=installation_id)
    return RetryOut(
        queued=1,
        message="The order's fulfillment is tried again now.",
        job=_job_out(job, await _link_format(runtime, installation_id)) if job else None,
    )


@router.post("/jobs/retry-failed", response_model=RetryOut)
async def retry_failed(user: Reader, runtime: AppRuntime) -> RetryOut:
    count = await runtime.queue.retry_failed_jobs(
        now=runtime.clock(), saleor_api_url=user.installation.saleor_api_url
    )
    message = (
        f"{count} failed order(s) queued to be sent again now."
        if count
        else "No failed orders to retry."
    )
    return RetryOut(queued=count, message=message)


@router.get("/order", response_model=OrderStatusOut)
async def order_status(user: Reader, order_id: OrderId, runtime: AppRuntime) -> OrderStatusOut:
    job = await runtime.jobs.find_job(user.installation.id, order_id)
    if job is None:
        return OrderStatusOut(order_id=order_id, job=None)
    link_format = await _link_format(runtime, user.installation.id)
    return OrderStatusOut(order_id=order_id, job=_job_out(job, link_format))


@router.get("/order/send-preview", response_model=SendPreviewOut)
async def send_preview(
    _user: Reader, order_id: OrderId, installation: ShopInstallation, runtime: AppRuntime
) -> SendPreviewOut:
    return _preview_out(await _preview(runtime, installation, order_id))


@router.post("/order/send", response_model=SendOut, openapi_extra=_body_schema(SendIn))
async def send(
    _user: Reader,
    body: Annotated[SendIn, Depends(_json_body(SendIn))],
    installation: ShopInstallation,
    runtime: AppRuntime,
) -> SendOut:
    preview = await _preview(runtime, installation, body.order_id)
    if preview.action not in ("send", "update"):
        raise DashboardRequestRefused(
            "NOTHING_TO_SEND", f"Nothing was queued: {preview.message}", status_hint=409
        )
    job_id = await request_send(runtime, installation, body.order_id, preview.order_number)
    return SendOut(job_id=job_id, message="Queued: the order is being sent to Gordon.")


async def _preview(runtime: Runtime, installation: Installation, order_id: str) -> SendPreview:
    try:
        with _saleor_errors():
            return await preview_send(runtime, installation, order_id)
    except OrderNotFound:
        raise _order_not_found() from None


def _shop_timezone(config: dict[str, Any] | None) -> str:
    """The time zone of the stored delivery days when it is a known one, else the default."""
    days = (config or {}).get("delivery_days")
    zone = days.get("timezone") if isinstance(days, dict) else None
    try:
        return parse_delivery_days({"timezone": zone}).timezone
    except ShopConfigInvalid:
        return DeliveryDays().timezone


def _local(now: datetime, timezone: str) -> str:
    local = now.astimezone(ZoneInfo(timezone))
    return f"{_WEEKDAYS[local.weekday()]} {local:%H:%M} {timezone}"


def _job_not_found(job_id: int) -> DashboardRequestRefused:
    return DashboardRequestRefused(
        "JOB_NOT_FOUND", f"There is no order sync {job_id} for this shop.", status_hint=404
    )


def _order_not_found() -> DashboardRequestRefused:
    return DashboardRequestRefused(
        "ORDER_NOT_FOUND", "Saleor has no such order for this shop.", status_hint=404
    )
