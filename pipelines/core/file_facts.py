"""Facts kept per loaded raw file, so that a night with one new file scans that file's rows only.

A facts table holds counts grouped by `source_file` (and whatever else its SQL groups by), computed from the
staged rows of that file. `file_facts_built` says which files a facts table holds, under which scope (what the
counts depend on besides the file: the SQL, the catalogue, ...). The loader deletes a file's rows there in the
same transaction that replaces the file's staged rows (assets/ingestion/load.py), and every row of a partition
on a full refresh (which can give a duplicate to another file), so "built" always means "counted from the rows
staged now". A refresh then:
  1. removes the facts of files no longer built (changed, gone, or counted under another scope);
  2. counts the loaded files not built yet, from their staged rows;
  3. reconciles: the facts' rows must add up to the staged rows of the year; when they do not (rows staged by
     something other than the loader, a warehouse from before this table), the year is counted again whole.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from pipelines.core.registry.sources import load_sources
from pipelines.core.warehouse import fetch_one, scalar, transaction

# The files a facts SQL counts: (year, source_file). The whole year when the refresh counts it again whole.
SCAN_FILES = "egov_scan_files"
# The dossier log, the one source counted per file today: its staged table and its source name (config/sources.yaml).
DOSSIER_TABLE = "stg_dossiers"
DOSSIER_SOURCE = next(name for name, c in load_sources().items() if c.table == DOSSIER_TABLE)


def rows_to_count(con: duckdb.DuckDBPyConnection, *, facts: str, source: str, scope: str) -> tuple[int, int]:
    """(rows of the loaded files `facts` does not hold yet under `scope`, rows of every loaded file), all years:
    how much of the log a refresh is about to count."""
    loaded, every = fetch_one(
        con,
        "SELECT coalesce(sum(rows_loaded) FILTER (WHERE b.source_file IS NULL), 0), coalesce(sum(rows_loaded), 0) "
        "FROM ingested_files AS i LEFT JOIN file_facts_built AS b ON b.facts = ? AND b.source = i.source "
        "AND b.year = i.year AND b.source_file = i.file AND b.scope = ? "
        "WHERE i.source = ? AND i.status = 'loaded'",
        [facts, scope, source],
    )
    return int(loaded), int(every)


def refresh_file_facts(
    con: duckdb.DuckDBPyConnection,
    year: int,
    *,
    facts: str,
    source: str,
    staged: str,
    insert_sql: str,
    scope: str,
    on_change: Callable[[str], None] | None = None,
    on_stale: Callable[[str], None] | None = None,
    companions: tuple[str, ...] = (),
    before_commit: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Bring `facts` for `year` in line with the staged rows of `source` (table `staged`).

    `insert_sql` inserts the counts of the rows of `staged` whose (year, source_file) is in SCAN_FILES, a row
    without a file (staged by hand) under ''; it may fill `companions` too, tables of other per-file rows (year,
    source_file) of the same files, removed with the facts.
    `on_change(where)` runs (with `year` as its one parameter) before facts matching `where` are removed and after
    new ones matching it are inserted: the scorecard marks the months they touch. `on_stale(where)`, when given, runs
    instead of it before removing (facts whose meaning may have moved since they were counted). `before_commit()`
    runs last in the transaction (the scorecard compares its companion table with what it held before).
    """

    def changed(where: str) -> None:
        if on_change is not None:
            on_change(where)

    def removing(where: str) -> None:
        (on_stale or changed)(where)

    with transaction(con):
        built = "(SELECT source_file FROM file_facts_built WHERE facts = ? AND source = ? AND year = ? AND scope = ?)"
        key = [facts, source, year, scope]
        con.execute(f"CREATE OR REPLACE TEMP TABLE egov_kept_files AS {built}", key)
        stale_where = "year = ? AND source_file NOT IN (SELECT source_file FROM egov_kept_files)"
        removed = scalar(con, f"SELECT count(DISTINCT source_file) FROM {facts} WHERE {stale_where}", [year])
        if removed:
            removing(stale_where)
        for table in (facts, *companions):
            con.execute(f"DELETE FROM {table} WHERE {stale_where}", [year])
        con.execute("DELETE FROM file_facts_built WHERE facts = ? AND source = ? AND year = ? AND scope <> ?", key)
        scan = [
            f
            for (f,) in con.execute(
                "SELECT file FROM ingested_files WHERE source = ? AND year = ? AND status = 'loaded' "
                "AND file NOT IN (SELECT source_file FROM egov_kept_files) ORDER BY file",
                [source, year],
            ).fetchall()
        ]
        _count(con, year, scan, insert_sql, changed)
        if scan:
            con.executemany(
                "INSERT INTO file_facts_built VALUES (?, ?, ?, ?, ?)", [[facts, source, year, f, scope] for f in scan]
            )
        counted = scalar(con, f"SELECT coalesce(sum(received), 0) FROM {facts} WHERE year = ?", [year])
        rows = scalar(con, f"SELECT count(*) FROM {staged} WHERE year = ?", [year])
        whole_year = counted != rows
        if whole_year:
            removing("year = ?")
            for table in (facts, *companions):
                con.execute(f"DELETE FROM {table} WHERE year = ?", [year])
            everything = [
                f
                for (f,) in con.execute(
                    f"SELECT DISTINCT coalesce(source_file, '') FROM {staged} WHERE year = ? ORDER BY ALL", [year]
                ).fetchall()
            ]
            _count(con, year, everything, insert_sql, changed)
        con.execute("DROP TABLE egov_kept_files")
        if before_commit is not None:
            before_commit()
    return {"files_counted": len(scan), "files_removed": removed, "whole_year": int(whole_year)}


def _count(
    con: duckdb.DuckDBPyConnection, year: int, files: list[str], insert_sql: str, changed: Callable[[str], None]
) -> None:
    if not files:
        return
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SCAN_FILES} AS SELECT ?::INTEGER AS year, unnest(?::VARCHAR[]) AS source_file",
        [year, files],
    )
    con.execute(insert_sql)
    changed(f"year = ? AND source_file IN (SELECT source_file FROM {SCAN_FILES})")
    con.execute(f"DROP TABLE {SCAN_FILES}")
