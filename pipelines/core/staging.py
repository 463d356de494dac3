"""The staging tables of the warehouse, generated from the raw source contracts (config/sources.yaml), so a
column's name, type and whether it may be empty are written once: in its contract.

One table per source: its year (partitioned sources), its stored columns in contract order (personal ones never
get here), each `keep_label_as` column right after its column, then `source_file` and `source_line`, which trace
every row back to its raw record. Every column also gets an `ADD COLUMN IF NOT EXISTS`, so a warehouse made before
its contract gained a column (the optional sync columns of the dossier log) gets it on the next open. The loader
inserts by column name, so the order of an older warehouse's columns does not matter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pipelines.core.registry.sources import ColumnContract, ColumnType, SourceContract
from pipelines.core.sql import sql_identifier as q

# The SQL type a contract type is parsed into (assets/ingestion/load.py casts every parsed value to it).
SQL_TYPES: dict[ColumnType, str] = {
    "text": "VARCHAR",
    "int": "BIGINT",
    "decimal": "DOUBLE",
    "flag": "INTEGER",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "level": "INTEGER",
}
# The column holding a partitioned source's year (the partition the loader replaces).
YEAR = "year"
# The values a flag and a service level are staged as: their parsers (assets/ingestion/macros.sql egov_flag,
# egov_level) yield no other, and the loader quarantines what they cannot read.
TYPE_VALUES: dict[ColumnType, tuple[int, ...]] = {"flag": (0, 1), "level": (1, 2, 3, 4)}
# Where each staged row comes from: the raw file (relative to the raw directory) and its physical line.
TRACE_COLUMNS = (("source_file", "VARCHAR"), ("source_line", "BIGINT"))


@dataclass(frozen=True)
class StagingColumn:
    name: str
    sql_type: str
    not_null: bool = False


def stored_type(contract: SourceContract, col: ColumnContract) -> str:
    """The staging type of a column: its parsed type, except that a whole number read as a code (it has `allowed`
    values: a channel, a status, a month) or as the year is stored as INTEGER; counts and amounts stay BIGINT.

    Parsing keeps BIGINT for all of them: a code too big for an INTEGER is quarantined as not allowed, not a
    reason to reject its file."""
    if col.type == "int" and (col.allowed or col.name == contract.year_column):
        return "INTEGER"
    return SQL_TYPES[col.type]


def staged_values(col: ColumnContract) -> tuple[int | str, ...]:
    """The values a staged column may hold: its contract's `allowed` list, else its type's (a flag, a level); ()
    for any value of its type."""
    return col.allowed or TYPE_VALUES.get(col.type, ())


def staging_columns(contract: SourceContract) -> list[StagingColumn]:
    """The columns of a source's staging table, in order. A required column, or one whose empty cell takes a
    `default`, is NOT NULL: the loader never stages it empty."""
    names = {c.name for c in contract.stored_columns}
    columns = [StagingColumn(YEAR, "INTEGER", True)] if contract.partitioned and YEAR not in names else []
    for col in contract.stored_columns:
        columns.append(StagingColumn(col.name, stored_type(contract, col), col.required or col.default is not None))
        if col.keep_label_as:
            columns.append(StagingColumn(col.keep_label_as, "VARCHAR"))
    return columns + [StagingColumn(name, sql_type) for name, sql_type in TRACE_COLUMNS]


def staging_ddl(contract: SourceContract) -> str:
    """CREATE TABLE IF NOT EXISTS for the source's staging table, then an ADD COLUMN IF NOT EXISTS per column (a
    no-op where the column exists; a column added to an existing table may be empty, so never NOT NULL)."""
    columns = staging_columns(contract)
    width = max(len(q(c.name)) for c in columns)
    body = ",\n".join(f"    {q(c.name).ljust(width)} {c.sql_type}{' NOT NULL' if c.not_null else ''}" for c in columns)
    lines = [
        f"-- {contract.name}: {contract.label} (config/sources.yaml)",
        f"CREATE TABLE IF NOT EXISTS {contract.table} (\n{body}\n);",
    ]
    lines += [f"ALTER TABLE {contract.table} ADD COLUMN IF NOT EXISTS {q(c.name)} {c.sql_type};" for c in columns]
    return "\n".join(lines) + "\n"


def staging_schema(contracts: Iterable[SourceContract]) -> str:
    """The DDL of every source's staging table."""
    return "\n".join(staging_ddl(c) for c in contracts)
