"""The app's GraphQL documents: complete, and valid against the Saleor schema.

Validated as gql validates a request against a local schema (``Client(schema=...)``), the way the
design's client library checks documents before they are sent; at run time the app sends them
straight through its outbound transport (``saleor/graphql_client.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from gql import Client, gql
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    parse,
    validate,
)

from saleor_gordon.errors import ConfigurationError
from saleor_gordon.saleor.documents import document_paths, load_document
from saleor_gordon.saleor.documents import graphql_dir as saleor_graphql_dir
from saleor_gordon.saleor.manifest import build_manifest
from tests.support.saleor_fake import load_schema


@pytest.fixture(scope="module")
def schema(saleor_schema_path: Path) -> GraphQLSchema:
    """The Saleor schema (a missing schema fails the test, never skips it)."""
    return load_schema(saleor_schema_path)  # the fake's; its resolvers do not affect validation


def subscription_fields(text: str) -> list[str]:
    operations = [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]
    assert [op.operation for op in operations] == [OperationType.SUBSCRIPTION]
    return [
        s.name.value for s in operations[0].selection_set.selections if isinstance(s, FieldNode)
    ]


def test_documents_are_found_in_the_checkout(graphql_dir: Path) -> None:
    """In a source checkout the documents are the repository's graphql/."""
    assert saleor_graphql_dir() == graphql_dir.resolve()
    assert len(document_paths()) == 13


def test_every_document_validates(schema: GraphQLSchema, graphql_dir: Path) -> None:
    """Each operation plus the fragments it uses is a valid document for Saleor 3.23."""
    client = Client(schema=schema)
    validated = []
    for path in sorted(graphql_dir.glob("*/*.graphql")):
        if path.parent.name == "fragments":
            continue
        name = f"{path.parent.name}/{path.stem}"
        client.validate(gql(load_document(name)))  # raises GraphQLError naming what is invalid
        validated.append(name)
    assert len(validated) == len(document_paths())


def test_an_invalid_document_is_refused(schema: GraphQLSchema) -> None:
    """The check above can fail: a field Saleor does not have is named."""
    with pytest.raises(GraphQLError, match="Cannot query field 'trackingNumberX' on type 'Order'"):
        Client(schema=schema).validate(gql("query { order(id: 1) { trackingNumberX } }"))


def test_every_fragment_is_used(graphql_dir: Path) -> None:
    """No stale fragment files."""
    used = "\n".join(load_document(f"{p.parent.name}/{p.stem}") for p in document_paths())
    for fragment in (graphql_dir / "fragments").glob("*.graphql"):
        assert f"fragment {fragment.stem} on" in used


def test_manifest_subscriptions_validate_with_one_top_field_event(schema: GraphQLSchema) -> None:
    """Saleor accepts a webhook query only with exactly one top-level field."""
    manifest = build_manifest(app_url="https://gordon.example.com", version="1")
    webhooks = manifest["webhooks"]
    assert isinstance(webhooks, list)

    for webhook in webhooks:
        assert validate(schema, parse(webhook["query"])) == [], webhook["name"]
        assert subscription_fields(webhook["query"]) == ["event"]


def test_order_events_select_the_issuing_principal() -> None:
    """The app must recognise its own metadata writes."""
    text = load_document("OrderEvents")

    assert "issuingPrincipal" in text
    assert "recipient" in text


def test_lookup_by_operation_name_or_path() -> None:
    """``OrderForGordon`` and ``queries/OrderForGordon`` are the same document."""
    assert load_document("OrderForGordon") == load_document("queries/OrderForGordon")
    assert load_document("OrderForGordon").count("fragment AddressDetails on Address") == 1


@pytest.mark.parametrize("name", ["Nope", "queries/Nope", "../pyproject", "fragments/../../x"])
def test_unknown_documents(name: str) -> None:
    with pytest.raises(ConfigurationError):
        load_document(name)
