"""Settings: defaults of the embedded setup and clear refusals of bad values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from saleor_gordon.cli.settings_loading import load_settings
from saleor_gordon.errors import ConfigurationError
from saleor_gordon.settings import Settings


def test_defaults_are_the_embedded_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "APP_URL", "ALLOWED_SALEOR_URLS", "SECRET_KEY", "LOG_LEVEL"):
        monkeypatch.delenv(f"SALEOR_GORDON_{name}", raising=False)

    settings = Settings()

    assert settings.database_url == "sqlite:///saleor-gordon.db"
    assert settings.app_url == "http://localhost:8000"
    assert settings.is_sqlite
    assert settings.saleor_url_allowed("https://anything.example.com/graphql/")


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALEOR_GORDON_APP_URL", "https://gordon.example.com/")
    monkeypatch.setenv(
        "SALEOR_GORDON_ALLOWED_SALEOR_URLS", r"https://[a-z0-9-]+\.saleor\.cloud/graphql/"
    )

    settings = Settings()

    assert settings.app_url == "https://gordon.example.com"
    assert settings.saleor_url_allowed("https://shop-1.saleor.cloud/graphql/")
    assert not settings.saleor_url_allowed("https://evil.example.com/graphql/")
    assert not settings.saleor_url_allowed("https://shop.saleor.cloud/graphql/.evil.example.com")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("database_url", "mysql://db/gordon", "sqlite:///"),
        ("app_url", "gordon.example.com", "absolute http(s) URL"),
        ("allowed_saleor_urls", "https://(unclosed", "not a valid regular expression"),
        ("allowed_gordon_urls", r"[a-z]+\.gordondelivery\.com", "is not a URL pattern"),
        ("allowed_saleor_urls", r"https://(a\.com/x|b\.com/y)", "mixes host and path"),
        ("saleor_max_response_bytes", 1024, "greater than or equal to 65536"),
        ("gordon_timeout_seconds", 0, "greater than 0"),
        ("secret_key", "short", "at least 32 characters"),
        ("log_level", "LOUD", "Input should be"),
        ("workers", -1, "greater than or equal to 0"),
    ],
)
def test_refuses_bad_values_with_a_message(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=field) as error:
        Settings(**{field: value})  # type: ignore[arg-type]

    assert message in str(error.value)


def test_sqlite_path() -> None:
    assert (
        str(Settings(database_url="sqlite:////var/lib/gordon/app.db").sqlite_path)
        == "/var/lib/gordon/app.db"
    )
    assert Settings(database_url="postgresql://u@h/db").sqlite_path is None
    assert Settings(database_url="sqlite:///:memory:").sqlite_path is None


def test_an_empty_metrics_token_means_none() -> None:
    assert Settings(metrics_token="").metrics_token is None  # type: ignore[arg-type]
    assert Settings(metrics_token=" ").metrics_token is None  # type: ignore[arg-type]
    token = Settings(metrics_token="m-token-42").metrics_token  # type: ignore[arg-type]
    assert token is not None
    assert token.get_secret_value() == "m-token-42"


def test_log_format_is_json_or_console() -> None:
    assert Settings().log_format is None
    assert Settings(log_format="json").log_format == "json"
    with pytest.raises(ValidationError):
        Settings(log_format="xml")  # type: ignore[arg-type]


def test_connections_per_destination_follow_the_workers_unless_set() -> None:
    assert Settings(workers=4).connections_per_destination_limit == 16
    assert Settings(workers=32).connections_per_destination_limit == 64
    assert (
        Settings(workers=32, connections_per_destination=5).connections_per_destination_limit == 5
    )


@pytest.mark.parametrize(
    ("app_url", "local"),
    [
        ("http://localhost:8000", True),
        ("http://127.0.0.1:9000", True),
        ("http://[::1]:8000", True),
        ("https://gordon.example.com", False),
        ("http://10.0.0.5:8000", False),  # reachable from other machines: not a local trial
    ],
)
def test_a_loopback_app_url_is_a_local_trial(app_url: str, local: bool) -> None:
    assert Settings(app_url=app_url).local_trial is local


@pytest.mark.parametrize(
    ("variable", "default", "override"),
    [
        ("DATABASE_CONNECT_TIMEOUT_SECONDS", 5.0, 2.5),
        ("DATABASE_STATEMENT_TIMEOUT_SECONDS", 30.0, 120.0),
    ],
)
def test_the_database_timeouts_have_their_defaults_unless_set(
    monkeypatch: pytest.MonkeyPatch, variable: str, default: float, override: float
) -> None:
    attribute = variable.lower()
    monkeypatch.delenv(f"SALEOR_GORDON_{variable}", raising=False)
    assert getattr(Settings(), attribute) == default

    monkeypatch.setenv(f"SALEOR_GORDON_{variable}", str(override))
    assert getattr(Settings(), attribute) == override


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DATABASE_CONNECT_TIMEOUT_SECONDS", "0", "Input should be greater than 0"),
        ("DATABASE_CONNECT_TIMEOUT_SECONDS", "-1", "Input should be greater than 0"),
        ("DATABASE_CONNECT_TIMEOUT_SECONDS", "301", "Input should be less than or equal to 300"),
        (
            "DATABASE_CONNECT_TIMEOUT_SECONDS",
            "soon",
            "Input should be a valid number, unable to parse string as a number",
        ),
        ("DATABASE_STATEMENT_TIMEOUT_SECONDS", "0", "Input should be greater than 0"),
        ("DATABASE_STATEMENT_TIMEOUT_SECONDS", "-1", "Input should be greater than 0"),
        (
            "DATABASE_STATEMENT_TIMEOUT_SECONDS",
            "3601",
            "Input should be less than or equal to 3600",
        ),
        (
            "DATABASE_STATEMENT_TIMEOUT_SECONDS",
            "never",
            "Input should be a valid number, unable to parse string as a number",
        ),
    ],
)
def test_a_database_timeout_out_of_range_is_refused_with_a_message(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(f"SALEOR_GORDON_{variable}", value)

    with pytest.raises(ConfigurationError) as refused:
        load_settings()

    assert refused.value.message == f"Invalid settings:\n  SALEOR_GORDON_{variable}: {message}"
