"""The job lifecycle has one home (architecture.md): the retry policy is consulted by the transition
table alone (``jobs/lifecycle.py``), and the job table is written by the queue alone
(``jobs/queue.py``), so no other module can give a job a status. Read from the source, as
``tests/core/test_core_is_pure.py`` reads the core's imports."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import saleor_gordon

PACKAGE_DIR = Path(saleor_gordon.__file__).parent
MODULES = sorted(PACKAGE_DIR.rglob("*.py"))
RETRY_DECISIONS = {"GiveUp", "RetryAt", "RetryDecision"}
_SQL_WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+sync_jobs\b", re.IGNORECASE)


def _name(path: Path) -> str:
    return str(path.relative_to(PACKAGE_DIR))


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"))


def consults_the_retry_policy(tree: ast.AST) -> bool:
    """Calls ``<something>.decide(...)`` or handles its answer (``GiveUp``, ``RetryAt``)."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "decide"
        ):
            return True
        if isinstance(node, ast.Name) and node.id in RETRY_DECISIONS:
            return True
        if isinstance(node, ast.alias) and node.name in RETRY_DECISIONS:
            return True
    return False


def writes_the_job_table(tree: ast.AST) -> bool:
    """``update(sync_jobs)``, ``insert(sync_jobs)``, ``delete(sync_jobs)``, ``sync_jobs.update()``
    and the like, or SQL text that inserts into, updates or deletes from ``sync_jobs``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (
                isinstance(func, ast.Name)
                and func.id in {"update", "insert", "delete"}
                and any(isinstance(arg, ast.Name) and arg.id == "sync_jobs" for arg in node.args)
            ):
                return True
            if (
                isinstance(func, ast.Attribute)
                and func.attr in {"update", "insert", "delete"}
                and isinstance(func.value, ast.Name)
                and func.value.id == "sync_jobs"
            ):
                return True
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _SQL_WRITE.search(node.value)
        ):
            return True
    return False


def test_the_checks_look_at_the_package() -> None:
    assert {"jobs/lifecycle.py", "jobs/queue.py", "store/inbox.py"} <= {_name(p) for p in MODULES}


def test_only_the_transition_table_consults_the_retry_policy() -> None:
    consulting = {
        _name(path)
        for path in MODULES
        if _name(path) != "core/retry.py" and consults_the_retry_policy(_tree(path))
    }

    assert consulting == {"jobs/lifecycle.py"}


def test_only_the_queue_writes_the_job_table() -> None:
    writing = {_name(path) for path in MODULES if writes_the_job_table(_tree(path))}

    # and migrations that move stored statuses, named here one by one (they run before any
    # process of their version does: docs/deploy.md)
    assert writing == {
        "jobs/queue.py",
        "store/migrations/versions/0010_expired_status.py",
        "store/migrations/versions/0015_last_status.py",
    }


def test_the_checks_recognise_what_they_forbid() -> None:
    """A check that can see nothing would pass for every module."""
    forbidden = [
        "update(sync_jobs).values(status='synced')",
        "insert(sync_jobs).values(order_id='1')",
        "sync_jobs.update().values(status='failed')",
        "connection.execute(text('UPDATE sync_jobs SET status = 1'))",
        "SQL = '''insert into sync_jobs (status) values (1)'''",
    ]
    allowed = [
        "select(sync_jobs.c.status)",
        "update(installations).values(revoked_at=now)",
        "SQL = 'SELECT status FROM sync_jobs'",
    ]

    assert [writes_the_job_table(ast.parse(code)) for code in forbidden] == [True] * 5
    assert [writes_the_job_table(ast.parse(code)) for code in allowed] == [False] * 3
    assert consults_the_retry_policy(ast.parse("policy.decide(attempts=1)"))
    assert consults_the_retry_policy(ast.parse("from saleor_gordon.core.retry import GiveUp"))
    assert not consults_the_retry_policy(ast.parse("policy = RetryPolicy(first_delay=1.0)"))
