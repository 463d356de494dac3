"""Publish the analysts' marts atomically, and open them for reading whatever an analyst did to them.

The pipeline never opens the published file for writing: it builds a new file, checkpoints and closes it, checks
that it does not silently lose what the published one holds, and renames it over the old one. Readers keep the
snapshot they opened; new connections see the new file.

An analyst may still open the published file read-write (the DuckDB CLI does by default). DuckDB then keeps a
`egov.duckdb.wal` beside it that belongs to *that* file: once the file is replaced, the WAL no longer matches and
every later open fails with "WAL does not match database file". So publishing removes a WAL left beside the old
file, and `open_marts` reads through a private hard link (no WAL beside it) when a stale WAL is in the way.
People's own SQL (`egov sql`) goes through `open_marts_for_queries`, which can write nothing published.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.marts.dictionary import describe_marts
from assets.scorecard.build import ensure_schema as ensure_scorecard_tables
from pipelines.core.settings import PROJECT_ROOT
from pipelines.core.sql import sql_identifier
from pipelines.core.warehouse import lock_holder

MARTS_SQL = PROJECT_ROOT / "assets" / "marts" / "marts.sql"
MARTS_FILE = "egov.duckdb"
EXPORTED_TABLES = ("rankings", "criterion_scores", "indicators", "quarantine")
BUILDING_GLOB = f".{MARTS_FILE}.*.building*"
READERS_DIR = ".readers"
# What the shrink guard counts per year (table: (what, SQL count)): a run that would publish far fewer of these than
# the published marts hold (an empty or unmounted raw folder, a wrong EGOV_DATA_DIR) is stopped before it replaces
# them. Units are ranked even without data (the registry lists them, at 0 points), so what counts is units with
# points and indicators with a value.
GUARDED_TABLES = {
    "rankings": ("ranked units with points", "count(*) FILTER (WHERE total_points > 0)"),
    "indicators": ("indicator values", "count(value)"),
}


# What the last publish held, per guarded table and year: the guard's reference. Kept in the warehouse (the pipeline's
# own file) because the published file may be locked or altered by an analyst's read-write session.
PUBLISHED_COUNTS_DDL = """
CREATE TABLE IF NOT EXISTS published_counts (
    table_name VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    n BIGINT NOT NULL,
    published_at TIMESTAMP NOT NULL,
    PRIMARY KEY (table_name, year)
)"""


# A statement run after marts.sql: SQL, or SQL and its bound parameters (a value from a folder name or a file).
Statement = str | tuple[str, list]


class PublishBlocked(RuntimeError):
    """The new marts would lose most of what the published ones hold; they were not published."""


class MartsLocked(RuntimeError):
    """Another process holds the published marts read-write (DuckDB allows no reader beside a writer)."""


@dataclass(frozen=True)
class Shrink:
    year: int
    table: str
    published: int
    new: int

    def describe(self) -> str:
        return f"{self.year}: {self.published:,} {GUARDED_TABLES[self.table][0]} → {self.new:,}"


def wal_path(database: Path) -> Path:
    return database.with_name(database.name + ".wal")


def remove_leftovers(marts_dir: Path) -> list[Path]:
    """Files a killed or failed publish left behind (half-built marts, their WAL, Parquet temps, reader links).

    Only one run publishes at a time (it holds the warehouse), so anything matching is an orphan.
    """
    found = [
        *marts_dir.glob(BUILDING_GLOB),
        *(marts_dir / "parquet").glob(".*.parquet"),
        *(marts_dir / READERS_DIR).glob("*"),
    ]
    for path in found:
        path.unlink(missing_ok=True)
    return found


def year_counts(con: duckdb.DuckDBPyConnection, database: str) -> dict[tuple[str, int], int]:
    """Rows per guarded table and year in an attached marts database."""
    present = {
        t
        for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [database]).fetchall()
    }
    counts: dict[tuple[str, int], int] = {}
    for table, (_, measure) in GUARDED_TABLES.items():
        if table in present:
            for year, n in con.execute(
                f"SELECT year, {measure} FROM {sql_identifier(database)}.{table} GROUP BY year"
            ).fetchall():
                counts[(table, int(year))] = n
    return counts


def shrinkage(
    published: dict[tuple[str, int], int], new: dict[tuple[str, int], int], max_drop_share: float
) -> list[Shrink]:
    """Years where the new marts keep less than (1 − max_drop_share) of what the published marts hold."""
    return sorted(
        (
            Shrink(year, table, n, new.get((table, year), 0))
            for (table, year), n in published.items()
            if n > 0 and new.get((table, year), 0) < (1 - max_drop_share) * n
        ),
        key=lambda s: (s.year, list(GUARDED_TABLES).index(s.table)),
    )


def check_shrinkage(
    published: dict[tuple[str, int], int], new: dict[tuple[str, int], int], max_drop_share: float
) -> None:
    """Raise `PublishBlocked` with a one-line reason when the new marts would drop most of a published year."""
    lost = shrinkage(published, new, max_drop_share)
    if lost:
        shown = "; ".join(s.describe() for s in lost[:4]) + (f"; … ({len(lost)} in all)" if len(lost) > 4 else "")
        raise PublishBlocked(
            f"Not published: this run would drop more than {max_drop_share:.0%} of what the published marts hold "
            f"({shown}). Is the raw folder empty, unmounted or the wrong EGOV_DATA_DIR? The published marts are "
            "unchanged; if the drop is intended, rerun with --allow-shrink."
        )


def publish_marts(
    con: duckdb.DuckDBPyConnection,
    marts_dir: Path,
    extra_sql: list[Statement] | Callable[[duckdb.DuckDBPyConnection], list[Statement]] | None = None,
    *,
    max_drop_share: float | None = None,
) -> dict:
    """Build the marts from the warehouse connection `con` and publish them; returns table row counts.

    `extra_sql`: statements run after marts.sql and its data dictionary (SQL, or SQL and its parameters), or a
    function of the connection that returns them once marts.sql has built `m` (the national marts read which tables
    it made).

    `max_drop_share` (None: no guard) stops the publish when a year would lose more than that share of its
    ranked units or indicator values compared with the published marts.
    """
    ensure_scorecard_tables(con)  # the marts copy them even before a first scoring
    marts_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(marts_dir)
    final = marts_dir / MARTS_FILE
    tmp = marts_dir / f".{MARTS_FILE}.{os.getpid()}.building"
    exports: dict[str, Path] = {}
    con.execute("ATTACH ? AS m", [str(tmp)])  # bound: the data directory's path may hold any character (`O'X`)
    try:
        con.execute(MARTS_SQL.read_text(encoding="utf-8"))
        describe_marts(con, "m")  # the data dictionary (assets/marts/dictionary/) as the tables' comments
        for statement in (extra_sql(con) if callable(extra_sql) else extra_sql) or []:
            sql, params = statement if isinstance(statement, tuple) else (statement, None)
            con.execute(sql, params)
        counts = {
            t: con.execute(f"SELECT count(*) FROM m.{sql_identifier(t)}").fetchall()[0][0]
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'm' ORDER BY table_name"
            ).fetchall()
        }
        new_counts = year_counts(con, "m")
        if max_drop_share is not None:
            check_shrinkage(published_counts(con, final), new_counts, max_drop_share)
        exports = _export_parquet(con, marts_dir)
        con.execute("CHECKPOINT m")
    except BaseException:
        con.execute("DETACH m")
        for path in (tmp, wal_path(tmp), *exports.values()):
            path.unlink(missing_ok=True)
        raise
    con.execute("DETACH m")
    # A WAL beside the published file belongs to the file being replaced (an analyst's read-write session):
    # kept, it would make the new file unreadable. An open session keeps writing to its own (unlinked) copy.
    wal_path(final).unlink(missing_ok=True)
    os.replace(tmp, final)
    wal_path(final).unlink(missing_ok=True)
    for name, path in exports.items():
        os.replace(path, marts_dir / "parquet" / f"{name}.parquet")
    _record_published(con, new_counts)
    return counts


def published_counts(con: duckdb.DuckDBPyConnection, marts_file: Path) -> dict[tuple[str, int], int]:
    """What the last publish held: recorded in the warehouse, else read from the published file (first run)."""
    con.execute(PUBLISHED_COUNTS_DDL)
    recorded = con.execute("SELECT table_name, year, n FROM published_counts").fetchall()
    if recorded or not marts_file.exists():
        return {(t, y): n for t, y, n in recorded}
    try:
        return published_year_counts(marts_file)
    except (duckdb.Error, MartsLocked):  # unreadable or locked, and nothing recorded: no reference to guard
        return {}


def _record_published(con: duckdb.DuckDBPyConnection, counts: dict[tuple[str, int], int]) -> None:
    con.execute(PUBLISHED_COUNTS_DDL)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM published_counts")
    if counts:
        con.executemany(
            "INSERT INTO published_counts VALUES (?, ?, ?, now())", [[t, y, n] for (t, y), n in counts.items()]
        )
    con.execute("COMMIT")


def published_year_counts(marts_file: Path) -> dict[tuple[str, int], int]:
    with open_marts(marts_file) as con:
        return year_counts(con, con.execute("SELECT current_database()").fetchone()[0])


@contextmanager
def open_marts(marts_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the published marts, even when a stale WAL lies beside them.

    A WAL that does not match the file (left by an analyst's read-write session on a file since replaced) cannot
    be replayed; the file itself is complete (published checkpointed), so it is read through a hard link in
    `.readers/` that has no WAL beside it (a copy where hard links are not possible).
    """
    try:
        con = duckdb.connect(str(marts_file), read_only=True)
        link = None
    except duckdb.Error as error:
        if "Conflicting lock" in str(error):
            raise MartsLocked(
                f"{marts_file} is held open read-write by another process ({lock_holder(str(error))}): "
                "close that session, and open the marts read-only (`egov sql`, docs/analysts.md)"
            ) from None
        if "WAL" not in str(error) or not marts_file.exists():
            raise
        link = marts_file.parent / READERS_DIR / f"{uuid.uuid4().hex}.duckdb"
        link.parent.mkdir(exist_ok=True)
        try:
            os.link(marts_file, link)
        except OSError:
            shutil.copyfile(marts_file, link)
        try:
            con = duckdb.connect(str(link), read_only=True)
        except BaseException:
            link.unlink(missing_ok=True)
            raise
    try:
        yield con
    finally:
        con.close()
        if link is not None:
            link.unlink(missing_ok=True)


@contextmanager
def open_marts_for_queries(marts_file: Path, allowed_dirs: Iterable[Path] = ()) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection for people's own SQL (`egov sql`) that cannot change anything published.

    DuckDB itself keeps the query in: no file is read or written outside `allowed_dirs` (none by default), no
    extension installed or loaded, no database attached elsewhere, and no setting changed back
    (`enable_external_access`, `allowed_directories`, `lock_configuration`). DuckDB always lets a session write the
    files of a database it opened (the file itself with `COPY … TO` and `USE_TMP_FILE false`, its WAL), so the marts
    are attached (as `egov`) through a private link in `.readers/` whose name is removed as soon as they are open:
    those names then make new files there, removed on close (or by the next publish), never the published one.
    Spilled intermediates go to a private temporary folder, not beside the marts.
    """
    marts_dir = marts_file.parent.resolve()
    allowed = [Path(d).resolve() for d in allowed_dirs]
    for folder in allowed:
        if folder.is_relative_to(marts_dir) or marts_dir.is_relative_to(folder):
            raise ValueError(
                f"{folder}: a folder for files of your own cannot hold the marts folder {marts_dir} or lie inside it"
            )
    link = marts_file.parent / READERS_DIR / f"{uuid.uuid4().hex}.duckdb"
    link.parent.mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="egov-sql-"))
    try:
        try:
            os.link(marts_file, link)
        except OSError:
            shutil.copyfile(marts_file, link)
        con = duckdb.connect(":memory:", config={"temp_directory": str(scratch)})
        try:
            try:
                con.execute("ATTACH ? AS egov (READ_ONLY)", [str(link)])  # bound: any path
            except duckdb.Error as error:
                if "Conflicting lock" in str(error):
                    raise MartsLocked(
                        f"{marts_file} is held open read-write by another process ({lock_holder(str(error))}): "
                        "close that session, and open the marts read-only (`egov sql`, docs/analysts.md)"
                    ) from None
                raise
            finally:
                link.unlink(missing_ok=True)  # before any query: the name DuckDB allows no longer reaches the file
            con.execute("USE egov")
            con.execute("SET allowed_directories = $dirs", {"dirs": [str(d) for d in allowed]})
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
            yield con
        finally:
            con.close()
    finally:
        for path in link.parent.glob(f"{link.name}*"):  # what a query wrote under the names DuckDB allows
            path.unlink(missing_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _export_parquet(con: duckdb.DuckDBPyConnection, marts_dir: Path) -> dict[str, Path]:
    """Parquet copies for tools without DuckDB 2.0, written under temporary names and renamed with the file."""
    out = marts_dir / "parquet"
    out.mkdir(exist_ok=True)
    written = {}
    for table in EXPORTED_TABLES:
        tmp = out / f".{table}.{os.getpid()}.parquet"
        written[table] = tmp
        con.execute(f"COPY m.{sql_identifier(table)} TO ? (FORMAT parquet, COMPRESSION zstd)", [str(tmp)])
    return written
