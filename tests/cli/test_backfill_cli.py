"""`saleor-gordon backfill` as an operator runs it: through main(), settings from the environment."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from saleor_gordon.cli import main
from saleor_gordon.core.shop_config import parse_shop_config
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.installations import InstallationStore
from tests.conftest import TEST_SECRET_KEY
from tests.core.builders import config_data
from tests.support.fixtures import RunningSaleorFake

NOT_CONFIGURED = (
    "The app is not configured for this shop yet: enter the Gordon credentials and delivery "
    "groups on the app's page in the Saleor Dashboard (Apps → Gordon Delivery)."
)


async def _install(url: str, fake: RunningSaleorFake, *, configured: bool = True) -> None:
    engine = create_engine(url)
    await migrate(engine)
    store = InstallationStore(engine, SecretBox(TEST_SECRET_KEY))
    installation = await store.save_installation(
        saleor_api_url=fake.api_url,
        app_id=fake.state.app_id,
        token=fake.state.issue_token(),
        jwks=fake.state.jwks,
        now=datetime.now(UTC),
    )
    if configured:
        await store.save_config(
            installation.id, parse_shop_config(config_data()), now=datetime.now(UTC)
        )
    await engine.dispose()


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saleor_fake: RunningSaleorFake) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", url)
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)
    asyncio.run(_install(url, saleor_fake))
    return saleor_fake.api_url


def test_json_run_then_a_second_run_queues_nothing(
    shop: str, saleor_fake: RunningSaleorFake, capsys: pytest.CaptureFixture[str]
) -> None:
    paid = saleor_fake.state.add_order(created="2026-11-10T08:00:00+00:00")
    saleor_fake.state.add_order(created="2026-11-11T08:00:00+00:00", isPaid=False,
                                chargeStatus="NONE")  # fmt: skip
    argv = ["backfill", "--saleor-api-url", shop, "--since", "2026-11-01", "--json"]

    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)

    assert first["until"] is None
    assert [(o["order_number"], o["action"]) for o in first["orders"]] == [
        (paid["number"], "enqueue"),
        (str(int(paid["number"]) + 1), "skip"),
    ]
    assert (first["summary"]["enqueued"], second["summary"]["enqueued"]) == (1, 0)
    assert second["orders"][0]["reason"] == "Already queued."


def test_an_unknown_shop_is_refused(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    other = "https://other.example.com/graphql/"

    assert main(["backfill", "--saleor-api-url", other, "--since", "2026-11-01"]) == 2
    assert capsys.readouterr().err == (f"saleor-gordon: The app is not installed for {other}.\n")


def test_a_bad_date_is_refused(shop: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["backfill", "--saleor-api-url", shop, "--since", "yesterday"])

    assert exit_.value.code == 2
    assert "'yesterday' is not a date (YYYY-MM-DD) or an ISO date-time" in capsys.readouterr().err


def test_ctrl_c_says_how_to_resume(
    shop: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("saleor_gordon.cli.backfill.scan_orders", interrupted)

    assert main(["backfill", "--saleor-api-url", shop, "--since", "2026-11-01"]) == 130
    assert capsys.readouterr().err.endswith(
        "Interrupted. Every finished page is kept: run the same command again to resume.\n"
    )


def test_an_unconfigured_shop_is_refused_with_the_app_s_one_message(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    saleor_fake: RunningSaleorFake,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", url)
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)
    asyncio.run(_install(url, saleor_fake, configured=False))

    argv = ["backfill", "--saleor-api-url", saleor_fake.api_url, "--since", "2026-11-01"]

    assert main(argv) == 2
    assert capsys.readouterr().err == f"saleor-gordon: {NOT_CONFIGURED}\n"
