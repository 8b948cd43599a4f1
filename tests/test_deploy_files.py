"""The deployment files and the storefront example say what the app does.

No Docker engine runs in the tests: the Dockerfile and deploy/compose.yaml are checked as text
(PyYAML is not a dependency; the compose file keeps to one service per two-space indented key).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate

from saleor_gordon.core.translate import (
    META_DELIVERY_DATE,
    META_ENTRY_CODE,
    META_TIME_WINDOW,
    Translated,
    translate_order,
)
from tests.conftest import REPO_ROOT
from tests.core.builders import config, order
from tests.support.saleor_fake import load_schema

DEPLOY = REPO_ROOT / "deploy"
STOREFRONT = REPO_ROOT / "docs" / "storefront"


def _services(compose: str) -> dict[str, str]:
    """Service name -> its block of text, from the top-level ``services:`` mapping."""
    body = compose.split("\nservices:\n", 1)[1].split("\nvolumes:\n", 1)[0]
    blocks: dict[str, str] = {}
    name = None
    for line in body.splitlines():
        if match := re.fullmatch(r"  ([a-z][a-z0-9-]*):", line):
            name = match.group(1)
            blocks[name] = ""
        elif name is not None:
            blocks[name] += line + "\n"
    return blocks


@pytest.fixture(scope="module")
def compose() -> str:
    return (DEPLOY / "compose.yaml").read_text(encoding="utf-8")


def test_compose_runs_postgresql_two_web_replicas_and_a_worker(compose: str) -> None:
    services = _services(compose)

    assert sorted(services) == ["migrate", "postgres", "proxy", "web", "worker"]
    assert "image: postgres:17" in services["postgres"]
    assert "replicas: 2" in services["web"]
    assert '"serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "0"' in services["web"]
    assert 'command: ["saleor-gordon", "worker"]' in services["worker"]
    assert 'command: ["saleor-gordon", "migrate"]' in services["migrate"]
    for app_service in ("web", "worker"):
        assert "condition: service_completed_successfully" in services[app_service]
    assert "condition: service_healthy" in services["migrate"]
    assert "disable: true" in services["worker"]  # no HTTP to check


def test_compose_requires_every_secret_and_env_example_lists_them(compose: str) -> None:
    required = set(re.findall(r"\$\{([A-Z_]+):\?", compose))
    example = (DEPLOY / "env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))

    assert required == {
        "POSTGRES_PASSWORD",
        "SALEOR_GORDON_SECRET_KEY",
        "SALEOR_GORDON_DOMAIN",
        "SALEOR_GORDON_ALLOWED_SALEOR_URLS",
    }
    assert required <= listed
    assert "SALEOR_GORDON_APP_URL: https://${SALEOR_GORDON_DOMAIN" in compose


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")

    assert re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, flags=re.MULTILINE) == [
        "build",
        "runtime",
    ]
    assert "uv sync --frozen --no-dev --no-editable" in dockerfile
    assert re.search(r"^USER gordon:gordon$", dockerfile, flags=re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile
    assert "/readyz" in dockerfile
    ignored = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "*.secret-key", "*.db"} <= set(ignored)


def test_storefront_example_validates_against_the_schema(saleor_schema_path: Path) -> None:
    document = parse((STOREFRONT / "SetGordonDelivery.graphql").read_text(encoding="utf-8"))

    assert validate(load_schema(saleor_schema_path), document) == []
    names = [
        d.name.value
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode) and d.name
    ]
    assert names == [
        "SetGordonDelivery",
        "CompleteCheckoutWithGordonDelivery",
        "ClearGordonEntryCode",
    ]


def test_the_app_reads_what_the_storefront_example_sets() -> None:
    """The example's metadata, on the order Saleor creates from the checkout, reaches Gordon."""
    variables: dict[str, Any] = json.loads(
        (STOREFRONT / "SetGordonDelivery.variables.json").read_text(encoding="utf-8")
    )
    keys = [item["key"] for item in variables["gordon"]]
    placed = order(metadata=variables["gordon"])

    result = translate_order(
        placed, config(), now=datetime.fromisoformat("2026-12-01T08:00:00+00:00")
    )

    assert keys == [META_DELIVERY_DATE, META_TIME_WINDOW, META_ENTRY_CODE]
    assert isinstance(result, Translated)
    sent = result.gordon_order.to_json()
    assert (sent["deliverydate"], sent["time-window"], sent["entrycode"]) == (
        "2026-12-03",
        "17:00 - 21:00",
        "1234",
    )
