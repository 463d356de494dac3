"""Compute the indicators of docs/domain.md §4 in DuckDB: one SQL file per indicator family (assets/indicators/sql).

Each build replaces the given years (delete, then insert, in one transaction), so reruns and backfills are
idempotent. The dossier log is counted per raw file (dossier_file_facts, kept between runs: a night scans only the
files loaded since), and both builds read the files' counts added up.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.core.file_facts import DOSSIER_SOURCE, DOSSIER_TABLE, refresh_file_facts
from pipelines.core.registry.catalogue import indicator_families, load_catalogue
from pipelines.core.warehouse import transaction

HERE = Path(__file__).parent
SQL_DIR = HERE / "sql"


def load_indicator_catalogue() -> list[dict]:
    """The catalogue's entries as mappings (code, family, label_vi, label_en, flag, value_levels, applies_to),
    checked by the registry (pipelines/core/registry/): a typo or an unquoted comma in catalogue.yaml stops the run."""
    return [i.model_dump(mode="json") for i in load_catalogue()]


def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def refresh_dossier_facts(
    con: duckdb.DuckDBPyConnection, years: list[int], *, facts_only: bool = False
) -> dict[str, dict[str, int]]:
    """Bring `dossier_file_facts` up to date for `years`: only files loaded since they were counted are scanned
    (pipelines/core/file_facts.py). Also what the data-quality aggregate of the dossier log and two of its checks
    read. `facts_only`: of the layer's schema, create only this table (the SQL checks, which skip the checks of
    indicator tables not built yet)."""
    schema = _sql("schema")
    if facts_only:
        [schema] = [s for s in schema.split(";\n") if "CREATE TABLE IF NOT EXISTS dossier_file_facts (" in s]
    con.execute(schema)
    insert_sql = _sql("dossier_file_facts")
    scope = hashlib.sha256(insert_sql.encode()).hexdigest()[:16]
    return {
        str(year): refresh_file_facts(
            con,
            year,
            facts="dossier_file_facts",
            source=DOSSIER_SOURCE,
            staged=DOSSIER_TABLE,
            insert_sql=insert_sql,
            scope=scope,
        )
        for year in years
    }


def _dossier_facts(con: duckdb.DuckDBPyConnection, years: list[int]) -> dict[str, dict[str, int]]:
    """`egov_dossier_facts` for `years`: the per-file counts, brought up to date, added up."""
    counted = refresh_dossier_facts(con, years)
    con.execute(_sql("dossier_facts"))
    return counted


def _prepare(con: duckdb.DuckDBPyConnection, years: list[int]) -> dict[str, dict[str, int]]:
    """Inputs every family reads: the years, the agencies existing in them, the catalogue, dossier facts."""
    con.execute(_sql("schema"))
    con.execute("CREATE OR REPLACE TEMP TABLE egov_years AS SELECT unnest(?::INTEGER[]) AS year", [years])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE egov_agencies AS "
        "SELECT * FROM agency_years WHERE year IN (SELECT year FROM egov_years)"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE egov_catalogue (indicator_code VARCHAR, applies_to VARCHAR[])")
    con.executemany(
        "INSERT INTO egov_catalogue VALUES (?, ?)",
        [[i["code"], i.get("applies_to")] for i in load_indicator_catalogue()],
    )
    return _dossier_facts(con, years)


def _cleanup(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("egov_years", "egov_agencies", "egov_catalogue", "egov_dossier_facts", "egov_indicator_parts"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def build_indicators(con: duckdb.DuckDBPyConnection, years: list[int]) -> dict[str, int]:
    """Replace `indicator_values` for `years`; returns the rows computed per family."""
    _prepare(con, years)
    counts: dict[str, int] = {}
    try:
        with transaction(con):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE egov_indicator_parts (year INTEGER, agency_code VARCHAR, "
                "indicator_code VARCHAR, numerator DOUBLE, denominator DOUBLE)"
            )
            # Each family SQL appends its own indicators' parts and reads no other family's: any order works.
            for family in indicator_families(load_catalogue()):
                before = con.execute("SELECT count(*) FROM egov_indicator_parts").fetchall()[0][0]
                con.execute(_sql(family))
                counts[family] = con.execute("SELECT count(*) FROM egov_indicator_parts").fetchall()[0][0] - before
            con.execute("DELETE FROM indicator_values WHERE year IN (SELECT year FROM egov_years)")
            con.execute(_sql("indicator_values"))
            counts["assessments"] = con.execute(
                "SELECT count(*) FROM indicator_values WHERE source = 'assessment' "
                "AND year IN (SELECT year FROM egov_years)"
            ).fetchall()[0][0]
    finally:
        _cleanup(con)
    return counts


def build_dossier_ytd(con: duckdb.DuckDBPyConnection, years: list[int]) -> dict[str, object]:
    """Replace `dossier_indicators_ytd` (the monthly year-to-date scorecard) for `years`; returns its rows and
    what the dossier facts counted (files counted again, files removed, years counted whole)."""
    counted = _prepare(con, years)
    try:
        with transaction(con):
            con.execute("DELETE FROM dossier_indicators_ytd WHERE year IN (SELECT year FROM egov_years)")
            con.execute(_sql("dossier_ytd"))
            rows = con.execute(
                "SELECT count(*) FROM dossier_indicators_ytd WHERE year IN (SELECT year FROM egov_years)"
            ).fetchall()[0][0]
    finally:
        _cleanup(con)
    return {"dossier_indicators_ytd": rows, "dossier_facts": counted}
