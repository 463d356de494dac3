"""Fingerprint of a published marts file: per table, its row count and a hash of its sorted rows.

Two marts files hold the same published results when their digests are equal. Used to check that a refactor or
a new option leaves the standard province's marts unchanged:

    .venv/bin/python bench/marts_digest.py data/marts/egov.duckdb > before.txt
    ... change, ./egov demo ...
    .venv/bin/python bench/marts_digest.py data/marts/egov.duckdb | diff before.txt -

Columns that record when or how long a run took (`*_at`, `duration*`, run ids) differ between any two runs and
are left out; `--all-columns` keeps them.
"""

from __future__ import annotations

import argparse
import re
import sys

import duckdb

VOLATILE = re.compile(r"(_at$|^at$|duration|elapsed|run_id|^published|^generated|^built|seconds|ingested_on)")


def digest(path: str, all_columns: bool = False) -> list[str]:
    con = duckdb.connect(path, read_only=True)
    try:
        tables = con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        ).fetchall()
        lines = []
        for (table,) in tables:
            columns = [
                name
                for (name,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                if all_columns or not VOLATILE.search(name)
            ]
            quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
            ident = '"' + table.replace('"', '""') + '"'
            count, hashed = con.execute(
                f"SELECT count(*), coalesce(sum(hash(row_text)), 0)::HUGEINT FROM "
                f"(SELECT CAST(row({quoted}) AS VARCHAR) AS row_text FROM {ident})"
            ).fetchone()
            lines.append(f"{table}\t{count}\t{hashed}\t{len(columns)} columns")
        return lines
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("marts", help="a marts DuckDB file, e.g. data/marts/egov.duckdb")
    parser.add_argument("--all-columns", action="store_true", help="keep the run-time columns too")
    args = parser.parse_args()
    sys.stdout.write("\n".join(digest(args.marts, args.all_columns)) + "\n")


if __name__ == "__main__":
    main()
