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

import hashlib
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
from assets.scorecard.build import COUNTED_PER_FILE, facts_scope
from assets.scorecard.build import ensure_schema as ensure_scorecard_tables
from pipelines.core.file_facts import DOSSIER_SOURCE
from pipelines.core.settings import PROJECT_ROOT
from pipelines.core.sql import sql_identifier, sql_literal
from pipelines.core.warehouse import lock_holder

MARTS_SQL = PROJECT_ROOT / "assets" / "marts" / "marts.sql"
TRACE_SQL = PROJECT_ROOT / "assets" / "marts" / "trace.sql"
TRACE_TABLE = "scorecard_766_lost"  # the marts' largest table: its unchanged periods are kept from the published file
# The SQL that wrote the kept trace rows: a change of any of these builds the trace whole (the facts' SQL is part of
# the scorecard's facts_scope, in the trace key).
TRACE_SOURCES = (
    MARTS_SQL,
    TRACE_SQL,
    *(
        PROJECT_ROOT / "assets" / "scorecard" / "sql" / f"{name}.sql"
        for name in ("trace_view", "dossier_reasons", "scorecard_766", "scorecard_766_dossiers")
    ),
)
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


# The file a provincial publish wrote (recorded in the warehouse with the trace's SQL fingerprint): the next publish
# starts from a copy of it only while it is still that file, so an analyst's read-write session that changed it
# (its size, modification time or inode) makes the next publish build the marts whole.
PUBLISHED_FILE_DDL = """
CREATE TABLE IF NOT EXISTS published_file (
    size BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    inode BIGINT NOT NULL,
    trace_key VARCHAR NOT NULL
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
    keep_unchanged_trace: bool = False,
    log: Callable[[str], None] = lambda _msg: None,
) -> dict:
    """Build the marts from the warehouse connection `con` and publish them; returns table row counts.

    `extra_sql`: statements run after marts.sql and its data dictionary (SQL, or SQL and its parameters), or a
    function of the connection that returns them once marts.sql has built `m` (the national marts read which tables
    it made).

    `max_drop_share` (None: no guard) stops the publish when a year would lose more than that share of its
    ranked units or indicator values compared with the published marts.

    `keep_unchanged_trace` (a province's own marts): start from a copy of the published file when it is the one the
    last publish wrote and the scoring is up to date, and replace only the QĐ 766 trace periods rescored since
    (`scorecard_766_unpublished`); every other table is built again.
    """
    ensure_scorecard_tables(con)  # the marts copy them even before a first scoring
    marts_dir.mkdir(parents=True, exist_ok=True)
    remove_leftovers(marts_dir)
    final = marts_dir / MARTS_FILE
    tmp = marts_dir / f".{MARTS_FILE}.{os.getpid()}.building"
    exports: dict[str, Path] = {}
    unpublished = con.execute("SELECT DISTINCT year, period FROM scorecard_766_unpublished").fetchall()
    periods = _trace_periods_to_replace(con, final, tmp, unpublished) if keep_unchanged_trace else None
    if keep_unchanged_trace:
        log(
            "the 766 trace built whole"
            if periods is None
            else f"the 766 trace kept from the published file but {len(periods)} period(s) written again: "
            + (", ".join(periods) or "none")
        )
    con.execute("ATTACH ? AS m", [str(tmp)])  # bound: the data directory's path may hold any character (`O'X`)
    try:
        if periods is not None:  # the published file's copy: everything but the trace is built again
            _drop_all_but(con, "m", TRACE_TABLE)
        con.execute(MARTS_SQL.read_text(encoding="utf-8"))
        if periods != []:
            where = "TRUE" if periods is None else "period IN (" + ", ".join(sql_literal(p) for p in periods) + ")"
            con.execute(TRACE_SQL.read_text(encoding="utf-8").replace("{periods}", where))
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
    if keep_unchanged_trace:
        _record_published_file(con, final, unpublished)
    return counts


def _file_identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _trace_key(con: duckdb.DuckDBPyConnection) -> str:
    """The fingerprint of what the kept trace rows were written with besides the rescored months: DuckDB's version,
    the trace's SQL, and per scored year the scorecard's facts scope (the catalogue, the registry and the facts' SQL:
    assets/scorecard/build.py). A rating or feedback file marks the months it changes, like a dossier file."""
    years = [y for (y,) in con.execute("SELECT year FROM scorecard_766_state ORDER BY year").fetchall()]
    parts = [
        duckdb.__version__,
        *(p.read_text(encoding="utf-8") for p in TRACE_SOURCES),
        *(facts_scope(con, year) for year in years),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _trace_periods_to_replace(
    con: duckdb.DuckDBPyConnection, final: Path, tmp: Path, unpublished: list[tuple[int, str]]
) -> list[str] | None:
    """Copy the published file to `tmp` and return the trace periods to replace in it, or None (nothing copied) when
    the marts must be built whole: no file recorded, the file changed since (or while it was copied), a WAL beside
    it (an analyst's read-write session), another trace key (`_trace_key`), or dossiers of a scored year not scored
    yet (months waiting, or loaded files not counted for the 766 months; a year never scored has no trace)."""
    con.execute(PUBLISHED_FILE_DDL)
    recorded = con.execute("SELECT size, mtime_ns, inode, trace_key FROM published_file").fetchall()
    # the per-file counts the scorecard marks its months with: the dossier files' of the scored years, the rating and
    # feedback files' of every year (a rating may count in a later year than its file's)
    per_file = [(source, facts, source == DOSSIER_SOURCE) for source, facts in COUNTED_PER_FILE.items()]
    identity = _file_identity(final)
    if (
        len(recorded) != 1
        or identity is None
        or tuple(recorded[0][:3]) != identity
        or recorded[0][3] != _trace_key(con)
        or wal_path(final).exists()
        or con.execute(
            "WITH scored AS (SELECT year FROM scorecard_766_state), "
            f"per_file(source, facts, scored_only) AS (VALUES {', '.join(['(?, ?, ?)'] * len(per_file))}) "
            "SELECT (SELECT count(*) FROM scorecard_766_dirty WHERE year IN (SELECT year FROM scored)) "
            "+ (SELECT count(*) FROM ingested_files AS i JOIN per_file AS p ON p.source = i.source "
            "WHERE i.status = 'loaded' AND (i.year IN (SELECT year FROM scored) OR NOT p.scored_only) "
            "AND NOT EXISTS (SELECT 1 FROM file_facts_built AS b WHERE b.facts = p.facts AND b.source = i.source "
            "AND b.year = i.year AND b.source_file = i.file))",
            [value for row in per_file for value in row],
        ).fetchone()[0]
    ):
        return None
    shutil.copyfile(final, tmp)
    if _file_identity(final) != identity or wal_path(final).exists():
        tmp.unlink(missing_ok=True)
        return None
    return sorted({period for _, period in unpublished})


def _drop_all_but(con: duckdb.DuckDBPyConnection, database: str, kept: str) -> None:
    """Drop every view and table of an attached database but `kept`."""
    for name, kind in con.execute(
        "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE database_name = ? AND NOT internal "
        "UNION ALL SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE database_name = ? AND table_name <> ?",
        [database, database, kept],
    ).fetchall():
        con.execute(f"DROP {kind} {sql_identifier(database)}.{sql_identifier(name)}")


def _record_published_file(con: duckdb.DuckDBPyConnection, final: Path, unpublished: list[tuple[int, str]]) -> None:
    """The published file's identity and trace SQL, and the periods it now carries no longer waiting (one
    transaction: a crash before it leaves the old identity, so the next publish builds whole)."""
    identity = _file_identity(final)
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM published_file")
    if identity is not None:
        con.execute("INSERT INTO published_file VALUES (?, ?, ?, ?)", [*identity, _trace_key(con)])
    if unpublished:
        con.executemany("DELETE FROM scorecard_766_unpublished WHERE year = ? AND period = ?", unpublished)
    con.execute("COMMIT")


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
