"""Stories of `saleor-gordon jobs list|show|retry`, run in process against an embedded database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from saleor_gordon.cli import main
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import Message
from saleor_gordon.core.order_events import OrderEvent
from saleor_gordon.jobs.lifecycle import Episode, Transition
from saleor_gordon.jobs.queue import JobQueue
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import create_engine, migrate
from saleor_gordon.store.inbox import EventInbox
from saleor_gordon.store.installations import InstallationStore
from tests.conftest import TEST_SECRET_KEY

SHOP_A = "https://a.example.com/graphql/"
SHOP_B = "https://b.example.com/graphql/"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
LONG = "Gordon refused the order: " + "x" * 100


def _message(number: str) -> Message:
    if number == "101":
        return Message.of("job.gordon_refused", LONG, gordon_message=LONG)
    if number == "102":
        return Message.of("job.pushed", "pushed", ref=number, tracking_id="T")
    return Message.of("job.gordon_refused", "gave up", gordon_message="gave up")


async def _seed(url: str, *, revoke_b: bool = False) -> dict[str, int]:
    """Shop A: order 101 failed (long message), order 102 synced. Shop B: order 201 failed."""
    engine = create_engine(url)
    await migrate(engine)
    installations = InstallationStore(engine, SecretBox(TEST_SECRET_KEY))
    jobs = JobQueue(engine)
    ids: dict[str, int] = {}
    try:
        for shop, orders in ((SHOP_A, ("101", "102")), (SHOP_B, ("201",))):
            installation = await installations.save_installation(
                saleor_api_url=shop, app_id="QXBwOjE=", token="t" * 30, jwks={"keys": []}, now=NOW
            )
            for offset, number in enumerate(orders):
                at = NOW + timedelta(minutes=int(number))
                received = OrderEvent(
                    installation_id=installation.id,
                    event="ORDER_FULLY_PAID",
                    order_id=f"order-{number}",
                    order_number=number,
                    issued_at=f"{number}-{offset}",
                    principal_type=None,
                    principal_id=None,
                    body_sha256="0" * 64,
                )
                async with EventInbox(engine) as inbox:
                    job_id = (await inbox.record_order_event(received, now=at)).job_id
                assert job_id is not None
                ids[number] = job_id
                claimed = await jobs.claim_next_job(
                    worker_id="w", now=at, lease_seconds=30, per_installation_limit=4
                )
                assert claimed is not None
                assert claimed.id == job_id
                failed = number != "102"
                result = Transition(
                    status=JobStatus.FAILED if failed else JobStatus.SYNCED,
                    next_attempt_at=None,
                    episode=Episode.ENDS,
                    action="push",
                    outcome="rejected" if failed else "accepted",
                    message=_message(number),
                )
                assert await jobs.finish_job(claimed, result, now=at)
            if revoke_b and shop == SHOP_B:
                await installations.mark_revoked(installation.id, now=NOW)
    finally:
        await engine.dispose()
    return ids


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("SALEOR_GORDON_DATABASE_URL", url)
    monkeypatch.setenv("SALEOR_GORDON_SECRET_KEY", TEST_SECRET_KEY)
    return url


@pytest.fixture
def seeded(database: str) -> dict[str, int]:
    return asyncio.run(_seed(database))


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["jobs", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_list_of_no_jobs(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A fresh database (migrated by the command itself) has no jobs."""
    assert _run(capsys, "list") == (0, "No jobs.\n", "")


def test_list_is_a_table_newest_first_with_long_messages_cut(
    seeded: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "list")

    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["ID", "ORDER", "STATUS", "ATTEMPTS", "UPDATED", "MESSAGE"]
    assert [line.split()[:4] for line in lines[1:]] == [
        [str(seeded["201"]), "201", "failed", "1"],
        [str(seeded["102"]), "102", "synced", "1"],
        [str(seeded["101"]), "101", "failed", "1"],
    ]
    assert lines[3].endswith(" " + LONG[:77] + "...")
    assert lines[1].endswith(" gave up")
    assert len(lines) == 4


def test_list_filters_by_status_and_shop_and_says_when_there_is_more(
    seeded: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "list", "--status", "failed", "--limit", "1")

    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[1:-1]] == [str(seeded["201"])]
    assert out.splitlines()[-1] == "(more jobs: raise --limit, now 1, or filter with --status)"

    code, out, _ = _run(capsys, "list", "--saleor-api-url", SHOP_A, "--json")

    assert code == 0
    assert [(job["order_number"], job["status"]) for job in json.loads(out)] == [
        ("102", "synced"),
        ("101", "failed"),
    ]


def test_list_exactly_at_the_limit_says_nothing_more(
    seeded: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = _run(capsys, "list", "--limit", "3")

    assert len(out.splitlines()) == 4
    assert "more jobs" not in out


def test_show_prints_the_job_and_its_history(
    seeded: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "show", str(seeded["102"]))

    lines = out.splitlines()
    assert code == 0
    assert f"{'order_number':>16}: 102" in lines
    assert f"{'status':>16}: synced" in lines
    assert f"{'saleor_api_url':>16}: {SHOP_A}" in lines
    assert lines[-2] == "history:"
    assert lines[-1].split()[1:] == ["#1", "push", "accepted", "pushed"]

    code, out, _ = _run(capsys, "show", str(seeded["102"]), "--json")

    shown = json.loads(out)
    assert code == 0
    assert (shown["id"], shown["status"], shown["last_message"]) == (
        seeded["102"],
        "synced",
        "pushed",  # English on the command line; the code beside it for scripts
    )
    assert (shown["last_code"], shown["last_params"]) == (
        "job.pushed",
        {"ref": "102", "tracking_id": "T"},
    )
    assert [(h["attempt"], h["action"], h["outcome"]) for h in shown["history"]] == [
        (1, "push", "accepted")
    ]


def test_show_of_an_unknown_job(seeded: dict[str, int], capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(capsys, "show", "999") == (1, "", "No job 999.\n")


def test_retry_one_job_makes_it_due(
    seeded: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = seeded["101"]

    assert _run(capsys, "retry", str(job_id)) == (0, f"Job {job_id} will run now.\n", "")
    _, out, _ = _run(capsys, "show", str(job_id), "--json")
    assert json.loads(out)["status"] == "pending"


def test_retry_of_an_unknown_job(
    seeded: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "retry", "999") == (1, "", "No job 999.\n")


def test_retry_of_a_revoked_shops_job_says_it_waits_for_a_new_install(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = asyncio.run(_seed(database, revoke_b=True))["201"]

    code, out, _ = _run(capsys, "retry", str(job_id))

    assert code == 0
    assert out == (
        f"Job {job_id} is queued, but Saleor no longer accepts the app's token for "
        f"{SHOP_B}; it runs once the app is installed there again.\n"
    )


def test_retry_all_failed_of_one_shop_then_of_all(
    seeded: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "retry", "--all-failed", "--saleor-api-url", SHOP_B) == (
        0,
        "1 failed job(s) will run now.\n",
        "",
    )
    assert _run(capsys, "retry", "--all-failed") == (0, "1 failed job(s) will run now.\n", "")
    _, out, _ = _run(capsys, "list", "--status", "failed")
    assert out == "No jobs.\n"


def test_invalid_settings_are_reported(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error of the app (here: a setting that is not a number) is told on stderr, exit code 2."""
    monkeypatch.setenv("SALEOR_GORDON_SALEOR_TIMEOUT_SECONDS", "soon")

    code, out, err = _run(capsys, "list")

    assert (code, out) == (2, "")
    assert err.startswith(
        "saleor-gordon: Invalid settings:\n  SALEOR_GORDON_SALEOR_TIMEOUT_SECONDS: "
    )
