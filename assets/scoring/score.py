"""Score and rank agencies in DuckDB: indicator values × the year's rubric (docs/domain.md §5).

Python only validates the rubric files and loads them into `rubric_items` / `rubric_classes`; the arithmetic
is SQL (score.sql, with the scoring methods' macros of methods.py), so an analyst can reproduce any figure from
the warehouse tables alone. Each call replaces the given years in one transaction, so reruns and backfills are
idempotent and readers never see half a year.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path

import duckdb

from pipelines.core import methods
from pipelines.core.registry.catalogue import CATALOGUE_PATH
from pipelines.core.registry.reading import RubricError
from pipelines.core.registry.rubrics import Rubric, rubrics_for_years
from pipelines.core.registry.sources import SourceContract
from pipelines.core.warehouse import transaction

HERE = Path(__file__).parent
SCORED_TABLES = ("rubric_items", "rubric_classes", "indicator_scores", "criterion_scores", "rankings")


def _sql(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the scoring tables, the rankings_history view (needs the staging schema's stg_agencies), the
    scoring methods' table and their macros."""
    con.execute(_sql("schema"))
    methods.write_methods_table(con)
    methods.install(con)


def rubric_rows(year: int, rubric: Rubric) -> tuple[list[tuple], list[tuple]]:
    """The rubric of `year` as rows of rubric_items and rubric_classes, one set per agency group."""
    items: list[tuple] = []
    classes: list[tuple] = []
    for group, variant in rubric.variants.items():
        for ci, crit in enumerate(variant.criteria, start=1):
            for ii, item in enumerate(crit.items, start=1):
                items.append((year, group, crit.code, crit.name, item.code, item.points, item.target,
                              rubric.year, crit.name_en or None, ci, ii, item.method,
                              methods.params_json(item.params)))
        classes.extend((year, group, label, minimum, rubric.year, *variant.colours.get(label, (None, None)),
                        rubric.decimals)
                       for label, minimum in variant.classes)
    return items, classes


def years_without_records(con: duckdb.DuckDBPyConnection, years: Iterable[int],
                          sources: Mapping[str, SourceContract]) -> list[int]:
    """The years of `years` with no row staged in any source that arrives per year (`partitioned` in
    config/sources.yaml: the dossier log, the service catalogue, the one-stop returns, infrastructure, capacity,
    assessments): rows quarantined or files rejected do not count, and neither does the agency registry, which lists
    who is evaluated, not what they did. Such a year is not ranked: scored, every agency of the registry would be
    ranked 1st with 0 points (issue 24)."""
    tables = [c.table for c in sources.values() if c.partitioned]
    return [y for y in sorted({int(y) for y in years})
            if not any(con.execute(f"SELECT 1 FROM {t} WHERE year = ? LIMIT 1", [y]).fetchone() for t in tables)]


def score_years(con: duckdb.DuckDBPyConnection, years: list[int], rubric_dir: Path,
                catalogue_path: Path = CATALOGUE_PATH, *, not_ranked: Collection[int] = ()) -> dict[str, int]:
    """Replace scores, criterion scores and rankings of `years`; returns the rows written per table.

    Every rubric needed is validated before any row changes, so a bad file leaves the warehouse as it was. The
    years of `not_ranked` (years_without_records) lose their scores and rankings and get none.
    """
    years = sorted({int(y) for y in years})
    if not years:
        return dict.fromkeys(SCORED_TABLES, 0)
    rubrics = rubrics_for_years(years, Path(rubric_dir), catalogue_path)
    ensure_schema(con)
    con.execute("CREATE OR REPLACE TEMP TABLE scoring_years AS SELECT unnest(?::INTEGER[]) AS year", [years])
    # One row per evaluated agency and year (a registry listing an agency twice must not score it twice).
    con.execute("""CREATE OR REPLACE TEMP TABLE scoring_agencies AS
        SELECT year, agency_code, agency_name, agency_group FROM agency_years
        WHERE evaluated AND year IN (SELECT year FROM scoring_years) AND NOT list_contains(?::INTEGER[], year)
        QUALIFY row_number() OVER (PARTITION BY year, agency_code ORDER BY agency_group, agency_name) = 1""",
                [sorted(int(y) for y in not_ranked)])
    try:
        for year, rubric in rubrics.items():
            unknown = con.execute("SELECT DISTINCT agency_group FROM scoring_agencies WHERE year = ? AND "
                                  "agency_group NOT IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1",
                                  [year, list(rubric.variants)]).fetchall()
            if unknown:
                raise RubricError(f"{rubric.path}: agency group(s) {[g for (g,) in unknown]} of the {year} registry "
                                  f"have no variant in this rubric; it defines {list(rubric.variants)} (declare "
                                  "the group under groups:)")
        item_rows: list[tuple] = []
        class_rows: list[tuple] = []
        for year, rubric in rubrics.items():
            items, classes = rubric_rows(year, rubric)
            item_rows += items
            class_rows += classes
        counts: dict[str, int] = {}
        with transaction(con):
            for table in SCORED_TABLES:
                con.execute(f"DELETE FROM {table} WHERE year IN (SELECT year FROM scoring_years)")
            con.executemany("INSERT INTO rubric_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", item_rows)
            con.executemany("INSERT INTO rubric_classes (year, agency_group, label, min_total, rubric_year, colour, "
                            "fill, decimals) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", class_rows)
            con.execute(_sql("score"))
            for table in SCORED_TABLES:
                counts[table] = con.execute(f"SELECT count(*) FROM {table} "
                                            "WHERE year IN (SELECT year FROM scoring_years)").fetchall()[0][0]
    finally:
        con.execute("DROP TABLE IF EXISTS scoring_years")
        con.execute("DROP TABLE IF EXISTS scoring_agencies")
    return counts
