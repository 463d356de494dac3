"""The ranking of provinces from their own records, and the national marts (docs/domain.md §8).

The national warehouse (`<national data dir>/warehouse/egov.duckdb`) is a warehouse like a province's whose ranked
units are the provinces of the national registry: its indicator values are each province's agencies' values
aggregated as the catalogue says per indicator (`national:`), read from the province's published marts, and the
usual scoring, profiles and marts run on it unchanged. The national marts then append every province's own marts,
table by table, each row with its `province_code`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from assets.marts.publish import MARTS_FILE, Statement
from assets.national.folders import province_folders
from assets.scorecard.build import PROVINCE as PROVINCE_UNIT
from pipelines.core import settings
from pipelines.core.provinces import NATIONAL, PROVINCE_GROUP, province_dir
from pipelines.core.registry.catalogue import load_catalogue
from pipelines.core.sql import sql_identifier, sql_literal
from pipelines.core.warehouse import transaction

INDICATOR_SCHEMA = settings.PROJECT_ROOT / "assets" / "indicators" / "sql" / "schema.sql"
DATA_QUALITY_SCHEMA = settings.PROJECT_ROOT / "expectations" / "sql" / "data_quality.sql"
# The aggregation of a province's value from its agencies' (numerator, denominator, value), per catalogue rule.
AGGREGATES = {
    "ratio_of_sums": ("sum(numerator)", "sum(denominator)"),
    "mean": ("sum(value)", "count(value)"),
}
# Tables whose rows in the national warehouse are about its own files, not a ranked province: a duplicate row of
# province LCU quarantined from the national registry is the registry's ('*'), not LCU's own quarantine.
NATIONAL_FILE_TABLES = ("quarantine", "data_quality")


def province_marts(base: Path) -> dict[str, Path]:
    """The published marts of every province folder that has them, by province code (the folders that run: a
    stray copy's marts are not ranked)."""
    found = {code: province_dir(base, code) / "marts" / MARTS_FILE for code in province_folders(base).codes}
    return {code: path for code, path in found.items() if path.is_file()}


def alias(code: str) -> str:
    return "p_" + "".join(c if c.isalnum() else "_" for c in code.lower())


@contextmanager
def attached(con: duckdb.DuckDBPyConnection, marts: dict[str, Path]) -> Iterator[dict[str, str]]:
    """The provinces' published marts attached read-only (readers never block a province's next publish)."""
    names = {code: alias(code) for code in marts}
    attached_names: list[str] = []
    try:
        for code, path in marts.items():  # the path bound: a folder named `O'X` is a path like any other
            con.execute(f"ATTACH ? AS {sql_identifier(names[code])} (READ_ONLY)", [str(path)])
            attached_names.append(names[code])
        yield names
    finally:
        for name in attached_names:
            con.execute(f"DETACH {sql_identifier(name)}")


def build_province_indicators(con: duckdb.DuckDBPyConnection, base: Path, years: list[int]) -> int:
    """Replace the national `indicator_values` of `years`: one value per province, indicator and year."""
    con.execute(INDICATOR_SCHEMA.read_text(encoding="utf-8"))
    rules = [(i.code, i.national) for i in load_catalogue()]
    marts = province_marts(base)
    with attached(con, marts) as names, transaction(con):
        con.execute("DELETE FROM indicator_values WHERE list_contains(?::INTEGER[], year)", [years])
        for code, name in names.items():
            for rule in AGGREGATES:
                numerator, denominator = AGGREGATES[rule]
                codes = [c for c, r in rules if r == rule]
                con.execute(
                    f"""
                    INSERT INTO indicator_values
                    SELECT year, ? AS agency_code, indicator_code, {numerator}, {denominator},
                           {numerator} / nullif({denominator}, 0), 'computed'
                    FROM {sql_identifier(name)}.indicators
                    WHERE source = 'computed' AND list_contains(?::INTEGER[], year)
                      AND list_contains(?::VARCHAR[], indicator_code)
                    GROUP BY year, indicator_code""",
                    [code, years, codes],
                )
        return con.execute(
            "SELECT count(*) FROM indicator_values WHERE list_contains(?::INTEGER[], year)", [years]
        ).fetchall()[0][0]


def ensure_national_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The tables the marts read that the national warehouse has no step for (no dossiers, no checks of its own)."""
    con.execute(INDICATOR_SCHEMA.read_text(encoding="utf-8"))
    ddl = DATA_QUALITY_SCHEMA.read_text(encoding="utf-8")
    con.execute(ddl[ddl.index("CREATE TABLE IF NOT EXISTS data_quality") :].split(";", 1)[0])


def national_marts_sql(con: duckdb.DuckDBPyConnection, names: dict[str, str]) -> list[Statement]:
    """Statements run after marts.sql built the provinces' level into `m`: `province_code` on every table, then
    every province's own marts appended (`INSERT ... BY NAME`, so the comments of the data dictionary stay), one
    statement per table over all the provinces (`UNION ALL BY NAME`: DuckDB reads them in parallel, and a province
    whose marts lack a newer column gets NULL there, as an INSERT of its own did). A code is a folder name: bound,
    never pasted (`Z'; COPY ...` is a code like any other); names are quoted identifiers."""
    tables = [
        t
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'm' ORDER BY table_name"
        ).fetchall()
    ]
    columns = {
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = 'm'"
        ).fetchall()
        if t not in NATIONAL_FILE_TABLES
    }  # their national rows are '*' whatever agency they name
    present = set(
        con.execute(
            "SELECT database_name, table_name FROM duckdb_tables() WHERE list_contains(?::VARCHAR[], database_name)",
            [list(names.values())],
        ).fetchall()
    )
    sql: list[Statement] = []
    for table in tables:
        own = "agency_code" if (table, "agency_code") in columns else sql_literal(NATIONAL)
        target = f"m.{sql_identifier(table)}"
        sql += [
            f"ALTER TABLE {target} ADD COLUMN province_code VARCHAR",
            f"UPDATE {target} SET province_code = {own}",
            f"COMMENT ON COLUMN {target}.province_code IS 'Province (tỉnh, thành phố) the row belongs to: a "
            "province''s own table rows, or for the ranking of provinces the province ranked; ''*'' = national "
            "(the national rubric and groups)'",
        ]
        sources = [(code, name) for code, name in names.items() if (name, table) in present]
        if sources:
            union = " UNION ALL BY NAME ".join(
                f"SELECT *, ?::VARCHAR AS province_code FROM {sql_identifier(name)}.{sql_identifier(table)}"
                for _, name in sources
            )
            sql.append((f"INSERT INTO {target} BY NAME {union}", [code for code, _ in sources]))
    # The scorecard view joins names per province.
    sql.append("""CREATE OR REPLACE VIEW m.dossier_scorecard AS
        SELECT d.province_code, d.year, d.month, d.agency_code, coalesce(a.agency_name, 'Toàn tỉnh') AS agency_name,
               a.agency_group, d.indicator_code, d.numerator, d.denominator, d.value
        FROM m.dossier_indicators_ytd AS d
        LEFT JOIN m.agencies AS a USING (province_code, agency_code)""")
    sql.append(NATIONAL_VIEW)
    sql.append(NATIONAL_766_VIEW)
    return sql


# The country's best units per group across provinces: every province's agency ranking side by side.
NATIONAL_VIEW = f"""CREATE OR REPLACE VIEW m.national_agency_rankings AS
SELECT r.year, r.agency_group, r.province_code, p.agency_name AS province_name, r.agency_code, r.agency_name,
       r.total_points, r.index_value, r.rank AS rank_in_province,
       rank() OVER (PARTITION BY r.year, r.agency_group ORDER BY r.total_points DESC) AS rank_in_country,
       count(*) OVER (PARTITION BY r.year, r.agency_group) AS units_in_country
FROM m.rankings AS r
LEFT JOIN m.agencies AS p ON p.province_code = r.province_code AND p.agency_code = r.province_code
WHERE r.agency_group <> {sql_literal(PROVINCE_GROUP)}"""


# The provinces ranked by their QĐ 766 scorecard, every month, quarter and year: each province's own province row
# (numerators and denominators summed over its agencies, as its marts publish it), ranked per period by total points
# (ties share a rank; a province without a total is not ranked), with its share of the computable points.
NATIONAL_766_VIEW = f"""CREATE OR REPLACE VIEW m.national_scorecard_766 AS
SELECT t.period, t.period_type, t.province_code, p.agency_name AS province_name, t.total_points, t.computable_max,
       100 * t.total_points / nullif(t.computable_max, 0) AS share_of_computable,
       CASE WHEN t.total_points IS NOT NULL THEN rank() OVER (
           PARTITION BY t.period, t.total_points IS NOT NULL ORDER BY t.total_points DESC) END AS rank,
       count(t.total_points) OVER (PARTITION BY t.period) AS provinces_ranked
FROM m.scorecard_766_totals AS t
LEFT JOIN m.agencies AS p ON p.province_code = t.province_code AND p.agency_code = t.province_code
WHERE t.agency_code = {sql_literal(PROVINCE_UNIT)}
  AND t.province_code NOT IN ({sql_literal(NATIONAL)}, {sql_literal(PROVINCE_UNIT)})"""
