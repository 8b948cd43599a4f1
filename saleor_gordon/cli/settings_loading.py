"""Building Settings at an entry point, with messages an operator can act on."""

from __future__ import annotations

import logging
import sys

from pydantic import ValidationError

from saleor_gordon.errors import ConfigurationError
from saleor_gordon.settings import Settings


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (plus ``overrides``); ConfigurationError explains what is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [_problem(error["loc"], error["msg"]) for error in exc.errors()]
        raise ConfigurationError("Invalid settings:\n  " + "\n  ".join(problems)) from None


def _problem(location: tuple[int | str, ...], message: str) -> str:
    """One line per problem: the setting, then what is wrong (a relation between settings names
    its settings in its own message)."""
    if not location:
        return message.removeprefix("Value error, ")
    return f"SALEOR_GORDON_{'_'.join(str(part) for part in location).upper()}: {message}"


def report_error(message: str) -> int:
    """Print ``message`` for the operator and return the exit code for configuration errors."""
    print(f"saleor-gordon: {message}", file=sys.stderr)  # noqa: T201 - CLI output
    return 2


def log_error(message: str) -> int:
    """Log ``message`` as ``app.failed`` and return report_error's exit code: the last line of a
    long-running command (``serve``, ``worker``) once logging is set up, in the log format the
    operator's log collection reads (one JSON object per line in production)."""
    logging.getLogger("saleor_gordon.cli").error("app.failed %s", message)
    return 2
