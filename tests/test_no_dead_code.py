"""Nothing declared that nothing uses: error classes and error codes.

Both tables are read by people (the tree in errors.py, the codes an integrator sees), so an entry
nothing raises or returns is a false statement about the app.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import saleor_gordon
from saleor_gordon import errors
from saleor_gordon.web import error_responses

PACKAGE = Path(saleor_gordon.__file__).parent


def _source_except(*excluded: Path) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted(PACKAGE.rglob("*.py"))
        if path not in excluded
    )


def _error_classes() -> list[type[Exception]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
    ]


def test_every_error_class_is_raised_caught_or_the_base_of_one_that_is() -> None:
    source = _source_except(Path(errors.__file__))
    used = {c for c in _error_classes() if re.search(rf"\b{c.__name__}\b", source)}
    live = {c for c in _error_classes() if any(issubclass(u, c) for u in used)}

    assert sorted(c.__name__ for c in set(_error_classes()) - live) == []


def test_the_tree_in_the_docstring_names_exactly_the_classes() -> None:
    drawn = re.findall(r"[─└├]── (\w+)", errors.__doc__ or "")

    assert sorted(["GordonAppError", *drawn]) == sorted(c.__name__ for c in _error_classes())


def _status_table_keys() -> list[str]:
    tree = ast.parse(Path(error_responses.__file__).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "STATUS_BY_CODE"
            and isinstance(node.value, ast.Dict)
        ):
            return [k.value for k in node.value.keys if isinstance(k, ast.Constant)]
    raise AssertionError("STATUS_BY_CODE not found")


def test_every_error_code_is_answered_somewhere() -> None:
    """Each code of STATUS_BY_CODE occurs in the package besides its own entry in the table."""
    keys = _status_table_keys()
    assert keys == list(error_responses.STATUS_BY_CODE)  # the test reads the real table
    source = _source_except()

    unused = [code for code in keys if source.count(f'"{code}"') < 2]

    assert unused == []
