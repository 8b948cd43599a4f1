"""The app's GraphQL documents (``graphql/``), each returned with the fragments it uses.

Layout: ``graphql/{queries,mutations,subscriptions}/<OperationName>.graphql`` and
``graphql/fragments/<FragmentName>.graphql``, one definition per file. A document may spread
fragments defined in ``fragments/`` (transitively); ``load_document`` appends their text once each,
in order of first use, so the result is a complete, self-contained GraphQL document.

Where ``graphql/`` is: inside the package (``saleor_gordon/graphql_documents``) when installed
from a wheel, else the repository root of a source checkout.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Final

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSyntaxError,
    OperationDefinitionNode,
    Visitor,
    parse,
    visit,
)

from saleor_gordon.errors import ConfigurationError

_PACKAGE_DIR: Final = Path(__file__).resolve().parent.parent
CANDIDATE_DIRS: Final = (_PACKAGE_DIR / "graphql_documents", _PACKAGE_DIR.parent / "graphql")
FRAGMENTS: Final = "fragments"


@functools.cache
def graphql_dir() -> Path:
    """The directory holding the app's GraphQL documents."""
    for candidate in CANDIDATE_DIRS:
        if (candidate / FRAGMENTS).is_dir():
            return candidate
    raise ConfigurationError(
        "The GraphQL documents were not found (looked in "
        + ", ".join(str(path) for path in CANDIDATE_DIRS)
        + "); reinstall saleor-gordon."
    )


def load_document(name: str) -> str:
    """The text of a document plus every fragment it uses from ``fragments/``.

    ``name`` is a path below ``graphql/`` without the suffix (``"queries/OrderForGordon"``) or an
    operation name (``"OrderForGordon"``).
    """
    return _load_document(graphql_dir(), name)


def document_paths() -> list[Path]:
    """Every operation document (not fragments), sorted."""
    return _operation_paths(graphql_dir())


@functools.cache
def _load_document(root: Path, name: str) -> str:
    path = _find_document(root, name)
    text = path.read_text(encoding="utf-8")
    document = _parse(text, path)
    local = {d.name.value for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    fragment_texts = _fragment_texts(root, _spread_names(document) - local, local)
    return "\n".join([text.rstrip() + "\n", *(t.rstrip() + "\n" for t in fragment_texts)])


def _find_document(root: Path, name: str) -> Path:
    if "/" in name:
        path = (root / f"{name}.graphql").resolve()
        if path.is_file() and path.is_relative_to(root.resolve()):
            return path
        raise ConfigurationError(f"GraphQL document {name!r} not found in {root}.")
    for path in _operation_paths(root):
        if path.stem == name or name in _operation_names(path):
            return path
    raise ConfigurationError(f"GraphQL operation {name!r} not found in {root}.")


def _operation_paths(root: Path) -> list[Path]:
    return sorted(path for path in root.glob("*/*.graphql") if path.parent.name != FRAGMENTS)


def _operation_names(path: Path) -> set[str]:
    document = _parse(path.read_text(encoding="utf-8"), path)
    return {
        d.name.value
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode) and d.name is not None
    }


def _fragment_texts(root: Path, wanted: set[str], known: set[str]) -> list[str]:
    """Texts of the fragment files defining ``wanted`` and what they spread, first use first."""
    index = _fragment_index(root)
    texts: list[str] = []
    pending = sorted(wanted)
    seen = set(known)
    while pending:
        fragment = pending.pop(0)
        if fragment in seen:
            continue
        if fragment not in index:
            raise ConfigurationError(f"GraphQL fragment {fragment!r} not found in {root}.")
        text, defines, spreads = index[fragment]
        seen |= defines
        texts.append(text)
        pending.extend(sorted(spreads - seen))
    return texts


@functools.cache
def _fragment_index(root: Path) -> dict[str, tuple[str, frozenset[str], frozenset[str]]]:
    """fragment name -> (file text, fragments the file defines, fragments it spreads)."""
    index: dict[str, tuple[str, frozenset[str], frozenset[str]]] = {}
    for path in sorted((root / FRAGMENTS).glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        document = _parse(text, path)
        defines = frozenset(
            d.name.value for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        )
        entry = (text, defines, frozenset(_spread_names(document) - defines))
        index.update(dict.fromkeys(defines, entry))
    return index


def _spread_names(document: DocumentNode) -> set[str]:
    names: set[str] = set()

    class _Collector(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: object) -> None:
            names.add(node.name.value)

    visit(document, _Collector())
    return names


def _parse(text: str, path: Path) -> DocumentNode:
    try:
        return parse(text)
    except GraphQLSyntaxError as exc:
        raise ConfigurationError(f"GraphQL document {path} does not parse: {exc.message}") from exc
