"""`egov sql`: the published marts, read-only, one query or a prompt; `--csv` output that spreadsheets open as text."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterable
from pathlib import Path

from pipelines.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _say
from pipelines.core import settings


def cmd_sql(args: argparse.Namespace) -> int:
    """Query the published marts read-only: one query from the command line, or a prompt. No file is read or
    written but in the folders given with --allow-files, none of which may overlap the data directory."""
    import duckdb

    from assets.marts.publish import MARTS_FILE, MartsLocked, open_marts_for_queries

    base = settings.data_dir()
    marts = settings.marts_dir(base) / MARTS_FILE
    if not marts.exists():
        _say(f"No marts yet at {marts}: run `egov run` (or `egov demo`) first.")
        return EXIT_USAGE
    allowed = [Path(d).expanduser().resolve() for d in args.allow_files or ()]
    for folder in allowed:
        if not folder.is_dir():
            _say(f"--allow-files {folder}: not a folder; name an existing folder for your own files.")
            return EXIT_USAGE
        if folder.is_relative_to(base) or base.is_relative_to(folder):
            _say(
                f"--allow-files {folder}: queries may not write where the pipeline keeps its files (the data "
                f"directory {base}: raw files, warehouse, marts and reports); name a folder outside it."
            )
            return EXIT_USAGE
    try:
        with open_marts_for_queries(marts, allowed) as con:
            if args.query:
                return _run_query(con, args.query, args.csv)
            _say(
                f"Marts {marts} (read-only). End statements with ';'. Try: SHOW TABLES; "
                "DESCRIBE rankings; SELECT * FROM rankings WHERE year = 2025 LIMIT 10;  Ctrl-D to leave."
            )
            return _prompt(con, args.csv)
    except MartsLocked as error:
        _say(str(error))
        return EXIT_FAILED
    except duckdb.Error as error:
        _say(f"Cannot open {marts}: {error}")
        return EXIT_FAILED


def _run_query(con, query: str, as_csv: bool) -> int:
    import duckdb

    try:
        relation = con.sql(query)
    except duckdb.Error as error:
        text = str(error)
        hint = (
            " (the marts are read-only: to keep results, write them into a folder of your own named with "
            "--allow-files, docs/analysts.md)"
            if "read-only" in text
            else " (egov sql reads and writes no file but in the folders named with --allow-files DIR, and "
            "installs no extension: docs/analysts.md)"
            if isinstance(error, duckdb.PermissionException)
            else " (egov sql's settings are fixed)"
            if "configuration has been locked" in text
            else ""
        )
        _say(f"Error: {text.splitlines()[0]}{hint}")
        return EXIT_USAGE
    if relation is None:
        return EXIT_OK
    if as_csv:
        write_csv_rows(sys.stdout, [relation.columns, *relation.fetchall()])
    else:
        relation.show(max_rows=100, max_width=200)
    return EXIT_OK


# A cell a spreadsheet would read as a formula (OWASP, "CSV injection"): = + - @, or a tab or carriage return first.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value: object) -> object:
    """A text cell as a spreadsheet must show it: one that starts like a formula gets a leading `'`. Only text is
    escaped: a number (a DuckDB numeric column, -0.5) is written as the number it is."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_START) else value


def write_csv_rows(out, rows: Iterable[Iterable[object]]) -> None:
    """CSV lines ending in a line feed, text escaped for spreadsheets (`spreadsheet_text`). A text holding a carriage
    return is quoted like one holding a line feed: the csv module quotes only the characters of its line terminator."""
    import csv
    import io

    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n")
    for row in rows:
        writer.writerow([spreadsheet_text(v) for v in row])
        out.write(line.getvalue()[:-2] + "\n")
        line.seek(0)
        line.truncate()


def _prompt(con, as_csv: bool) -> int:
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history at the prompt)
    buffer: list[str] = []
    while True:
        try:
            line = input("egov> " if not buffer else "  ...> ")
        except EOFError:
            print()
            return EXIT_OK
        except KeyboardInterrupt:
            print()
            buffer.clear()
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            _run_query(con, "\n".join(buffer), as_csv)
            buffer.clear()
