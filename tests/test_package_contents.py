"""What the wheel ships: the app's package, with the Gordon sandbox (``saleor-gordon fake-gordon``)
as its only fake; the Saleor fake, the schema finder and the process helpers are test code
(``tests/support``) that the package never imports."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import saleor_gordon

PACKAGE_DIR = Path(saleor_gordon.__file__).parent
PYPROJECT = PACKAGE_DIR.parent / "pyproject.toml"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_wheel_is_the_package_alone() -> None:
    build = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["hatch"]["build"]

    assert build["targets"]["wheel"]["packages"] == ["saleor_gordon"]


def test_the_only_fake_shipped_is_the_gordon_sandbox() -> None:
    shipped = sorted(path.name for path in (PACKAGE_DIR / "fakes").iterdir() if path.is_file())

    assert shipped == ["__init__.py", "gordon_sandbox.py"]


def test_no_shipped_module_imports_test_code() -> None:
    importing = {
        str(path.relative_to(PACKAGE_DIR))
        for path in PACKAGE_DIR.rglob("*.py")
        if any(name == "tests" or name.startswith("tests.") for name in _imports(path))
    }

    assert importing == set()
