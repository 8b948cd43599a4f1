"""How the test suite finds PostgreSQL (tests/conftest.py), and what a run without it says."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import (
    HOW_TO_ENABLE_POSTGRES,
    POSTGRES_UNAVAILABLE,
    REPO_ROOT,
    _no_postgres,
    postgres_bin_dir,
)


def _server_binaries(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True)
    for name in names:
        program = directory / name
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    return directory


def test_binaries_on_path_come_first(tmp_path: Path) -> None:
    on_path = _server_binaries(tmp_path / "local" / "bin", "initdb", "pg_ctl")
    _server_binaries(tmp_path / "lib" / "16" / "bin", "initdb", "pg_ctl")

    found = postgres_bin_dir(path=str(on_path), search=str(tmp_path / "lib" / "*" / "bin"))

    assert found == on_path


def test_the_newest_debian_version_when_path_has_none(tmp_path: Path) -> None:
    """/usr/lib/postgresql/<version>/bin as Debian's postgresql package installs it."""
    lib = tmp_path / "usr" / "lib" / "postgresql"
    _server_binaries(lib / "9.6" / "bin", "initdb", "pg_ctl")
    _server_binaries(lib / "15" / "bin", "initdb", "pg_ctl")
    _server_binaries(lib / "17" / "bin", "initdb")  # a client-only install: no pg_ctl
    elsewhere = _server_binaries(tmp_path / "bin", "psql")

    found = postgres_bin_dir(path=str(elsewhere), search=f"/nonexistent/*:{lib}/*/bin")

    assert found == lib / "15" / "bin"
    assert postgres_bin_dir(path=str(elsewhere), search=f"{tmp_path}/nothing/*/bin") is None


def test_no_postgres_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"^{POSTGRES_UNAVAILABLE}no server here$"):
        _no_postgres("no server here")

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="cannot run in CI: no server here; set "):
        _no_postgres("no server here")


def test_a_run_without_postgres_says_so_in_one_line_at_the_end(tmp_path: Path) -> None:
    """PATH without the directory of initdb, nothing where Debian puts it, no server URL: a test
    that needs PostgreSQL is skipped, and the run ends with one line saying so and how to fix it
    (no line per test in the short summary)."""
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_needs_postgres.py").write_text(
        "def test_needs_postgres(postgres_server_url: str) -> None:\n"
        "    assert postgres_server_url\n\n\n"
        "def test_needs_nothing() -> None:\n"
        "    assert True\n"
    )
    env = {
        k: v for k, v in os.environ.items() if k not in ("CI", "SALEOR_GORDON_TEST_POSTGRES_URL")
    }
    env["PATH"] = os.pathsep.join(
        entry for entry in env.get("PATH", "").split(os.pathsep)
        if entry and not (Path(entry) / "initdb").exists()
    )  # fmt: skip
    env["SALEOR_GORDON_TEST_POSTGRES_SEARCH"] = str(tmp_path / "*" / "bin")

    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "tests.conftest", "-ra",
         "-q", str(tests)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout + run.stderr
    assert lines[-2] == (
        f"PostgreSQL: 1 test(s) skipped (no initdb/pg_ctl on PATH or in {tmp_path}/*/bin); to "
        f"run them, {HOW_TO_ENABLE_POSTGRES}."
    )
    assert lines[-1].startswith("1 passed, 1 skipped in ")
    assert [line for line in lines if "PostgreSQL" in line or "SKIPPED" in line] == [lines[-2]]
