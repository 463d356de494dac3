"""The warehouse connection: one DuckDB file, its staging tables and the core's own tables in place on every open.

The layers above create their own tables before they use them (the parsing macros: the loader; the scores, the
scorecard, the row checks' counts: their steps)."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from pipelines.core.registry.methodology import AgencyGroup, standard_agency_groups
from pipelines.core.registry.sources import load_sources
from pipelines.core.staging import staging_schema

T = TypeVar("T")

# The core's own tables (agency groups, quarantine, ingested files, ...) and the agency_years view over stg_agencies.
WAREHOUSE_SQL = Path(__file__).with_suffix(".sql")


# DuckDB's memory limit for the warehouse (its default is 80% of RAM): past it, big intermediates (the parsed dossier
# log, joins, aggregations) spill to the warehouse's temp directory. 900 MB completes 100M ("Issue 17"); unlimited
# costs ~10% less CPU at 3× the RSS.
MEMORY_LIMIT = os.environ.get("EGOV_DUCKDB_MEMORY_LIMIT", "900MB")
# The process's memory budget: each connection's limit is what the budget leaves beside what the process already
# holds, within [MIN_MEMORY_LIMIT, MEMORY_LIMIT]. The Python side grows through a run (the rank uncertainty's
# libraries stay loaded), so one fixed limit either overshoots at the end or starves the ingest (docs/benchmarks.md
# "Issue 29: a memory budget"). 1000MB holds a 100M-dossier run under 1.2 GB and a 10M one near 1.1 GB; a statement
# that still runs out of memory near the limit runs again on one thread (`with_one_thread_if_out_of_memory`).
MEMORY_BUDGET = os.environ.get("EGOV_MEMORY_BUDGET", "1000MB")
MIN_MEMORY_LIMIT = 300 * 10**6
BYTE_UNITS = {
    "bytes": 1,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
}


def byte_size(text: str, name: str) -> int:
    """'1100MB', '1.1 GB', '900MiB' (DuckDB's units) in bytes; `name` (the variable) is named in the error."""
    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*", text)
    units = {unit.lower(): factor for unit, factor in BYTE_UNITS.items()} | {"b": 1}
    if not found or found[2].lower() not in units:
        raise ValueError(f"{name}={text!r} is not a size: write it like 1100MB, 1.5GB or 900MiB")
    return int(float(found[1]) * units[found[2].lower()])


def process_rss_bytes() -> int | None:
    """What this process holds in memory now (Linux's /proc; None elsewhere, where the budget is not applied)."""
    try:
        resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def budgeted_memory_limit(cap: int, budget: int, held: int | None) -> int:
    """The limit a new connection gets: the budget minus what the process holds, at most `cap`, at least
    MIN_MEMORY_LIMIT (below it DuckDB spills more than it saves; the budget is a target, not a guarantee)."""
    if held is None:
        return cap
    return max(min(cap, budget - held), min(MIN_MEMORY_LIMIT, cap))


def set_memory_limit(con: duckdb.DuckDBPyConnection) -> int:
    """Give the connection its share of the budget (see MEMORY_BUDGET); returns the limit in bytes."""
    con.execute("SET memory_limit = ?", [MEMORY_LIMIT])  # DuckDB reads the cap: any unit it accepts
    cap = int(memory_limit_bytes(con))
    limit = budgeted_memory_limit(cap, byte_size(MEMORY_BUDGET, "EGOV_MEMORY_BUDGET"), process_rss_bytes())
    if limit < cap:
        con.execute("SET memory_limit = ?", [f"{limit // 2**20}MiB"])
    return limit


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> float:
    """The connection's DuckDB memory limit in bytes ('858.3 MiB' as DuckDB reports it): what the steps that
    hold large arrays outside DuckDB (the load's scratch choice, the uncertainty runs) size themselves by."""
    number, unit = scalar(con, "SELECT current_setting('memory_limit')").split()
    return float(number) * BYTE_UNITS[unit]


def lock_holder(message: str) -> str:
    """'PID 1234' from DuckDB's conflicting-lock message, else a generic phrase."""
    found = re.search(r"PID (\d+)", message)
    return f"PID {found.group(1)}" if found else "an unknown process"


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...]:
    """The one row an aggregate query returns (an error if it returns none, rather than a None to index)."""
    row = con.execute(sql, list(params)).fetchone()
    if row is None:
        raise LookupError(f"no row from: {sql}")
    return row


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first value of the one row an aggregate query returns."""
    return fetch_one(con, sql, params)[0]


# The digest of the schema last applied to a warehouse file: a step's connection checks it (one query) instead of
# running every CREATE of the schema again (~30–80 ms a connection, some 25 connections a run).
SCHEMA_DIGEST_TABLE = "egov_schema_digest"


@cache
def _schema() -> tuple[str, str]:
    """The core's DDL (the staging tables generated from config/sources.yaml, then warehouse.sql) and its digest."""
    ddl = staging_schema(load_sources().values()) + "\n" + WAREHOUSE_SQL.read_text(encoding="utf-8")
    return ddl, hashlib.sha256(ddl.encode()).hexdigest()


def prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Set the memory limit (the connection's share of the budget) and put the core's tables in place: the DDL runs
    when the file's recorded digest differs from this code's (a new file, a new column in a contract), and records it
    last, once everything is in place."""
    set_memory_limit(con)
    ddl, digest = _schema()
    try:
        applied = con.execute(f"SELECT digest FROM {SCHEMA_DIGEST_TABLE}").fetchall()
    except duckdb.CatalogException:
        applied = []
    if applied == [(digest,)]:
        return con
    con.execute(ddl)
    if not scalar(con, "SELECT count(*) FROM agency_groups"):  # a new warehouse: the standard groups
        write_agency_groups(con, standard_agency_groups())
    con.execute(f"CREATE OR REPLACE TABLE {SCHEMA_DIGEST_TABLE} AS SELECT ? AS digest", [digest])  # all in place
    return con


def connect(path: Path | str) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a warehouse file outside Dagster, e.g. in tests and tools."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return prepare(duckdb.connect(str(path)))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Delete-then-insert as one unit: readers of the warehouse never see a year half replaced."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def with_one_thread_if_out_of_memory(
    con: duckdb.DuckDBPyConnection, work: Callable[[], T], log: Callable[[str], None]
) -> T:
    """Run `work` (one transaction: nothing of it stays when it fails), and once more on one thread if DuckDB ran out
    of memory: a join or window near the limit needs memory per thread, so one thread fits where two did not (the QĐ
    766 scoring at 100M dossiers: twice as slow, not a failed night; docs/operators.md "Memory")."""
    try:
        return work()
    except duckdb.OutOfMemoryException as error:
        threads = scalar(con, "SELECT current_setting('threads')")
        if threads <= 1:
            raise
        log(
            f"DuckDB ran out of memory with {threads} threads ({str(error).splitlines()[0]}); trying again on one "
            "thread, which needs less memory and takes longer. Raise EGOV_MEMORY_BUDGET if this happens every night."
        )
        con.execute("SET threads = 1")
        try:
            return work()
        finally:
            con.execute(f"SET threads = {int(threads)}")


def insert_rows(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT `rows` into `columns` of `table` in one statement: each column bound as one list and unnested (the
    values cast to the column's type, as executemany's would be). executemany runs its statement once per row (~1 ms
    each), which made writing a rubric's ~100 rows cost as much as scoring them; one parameter per value is still
    ~5× slower than a list per column."""
    if not rows:
        return
    select = ", ".join(f"unnest(${i})" for i in range(1, len(columns) + 1))
    con.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select}",
        [list(column) for column in zip(*rows, strict=True)],
    )


# The columns of agency_groups (warehouse.sql), in the order write_agency_groups gives them.
AGENCY_GROUP_COLUMNS = ("agency_group", "group_order", "label_vi", "label_en", "sheet_name", "colour")


def write_agency_groups(con: duckdb.DuckDBPyConnection, groups: Iterable[AgencyGroup]) -> int:
    """Refill the warehouse dimension `agency_groups` (pipelines/core/warehouse.sql), so SQL joins it for a group's
    label and order instead of spelling the groups out; returns the rows written. The warehouse starts with the
    standard groups (pipelines/core/warehouse.py); each scoring step writes those of the registry it scores with."""
    rows = [(g.code, g.order, g.label_vi, g.label_en, g.sheet, g.colour) for g in groups]
    with transaction(con):
        con.execute("DELETE FROM agency_groups")
        insert_rows(con, "agency_groups", AGENCY_GROUP_COLUMNS, rows)
    return len(rows)
