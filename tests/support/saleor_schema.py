"""Where Saleor's GraphQL schema comes from: the one lookup for the tests and the Saleor fake.

The tests validate the app's GraphQL documents against Saleor's schema, and the Saleor fake executes
requests against it. The schema is Saleor's, of the version the app pins (``SALEOR_VERSION``), kept
byte for byte in ``tests/data/saleor/schema.graphql`` (its origin and licence:
``tests/data/saleor/README.md``), so a clone tests on its own, without network or anything beside it.
``find_schema`` returns:

1. ``SALEOR_SCHEMA_PATH`` when set, to try the app against another Saleor version's schema; it must
   name a file (a wrong path is an error, not a fallback);
2. otherwise the kept copy.

``SchemaNotFound`` says what was looked for and how to provide it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

__all__ = [
    "KEPT_SCHEMA",
    "KEPT_SCHEMA_SHA256",
    "SALEOR_VERSION",
    "SchemaNotFound",
    "find_schema",
    "schema_url",
]

SALEOR_VERSION: Final = "3.23.28"
KEPT_SCHEMA: Final = Path(__file__).resolve().parents[1] / "data/saleor/schema.graphql"
KEPT_SCHEMA_SHA256: Final = "36a111ba8f822b25a62fa82df0d7e4477e1aebc611d70adb83f5006a5cf76624"
"""The kept copy's digest: a test fails when the file is edited, truncated or re-encoded."""
PATH_VARIABLE: Final = "SALEOR_SCHEMA_PATH"


class SchemaNotFound(Exception):
    """No Saleor schema is available; the message says what was looked for and how to provide it."""


def schema_url(version: str = SALEOR_VERSION) -> str:
    """Saleor's published schema of ``version``, where the kept copy comes from."""
    return (
        f"https://raw.githubusercontent.com/saleor/saleor/{version}/saleor/graphql/schema.graphql"
    )


def find_schema(
    *, environ: Mapping[str, str] | None = None, kept_schema: Path = KEPT_SCHEMA
) -> Path:
    """The path of the Saleor schema the tests use: ``SALEOR_SCHEMA_PATH``, else the kept copy.

    Raises:
        SchemaNotFound: SALEOR_SCHEMA_PATH names no file, or the kept copy is missing.
    """
    env = os.environ if environ is None else environ
    configured = env.get(PATH_VARIABLE)
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return path
        raise SchemaNotFound(
            f"{PATH_VARIABLE}={configured} is not a file. Point it to a Saleor schema.graphql, "
            f"or unset it to use the kept copy of {SALEOR_VERSION}'s ({kept_schema})."
        )
    if kept_schema.is_file():
        return kept_schema
    raise SchemaNotFound(
        f"Saleor's GraphQL schema ({SALEOR_VERSION}) is missing from {kept_schema}; the tests and "
        f"the Saleor fake need it. Restore it (`git checkout -- {kept_schema}`), download it "
        f"there from {schema_url()}, or set {PATH_VARIABLE}=/path/to/schema.graphql."
    )
