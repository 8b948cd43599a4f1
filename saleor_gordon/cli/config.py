"""``saleor-gordon config set|show``: a shop's configuration, from a JSON file."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from saleor_gordon.cli.settings_loading import load_settings, report_error
from saleor_gordon.errors import GordonAppError, ShopConfigInvalid
from saleor_gordon.json_text import JsonUnusable, parse_json
from saleor_gordon.runtime import Runtime, open_runtime
from saleor_gordon.shop_actions import save_shop_config
from saleor_gordon.store.database import migrate
from saleor_gordon.store.installations import Installation


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="config_action", required=True, metavar="ACTION")
    set_parser = actions.add_parser("set", help="validate and store a configuration file")
    set_parser.add_argument("--saleor-api-url", required=True, help="the shop's Saleor API URL")
    set_parser.add_argument("--file", required=True, type=Path, help="CONFIG.json")
    show_parser = actions.add_parser("show", help="print the stored configuration, secrets masked")
    show_parser.add_argument("--saleor-api-url", required=True, help="the shop's Saleor API URL")


def run(args: argparse.Namespace) -> int:
    try:
        settings = load_settings()
        if args.config_action == "set":
            data = _read_json(args.file)
            return asyncio.run(_with_runtime(settings, _set_config, args.saleor_api_url, data))
        return asyncio.run(_with_runtime(settings, _show_config, args.saleor_api_url, None))
    except ShopConfigInvalid as exc:
        print("The configuration was not stored; fix these problems:", file=sys.stderr)  # noqa: T201
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)  # noqa: T201
        return 1
    except GordonAppError as exc:
        return report_error(exc.message)


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GordonAppError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise GordonAppError(f"cannot read {path}: it is not UTF-8 text") from None
    try:
        return parse_json(text)
    except JsonUnusable as exc:
        raise GordonAppError(f"{path} {exc.reason}") from None


async def _with_runtime(settings: Any, action: Any, saleor_api_url: str, data: Any) -> int:
    async with open_runtime(settings) as runtime:
        if settings.is_sqlite:
            await migrate(runtime.engine)
        installation = await _installation(runtime, saleor_api_url)
        result: int = await action(runtime, installation, data)
        return result


async def _installation(runtime: Runtime, saleor_api_url: str) -> Installation:
    installation = await runtime.installations.get_installation(saleor_api_url)
    if installation is None:
        known = [i.saleor_api_url for i in await runtime.installations.list_installations()]
        hint = f" Installed: {', '.join(known)}." if known else " No shop has installed the app."
        raise GordonAppError(f"No installation for {saleor_api_url}.{hint}")
    return installation


async def _set_config(runtime: Runtime, installation: Installation, data: Any) -> int:
    # The Dashboard's path too; raises with every problem, and nothing is stored then. An empty
    # client_secret keeps the stored one (same account), as in the Dashboard. Based on no version:
    # the operator replaces whatever is stored, and Dashboard pages that loaded it are told so
    # when they save (the version moves on).
    await save_shop_config(runtime, installation.id, data, based_on=None)
    print(f"Configuration stored for {installation.saleor_api_url}.")  # noqa: T201
    return 0


async def _show_config(runtime: Runtime, installation: Installation, _data: Any) -> int:
    config = await runtime.installations.get_config(installation.id)
    if config is None:
        print(f"{installation.saleor_api_url} has no configuration yet.", file=sys.stderr)  # noqa: T201
        return 1
    print(json.dumps(config.masked_dict(), indent=2, ensure_ascii=False))  # noqa: T201
    return 0
