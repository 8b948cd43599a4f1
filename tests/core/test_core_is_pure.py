"""The core stays pure: its modules import only the standard library (minus I/O and clocks) and a few
value libraries (architecture.md: "core imports no adapter and no I/O library"). So do the two pure
modules that live beside the code they decide for: the job's transition table
(``jobs/lifecycle.py``) and the catch-up plan (``catch_up/plan.py``)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import saleor_gordon.core

CORE_DIR = Path(saleor_gordon.core.__file__).parent
PACKAGE_DIR = CORE_DIR.parent
FORBIDDEN_STDLIB = {
    "socket",
    "asyncio",
    "os",
    "subprocess",
    "time",
    "urllib.request",
    "sqlite3",
    "http",
}
ALLOWED_LIBRARIES = {"pydantic", "pydantic_core", "phonenumbers", "holidays"}
ALLOWED_PROJECT = ("saleor_gordon.core", "saleor_gordon.errors", "saleor_gordon.json_text")
MODULES = [
    *sorted(CORE_DIR.rglob("*.py")),
    PACKAGE_DIR / "jobs" / "lifecycle.py",
    PACKAGE_DIR / "catch_up" / "plan.py",
]


def _imported_names(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: stays inside saleor_gordon.core
                names.append("saleor_gordon.core")
            elif node.module is not None:
                names.append(node.module)
                names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _is_forbidden_stdlib(name: str) -> bool:
    return any(name == bad or name.startswith(f"{bad}.") for bad in FORBIDDEN_STDLIB)


def _allowed(name: str) -> bool:
    top = name.split(".")[0]
    if name.startswith("saleor_gordon"):
        return any(name == ok or name.startswith(f"{ok}.") for ok in ALLOWED_PROJECT)
    if top in sys.stdlib_module_names:
        return not _is_forbidden_stdlib(name)
    return top in ALLOWED_LIBRARIES


def test_there_are_core_modules() -> None:
    """The test looks at something (guards against a wrong path)."""
    assert {"order.py", "translate.py", "shop_config.py", "lifecycle.py", "plan.py"} <= {
        path.name for path in MODULES if path.exists()
    }


@pytest.mark.parametrize(
    "path", MODULES, ids=[str(path.relative_to(PACKAGE_DIR)) for path in MODULES]
)
def test_core_module_imports_only_pure_modules(path: Path) -> None:
    """No socket, asyncio, os, subprocess, time, urllib.request, sqlite3, http, nor any adapter."""
    imported = _imported_names(ast.parse(path.read_text(encoding="utf-8")))

    assert [name for name in imported if not _allowed(name)] == []
