"""URL sanitising and the masks that keep secrets and customer data out of logs."""

from __future__ import annotations

import pytest

from saleor_gordon.observability import mask_email, mask_name, mask_phone, sanitize_url


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
    ("name", "masked"),
    [("Anna Svensson", "A. S."), ("Anna  Maria Svensson", "A. M. S."), ("", ""), (None, "")],
)
def test_mask_name(name: str | None, masked: str) -> None:
    assert mask_name(name) == masked
