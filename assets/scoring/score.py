"""Score and rank agencies in DuckDB: indicator values × the year's rubric (docs/domain.md §5).

Python only validates the rubric files and loads them into `rubric_items` / `rubric_criteria` / `rubric_classes`;
the arithmetic is SQL (score.sql: the items; score_nodes.sql: one level of criteria, run from the deepest level up
to the total, or score_sums.sql for a rubric of one level of plain sums; score_ranks.sql: criterion scores and
rankings; with the scoring methods' macros of methods.py), so an analyst can reproduce any figure from the
warehouse tables alone. Each call replaces the given years in one
transaction, so reruns and backfills are idempotent and readers never see half a year.
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
from pipelines.core.warehouse import fetch_one, insert_rows, transaction

HERE = Path(__file__).parent
SCORED_TABLES = (
    "rubric_items",
    "rubric_criteria",
    "rubric_classes",
    "indicator_scores",
    "criterion_scores",
    "rankings",
)
# The columns of the rows rubric_rows returns, in their order.
RUBRIC_ITEM_COLUMNS = (
    "year",
    "agency_group",
    "criterion_code",
    "criterion_name",
    "indicator_code",
    "points",
    "target",
    "rubric_year",
    "criterion_name_en",
    "criterion_order",
    "item_order",
    "method",
    "params",
    "transform",
)
RUBRIC_CRITERION_COLUMNS = (
    "year",
    "agency_group",
    "criterion_code",
    "criterion_name",
    "criterion_name_en",
    "parent_code",
    "level",
    "criterion_order",
    "max_points",
    "aggregate",
    "missing",
    "min_coverage",
    "rubric_year",
)
RUBRIC_CLASS_COLUMNS = (
    "year",
    "agency_group",
    "label",
    "min_total",
    "rubric_year",
    "colour",
    "fill",
    "decimals",
    "rounding",
    "aggregate",
    "missing",
    "min_coverage",
)
TOTAL_LABEL = "Tổng điểm"  # the total, in the reason a unit is not ranked


def _sql(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def ensure_schema(con: duckdb.DuckDBPyConnection, transforms: Collection[str] = methods.TRANSFORMS) -> None:
    """Create the scoring tables, the rankings_history view (needs the staging schema's stg_agencies), the
    scoring methods' table and their macros (for the items' `transforms` in use: methods.install)."""
    con.execute(_sql("schema"))
    methods.write_methods_table(con)
    methods.install(con, transforms)


class ScoringError(ValueError):
    """Values the rubric cannot score (a value <= 0 under transform: log); the message names unit, indicator and
    value."""


def rubric_rows(year: int, rubric: Rubric) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The rubric of `year` as rows of rubric_items, rubric_criteria and rubric_classes, one set per agency group.
    Criteria are numbered parents first (criterion_order), so a rubric of one level keeps its positions."""
    items: list[tuple] = []
    criteria: list[tuple] = []
    classes: list[tuple] = []
    for group, variant in rubric.variants.items():
        for ci, (crit, parent, level) in enumerate(variant.nodes(), start=1):
            criteria.append(
                (
                    year,
                    group,
                    crit.code,
                    crit.name,
                    crit.name_en or None,
                    parent,
                    level,
                    ci,
                    crit.max_points,
                    crit.how.aggregate,
                    crit.how.missing,
                    crit.how.min_coverage,
                    rubric.year,
                )
            )
            for ii, item in enumerate(crit.items, start=1):
                items.append(
                    (
                        year,
                        group,
                        crit.code,
                        crit.name,
                        item.code,
                        item.points,
                        item.target,
                        rubric.year,
                        crit.name_en or None,
                        ci,
                        ii,
                        item.method,
                        methods.params_json(item.params),
                        item.transform,
                    )
                )
        how = variant.how
        classes.extend(
            (
                year,
                group,
                label,
                minimum,
                rubric.year,
                *variant.colours.get(label, (None, None)),
                rubric.decimals,
                rubric.rounding,
                how.aggregate,
                how.missing,
                how.min_coverage,
            )
            for label, minimum in variant.classes
        )
    return items, criteria, classes


def scored_transforms(con: duckdb.DuckDBPyConnection, years: Collection[int] | None = None) -> list[str]:
    """The items' transforms in rubric_items (of `years`; of every year when None): what the methods' macros must be
    installed for (methods.install) before SQL that reads those items."""
    return [
        t
        for (t,) in con.execute(
            "SELECT DISTINCT transform FROM rubric_items WHERE transform NOTNULL "
            "AND (?::INTEGER[] IS NULL OR list_contains(?::INTEGER[], year)) ORDER BY 1",
            [None if years is None else list(years)] * 2,
        ).fetchall()
    ]


def check_log_values(con: duckdb.DuckDBPyConnection) -> None:
    """A value <= 0 of an item under transform: log has no logarithm: stop before scoring, naming them."""
    bad = con.execute("""
        SELECT DISTINCT v.year, v.agency_code, v.indicator_code, v.value
        FROM indicator_values AS v
        JOIN scoring_agencies AS a USING (year, agency_code)
        JOIN rubric_items AS r
          ON r.year = v.year AND r.agency_group = a.agency_group AND r.indicator_code = v.indicator_code
        WHERE r.transform = 'log' AND v.value <= 0
        ORDER BY ALL LIMIT 20""").fetchall()
    if bad:
        raise ScoringError(
            "transform: log needs positive values; these have no logarithm: "
            + "; ".join(f"{year} unit {unit}, indicator {code}: value {value:g}" for year, unit, code, value in bad)
        )


def score_tree(con: duckdb.DuckDBPyConnection) -> None:
    """Points of every criterion and of the total (level 0) as `node_points`, which score_ranks.sql reads.

    A rubric of one level of criteria that all sum their items' points (arithmetic, a missing value earning 0, no
    min_coverage: the provincial rubric) needs no tree: one GROUP BY of the items' points per criterion and per unit
    (score_sums.sql) gives the same exact sums. Any other rubric is scored level by level from the deepest up
    (score_nodes.sql), each level's rules applied to the points of the level below."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE scoring_nodes AS
        SELECT year, agency_group, criterion_code AS node, coalesce(parent_code, '') AS parent_code, level,
               criterion_order, criterion_name, aggregate, missing, min_coverage, criterion_name AS label
        FROM rubric_criteria WHERE year IN (SELECT year FROM scoring_years)
        UNION ALL
        SELECT DISTINCT year, agency_group, '', NULL, 0, 0, ?, coalesce(aggregate, 'arithmetic'),
               coalesce(missing, 'zero'), coalesce(min_coverage, 0), ?
        FROM rubric_classes WHERE year IN (SELECT year FROM scoring_years)""",
        [TOTAL_LABEL, TOTAL_LABEL],
    )
    deepest, plain = fetch_one(
        con,
        "SELECT coalesce(max(level), 0), coalesce(bool_and(aggregate = 'arithmetic' AND missing = 'zero' "
        "AND min_coverage = 0), TRUE) FROM scoring_nodes",
    )
    con.execute("""CREATE OR REPLACE TEMP TABLE node_points (year INTEGER, agency_code VARCHAR, agency_group VARCHAR,
        node VARCHAR, level INTEGER, points DECIMAL(38, 9), max_points DECIMAL(38, 9), reason VARCHAR)""")
    if deepest <= 1 and plain:
        con.execute(_sql("score_sums"))
        return
    nodes_sql = _sql("score_nodes")
    for level in range(deepest, -1, -1):
        con.execute(nodes_sql, {"level": level})


def years_without_records(
    con: duckdb.DuckDBPyConnection, years: Iterable[int], sources: Mapping[str, SourceContract]
) -> list[int]:
    """The years of `years` with no row staged in any source that arrives per year (`partitioned` in
    config/sources.yaml: the dossier log, the service catalogue, the one-stop returns, infrastructure, capacity,
    assessments): rows quarantined or files rejected do not count, and neither does the agency registry, which lists
    who is evaluated, not what they did. Such a year is not ranked: scored, every agency of the registry would be
    ranked 1st with 0 points (issue 24)."""
    tables = [c.table for c in sources.values() if c.partitioned]
    return [
        y
        for y in sorted({int(y) for y in years})
        if not any(con.execute(f"SELECT 1 FROM {t} WHERE year = ? LIMIT 1", [y]).fetchone() for t in tables)
    ]


def score_years(
    con: duckdb.DuckDBPyConnection,
    years: list[int],
    rubric_dir: Path,
    catalogue_path: Path = CATALOGUE_PATH,
    *,
    not_ranked: Collection[int] = (),
) -> dict[str, int]:
    """Replace scores, criterion scores and rankings of `years`; returns the rows written per table.

    Every rubric needed is validated before any row changes, so a bad file leaves the warehouse as it was. The
    years of `not_ranked` (years_without_records) lose their scores and rankings and get none.
    """
    years = sorted({int(y) for y in years})
    if not years:
        return dict.fromkeys(SCORED_TABLES, 0)
    rubrics = rubrics_for_years(years, Path(rubric_dir), catalogue_path)
    transforms = {i.transform for r in rubrics.values() for v in r.variants.values() for i in v.items} - {None}
    ensure_schema(con, transforms)
    con.execute("CREATE OR REPLACE TEMP TABLE scoring_years AS SELECT unnest(?::INTEGER[]) AS year", [years])
    # One row per evaluated agency and year (a registry listing an agency twice must not score it twice).
    con.execute(
        """CREATE OR REPLACE TEMP TABLE scoring_agencies AS
        SELECT year, agency_code, agency_name, agency_group FROM agency_years
        WHERE evaluated AND year IN (SELECT year FROM scoring_years) AND NOT list_contains(?::INTEGER[], year)
        QUALIFY row_number() OVER (PARTITION BY year, agency_code ORDER BY agency_group, agency_name) = 1""",
        [sorted(int(y) for y in not_ranked)],
    )
    try:
        for year, rubric in rubrics.items():
            unknown = con.execute(
                "SELECT DISTINCT agency_group FROM scoring_agencies WHERE year = ? AND "
                "agency_group NOT IN (SELECT unnest(?::VARCHAR[])) ORDER BY 1",
                [year, list(rubric.variants)],
            ).fetchall()
            if unknown:
                raise RubricError(
                    f"{rubric.path}: agency group(s) {[g for (g,) in unknown]} of the {year} registry "
                    f"have no variant in this rubric; it defines {list(rubric.variants)} (declare "
                    "the group under groups:)"
                )
        item_rows: list[tuple] = []
        criterion_rows: list[tuple] = []
        class_rows: list[tuple] = []
        for year, rubric in rubrics.items():
            items, criteria, classes = rubric_rows(year, rubric)
            item_rows += items
            criterion_rows += criteria
            class_rows += classes
        counts: dict[str, int] = {}
        with transaction(con):
            for table in SCORED_TABLES:
                con.execute(f"DELETE FROM {table} WHERE year IN (SELECT year FROM scoring_years)")
            insert_rows(con, "rubric_items", RUBRIC_ITEM_COLUMNS, item_rows)
            insert_rows(con, "rubric_criteria", RUBRIC_CRITERION_COLUMNS, criterion_rows)
            insert_rows(con, "rubric_classes", RUBRIC_CLASS_COLUMNS, class_rows)
            if "log" in transforms:
                check_log_values(con)
            con.execute(_sql("score"))
            score_tree(con)
            con.execute(_sql("score_ranks"))
            for table in SCORED_TABLES:
                counts[table] = con.execute(
                    f"SELECT count(*) FROM {table} WHERE year IN (SELECT year FROM scoring_years)"
                ).fetchall()[0][0]
    finally:
        for temp in ("scoring_years", "scoring_agencies", "scoring_nodes", "node_points"):
            con.execute(f"DROP TABLE IF EXISTS {temp}")
    return counts
