"""The Dagster instance in PostgreSQL (dagster-postgres) when EGOV_DAGSTER_PG_URL is set: runs recorded by one
machine's DAGSTER_HOME are seen by another's sharing the database, on a real server (tests/postgres.py)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from postgres import postgres_server

from pipelines.cli.instance import DAGSTER_YAML, PG_URL_ENV, InstanceConfigError, ensure_dagster_home

pytestmark = pytest.mark.slow  # a PostgreSQL server


@dg.asset
def tiny() -> int:
    return 1


def test_runs_go_to_postgresql_and_are_shared_between_machines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with postgres_server() as server:
        server.execute("CREATE DATABASE dagster")
        url = server.uri("dagster")
        monkeypatch.setenv(PG_URL_ENV, url)
        # Machine A: a DAGSTER_HOME that egov made for SQLite before; it follows the variable.
        home_a = tmp_path / "a"
        home_a.mkdir()
        (home_a / "dagster.yaml").write_text(DAGSTER_YAML)
        monkeypatch.setenv("DAGSTER_HOME", str(home_a))
        ensure_dagster_home(tmp_path)
        text = (home_a / "dagster.yaml").read_text()
        assert f"env: {PG_URL_ENV}" in text and server.password not in text
        with dg.DagsterInstance.get() as instance:
            result = dg.materialize([tiny], instance=instance)
            assert result.success
        assert server.execute("SELECT count(*) FROM runs", "dagster") == [(1,)]
        assert not list(home_a.glob("**/*.db"))  # nothing in SQLite

        # Machine B: its own DAGSTER_HOME, the same database: it sees machine A's run.
        home_b = tmp_path / "b"
        monkeypatch.setenv("DAGSTER_HOME", str(home_b))
        ensure_dagster_home(tmp_path)
        with dg.DagsterInstance.get() as instance:
            assert [r.run_id for r in instance.get_runs()] == [result.run_id]

        # The variable unset: egov refuses to fall back to an empty SQLite instance without a word.
        monkeypatch.delenv(PG_URL_ENV)
        with pytest.raises(InstanceConfigError, match=f"{PG_URL_ENV} is not set"):
            ensure_dagster_home(tmp_path)
