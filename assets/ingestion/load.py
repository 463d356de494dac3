"""Load one source's raw files for one year into its staging table, quarantining what breaks the contract.

The contract (config/sources.yaml) becomes one SQL statement per file that types every column and names every
violation; duplicates and the delete-then-insert happen in SQL over the whole partition. Nothing is dropped:
for every file, rows read = rows loaded + rows quarantined, and a file that cannot be read at all (or is refused
before reading: a link out of the raw directory, a file outside its source's year folders, see files.py) is
listed in `ingested_files` as rejected with the reason, and in `quarantine` at line 0. One bad file never stops
the others of its partition.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from assets.ingestion.files import RawEntry, list_raw_files
from assets.ingestion.readers import (
    NATIVE,
    FileRejected,
    OpenedFile,
    file_format,
    open_raw_file,
    read_structural_rejects,
    record_lines,
)
from pipelines.core.registry import load_registry
from pipelines.core.registry.rubrics import DEFAULT_RANGE
from pipelines.core.registry.sources import REGISTRY_TABLE, ColumnContract, SourceContract, key_target, load_sources
from pipelines.core.registry.thresholds import load_thresholds
from pipelines.core.sql import sql_identifier as q
from pipelines.core.sql import sql_literal as lit
from pipelines.core.staging import SQL_TYPES
from pipelines.core.warehouse import memory_limit_bytes, transaction

TYPE_WORDS = {
    "int": "whole number",
    "decimal": "number",
    "flag": "flag (0/1)",
    "date": "date (yyyy-mm-dd or dd/mm/yyyy)",
    "timestamp": "date-time (yyyyMMddHHmmss)",
    "level": "service level (1-4, một phần, toàn trình)",
}
# The parsing macro of each contract type (macros.sql, created by `install_parsers` before a load parses a file).
PARSERS = {
    "int": "egov_int",
    "decimal": "egov_decimal",
    "flag": "egov_flag",
    "date": "egov_date",
    "timestamp": "egov_timestamp",
    "level": "egov_level",
}
MACROS_SQL = Path(__file__).parent / "macros.sql"
# Parsed rows of the files being loaded, in a database attached to the warehouse connection, so the connections that
# parse files in parallel share it (a TEMP table would be private to one connection). In memory for small loads;
# past SCRATCH_FILE_RATIO × the memory limit of raw bytes, in a scratch database file in the warehouse's temp
# directory (removed after the load), whose blocks DuckDB can drop and read back. An in-memory table spills too, but
# at 100M dossiers (15 GB parsed) its blocks filled DuckDB's whole memory and every GROUP BY over them then failed
# ("Out of Memory Error: failed to allocate data of size 64.0 MiB", even at a 1.2 GB limit). Measured at 10M (1.8 GB
# of CSV): the file costs ~3 s more CPU for the same 24 s wall, and the ingest's peak is 1.00 GB instead of 1.21 GB
# at 900 MB/1 GB limits (docs/benchmarks.md, "Issue 17").
SCRATCH = "egov_scratch"
PARSED = f"{SCRATCH}.parsed"
SCRATCH_FILE_RATIO = 0.5
# Control characters (C0, DEL, C1): any of them in a code quarantines its row (a NUL in MaHoSo would be stored in the
# key); a name (free_text) may hold line breaks and tabs. Neither is ever stored in quarantine.raw.
CONTROL = r"[\x00-\x1F\x7F-\x9F]"
CONTROL_IN_TEXT = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
# Characters no one sees in a code (zero-width space, BOM, no-break space, a lone combining mark, ...): a message
# naming an unknown code shows them escaped (X001\u200b), or it would read exactly like the registry's X001.
INVISIBLE = r"[\p{Cc}\p{Cf}\p{Z}\p{Mn}\p{Me}\p{Co}]"
# What reading one file may raise when the file itself is at fault: the file is rejected, the others load.
FILE_ERRORS = (
    csv.Error,
    UnicodeError,
    OSError,
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    duckdb.IOException,
)
# ingested_files.context_hash of a file to read again whatever its fingerprint: a file of another year holding
# superseded versions, one of which may be the record again after the file that superseded it changed or went.
REREAD = "reread"
# Quarantine rules of rows never read as columns (a rejected file, an unreadable record): no key can change them.
FILE_REJECTED, UNREADABLE_RECORD = "file_rejected", "unreadable_record"
KEYLESS_RULES = (FILE_REJECTED, UNREADABLE_RECORD)
# Files parsed at once. Each parse holds its own buffers under the warehouse's memory limit (900 MB by default), so
# a many-core server does not start one per core; 2 is what the benchmarks measured (docs/benchmarks.md).
MAX_PARSE_WORKERS = 4


@dataclass
class FileReport:
    file: str
    file_format: str | None
    encoding: str | None
    status: str
    message: str
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_superseded: int = 0  # older versions of a record (contract key + version), neither loaded nor quarantined


@dataclass
class IngestReport:
    source: str
    year: int | None
    files: list[FileReport] = field(default_factory=list)
    skipped_unchanged: int = 0
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    # Other years whose staged rows this load changed (records that change: a version in another year's folder,
    # or versions given back after a file went): their per-file facts are counted again when those years run.
    other_years: set[int] = field(default_factory=set)

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def rows_superseded(self) -> int:
        return sum(f.rows_superseded for f in self.files)

    @property
    def rejected_files(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "rejected"]


def install_parsers(con: duckdb.DuckDBPyConnection) -> None:
    """Create the parsing macros (macros.sql) in the warehouse: stored macros, so the connections that parse files in
    parallel (cursors of `con`) see them too."""
    con.execute(MACROS_SQL.read_text(encoding="utf-8"))


def typed_expr(col: ColumnContract, native: bool = False) -> str:
    """The column's typed value from its text (`<name>__raw`), or from a typed Parquet value (`native`, see
    readers.NATIVE: taken as it is where its text would parse back to it, else parsed from that text)."""
    raw = q(col.name + "__raw")
    text = f"lower({raw})" if col.allowed else raw
    expr = text if col.type == "text" else f"{PARSERS[col.type]}({raw})"
    if native:
        exact = NATIVE[col.type][1].format(v=raw)
        expr = f"CASE WHEN {exact} THEN {raw} ELSE {PARSERS[col.type]}(CAST({raw} AS VARCHAR)) END"
    if col.default is not None:
        expr = f"coalesce({expr}, CASE WHEN {raw} IS NULL THEN {lit(col.default)} END)"
    return f"CAST({expr} AS {SQL_TYPES[col.type]})"


def shown(expr: str) -> str:
    """SQL: the text `expr` with every invisible character (INVISIBLE) but the space written as \\uXXXX."""
    return (
        f"array_to_string(list_transform(string_split({expr}, ''), lambda ch: CASE WHEN ch <> ' ' AND "
        f"regexp_matches(ch, {lit(INVISIBLE)}) THEN printf('\\u%04x', unicode(ch)) ELSE ch END), '')"
    )


Ranges = dict[str, tuple[float, float, str]]  # indicator code → (min, max, where declared); others: [0, 1]


def indicator_ranges(data_dir: Path | None = None, year: int | None = None) -> Ranges:
    """The ranges of the indicators whose values are not ratios in [0, 1]: those the year's rubric of the data
    directory declares under assessed_indicators (min, max), else thresholds.yaml indicator_bounds
    (Registry.value_ranges); without a data directory, thresholds.yaml only."""
    if data_dir is None:
        return {
            code: (float(lo), float(hi), "") for code, (lo, hi) in (load_thresholds()["indicator_bounds"] or {}).items()
        }
    return load_registry(data_dir).value_ranges(year)


def _bound(value: float) -> str:
    return f"{value:g}"


def column_checks(
    col: ColumnContract, native: bool = False, ranges: Ranges | None = None
) -> list[tuple[str, str, str]]:
    """(condition, reason expression, rule) per violation a column can show; a `native` (typed) value is quoted as
    its text, as the text path would have read it."""
    raw, val, name = q(col.name + "__raw"), q(col.name), col.name
    as_text = f"CAST({raw} AS VARCHAR)" if native else raw  # the raw value as text, in reasons
    quoted_raw = f"{lit(name + ': ' + chr(39))} || left({as_text}, 60) || "  # "col: 'text"
    checks = []
    if col.required:
        checks.append((f"{raw} IS NULL", lit(f"{name} is empty"), "empty"))
    if col.type == "text" and not col.personal:
        pattern = lit(CONTROL_IN_TEXT if col.free_text else CONTROL)
        before = lit("^[^" + (CONTROL_IN_TEXT if col.free_text else CONTROL)[1:] + "*")  # the text before it
        checks.append(
            (
                f"regexp_matches({raw}, {pattern})",
                f"{lit(name + ' holds a control character (')} || printf('U+%04X', unicode(regexp_extract({raw}, "
                f"{pattern}))) || ') after ' || chr(39) || left(regexp_extract({raw}, {before}), 40) || chr(39)",
                "invalid",
            )
        )
    if col.range_by:
        ranges = indicator_ranges() if ranges is None else ranges
        by = q(col.range_by)

        def per_indicator(pick: Callable[[tuple[float, float, str]], str]) -> str:
            whens = " ".join(f"WHEN {lit(code)} THEN {pick(r)}" for code, r in sorted(ranges.items()))
            return f"CASE {by} {whens} ELSE {pick((*DEFAULT_RANGE, ''))} END" if whens else pick((*DEFAULT_RANGE, ""))

        lo, hi = per_indicator(lambda r: str(float(r[0]))), per_indicator(lambda r: str(float(r[1])))
        shown = f"{per_indicator(lambda r: lit(_bound(r[0])))} || ', ' || {per_indicator(lambda r: lit(_bound(r[1])))}"
        where = per_indicator(lambda r: lit(f" ({r[2]})" if r[2] else ""))
        checks.append(
            (
                f"{val} IS NOT NULL AND NOT ({val} BETWEEN {lo} AND {hi})",
                f"{lit(name + ' ')} || {as_text} || ' is outside [' || {shown} || '] for indicator ' || {by}"
                f" || {where}",
                "out_of_range",
            )
        )
    if col.type != "text":
        bad = f"{val} = -1" if col.type == "level" else f"{val} IS NULL"
        reason = quoted_raw + lit(f"' is not a valid {TYPE_WORDS[col.type]}")
        checks.append((f"{raw} IS NOT NULL AND {bad}", reason, "invalid"))
    if col.allowed:
        allowed = ", ".join(lit(a) for a in col.allowed)
        reason = quoted_raw + lit("' is not one of " + ", ".join(map(str, col.allowed)))
        checks.append((f"{val} IS NOT NULL AND {val} NOT IN ({allowed})", reason, "not_allowed"))
    if col.min is not None:
        word = "negative" if col.min == 0 else f"below {col.min}"
        checks.append((f"{val} < {col.min}", f"{lit(name + ' is ' + word + ' (')} || {as_text} || ')'", "negative"))
    return checks


def parse_select(
    contract: SourceContract,
    relation_sql: str,
    year: int | None,
    file_id: int,
    delimiter: str,
    native: Collection[str] = (),
    ranges: Ranges | None = None,
) -> str:
    """One SELECT that types every column and names each violation of the contract in `__reason`; the columns in
    `native` arrive typed (OpenedFile.native), the others as text."""
    raw_cols = ", ".join(f"{q(c.name)} AS {q(c.name + '__raw')}" for c in contract.columns)
    typed_cols = ", ".join(f"{typed_expr(c, c.name in native)} AS {q(c.name)}" for c in contract.stored_columns)
    checks: list[tuple[str, str, str]] = [("__reader_reason IS NOT NULL", "__reader_reason", "invalid")]
    for col in contract.columns:
        checks.extend(column_checks(col, col.name in native, ranges))
    if year is not None and contract.year_column:
        yc = q(contract.year_column)
        checks.append(
            (
                f"{yc} IS NOT NULL AND {yc} <> {year}",
                f"'{contract.year_column} ' || {yc} || ' is not the year of its folder ({year})'",
                "wrong_year",
            )
        )
    if year is not None and contract.year_from:
        yc = q(contract.year_from)
        checks.append(
            (
                f"{yc} IS NOT NULL AND year({yc}) <> {year}",
                f"'{contract.year_from} ' || strftime({yc}, '%Y-%m-%d') "
                f"|| ' is not in the year of its folder ({year})'",
                "wrong_year",
            )
        )
    if contract.agency_column:
        ac = q(contract.agency_column)
        checks.append(
            (
                f"{ac} IS NOT NULL AND {ac} NOT IN (SELECT agency_code FROM {REGISTRY_TABLE})",
                f"'unknown agency ' || {shown(ac)} || ' (not in the agency registry)'",
                "unknown_agency",
            )
        )
    lookups: list[str] = []  # a key looked up once per row, in `keyed` (a check is evaluated twice: reason, rule)
    for col in contract.columns:
        if col.key_of:  # a rating names a dossier of the log (any year): else it belongs to no agency
            table, key, label = key_target(load_sources(), col)
            c, unknown = q(col.name), q(f"__unknown_{col.name}")
            # Only the keys this file names are looked up: a hash of the whole log per file cost ~1 s.
            lookups.append(
                f"{c} IS NOT NULL AND {c} NOT IN (SELECT {q(key)} FROM {table} WHERE {q(key)} IN "
                f"(SELECT {c} FROM typed)) AS {unknown}"
            )
            checks.append((unknown, f"'unknown {key} ' || {shown(c)} || {lit(f' (not in {label})')}", "unknown_key"))
    for rule in contract.rules:
        checks.append((f"coalesce({rule.when}, false)", lit(rule.reason), "rule"))
    reason = "nullif(concat_ws('; ', " + ", ".join(f"CASE WHEN {c} THEN {r} END" for c, r, _ in checks) + "), '')"
    rule = "coalesce(" + ", ".join(f"CASE WHEN {c} THEN {lit(k)} END" for c, _, k in checks) + ")"
    raw_text = (
        f"regexp_replace(concat_ws({lit(delimiter)}, "
        + ", ".join(
            "'***'" if c.personal else f"coalesce(CAST({q(c.name + '__raw')} AS VARCHAR), '')" for c in contract.columns
        )
        + f"), {lit(CONTROL_IN_TEXT)}, '\ufffd', 'g')"
    )
    stored = ", ".join(q(c.name) for c in contract.stored_columns)
    agency_raw = (contract.agency_column or "agency_code") + "__raw"
    agency = q(agency_raw) if agency_raw[:-5] in {c.name for c in contract.columns} else "NULL::VARCHAR"
    labels = "".join(
        f", {q(c.name + '__raw')} AS {q(c.keep_label_as)}" for c in contract.stored_columns if c.keep_label_as
    )
    return f"""
WITH raw AS (SELECT {raw_cols}, __line, __reader_reason FROM ({relation_sql})),
typed AS (SELECT *, {typed_cols} FROM raw),
keyed AS (SELECT *{"".join(", " + lookup for lookup in lookups)} FROM typed),
checked AS (SELECT *, {reason} AS __reason, {rule} AS __rule FROM keyed)
SELECT {file_id}::INTEGER AS __file_id, CAST(__line AS BIGINT) AS __line, {stored}{labels},
       __reason, __rule, CASE WHEN __reason IS NOT NULL THEN left({raw_text}, 2000) END AS __raw,
       regexp_replace({agency}, {lit(CONTROL)}, '\ufffd', 'g') AS __agency
FROM checked"""


def context_hash(con: duckdb.DuckDBPyConnection, contract: SourceContract, ranges: Ranges | None = None) -> str:
    """What a loaded file's result depends on besides its bytes: its contract, the value ranges it is checked
    against and, if checked, the registry."""
    parts = [repr(contract)]
    if any(c.range_by for c in contract.columns):
        # as before rubrics declared ranges: (min, max) pairs, so a file loaded then is not reloaded for nothing
        parts.append(
            repr(
                sorted(
                    (code, (lo, hi) if not where else (lo, hi, where))
                    for code, (lo, hi, where) in (indicator_ranges() if ranges is None else ranges).items()
                )
            )
        )
    if contract.agency_column:
        parts.append(
            str(
                con.execute(
                    f"SELECT coalesce(sum(hash(agency_code)), 0) || '-' || count(*) FROM {REGISTRY_TABLE}"
                ).fetchone()[0]
            )
        )
    # The keys a `key_of` column must name (a rating's dossiers) are not part of it: `_files_whose_keys_moved`.
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def key_state(con: duckdb.DuckDBPyConnection, contract: SourceContract) -> str | None:
    """The fingerprint of the keys `contract`'s `key_of` columns must name, or None when it has none: per column,
    the key table's rows per source file (count and hash sum of the keys), as JSON. Per file, so that a later load
    tells keys that only came (new files) from keys that may have gone (a file changed or went)."""
    state = {}
    for col in contract.columns:
        if col.key_of:
            table, key, _ = key_target(load_sources(), col)
            state[col.name] = con.execute(
                f"SELECT coalesce(source_file, ''), count(*), sum(hash({q(key)}))::VARCHAR FROM {table} "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
    return json.dumps(state, separators=(",", ":")) if state else None


def _keys_may_have_gone(before: str, now: str, column: str) -> bool:
    """Whether a key of `column` may have gone between two key states: a file's keys changed or the file went
    (True too when the earlier state is of another form: a warehouse from before per-file states)."""
    try:
        earlier = {f: (n, h) for f, n, h in json.loads(before)[column]}
    except (ValueError, KeyError, TypeError):
        return True
    current = {f: (n, h) for f, n, h in json.loads(now)[column]}
    return any(current.get(f) != counted for f, counted in earlier.items())


def _files_whose_keys_moved(
    con: duckdb.DuckDBPyConnection, contract: SourceContract, year: int | None, state: str, kept: list[str]
) -> set[str]:
    """Of the loaded files `kept` (not read again otherwise), those whose result the keys' change since their load
    can alter: a file with a quarantined row whose key came or went (its reason changes, or it loads), or with a
    quarantined row whose key was not recorded (`quarantined_keys`: a warehouse from before it), and, when a key
    may have gone (`_keys_may_have_gone`), a file with a staged row whose key went. Nothing when the keys are as at
    the year's last load, so a night's new dossiers do not reload the year's ratings, nor a file whose unknown keys
    are still unknown."""
    year_filter = "year IS NULL" if year is None else f"year = {year}"
    stg_year_filter = "TRUE" if year is None else f"year = {year}"
    stored = con.execute(f"SELECT state FROM key_states WHERE source = ? AND {year_filter}", [contract.name]).fetchall()
    if stored == [(state,)] or not kept:
        return set()
    files = {
        f
        for (f,) in con.execute(
            f"SELECT DISTINCT file FROM quarantine AS r WHERE source = ? AND {year_filter} "
            f"AND rule NOT IN ({', '.join(lit(r) for r in KEYLESS_RULES)}) AND NOT EXISTS (SELECT 1 FROM "
            "quarantined_keys AS k WHERE k.source = r.source AND k.year IS NOT DISTINCT FROM r.year "
            "AND k.file = r.file AND k.line = r.line)",
            [contract.name],
        ).fetchall()
    }
    for col in contract.columns:
        if col.key_of:
            table, key, _ = key_target(load_sources(), col)
            named = f"SELECT * FROM quarantined_keys WHERE source = ? AND {year_filter} AND key_column = ?"
            files |= {
                f
                for (f,) in con.execute(
                    f"""WITH named AS ({named} AND key_value IS NOT NULL),
                    present AS ({_present_keys(table, key, "named")})
                    SELECT DISTINCT file FROM named
                    WHERE known IS DISTINCT FROM (key_value IN (SELECT key_value FROM present))""",
                    [contract.name, col.name],
                ).fetchall()
            }
            if len(stored) != 1 or _keys_may_have_gone(stored[0][0], state, col.name):
                files |= {
                    f
                    for (f,) in con.execute(
                        f"SELECT DISTINCT source_file FROM {contract.table} WHERE {stg_year_filter} "
                        f"AND {q(col.name)} IS NOT NULL AND {q(col.name)} NOT IN (SELECT {q(key)} FROM {table})"
                    ).fetchall()
                }
    return files & set(kept)


def _present_keys(table: str, key: str, among: str) -> str:
    """The keys of relation `among` (its `key_value` column, text) that the key table holds: only those are looked
    up, not the whole table hashed."""
    return (
        f"SELECT CAST({q(key)} AS VARCHAR) AS key_value FROM {table} "
        f"WHERE CAST({q(key)} AS VARCHAR) IN (SELECT key_value FROM {among})"
    )


def _record_quarantined_keys(con: duckdb.DuckDBPyConnection, contract: SourceContract, year: int | None) -> None:
    """Each parsed row quarantined here (its reason, or a duplicate), with the key it names in each `key_of` column
    and whether the key table holds it now, as its check saw it (read by `_files_whose_keys_moved`)."""
    for col in contract.columns:
        if col.key_of:
            table, key, _ = key_target(load_sources(), col)
            c = q(col.name)
            con.execute(f"""
INSERT INTO quarantined_keys
WITH quarantined AS (
    SELECT p.__file_id, p.__line, CAST(p.{c} AS VARCHAR) AS key_value
    FROM {PARSED} AS p LEFT JOIN egov_dups AS d USING (__file_id, __line)
    WHERE p.__reason IS NOT NULL OR d.__file_id IS NOT NULL
),
present AS ({_present_keys(table, key, "quarantined")})
SELECT {lit(contract.name)}, {year if year is not None else "NULL"}, f.file, p.__line, {lit(col.name)},
       p.key_value, CASE WHEN p.key_value IS NOT NULL THEN p.key_value IN (SELECT key_value FROM present) END
FROM quarantined AS p JOIN egov_files AS f ON f.file_id = p.__file_id""")


def _record_key_state(con: duckdb.DuckDBPyConnection, contract: SourceContract, year: int | None, state: str) -> None:
    year_filter = "year IS NULL" if year is None else f"year = {year}"
    con.execute(f"DELETE FROM key_states WHERE source = ? AND {year_filter}", [contract.name])
    con.execute("INSERT INTO key_states VALUES (?, ?, ?)", [contract.name, year, state])


def ingest(
    con: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    raw_dir: Path,
    year: int | None,
    *,
    full_refresh: bool = False,
    log: Callable[[str], None] = lambda _msg: None,
) -> IngestReport:
    """Bring staging in line with the raw files of one source and year.

    Files whose size, modification time and context are unchanged since their last load are kept as loaded,
    so a night with one new file reads that file only; `full_refresh` reloads the whole partition. A source with
    records that change may then read again files of other years (see _ingest_year), each year once per file
    that went or changed in bytes: a queue, not a recursion, so the years never re-read one another in turn.
    """
    report, queue = _ingest_year(con, contract, raw_dir, year, full_refresh=full_refresh, log=log)
    while queue:
        other = queue.pop(0)
        log(
            f"{contract.folder}/{other}: read again, a file of another year changed or went (its superseded "
            "versions may be the record again)"
        )
        _, more = _ingest_year(con, contract, raw_dir, other, full_refresh=False, log=log)
        report.other_years.add(other)
        queue += [y for y in more if y not in queue]
    return report


def _ingest_year(
    con: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    raw_dir: Path,
    year: int | None,
    *,
    full_refresh: bool,
    log: Callable[[str], None],
) -> tuple[IngestReport, list[int]]:
    """`ingest` for one year; returns its report and the other years whose files it marked to read again."""
    report = IngestReport(contract.name, year)
    entries = list_raw_files(raw_dir, contract, year)
    # the value ranges of the year: its rubric's assessed_indicators, the thresholds file (data dir = raw_dir/..)
    ranges = indicator_ranges(Path(raw_dir).parent, year) if any(c.range_by for c in contract.columns) else None
    ctx = context_hash(con, contract, ranges)
    year_filter = "year IS NULL" if year is None else f"year = {year}"
    stg_year_filter = "TRUE" if year is None else f"year = {year}"
    previous = {
        f: (size, mtime, h)
        for f, size, mtime, h in con.execute(
            f"SELECT file, file_size, file_mtime_ns, context_hash FROM ingested_files "
            f"WHERE source = ? AND {year_filter}",
            [contract.name],
        ).fetchall()
    }
    changed: list[RawEntry] = []
    # A loaded file whose bytes changed (not a file marked REREAD, nor one whose context alone changed: a new
    # contract or registry reaches every year as it runs; a rule that now quarantines a newer version gives back an
    # older one of another year when that year is reloaded, `egov backfill`): the versions it superseded may come
    # back.
    modified = False
    stats: dict[str, os.stat_result] = {}
    for e in entries:
        st = stats[e.name] = os.lstat(e.path) if e.refused else e.path.stat()  # a refused link is not followed
        if full_refresh or previous.get(e.name) != (st.st_size, st.st_mtime_ns, ctx):
            changed.append(e)
            modified = modified or (
                e.name in previous
                and previous[e.name][2] != REREAD
                and previous[e.name][:2] != (st.st_size, st.st_mtime_ns)
            )
    gone = set(previous) - {e.name for e in entries}
    keys = key_state(con, contract)
    if keys is not None and not full_refresh:  # the files a key that came or went can change are read again
        moved = _files_whose_keys_moved(con, contract, year, keys, [e.name for e in entries if e not in changed])
        if moved:
            log(f"{contract.folder}/{year}: {len(moved)} file(s) read again: keys they name came or went")
        changed += [e for e in entries if e.name in moved]
    # Records that change are resolved across every year of the source (a dossier whose reception date was
    # corrected moves to another year's folder): when a file went or changed, the files of other years holding
    # superseded versions are read again after this year's load, since one of them may be the record again.
    reread_years: list[int] = []
    if contract.version and year is not None and (gone or modified):
        reread_years = [
            y
            for (y,) in con.execute(
                "SELECT DISTINCT year FROM ingested_files WHERE source = ? AND year <> ? AND rows_superseded > 0 "
                "ORDER BY year",
                [contract.name, year],
            ).fetchall()
        ]
    if (
        contract.version
        and not full_refresh
        and (gone or any(e.name in previous for e in changed))
        and con.execute(
            f"SELECT count(*) FROM ingested_files WHERE source = ? AND {year_filter} AND rows_superseded > 0",
            [contract.name],
        ).fetchone()[0]
    ):
        # A file of a versioned source changed or went while some rows of the year are superseded: a version it
        # superseded may be the record again, and that row is no longer staged. Reading the year's files again is
        # the one exact answer (with nothing superseded, nothing can come back: the usual reload of its files).
        log(
            f"{contract.folder}/{year}: a file changed or was removed; every file of the year is read again "
            "(records that change: the latest version of each key)"
        )
        full_refresh, changed = True, list(entries)
    stale = [e.name for e in changed] + sorted(gone)
    report.skipped_unchanged = len(entries) - len(changed)

    try:
        parsed = _parse_files(con, contract, year, changed, ranges) if changed else []
        if parsed and any(c.refers_to for c in contract.columns):
            _check_links(con, contract, year, [] if full_refresh else stale, full_refresh)
        with transaction(con):
            # A full refresh may give a duplicate to another file: every file's facts are counted again.
            if full_refresh:
                con.execute(f"DELETE FROM {contract.table} WHERE {stg_year_filter}")
                for table in ("quarantine", "quarantined_keys"):
                    con.execute(f"DELETE FROM {table} WHERE source = ? AND {year_filter}", [contract.name])
                con.execute(f"DELETE FROM ingested_files WHERE source = ? AND {year_filter}", [contract.name])
                con.execute(f"DELETE FROM file_facts_built WHERE source = ? AND {year_filter}", [contract.name])
            elif stale:
                con.execute("CREATE OR REPLACE TEMP TABLE egov_stale AS SELECT unnest(?::VARCHAR[]) AS file", [stale])
                con.execute(
                    f"DELETE FROM {contract.table} WHERE {stg_year_filter} "
                    f"AND source_file IN (SELECT file FROM egov_stale)"
                )
                for table in ("quarantine", "quarantined_keys", "ingested_files"):
                    con.execute(
                        f"DELETE FROM {table} WHERE source = ? AND {year_filter} "
                        f"AND file IN (SELECT file FROM egov_stale)",
                        [contract.name],
                    )
                con.execute(
                    f"DELETE FROM file_facts_built WHERE source = ? AND {year_filter} "
                    f"AND source_file IN (SELECT file FROM egov_stale)",
                    [contract.name],
                )
            if changed:
                _load_files(con, contract, year, changed, stats, report, ctx, log, parsed)
            if keys is not None:
                _record_key_state(con, contract, year, keys)
            if reread_years:  # marked in this transaction: a crash before they are read leaves them to read
                con.execute(
                    f"UPDATE ingested_files SET context_hash = {lit(REREAD)} WHERE source = ? "
                    "AND list_contains(?, year) AND rows_superseded > 0",
                    [contract.name, reread_years],
                )
    finally:
        con.execute(
            "DROP TABLE IF EXISTS egov_dups; DROP TABLE IF EXISTS egov_files; DROP TABLE IF EXISTS egov_stale; "
            "DROP TABLE IF EXISTS egov_superseded; DROP TABLE IF EXISTS egov_versions"
        )
        _release_scratch(con)
    report.quarantined_by_rule = dict(
        con.execute(
            f"SELECT rule, count(*) FROM quarantine WHERE source = ? AND {year_filter} GROUP BY rule ORDER BY rule",
            [contract.name],
        ).fetchall()
    )
    return report, reread_years


@dataclass
class _ParsedFile:
    """What parsing one raw file into PARSED left for the loader: the file as opened, or why it was rejected."""

    file_id: int
    opened: OpenedFile | None = None
    rejected: str | None = None
    rejects: list[tuple[int, str, str]] = field(default_factory=list)


def _empty_relation(contract: SourceContract) -> str:
    """A relation of the shape every reader produces, without rows: gives PARSED its columns before any file."""
    cols = ", ".join(f"NULL::VARCHAR AS {q(c.name)}" for c in contract.columns)
    return f"SELECT {cols}, 0::BIGINT AS __line, NULL::VARCHAR AS __reader_reason WHERE false"


def _parse_files(
    con: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    year: int | None,
    files: list[RawEntry],
    ranges: Ranges | None = None,
) -> list[_ParsedFile]:
    """Type and check every file into PARSED, several files at a time (one DuckDB connection each).

    A file's parse keeps record order to number its lines, which holds one query to about one core; files are
    independent, so as many files run at once as DuckDB has threads (at most MAX_PARSE_WORKERS). Runs before the
    loader's transaction opens, so that transaction sees every parsed row; it only writes PARSED (and reads the
    agency registry).
    """
    install_parsers(con)
    con.execute(f"ATTACH ? AS {SCRATCH}", [_scratch_location(con, files)])
    con.execute(
        f"CREATE OR REPLACE TABLE {PARSED} AS "
        + parse_select(contract, _empty_relation(contract), year, 0, ",", ranges=ranges)
    )
    threads = int(con.execute("SELECT current_setting('threads')").fetchone()[0])
    workers = max(1, min(len(files), threads, MAX_PARSE_WORKERS))
    with tempfile.TemporaryDirectory(prefix="egov-ingest-") as tmp:

        def parse(item: tuple[int, RawEntry]) -> _ParsedFile:
            file_id, entry = item
            if entry.refused:
                return _ParsedFile(file_id, rejected=f"file rejected: the file {entry.refused}")
            cur = con.cursor()
            try:
                return _parse_file(cur, contract, entry.path, year, file_id, Path(tmp), ranges)
            finally:
                cur.close()

        if workers == 1:
            parsed = [parse(item) for item in enumerate(files)]
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="egov-parse") as pool:
                parsed = list(pool.map(parse, enumerate(files)))
        # Line numbers are settled one file at a time, while the decoded copies still exist (see record_lines).
        for p in parsed:
            if p.opened is not None:
                try:
                    if p.opened.file_format == "csv":
                        p.rejects = _place_records_on_physical_lines(con, p.file_id, p.opened, p.rejects)
                        p.rejects += p.opened.oversized
                except FileRejected as exc:
                    con.execute(f"DELETE FROM {PARSED} WHERE __file_id = ?", [p.file_id])
                    p.rejected, p.rejects = f"file rejected: the file {exc}", []
                for extra in p.opened.cleanup:
                    extra.unlink(missing_ok=True)
    return parsed


def _scratch_location(con: duckdb.DuckDBPyConnection, files: list[RawEntry]) -> str:
    """':memory:', or a new scratch database file in the warehouse's temp directory when the files' bytes exceed
    SCRATCH_FILE_RATIO × the memory limit (see SCRATCH)."""
    temp_dir = con.execute("SELECT current_setting('temp_directory')").fetchone()[0]
    raw_bytes = sum(e.path.stat().st_size for e in files if not e.refused)
    if not temp_dir or raw_bytes <= SCRATCH_FILE_RATIO * memory_limit_bytes(con):
        return ":memory:"
    path = Path(temp_dir) / "egov_scratch.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    for old in (path, path.with_name(path.name + ".wal")):
        old.unlink(missing_ok=True)
    return str(path)


def _release_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """Detach the parsed rows' database, removing its file when it had one."""
    found = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = ?", [SCRATCH]).fetchone()
    if found is None:
        return
    con.execute(f"DETACH {SCRATCH}")
    if found[0]:
        for path in (Path(found[0]), Path(found[0] + ".wal")):
            path.unlink(missing_ok=True)


def _parse_file(
    cur: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    path: Path,
    year: int | None,
    file_id: int,
    tmp: Path,
    ranges: Ranges | None = None,
) -> _ParsedFile:
    """Parse one file into PARSED, or say why the whole file is rejected (without quoting a personal source)."""
    try:
        opened = open_raw_file(cur, path, contract, tmp)
        if opened.file_format == "csv":
            cur.execute("DROP TABLE IF EXISTS egov_rej_errors; DROP TABLE IF EXISTS egov_rej_scans")
        select = parse_select(contract, opened.relation_sql, year, file_id, opened.delimiter, opened.native, ranges)
        cur.execute(f"INSERT INTO {PARSED} " + select, opened.params)  # one statement: all rows or none
        rejects = read_structural_rejects(cur, opened) if opened.file_format == "csv" else []
    except (FileRejected, *FILE_ERRORS) as exc:
        cur.execute(f"DELETE FROM {PARSED} WHERE __file_id = ?", [file_id])  # a rejected file has no rows
        if isinstance(exc, FileRejected):
            return _ParsedFile(file_id, rejected=f"file rejected: the file {exc}")
        first = (str(exc).splitlines() or [""])[0].replace(str(path), path.name)[:300]
        detail = type(exc).__name__ if contract.has_personal_data else f"{type(exc).__name__}: {first}"
        return _ParsedFile(file_id, rejected=f"file rejected: the file could not be read ({detail})")
    return _ParsedFile(file_id, opened=opened, rejects=rejects)  # its decoded copies are removed by the caller


def _load_files(
    con: duckdb.DuckDBPyConnection,
    contract: SourceContract,
    year: int | None,
    files: list[RawEntry],
    stats: dict[str, os.stat_result],
    report: IngestReport,
    ctx: str,
    log: Callable[[str], None],
    parsed: list[_ParsedFile],
) -> None:
    con.execute("CREATE OR REPLACE TEMP TABLE egov_files (file_id INTEGER, file VARCHAR)")
    con.executemany("INSERT INTO egov_files VALUES (?, ?)", [[i, e.name] for i, e in enumerate(files)])
    per_file: dict[int, FileReport] = {}
    created = False
    for p in parsed:
        entry = files[p.file_id]
        if p.rejected is not None:
            log(f"{entry.name}: {p.rejected}")
            fmt = None if entry.refused else file_format(entry.path)
            per_file[p.file_id] = FileReport(entry.name, fmt, None, "rejected", p.rejected)
            con.execute(
                "INSERT INTO quarantine VALUES (?, ?, ?, 0, ?, NULL, ?, NULL)",
                [contract.name, year, entry.name, p.rejected, FILE_REJECTED],
            )
            continue
        created = True
        if p.rejects:
            con.executemany(
                "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                [
                    [contract.name, year, entry.name, line, reason, UNREADABLE_RECORD, raw]
                    for line, reason, raw in p.rejects
                ],
            )
        opened = p.opened
        per_file[p.file_id] = FileReport(
            entry.name,
            opened.file_format,
            opened.encoding,
            "loaded",
            "; ".join(opened.notes),
            rows_read=len(p.rejects),
            rows_quarantined=len(p.rejects),
        )
    if created:
        report.other_years |= _dedupe_and_insert(con, contract, year)
        _record_quarantined_keys(con, contract, year)
        counts = con.execute(
            "SELECT __file_id, count(*), count(*) FILTER (WHERE __reason IS NOT NULL OR d.__file_id IS NOT NULL), "
            f"count(o.__file_id) FROM {PARSED} p LEFT JOIN egov_dups d USING (__file_id, __line) "
            "LEFT JOIN egov_superseded o USING (__file_id, __line) GROUP BY ALL"
        ).fetchall()
        for file_id, read, quarantined, superseded in counts:
            fr = per_file[file_id]
            fr.rows_read += read
            fr.rows_quarantined += quarantined
            fr.rows_superseded += superseded
    for _, fr in sorted(per_file.items()):
        fr.rows_loaded = fr.rows_read - fr.rows_quarantined - fr.rows_superseded
        st = stats[fr.file]
        con.execute(
            "INSERT INTO ingested_files (source, year, file, file_format, encoding, status, message, rows_read, "
            "rows_loaded, rows_quarantined, file_size, file_mtime_ns, context_hash, rows_superseded) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                contract.name,
                year,
                fr.file,
                fr.file_format,
                fr.encoding,
                fr.status,
                fr.message or None,
                fr.rows_read,
                fr.rows_loaded,
                fr.rows_quarantined,
                st.st_size,
                st.st_mtime_ns,
                ctx,
                fr.rows_superseded,
            ],
        )
        report.files.append(fr)
        if fr.status == "loaded":
            log(
                f"{fr.file}: {fr.rows_read:,} rows read, {fr.rows_loaded:,} loaded, "
                f"{fr.rows_quarantined:,} quarantined"
                + (f", {fr.rows_superseded:,} superseded by later versions" if fr.rows_superseded else "")
                + (f" ({fr.message})" if fr.message else "")
            )


def _place_records_on_physical_lines(
    con: duckdb.DuckDBPyConnection, file_id: int, opened: OpenedFile, rejects: list[tuple[int, str, str]]
) -> list[tuple[int, str, str]]:
    """Give a CSV's good records and rejects the physical line they start on.

    One record per line (the usual export) is the fast path. Blank lines or line breaks inside quoted fields
    make DuckDB's record numbers drift from the file's lines; then one pass over the file maps them back. When
    that pass and DuckDB disagree on the records even by DuckDB's quoting rules, DuckDB skipped some (broken
    quoting: a field it read as swallowing many lines, cut at its buffer's end): the file is rejected rather
    than loaded without them.
    """
    good = con.execute(f"SELECT count(*) FROM {PARSED} WHERE __file_id = ?", [file_id]).fetchone()[0]
    if opened.physical_lines == 1 + good + len(rejects):
        if rejects:
            _place_records_between_rejects(con, file_id, [line for line, _, _ in rejects])
        return rejects
    rejected = {line for line, _, _ in rejects}
    for exact in (False, True):  # the quick scan, then (if it disagrees with DuckDB) one that follows its quoting
        records, open_quote = record_lines(opened.readable or opened.path, opened.delimiter, exact)
        physical = dict(records)
        good_lines = [p for logical, p in records if logical not in rejected]
        if len(good_lines) == good and rejected <= physical.keys():
            break
    else:  # DuckDB lost records (or made some up): keeping its count would hide them
        why = (
            f"the last of them opens a quote on line {records[-1][1]} that never closes"
            if open_quote and records
            else "a quote never closed, text after a closing quote, or a cell over 1 MB?"
        )
        raise FileRejected(
            f"cannot be split into records reliably: the CSV reader read {good + len(rejects):,} records where a "
            f"scan of its lines finds {len(records):,} ({why}); nothing of it loaded: fix it and send it again"
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE egov_lines AS SELECT unnest(?::BIGINT[]) AS physical, "
        "generate_subscripts(?::BIGINT[], 1) + 1 AS line",
        [good_lines, good_lines],
    )
    con.execute(
        f"UPDATE {PARSED} AS p SET __line = l.physical FROM egov_lines AS l "
        "WHERE p.__file_id = ? AND p.__line = l.line",
        [file_id],
    )
    con.execute("DROP TABLE egov_lines")
    return [(physical.get(line, line), reason, raw) for line, reason, raw in rejects]


def _place_records_between_rejects(con: duckdb.DuckDBPyConnection, file_id: int, reject_lines: list[int]) -> None:
    """Good record k sits on line k + 1 + (rejected lines before it): shift lines past each rejected one."""
    gaps = [line - 1 - j for j, line in enumerate(sorted(reject_lines), start=1)]  # good records before reject j
    con.execute("CREATE OR REPLACE TEMP TABLE egov_gaps AS SELECT unnest(?::BIGINT[]) AS good_before", [gaps])
    con.execute(
        f"UPDATE {PARSED} SET __line = __line + (SELECT count(*) FROM egov_gaps WHERE good_before < __line - 1) "
        "WHERE __file_id = ?",
        [file_id],
    )
    con.execute("DROP TABLE egov_gaps")


def _stored_raw(contract: SourceContract, alias: str) -> str:
    """A quarantined row's raw text rebuilt from its stored (typed, non-personal) columns."""
    return (
        "concat_ws(',', "
        + ", ".join(f"coalesce(CAST({alias}.{q(c.name)} AS VARCHAR), '')" for c in contract.stored_columns)
        + ")"
    )


def _check_links(
    con: duckdb.DuckDBPyConnection, contract: SourceContract, year: int | None, stale: list[str], full_refresh: bool
) -> None:
    """Quarantine parsed rows whose link column (`refers_to`, e.g. a commune's parent_code) names the row itself,
    no row of the source, or a chain that comes back to where it started (A merged into B, B into A).

    Runs on the parsed rows before the load's transaction (it writes only PARSED); the rows it may link to are
    the parsed rows and the staged rows of files this load keeps. A link to a row quarantined for another reason
    is kept: quarantining every commune of a district whose own row has a bad date would hide them all, while
    that row is already reported.
    """
    stg_year_filter = "TRUE" if year is None else f"year = {year}"
    kept = "FALSE" if full_refresh else f"{stg_year_filter} AND source_file NOT IN (SELECT unnest(?::VARCHAR[]))"
    params = [] if full_refresh else [stale]
    for col in contract.columns:
        if not col.refers_to:
            continue
        key, link = q(col.refers_to), q(col.name)
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE egov_links AS
WITH RECURSIVE
parsed AS (SELECT __file_id, __line, __reason, {key} AS node, {link} AS next FROM {PARSED}),
staged AS (SELECT {key} AS node, {link} AS next FROM {contract.table} WHERE {kept}),
known AS (SELECT node FROM parsed UNION SELECT node FROM staged),
edges AS (
    SELECT DISTINCT node, next FROM (SELECT node, next FROM parsed UNION ALL SELECT node, next FROM staged)
    WHERE node IS NOT NULL AND next IS NOT NULL AND next <> node
),
-- Follow each link chain until it returns to its start (a cycle) or to a code seen before on it (it stops).
walk(start, node, path) AS (
    SELECT node, next, [node, next] FROM edges
    UNION ALL
    SELECT w.start, e.next, list_append(w.path, e.next)
    FROM walk AS w JOIN edges AS e ON e.node = w.node
    WHERE w.node <> w.start AND (e.next = w.start OR NOT list_contains(w.path, e.next))
),
cycles AS (SELECT start, min(array_to_string(path, ' → ')) AS cycle FROM walk WHERE node = start GROUP BY start)
SELECT p.__file_id, p.__line,
       CASE
           WHEN p.next = p.node THEN {lit(col.name + " ")} || p.next || {lit(" is the row's own " + col.refers_to)}
           WHEN p.next NOT IN (SELECT node FROM known)
               THEN {lit(col.name + " ")} || {shown("p.next")}
                    || {lit(f" is not an {col.refers_to} of {contract.label}")}
           WHEN c.cycle IS NOT NULL THEN {lit(col.name + " forms a cycle: ")} || c.cycle
       END AS reason
FROM parsed AS p LEFT JOIN cycles AS c ON c.start = p.node
WHERE p.__reason IS NULL AND p.next IS NOT NULL""",
            params,
        )
        con.execute(f"""
UPDATE {PARSED} AS p SET __reason = l.reason, __rule = 'bad_link', __raw = {_stored_raw(contract, "p")}
FROM egov_links AS l
WHERE l.reason IS NOT NULL AND p.__file_id = l.__file_id AND p.__line = l.__line""")
    con.execute("DROP TABLE IF EXISTS egov_links")


def _dedupe_and_insert(con: duckdb.DuckDBPyConnection, contract: SourceContract, year: int | None) -> set[int]:
    """Keep the first row of each key (by file, line, and rows already staged from other files); returns the other
    years whose staged rows changed (records that change, see _resolve_versions)."""
    stg_year_filter = "TRUE" if year is None else f"s.year = {year}"
    con.execute("CREATE OR REPLACE TEMP TABLE egov_superseded (__file_id INTEGER, __line BIGINT)")
    other_years: set[int] = set()
    if contract.version:
        other_years = _resolve_versions(con, contract, year)
    elif contract.unique:
        keys = ", ".join(q(k) for k in contract.unique)
        key_text = " || '/' || ".join(f"CAST(p.{q(k)} AS VARCHAR)" for k in contract.unique)
        key_name = "/".join(contract.unique)
        join_staged = " AND ".join(f"s.{q(k)} = p.{q(k)}" for k in contract.unique)
        # Rows already staged for the partition (from unchanged files) win over new ones. None after a full refresh
        # (deleted above in this transaction): skip that join, whose planner would still size it on the deleted rows.
        staged = con.execute(f"SELECT count(*) FROM {contract.table} AS s WHERE {stg_year_filter}").fetchone()[0]
        against_staged = (
            f"""
UNION ALL
SELECT p.__file_id, p.__line, {key_text}, s.source_file, s.source_line
FROM {PARSED} AS p JOIN {contract.table} AS s ON {join_staged} AND {stg_year_filter}
WHERE p.__reason IS NULL"""
            if staged
            else ""
        )
        con.execute(f"""
CREATE OR REPLACE TEMP TABLE egov_dups AS
-- Keys are first grouped by their 64-bit hash, then exactly among the few rows whose hash repeats: grouping the
-- text keys of 100M dossiers directly does not fit in a 1 GB memory limit, their hashes do (and are cheaper).
WITH dup_hashes AS (
    SELECT hash({keys}) AS h FROM {PARSED} WHERE __reason IS NULL GROUP BY ALL HAVING count(*) > 1
),
candidates AS (
    SELECT {keys}, __file_id, __line FROM {PARSED}
    WHERE __reason IS NULL AND hash({keys}) IN (SELECT h FROM dup_hashes)
),
dup_keys AS (SELECT {keys} FROM candidates GROUP BY ALL HAVING count(*) > 1),
ranked AS (
    SELECT v.*, row_number() OVER w AS n, first_value(__file_id) OVER w AS first_file,
           first_value(__line) OVER w AS first_line
    FROM candidates AS v SEMI JOIN dup_keys USING ({keys})
    WINDOW w AS (PARTITION BY {keys} ORDER BY __file_id, __line)
)
SELECT p.__file_id, p.__line, {key_text} AS key_value, f.file AS first_file, p.first_line
FROM ranked AS p JOIN egov_files AS f ON f.file_id = p.first_file WHERE n > 1{against_staged}""")
        raw_dup = _stored_raw(contract, "p")
        con.execute(f"""
INSERT INTO quarantine
SELECT {lit(contract.name)}, {year if year is not None else "NULL"}, f.file, d.__line,
       'duplicate {key_name} ' || d.key_value
           || ': the first one is kept (' || d.first_file || ':' || d.first_line || ')',
       p.__agency, 'duplicate', {raw_dup}
FROM egov_dups AS d JOIN {PARSED} AS p USING (__file_id, __line) JOIN egov_files AS f ON f.file_id = d.__file_id""")
    else:
        con.execute("CREATE OR REPLACE TEMP TABLE egov_dups (__file_id INTEGER, __line BIGINT)")
    con.execute(f"""
INSERT INTO quarantine
SELECT {lit(contract.name)}, {year if year is not None else "NULL"}, f.file, p.__line,
       p.__reason, p.__agency, p.__rule, p.__raw
FROM {PARSED} AS p JOIN egov_files AS f ON f.file_id = p.__file_id WHERE p.__reason IS NOT NULL""")
    target_cols = [c.name for c in contract.stored_columns] + [
        c.keep_label_as for c in contract.stored_columns if c.keep_label_as
    ]
    year_col = [] if year is None or "year" in target_cols else ["year"]
    year_val = [] if not year_col else [str(year)]
    insert_cols = ", ".join(q(c) for c in year_col + target_cols + ["source_file", "source_line"])
    select_cols = ", ".join(year_val + [f"p.{q(c)}" for c in target_cols] + ["f.file", "p.__line"])
    con.execute(f"""
INSERT INTO {contract.table} ({insert_cols})
SELECT {select_cols}
FROM {PARSED} AS p JOIN egov_files AS f ON f.file_id = p.__file_id
ANTI JOIN egov_dups AS d ON d.__file_id = p.__file_id AND d.__line = p.__line
ANTI JOIN egov_superseded AS o ON o.__file_id = p.__file_id AND o.__line = p.__line
WHERE p.__reason IS NULL""")
    return other_years


def _resolve_versions(con: duckdb.DuckDBPyConnection, contract: SourceContract, year: int | None) -> set[int]:
    """Records that change (contract `key` + `version`): keep the latest version of each key among the parsed rows
    and the rows staged from files this load keeps, in every year of the source (a record whose year-deciding date
    was corrected arrives in another year's folder; it must not stay staged in both). Returns the other years
    whose staged rows it removed.

    Per key, the rows are ranked by version (a row without one below any with one), then staged before parsed,
    then by file and line, as the duplicate rule keeps the first. Every other row of the key is superseded, unless
    it has the winner's version and other values (quarantined as `conflicting`: the feed sent two states under one
    version) or, like the winner, no version at all (quarantined as a `duplicate`: the rule without versions).
    A staged row can only be superseded (staged rows rank first at equal version): it leaves staging, its file's
    counts in ingested_files move from loaded to superseded, and its per-file facts are counted again.
    Fills egov_dups (parsed rows to quarantine, as the duplicate rule does) and egov_superseded (parsed rows).
    """
    s_year = "NULL::INTEGER" if year is None else "s.year"  # every year of the source: a record may move
    keys = ", ".join(q(k) for k in contract.record_key)
    s_keys = ", ".join(f"s.{q(k)}" for k in contract.record_key)
    key_text = " || '/' || ".join(f"CAST({q(k)} AS VARCHAR)" for k in contract.record_key)
    key_name = "/".join(contract.record_key)
    version = q(contract.version)
    # The values that make two versions the same state: every stored column (personal ones are never stored).
    content = ", ".join(q(c.name) for c in contract.stored_columns)
    s_content = ", ".join(f"s.{q(c.name)}" for c in contract.stored_columns)
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE egov_versions AS
WITH parsed AS (
    SELECT __file_id, __line, NULL::INTEGER AS s_year, NULL::VARCHAR AS s_file, NULL::BIGINT AS s_line, {keys},
           {version} AS v,
           hash({content}) AS c, hash({keys}) AS h
    FROM {PARSED} WHERE __reason IS NULL
),
-- Keys are first matched by their 64-bit hash, as the duplicate rule does: cheap at 100M rows.
many AS (SELECT h FROM parsed GROUP BY h HAVING count(*) > 1),
staged AS (
    SELECT NULL::INTEGER AS __file_id, NULL::BIGINT AS __line, {s_year} AS s_year, s.source_file AS s_file,
           s.source_line AS s_line, {s_keys}, s.{version} AS v, hash({s_content}) AS c, hash({s_keys}) AS h
    FROM {contract.table} AS s WHERE hash({s_keys}) IN (SELECT h FROM parsed)
),
candidates AS (
    SELECT * FROM parsed WHERE h IN (SELECT h FROM many) OR h IN (SELECT h FROM staged)
    UNION ALL
    SELECT * FROM staged
),
ranked AS (
    SELECT *, row_number() OVER w AS n, first_value(v) OVER w AS win_v, first_value(c) OVER w AS win_c,
           first_value(s_file) OVER w AS win_s_file, first_value(__file_id) OVER w AS win_file_id,
           first_value(coalesce(s_line, __line)) OVER w AS win_line
    FROM candidates
    WINDOW w AS (PARTITION BY {keys} ORDER BY v DESC NULLS LAST, s_file IS NULL, s_file, s_line, __file_id, __line)
)
SELECT r.__file_id, r.__line, r.s_year, r.s_file, r.s_line, {key_text} AS key_value, r.v,
       coalesce(r.win_s_file, f.file) || ':' || r.win_line AS winner,
       CASE WHEN r.win_v IS NULL THEN 'duplicate'
            WHEN r.v = r.win_v AND r.c <> r.win_c THEN 'conflicting'
            ELSE 'superseded' END AS outcome
FROM ranked AS r LEFT JOIN egov_files AS f ON f.file_id = r.win_file_id
WHERE r.n > 1""")
    con.execute(f"""
CREATE OR REPLACE TEMP TABLE egov_dups AS
SELECT __file_id, __line, outcome,
       CASE outcome
           WHEN 'duplicate' THEN {lit(f"duplicate {key_name} ")} || key_value
               || ': the first one is kept (' || winner || ')'
           ELSE {lit(f"conflicting {key_name} ")} || key_value || ': version ' || strftime(v, '%Y-%m-%d %H:%M:%S')
               || ' is also in ' || winner || ' with other values: the first one is kept'
       END AS reason
FROM egov_versions WHERE __file_id IS NOT NULL AND outcome <> 'superseded'""")
    con.execute(
        "INSERT INTO egov_superseded SELECT __file_id, __line FROM egov_versions "
        "WHERE __file_id IS NOT NULL AND outcome = 'superseded'"
    )
    con.execute(f"""
INSERT INTO quarantine
SELECT {lit(contract.name)}, {year if year is not None else "NULL"}, f.file, d.__line, d.reason, p.__agency,
       d.outcome, {_stored_raw(contract, "p")}
FROM egov_dups AS d JOIN {PARSED} AS p USING (__file_id, __line) JOIN egov_files AS f ON f.file_id = d.__file_id""")
    # Staged rows superseded by a later version leave staging, in whichever year they were (the same transaction,
    # on the one writer of the warehouse), and count as superseded in their file, whose facts are counted again.
    out = con.execute(
        "SELECT s_year, s_file, count(*) FROM egov_versions WHERE s_file IS NOT NULL GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    if out:
        same_year = "" if year is None else " AND s.year = d.s_year"
        con.execute(
            f"DELETE FROM {contract.table} AS s USING egov_versions AS d "
            f"WHERE d.s_file IS NOT NULL AND s.source_file = d.s_file AND s.source_line = d.s_line{same_year}"
        )
    for s_year_value, file, n in out:
        year_filter = "year IS NULL" if s_year_value is None else f"year = {int(s_year_value)}"
        con.execute(
            f"UPDATE ingested_files SET rows_loaded = rows_loaded - ?, rows_superseded = rows_superseded + ? "
            f"WHERE source = ? AND {year_filter} AND file = ?",
            [n, n, contract.name, file],
        )
        con.execute(
            f"DELETE FROM file_facts_built WHERE source = ? AND {year_filter} AND source_file = ?",
            [contract.name, file],
        )
    return {int(y) for y, _, _ in out if y is not None and y != year}
