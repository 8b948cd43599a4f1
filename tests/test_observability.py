"""URL sanitising and the masks that keep secrets and customer data out of logs."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from saleor_gordon.observability import (
    MAX_SHOWN_CHARS,
    MAX_SHOWN_TRACEBACK_CHARS,
    JsonFormatter,
    MaskingFormatter,
    configure_logging,
    mask_customer_data,
    mask_email,
    mask_phone,
    sanitize_url,
)
from tests.conftest import _pytests_own, logging_restored


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://shop.example.com/graphql/", "https://shop.example.com/graphql/"),
        ("https://shop.example.com:8443/graphql/", "https://shop.example.com:8443/graphql/"),
        ("http://127.0.0.1:8000/graphql/", "http://127.0.0.1:8000/graphql/"),
        ("http://[::1]:8000/graphql/", "http://[::1]:8000/graphql/"),
        ("http://[2001:db8::1]/graphql/", "http://[2001:db8::1]/graphql/"),
        ("http://user:pass@[::1]:8000/graphql/", "http://[::1]:8000/graphql/"),
        ("https://user:secret@shop.example.com/graphql/", "https://shop.example.com/graphql/"),
        ("https://token@shop.example.com/graphql/", "https://shop.example.com/graphql/"),
        ("https://shop.example.com/graphql/?token=abc#frag", "https://shop.example.com/graphql/"),
        ("postgresql://gordon:pw@db.internal:5432/gordon", "postgresql://db.internal:5432/gordon"),
        ("postgresql+asyncpg://gordon:pw@db/gordon", "postgresql+asyncpg://db/gordon"),
        ("http://user:pass@/graphql/", "http:///graphql/"),
    ],
    ids=[
        "plain",
        "port",
        "ipv4-port",
        "ipv6-port",
        "ipv6",
        "ipv6-credentials",
        "credentials",
        "user-only",
        "query-and-fragment",
        "postgres",
        "postgres-driver",
        "credentials-without-host",
    ],
)
def test_sanitize_url_drops_credentials_query_and_fragment(url: str, shown: str) -> None:
    assert sanitize_url(url) == shown


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///saleor-gordon.db",
        "sqlite:////var/lib/saleor-gordon/saleor-gordon.db",
        "sqlite+aiosqlite:///relative/path.db",
        "sqlite:///:memory:",
    ],
)
def test_sqlite_urls_stay_intact(url: str) -> None:
    assert sanitize_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://x:99999/graphql/",
        "http://user:secret@x:99999/graphql/",
        "http://x:port/graphql/",
        "http://[::1/graphql/",
        "http://user:secret@[::1/graphql/",
    ],
    ids=["port-out-of-range", "port-with-credentials", "port-not-a-number", "ipv6", "ipv6-creds"],
)
def test_sanitize_url_never_raises_and_never_echoes_an_unparsable_url(url: str) -> None:
    shown = sanitize_url(url)
    assert "secret" not in shown
    assert shown == "<unparsable URL>"


@pytest.mark.parametrize("url", ["", "not a url", "/relative/path"])
def test_sanitize_url_leaves_strings_without_a_host_alone(url: str) -> None:
    assert sanitize_url(url) == url


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("anna.svensson@example.com", "a***@example.com"),
        ("a@example.com", "a***@example.com"),
        ("no-at-sign", "***"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_email(email: str | None, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [("+46702286810", "***10"), ("070-228 68 10", "***10"), ("", ""), (None, "")],
)
def test_mask_phone(phone: str | None, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "mobile +46 70 228 68 10 of anna.svensson@example.com is invalid",
            "mobile ***10 of a***@example.com is invalid",
        ),
        ("phones: +46702286810, 070-228 68 10, 0702286810.", "phones: ***10, ***10, ***10."),
        ("KeyError: 'ole.nordmann+gordon@example.no'", "KeyError: 'o***@example.no'"),
    ],
    ids=["gordon-words", "phone-formats", "in-an-exception"],
)
def test_mask_customer_data(text: str, masked: str) -> None:
    assert mask_customer_data(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "job.finished job_id=12345 order_number=45 status=synced",
        "retry at 2026-12-01T20:45:01.123+00:00 (+00:00)",
        "app.starting listen=127.0.0.1:8000 app_url=http://[::1]:8000",
        "hash=0123456789abcdef0123 tracking_id=0Zj7YGCUr zip=12553 ref=SE-1000045",
        "database=postgresql://db.internal:5432/gordon",
    ],
)
def test_mask_customer_data_leaves_the_apps_own_words_alone(text: str) -> None:
    assert mask_customer_data(text) == text


def _formatted(record: logging.LogRecord) -> str:
    return MaskingFormatter("%(levelname)s %(message)s").format(record)


def test_the_formatter_masks_message_arguments_and_tracebacks() -> None:
    """What the app does not write itself (an error's text) is masked too."""
    try:
        raise ValueError("no route for anna.svensson@example.com / +46 70 228 68 10")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "saleor_gordon.jobs.worker",
        logging.ERROR,
        __file__,
        1,
        "job.crashed %s",
        ("+4670228681",),
        exc_info,
    )

    text = _formatted(record)

    assert text.startswith("ERROR job.crashed ***81\nTraceback (most recent call last):")
    assert text.endswith("ValueError: no route for a***@example.com / ***10")
    assert "anna.svensson" not in text
    assert "228 68" not in text
    assert record.getMessage() == "job.crashed +4670228681"  # the caller's record is untouched


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers; give them back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_configure_logging_installs_the_masks(
    root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)

    configure_logging(logging.INFO, "console")
    logging.getLogger("saleor_gordon.test").warning("customer %s", "anna.svensson@example.com")

    assert stream.getvalue().endswith(" WARNING saleor_gordon.test customer a***@example.com\n")


def _record(
    msg: str, *args: object, exc_info: Any = None, name: str = "saleor_gordon.jobs.worker"
) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, exc_info)
    record.created = 1764633600.25  # 2025-12-02T00:00:00.250Z
    return record


def test_json_lines_carry_the_event_name_and_the_fields_of_the_message() -> None:
    record = _record(
        "gordon.pushed job_id=%s order_id=%s saleor_api_url=%s",
        42,
        "T3JkZXI6MQ==",
        "https://shop.example.com/graphql/",
    )

    assert json.loads(JsonFormatter().format(record)) == {
        "time": "2025-12-02T00:00:00.250+00:00",
        "level": "ERROR",
        "event": "gordon.pushed",
        "logger": "saleor_gordon.jobs.worker",
        "message": "gordon.pushed job_id=42 order_id=T3JkZXI6MQ== saleor_api_url=https://shop.example.com/graphql/",
        "job_id": "42",
        "order_id": "T3JkZXI6MQ==",
        "saleor_api_url": "https://shop.example.com/graphql/",
    }


def test_a_message_without_an_event_name_is_named_by_its_logger() -> None:
    record = _record("Started server process [%d]", 7, name="uvicorn.error")

    entry = json.loads(JsonFormatter().format(record))

    assert (entry["event"], entry["message"]) == ("uvicorn.error", "Started server process [7]")
    assert set(entry) == {"time", "level", "event", "logger", "message"}


def test_json_lines_mask_customer_data_and_hide_credential_fields() -> None:
    try:
        raise ValueError("no route for anna.svensson@example.com / +46 70 228 68 10")
    except ValueError:
        exc_info = sys.exc_info()
    record = _record(
        "job.crashed job_id=%s email=%s token=%s client_secret=%s",
        7,
        "anna.svensson@example.com",
        "tok-123",
        "s3cr3t",
        exc_info=exc_info,
    )

    line = JsonFormatter().format(record)
    entry = json.loads(line)

    assert "\n" not in line
    assert (
        entry["message"]
        == "job.crashed job_id=7 email=a***@example.com token=*** client_secret=***"
    )
    assert (entry["email"], entry["token"], entry["client_secret"]) == (
        "a***@example.com",
        "***",
        "***",
    )
    assert entry["exc"].startswith("Traceback (most recent call last):")
    assert entry["exc"].endswith("ValueError: no route for a***@example.com / ***10")
    for secret in ("anna.svensson", "228 68", "tok-123", "s3cr3t"):
        assert secret not in line


def test_configure_logging_writes_json_lines_for_the_app_and_uvicorn(
    root_logging: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    uvicorn_error = logging.getLogger("uvicorn.error")
    monkeypatch.setattr(uvicorn_error, "handlers", [logging.StreamHandler(io.StringIO())])
    monkeypatch.setattr(uvicorn_error, "propagate", False)
    # Servers started by earlier tests (uvicorn in a thread) may have left a level or disabled it.
    monkeypatch.setattr(uvicorn_error, "level", logging.NOTSET)
    monkeypatch.setattr(uvicorn_error, "disabled", False)

    configure_logging(logging.INFO, "json")
    logging.getLogger("saleor_gordon.test").warning("webhook.accepted order_id=%s", "T3JkZXI6MQ==")
    uvicorn_error.info("Application startup complete.")

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["event"], line["message"]) for line in lines] == [
        ("webhook.accepted", "webhook.accepted order_id=T3JkZXI6MQ=="),
        ("uvicorn.error", "Application startup complete."),
    ]
    assert lines[0]["order_id"] == "T3JkZXI6MQ=="


@pytest.mark.parametrize(("tty", "expected"), [(True, MaskingFormatter), (False, JsonFormatter)])
def test_the_default_format_is_console_on_a_terminal_and_json_otherwise(
    root_logging: None, monkeypatch: pytest.MonkeyPatch, tty: bool, expected: type
) -> None:
    stream = io.StringIO()
    monkeypatch.setattr(stream, "isatty", lambda: tty)
    monkeypatch.setattr("sys.stderr", stream)

    configure_logging(logging.INFO)

    [handler] = logging.getLogger().handlers
    assert type(handler.formatter) is expected


def test_logging_configured_by_a_test_is_undone_after_it() -> None:
    """tests/conftest.py's logging_restored (every test runs in it): a command run in-process
    configures logging on a stream that is closed after the test; nothing may write there later.
    (pytest's own capture handlers are pytest's to add and remove, per test phase.)"""
    root = logging.getLogger()

    def state() -> tuple[int, list[logging.Handler], int]:
        own = [handler for handler in root.handlers if not _pytests_own(handler)]
        return root.level, own, logging.getLogger("httpx").level

    before = state()
    stream = io.StringIO()

    with logging_restored(), contextlib.redirect_stderr(stream):
        configure_logging(logging.DEBUG, "json")
        assert root.level == logging.DEBUG
    stream.close()
    logging.getLogger("saleor_gordon.test").warning("after the test")

    assert state() == before


# What Saleor said when it refused a request: text from outside, its line break and its terminal
# escape chosen by whoever answers at the shop's API URL.
FORGING_TEXT = (
    "Saleor refused OrdersPage: bad cursor\n"
    "2026-01-01 00:00:00,000 ERROR saleor_gordon.jobs.worker job.crashed job_id=999\r"
    "\x1b[2K\u2028done"
)
FORGING_TEXT_SHOWN = (
    "Saleor refused OrdersPage: bad cursor\\n"
    "2026-01-01 00:00:00,000 ERROR saleor_gordon.jobs.worker job.crashed job_id=999\\r"
    "\\x1b[2K\\u2028done"
)


def test_a_console_line_is_one_line_whatever_text_from_outside_it_carries() -> None:
    record = _record("reconcile.failed installation_id=%s error=%s", 3, FORGING_TEXT)

    text = MaskingFormatter("%(levelname)s %(message)s").format(record)

    assert text == f"ERROR reconcile.failed installation_id=3 error={FORGING_TEXT_SHOWN}"
    assert record.getMessage().endswith(FORGING_TEXT)  # the caller's record is untouched


def test_a_json_message_is_one_line_whatever_text_from_outside_it_carries() -> None:
    record = _record("reconcile.failed installation_id=%s error=%s", 3, FORGING_TEXT)

    entry = json.loads(JsonFormatter().format(record))

    assert entry["message"] == f"reconcile.failed installation_id=3 error={FORGING_TEXT_SHOWN}"


def test_text_from_outside_in_a_json_field_adds_no_field_and_stays_whole() -> None:
    saleor_said = (
        "Saleor refused OrdersPage: bad cursor job_id=999 order_id=T3JkZXI6OTk5 level=INFO"
    )
    record = _record("reconcile.failed installation_id=%s error=%s", 3, saleor_said)

    entry = json.loads(JsonFormatter().format(record))

    assert entry == {
        "time": "2025-12-02T00:00:00.250+00:00",
        "level": "ERROR",
        "event": "reconcile.failed",
        "logger": "saleor_gordon.jobs.worker",
        "message": f"reconcile.failed installation_id=3 error={saleor_said}",
        "installation_id": "3",
        "error": saleor_said,
    }


@pytest.mark.parametrize(
    ("msg", "args", "fields"),
    [
        (
            "app.starting listen=%s:%s workers=%s",
            ("127.0.0.1", 8000, 2),
            {"listen": "127.0.0.1:8000", "workers": "2"},
        ),
        (
            "database.unavailable retry_in=%.1fs %s",
            (2.5, "The database failed"),
            {"retry_in": "2.5s"},
        ),
        ("gordon.order_missing ref=%s: creating it with POST", ("SE 1001",), {"ref": "SE 1001"}),
        (
            "job.slow job_id=%s done=100%% servers=%s",
            (7, "a,b"),
            {"job_id": "7", "servers": "a,b"},
        ),
        (
            "webhook.received customer=%s",
            ("anna.svensson@example.com\n",),
            {"customer": "a***@example.com\\n"},
        ),
        ("gordon.token_refused %s %s: refreshing", ("PUT", "/api/orders/1"), {}),
        ("job.crashed job_id=%(job)s", ({"job": 7},), {}),
    ],
)
def test_json_fields_are_the_values_the_format_string_names(
    msg: str, args: tuple[object, ...], fields: dict[str, str]
) -> None:
    entry = json.loads(JsonFormatter().format(_record(msg, *args)))

    assert {
        key: entry[key]
        for key in entry
        if key not in ("time", "level", "event", "logger", "message")
    } == fields


def test_a_field_named_like_a_credential_is_hidden_whole_in_both_formats() -> None:
    record = _record(
        "gordon.token_requested client_id=%s client_secret=%s access_token=%s: granted",
        "test-client",
        "s3cr3t with spaces",
        "tok-123",
    )
    shown = (
        "gordon.token_requested client_id=test-client client_secret=*** access_token=***: granted"
    )

    console = MaskingFormatter("%(levelname)s %(message)s").format(record)
    entry = json.loads(JsonFormatter().format(record))

    assert console == f"ERROR {shown}"
    assert entry["message"] == shown
    assert (entry["client_id"], entry["client_secret"], entry["access_token"]) == (
        "test-client",
        "***",
        "***",
    )


@pytest.mark.parametrize(
    ("template", "args"),
    [
        ("saleor.error Saleor said: bad Token=abc123, client_secret=s3cr3t", ()),
        (
            "reconcile.failed installation_id=%s error=%s",
            (7, "bad Token=abc123, client_secret=s3cr3t"),
        ),
    ],
    ids=["no-arguments", "in-an-argument"],
)
def test_a_credential_field_the_format_string_does_not_name_is_hidden_too(
    template: str, args: tuple[object, ...]
) -> None:
    """Text from outside (Saleor's error message) may say ``token=...`` itself: its format
    string names no such field, and the word after it is hidden all the same, in any case."""
    record = _record(template, *args)

    console = MaskingFormatter("%(message)s").format(record)
    message = json.loads(JsonFormatter().format(record))["message"]

    for shown in (console, message):
        assert "abc123" not in shown
        assert "s3cr3t" not in shown
        assert shown.endswith("bad Token=***, client_secret=***")


# What a Saleor (anyone can claim to be one) may answer as its error: as long as the byte cap lets it.
LONG_SALEOR_TEXT = "Saleor refused OrdersPage: " + "x" * 4_973  # 5,000 characters


def test_a_long_text_from_outside_is_cut_in_a_console_line() -> None:
    record = _record("reconcile.failed installation_id=%s error=%s", 3, LONG_SALEOR_TEXT)

    text = MaskingFormatter("%(message)s").format(record)

    whole = f"reconcile.failed installation_id=3 error={LONG_SALEOR_TEXT}"
    assert len(whole) == 5_041
    assert text == f"{whole[:MAX_SHOWN_CHARS]}… (3041 more characters)"
    assert MAX_SHOWN_CHARS == 2_000


def test_a_long_text_from_outside_is_cut_in_a_json_message_and_field() -> None:
    record = _record("reconcile.failed installation_id=%s error=%s", 3, LONG_SALEOR_TEXT)

    entry = json.loads(JsonFormatter().format(record))

    whole = f"reconcile.failed installation_id=3 error={LONG_SALEOR_TEXT}"
    assert entry["message"] == f"{whole[:2_000]}… (3041 more characters)"
    assert entry["error"] == f"{LONG_SALEOR_TEXT[:2_000]}… (3000 more characters)"
    assert entry["installation_id"] == "3"


def test_a_cut_never_leaves_the_part_of_an_address_the_mask_hides() -> None:
    # the address starts 10 characters before the cut: cut first, "anna.svens" would show
    text = "x" * 1_966 + " anna.svensson@example.com and more"

    shown = MaskingFormatter("%(message)s").format(_record("reconcile.failed error=%s", text))

    assert "anna.svens" not in shown
    prefix = "reconcile.failed error="
    expected = f"{prefix}{'x' * 1_966} a***@example.com and more"
    assert len(prefix) + 1_967 == 1_990
    assert shown == f"{expected[:2_000]}… ({len(expected) - 2_000} more characters)"


def test_a_long_exception_text_is_cut_in_the_traceback_of_both_formats() -> None:
    try:
        raise RuntimeError("Saleor said: " + "y" * 30_000)
    except RuntimeError:
        record = _record("job.crashed job_id=%s", 7, exc_info=sys.exc_info())

    console = MaskingFormatter("%(message)s").format(record)
    exc = json.loads(JsonFormatter().format(record))["exc"]

    for traceback in (console.split("\n", 1)[1], exc):
        assert traceback.startswith("Traceback (most recent call last):")
        kept, more = traceback.rsplit("… (", 1)
        assert len(kept) == MAX_SHOWN_TRACEBACK_CHARS == 20_000
        assert more.endswith(" more characters)")
        assert int(more.split(" ")[0]) > 10_000
