"""The ``saleor-gordon`` command."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from saleor_gordon import __version__

# (command, module under saleor_gordon.cli, one-line help). Each module has
# add_arguments(parser) and run(args) -> exit code.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("serve", "serve", "run the web app and its workers (embedded SQLite by default)"),
    ("worker", "worker", "run workers alone (several processes may share one database)"),
    ("migrate", "migrate", "apply the database migrations"),
    ("config", "config", "set or show a shop's configuration"),
    ("jobs", "jobs", "list, show and retry sync jobs"),
    ("backfill", "backfill", "queue a shop's past orders that should be in Gordon and are not"),
    (
        "doctor",
        "doctor",
        "check the database, each shop's Saleor, Gordon and jobs; say what to fix",
    ),
    ("rotate-secret-key", "rotate_secret_key", "re-encrypt every stored secret under the new key"),
    ("translate", "translate", "print the Gordon order for a Saleor order JSON file"),
    ("fake-gordon", "fake_gordon", "run the Gordon sandbox (a fake Gordon API for trials)"),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (the others are heavy and unused)."""
    parser = argparse.ArgumentParser(
        prog="saleor-gordon", description="Saleor app that sends orders to Gordon Delivery."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name, help_text in COMMANDS:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if name == command:
            module = importlib.import_module(f"saleor_gordon.cli.{module_name}")
            module.add_arguments(sub)
            sub.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = next((argument for argument in arguments if not argument.startswith("-")), None)
    args = build_parser(command).parse_args(arguments)
    exit_code: int = args.run(args)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
