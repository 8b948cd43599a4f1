"""``saleor-gordon doctor``: a checklist of the deployment and of each shop's set-up.

Checks, in order (a failed check skips those that need it):

- ``secret_key``: a key is given (setting or the SQLite key file; doctor never creates one);
- ``allow_lists``: a warning when ``APP_URL`` is public and the Saleor or Gordon allow-list is
  unset (any Saleor may install the app, any public host may be a shop's Gordon);
- ``database``: reachable, migrations current (doctor never migrates);
- ``installations``: some shop installed the app (or the one asked for did);
- per shop: ``app_token`` (decrypts with the key), ``saleor`` (reachable, token accepted: the
  app is installed and active), ``permissions`` (what the manifest asks for was granted), ``webhooks`` (the manifest's
  webhooks exist in Saleor, active, with their events and target URLs), ``configuration``
  (complete and valid), ``gordon`` (a real token fetch with the stored credentials),
  ``failed_jobs``, ``stuck_jobs`` (a lease expired or due long ago: no worker takes jobs) and
  ``needs_attention`` (a warning: orders a person must fix).

Every failure carries a remedy. Reads only: the same code paths as the app (``SaleorClient``,
``shop_actions.read_shop_config`` and ``check_gordon_connection``, the stores).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from saleor_gordon import __version__
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.errors import (
    ConfigurationError,
    SaleorError,
    SaleorTokenRevoked,
    SecretsError,
    ShopConfigInvalid,
    StoreUnavailable,
)
from saleor_gordon.observability import sanitize_url
from saleor_gordon.outbound import outbound_client
from saleor_gordon.runtime import Runtime, utc_now
from saleor_gordon.saleor.graphql_client import failure_summary
from saleor_gordon.saleor.manifest import PERMISSIONS, build_manifest
from saleor_gordon.secret_box import SecretBox, load_secret_keys
from saleor_gordon.settings import Settings
from saleor_gordon.shop_actions import check_gordon_connection, read_shop_config
from saleor_gordon.store.database import create_engine, migration_status
from saleor_gordon.store.installations import Installation

CheckStatus = Literal["ok", "warn", "fail", "skip"]

DEFAULT_STUCK_AFTER = timedelta(minutes=15)
REINSTALL = (
    "Install the app again in the Saleor Dashboard (Apps → Install external app, manifest URL "
    "{manifest}); Saleor reads the manifest's permissions and webhooks only at installation."
)


@dataclass(frozen=True)
class Check:
    """One line of the checklist. ``remedy`` says what to do when it is not ``ok``."""

    name: str
    status: CheckStatus
    detail: str
    remedy: str | None = None
    shop: str | None = None


@dataclass(frozen=True)
class DoctorReport:
    checks: list[Check]

    @property
    def passed(self) -> bool:
        """True when no check failed (warnings and skips do not fail)."""
        return all(check.status != "fail" for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [asdict(check) for check in self.checks]}


async def diagnose(
    settings: Settings,
    *,
    saleor_api_url: str | None = None,
    stuck_after: timedelta = DEFAULT_STUCK_AFTER,
    now: datetime | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DoctorReport:
    """Run every check; never raises for what it checks."""
    checks: list[Check] = []
    try:
        box: SecretBox | None = SecretBox.from_keys(load_secret_keys(settings, create=False))
        checks.append(Check("secret_key", "ok", _key_detail(settings)))
    except ConfigurationError as exc:
        box = None
        checks.append(
            Check(
                "secret_key",
                "fail",
                exc.message,
                "Give every process the key the secrets were stored with "
                "(SALEOR_GORDON_SECRET_KEY; during a rotation NEW,OLD).",
            )
        )
    checks.append(allow_lists_check(settings))
    database = await _database_check(settings)
    checks.append(database)
    if database.status != "ok" or box is None:
        checks.append(Check("installations", "skip", "needs the database and the secret key"))
        return DoctorReport(checks)
    engine = create_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    try:
        async with outbound_client(settings, transport=transport) as http:
            runtime = Runtime(settings=settings, engine=engine, secret_box=box, http=http)
            checks.extend(await _shops(runtime, saleor_api_url, now or utc_now(), stuck_after))
    finally:
        await engine.dispose()
    return DoctorReport(checks)


def _key_detail(settings: Settings) -> str:
    if settings.secret_key is None:
        return "the key file beside the SQLite database is readable (back it up with the database)"
    count = len(settings.secret_key.get_secret_value().split(","))
    if count == 1:
        return "SALEOR_GORDON_SECRET_KEY is set"
    return (
        f"SALEOR_GORDON_SECRET_KEY holds {count} keys (a rotation: run "
        "`saleor-gordon rotate-secret-key`, then keep the first key alone)"
    )


ALLOW_LISTS_REMEDY = {
    "SALEOR_GORDON_ALLOWED_SALEOR_URLS": "SALEOR_GORDON_ALLOWED_SALEOR_URLS to the Saleor API URLs "
    r"you serve (e.g. https://[a-z0-9-]+\.saleor\.cloud/graphql/)",
    "SALEOR_GORDON_ALLOWED_GORDON_URLS": "SALEOR_GORDON_ALLOWED_GORDON_URLS to Gordon's hosts "
    r"(e.g. https://backend(\.staging)?\.gordondelivery\.com)",
}


def allow_lists_check(settings: Settings) -> Check:
    """Warns when the app is public and a shop could install it from anywhere or point it anywhere.

    With a loopback ``APP_URL`` (a local trial) the allow-lists are not needed.
    """
    if settings.local_trial:
        return Check(
            "allow_lists", "ok", f"APP_URL {settings.app_url} is local: allow-lists not needed"
        )
    unset = [
        name
        for name, value in (
            ("SALEOR_GORDON_ALLOWED_SALEOR_URLS", settings.allowed_saleor_urls),
            ("SALEOR_GORDON_ALLOWED_GORDON_URLS", settings.allowed_gordon_urls),
        )
        if not value
    ]
    if not unset:
        return Check("allow_lists", "ok", "the Saleor and Gordon allow-lists are set")
    consequences = {
        "SALEOR_GORDON_ALLOWED_SALEOR_URLS": "any Saleor on the internet can install the app",
        "SALEOR_GORDON_ALLOWED_GORDON_URLS": "a shop may send its orders to any public host as "
        "its Gordon",
    }
    detail = f"APP_URL {settings.app_url} is public and " + "; ".join(
        f"{name} is unset: {consequences[name]}" for name in unset
    )
    remedy = (
        "Set "
        + " and ".join(ALLOW_LISTS_REMEDY[name] for name in unset)
        + " on every process (docs/deploy.md, Security model)."
    )
    return Check("allow_lists", "warn", detail, remedy)


async def _database_check(settings: Settings) -> Check:
    shown = sanitize_url(settings.database_url)
    path = settings.sqlite_path
    if path is not None and not path.exists():
        return Check(
            "database",
            "fail",
            f"there is no database file {path}",
            "Check SALEOR_GORDON_DATABASE_URL and the working directory; a new database is "
            "created by `saleor-gordon migrate` (or `serve`).",
        )
    engine = create_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    try:
        status = await migration_status(engine)
    except StoreUnavailable as exc:
        return Check(
            "database",
            "fail",
            f"{shown}: {exc.message}",
            "Check SALEOR_GORDON_DATABASE_URL (host, port, user, password, database name) and "
            "that the database server is running and reachable from this host.",
        )
    finally:
        await engine.dispose()
    if not status.up_to_date:
        return Check(
            "database",
            "fail",
            f"{shown} is at migration {status.current or 'none'}, the app needs {status.head}",
            "Run `saleor-gordon migrate` (once, before starting the new version's processes).",
        )
    return Check("database", "ok", f"{shown} is reachable, at the newest migration {status.head}")


async def _shops(
    runtime: Runtime, wanted: str | None, now: datetime, stuck_after: timedelta
) -> list[Check]:
    manifest_url = runtime.settings.app_url + "/api/manifest"
    urls = await runtime.installations.list_saleor_api_urls()
    if wanted is not None and wanted not in urls:
        known = ", ".join(urls) if urls else "none"
        return [
            Check(
                "installations",
                "fail",
                f"no installation for {wanted} (installed: {known})",
                "Check the URL (the shop's GraphQL API URL, e.g. https://shop.example.com/graphql/) "
                f"or install the app in that shop's Dashboard from {manifest_url}.",
            )
        ]
    if not urls:
        return [
            Check(
                "installations",
                "fail",
                "no shop has installed the app",
                f"Install it in the Saleor Dashboard (Apps → Install external app) from {manifest_url}.",
            )
        ]
    selected = [wanted] if wanted is not None else urls
    checks = [Check("installations", "ok", f"{len(urls)} shop(s) installed the app")]
    for url in selected:
        checks.extend(await _shop(runtime, url, now, stuck_after))
    return checks


async def _shop(runtime: Runtime, url: str, now: datetime, stuck_after: timedelta) -> list[Check]:
    shop = _ShopChecks(url, runtime.settings.app_url + "/api/manifest")
    identity = await runtime.installations.get_webhook_identity(url)  # decrypts nothing
    if identity is None:  # uninstalled since it was listed
        return shop.checks
    try:
        installation = await runtime.installations.get_installation(url)
    except SecretsError:
        installation = None
        shop.fail(
            "app_token",
            "the stored app token cannot be decrypted with the secret key",
            "Give this process the key the token was stored with (SALEOR_GORDON_SECRET_KEY; "
            "during a rotation NEW,OLD), or install the app again to store a new token.",
        )
        shop.skip(("saleor", "permissions", "webhooks", "configuration", "gordon"), "app_token")
    if installation is not None:
        shop.ok("app_token", "the stored app token decrypts")
        await _saleor(runtime, shop, installation)
        await _configuration_and_gordon(runtime, shop, installation)
    await _jobs(runtime, shop, identity[0], url, now, stuck_after)
    return shop.checks


class _ShopChecks:
    def __init__(self, url: str, manifest_url: str) -> None:
        self.url = url
        self.manifest_url = manifest_url
        self.checks: list[Check] = []

    def ok(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, "ok", detail, shop=self.url))

    def fail(self, name: str, detail: str, remedy: str) -> None:
        self.checks.append(Check(name, "fail", detail, remedy, shop=self.url))

    def warn(self, name: str, detail: str, remedy: str) -> None:
        self.checks.append(Check(name, "warn", detail, remedy, shop=self.url))

    def skip(self, names: Sequence[str], needs: str) -> None:
        for name in names:
            self.checks.append(
                Check(name, "skip", f"needs the {needs} check to pass", shop=self.url)
            )

    @property
    def reinstall(self) -> str:
        return REINSTALL.format(manifest=self.manifest_url)


async def _saleor(runtime: Runtime, shop: _ShopChecks, installation: Installation) -> None:
    if installation.revoked_at is not None:
        shop.fail(
            "saleor",
            f"Saleor refused the app token on {installation.revoked_at:%Y-%m-%d %H:%M} UTC; the "
            "shop's jobs are paused",
            shop.reinstall,
        )
        shop.skip(("permissions", "webhooks"), "saleor")
        return
    client = runtime.saleor_client(installation.saleor_api_url, installation.token)
    try:
        app = await client.app_status()
    except SaleorTokenRevoked:
        shop.fail(
            "saleor",
            "Saleor refuses the stored app token (the app was removed or deactivated)",
            "If the app is deactivated, activate it in the Dashboard (Apps); otherwise "
            + shop.reinstall,
        )
        shop.skip(("permissions", "webhooks"), "saleor")
        return
    except SaleorError as exc:
        shop.fail(
            "saleor",
            f"{failure_summary(exc)} at {sanitize_url(installation.saleor_api_url)}",
            "Check that Saleor is up and that this host reaches the URL (DNS, firewall, proxy), "
            "then run doctor again.",
        )
        shop.skip(("permissions", "webhooks"), "saleor")
        return
    # A deactivated app's token is refused (above), so an answer means the app is active.
    shop.ok("saleor", f"reachable with the stored token (app {app.get('id')})")
    _permissions(shop, app)
    _webhooks(runtime.settings, shop, app)


def _permissions(shop: _ShopChecks, app: Mapping[str, Any]) -> None:
    granted = {p.get("code") for p in app.get("permissions") or [] if isinstance(p, dict)}
    missing = [code for code in PERMISSIONS if code not in granted]
    if missing:
        shop.fail(
            "permissions",
            f"not granted: {', '.join(missing)} (the app needs {', '.join(PERMISSIONS)})",
            f"{shop.reinstall} Accept the permissions it asks for.",
        )
    else:
        shop.ok("permissions", f"granted: {', '.join(PERMISSIONS)}")


def _webhooks(settings: Settings, shop: _ShopChecks, app: Mapping[str, Any]) -> None:
    listed = app.get("webhooks")
    if not isinstance(listed, list):
        shop.fail("webhooks", "Saleor did not list the app's webhooks", shop.reinstall)
        return
    installed = {hook.get("name"): hook for hook in listed if isinstance(hook, dict)}
    compare_urls = "app_url" in settings.model_fields_set
    expected = build_manifest(app_url=settings.app_url, version=__version__)["webhooks"]
    assert isinstance(expected, list)
    problems: list[str] = []
    remedies: list[str] = []
    for wanted in expected:
        name = wanted["name"]
        hook = installed.get(name)
        if hook is None:
            problems.append(f"{name} is missing")
            remedies.append(shop.reinstall)
            continue
        if hook.get("isActive") is not True:
            problems.append(f"{name} is inactive")
            remedies.append(
                "Activate the inactive webhooks as a staff user with Manage apps (Saleor GraphQL: "
                "webhookUpdate(id: …, input: {isActive: true})), or install the app again."
            )
        events = {e.get("eventType") for e in hook.get("asyncEvents") or [] if isinstance(e, dict)}
        if lacking := [event for event in wanted["asyncEvents"] if event not in events]:
            problems.append(f"{name} lacks {', '.join(lacking)}")
            remedies.append(shop.reinstall)
        target = str(hook.get("targetUrl") or "")
        wanted_target = str(wanted["targetUrl"])
        if compare_urls and target != wanted_target:
            problems.append(f"{name} sends to {target}, not {wanted_target}")
            remedies.append(
                f"SALEOR_GORDON_APP_URL is {settings.app_url}: set it to the address Saleor was "
                f"given at installation, or install the app again from {shop.manifest_url}."
            )
    if problems:
        shop.fail("webhooks", "; ".join(problems), " ".join(dict.fromkeys(remedies)))
        return
    detail = ", ".join(f"{hook['name']} active" for hook in expected)
    if not compare_urls:
        detail += " (target URLs not compared: SALEOR_GORDON_APP_URL is not set)"
    shop.ok("webhooks", detail)


async def _configuration_and_gordon(
    runtime: Runtime, shop: _ShopChecks, installation: Installation
) -> None:
    stored = await read_shop_config(runtime, installation.id)
    where = (
        "the app's Configuration page in the Dashboard (Apps → Gordon Delivery), or `saleor-gordon "
        f"config set --saleor-api-url {installation.saleor_api_url} --file shop.json`"
    )
    if stored.config is None:
        shop.fail(
            "configuration", "the shop has not configured the app", f"Configure it on {where}."
        )
        shop.skip(("gordon",), "configuration")
        return
    if stored.problems:
        shop.fail(
            "configuration",
            "; ".join(str(problem) for problem in stored.problems),
            f"Fix these on {where}; orders wait until then.",
        )
    else:
        groups = len(stored.config.get("delivery_groups") or [])
        shop.ok("configuration", f"complete and valid ({groups} delivery group(s))")
    try:
        result = await check_gordon_connection(
            runtime, installation.id, stored.config.get("gordon")
        )
    except ShopConfigInvalid as exc:
        shop.fail(
            "gordon",
            "the Gordon credentials are incomplete: " + "; ".join(str(p) for p in exc.details),
            f"Enter the Gordon base URL, client ID and client secret on {where}.",
        )
        return
    if result.ok:
        shop.ok("gordon", f"{result.message} (token fetched)")
        return
    remedies = {
        "credentials": "Enter the client ID and secret Gordon issued for this environment "
        f"(staging or production) on {where}.",
        "base_url": f"Check the Gordon base URL (environment) on {where}.",
        "unreachable": "Check that this host reaches Gordon (DNS, firewall, outbound proxy); "
        "then run doctor again.",
        "unavailable": "Gordon is failing; the app retries by itself. Run doctor again later, "
        "and contact Gordon if it persists.",
    }
    shop.fail("gordon", result.message, remedies[result.problem or "unavailable"])


async def _jobs(
    runtime: Runtime,
    shop: _ShopChecks,
    installation_id: int,
    url: str,
    now: datetime,
    stuck_after: timedelta,
) -> None:
    counts = await runtime.jobs.count_by_status(installation_id=installation_id)
    failed = counts.get(JobStatus.FAILED.value, 0)
    if failed:
        shop.fail(
            "failed_jobs",
            f"{failed} job(s) failed after retrying for {runtime.settings.retry_max_age_hours:g} h",
            f"See why: `saleor-gordon jobs list --status failed --saleor-api-url {url}`; once the "
            f"cause is fixed, `saleor-gordon jobs retry --all-failed --saleor-api-url {url}`.",
        )
    else:
        shop.ok("failed_jobs", "no failed jobs")
    stale, overdue = await runtime.jobs.count_stuck(installation_id, before=now - stuck_after)
    minutes = f"{stuck_after.total_seconds() / 60:g} min"
    if stale or overdue:
        parts = []
        if stale:
            parts.append(f"{stale} job(s) whose worker's lease expired over {minutes} ago")
        if overdue:
            parts.append(f"{overdue} job(s) due for over {minutes} and not taken up")
        shop.fail(
            "stuck_jobs",
            "; ".join(parts),
            "No worker is taking jobs from this database: check that `saleor-gordon serve` (with "
            "SALEOR_GORDON_WORKERS above 0) or `saleor-gordon worker` runs with this "
            "SALEOR_GORDON_DATABASE_URL, and read its log.",
        )
    else:
        shop.ok("stuck_jobs", f"no job waits for a worker over {minutes}")
    attention = counts.get(JobStatus.NEEDS_ATTENTION.value, 0)
    if attention:
        shop.warn(
            "needs_attention",
            f"{attention} order(s) need a person (the order or the configuration is wrong)",
            "See each message on the app's Orders tab or with `saleor-gordon jobs list --status "
            f"needs_attention --saleor-api-url {url}`; saving the configuration re-runs them.",
        )
    else:
        shop.ok("needs_attention", "no order needs attention")
