"""`egov`: the pipeline for people who are not Dagster users.

Every command drives the Dagster definitions of `pipelines.definitions` (the same job the schedule runs), in
this process, recording runs in a persistent Dagster instance so they also show in the web UI.

Exit codes: 0 success, 1 the pipeline failed (nothing was published), 2 wrong usage or missing input.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from pipelines import settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
# The instance's settings: no telemetry; runs that write the warehouse (tag egov/warehouse) queue one at a time.
DAGSTER_YAML = """telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: egov/warehouse
        limit: 1
"""


def _say(message: str) -> None:
    print(message, flush=True)


def parse_years(text: str) -> list[int]:
    """'2024', '2016-2020' or '2016...2020' → the list of years."""
    text = text.replace("...", "-")
    try:
        if "-" in text:
            first, last = (int(part) for part in text.split("-", 1))
        else:
            first = last = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a year or a range like 2016-2020") from None
    if first > last:
        raise argparse.ArgumentTypeError(f"the range {text} ends before it starts")
    this_year = settings.today_vn().year
    if first < settings.FIRST_YEAR or last > this_year:
        raise argparse.ArgumentTypeError(f"years must lie between {settings.FIRST_YEAR} and {this_year} (got {text})")
    return list(range(first, last + 1))


def ensure_dagster_home(data_dir: Path) -> Path:
    """Runs are recorded in DAGSTER_HOME, by default `<data dir>/dagster_home`, so the UI can show them."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def run_pipeline(years: list[int], *, full_refresh: bool = False, data_dir: Path | None = None) -> bool:
    """Materialize the whole pipeline for `years` in one Dagster run; True on success."""
    import dagster as dg

    from pipelines.definitions import PIPELINE_JOB, defs
    from pipelines.resources import build_resources

    base = data_dir or settings.data_dir()
    ensure_dagster_home(base)
    job = defs.resolve_job_def(PIPELINE_JOB)
    ingest_ops = [n for n in job.graph.node_names() if n.startswith("stg_")]
    run_config = {
        "ops": {name: {"config": {"full_refresh": full_refresh}} for name in ingest_ops},
        "loggers": {"console": {"config": {"log_level": "INFO"}}},
    }
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    _say(f"== Running the pipeline for {span} (data: {base}) ==")
    started = time.monotonic()
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            resources=build_resources(base),
            tags={"dagster/asset_partition_range_start": str(years[0]),
                  "dagster/asset_partition_range_end": str(years[-1])},
            raise_on_error=False,
        )
    elapsed = time.monotonic() - started
    if not result.success:
        failed = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        for event in failed:
            error = event.event_specific_data.error if event.event_specific_data else None
            _say(f"FAILED step {event.step_key}: {error.message.strip() if error else 'see the Dagster logs'}")
        published = any(e.event_type_value == "STEP_SUCCESS" and e.step_key == "marts" for e in result.all_events)
        _say(f"== Pipeline FAILED after {elapsed:.1f} s; " + (
            "the marts were published, the step(s) above after them failed ==" if published
            else "the published marts were left as they were =="))
        return False
    _say(f"== Pipeline finished in {elapsed:.1f} s (Dagster run {result.run_id}) ==")
    return True


def print_report(year: int | None = None, data_dir: Path | None = None) -> int | None:
    """This year's top and bottom agencies per group, and what the data quality report says; returns the year."""
    import duckdb

    base = data_dir or settings.data_dir()
    marts = settings.marts_dir(base) / "egov.duckdb"
    if not marts.exists():
        _say(f"No marts yet at {marts}: run `egov run` (or `egov demo`) first.")
        return None
    con = duckdb.connect(str(marts), read_only=True)
    try:
        # By default the latest year whose annual returns are in: the running year is still incomplete.
        year = year or con.execute(
            "SELECT coalesce(max(year) FILTER (WHERE indicator_code = 'computers_per_staff' AND denominator "
            "IS NOT NULL), max(year)) FROM indicators").fetchall()[0][0]
        if year is None:
            _say("The marts hold no ranking yet.")
            return None
        _say(f"\n== Xếp hạng mức độ ứng dụng CNTT năm {year} (ranking {year}) ==")
        groups = con.execute(
            "SELECT agency_group, any_value(a.agency_group_label), count(*) FROM rankings JOIN agencies a "
            "USING (agency_code, agency_group) WHERE year = ? GROUP BY ALL "
            "ORDER BY list_position(['department', 'district', 'commune', 'central'], any_value(agency_group))",
            [year]).fetchall()
        for group, label, n in groups:
            _say(f"\n{label} ({group}, {n} agencies)")
            rows = con.execute(
                "SELECT rank, agency_name, total_points, classification, rank_change_label FROM rankings "
                "WHERE year = ? AND agency_group = ? ORDER BY rank, agency_code", [year, group]).fetchall()
            shown = rows if len(rows) <= 6 else rows[:3] + [None] + rows[-3:]
            for row in shown:
                if row is None:
                    _say("     …")
                    continue
                rank, name, total, cls, change = row
                _say(f"  {rank:>3}. {name:<48} {total:6.2f}  {cls:<10} {change or ''}")
        classes = con.execute(
            "SELECT classification, count(*) FROM rankings WHERE year = ? GROUP BY ALL ORDER BY 2 DESC",
            [year]).fetchall()
        _say("\nXếp loại: " + ", ".join(f"{c} {n}" for c, n in classes))
        _print_quality(con, year)
    finally:
        con.close()
    _say(f"\nMarts: {marts} (open read-only with DuckDB >= 2.0; see docs/analysts.md)")
    reports = settings.marts_dir(base) / "reports"
    if (reports / str(year) / "index.html").exists():
        _say(f"Báo cáo (reports): {reports / str(year) / 'index.html'} and {reports / 'index.html'} (all years)")
    return year


def _print_quality(con, year: int) -> None:
    from expectations.sql_checks import quality_summary

    _say(f"\n== Chất lượng dữ liệu năm {year} (data quality; report: data/quality/data_docs/index.html) ==")
    for line in quality_summary(con, year):
        _say(f"  - {line}")


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.synthetic import generate_sample_province

    base = settings.data_dir()
    _say(f"== Generating the SYNTHETIC sample province 'Tỉnh Mẫu' into {settings.raw_dir(base)} ==")
    started = time.monotonic()
    summary = generate_sample_province(settings.raw_dir(base), seed=args.seed, scale=args.scale, progress=_say)
    dossiers = sum(summary.get("dossiers_per_year", {}).values())
    _say(f"== Sample written in {time.monotonic() - started:.1f} s: {dossiers:,} dossiers (synthetic data) ==")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    raw = settings.raw_dir()
    if args.regenerate or not (raw / "agencies").exists():
        cmd_generate(args)
    else:
        _say(f"== Using the raw files already in {raw} (--regenerate to rebuild the sample) ==")
    years = list(range(settings.FIRST_YEAR, settings.today_vn().year + 1))
    if not run_pipeline(years, full_refresh=args.regenerate):
        return EXIT_FAILED
    print_report()
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    years = args.years or [settings.today_vn().year]
    if not settings.raw_dir().exists():
        _say(f"No raw data at {settings.raw_dir()}: put files there (docs/operators.md) or run `egov demo`.")
        return EXIT_USAGE
    return EXIT_OK if run_pipeline(years, full_refresh=args.full_refresh) else EXIT_FAILED


def cmd_backfill(args: argparse.Namespace) -> int:
    return EXIT_OK if run_pipeline(args.years, full_refresh=True) else EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    from assets.marts.publish import MARTS_FILE
    from assets.reports.publish import REPORTS_DIR, write_reports

    marts = settings.marts_dir() / MARTS_FILE
    if args.year and marts.exists() and not args.no_files:  # (re)write the files first, then point at them
        write_reports(marts, [args.year], settings.marts_dir() / REPORTS_DIR, progress=_say)
    year = print_report(args.year)
    if year is None:
        return EXIT_USAGE
    if not args.year and not args.no_files:
        write_reports(marts, [year], settings.marts_dir() / REPORTS_DIR, progress=_say)
    return EXIT_OK


def cmd_ui(args: argparse.Namespace) -> int:
    home = ensure_dagster_home(settings.data_dir())
    _say(f"== Dagster UI on http://127.0.0.1:{args.port} (runs in {home}); Ctrl-C to stop ==")
    os.execvp("dagster", ["dagster", "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(args.port)])
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="egov",
        description="E-government KPI pipeline: computes the yearly ICT-application ranking of state agencies "
        "from their records. Data directory: $EGOV_DATA_DIR, else data/ (raw files in raw/, results in marts/).",
        epilog="Exit codes: 0 success, 1 the pipeline failed (the published marts are unchanged), 2 wrong usage.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="build the synthetic sample province and run everything on it")
    p.add_argument("--regenerate", action="store_true", help="rebuild the sample even if raw files exist")
    p.add_argument("--scale", type=float, default=1.0, help="dossier volume multiplier (1.0 ≈ 300k/year)")
    p.add_argument("--seed", type=int, default=20161, help="random seed of the sample (same seed, same data)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("generate", help="only write the synthetic sample province's raw files")
    p.add_argument("--scale", type=float, default=1.0, help="dossier volume multiplier (1.0 ≈ 300k/year)")
    p.add_argument("--seed", type=int, default=20161, help="random seed")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("run", help="refresh a year (default: this year) from new or changed raw files")
    p.add_argument("--year", "--years", dest="years", type=parse_years, metavar="YEARS",
                   help="a year (2024) or a range (2016-2020)")
    p.add_argument("--full-refresh", action="store_true", help="reload every raw file, not only changed ones")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="rebuild past years completely (after a rule or a record changed)")
    p.add_argument("--years", type=parse_years, required=True, metavar="YEARS", help="e.g. 2016-2020")
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("report", help="write a year's report files (HTML, Excel, agency profiles) from the marts "
                       "and print its ranking summary and data quality")
    p.add_argument("--year", type=int, help="year (default: the latest with annual returns)")
    p.add_argument("--no-files", action="store_true", help="only print; do not (re)write data/marts/reports/<year>/")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("ui", help="start the Dagster web UI and daemon (schedules, sensors, backfills)")
    p.add_argument("--port", type=int, default=3000)
    p.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    import warnings

    # Dagster marks backfill policies "beta"; the warning means nothing to the people this CLI is for.
    warnings.filterwarnings("ignore", message=".*is currently in beta.*")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
