"""`egov`: the pipeline for people who are not Dagster users.

Every command drives the Dagster definitions of `pipelines.definitions` (the same job the schedule runs), in
this process, recording runs in a persistent Dagster instance so they also show in the web UI.

Exit codes: 0 success, 1 the pipeline failed (nothing was published), 2 wrong usage or missing input.
Imports of Dagster, DuckDB and the assets happen inside the commands: `egov --help` stays instant.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import sys
import threading

from pipelines.cli.console import EXIT_FAILED, EXIT_OK, _say
from pipelines.cli.processes import cmd_ui, cmd_worker
from pipelines.cli.runs import DEFAULT_BROKER, cmd_backfill, cmd_run, disk_full, parse_years
from pipelines.cli.sample import NATIONAL_DEMO_SCALE, cmd_demo, cmd_generate
from pipelines.cli.sql_shell import cmd_sql
from pipelines.cli.summary import cmd_report
from pipelines.core import settings


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--allow-shrink",
        action="store_true",
        help="publish even if a year loses most of its published rankings (normally a sign of an "
        "empty or unmounted raw folder; the limit is max_published_drop_share in "
        "config/thresholds.yaml)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="also print each step's messages (files read, …)")
    p.add_argument(
        "--executor",
        choices=["in_process", "multiprocess", "celery"],
        default="in_process",
        help="national data directory: run the provinces one after another (in_process), in WORKERS "
        "processes (multiprocess) or on Celery workers (celery; docs/operators.md)",
    )
    p.add_argument("--workers", type=int, default=2, help="provinces at once with --executor multiprocess")
    p.add_argument("--broker", help=f"Celery broker and result backend URL (default {DEFAULT_BROKER})")


def _add_national_sample_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--national",
        action="store_true",
        help="a national data directory instead: provinces/<code>/ per province (63 until the 2025 merger, "
        "34 after), the national registry in raw/agencies/; years 2024-2025; --scale multiplies each "
        "province's size (1.0 ≈ 18M dossiers a year in all, 0.56 ≈ 10M)",
    )
    p.add_argument(
        "--all-provinces",
        action="store_true",
        help="--national: all 34 provinces (default: six, three of them merged in 2025)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="egov",
        description="E-government KPI pipeline: computes the yearly ICT-application ranking of state agencies "
        "from their records. Data directory: $EGOV_DATA_DIR, else data/ (raw files in raw/, results in marts/).",
        epilog="Exit codes: 0 success, 1 the pipeline failed (the published marts are unchanged), 2 wrong usage "
        "or missing input. Guides: docs/operators.md (running it), docs/analysts.md (the marts).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="build the synthetic sample province and run everything on it")
    p.add_argument("--regenerate", action="store_true", help="rebuild the sample even if raw files exist")
    p.add_argument(
        "--scale",
        type=float,
        help=f"dossier volume multiplier (1.0 ≈ 300k/year; default 1.0, --national {NATIONAL_DEMO_SCALE})",
    )
    p.add_argument("--seed", type=int, default=20161, help="random seed of the sample (same seed, same data)")
    p.add_argument("-v", "--verbose", action="store_true", help="also print each step's messages (files read, …)")
    _add_national_sample_options(p)
    p.add_argument(
        "--executor",
        choices=["in_process", "multiprocess"],
        default="in_process",
        help="--national: provinces one after another, or WORKERS at once",
    )
    p.add_argument("--workers", type=int, default=2, help="--national --executor multiprocess: provinces at once")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("generate", help="only write the synthetic sample province's raw files")
    p.add_argument(
        "--scale",
        type=float,
        help=f"dossier volume multiplier (1.0 ≈ 300k/year; default 1.0, --national {NATIONAL_DEMO_SCALE})",
    )
    p.add_argument("--seed", type=int, default=20161, help="random seed")
    _add_national_sample_options(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("run", help="refresh a year (default: this year) from new or changed raw files")
    p.add_argument(
        "--year",
        "--years",
        dest="years",
        type=parse_years,
        metavar="YEARS",
        help="a year (2024) or a range (2016-2020)",
    )
    p.add_argument("--full-refresh", action="store_true", help="reload every raw file, not only changed ones")
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="rebuild past years completely (after a rule or a record changed)")
    p.add_argument("--years", type=parse_years, required=True, metavar="YEARS", help="e.g. 2016-2020")
    _add_run_options(p)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser(
        "report",
        help="write a year's report files (HTML, Excel, agency profiles) from the marts "
        "and print its ranking summary and data quality (a national data directory: the ranking "
        "of provinces)",
    )
    p.add_argument(
        "--year", type=int, help="year (default: the latest with annual returns; national: the latest ranked)"
    )
    p.add_argument("--no-files", action="store_true", help="only print; do not (re)write marts/reports/<year>/")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "sql",
        help="query the published marts read-only (a prompt, or one QUERY)",
        description="Open the published marts read-only and run SQL (DuckDB dialect). Without "
        "QUERY, a prompt: end statements with ';', Ctrl-D to leave. Read-only: nothing you do "
        "here can change what the pipeline published, and no run is blocked. No other file is "
        "read or written (read_csv, COPY ... TO, ATTACH) but in the folders named with "
        "--allow-files, and no extension is installed or loaded.",
        epilog='Example: egov sql "SELECT rank, agency_name, total_points FROM rankings WHERE '
        "year = 2025 AND agency_group = 'department' ORDER BY rank\"",
    )
    p.add_argument("query", nargs="?", help="one SQL statement to run and print")
    p.add_argument(
        "--csv",
        action="store_true",
        help="print the result as CSV (for a spreadsheet or a pipe); a "
        "text starting with = + - @ is written with a leading ' so that no spreadsheet runs it",
    )
    p.add_argument(
        "--allow-files",
        action="append",
        metavar="DIR",
        help="let queries read and write files in "
        "this folder (again for more), e.g. COPY ... TO 'DIR/x.parquet'; never one holding or inside "
        "the data directory",
    )
    p.set_defaults(func=cmd_sql)

    p = sub.add_parser("worker", help="a Celery worker for national runs with --executor celery (docs/operators.md)")
    p.add_argument("--broker", default=DEFAULT_BROKER, help="Redis URL (Debian's redis-server; default %(default)s)")
    p.add_argument("--concurrency", type=int, default=1, help="provinces this worker runs at once")
    p.add_argument("--name", help="worker name (default: generated)")
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("ui", help="start the Dagster web UI and daemon (schedules, sensors, backfills)")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `egov report | head`
        return EXIT_OK
    except KeyboardInterrupt:
        _say("Interrupted: the published marts are unchanged unless the run had reached `marts`.")
        return EXIT_FAILED
    except Exception as error:  # the few failures outside a step: one line, not a traceback
        where = disk_full(error)
        if where is None:
            from pipelines.defs.resources import WarehouseLocked

            if isinstance(error, WarehouseLocked):
                _say(str(error))
                return EXIT_FAILED
            raise
        _say(
            f"The disk is full (writing {where} under {settings.data_dir()}): free some space and run again. "
            "The published marts are unchanged; half-written files are removed by the next run."
        )
        return EXIT_FAILED


# The status Python's own exit gives when the output cannot be flushed.
FLUSH_FAILED = 120


def command() -> None:
    """The `egov` command: `main`, then the process ends without the interpreter's teardown of the modules it
    loaded (Dagster, DuckDB, Polars: ~1 s after every command, measured in docs/benchmarks.md). By then every file is
    written and closed and the GX worker stopped. What an exit does otherwise still happens, in its order: other
    threads are waited for, the exit handlers run (logging, temporary directories), the output is flushed (a failed
    flush is an error, as Python's own exit makes it); an uncaught exception ends the process as usual."""
    status = main()
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's; elsewhere the usual exit
    if run_exit_handlers is None:
        sys.exit(status)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    run_exit_handlers()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # `egov report | head`; a stream already closed
            pass
        except OSError as error:  # a full disk under `egov sql ... > out.csv`: the output is incomplete
            with contextlib.suppress(OSError, ValueError):
                os.write(2, f"egov: the output could not be written: {error}\n".encode())
            status = status or FLUSH_FAILED
    os._exit(status)


if __name__ == "__main__":
    command()
