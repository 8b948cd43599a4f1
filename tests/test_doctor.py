"""`saleor-gordon doctor`: each failure kind is reported with its remedy, and only then fails.

A healthy set-up is a shop installed in the Saleor fake from the app's own manifest (so Saleor holds
its webhooks and permissions), configured with the Gordon sandbox's credentials.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import update

from saleor_gordon import __version__
from saleor_gordon.cli import main
from saleor_gordon.doctor import Check, DoctorReport, allow_lists_check, diagnose
from saleor_gordon.fakes.gordon_sandbox import RunningSandbox
from saleor_gordon.jobs.queue import enqueue_order_job
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import create_engine, head_revision, migrate
from saleor_gordon.store.installations import InstallationStore
from saleor_gordon.store.tables import installations, sync_jobs
from tests.conftest import TEST_SECRET_KEY
from tests.core.builders import config
from tests.support.fixtures import RunningSaleorFake
from tests.support.saleor_fake import InstalledWebhook, SaleorFakeState
from tests.support.shop import CLIENT_ID, CLIENT_SECRET

APP_URL = "https://gordon.example.com"
# The fakes listen on loopback: allowed the way an operator allows an internal Saleor or Gordon.
ALLOWED_SALEOR_URLS = r"http://127\.0\.0\.1:\d+/graphql/"
ALLOWED_GORDON_URLS = r"http://127\.0\.0\.1:\d+"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
REINSTALL = (
    "Install the app again in the Saleor Dashboard (Apps → Install external app, manifest URL "
    "https://gordon.example.com/api/manifest); Saleor reads the manifest's permissions and "
    "webhooks only at installation."
)
HEALTHY = [
    ("secret_key", "ok"),
    ("allow_lists", "ok"),
    ("database", "ok"),
    ("installations", "ok"),
    ("app_token", "ok"),
    ("saleor", "ok"),
    ("permissions", "ok"),
    ("webhooks", "ok"),
    ("configuration", "ok"),
    ("gordon", "ok"),
    ("failed_jobs", "ok"),
    ("stuck_jobs", "ok"),
    ("needs_attention", "ok"),
]


@dataclass
class Setup:
    settings: Settings
    saleor: SaleorFakeState
    gordon: RunningSandbox
    installation_id: int

    async def diagnose(self, **kwargs: Any) -> DoctorReport:
        return await diagnose(self.settings, now=NOW, **kwargs)

    async def execute(self, statement: Any) -> None:
        engine = create_engine(self.settings.database_url)
        async with engine.begin() as connection:
            await connection.execute(statement)
        await engine.dispose()

    async def add_job(self, order_id: str, **values: Any) -> None:
        engine = create_engine(self.settings.database_url)
        async with engine.begin() as connection:
            job_id = await enqueue_order_job(
                connection,
                installation_id=self.installation_id,
                order_id=order_id,
                order_number="1001",
                event="ORDER_FULLY_PAID",
                now=NOW - timedelta(minutes=1),
            )
            if values:
                await connection.execute(
                    update(sync_jobs).where(sync_jobs.c.id == job_id).values(**values)
                )
        await engine.dispose()


async def _set_up(
    database_url: str, saleor: RunningSaleorFake, gordon: RunningSandbox, *, configure: bool = True
) -> Setup:
    engine = create_engine(database_url)
    await migrate(engine)
    store = InstallationStore(engine, SecretBox(TEST_SECRET_KEY))
    token = saleor.state.install(build_manifest(app_url=APP_URL, version=__version__))
    installation = await store.save_installation(
        saleor_api_url=saleor.api_url, app_id=saleor.state.app_id, token=token, jwks={}, now=NOW
    )
    if configure:
        gordon_settings = {
            "base_url": gordon.base_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        }
        await store.save_config(installation.id, config(gordon=gordon_settings), now=NOW)
    await engine.dispose()
    settings = Settings(
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        app_url=APP_URL,
        allowed_saleor_urls=ALLOWED_SALEOR_URLS,
        allowed_gordon_urls=ALLOWED_GORDON_URLS,
    )
    return Setup(settings, saleor.state, gordon, installation.id)


@pytest.fixture
async def setup(tmp_path: Path, saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any) -> Setup:
    gordon = start_gordon_sandbox()
    return await _set_up(f"sqlite:///{tmp_path / 'app.db'}", saleor_fake, gordon)


def _statuses(report: DoctorReport) -> list[tuple[str, str]]:
    return [(check.name, check.status) for check in report.checks]


def _check(report: DoctorReport, name: str) -> Check:
    (check,) = [check for check in report.checks if check.name == name]
    return check


def _with(changes: dict[str, str]) -> list[tuple[str, str]]:
    return [(name, changes.get(name, status)) for name, status in HEALTHY]


async def test_a_healthy_set_up_passes_every_check(
    database_url: str, saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any
) -> None:
    setup = await _set_up(database_url, saleor_fake, start_gordon_sandbox())

    report = await setup.diagnose()

    assert _statuses(report) == HEALTHY
    assert report.passed
    assert all(check.remedy is None for check in report.checks)
    assert _check(report, "permissions").detail == "granted: MANAGE_ORDERS, MANAGE_SHIPPING"
    assert _check(report, "webhooks").detail == "gordon-orders active, gordon-app-deleted active"
    assert _check(report, "gordon").detail.endswith("(token fetched)")
    assert {check.shop for check in report.checks[4:]} == {saleor_fake.api_url}


async def test_no_secret_key_and_no_key_file(setup: Setup) -> None:
    settings = Settings(database_url=setup.settings.database_url)  # no key, no key file

    report = await diagnose(settings, now=NOW)

    assert _statuses(report) == [
        ("secret_key", "fail"),
        ("allow_lists", "ok"),
        ("database", "ok"),
        ("installations", "skip"),
    ]
    assert "does not exist" in _check(report, "secret_key").detail
    assert _check(report, "secret_key").remedy == (
        "Give every process the key the secrets were stored with "
        "(SALEOR_GORDON_SECRET_KEY; during a rotation NEW,OLD)."
    )
    assert not report.passed
    assert not _exists(setup.settings.database_url.removeprefix("sqlite:///") + ".secret-key")


async def test_a_missing_database_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nothing.db"
    settings = Settings(database_url=f"sqlite:///{path}", secret_key=TEST_SECRET_KEY)

    report = await diagnose(settings, now=NOW)

    assert _statuses(report) == [
        ("secret_key", "ok"),
        ("allow_lists", "ok"),
        ("database", "fail"),
        ("installations", "skip"),
    ]
    assert _check(report, "database").detail == f"there is no database file {path}"
    assert "saleor-gordon migrate" in str(_check(report, "database").remedy)
    assert not _exists(str(path))


def _exists(path: str) -> bool:
    return Path(path).exists()


async def test_an_unreachable_database(closed_port: int) -> None:
    settings = Settings(
        database_url=f"postgresql://gordon:pw@127.0.0.1:{closed_port}/gordon",
        secret_key=TEST_SECRET_KEY,
    )

    report = await diagnose(settings, now=NOW)

    assert _statuses(report) == [
        ("secret_key", "ok"),
        ("allow_lists", "ok"),
        ("database", "fail"),
        ("installations", "skip"),
    ]
    database = _check(report, "database")
    assert database.detail.startswith(
        f"postgresql://127.0.0.1:{closed_port}/gordon: The database cannot be reached: "
    )
    assert "pw" not in database.detail
    assert database.remedy == (
        "Check SALEOR_GORDON_DATABASE_URL (host, port, user, password, database name) and that "
        "the database server is running and reachable from this host."
    )


async def test_migrations_not_applied(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    engine = create_engine(f"sqlite:///{path}")
    async with engine.connect():
        pass  # creates the empty file
    await engine.dispose()
    settings = Settings(database_url=f"sqlite:///{path}", secret_key=TEST_SECRET_KEY)

    report = await diagnose(settings, now=NOW)

    database = _check(report, "database")
    assert database.status == "fail"
    assert database.detail.endswith(f"is at migration none, the app needs {head_revision()}")
    assert database.remedy == (
        "Run `saleor-gordon migrate` (once, before starting the new version's processes)."
    )


async def test_no_shop_and_an_unknown_shop(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    engine = create_engine(f"sqlite:///{path}")
    await migrate(engine)
    await engine.dispose()
    settings = Settings(
        database_url=f"sqlite:///{path}", secret_key=TEST_SECRET_KEY, app_url=APP_URL
    )

    none = await diagnose(settings, now=NOW)
    unknown = await diagnose(settings, now=NOW, saleor_api_url="https://x.example.com/graphql/")

    assert _check(none, "installations") == Check(
        "installations",
        "fail",
        "no shop has installed the app",
        "Install it in the Saleor Dashboard (Apps → Install external app) from "
        "https://gordon.example.com/api/manifest.",
    )
    assert _check(unknown, "installations").detail == (
        "no installation for https://x.example.com/graphql/ (installed: none)"
    )
    assert not none.passed
    assert not unknown.passed


async def test_a_token_the_key_cannot_decrypt(setup: Setup) -> None:
    settings = setup.settings.model_copy(
        update={"secret_key": SecretStr("another-key-" + "0" * 30)}
    )

    report = await diagnose(settings, now=NOW)

    assert _statuses(report) == _with(
        {
            "app_token": "fail",
            "saleor": "skip",
            "permissions": "skip",
            "webhooks": "skip",
            "configuration": "skip",
            "gordon": "skip",
        }
    )
    assert "SALEOR_GORDON_SECRET_KEY" in str(_check(report, "app_token").remedy)


async def test_saleor_refuses_the_token(setup: Setup) -> None:
    setup.saleor.revoke_all_tokens()

    report = await setup.diagnose()

    assert _statuses(report) == _with({"saleor": "fail", "permissions": "skip", "webhooks": "skip"})
    saleor = _check(report, "saleor")
    assert (
        saleor.detail == "Saleor refuses the stored app token (the app was removed or deactivated)"
    )
    assert saleor.remedy == (
        "If the app is deactivated, activate it in the Dashboard (Apps); otherwise " + REINSTALL
    )


async def test_an_installation_the_app_marked_revoked(setup: Setup) -> None:
    await setup.execute(
        update(installations).values(revoked_at=datetime(2026, 11, 30, 8, 15, tzinfo=UTC))
    )

    report = await setup.diagnose()

    saleor = _check(report, "saleor")
    assert saleor.status == "fail"
    assert saleor.detail == (
        "Saleor refused the app token on 2026-11-30 08:15 UTC; the shop's jobs are paused"
    )
    assert saleor.remedy == REINSTALL
    assert setup.saleor.requests["AppStatus"] == 0


async def test_saleor_unavailable(setup: Setup) -> None:
    setup.saleor.down = True

    report = await setup.diagnose()

    saleor = _check(report, "saleor")
    assert _statuses(report) == _with({"saleor": "fail", "permissions": "skip", "webhooks": "skip"})
    assert saleor.detail == f"Saleor answered HTTP 503 at {setup.saleor.api_url}"
    assert saleor.remedy == (
        "Check that Saleor is up and that this host reaches the URL (DNS, firewall, proxy), then "
        "run doctor again."
    )


async def test_a_missing_permission(setup: Setup) -> None:
    setup.saleor.app_permissions = frozenset({"MANAGE_ORDERS"})

    report = await setup.diagnose()

    assert _statuses(report) == _with({"permissions": "fail"})
    assert _check(report, "permissions") == Check(
        "permissions",
        "fail",
        "not granted: MANAGE_SHIPPING (the app needs MANAGE_ORDERS, MANAGE_SHIPPING)",
        REINSTALL + " Accept the permissions it asks for.",
        shop=setup.saleor.api_url,
    )


async def test_webhooks_missing_inactive_or_lacking_events(setup: Setup) -> None:
    orders = setup.saleor.webhooks[0]
    setup.saleor.webhooks = [
        InstalledWebhook(
            name=orders.name,
            events=orders.events - {"ORDER_FULLY_PAID"},
            target_url=orders.target_url,
            query=orders.query,
            is_active=False,
        )
    ]

    report = await setup.diagnose()

    assert _statuses(report) == _with({"webhooks": "fail"})
    webhooks = _check(report, "webhooks")
    assert webhooks.detail == (
        "gordon-orders is inactive; gordon-orders lacks ORDER_FULLY_PAID; "
        "gordon-app-deleted is missing"
    )
    assert webhooks.remedy == (
        "Activate the inactive webhooks as a staff user with Manage apps (Saleor GraphQL: "
        "webhookUpdate(id: …, input: {isActive: true})), or install the app again. " + REINSTALL
    )


async def test_webhooks_sending_to_another_address(setup: Setup) -> None:
    settings = setup.settings.model_copy(update={"app_url": "https://new.example.com"})
    # model_copy keeps model_fields_set: APP_URL counts as set, like the environment would give it

    report = await diagnose(settings, now=NOW)

    webhooks = _check(report, "webhooks")
    assert webhooks.status == "fail"
    assert webhooks.detail.startswith(
        "gordon-orders sends to https://gordon.example.com/api/webhooks/orders, not "
        "https://new.example.com/api/webhooks/orders; "
    )
    assert str(webhooks.remedy).startswith(
        "SALEOR_GORDON_APP_URL is https://new.example.com: set it to the address Saleor was "
        "given at installation, or install the app again from "
        "https://new.example.com/api/manifest."
    )


async def test_target_urls_are_not_compared_without_app_url(setup: Setup) -> None:
    settings = Settings(database_url=setup.settings.database_url, secret_key=TEST_SECRET_KEY)

    report = await diagnose(settings, now=NOW)

    assert _check(report, "webhooks").detail == (
        "gordon-orders active, gordon-app-deleted active "
        "(target URLs not compared: SALEOR_GORDON_APP_URL is not set)"
    )


async def test_no_configuration(
    tmp_path: Path, saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any
) -> None:
    setup = await _set_up(
        f"sqlite:///{tmp_path / 'app.db'}", saleor_fake, start_gordon_sandbox(), configure=False
    )

    report = await setup.diagnose()

    assert _statuses(report) == _with({"configuration": "fail", "gordon": "skip"})
    assert _check(report, "configuration").remedy == (
        "Configure it on the app's Configuration page in the Dashboard (Apps → Gordon Delivery), "
        f"or `saleor-gordon config set --saleor-api-url {saleor_fake.api_url} --file shop.json`."
    )


async def test_a_configuration_that_no_longer_validates(setup: Setup) -> None:
    stored = config().to_storage_dict()
    stored["gordon"].pop("client_secret")
    stored["gordon"]["base_url"] = setup.gordon.base_url
    stored["gordon"]["client_id"] = CLIENT_ID
    stored["default_time_window"] = "21:00 - 17:00"
    await setup.execute(update(installations).values(config=stored))

    report = await setup.diagnose()

    assert _statuses(report) == _with({"configuration": "fail"})  # Gordon still checked
    configuration = _check(report, "configuration")
    assert configuration.detail.startswith("default_time_window: ")
    assert str(configuration.remedy).endswith("; orders wait until then.")


async def test_gordon_refuses_the_credentials(
    tmp_path: Path, saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any
) -> None:
    gordon = start_gordon_sandbox(client_secret="another-secret")  # not the stored one
    setup = await _set_up(f"sqlite:///{tmp_path / 'app.db'}", saleor_fake, gordon)

    report = await setup.diagnose()

    assert _statuses(report) == _with({"gordon": "fail"})
    assert str(_check(report, "gordon").remedy).startswith(
        "Enter the client ID and secret Gordon issued for this environment (staging or production)"
    )


async def test_gordon_unreachable(setup: Setup, closed_port: int) -> None:
    stored = config().to_storage_dict()
    stored["gordon"].pop("client_secret")
    stored["gordon"]["base_url"] = f"http://127.0.0.1:{closed_port}"
    stored["gordon"]["client_id"] = CLIENT_ID
    await setup.execute(update(installations).values(config=stored))

    report = await setup.diagnose()

    gordon = _check(report, "gordon")
    assert gordon.status == "fail"
    assert gordon.detail.startswith("Could not reach Gordon at http://127.0.0.1:")
    assert gordon.remedy == (
        "Check that this host reaches Gordon (DNS, firewall, outbound proxy); then run doctor again."
    )


async def test_gordon_failing(
    tmp_path: Path, saleor_fake: RunningSaleorFake, start_gordon_sandbox: Any
) -> None:
    gordon = start_gordon_sandbox(error_rate=1.0)  # every /api/* request: 503
    setup = await _set_up(f"sqlite:///{tmp_path / 'app.db'}", saleor_fake, gordon)

    report = await setup.diagnose()

    assert _statuses(report) == _with({"gordon": "fail"})
    gordon_check = _check(report, "gordon")
    assert gordon_check.detail.startswith("Gordon's order API failed: ")
    assert gordon_check.remedy == (
        "Gordon is failing; the app retries by itself. Run doctor again later, and contact "
        "Gordon if it persists."
    )


async def _store_gordon(setup: Setup, **gordon: str) -> None:
    stored = config().to_storage_dict()
    stored["gordon"] = gordon
    await setup.execute(update(installations).values(config=stored))


async def test_a_base_url_that_is_not_gordon(setup: Setup) -> None:
    not_gordon = setup.saleor.api_url.removesuffix("/graphql/")  # answers 404 to /oauth/token
    await _store_gordon(setup, base_url=not_gordon, client_id=CLIENT_ID)

    report = await setup.diagnose()

    assert _statuses(report) == _with({"gordon": "fail"})
    assert str(_check(report, "gordon").remedy).startswith(
        "Check the Gordon base URL (environment) on the app's Configuration page"
    )


async def test_incomplete_gordon_credentials(setup: Setup) -> None:
    await _store_gordon(setup, base_url=setup.gordon.base_url, client_id="")

    report = await setup.diagnose()

    assert _statuses(report) == _with({"configuration": "fail", "gordon": "fail"})
    gordon_check = _check(report, "gordon")
    assert gordon_check.detail.startswith("the Gordon credentials are incomplete: gordon.client_id")
    assert str(gordon_check.remedy).startswith(
        "Enter the Gordon base URL, client ID and client secret on the app's Configuration page"
    )


async def test_failed_jobs(setup: Setup) -> None:
    await setup.add_job("order-1", status="failed", next_attempt_at=None)
    await setup.add_job("order-2", status="failed", next_attempt_at=None)
    await setup.add_job("order-3")  # due a minute ago: fine

    report = await setup.diagnose()

    assert _statuses(report) == _with({"failed_jobs": "fail"})
    failed = _check(report, "failed_jobs")
    assert failed.detail == "2 job(s) failed after retrying for 48 h"
    assert failed.remedy == (
        f"See why: `saleor-gordon jobs list --status failed --saleor-api-url {setup.saleor.api_url}`; "
        f"once the cause is fixed, `saleor-gordon jobs retry --all-failed --saleor-api-url "
        f"{setup.saleor.api_url}`."
    )


async def test_stuck_jobs(setup: Setup) -> None:
    long_ago = NOW - timedelta(minutes=16)
    await setup.add_job("order-1", lease_owner="dead", lease_expires_at=long_ago)
    await setup.add_job("order-2", next_attempt_at=long_ago)
    await setup.add_job("order-3", next_attempt_at=long_ago)
    # Being worked on (a valid lease) or expired only recently: not stuck.
    await setup.add_job("order-4", next_attempt_at=long_ago, lease_expires_at=NOW)
    await setup.add_job("order-5", lease_owner="w", lease_expires_at=NOW - timedelta(minutes=14))

    report = await setup.diagnose()

    assert _statuses(report) == _with({"stuck_jobs": "fail"})
    stuck = _check(report, "stuck_jobs")
    assert stuck.detail == (
        "1 job(s) whose worker's lease expired over 15 min ago; "
        "2 job(s) due for over 15 min and not taken up"
    )
    assert str(stuck.remedy).startswith("No worker is taking jobs from this database")
    assert _statuses(await setup.diagnose(stuck_after=timedelta(minutes=20))) == HEALTHY


async def test_orders_needing_attention_warn_without_failing(setup: Setup) -> None:
    await setup.add_job("order-1", status="needs_attention", next_attempt_at=None)

    report = await setup.diagnose()

    assert _statuses(report) == _with({"needs_attention": "warn"})
    assert report.passed
    assert "jobs list --status needs_attention" in str(_check(report, "needs_attention").remedy)


def _use(setup: Setup, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", setup.settings.database_url)
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("SALEOR_GORDON_APP_URL", APP_URL)
    monkeypatch.setenv("SALEOR_GORDON_ALLOWED_SALEOR_URLS", ALLOWED_SALEOR_URLS)
    monkeypatch.setenv("SALEOR_GORDON_ALLOWED_GORDON_URLS", ALLOWED_GORDON_URLS)


async def _main(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)  # main runs its own event loop


async def test_cli_exit_status_and_output(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(setup, monkeypatch)

    assert await _main(["doctor"]) == 0
    healthy = capsys.readouterr().out
    setup.saleor.app_permissions = frozenset({"MANAGE_ORDERS"})
    assert await _main(["doctor", "--saleor-api-url", setup.saleor.api_url]) == 1
    failing = capsys.readouterr().out

    assert healthy.rstrip().endswith("All checks passed.")
    assert f"\nShop {setup.saleor.api_url}\n" in healthy
    assert "  ok    permissions      granted: MANAGE_ORDERS, MANAGE_SHIPPING\n" in healthy
    assert "  FAIL  permissions      not granted: MANAGE_SHIPPING" in failing
    assert f"                         → {REINSTALL} Accept the permissions" in failing
    assert failing.rstrip().endswith(
        "1 check(s) failed; fix them as shown above and run doctor again."
    )
    assert TEST_SECRET_KEY not in healthy + failing


async def test_cli_json(
    setup: Setup, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(setup, monkeypatch)
    setup.saleor.down = True

    assert await _main(["doctor", "--json"]) == 1

    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is False
    assert [(c["name"], c["status"]) for c in data["checks"]] == _with(
        {"saleor": "fail", "permissions": "skip", "webhooks": "skip"}
    )
    assert data["checks"][5]["shop"] == setup.saleor.api_url
    assert data["checks"][5]["remedy"].startswith("Check that Saleor is up")


def test_cli_invalid_settings(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", "mysql://db/gordon")

    assert main(["doctor"]) == 1

    out = capsys.readouterr().out
    assert "FAIL  settings  Invalid settings:" in out
    assert "SALEOR_GORDON_DATABASE_URL" in out
    assert "→ Fix the SALEOR_GORDON_* variables named." in out


# --- allow-lists ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_url",
    ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000", "http://127.1.2.3",
     "http://app.localhost", "http://[::ffff:127.0.0.1]:8000"],
)  # fmt: skip
def test_a_local_app_needs_no_allow_lists(app_url: str) -> None:
    check = allow_lists_check(Settings(app_url=app_url))

    assert (check.status, check.remedy) == ("ok", None)
    assert check.detail == f"APP_URL {app_url} is local: allow-lists not needed"


@pytest.mark.parametrize(
    "app_url",
    ["https://gordon.example.com", "http://10.0.0.5:8000", "http://192.168.1.2", "http://[::2]",
     "https://localhost.example.com", "http://128.0.0.1"],
)  # fmt: skip
def test_a_public_app_without_allow_lists_is_warned_with_the_remedy(app_url: str) -> None:
    assert not Settings(app_url=app_url).local_trial

    check = allow_lists_check(Settings(app_url=app_url))

    assert check.status == "warn"
    assert check.detail == (
        f"APP_URL {app_url} is public and SALEOR_GORDON_ALLOWED_SALEOR_URLS is unset: any Saleor "
        "on the internet can install the app; SALEOR_GORDON_ALLOWED_GORDON_URLS is unset: a shop "
        "may send its orders to any public host as its Gordon"
    )
    assert check.remedy == (
        "Set SALEOR_GORDON_ALLOWED_SALEOR_URLS to the Saleor API URLs you serve (e.g. "
        r"https://[a-z0-9-]+\.saleor\.cloud/graphql/) and SALEOR_GORDON_ALLOWED_GORDON_URLS to "
        r"Gordon's hosts (e.g. https://backend(\.staging)?\.gordondelivery\.com) on every process "
        "(docs/deploy.md, Security model)."
    )


def test_each_unset_allow_list_is_named_alone() -> None:
    saleor_only = Settings(app_url=APP_URL, allowed_saleor_urls="https://s\\.example/graphql/")
    gordon_only = Settings(app_url=APP_URL, allowed_gordon_urls="https://g\\.example")
    both = Settings(
        app_url=APP_URL,
        allowed_saleor_urls="https://s\\.example/graphql/",
        allowed_gordon_urls="https://g\\.example",
    )

    missing_gordon, missing_saleor = allow_lists_check(saleor_only), allow_lists_check(gordon_only)

    assert missing_gordon.status == missing_saleor.status == "warn"
    assert (
        "SALEOR_GORDON_ALLOWED_SALEOR_URLS" not in f"{missing_gordon.detail}{missing_gordon.remedy}"
    )
    assert "SALEOR_GORDON_ALLOWED_GORDON_URLS is unset" in missing_gordon.detail
    assert (
        "SALEOR_GORDON_ALLOWED_GORDON_URLS" not in f"{missing_saleor.detail}{missing_saleor.remedy}"
    )
    assert "SALEOR_GORDON_ALLOWED_SALEOR_URLS is unset" in missing_saleor.detail
    assert allow_lists_check(both) == Check(
        "allow_lists", "ok", "the Saleor and Gordon allow-lists are set"
    )


async def test_cli_reports_unset_allow_lists_as_a_warning_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No shop installed: on a public APP_URL without allow-lists the loopback fakes could not be
    # called, and this test is about the deployment's own checks (no shop is the one failure).
    engine = create_engine(f"sqlite:///{tmp_path / 'no-shops.db'}")
    await migrate(engine)
    await engine.dispose()
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", f"sqlite:///{tmp_path / 'no-shops.db'}")
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("SALEOR_GORDON_APP_URL", APP_URL)

    assert await _main(["doctor"]) == 1

    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines if line.startswith(("FAIL", "WARN"))] == [
        ["WARN", "allow_lists"],
        ["FAIL", "installations"],
    ]
    assert any(
        line.startswith(f"WARN  allow_lists    APP_URL {APP_URL} is public and ") for line in lines
    )
    assert any(
        "→ Set SALEOR_GORDON_ALLOWED_SALEOR_URLS to the Saleor API URLs you serve" in line
        for line in lines
    )
