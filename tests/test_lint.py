"""The quality gates CI runs with the tests (pyproject.toml holds each tool's configuration): a lint error, an
unformatted file, an import against the layers, a type error in the core or a SQL file off the house rules fails
the build, not only a reviewer.

The tools come from requirements-dev.lock (`./egov test` installs it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SQL_FOLDERS = ("assets", "expectations", "pipelines")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def test_ruff_reports_nothing():
    result = run(sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_python_file_is_formatted():
    """`ruff format` (line length 120): fix with `.venv/bin/ruff format .`."""
    result = run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", str(ROOT))
    assert result.returncode == 0, result.stdout + result.stderr


def test_layers_import_downward_only():
    """import-linter's contracts of pyproject.toml: the layers of docs/developers.md, a core without Dagster."""
    result = run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_the_core_type_checks():
    """mypy on pipelines/core ([tool.mypy]): every layer leans on the core's types."""
    result = run(sys.executable, "-m", "mypy", "--no-incremental")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_sql_files_follow_the_sql_rules():
    """sqlfluff (DuckDB dialect, [tool.sqlfluff]) on every SQL file; fix with `.venv/bin/sqlfluff fix <file>`."""
    files = sorted(str(p.relative_to(ROOT)) for folder in SQL_FOLDERS for p in (ROOT / folder).rglob("*.sql"))
    assert files
    result = run(str(BIN / "sqlfluff"), "lint", "--disable-progress-bar", *files)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
