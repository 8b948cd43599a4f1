"""Installations: one per Saleor API URL, with its app token (encrypted) and cached JWKS."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.shop_config import ShopConfig, parse_shop_config, with_secret
from saleor_gordon.errors import ConfigChangedElsewhere, SecretsError
from saleor_gordon.jobs.queue import SHOP_OF_INSTALLATION, JobQueue
from saleor_gordon.json_text import parse_json
from saleor_gordon.secret_box import SecretBox
from saleor_gordon.store.database import reading
from saleor_gordon.store.driver_sql import (
    Prepared,
    in_sqlite_thread,
    is_sqlite,
    on_postgres,
    sqlite_transaction,
)
from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.tables import installations

_INSTALLATION_BY_ID = select(installations).where(installations.c.id == bindparam("id"))
"""An installation's whole row (its configuration included), built once."""

WebhookIdentity = tuple[int, str, Mapping[str, Any]]
"""``(installation id, app id, JWKS)``: what verifying a webhook needs."""


@dataclass
class WebhookIdentityCache:
    """What ``get_webhook_identity`` read recently, shared by the stores of one process."""

    entries: dict[str, tuple[float, WebhookIdentity]] = field(default_factory=dict)
    """Webhook identities by Saleor API URL, with the monotonic time they were read."""
    changes: int = 0
    """Counts writes of installations through the stores: a read that overlapped one is not kept."""


DECODED_KEPT = 1024
"""Decoded rows ``DecodedShops`` remembers; all are forgotten when one more is decoded."""


@dataclass
class DecodedShops:
    """What a job's read of its installation decoded, shared by the stores of one process.

    Keyed by what the row stores: the encrypted token, the configuration's JSON text and the
    encrypted Gordon secret. Every write of a token or a configuration stores a new ciphertext
    (Fernet's IV is random), so a changed row is a new key and is decoded again: nothing to
    forget on writes, in this process or another. A configuration that does not validate is not
    remembered (it raises every time).
    """

    entries: dict[tuple[str, str | None, str | None], tuple[str, ShopConfig | None]] = field(
        default_factory=dict
    )


@dataclass(frozen=True)
class Installation:
    """A shop that installed the app. ``token`` is decrypted; never log it."""

    id: int
    saleor_api_url: str
    app_id: str
    token: str
    jwks: Mapping[str, Any]
    jwks_fetched_at: datetime
    installed_at: datetime
    updated_at: datetime
    revoked_at: datetime | None

    def __repr__(self) -> str:
        return f"Installation(id={self.id}, saleor_api_url={self.saleor_api_url!r})"


@dataclass(frozen=True)
class StoredConfig:
    """A shop's stored configuration (``get_stored_config``): its JSON data without the secret
    (None before the first save), the secret (decrypted) and its version, which counts the saves.
    ``secret`` is never logged (``repr`` leaves it out)."""

    data: dict[str, Any] | None
    secret: str | None = field(repr=False)
    version: int


@dataclass(frozen=True)
class SecretRotation:
    """What ``rotate_secrets`` did: secrets re-encrypted, and those already under the current key."""

    rotated: int
    already_current: int


class InstallationStore:
    """Intent-named access to the ``installations`` table."""

    def __init__(
        self,
        engine: AsyncEngine,
        secret_box: SecretBox,
        identities: WebhookIdentityCache | None = None,
        *,
        queue: JobQueue | None = None,
        decoded: DecodedShops | None = None,
    ) -> None:
        self._engine = engine
        self._box = secret_box
        self._cache = identities or WebhookIdentityCache()
        self._decoded = decoded or DecodedShops()
        """The token and configuration of the rows jobs read, decoded once per change."""
        self._queue = queue or JobQueue(engine)
        """Saving a configuration runs the jobs that wait for a person again, through the queue."""
        self._by_id = Prepared.once(_INSTALLATION_BY_ID, engine.dialect)
        """The read of an installation at the driver's level, prepared once per process
        (``Prepared.once``): a store is made per webhook, and compiling costs ~0.25 ms."""
        self._shop_by_id = Prepared.once(SHOP_OF_INSTALLATION, engine.dialect)
        """A job's read of its installation (``get_installation_with_config``), likewise."""

    async def save_installation(
        self,
        *,
        saleor_api_url: str,
        app_id: str,
        token: str,
        jwks: Mapping[str, Any],
        now: datetime,
    ) -> Installation:
        """Create the installation, or replace token, app id and JWKS of an existing one.

        Saleor sends a new token when an installation is retried, so the newest one wins. The shop
        configuration of an existing installation is kept.
        """
        values = {
            "app_id": app_id,
            "token_encrypted": self._box.encrypt(token),
            "jwks": dict(jwks),
            "jwks_fetched_at": now,
            "updated_at": now,
            "revoked_at": None,
        }
        self._forget_url(saleor_api_url)
        async with map_database_errors(), self._engine.begin() as connection:
            result = await connection.execute(
                update(installations)
                .where(installations.c.saleor_api_url == saleor_api_url)
                .values(**values)
            )
            if result.rowcount == 0:
                await connection.execute(
                    insert(installations).values(
                        saleor_api_url=saleor_api_url, installed_at=now, **values
                    )
                )
        self._forget_url(saleor_api_url)
        installation = await self.get_installation(saleor_api_url)
        assert installation is not None
        return installation

    def _forget_url(self, saleor_api_url: str) -> None:
        self._cache.changes += 1
        self._cache.entries.pop(saleor_api_url, None)

    async def get_installation(self, saleor_api_url: str) -> Installation | None:
        async with map_database_errors(), reading(self._engine) as connection:
            row = (
                await connection.execute(
                    select(installations).where(installations.c.saleor_api_url == saleor_api_url)
                )
            ).first()
        return None if row is None else self._from_row(row._mapping)

    async def get_webhook_identity(
        self, saleor_api_url: str, *, max_age: float = 0.0
    ) -> WebhookIdentity | None:
        """``(id, app_id, jwks)`` of the installation, without decrypting its token.

        What webhook verification needs; it keeps working when the secret key is wrong.
        ``max_age`` > 0 allows an answer read that many seconds ago in this process (the webhook
        path). This store forgets an answer when it saves or deletes the installation or its
        JWKS; what another process changes shows within ``max_age``, and an event stored for an
        installation deleted meanwhile fails (InstallationGone) rather than being kept. An
        unknown URL is never cached: an installation made elsewhere works at once.
        """
        cache = self._cache
        if max_age > 0:
            cached = cache.entries.get(saleor_api_url)
            if cached is not None and time.monotonic() - cached[0] <= max_age:
                return cached[1]
        read_at, changes = time.monotonic(), cache.changes
        async with map_database_errors(), reading(self._engine) as connection:
            row = (
                await connection.execute(
                    select(installations.c.id, installations.c.app_id, installations.c.jwks).where(
                        installations.c.saleor_api_url == saleor_api_url
                    )
                )
            ).first()
        if row is None:
            cache.entries.pop(saleor_api_url, None)
            return None
        identity: WebhookIdentity = (row.id, row.app_id, row.jwks)
        if changes == cache.changes:
            cache.entries[saleor_api_url] = (read_at, identity)
        return identity

    def forget_webhook_identity(self, installation_id: int) -> None:
        """Drop what this store's cache remembers of the installation's webhook identity."""
        self._cache.changes += 1
        for url, (_, identity) in list(self._cache.entries.items()):
            if identity[0] == installation_id:
                del self._cache.entries[url]

    async def list_saleor_api_urls(self) -> list[str]:
        """Every installation's Saleor API URL, without decrypting anything."""
        async with map_database_errors(), reading(self._engine) as connection:
            rows = (
                await connection.execute(
                    select(installations.c.saleor_api_url).order_by(installations.c.id)
                )
            ).all()
        return [row.saleor_api_url for row in rows]

    async def rotate_secrets(self) -> SecretRotation:
        """Re-encrypt every stored secret (app tokens, Gordon client secrets) under the current key.

        One transaction: either every secret is under the current key afterwards, or nothing
        changed. A value written meanwhile by another process (under the current key) is kept.

        Raises:
            SecretsError: a secret decrypts under none of the keys (nothing is changed then).
        """
        rotated = current = 0
        async with map_database_errors(), self._engine.begin() as connection:
            rows = (
                await connection.execute(
                    select(
                        installations.c.id,
                        installations.c.saleor_api_url,
                        installations.c.token_encrypted,
                        installations.c.gordon_secret_encrypted,
                    ).order_by(installations.c.id)
                )
            ).all()
            for row in rows:
                for column in (
                    installations.c.token_encrypted,
                    installations.c.gordon_secret_encrypted,
                ):
                    stored = row._mapping[column.name]
                    if stored is None:
                        continue
                    if self._box.under_current_key(stored):
                        current += 1
                        continue
                    try:
                        new_value = self._box.rotate(stored)
                    except SecretsError as exc:
                        raise SecretsError(
                            f"The {column.name.removesuffix('_encrypted')} of {row.saleor_api_url} "
                            "decrypts under none of the keys in SALEOR_GORDON_SECRET_KEY (or the "
                            "key file); add the key it was stored with. Nothing was changed."
                        ) from exc
                    await connection.execute(
                        update(installations)
                        .where(installations.c.id == row.id, column == stored)
                        .values({column.name: new_value})
                    )
                    rotated += 1
        return SecretRotation(rotated=rotated, already_current=current)

    async def get_installation_by_id(self, installation_id: int) -> Installation | None:
        row = await self._row_by_id(installation_id)
        return None if row is None else self._from_row(row)

    async def get_installation_with_config(
        self, installation_id: int
    ) -> tuple[Installation, ShopConfig | None] | None:
        """``get_installation_by_id`` and ``get_config`` from one read of the installation's row
        (what every job attempt needs); None when there is no such installation.

        Raises:
            ShopConfigInvalid: the stored configuration no longer validates (after an upgrade).
        """
        row = await self._row_by_id(installation_id, self._shop_by_id)
        return None if row is None else self.shop_of_row(row)

    def shop_of_row(self, row: Mapping[str, Any]) -> tuple[Installation, ShopConfig | None]:
        """The installation and its configuration of a row read as ``jobs.queue.SHOP_COLUMNS``
        (the configuration as its JSON text): what a claim returns with its job
        (``ClaimedJob.shop_row``). The token and the configuration are decoded once per change
        of what is stored (``DecodedShops``).

        Raises:
            ShopConfigInvalid: the stored configuration no longer validates (after an upgrade).
        """
        key = (row["token_encrypted"], row["config"], row["gordon_secret_encrypted"])
        decoded = self._decoded.entries.get(key)
        if decoded is None:
            config = None
            if row["config"] is not None:
                data = parse_json(row["config"])
                config = self._config_from_row({**row, "config": data})
            decoded = self._box.decrypt(row["token_encrypted"]), config
            if len(self._decoded.entries) >= DECODED_KEPT:
                self._decoded.entries.clear()
            self._decoded.entries[key] = decoded
        token, config = decoded
        return self._from_row(row, token=token), config

    async def _row_by_id(
        self, installation_id: int, by_id: Prepared | None = None
    ) -> Mapping[Any, Any] | None:
        by_id = by_id or self._by_id
        if is_sqlite(self._engine):  # the read whole in the connection's thread

            def read_here(connection: sqlite3.Connection) -> Mapping[Any, Any] | None:
                with sqlite_transaction(connection, write=False):
                    rows = by_id.run(connection, {"id": installation_id}).mappings()
                return rows[0] if rows else None

            async with map_database_errors():
                return await in_sqlite_thread(self._engine, read_here, write=False)

        async def read_on(connection: Any) -> Mapping[Any, Any] | None:  # one statement
            rows = (await by_id.fetch(connection, {"id": installation_id})).mappings()
            return rows[0] if rows else None

        async with map_database_errors():
            return await on_postgres(self._engine, read_on)

    async def list_installations(self) -> list[Installation]:
        async with map_database_errors(), reading(self._engine) as connection:
            rows = (
                await connection.execute(select(installations).order_by(installations.c.id))
            ).all()
        return [self._from_row(row._mapping) for row in rows]

    async def servers_by_installation(self) -> dict[int, tuple[str, str | None]]:
        """Each installation's Saleor API URL and Gordon base URL (None before it is configured):
        the servers its jobs call (the workers' fair share keys them by server)."""
        gordon_base_url = installations.c.config["gordon"]["base_url"].as_string()
        query = select(installations.c.id, installations.c.saleor_api_url, gordon_base_url)
        async with map_database_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {row[0]: (row[1], row[2]) for row in rows}

    async def save_jwks(
        self, installation_id: int, jwks: Mapping[str, Any], *, now: datetime
    ) -> None:
        self.forget_webhook_identity(installation_id)
        async with map_database_errors(), self._engine.begin() as connection:
            await connection.execute(
                update(installations)
                .where(installations.c.id == installation_id)
                .values(jwks=dict(jwks), jwks_fetched_at=now)
            )
        self.forget_webhook_identity(installation_id)

    async def mark_revoked(self, installation_id: int, *, now: datetime) -> None:
        """Saleor refused the token: stop the installation's work until it is reinstalled."""
        async with map_database_errors(), self._engine.begin() as connection:
            await connection.execute(
                update(installations)
                .where(installations.c.id == installation_id, installations.c.revoked_at.is_(None))
                .values(revoked_at=now, updated_at=now)
            )

    async def delete_installation(self, installation_id: int) -> bool:
        """Remove the installation, its secrets, configuration, events and jobs."""
        self.forget_webhook_identity(installation_id)
        async with map_database_errors(), self._engine.begin() as connection:
            result = await connection.execute(
                delete(installations).where(installations.c.id == installation_id)
            )
        self.forget_webhook_identity(installation_id)
        return bool(result.rowcount)

    async def save_config(
        self,
        installation_id: int,
        config: ShopConfig,
        *,
        now: datetime,
        based_on: int | None = None,
    ) -> int:
        """Store the shop configuration; the Gordon client secret is encrypted beside it. The
        stored version (``StoredConfig.version``) goes up by one; the new version is returned.

        ``based_on``: the version the caller read; when another save came in between, nothing is
        stored (compared and replaced in one statement, so two saves based on the same version
        never both pass). None: whatever is stored is replaced.

        Jobs that wait for a person (needs attention) run again: the new configuration may be
        the fix.

        Raises:
            ConfigChangedElsewhere: ``based_on`` is not the stored version.
        """
        data = config.to_storage_dict()
        secret = data["gordon"].pop("client_secret")
        statement = update(installations).where(installations.c.id == installation_id)
        if based_on is not None:
            statement = statement.where(installations.c.config_version == based_on)
        async with self._queue.transaction() as writes:
            version = (
                await writes.connection.execute(
                    statement.values(
                        config=data,
                        gordon_secret_encrypted=self._box.encrypt(secret),
                        config_updated_at=now,
                        config_version=installations.c.config_version + 1,
                        updated_at=now,
                    ).returning(installations.c.config_version)
                )
            ).scalar_one_or_none()
            if version is None:
                stored = (
                    await writes.connection.execute(
                        select(installations.c.config_version).where(
                            installations.c.id == installation_id
                        )
                    )
                ).scalar_one_or_none()
                if stored is None:
                    raise LookupError(f"no installation {installation_id}")
                raise ConfigChangedElsewhere(based_on=based_on or 0, stored=stored)
            await writes.retry_needing_attention(installation_id, now=now)
        return int(version)

    async def get_stored_config(self, installation_id: int) -> StoredConfig:
        """The stored configuration as JSON data without the secret, the secret (decrypted) and
        the version, read together: a save based on this version replaces exactly this.

        Unvalidated, so that a configuration which no longer validates (after an upgrade) can
        still be shown and corrected. ``data`` is None before the shop configured the app (and
        for an installation that is gone).
        """
        async with map_database_errors(), reading(self._engine) as connection:
            row = (
                await connection.execute(
                    select(
                        installations.c.config,
                        installations.c.gordon_secret_encrypted,
                        installations.c.config_version,
                    ).where(installations.c.id == installation_id)
                )
            ).first()
        if row is None:
            return StoredConfig(data=None, secret=None, version=0)
        secret = (
            self._box.decrypt(row.gordon_secret_encrypted) if row.gordon_secret_encrypted else None
        )
        data = dict(row.config) if row.config is not None else None
        return StoredConfig(data=data, secret=secret, version=int(row.config_version))

    async def get_config_document(
        self, installation_id: int
    ) -> tuple[dict[str, Any], str | None] | None:
        """``get_stored_config`` without the version: the data and the secret, None before the
        shop configured the app."""
        stored = await self.get_stored_config(installation_id)
        return None if stored.data is None else (stored.data, stored.secret)

    async def get_config(self, installation_id: int) -> ShopConfig | None:
        """The stored configuration (secret decrypted), or None before the shop configured the app.

        Raises:
            ShopConfigInvalid: the stored configuration no longer validates (after an upgrade).
        """
        document = await self.get_config_document(installation_id)
        if document is None:
            return None
        data, secret = document
        return parse_shop_config(with_secret(data, secret))

    def _config_from_row(self, row: Mapping[Any, Any]) -> ShopConfig | None:
        """``get_config`` of a row read already."""
        if row["config"] is None:
            return None
        encrypted = row["gordon_secret_encrypted"]
        secret = self._box.decrypt(encrypted) if encrypted else None
        return parse_shop_config(with_secret(dict(row["config"]), secret))

    def _from_row(self, row: Mapping[Any, Any], *, token: str | None = None) -> Installation:
        """The installation of ``row``; ``token``: its token, decrypted already."""
        return Installation(
            id=row["id"],
            saleor_api_url=row["saleor_api_url"],
            app_id=row["app_id"],
            token=self._box.decrypt(row["token_encrypted"]) if token is None else token,
            jwks=row["jwks"],
            jwks_fetched_at=row["jwks_fetched_at"],
            installed_at=row["installed_at"],
            updated_at=row["updated_at"],
            revoked_at=row["revoked_at"],
        )
