"""Nothing declared that nothing uses: error classes and error codes.

Both tables are read by people (the tree in errors.py, the codes an integrator sees), so an entry
nothing raises or returns is a false statement about the app. Uses are read from the code's syntax
tree: a mention in a comment, a docstring or a bare string does not count, nor does an import.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import saleor_gordon
from saleor_gordon import errors
from saleor_gordon.web import error_responses

PACKAGE = Path(saleor_gordon.__file__).parent


@dataclass
class CodeUses(ast.NodeVisitor):
    """Names and string constants as the code uses them (docstrings and bare strings left out)."""

    names: Counter[str] = field(default_factory=Counter)
    strings: Counter[str] = field(default_factory=Counter)
    skipped: set[int] = field(default_factory=set)
    """ids of nodes not to count (a table's own keys)."""

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return  # a docstring, or a string standing alone: words, not use
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        self.names[node.id] += 1

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.names[node.attr] += 1
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and id(node) not in self.skipped:
            self.strings[node.value] += 1


def _uses(
    *excluded: Path, skipped: set[int] | None = None, trees: dict[Path, ast.Module] | None = None
) -> CodeUses:
    uses = CodeUses(skipped=skipped or set())
    for path in sorted(PACKAGE.rglob("*.py")):
        if path not in excluded:
            tree = (trees or {}).get(path) or ast.parse(path.read_text(encoding="utf-8"))
            uses.visit(tree)
    return uses


def _error_classes() -> list[type[Exception]]:
    return [
        value
        for value in vars(errors).values()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
    ]


def test_every_error_class_is_raised_caught_or_the_base_of_one_that_is() -> None:
    names = _uses(Path(errors.__file__)).names
    used = {c for c in _error_classes() if names[c.__name__]}
    live = {c for c in _error_classes() if any(issubclass(u, c) for u in used)}

    assert sorted(c.__name__ for c in set(_error_classes()) - live) == []


def test_the_tree_in_the_docstring_names_exactly_the_classes() -> None:
    drawn = re.findall(r"[─└├]── (\w+)", errors.__doc__ or "")

    assert sorted(["GordonAppError", *drawn]) == sorted(c.__name__ for c in _error_classes())


def _status_table(tree: ast.Module) -> ast.Dict:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "STATUS_BY_CODE"
            and isinstance(node.value, ast.Dict)
        ):
            return node.value
    raise AssertionError("STATUS_BY_CODE not found")


def test_every_error_code_is_answered_somewhere() -> None:
    """Each code of STATUS_BY_CODE occurs as a string in the package's code besides the table."""
    path = Path(error_responses.__file__)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    table = _status_table(tree)
    keys = [key for key in table.keys if isinstance(key, ast.Constant)]
    assert [key.value for key in keys] == list(error_responses.STATUS_BY_CODE)  # the real table
    strings = _uses(skipped={id(key) for key in keys}, trees={path: tree}).strings

    unused = [key.value for key in keys if strings[key.value] == 0]

    assert unused == []


def test_a_mention_in_a_comment_docstring_or_import_is_no_use() -> None:
    source = '''
"""Raises NotRaisedA; answers "CODE_A"."""
from saleor_gordon.errors import NotRaisedB  # raise NotRaisedC, "CODE_B"
"CODE_C"
def f() -> None:
    """NotRaisedD "CODE_D"."""
    raise errors.Used("CODE_E")
'''
    uses = CodeUses()
    uses.visit(ast.parse(source))

    assert set(uses.names) == {"errors", "Used"}
    assert set(uses.strings) == {"CODE_E"}
