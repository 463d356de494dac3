"""The QĐ 766 scorecard (docs/rubrics.md §8): the dossier log → per-file facts → scores per month, quarter, year.

Two steps, each replacing only what changed, so the nightly run stays incremental:
- `refresh_facts` counts only the dossier files loaded since the facts were built (all of the year when the
  catalogue, the agency registry or the facts SQL changed; pipelines/core/file_facts.py) and marks the months
  their rows fall in (before and after) as dirty, in the transaction that records the files as built; so too the
  months their dossiers finished or were rated in, when those dossiers changed: of the same year, or of a later
  one, which it names so that year runs again (a dossier of 2024 finished in January 2025 counts in 2025's
  rated_766);
- `score_dirty` rescores the dirty months, their quarters and the year, plus the periods that end after the log's
  latest record when that moved (their reference instant moved with it), and unmarks them in the same transaction.
  A month stays dirty until then: through a failed scoring step, and a night without a rubric in force.
Python only decides what to recompute and loads the rubric; the arithmetic is SQL (sql/*.sql).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb

from pipelines.core import methods
from pipelines.core.file_facts import DOSSIER_SOURCE, DOSSIER_TABLE, refresh_file_facts
from pipelines.core.registry import Registry
from pipelines.core.registry.fields import Model, Text
from pipelines.core.registry.reading import RegistryError, parse, read_yaml
from pipelines.core.registry.rubrics import Rubric
from pipelines.core.registry.sources import load_sources, registry_source
from pipelines.core.warehouse import insert_rows, transaction

SQL_DIR = Path(__file__).parent / "sql"
REASONS_FILE = Path(__file__).parent / "reasons_766.yaml"  # why a record did not count: codes, items, labels
REASON_COLUMNS = ("reason_code", "indicator_code", "bit", "days", "label")
SCORECARD = "766"  # the folder config/rubrics/periodic/766/
# Per dossier file, the months its dossiers count in besides their reception month (schema.sql): a load of one year
# can change the periods of a later one (rated_766, satisfied_766 read the dossiers of every year up to theirs).
ELSEWHERE = "scorecard_766_elsewhere"
FACTS = "scorecard_766_facts"  # the dossier log's counts per file (facts_766.sql)
PROVINCE = "PROVINCE"
# What the scoring writes per period (replaced together): the scores, totals, the trace's judged rows and masks.
SCORED_TABLES = ("scorecard_766", "scorecard_766_totals", "scorecard_766_lost_scored", "scorecard_766_masks")


def _sql(name: str) -> str:
    """A SQL file, with the dossier reasons' one definition (dossier_reasons.sql) spliced where it is called."""
    text = (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
    if "{dossier_reasons}" in text:
        text = text.replace("{dossier_reasons}", _sql("dossier_reasons"))
    return text


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The scorecard's tables, the reasons' labels, and the scoring methods' macros the scoring SQL calls.

    A warehouse written before the compact trace (a table scorecard_766_dossiers, one row per lost item) has its
    rows folded into scorecard_766_lost_scored, read through the view scorecard_766_dossiers from then on; one
    written before the view judged the dossiers' own reasons (a table scorecard_766_lost) has that table renamed
    so: its rows stay behind the view scorecard_766_lost until their months are scored again. One written before the
    view judged the finished dossiers not rated has those rows (alone in theirs: one row per record and kind) dropped
    where their month has masks, the view listing them from then on (a month without masks is shown as it was
    stored, the view judging none of its dossiers)."""

    def is_table(name: str) -> bool:
        return bool(
            con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                "AND schema_name = 'main' AND table_name = ?",
                [name],
            ).fetchone()[0]
        )

    old_trace, old_lost = is_table("scorecard_766_dossiers"), is_table("scorecard_766_lost")
    rows = reason_rows()
    with transaction(con):
        if old_trace:
            con.execute("ALTER TABLE scorecard_766_dossiers RENAME TO scorecard_766_dossiers_by_item")
        if old_lost:
            con.execute("ALTER TABLE scorecard_766_lost RENAME TO scorecard_766_lost_scored")
        con.execute(_sql("schema"))
        if con.execute("SELECT * FROM scorecard_766_reasons ORDER BY bit").fetchall() != rows:
            con.execute("DELETE FROM scorecard_766_reasons")
            insert_rows(con, "scorecard_766_reasons", REASON_COLUMNS, rows)
        if old_trace:
            con.execute(
                """INSERT INTO scorecard_766_lost_scored
                SELECT t.year, t.period, t.agency_code, t.record_code, bit_or(r.bit),
                       max(t.days_late) FILTER (WHERE r.days = 'days_late'),
                       max(t.days_late) FILTER (WHERE r.days = 'sync_days_late')
                FROM scorecard_766_dossiers_by_item AS t
                JOIN scorecard_766_reasons AS r USING (reason_code, indicator_code)
                GROUP BY ALL;
                DROP TABLE scorecard_766_dossiers_by_item"""
            )
        # the finished dossiers not rated, which the scoring wrote before the view judged them: a month scored so
        # (it has masks) would list them twice; the view now lists them (a no-op once they are gone)
        con.execute(
            _bits_written_in(
                """DELETE FROM scorecard_766_lost_scored AS l
                WHERE l.reasons = reason_bit('not_rated') AND EXISTS (
                    SELECT 1 FROM scorecard_766_masks AS m
                    WHERE m.year = l.year AND m.period = l.period AND m.agency_code = l.agency_code)"""
            )
        )
        con.execute(_bits_written_in(_sql("trace_view")))
    methods.install(con)


class Reason(Model):
    """One reason of reasons_766.yaml."""

    code: str
    item: str
    days: Literal["days_late", "sync_days_late"] | None = None
    label: Text


class Reasons(Model):
    reasons: list[Reason]


def reason_rows() -> list[tuple[str, str, int, str | None, str]]:
    """scorecard_766_reasons rows, (reason_code, indicator_code, bit, days, label): a reason's bit is 2^its place in
    reasons_766.yaml (at most 32 reasons: the bits are a UINTEGER)."""
    listed = parse(Reasons, read_yaml(REASONS_FILE), REASONS_FILE).reasons
    codes = [r.code for r in listed]
    if len(set(codes)) != len(codes) or len(codes) > 32:
        raise RegistryError(f"{REASONS_FILE}: reasons must have distinct codes, at most 32 (got {codes})")
    return [(r.code, r.item, 1 << place, r.days, r.label) for place, r in enumerate(listed)]


def _bits_written_in(sql: str) -> str:
    """`sql` with each `reason_bit('code')` replaced by the reason's bit (reasons_766.yaml), a constant: the trace's
    SQL and its view name reasons by code; an unknown code stops here, naming it."""
    bits = {code: b for code, _, b, _, _ in reason_rows()}

    def bit(match: re.Match[str]) -> str:
        if match[1] not in bits:
            raise RegistryError(f"reason {match[1]} is not in {REASONS_FILE}")
        return f"{bits[match[1]]}::UINTEGER"

    return re.sub(r"reason_bit\('([a-z_]+)'\)", bit, sql)


def computed_codes() -> set[str]:
    """The indicator codes scorecard_766.sql computes (its `'indicator_code': '...'` entries)."""
    return set(re.findall(r"'indicator_code': '([a-z0-9_]+)'", _sql("scorecard_766")))


def check_rubric(rubric: Rubric) -> None:
    """A computable indicator of the rubric must be one the SQL computes: else its points would silently be NULL."""
    from pipelines.core.registry.reading import RubricError

    unknown = sorted(c for c, i in rubric.indicators.items() if i.computable and c not in computed_codes())
    if unknown:
        raise RubricError(
            f"{rubric.path}: periodic_indicators {unknown} are marked computable, but "
            f"assets/scorecard/sql/scorecard_766.sql computes only {sorted(computed_codes())}: "
            "mark them computable: false, or add their numerator and denominator there"
        )


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _ingested(con: duckdb.DuckDBPyConnection, source: str, year: int | None) -> list[tuple]:
    """The loaded files of a source and year (all years for None) with the state their rows depend on."""
    return con.execute(
        "SELECT file, file_size, file_mtime_ns, rows_loaded, context_hash FROM ingested_files "
        "WHERE source = ? AND status = 'loaded' AND (year = ? OR ? IS NULL) ORDER BY file",
        [source, year, year],
    ).fetchall()


def facts_scope(con: duckdb.DuckDBPyConnection, year: int) -> str:
    """What a year's facts depend on besides its dossier files: the catalogue's levels (online services), the
    agency registry (which rows were loaded) and the facts SQL itself."""
    return _fingerprint(
        _ingested(con, "services", year), _ingested(con, registry_source(load_sources()).name, None), _sql("facts_766")
    )


# The inputs the transparency and satisfaction items read besides the facts, counted per file by the months they
# count in (schema.sql): their source (config/sources.yaml), their table of months, and whether a file that changes or
# goes marks only its recorded months (feedback: its due dates are its own) or every month of the scored years from
# its year on (ratings: the months their dossiers finished in follow the dossier log, which may have moved since).
INPUT_MONTHS = {"ratings": ("scorecard_766_rating_months", False), "feedback": ("scorecard_766_feedback_months", True)}
# Every per-file count that marks the months to rescore, by source: a loaded file without it is not scored yet.
COUNTED_PER_FILE = {DOSSIER_SOURCE: FACTS, **{source: table for source, (table, _) in INPUT_MONTHS.items()}}


def refresh_inputs(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, dict[str, int]], list[int]]:
    """Bring the months of every rating and feedback file in line with the loaded files, marking as dirty the months
    of the files that came, and of those that changed or went (INPUT_MONTHS); returns the files counted per source
    and year, and the years scored before with months marked other than the file's (a feedback due in a later
    year, a rated dossier finished in one)."""
    sources = load_sources()
    counts: dict[str, dict[str, int]] = {}
    scored = {y for (y,) in con.execute("SELECT year FROM scorecard_766_state").fetchall()}
    marked: set[int] = set()  # of the scored years (a year never scored is scored whole when it runs)

    def mark(months_sql: str, year: int) -> None:  # the (year, month) rows of `months_sql` not marked yet
        inserted = con.execute(
            f"INSERT INTO scorecard_766_dirty {months_sql} EXCEPT SELECT year, month FROM scorecard_766_dirty "
            "RETURNING year",
            [year],
        ).fetchall()
        marked.update(y for (y,) in inserted if y in scored)

    def mark_recorded(table: str, where: str, year: int) -> None:  # the months the files' rows count in
        mark(f"SELECT DISTINCT other_year, month FROM {table} WHERE {where} AND month IS NOT NULL", year)

    def mark_scored_years(year: int) -> None:  # every month of the years scored, from the file's year on
        mark("SELECT year, unnest(range(1, 13)) FROM scorecard_766_state WHERE year >= ?", year)

    for source, (table, recorded_on_stale) in INPUT_MONTHS.items():
        sql = _sql(table.removeprefix("scorecard_766_"))
        years = [
            y
            for (y,) in con.execute(
                f"SELECT year FROM ingested_files WHERE source = ? UNION SELECT year FROM {table} ORDER BY 1",
                [source],
            ).fetchall()
        ]
        for year in years:
            result = refresh_file_facts(
                con,
                year,
                facts=table,
                source=source,
                staged=sources[source].table,
                insert_sql=sql,
                scope=_fingerprint(sql),
                on_change=lambda where, table=table, year=year: mark_recorded(table, where, year),
                on_stale=None if recorded_on_stale else lambda where, year=year: mark_scored_years(year),
            )
            if result["files_counted"] or result["files_removed"] or result["whole_year"]:
                counts.setdefault(source, {})[str(year)] = result["files_counted"] + result["files_removed"]
    return counts, sorted(marked)


def _state(con: duckdb.DuckDBPyConnection, year: int) -> tuple[str | None, datetime | None]:
    row = con.execute("SELECT score_scope, latest FROM scorecard_766_state WHERE year = ?", [year]).fetchone()
    return row if row else (None, None)


def _set_state(con: duckdb.DuckDBPyConnection, year: int, **values: object) -> None:
    score, latest = _state(con, year)
    current = {"score_scope": score, "latest": latest, **values}
    con.execute("DELETE FROM scorecard_766_state WHERE year = ?", [year])
    con.execute(
        "INSERT INTO scorecard_766_state (year, score_scope, latest) VALUES (?, ?, ?)",
        [year, current["score_scope"], current["latest"]],
    )


def refresh_facts(con: duckdb.DuckDBPyConnection, year: int) -> tuple[dict[str, int], list[int]]:
    """Bring the year's facts in line with its loaded dossier files (pipelines/core/file_facts.py), marking the
    months of the facts removed and added as dirty, and the months elsewhere whose dossiers changed (ELSEWHERE);
    returns the files counted and months marked, and the other years, scored before, with months marked."""

    def mark(where: str) -> None:  # in the transaction that records the files as built; each month once
        con.execute(
            f"INSERT INTO scorecard_766_dirty SELECT DISTINCT year, month FROM scorecard_766_facts "
            f"WHERE {where} EXCEPT SELECT year, month FROM scorecard_766_dirty",
            [year],
        )

    elsewhere = f"SELECT other_year, month, sum(dossiers) AS n, sum(digest) AS digest FROM {ELSEWHERE} WHERE year = ? "
    elsewhere += "GROUP BY ALL"
    con.execute(f"CREATE OR REPLACE TEMP TABLE sc_elsewhere_before AS {elsewhere}", [year])
    others: list[int] = []

    def mark_elsewhere() -> None:  # the months, of this year or a later one, whose finished or rated dossiers changed
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE sc_elsewhere_changed AS
            SELECT coalesce(a.other_year, b.other_year) AS year, coalesce(a.month, b.month) AS month
            FROM ({elsewhere}) AS a FULL JOIN sc_elsewhere_before AS b
              ON a.other_year = b.other_year AND a.month = b.month
            WHERE a.n IS DISTINCT FROM b.n OR a.digest IS DISTINCT FROM b.digest""",
            [year],
        )
        con.execute(
            "INSERT INTO scorecard_766_dirty SELECT year, month FROM sc_elsewhere_changed "
            "EXCEPT SELECT year, month FROM scorecard_766_dirty"
        )
        # a year never scored is scored whole when it runs: only the years scored before need to run again
        others[:] = [
            y
            for (y,) in con.execute(
                "SELECT DISTINCT year FROM sc_elsewhere_changed WHERE year <> ? "
                "AND year IN (SELECT year FROM scorecard_766_state) ORDER BY year",
                [year],
            ).fetchall()
        ]
        con.execute("DROP TABLE sc_elsewhere_changed")

    counts = refresh_file_facts(
        con,
        year,
        facts=FACTS,
        source=DOSSIER_SOURCE,
        staged=DOSSIER_TABLE,
        insert_sql=_sql("facts_766"),
        scope=facts_scope(con, year),
        on_change=mark,
        companions=(ELSEWHERE,),
        before_commit=mark_elsewhere,
    )
    con.execute("DROP TABLE sc_elsewhere_before")
    months = con.execute("SELECT count(DISTINCT month) FROM scorecard_766_dirty WHERE year = ?", [year]).fetchone()
    return {**counts, "dirty_months": months[0]}, others


def period_keys(year: int, months: list[int], period: str) -> list[tuple[str, str, int, int]]:
    """(period, period_type, first month, last month) of the periods the months fall in: each month (a monthly
    rubric), each quarter, and the year. Keys: 2026-08, 2026-Q3, 2026."""
    out = []
    if period == "month":
        out += [(f"{year}-{m:02d}", "month", m, m) for m in sorted(set(months))]
    quarters = sorted({(m - 1) // 3 + 1 for m in months})
    out += [(f"{year}-Q{q}", "quarter", 3 * q - 2, 3 * q) for q in quarters]
    if months:
        out.append((str(year), "year", 1, 12))
    return out


def _period_end(year: int, last_month: int) -> datetime:
    """The start of the next period: the reference instant unless the log's latest record is earlier."""
    return datetime(year + 1, 1, 1) if last_month == 12 else datetime(year, last_month + 1, 1)


def rubric_rows(year: int, rubric: Rubric) -> list[tuple]:
    """scorecard_766_items rows: the rubric's items in order, with their labels and computability."""
    variant = next(iter(rubric.variants.values()))  # a periodic rubric has one set of criteria (no group variants)
    rows = []
    for ci, crit in enumerate(variant.criteria, start=1):
        for ii, item in enumerate(crit.items, start=1):
            spec = rubric.indicators[item.code]
            rows.append(
                (
                    year,
                    rubric.year,
                    crit.code,
                    crit.name,
                    ci,
                    ii,
                    item.code,
                    spec.ref,
                    spec.name_vi,
                    item.points,
                    item.method,
                    methods.params_json(item.params),
                    spec.computable,
                    rubric.decimals,
                )
            )
    return rows


def level_rows(year: int, rubric: Rubric) -> list[tuple]:
    """scorecard_766_levels rows: the rubric's classification (on the share of computable points) and colours."""
    variant = next(iter(rubric.variants.values()))
    return [(year, label, minimum, *variant.colours.get(label, (None, None))) for label, minimum in variant.classes]


def score_dirty(con: duckdb.DuckDBPyConnection, year: int, registry: Registry) -> dict[str, int]:
    """Rescore the year's dirty periods (see the module docstring); returns the periods and rows written."""
    rubric = registry.periodic_rubric(SCORECARD, year)
    if rubric is None:  # before the decision, or no 766 folder in the deployment's rubrics: nothing is scored, so
        # the marked months stay marked (scored when a rubric is back; a night that clears them scores them stale)
        waiting = con.execute("SELECT count(*) FROM scorecard_766_dirty WHERE year = ?", [year]).fetchone()[0]
        kept = con.execute("SELECT count(DISTINCT period) FROM scorecard_766_totals WHERE year = ?", [year]).fetchone()[
            0
        ]
        return {"periods": 0, "months_waiting": waiting, "periods_kept": kept}
    check_rubric(rubric)
    items = rubric_rows(year, rubric)
    score_scope = _fingerprint(
        items,
        level_rows(year, rubric),
        _sql("scorecard_766"),
        _sql("scorecard_766_dossiers"),
        [(code, item, bit, days) for code, item, bit, days, _ in reason_rows()],  # the stored bits' meaning
    )
    old_scope, old_latest = _state(con, year)
    latest = con.execute("SELECT max(NgayTiepNhan) FROM stg_dossiers").fetchone()[0]
    last = con.execute("SELECT max(month) FROM scorecard_766_facts WHERE year = ?", [year]).fetchone()[0]
    months = list(range(1, (last or 0) + 1))
    if old_scope != score_scope:
        dirty = set(months)
    else:
        dirty = {
            m
            for (m,) in con.execute("SELECT DISTINCT month FROM scorecard_766_dirty WHERE year = ?", [year]).fetchall()
        }
        if rubric.period == "month":  # months never scored (a month without dossiers before a new one)
            dirty |= {
                m
                for (m,) in con.execute(
                    "SELECT unnest(?::INTEGER[]) EXCEPT SELECT DISTINCT CAST(right(period, 2) AS INTEGER) "
                    "FROM scorecard_766 WHERE year = ? AND period_type = 'month'",
                    [months, year],
                ).fetchall()
            }
        if latest != old_latest:  # the reference instant of the periods ending after it moved with it
            moved = min(latest, old_latest) if latest and old_latest else None
            dirty |= {m for m in months if moved is None or _period_end(year, m) > moved}
    # a month after the year's last reception month (a rating, a due date or a finish after it) is rescored as that
    # last month: the year holds it, and so does the last month's quarter when it is its quarter
    dirty = {min(m, months[-1]) for m in dirty} if months else set()
    periods = period_keys(year, sorted(dirty), rubric.period)
    rows = [
        (
            year,
            key,
            kind,
            first,
            last_m,
            min(_period_end(year, last_m), latest) if latest else _period_end(year, last_m),
        )
        for key, kind, first, last_m in periods
    ]
    with transaction(con):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE sc_periods (year INTEGER, period VARCHAR, period_type VARCHAR, "
            "first_month INTEGER, last_month INTEGER, ref TIMESTAMP)"
        )
        if rows:
            con.executemany("INSERT INTO sc_periods VALUES (?, ?, ?, ?, ?, ?)", rows)
        con.execute("DELETE FROM scorecard_766_items WHERE year = ?", [year])
        con.executemany("INSERT INTO scorecard_766_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", items)
        con.execute("DELETE FROM scorecard_766_levels WHERE year = ?", [year])
        con.executemany("INSERT INTO scorecard_766_levels VALUES (?, ?, ?, ?, ?)", level_rows(year, rubric))
        con.execute("CREATE OR REPLACE TEMP TABLE sc_items AS SELECT * FROM scorecard_766_items WHERE year = ?", [year])
        # One row per agency of the year (a registry listing an agency twice must not score it twice).
        con.execute(
            """CREATE OR REPLACE TEMP TABLE sc_units AS
            SELECT year, agency_code, agency_group FROM agency_years WHERE year = ?
            QUALIFY row_number() OVER (PARTITION BY year, agency_code ORDER BY agency_group) = 1""",
            [year],
        )
        valid = [key for key, *_ in period_keys(year, months, rubric.period)]
        # the periods whose scores and trace change, for the marts (publish.py replaces only these trace rows)
        con.execute(
            "INSERT INTO scorecard_766_unpublished SELECT DISTINCT year, period FROM scorecard_766_totals "
            "WHERE year = ? AND (? OR period IN (SELECT period FROM sc_periods) "
            "OR period NOT IN (SELECT unnest(?::VARCHAR[]))) UNION SELECT year, period FROM sc_periods",
            [year, old_scope != score_scope, valid],
        )
        if old_scope != score_scope:  # a new rubric: no period of the old one may stay
            for table in SCORED_TABLES:
                con.execute(f"DELETE FROM {table} WHERE year = ?", [year])
        for table in SCORED_TABLES:  # the periods rescored,
            # and any no longer scored
            con.execute(
                f"DELETE FROM {table} WHERE year = ? AND (period IN (SELECT period FROM sc_periods) "
                "OR period NOT IN (SELECT unnest(?::VARCHAR[])))",
                [year, valid],
            )
        if rows:
            con.execute(_sql("scorecard_766"))
            # the records behind every lost point, month by month (but the dossiers' own: the view judges them)
            con.execute(_bits_written_in(_sql("scorecard_766_dossiers")))
        con.execute("DELETE FROM scorecard_766_dirty WHERE year = ?", [year])
        _set_state(con, year, score_scope=score_scope, latest=latest)
        con.execute("DROP TABLE sc_periods; DROP TABLE sc_items; DROP TABLE sc_units")
    return {"periods": len(periods), "months": len(dirty)}
