"""Compute the indicators of docs/domain.md §4 in DuckDB: one SQL file per indicator family (assets/indicators/sql).

Each build replaces the given years (delete, then insert, in one transaction), so reruns and backfills are
idempotent. The dossier log is scanned once per Dagster run, into a compact fact table both builds read.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.registry import load_catalogue
from pipelines.warehouse import transaction

HERE = Path(__file__).parent
SQL_DIR = HERE / "sql"
FAMILIES = ("services", "dossiers", "one_stop", "infrastructure", "capacity", "communes")


def load_indicator_catalogue() -> list[dict]:
    """The catalogue's entries as mappings (code, family, label_vi, label_en, flag, value_levels, applies_to),
    checked by the registry (pipelines/registry.py): a typo or an unquoted comma in catalogue.yaml stops the run."""
    return [i.model_dump(mode="json") for i in load_catalogue()]


def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def _dossier_facts(con: duckdb.DuckDBPyConnection, years: list[int], run_key: str | None) -> None:
    """`egov_dossier_facts` for `years`: the scan of the dossier log, done once per Dagster run.

    Both indicator builds of a run need the same facts, and staging cannot change between them (both are
    downstream of it in the run), so the first build keeps a copy under the run's id and the second reads it
    instead of scanning the log again. Without a `run_key` (tests, tools) the log is always scanned.
    """
    if run_key is not None:
        cached = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
            "AND table_name = 'egov_run_dossier_facts_key'").fetchone()[0]
        if cached and con.execute("SELECT count(*) FROM egov_run_dossier_facts_key WHERE run_key = ? "
                                  "AND years = ?::INTEGER[]", [run_key, years]).fetchone()[0]:
            con.execute("CREATE OR REPLACE TEMP TABLE egov_dossier_facts AS SELECT * FROM egov_run_dossier_facts")
            return
    con.execute(_sql("dossier_facts"))
    if run_key is not None:
        con.execute("CREATE OR REPLACE TABLE egov_run_dossier_facts AS SELECT * FROM egov_dossier_facts")
        con.execute("CREATE OR REPLACE TABLE egov_run_dossier_facts_key AS "
                    "SELECT ?::VARCHAR AS run_key, ?::INTEGER[] AS years", [run_key, years])


def _prepare(con: duckdb.DuckDBPyConnection, years: list[int], run_key: str | None = None) -> None:
    """Inputs every family reads: the years, the agencies existing in them, the catalogue, dossier facts."""
    con.execute(_sql("schema"))
    con.execute("CREATE OR REPLACE TEMP TABLE egov_years AS SELECT unnest(?::INTEGER[]) AS year", [years])
    con.execute("CREATE OR REPLACE TEMP TABLE egov_agencies AS "
                "SELECT * FROM agency_years WHERE year IN (SELECT year FROM egov_years)")
    con.execute("CREATE OR REPLACE TEMP TABLE egov_catalogue (indicator_code VARCHAR, applies_to VARCHAR[])")
    con.executemany("INSERT INTO egov_catalogue VALUES (?, ?)",
                    [[i["code"], i.get("applies_to")] for i in load_indicator_catalogue()])
    _dossier_facts(con, years, run_key)


def _cleanup(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("egov_years", "egov_agencies", "egov_catalogue", "egov_dossier_facts", "egov_indicator_parts"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def build_indicators(con: duckdb.DuckDBPyConnection, years: list[int], run_key: str | None = None) -> dict[str, int]:
    """Replace `indicator_values` for `years`; returns the rows computed per family."""
    _prepare(con, years, run_key)
    counts: dict[str, int] = {}
    try:
        with transaction(con):
            con.execute("CREATE OR REPLACE TEMP TABLE egov_indicator_parts (year INTEGER, agency_code VARCHAR, "
                        "indicator_code VARCHAR, numerator DOUBLE, denominator DOUBLE)")
            for family in FAMILIES:
                before = con.execute("SELECT count(*) FROM egov_indicator_parts").fetchall()[0][0]
                con.execute(_sql(family))
                counts[family] = con.execute("SELECT count(*) FROM egov_indicator_parts").fetchall()[0][0] - before
            con.execute("DELETE FROM indicator_values WHERE year IN (SELECT year FROM egov_years)")
            con.execute(_sql("indicator_values"))
            counts["assessments"] = con.execute(
                "SELECT count(*) FROM indicator_values WHERE source = 'assessment' "
                "AND year IN (SELECT year FROM egov_years)").fetchall()[0][0]
    finally:
        _cleanup(con)
    return counts


def build_dossier_ytd(con: duckdb.DuckDBPyConnection, years: list[int], run_key: str | None = None) -> dict[str, int]:
    """Replace `dossier_indicators_ytd` (the monthly year-to-date scorecard) for `years`."""
    _prepare(con, years, run_key)
    try:
        with transaction(con):
            con.execute("DELETE FROM dossier_indicators_ytd WHERE year IN (SELECT year FROM egov_years)")
            con.execute(_sql("dossier_ytd"))
            rows = con.execute("SELECT count(*) FROM dossier_indicators_ytd "
                               "WHERE year IN (SELECT year FROM egov_years)").fetchall()[0][0]
    finally:
        _cleanup(con)
    return {"dossier_indicators_ytd": rows}
