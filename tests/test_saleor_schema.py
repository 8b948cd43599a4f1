"""find_schema: SALEOR_SCHEMA_PATH when set, otherwise the kept copy of Saleor's schema."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support import saleor_fake
from tests.support.saleor_schema import (
    KEPT_SCHEMA,
    KEPT_SCHEMA_SHA256,
    SchemaNotFound,
    find_schema,
    schema_url,
)

SCHEMA_TEXT = "schema {\n  query: Query\n}\n\ntype Query {\n  shop: String\n}\n"


def _write(path: Path, text: str = SCHEMA_TEXT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_kept_copy_is_saleors_schema_of_the_pinned_version_byte_for_byte() -> None:
    tests_dir = Path(__file__).resolve().parent

    assert KEPT_SCHEMA.relative_to(tests_dir) == Path("data/saleor/schema.graphql")
    assert hashlib.sha256(KEPT_SCHEMA.read_bytes()).hexdigest() == KEPT_SCHEMA_SHA256
    assert schema_url() == (
        "https://raw.githubusercontent.com/saleor/saleor/3.23.28/saleor/graphql/schema.graphql"
    )


def test_without_saleor_schema_path_the_kept_copy_is_used() -> None:
    assert find_schema(environ={}) == KEPT_SCHEMA


def test_saleor_schema_path_wins(tmp_path: Path) -> None:
    chosen = _write(tmp_path / "mine.graphql")

    assert find_schema(environ={"SALEOR_SCHEMA_PATH": str(chosen)}) == chosen


def test_a_wrong_saleor_schema_path_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    with pytest.raises(SchemaNotFound) as caught:
        find_schema(environ={"SALEOR_SCHEMA_PATH": str(tmp_path / "typo.graphql")})

    assert str(caught.value) == (
        f"SALEOR_SCHEMA_PATH={tmp_path / 'typo.graphql'} is not a file. Point it to a Saleor "
        f"schema.graphql, or unset it to use the kept copy of 3.23.28's ({KEPT_SCHEMA})."
    )


def test_a_missing_kept_copy_says_how_to_restore_it(tmp_path: Path) -> None:
    missing = tmp_path / "schema.graphql"

    with pytest.raises(SchemaNotFound) as caught:
        find_schema(environ={}, kept_schema=missing)

    assert str(caught.value) == (
        f"Saleor's GraphQL schema (3.23.28) is missing from {missing}; the tests and the Saleor "
        f"fake need it. Restore it (`git checkout -- {missing}`), download it there from "
        "https://raw.githubusercontent.com/saleor/saleor/3.23.28/saleor/graphql/schema.graphql, "
        "or set SALEOR_SCHEMA_PATH=/path/to/schema.graphql."
    )


def test_the_saleor_fake_uses_the_same_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALEOR_SCHEMA_PATH", raising=False)
    assert saleor_fake.schema_path() == KEPT_SCHEMA

    chosen = _write(tmp_path / "mine.graphql")
    monkeypatch.setenv("SALEOR_SCHEMA_PATH", str(chosen))
    assert saleor_fake.schema_path() == chosen

    monkeypatch.setenv("SALEOR_SCHEMA_PATH", str(tmp_path / "missing.graphql"))
    with pytest.raises(SchemaNotFound, match="is not a file"):
        saleor_fake.schema_path()
