"""What a shop owner (in the Dashboard) or an operator (on the command line) does to one shop.

One path for each action, used by the Dashboard API and the CLI alike:

- ``save_shop_config``: validate a whole configuration (every problem at once), keep the stored
  client secret when the new one is left empty, store it in one transaction, and re-run the jobs
  that wait for a person (the new configuration may be their fix);
- ``read_shop_config``: the stored configuration without its secret, even when it no longer
  validates (after an upgrade), with its problems;
- ``check_gordon_connection``: "Test connection", a real token fetch against Gordon;
- ``shop_options``: the channels, warehouses and shipping methods a rule can name;
- ``preview_send`` / ``request_send``: the "Send to Gordon" action on one order.

Retrying jobs is ``JobQueue.retry_job`` / ``retry_failed_jobs`` for both, too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from saleor_gordon.core.messages import Message
from saleor_gordon.core.order import OrderPayloadInvalid, SaleorOrder
from saleor_gordon.core.order_events import MANUAL_SEND_EVENT
from saleor_gordon.core.shop_config import (
    ShopConfig,
    keep_stored_secret,
    parse_gordon_settings,
    parse_shop_config,
    with_secret,
)
from saleor_gordon.core.sync_decision import (
    NOTHING_SENT,
    Fix,
    Push,
    Settle,
    Withdraw,
    decide_for_order,
)
from saleor_gordon.core.translate import Problem, Translated, unreadable_order_problem
from saleor_gordon.errors import (
    ConfigChangedElsewhere,
    ConfigProblem,
    SaleorPermissionDenied,
    ShopConfigInvalid,
    ShopNotConfigured,
)
from saleor_gordon.gordon.client import CredentialCheck, GordonClient
from saleor_gordon.gordon.tokens import TokenCache
from saleor_gordon.jobs.views import JobView
from saleor_gordon.runtime import Runtime
from saleor_gordon.saleor.graphql_client import SaleorClient
from saleor_gordon.shop import load_shop
from saleor_gordon.store.installations import Installation, StoredConfig

SendAction = Literal["send", "update", "unchanged", "withdraw", "skip", "fix", "not_configured"]
PreviewHeadline = Literal[
    "send", "update", "unchanged", "withdraw", "withdraw_expired", "skip", "fix", "not_configured"
]
"""What the popup's headline says (``send.headline_<headline>`` in the pages' catalogues)."""


@dataclass(frozen=True)
class StoredShopConfig:
    """The configuration as the Dashboard shows it: never the secret, only whether it is set;
    ``version``: what a save based on it names (``save_shop_config``'s ``based_on``)."""

    config: dict[str, Any] | None
    client_secret_set: bool
    version: int
    problems: list[ConfigProblem] = field(default_factory=list)


async def read_shop_config(runtime: Runtime, installation_id: int) -> StoredShopConfig:
    stored = await runtime.installations.get_stored_config(installation_id)
    data, secret = stored.data, stored.secret
    if data is None:
        return StoredShopConfig(config=None, client_secret_set=False, version=stored.version)
    try:
        parse_shop_config(with_secret(data, secret), gordon_urls=runtime.settings.gordon_url_rules)
    except ShopConfigInvalid as exc:
        return StoredShopConfig(
            config=data,
            client_secret_set=bool(secret),
            version=stored.version,
            problems=exc.details,
        )
    return StoredShopConfig(config=data, client_secret_set=bool(secret), version=stored.version)


async def save_shop_config(
    runtime: Runtime, installation_id: int, data: object, *, based_on: int | None
) -> int:
    """Validate and store ``data`` (parsed JSON); nothing is stored unless all of it is valid.
    The new version of the stored configuration is returned.

    ``based_on``: the version the person's copy was read at (the Dashboard's); when another save
    came in between, nothing is stored. None (``saleor-gordon config set``, an operator's
    deliberate replacement): whatever is stored is replaced; an empty client secret is still
    only the one of the configuration replaced (a save in between is refused then too).

    Raises:
        ConfigChangedElsewhere: another save came in between; checked before the data.
        ShopConfigInvalid: with every problem; the stored configuration is unchanged then.
    """
    stored = await runtime.installations.get_stored_config(installation_id)
    if based_on is not None and based_on != stored.version:
        raise ConfigChangedElsewhere(based_on=based_on, stored=stored.version)
    config = parse_shop_config(
        keep_stored_secret(data, _stored_gordon(stored)),
        gordon_urls=runtime.settings.gordon_url_rules,
    )
    return await runtime.installations.save_config(
        installation_id, config, now=runtime.clock(), based_on=stored.version
    )


async def check_gordon_connection(
    runtime: Runtime, installation_id: int, gordon: object
) -> CredentialCheck:
    """Fetch a token from Gordon with these credentials (the stored secret if left empty).

    Raises:
        ShopConfigInvalid: the credentials are incomplete or malformed (``gordon.…`` paths).
    """
    stored = await runtime.installations.get_stored_config(installation_id)
    completed = keep_stored_secret({"gordon": gordon}, _stored_gordon(stored))
    settings = parse_gordon_settings(
        completed.get("gordon") if isinstance(completed, dict) else gordon,
        gordon_urls=runtime.settings.gordon_url_rules,
    )
    client = GordonClient(
        base_url=settings.base_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        http=runtime.http,
        token_cache=TokenCache(),  # a real token fetch, never a cached token
        timeout=runtime.settings.gordon_timeout_seconds,
    )
    return await client.check_credentials()


def _stored_gordon(stored: StoredConfig) -> Mapping[str, Any] | None:
    """The stored ``gordon`` object, its secret included (None before the first save)."""
    if stored.data is None:
        return None
    gordon = with_secret(stored.data, stored.secret).get("gordon")
    return gordon if isinstance(gordon, dict) else None


@dataclass(frozen=True)
class ShopOptions:
    """What the shop's Saleor offers for delivery-group rules.

    ``shipping_methods`` is None when Saleor refuses to list them (an installation from before the
    app asked for MANAGE_SHIPPING); ``shipping_methods_note`` then says what to do.
    """

    channels: list[dict[str, Any]]
    warehouses: list[dict[str, Any]]
    shipping_methods: list[dict[str, Any]] | None
    shipping_methods_note: str | None = None


async def shop_options(runtime: Runtime, installation: Installation) -> ShopOptions:
    """Read the lists from Saleor with the app token.

    Raises:
        SaleorError: Saleor cannot be used (unavailable, token revoked, refused).
    """
    saleor = _saleor(runtime, installation)
    channels, warehouses = await saleor.channels_and_warehouses()
    try:
        zones = await saleor.shipping_methods()
    except SaleorPermissionDenied:
        return ShopOptions(
            channels=[_channel(c) for c in channels],
            warehouses=[_warehouse(w) for w in warehouses],
            shipping_methods=None,
            shipping_methods_note=(
                "Saleor did not let the app list shipping methods: it was installed before it "
                "asked for the “Manage shipping” permission. Reinstall the app to pick them from "
                "a list; until then, type the shipping method's name."
            ),
        )
    return ShopOptions(
        channels=[_channel(c) for c in channels],
        warehouses=[_warehouse(w) for w in warehouses],
        shipping_methods=[method for zone in zones for method in _methods(zone)],
    )


def _channel(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "slug": data.get("slug"),
        "name": data.get("name"),
        "is_active": data.get("isActive") is True,
    }


def _warehouse(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": data.get("id"), "slug": data.get("slug"), "name": data.get("name")}


def _methods(zone: Mapping[str, Any]) -> list[dict[str, Any]]:
    channels = [c.get("slug") for c in zone.get("channels") or [] if isinstance(c, dict)]
    return [
        {
            "id": method.get("id"),
            "name": method.get("name"),
            "zone": zone.get("name"),
            "channels": channels,
        }
        for method in zone.get("shippingMethods") or []
        if isinstance(method, dict)
    ]


@dataclass(frozen=True)
class SendPreview:
    """What "Send to Gordon" would do with an order now, and the exact body it would send.

    ``message`` says it as a code with parameters (``preview.*``, or the job's own message for
    what a job would say: unchanged, not for Gordon, the order's problems, the settings).
    """

    order_id: str
    order_number: str | None
    action: SendAction
    message: Message
    gordon_order: dict[str, object] | None = None
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = ()
    withdrawn_as: str | None = None
    """For a withdrawal: the Saleor order status that takes the order out of Gordon
    (``sync_decision.WITHDRAWN_ORDER_STATUSES``)."""

    @property
    def headline(self) -> PreviewHeadline:
        """What the popup's headline says: the action, and for a withdrawal why, so an order
        that expired unconfirmed is not called cancelled."""
        if self.action == "withdraw" and self.withdrawn_as == "EXPIRED":
            return "withdraw_expired"
        return self.action


class OrderNotFound(LookupError):
    """Saleor has no such order (or the app may not read it)."""


async def preview_send(runtime: Runtime, installation: Installation, order_id: str) -> SendPreview:
    """Read the order from Saleor and decide as a job would, with "Send to Gordon" as trigger.

    Raises:
        OrderNotFound: Saleor has no order with this id.
        SaleorError: Saleor cannot be used.
    """
    data = await _saleor(runtime, installation).fetch_order(order_id)
    if data is None:
        raise OrderNotFound(order_id)
    number = str(data.get("number")) if data.get("number") is not None else None
    try:
        shop = await load_shop(runtime, installation)
    except ShopConfigInvalid as exc:
        english = (
            "The stored configuration no longer validates; fix it on the app's page first. "
            f"{exc.message}"
        )
        invalid = Message.of("job.config_invalid", english)
        return SendPreview(order_id, number, "not_configured", invalid)
    except ShopNotConfigured as exc:
        not_configured = Message.of("job.not_configured", exc.message)
        return SendPreview(order_id, number, "not_configured", not_configured)
    try:
        order = SaleorOrder.from_graphql(data)
    except OrderPayloadInvalid as exc:
        fix = Fix((unreadable_order_problem(exc, "Check the order in the Saleor Dashboard."),))
        return SendPreview(order_id, number, "fix", fix.message, problems=fix.problems)
    job = await runtime.jobs.find_job(installation.id, order_id)
    return _preview(order, data, shop.config, job, now=runtime.clock(), number=number)


def _preview(
    order: SaleorOrder,
    data: Mapping[str, Any],
    config: ShopConfig,
    job: JobView | None,
    *,
    now: datetime,
    number: str | None,
) -> SendPreview:
    sent = job.sent_before if job is not None else NOTHING_SENT
    events_seen = frozenset([*(job.events_seen if job else ()), MANUAL_SEND_EVENT])
    decided = decide_for_order(order, data, config, sent=sent, events_seen=events_seen, now=now)
    decision, translation = decided.decision, decided.translation
    body = translation.gordon_order.to_json() if isinstance(translation, Translated) else None
    order_id = order.id
    if isinstance(decision, Push):
        updating = job is not None and job.pushed_hash is not None
        ref = decision.gordon_order.external_ref
        if updating:
            english = f"Gordon has order {ref}; its content changed and will be updated."
            message = Message.of("preview.update", english, ref=ref)
        else:
            english = f"The order will be sent to Gordon as {ref}."
            message = Message.of("preview.send", english, ref=ref)
        return SendPreview(
            order_id,
            number,
            "update" if updating else "send",
            message,
            gordon_order=decision.gordon_order.to_json(),
            warnings=decision.warnings,
        )
    if isinstance(decision, Withdraw):
        english = f"The order will be withdrawn from Gordon: {decision.reason}."
        code = f"preview.withdraw.{decision.order_status.lower()}"
        message = Message(english, code, {"ref": decision.external_ref})
        return SendPreview(
            order_id, number, "withdraw", message, withdrawn_as=decision.order_status
        )
    if isinstance(decision, Fix):
        return SendPreview(
            order_id, number, "fix", decision.message, gordon_order=body, problems=decision.problems
        )
    assert isinstance(decision, Settle)
    action: SendAction = "unchanged" if decision.status.value == "synced" else "skip"
    return SendPreview(order_id, number, action, decision.message, gordon_order=body)


async def request_send(
    runtime: Runtime, installation: Installation, order_id: str, order_number: str | None
) -> int:
    """Queue the order's job to run at once with "Send to Gordon" as its trigger; the job id."""
    return await runtime.queue.request_send(
        installation_id=installation.id,
        order_id=order_id,
        order_number=order_number,
        now=runtime.clock(),
    )


def _saleor(runtime: Runtime, installation: Installation) -> SaleorClient:
    return runtime.saleor_client(installation.saleor_api_url, installation.token)
