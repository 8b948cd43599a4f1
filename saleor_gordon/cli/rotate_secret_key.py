"""``saleor-gordon rotate-secret-key``: re-encrypt every stored secret under the current key.

Where the keys come from (``secret_box``):

- ``SALEOR_GORDON_SECRET_KEY="NEW,OLD"``: the first key is current, the others still decrypt. The
  command re-encrypts every app token and Gordon client secret under NEW; afterwards every process
  can run with ``SALEOR_GORDON_SECRET_KEY=NEW`` alone (docs/deploy.md has the zero-downtime order).
- the key file beside an SQLite database (no SALEOR_GORDON_SECRET_KEY): the command writes a new
  key in front of the old one, re-encrypts, then leaves the new key alone in the file. A file that
  still holds several keys (an interrupted run) is finished with its first key. Restart ``serve``
  afterwards: a running process keeps the key it started with.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from saleor_gordon.cli.settings_loading import load_settings, report_error
from saleor_gordon.errors import GordonAppError, SecretsError, StoreUnavailable
from saleor_gordon.secret_box import (
    SecretBox,
    key_file_of,
    load_secret_keys,
    new_secret_key,
    write_key_file,
)
from saleor_gordon.settings import Settings
from saleor_gordon.store.database import create_engine, migration_status
from saleor_gordon.store.installations import InstallationStore, SecretRotation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "With SALEOR_GORDON_SECRET_KEY=NEW,OLD the secrets are re-encrypted under NEW; without it "
        "(SQLite), a new key is generated into the key file beside the database."
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        if settings.secret_key is not None:
            return _with_setting(settings)
        return _with_key_file(settings)
    except SecretsError as exc:
        return _fail(exc.message)
    except GordonAppError as exc:
        return report_error(exc.message)
    except OSError as exc:
        return report_error(f"Cannot write the key file: {exc.strerror or exc}.")


def _with_setting(settings: Settings) -> int:
    keys = load_secret_keys(settings)
    result = asyncio.run(_rotate(settings, keys))
    _print(_summary(result))
    if len(keys) == 1:
        _print(
            "SALEOR_GORDON_SECRET_KEY holds one key, so nothing can be rotated to. To rotate, put "
            "the new key first: SALEOR_GORDON_SECRET_KEY=NEW,OLD (docs/deploy.md)."
        )
    else:
        _print(
            "Every stored secret is now readable with the first key alone. Once every process "
            "runs with the new key first, set SALEOR_GORDON_SECRET_KEY to the first key only "
            "and restart them."
        )
    return 0


def _with_key_file(settings: Settings) -> int:
    key_file = key_file_of(settings)
    keys = load_secret_keys(settings, create=False)
    if len(keys) == 1:
        keys = [new_secret_key(), *keys]
        write_key_file(key_file, keys)  # from here on, either key reads every secret
    result = asyncio.run(_rotate(settings, keys))
    write_key_file(key_file, keys[:1])
    _print(_summary(result))
    _print(
        f"The key file {key_file} holds the new key alone; back it up with the database, and "
        "restart `saleor-gordon serve` (a running process keeps the key it started with)."
    )
    return 0


async def _rotate(settings: Settings, keys: list[str]) -> SecretRotation:
    engine = create_engine(
        settings.database_url,
        connect_timeout=settings.database_connect_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
    )
    try:
        status = await migration_status(engine)
        if not status.up_to_date:
            raise StoreUnavailable(
                f"The database is at migration {status.current or 'none'}, not {status.head}: "
                "run `saleor-gordon migrate` first."
            )
        return await InstallationStore(engine, SecretBox.from_keys(keys)).rotate_secrets()
    finally:
        await engine.dispose()


def _summary(result: SecretRotation) -> str:
    return (
        f"Re-encrypted {result.rotated} secret(s) under the current key; "
        f"{result.already_current} already were."
    )


def _fail(message: str) -> int:
    print(f"saleor-gordon: {message}", file=sys.stderr)  # noqa: T201 - CLI output
    return 1


def _print(text: str) -> None:
    print(text)  # noqa: T201 - CLI output
