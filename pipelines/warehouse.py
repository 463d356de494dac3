"""The warehouse connection: one DuckDB file, its schema and parsing macros applied on every open."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from pipelines.settings import PROJECT_ROOT

SCHEMA_FILES = (
    PROJECT_ROOT / "assets" / "ingestion" / "macros.sql",
    PROJECT_ROOT / "assets" / "ingestion" / "schema.sql",
    PROJECT_ROOT / "assets" / "scorecard" / "sql" / "schema.sql",  # the marts copy its tables even before a scoring
)


# DuckDB's memory limit for the warehouse (its default is 80% of RAM): past it, big intermediates (the parsed dossier
# log, joins, aggregations) spill to the warehouse's temp directory, so a run's peak memory stays about this plus
# the Python side (~0.3 GB). 900 MB keeps a 10M-dossier run under 1.2 GB and completes 100M (docs/benchmarks.md,
# "Issue 17"); unlimited costs ~10% less CPU at 3× the RSS.
MEMORY_LIMIT = os.environ.get("EGOV_DUCKDB_MEMORY_LIMIT", "900MB")
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


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> float:
    """The connection's DuckDB memory limit in bytes ('858.3 MiB' as DuckDB reports it): the budget the steps that
    hold large arrays outside DuckDB (the load's scratch choice, the uncertainty runs) size themselves by."""
    number, unit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0].split()
    return float(number) * BYTE_UNITS[unit]


def sql_literal(value: str | os.PathLike[str] | int | float) -> str:
    """`value` as a SQL literal, where a statement cannot take a bound parameter (a view, a generated expression):
    text and paths in single quotes with every `'` doubled, so a folder, file or code named `O'X` or
    `Z'; COPY ... --` stays one value and never ends the statement; numbers as written. Bind values (`?`) where
    DuckDB allows it (values, ATTACH and COPY paths)."""
    if isinstance(value, str | os.PathLike):
        return "'" + os.fspath(value).replace("'", "''") + "'"
    if isinstance(value, int | float):
        return str(value)
    raise TypeError(f"no SQL literal for a {type(value).__name__}")


def sql_identifier(name: str) -> str:
    """`name` as a quoted SQL identifier (a table, column or attached database), every `"` doubled: names read
    from files, catalogues or codes cannot end the identifier."""
    return '"' + name.replace('"', '""') + '"'


def lock_holder(message: str) -> str:
    """'PID 1234' from DuckDB's conflicting-lock message, else a generic phrase."""
    found = re.search(r"PID (\d+)", message)
    return f"PID {found.group(1)}" if found else "an unknown process"


def prepare(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # Imported here: the registry loads the scoring methods, which quote their SQL with this module.
    from pipelines.registry import standard_agency_groups, write_agency_groups

    con.execute("SET memory_limit = ?", [MEMORY_LIMIT])
    for path in SCHEMA_FILES:
        con.execute(path.read_text(encoding="utf-8"))
    if not con.execute("SELECT count(*) FROM agency_groups").fetchone()[0]:  # a new warehouse: the standard groups
        write_agency_groups(con, standard_agency_groups())
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
