"""Process settings, read from ``SALEOR_GORDON_*`` environment variables.

Settings are built by the entry points (``cli``) and passed down; nothing imports a module-level
instance. Tests build ``Settings(...)`` with keyword arguments.
"""

from __future__ import annotations

import functools
import logging
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from saleor_gordon.core.destinations import (
    DestinationRules,
    UrlParts,
    host_internal_kind,
    parse_allow_list,
)

DEFAULT_DATABASE_URL = "sqlite:///saleor-gordon.db"

DATABASE_CONNECT_TIMEOUT_SECONDS = 5.0
"""How long opening a PostgreSQL connection may take when ``DATABASE_CONNECT_TIMEOUT_SECONDS`` is
unset (asyncpg's own default, 60 s, held every webhook and page that long)."""

DATABASE_STATEMENT_TIMEOUT_SECONDS = 30.0
"""How long one PostgreSQL statement may wait for its answer when
``DATABASE_STATEMENT_TIMEOUT_SECONDS`` is unset (nothing bounded it: a connection whose server
stopped answering held its webhook, page or job until TCP gave up, many minutes)."""

ATTEMPT_DEADLINE_SECONDS = 20.0
"""A job attempt's deadline when ``ATTEMPT_DEADLINE_SECONDS`` is unset and the lease allows it."""
ATTEMPT_DEADLINE_SHARE_OF_LEASE = 0.8
"""Unset, the deadline is at most this share of the lease (a short lease, a short deadline)."""

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Everything an operator can set, with the defaults of the embedded (SQLite) setup."""

    model_config = SettingsConfigDict(env_prefix="SALEOR_GORDON_", extra="ignore", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    """``sqlite:///path`` (default: a file in the working directory) or ``postgresql://user:pass@host/db``."""

    app_url: str = "http://localhost:8000"
    """Public base URL of this app, as Saleor and the shop owner's browser reach it.

    Unset, ``serve`` uses the address it listens on (``http://HOST:PORT``, localhost for every
    interface); the default here only serves code that builds Settings without serving."""

    allowed_saleor_urls: str | None = None
    """Which Saleor API URLs may install the app: a regular expression of URL patterns
    (``core.destinations``: host and path matched apart); unset = any public Saleor."""

    allowed_gordon_urls: str | None = None
    """Which Gordon base URLs a shop may configure, in the same form; unset = any public https URL."""

    secret_key: SecretStr | None = None
    """Key that encrypts secrets at rest. Unset with SQLite: generated once beside the database.

    Several comma-separated keys during a rotation: the first encrypts, all of them decrypt."""

    log_level: LogLevel = "INFO"

    log_format: Literal["json", "console"] | None = None
    """``json`` (one object per line) or ``console``; unset: console when stderr is a terminal."""

    metrics_token: SecretStr | None = None
    """Bearer token that ``/metrics`` requires; unset: ``/metrics`` is open."""

    workers: int = Field(default=4, ge=0, le=256)
    """Worker tasks that ``serve`` runs beside the web app (``worker`` runs them alone)."""

    shop_concurrency: int | None = Field(default=None, ge=1, le=256)
    """Jobs of one shop that may run at once across all workers (default: half of WORKERS).

    Keeps one shop's backlog from taking every worker from the others."""

    database_connect_timeout_seconds: float = Field(
        default=DATABASE_CONNECT_TIMEOUT_SECONDS, gt=0, le=300
    )
    """How long opening one PostgreSQL connection may take (TCP connect, TLS, authentication)
    before it fails as "database unavailable": a server that drops packets or accepts and never
    answers fails webhooks (503, Saleor delivers again), pages and job claims after this, not
    after asyncpg's 60 s."""

    database_statement_timeout_seconds: float = Field(
        default=DATABASE_STATEMENT_TIMEOUT_SECONDS, gt=0, le=3600
    )
    """How long one PostgreSQL statement (a query, the pool's ping, a connection's set-up
    queries) may wait for its answer on an open connection (asyncpg's ``command_timeout``)
    before it fails as "database unavailable" and its connection is closed: a server that
    stops answering (a failover whose old primary vanished, packets dropped) fails webhooks
    (503, Saleor delivers again), pages and job claims after this, not after TCP gives up. A
    statement waiting for another transaction's row lock counts too. ``saleor-gordon migrate``
    does not use it: a data migration may run one long statement on a big table."""

    database_startup_wait_seconds: float = Field(default=60.0, ge=0, le=3600)
    """How long ``serve`` and ``worker`` wait at start for a PostgreSQL server they cannot reach
    (one starting or restarting beside them) before they give up."""

    worker_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    lease_seconds: float = Field(default=30.0, ge=1, le=3600)
    """How long a claimed job stays with its worker without a renewal."""
    attempt_deadline_seconds: float | None = Field(default=None, gt=0, le=3600)
    """How long one attempt of a job may take, every call in it included; past it the attempt is
    stopped, recorded as unanswered and retried later. Shorter than LEASE_SECONDS, so an attempt
    ends before its lease could run out even when no renewal gets through. Default: 20 s, or
    0.8 x LEASE_SECONDS when that is shorter."""
    slow_attempt_seconds: float = Field(default=5.0, gt=0, le=3600)
    """An attempt running longer than this is *slow*: while other shops' jobs are due, slow
    attempts may hold at most half of a process's workers (at least one); beyond that the newest
    are stopped like at their deadline, and the claims skip shops whose Saleor or Gordon servers
    are slow, so other shops' orders flow."""

    gordon_requests_per_second: float = Field(default=5.0, gt=0, le=1000)
    """Upper bound of requests per Gordon account (base URL, client id and secret) per second,
    shared by every process using the same database (store/rate.py)."""

    gordon_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """Deadline of each whole exchange with Gordon: connect, send and receive the answer."""
    saleor_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    """Deadline of each whole exchange with Saleor (GraphQL and its signing keys)."""
    saleor_max_response_bytes: int = Field(default=1024 * 1024, ge=64 * 1024, le=256 * 1024 * 1024)
    """Longest answer read from Saleor's GraphQL API (a longer one fails the call)."""
    gordon_max_response_bytes: int = Field(default=1024 * 1024, ge=4 * 1024, le=256 * 1024 * 1024)
    """Longest answer read from Gordon."""
    connections_per_destination: int | None = Field(default=None, ge=1, le=1024)
    """Connections the process keeps open at once to one server (scheme, host and port); calls
    beyond it wait (within their deadline). One slow server cannot take another one's connections.
    Default: 16 or twice WORKERS, whichever is more (every worker may be calling one Gordon)."""
    register_rate_per_client: int = Field(default=30, ge=1, le=1_000_000)
    """Installation attempts per minute that one client address may make (``/api/register``)."""
    register_rate_per_saleor: int = Field(default=10, ge=1, le=1_000_000)
    """Installation attempts per minute for one claimed Saleor API URL."""

    retry_first_delay_seconds: float = Field(default=5.0, ge=0, le=3600)
    retry_max_delay_seconds: float = Field(default=1800.0, ge=0, le=86400)
    retry_max_age_hours: float = Field(default=48.0, gt=0, le=24 * 90)
    history_retention_days: int = Field(default=30, ge=1, le=3650)

    reconcile_interval_seconds: float = Field(default=900.0, ge=0, le=7 * 86400)
    """How often each shop's recent orders are checked for ones that should be in Gordon and are
    not (their webhooks lost); 0 turns the reconcile off."""
    reconcile_lookback_hours: float = Field(default=24.0, gt=0, le=24 * 90)
    """How far back (by the orders' update time) each reconcile looks."""
    reconcile_lease_seconds: float = Field(default=600.0, ge=1, le=86400)
    """A process that died reconciling a shop leaves it to the others after this."""
    reconcile_concurrency: int = Field(default=4, ge=1, le=64)
    """Shops one process reconciles at once (a slow shop holds one of these, not the others)."""
    reconcile_shop_deadline_seconds: float = Field(default=300.0, gt=0, le=86400)
    """How long the reconcile of one shop may take; past it the shop is left for this period
    (due again in a fifth of the interval). Shorter than RECONCILE_LEASE_SECONDS, so no other
    process can start the same shop while this one still scans it."""

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        scheme = urlsplit(value).scheme.split("+", 1)[0]
        if scheme not in {"sqlite", "postgresql", "postgres"}:
            raise ValueError(
                "must start with sqlite:/// or postgresql:// (for example "
                "sqlite:///saleor-gordon.db or postgresql://user:pass@host/dbname)"
            )
        return value

    @field_validator("app_url")
    @classmethod
    def _check_app_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://gordon.example.com")
        return value.rstrip("/")

    @field_validator("allowed_saleor_urls", "allowed_gordon_urls")
    @classmethod
    def _check_allow_list(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_allow_list(value)  # its ValueError says what to write instead
        return value

    @field_validator("metrics_token")
    @classmethod
    def _check_metrics_token(cls, value: SecretStr | None) -> SecretStr | None:
        """An empty token (``METRICS_TOKEN=`` from a compose file) means none, never "any"."""
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        keys = [key.strip() for key in value.get_secret_value().split(",")]
        if any(len(key) < 32 for key in keys):
            raise ValueError(
                "must be at least 32 characters (generate one with `openssl rand -hex 32`); "
                "during a rotation, each of the comma-separated keys"
            )
        return value

    @model_validator(mode="after")
    def _check_deadlines_within_leases(self) -> Settings:
        """Each deadline ends its work before the lease that guards that work could run out."""
        if (
            self.attempt_deadline_seconds is not None
            and self.attempt_deadline_seconds >= self.lease_seconds
        ):
            raise ValueError(
                f"SALEOR_GORDON_ATTEMPT_DEADLINE_SECONDS ({self.attempt_deadline_seconds:g}) must be "
                f"shorter than SALEOR_GORDON_LEASE_SECONDS ({self.lease_seconds:g}): an attempt "
                "must end before its lease could run out; shorten the deadline or lengthen the lease"
            )
        if self.reconcile_shop_deadline_seconds >= self.reconcile_lease_seconds:
            raise ValueError(
                "SALEOR_GORDON_RECONCILE_SHOP_DEADLINE_SECONDS "
                f"({self.reconcile_shop_deadline_seconds:g}) must be shorter than "
                f"SALEOR_GORDON_RECONCILE_LEASE_SECONDS ({self.reconcile_lease_seconds:g}): a "
                "shop's reconcile must end before another process may take the shop over"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for PostgreSQL and in-memory SQLite."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        if path in {"", ":memory:"}:
            return None
        return Path(path)

    def saleor_url_allowed(self, saleor_api_url: str) -> bool:
        """Does the Saleor allow-list admit this URL (parsed: its host, port and path)?"""
        if self.allowed_saleor_urls is None:
            return True
        try:
            url = UrlParts.split(saleor_api_url)
        except ValueError:
            return False
        return parse_allow_list(self.allowed_saleor_urls).matches(url)

    @property
    def local_trial(self) -> bool:
        """The app runs on a loopback URL (a trial on one machine): it may call loopback servers."""
        try:
            host = UrlParts.split(self.app_url).host
        except ValueError:
            return False
        return host_internal_kind(host) == "loopback"

    @property
    def saleor_url_rules(self) -> DestinationRules:
        """Where a Saleor API URL may point (registration, GraphQL, signing keys)."""
        return _rules(
            self.allowed_saleor_urls, self.local_trial, "SALEOR_GORDON_ALLOWED_SALEOR_URLS"
        )

    @property
    def gordon_url_rules(self) -> DestinationRules:
        """Where a shop's Gordon base URL may point (https unless allowed or a local trial)."""
        return _rules(
            self.allowed_gordon_urls,
            self.local_trial,
            "SALEOR_GORDON_ALLOWED_GORDON_URLS",
            require_https=True,
        )

    @property
    def connections_per_destination_limit(self) -> int:
        if self.connections_per_destination is not None:
            return self.connections_per_destination
        return max(16, 2 * self.workers)

    @property
    def shop_concurrency_limit(self) -> int:
        if self.shop_concurrency is not None:
            return self.shop_concurrency
        return max(1, (self.workers + 1) // 2)

    @property
    def attempt_deadline(self) -> float:
        """Seconds one job attempt may take (``attempt_deadline_seconds`` or its default)."""
        if self.attempt_deadline_seconds is not None:
            return self.attempt_deadline_seconds
        return min(ATTEMPT_DEADLINE_SECONDS, ATTEMPT_DEADLINE_SHARE_OF_LEASE * self.lease_seconds)

    @property
    def retry_max_age(self) -> timedelta:
        return timedelta(hours=self.retry_max_age_hours)

    @property
    def log_level_number(self) -> int:
        return logging.getLevelNamesMapping()[self.log_level]


@functools.lru_cache(maxsize=16)
def _rules(
    allow_list: str | None, local_trial: bool, setting: str, *, require_https: bool = False
) -> DestinationRules:
    return DestinationRules(
        allow_list=None if allow_list is None else parse_allow_list(allow_list),
        local_trial=local_trial,
        setting=setting,
        require_https=require_https,
    )
