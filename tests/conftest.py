"""Fixtures shared by every test package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"


def _schema_path() -> Path:
    configured = os.environ.get("SALEOR_SCHEMA_PATH")
    return Path(configured) if configured else SHARED_DIR / "saleor" / "schema.graphql"


@pytest.fixture(scope="session")
def saleor_schema_path() -> Path:
    """The Saleor 3.23 schema. Missing is a failure, never a skip: CI must validate documents."""
    path = _schema_path()
    if not path.is_file():
        pytest.fail(f"Saleor schema not found at {path}; set SALEOR_SCHEMA_PATH to schema.graphql")
    return path


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """Requests recorded from a real Saleor 3.23 (../shared/saleor/samples)."""
    path = SHARED_DIR / "saleor" / "samples"
    if not path.is_dir():
        pytest.fail(f"Saleor samples not found at {path}")
    return path


@pytest.fixture(scope="session")
def graphql_dir() -> Path:
    return REPO_ROOT / "graphql"
