"""Building Settings at an entry point, with messages an operator can act on."""

from __future__ import annotations

import sys

from pydantic import ValidationError

from saleor_gordon.errors import ConfigurationError
from saleor_gordon.settings import Settings


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (plus ``overrides``); ConfigurationError explains what is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            f"SALEOR_GORDON_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigurationError("Invalid settings:\n  " + "\n  ".join(problems)) from None


def report_error(message: str) -> int:
    """Print ``message`` for the operator and return the exit code for configuration errors."""
    print(f"saleor-gordon: {message}", file=sys.stderr)  # noqa: T201 - CLI output
    return 2
