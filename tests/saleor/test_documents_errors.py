"""Broken GraphQL document folders are refused with a message naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from saleor_gordon.errors import ConfigurationError
from saleor_gordon.saleor.documents import _load_document


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (tmp_path / "fragments").mkdir(exist_ok=True)
    return tmp_path


def test_a_fragment_that_no_file_defines(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"queries/Q.graphql": "query Q { shop { ...Missing } }"})

    with pytest.raises(ConfigurationError) as caught:
        _load_document(root, "Q")

    assert caught.value.message == f"GraphQL fragment 'Missing' not found in {root}."


def test_a_fragment_spread_twice_is_included_once(tmp_path: Path) -> None:
    root = _folder(
        tmp_path,
        {
            "queries/Q.graphql": "query Q { shop { ...A ...B } }",
            "fragments/A.graphql": "fragment A on Shop { name ...B }",
            "fragments/B.graphql": "fragment B on Shop { domain { host } }",
        },
    )

    text = _load_document(root, "Q")

    assert text == (
        "query Q { shop { ...A ...B } }\n\n"
        "fragment A on Shop { name ...B }\n\n"
        "fragment B on Shop { domain { host } }\n"
    )


def test_a_document_that_does_not_parse(tmp_path: Path) -> None:
    root = _folder(tmp_path, {"queries/Q.graphql": "query Q { shop { "})

    with pytest.raises(ConfigurationError) as caught:
        _load_document(root, "queries/Q")

    assert caught.value.message.startswith(
        f"GraphQL document {root / 'queries/Q.graphql'} does not parse: "
    )
