"""Publish the analysts' marts atomically: build a new file, checkpoint, close, rename over the old one.

Analysts may hold the published file open read-only at any moment; DuckDB would refuse a writer on it, so the
pipeline never opens it for writing. Readers keep the snapshot they opened; new connections see the new file.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from assets.indicators.build import load_indicator_catalogue
from pipelines.settings import PROJECT_ROOT

MARTS_SQL = PROJECT_ROOT / "assets" / "marts" / "marts.sql"
MARTS_FILE = "egov.duckdb"
EXPORTED_TABLES = ("rankings", "criterion_scores", "indicators", "quarantine")


def publish_marts(con: duckdb.DuckDBPyConnection, marts_dir: Path, extra_sql: list[str] | None = None) -> dict:
    """Build the marts from the warehouse connection `con`; returns table row counts."""
    marts_dir.mkdir(parents=True, exist_ok=True)
    final = marts_dir / MARTS_FILE
    tmp = marts_dir / f".{MARTS_FILE}.{os.getpid()}.building"
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con.execute(f"ATTACH '{tmp}' AS m")
    try:
        con.execute(MARTS_SQL.read_text(encoding="utf-8"))
        con.executemany(
            "INSERT INTO m.indicator_catalogue VALUES (?, ?, ?, ?, ?)",
            [
                [i["code"], i.get("family"), i.get("applies_to"), i.get("label_vi"), i.get("label_en")]
                for i in load_indicator_catalogue()
            ],
        )
        for sql in extra_sql or []:
            con.execute(sql)
        counts = {
            t: con.execute(f"SELECT count(*) FROM m.{t}").fetchall()[0][0]
            for (t,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'm' ORDER BY table_name").fetchall()
        }
        exports = _export_parquet(con, marts_dir)
        con.execute("CHECKPOINT m")
    except BaseException:
        con.execute("DETACH m")
        tmp.unlink(missing_ok=True)
        raise
    con.execute("DETACH m")
    os.replace(tmp, final)
    for name, path in exports.items():
        os.replace(path, marts_dir / "parquet" / f"{name}.parquet")
    return counts


def _export_parquet(con: duckdb.DuckDBPyConnection, marts_dir: Path) -> dict[str, Path]:
    """Parquet copies for tools without DuckDB 2.0, written under temporary names and renamed with the file."""
    out = marts_dir / "parquet"
    out.mkdir(exist_ok=True)
    written = {}
    for table in EXPORTED_TABLES:
        tmp = out / f".{table}.{os.getpid()}.parquet"
        con.execute(f"COPY m.{table} TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
        written[table] = tmp
    return written
