"""`egov`: the pipeline for people who are not Dagster users.

Every command drives the Dagster definitions of `pipelines.definitions` (the same job the schedule runs), in
this process, recording runs in a persistent Dagster instance so they also show in the web UI.

Exit codes: 0 success, 1 the pipeline failed (nothing was published), 2 wrong usage or missing input.
Imports of Dagster, DuckDB and the assets happen inside the commands: `egov --help` stays instant.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path

from pipelines import settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"  # `--executor celery` and `egov worker` without --broker
NATIONAL_DEMO_SCALE = 0.02  # `egov demo --national`: ~6,000 dossiers a year in a small province, 50,000 in Hà Nội
UI_STOP_GRACE_SECONDS = 5.0  # after Ctrl-C, how long `egov ui` lets the webserver and daemon exit before killing
# The instance's settings: no telemetry; runs that write the warehouse (tag egov/warehouse) queue one at a time, and so
# do runs of the same province of a national directory (tag egov/province, one run per value).
# Run monitoring fails runs stuck STARTING (a launch that never began); runs whose process died while STARTED are
# recognised by egov itself (pipelines/runs.py: the default launcher has no worker health check).
DAGSTER_YAML = """telemetry:
  enabled: false
concurrency:
  runs:
    tag_concurrency_limits:
      - key: egov/warehouse
        limit: 1
      - key: egov/province
        value:
          applyLimitPerUniqueValue: true
        limit: 1
run_monitoring:
  enabled: true
  start_timeout_seconds: 300
  poll_interval_seconds: 60
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
        raise argparse.ArgumentTypeError(
            f"years must lie between {settings.FIRST_YEAR} and {this_year} (got {text})")
    return list(range(first, last + 1))


def ensure_dagster_home(data_dir: Path) -> Path:
    """Runs are recorded in DAGSTER_HOME, by default `<data dir>/dagster_home`, so the UI can show them."""
    home = Path(os.environ.get("DAGSTER_HOME") or data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    os.environ["DAGSTER_HOME"] = str(home)
    initialise_instance(home)
    return home


def initialise_instance(home: Path) -> None:
    """Create the instance's SQLite storages once, under a lock: processes that open a new DAGSTER_HOME at the same
    time (two `egov worker`s and a backfill started together) would otherwise each create the tables, and the
    loser fails ("table ... already exists") or leaves the schema with two migration heads."""
    import fcntl

    marker = home / ".egov-initialised"
    if marker.exists():
        return
    with (home / ".egov-init.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():  # another process did it while this one waited
            return
        import dagster as dg

        with dg.DagsterInstance.from_config(str(home)) as instance:
            instance.get_runs(limit=1)
            instance.all_instigator_state()
        marker.touch()


def raw_files_present(raw: Path) -> bool:
    """Whether the raw folder holds at least one file (an unmounted share or a wrong path holds none)."""
    return raw.is_dir() and any(p.is_file() for p in raw.rglob("*"))


def run_pipeline(years: list[int], **options: object) -> bool:
    """Materialize the whole pipeline for `years` in one Dagster run; True on success (see `execute_pipeline`)."""
    return execute_pipeline(years, **options) == EXIT_OK  # type: ignore[arg-type]


def execute_pipeline(years: list[int], *, full_refresh: bool = False, data_dir: Path | None = None,
                     allow_shrink: bool = False, verbose: bool = False, skip_unchanged: bool = False,
                     **national: object) -> int:
    """Materialize the whole pipeline for `years` in one Dagster run; returns the exit code.

    `skip_unchanged` (egov run): when nothing the run depends on changed since the last successful run of the
    same years (pipelines/unchanged.py), say so and return without starting Dagster: the marts are already
    what the run would publish.
    """
    from pipelines import unchanged

    base = data_dir or settings.data_dir()
    if settings.is_national(base):
        return execute_national(years, full_refresh=full_refresh, data_dir=base, allow_shrink=allow_shrink,
                                verbose=verbose, **national)
    raw = settings.raw_dir(base)
    if not raw_files_present(raw):
        _say(f"No raw files under {raw}: is the share mounted and EGOV_DATA_DIR right? Nothing was run; the "
             "published marts are unchanged (docs/operators.md says where each source's files go).")
        return EXIT_USAGE
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    if skip_unchanged and not full_refresh and unchanged.nothing_new(base, years):
        _say(f"== Nothing new for {span} since the last successful run (raw files, code, configuration and "
             "published files unchanged): the published marts are up to date; nothing was run ==")
        return EXIT_OK
    from pipelines.national import province_lock

    # A national run's province step holds this folder's lock while it writes the folder (provinces/<code>/ is a
    # provincial data directory): `egov run` on that folder waits for it, their steps never interleave.
    with province_lock(base, _say):
        return _execute_provincial(base, years, span, full_refresh=full_refresh, allow_shrink=allow_shrink,
                                   verbose=verbose)


def _execute_provincial(base: Path, years: list[int], span: str, *, full_refresh: bool, allow_shrink: bool,
                        verbose: bool) -> int:
    """The provincial run of `execute_pipeline`, under the folder's lock."""
    from pipelines import unchanged

    inputs = unchanged.fingerprint(base, years)  # taken before the run: a file arriving during it is new next time
    unchanged.forget(base)
    import dagster as dg

    from expectations import gx_worker  # started by the staging checks when a staged table changed
    from pipelines.definitions import PIPELINE_JOB, defs
    from pipelines.jobs import pipeline_run_config
    from pipelines.resources import build_resources
    from pipelines.runs import live_warehouse_runs, process_tags, reap_dead_runs

    ensure_dagster_home(base)
    job = defs.resolve_job_def(PIPELINE_JOB)
    run_config = pipeline_run_config(job, full_refresh=full_refresh, allow_shrink=allow_shrink,
                                     log_level="INFO" if verbose else "WARNING")
    with dg.DagsterInstance.get() as instance:
        for line in reap_dead_runs(instance):
            _say(line)
        busy = live_warehouse_runs(instance)
        if busy:
            run = busy[0]
            _say(f"Another run is writing the warehouse: Dagster run {run.run_id[:8]} ({run.status.value}, pid "
                 f"{run.tags.get('egov/pid', '?')}). Nothing was run; wait for it to end (`./egov ui` shows it) "
                 "and run again.")
            return EXIT_FAILED
        _say(f"== Running the pipeline for {span} (data: {base}) ==")
        started = time.monotonic()
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            resources=build_resources(base),
            tags={"dagster/asset_partition_range_start": str(years[0]),
                  "dagster/asset_partition_range_end": str(years[-1]), **process_tags()},
            raise_on_error=False,
        )
    elapsed = time.monotonic() - started
    gx_worker.stop()  # data_quality used it, or the run ended before
    if not result.success:
        say_failed_steps(result.all_events)
        published = any(e.event_type_value == "STEP_SUCCESS" and e.step_key == "marts" for e in result.all_events)
        _say(f"== Pipeline FAILED after {elapsed:.1f} s; " + (
            "the marts were published, the step(s) above after them failed ==" if published
            else "the published marts were left as they were =="))
        return EXIT_FAILED
    unchanged.record_success(base, years, inputs)
    _say(f"== Pipeline finished in {elapsed:.1f} s (Dagster run {result.run_id}) ==")
    return EXIT_OK


def say_failed_steps(events: list) -> None:
    """A line per failed step, with the step's own exception message (not Dagster's wrapping)."""
    for event in [e for e in events if e.event_type_value == "STEP_FAILURE"]:
        error = event.event_specific_data.error if event.event_specific_data else None
        while error is not None and error.cause is not None:  # Dagster wraps the step's own exception
            error = error.cause
        lines = [line.strip() for line in (error.message if error else "").strip().splitlines() if line.strip()]
        message = " ".join(lines[:6])  # a check failure lists the checks on the lines after the first
        message = re.sub(r"^(\w+\.)+\w+: ", "", message)  # "assets.marts.publish.PublishBlocked: "
        _say(f"FAILED step {event.step_key}: {message or 'see the Dagster logs (./egov ui)'}")


def execute_national(years: list[int], *, full_refresh: bool, data_dir: Path, allow_shrink: bool, verbose: bool,
                     executor: str = "in_process", workers: int = 2, broker: str | None = None) -> int:
    """Every province of a national data directory for `years` (a step each), then the ranking of provinces: one
    Dagster run of the national job on the chosen executor; returns the exit code."""
    import dagster as dg

    from pipelines import definitions
    from pipelines.national import PROVINCE_DIMENSION, province_folders, range_tags, sync_province_partitions
    from pipelines.runs import live_warehouse_runs, process_tags, reap_dead_runs

    base = data_dir
    folders = province_folders(base)
    if not folders.codes:  # a run names the folders it skips (its first step); here nothing would run
        for message in folders.skipped:
            _say(f"  {message}")
        _say(f"No province of the national registry has a folder with a raw/ folder under "
             f"{settings.provinces_dir(base)}. Nothing was run.")
        return EXIT_USAGE
    if executor == "celery":
        problem = celery_workers_problem(broker or DEFAULT_BROKER)
        if problem:
            _say(f"{problem}. Nothing was run.")
            return EXIT_FAILED
    ensure_dagster_home(base)
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    province_config = {"full_refresh": full_refresh, "allow_shrink": allow_shrink}
    run_config: dict = {
        "ops": {"province_results": {"ops": {"province_pipeline": {"config": province_config}}}},
        "loggers": {"egov_progress": {"config": {"log_level": "INFO" if verbose else "WARNING"}}},
    }
    if executor == "multiprocess":
        run_config["execution"] = {"config": {"multiprocess": {"max_concurrent": workers}}}
    elif executor == "celery":
        run_config["execution"] = {"config": {"broker": broker or DEFAULT_BROKER,
                                              "backend": broker or DEFAULT_BROKER}}
    with dg.DagsterInstance.get() as instance:
        for line in reap_dead_runs(instance):
            _say(line)
        busy = live_warehouse_runs(instance)
        if busy:
            _say(f"Another run is writing the warehouse: Dagster run {busy[0].run_id[:8]}. Nothing was run.")
            return EXIT_FAILED
        added, removed = sync_province_partitions(instance, base)
        for code in added:
            _say(f"  new province folder: {code}")
        for code in removed:
            _say(f"  province folder removed: {code} (no longer run; the national marts keep only the provinces "
                 "with a folder)")
        provinces = instance.get_dynamic_partitions(PROVINCE_DIMENSION)
        _say(f"== Running {len(provinces)} provinces for {span}, then the ranking of provinces ({executor}; data: "
             f"{base}) ==")
        tags = {**range_tags(provinces, years), **process_tags()}
        started = time.monotonic()
        if executor == "in_process":
            result = definitions.defs.resolve_job_def(definitions.NATIONAL_JOB).execute_in_process(
                run_config=run_config, instance=instance, tags=tags, raise_on_error=False)
            success, run_id, events = result.success, result.run_id, result.all_events
        else:
            target = (definitions.national_celery_job if executor == "celery"
                      else definitions.national_multiprocess_job)
            with dg.execute_job(dg.reconstructable(target), instance=instance, run_config=run_config, tags=tags,
                                raise_on_error=False) as result:
                success, run_id, events = result.success, result.run_id, result.all_events
    elapsed = time.monotonic() - started
    if not success:
        say_failed_steps(events)
        _say(f"== National run FAILED after {elapsed:.1f} s (Dagster run {run_id}); `./egov ui` shows which province "
             "==")
        return EXIT_FAILED
    _say(f"== National run finished in {elapsed:.1f} s (Dagster run {run_id}) ==")
    return EXIT_OK


def celery_workers_problem(broker: str, timeout: float = 5.0) -> str | None:
    """Why a celery run would wait forever (the broker is down, or no worker answers), or None when workers are up:
    dagster-celery queues the steps and waits for a worker without a timeout of its own."""
    from celery import Celery

    if broker.startswith(("redis://", "rediss://")):
        import redis

        try:
            redis.Redis.from_url(broker, socket_connect_timeout=timeout).ping()
        except redis.RedisError as error:
            return f"The Celery broker {broker} does not answer ({error}); start Redis (docs/operators.md)"
    replies = Celery(broker=broker).control.ping(timeout=timeout)
    if not replies:
        return (f"No Celery worker answers on {broker} within {timeout:.0f} s; start one or more with "
                f"`./egov worker --broker {broker}` (docs/operators.md)")
    return None


def print_report(year: int | None = None, data_dir: Path | None = None) -> int | None:
    """This year's top and bottom agencies per group, and what the data quality report says; returns the year."""
    from assets.marts.publish import MARTS_FILE, open_marts
    from assets.reports.common import has_table

    base = data_dir or settings.data_dir()
    marts = settings.marts_dir(base) / MARTS_FILE
    if not marts.exists():
        _say(f"No marts yet at {marts}: run `egov run` (or `egov demo`) first.")
        return None
    with open_marts(marts) as con:
        ranked = [y for (y,) in con.execute("SELECT DISTINCT year FROM rankings ORDER BY year").fetchall()]
        # By default the latest year whose annual returns are in: the running year is still incomplete.
        year = year or con.execute(
            "SELECT coalesce(max(year) FILTER (WHERE indicator_code = 'computers_per_staff' AND denominator "
            "IS NOT NULL), max(year)) FROM indicators").fetchall()[0][0]
        if year is None or not ranked:
            _say(f"The marts at {marts} hold no ranking yet.")
            return None
        if year not in ranked:
            from expectations.sql_checks import no_records

            why = f"no records for year {year}: not ranked; " if no_records(con, year) else ""
            _say(f"The marts hold no ranking for {year} ({why}they rank {_years_text(ranked)}).")
            return None
        _say(f"\n== Xếp hạng mức độ ứng dụng CNTT năm {year} (ranking {year}) ==")
        # Groups in their order and with their labels (marts older than the agency_groups table: by code).
        dimension = "agency_groups" if has_table(con, "agency_groups") else \
            "(SELECT NULL::VARCHAR AS agency_group, NULL::VARCHAR AS label_vi, NULL::INTEGER AS group_order)"
        groups = con.execute(
            "SELECT r.agency_group, coalesce(g.label_vi, r.agency_group), count(*) FROM rankings AS r "
            f"LEFT JOIN {dimension} AS g ON g.agency_group = r.agency_group WHERE r.year = ? "
            "GROUP BY r.agency_group, g.label_vi, g.group_order ORDER BY g.group_order NULLS LAST, r.agency_group",
            [year]).fetchall()
        decimals = dict(con.execute(  # the rubric's rounding of totals (marts older than rubric decimals: 2)
            "SELECT agency_group, max(decimals) FROM rubric_classes WHERE year = ? GROUP BY ALL", [year]).fetchall()
        ) if con.execute("SELECT count(*) FROM information_schema.columns WHERE table_name = 'rubric_classes' "
                         "AND column_name = 'decimals'").fetchall()[0][0] else {}
        for group, label, n in groups:
            places = int(decimals.get(group) or 2)
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
                _say(f"  {rank:>3}. {name:<48} {total:{4 + places}.{places}f}  {cls:<10} {change or ''}")
        classes = con.execute(
            "SELECT classification, count(*) FROM rankings WHERE year = ? GROUP BY ALL ORDER BY 2 DESC",
            [year]).fetchall()
        _say("\nXếp loại: " + ", ".join(f"{c} {n}" for c, n in classes))
        _print_quality(con, year, settings.data_docs_index(base))
    _say(f"\nMarts: {marts} (query them read-only with `egov sql`; see docs/analysts.md)")
    return year


def say_where_reports_are(year: int, base: Path | None = None) -> None:
    reports = settings.marts_dir(base) / "reports"
    if (reports / str(year) / "index.html").exists():
        _say(f"Báo cáo (reports): {reports / str(year) / 'index.html'} and {reports / 'index.html'} (all years)")


def _years_text(years: list[int]) -> str:
    """[2016, 2017, 2018, 2020] → '2016–2018, 2020'."""
    spans: list[list[int]] = []
    for y in years:
        if spans and y == spans[-1][1] + 1:
            spans[-1][1] = y
        else:
            spans.append([y, y])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in spans)


def _print_quality(con, year: int, data_docs: Path) -> None:
    from expectations.sql_checks import quality_summary

    _say(f"\n== Chất lượng dữ liệu năm {year} (data quality; report: {data_docs}) ==")
    for line in quality_summary(con, year):
        _say(f"  - {line}")


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.synthetic import generate_sample_province

    base = settings.data_dir()
    if getattr(args, "national", False):
        return generate_national(args, base)
    _say(f"== Generating the SYNTHETIC sample province 'Tỉnh Mẫu' into {settings.raw_dir(base)} ==")
    started = time.monotonic()
    summary = generate_sample_province(settings.raw_dir(base), seed=args.seed, scale=args.scale or 1.0,
                                       progress=_say)
    dossiers = sum(summary.get("dossiers_per_year", {}).values())
    _say(f"== Sample written in {time.monotonic() - started:.1f} s: {dossiers:,} dossiers (synthetic data) ==")
    return EXIT_OK


def generate_national(args: argparse.Namespace, base: Path) -> int:
    from pipelines.national_sample import DEMO, generate_national_sample

    provinces = None if args.all_provinces else DEMO
    _say(f"== Generating the SYNTHETIC national sample ({'34' if provinces is None else len(provinces)} provinces "
         f"after the 2025 merger, with those they absorbed) into {base} ==")
    started = time.monotonic()
    summary = generate_national_sample(base, scale=args.scale or NATIONAL_DEMO_SCALE, seed=args.seed,
                                       provinces=provinces, progress=_say)
    _say(f"== National sample written in {time.monotonic() - started:.1f} s: {summary['provinces']} province folders, "
         f"{sum(summary['dossiers'].values()):,} dossiers (synthetic data) ==")
    return EXIT_OK


def print_national_report(base: Path, year: int | None = None) -> int | None:
    """The ranking of provinces of `year` (default: the latest ranked), as the ministry publishes it; returns the
    year, or None when the national marts hold no ranking of provinces for it."""
    from assets.marts.publish import MARTS_FILE, open_marts

    marts = settings.marts_dir(base) / MARTS_FILE
    if not marts.exists():
        _say(f"No national marts yet at {marts}: run `egov run` (or `egov demo --national`) first.")
        return None
    with open_marts(marts) as con:
        ranked = [y for (y,) in con.execute(
            "SELECT DISTINCT year FROM rankings WHERE agency_group = 'province' ORDER BY year").fetchall()]
        year = year or (ranked[-1] if ranked else None)
        if year not in ranked:
            _say(f"The national marts at {marts} rank no provinces for {year or 'any year'}"
                 + (f": they rank {_years_text(ranked)}." if ranked else "."))
            return None
        rows = con.execute(
            "SELECT rank, agency_name, index_value, rank_change_label FROM rankings WHERE year = ? AND agency_group "
            "= 'province' ORDER BY rank, agency_code", [year]).fetchall()
    _say(f"\n== Xếp hạng mức độ ứng dụng CNTT các tỉnh, thành phố năm {year} (ranking of provinces) ==")
    for rank, name, index, change in rows:
        _say(f"  {rank:>3}. {name:<32} {index:.4f}  {change or ''}")
    _say(f"\nMarts: {marts}; report: {settings.marts_dir(base) / 'reports' / str(year) / 'index.html'}")
    return year


def cmd_demo(args: argparse.Namespace) -> int:
    if args.national:
        base = settings.data_dir()
        if args.regenerate or not settings.is_national(base):
            generate_national(args, base)
        code = execute_pipeline([2024, 2025], full_refresh=args.regenerate, verbose=args.verbose,
                                executor=args.executor, workers=args.workers, broker=None)
        if code == EXIT_OK:
            print_national_report(base, 2025)
        return code
    raw = settings.raw_dir()
    if args.regenerate or not (raw / "agencies").exists():
        cmd_generate(args)
    else:
        _say(f"== Using the raw files already in {raw} (--regenerate to rebuild the sample) ==")
    years = list(range(settings.FIRST_YEAR, settings.today_vn().year + 1))
    code = execute_pipeline(years, full_refresh=args.regenerate, verbose=args.verbose)
    if code != EXIT_OK:
        return code
    year = print_report()
    if year is not None:
        say_where_reports_are(year)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    years = args.years or [settings.today_vn().year]
    return execute_pipeline(years, full_refresh=args.full_refresh, allow_shrink=args.allow_shrink, verbose=args.verbose,
                            skip_unchanged=True, **national_options(args))


def cmd_backfill(args: argparse.Namespace) -> int:
    return execute_pipeline(args.years, full_refresh=True, allow_shrink=args.allow_shrink, verbose=args.verbose,
                            **national_options(args))


def cmd_report(args: argparse.Namespace) -> int:
    from assets.marts.publish import MARTS_FILE
    from assets.reports.publish import REPORTS_DIR, write_reports

    base = settings.data_dir()
    if settings.is_national(base):  # the ranking of provinces; each province's own reports are in its folder
        from assets.national.reports import write_national_reports

        year = print_national_report(base, args.year)
        if year is None:
            return EXIT_USAGE
        if not args.no_files:
            write_national_reports(base, [year])
        return EXIT_OK
    marts = settings.marts_dir() / MARTS_FILE
    year = print_report(args.year)  # checks the year is ranked in the marts before anything is written
    if year is None:
        return EXIT_USAGE
    if not args.no_files:
        write_reports(marts, [year], settings.marts_dir() / REPORTS_DIR, progress=_say)
    say_where_reports_are(year)
    return EXIT_OK


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
            _say(f"--allow-files {folder}: queries may not write where the pipeline keeps its files (the data "
                 f"directory {base}: raw files, warehouse, marts and reports); name a folder outside it.")
            return EXIT_USAGE
    try:
        with open_marts_for_queries(marts, allowed) as con:
            if args.query:
                return _run_query(con, args.query, args.csv)
            _say(f"Marts {marts} (read-only). End statements with ';'. Try: SHOW TABLES; "
                 "DESCRIBE rankings; SELECT * FROM rankings WHERE year = 2025 LIMIT 10;  Ctrl-D to leave.")
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
        hint = (" (the marts are read-only: to keep results, write them into a folder of your own named with "
                "--allow-files, docs/analysts.md)" if "read-only" in text
                else " (egov sql reads and writes no file but in the folders named with --allow-files DIR, and "
                "installs no extension: docs/analysts.md)" if isinstance(error, duckdb.PermissionException)
                else " (egov sql's settings are fixed)" if "configuration has been locked" in text else "")
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


def dagster_command() -> str:
    """`dagster` of this environment: .venv/bin is usually not on PATH when `./egov` is used."""
    beside = Path(sys.executable).parent / "dagster"
    return str(beside) if beside.exists() else "dagster"


def cmd_ui(args: argparse.Namespace) -> int:
    """Run `dagster dev` in its own process group and stop all of it on the first Ctrl-C (or SIGTERM)."""
    home = ensure_dagster_home(settings.data_dir())
    _say(f"== Dagster UI on http://127.0.0.1:{args.port} (runs in {home}); Ctrl-C to stop ==")
    command = [dagster_command(), "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(args.port)]
    # Started from a background shell, a child inherits ignored SIGINT/SIGTERM: restore the defaults in it.
    child = subprocess.Popen(command, start_new_session=True, preexec_fn=_default_signals)
    stop_requested: list[float] = []

    def stop(_signum: int, _frame: object) -> None:
        if stop_requested:  # a second Ctrl-C: no more waiting
            _signal_group(child, signal.SIGKILL)
            return
        stop_requested.append(time.monotonic())
        _say("== Stopping the Dagster UI and daemon ==")
        _signal_group(child, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            code = child.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if stop_requested and time.monotonic() - stop_requested[0] > UI_STOP_GRACE_SECONDS:
                _signal_group(child, signal.SIGKILL)
    _signal_group(child, signal.SIGKILL)  # whatever of the group outlived dagster dev
    return EXIT_OK if stop_requested or code == 0 else EXIT_FAILED


def cmd_worker(args: argparse.Namespace) -> int:
    """A Celery worker for national runs with `--executor celery` (dagster-celery's worker, our broker config)."""
    home = ensure_dagster_home(settings.data_dir())
    config = home / "celery.yaml"
    config.write_text(f"execution:\n  config:\n    broker: {args.broker}\n    backend: {args.broker}\n",
                      encoding="utf-8")
    bin_dir = Path(sys.executable).parent
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"  # dagster-celery runs `celery`
    name = ["-n", args.name] if args.name else []
    command = [str(bin_dir / "dagster-celery"), "worker", "start", *name, "-A", "dagster_celery.app", "-y",
               str(config), "--", f"--concurrency={args.concurrency}"]
    _say(f"== Celery worker on {args.broker} (data: {settings.data_dir()}, runs: {home}); Ctrl-C to stop ==")
    return subprocess.call(command)


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-shrink", action="store_true",
                   help="publish even if a year loses most of its published rankings (normally a sign of an "
                   "empty or unmounted raw folder; the limit is max_published_drop_share in "
                   "expectations/thresholds.yaml)")
    p.add_argument("-v", "--verbose", action="store_true", help="also print each step's messages (files read, …)")
    p.add_argument("--executor", choices=["in_process", "multiprocess", "celery"], default="in_process",
                   help="national data directory: run the provinces one after another (in_process), in WORKERS "
                   "processes (multiprocess) or on Celery workers (celery; docs/operators.md)")
    p.add_argument("--workers", type=int, default=2, help="provinces at once with --executor multiprocess")
    p.add_argument("--broker", help=f"Celery broker and result backend URL (default {DEFAULT_BROKER})")


def _add_national_sample_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--national", action="store_true",
                   help="a national data directory instead: provinces/<code>/ per province (63 until the 2025 merger, "
                   "34 after), the national registry in raw/agencies/; years 2024-2025; --scale multiplies each "
                   "province's size (1.0 ≈ 18M dossiers a year in all, 0.56 ≈ 10M)")
    p.add_argument("--all-provinces", action="store_true",
                   help="--national: all 34 provinces (default: six, three of them merged in 2025)")


def national_options(args: argparse.Namespace) -> dict[str, object]:
    return {"executor": args.executor, "workers": args.workers, "broker": args.broker}


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
    p.add_argument("--scale", type=float, help="dossier volume multiplier (1.0 ≈ 300k/year; default 1.0, "
                   f"--national {NATIONAL_DEMO_SCALE})")
    p.add_argument("--seed", type=int, default=20161, help="random seed of the sample (same seed, same data)")
    p.add_argument("-v", "--verbose", action="store_true", help="also print each step's messages (files read, …)")
    _add_national_sample_options(p)
    p.add_argument("--executor", choices=["in_process", "multiprocess"], default="in_process",
                   help="--national: provinces one after another, or WORKERS at once")
    p.add_argument("--workers", type=int, default=2, help="--national --executor multiprocess: provinces at once")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("generate", help="only write the synthetic sample province's raw files")
    p.add_argument("--scale", type=float, help="dossier volume multiplier (1.0 ≈ 300k/year; default 1.0, "
                   f"--national {NATIONAL_DEMO_SCALE})")
    p.add_argument("--seed", type=int, default=20161, help="random seed")
    _add_national_sample_options(p)
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("run", help="refresh a year (default: this year) from new or changed raw files")
    p.add_argument("--year", "--years", dest="years", type=parse_years, metavar="YEARS",
                   help="a year (2024) or a range (2016-2020)")
    p.add_argument("--full-refresh", action="store_true", help="reload every raw file, not only changed ones")
    _add_run_options(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("backfill", help="rebuild past years completely (after a rule or a record changed)")
    p.add_argument("--years", type=parse_years, required=True, metavar="YEARS", help="e.g. 2016-2020")
    _add_run_options(p)
    p.set_defaults(func=cmd_backfill)

    p = sub.add_parser("report", help="write a year's report files (HTML, Excel, agency profiles) from the marts "
                       "and print its ranking summary and data quality (a national data directory: the ranking "
                       "of provinces)")
    p.add_argument("--year", type=int, help="year (default: the latest with annual returns; national: the latest "
                   "ranked)")
    p.add_argument("--no-files", action="store_true", help="only print; do not (re)write marts/reports/<year>/")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("sql", help="query the published marts read-only (a prompt, or one QUERY)",
                       description="Open the published marts read-only and run SQL (DuckDB dialect). Without "
                       "QUERY, a prompt: end statements with ';', Ctrl-D to leave. Read-only: nothing you do "
                       "here can change what the pipeline published, and no run is blocked. No other file is "
                       "read or written (read_csv, COPY ... TO, ATTACH) but in the folders named with "
                       "--allow-files, and no extension is installed or loaded.",
                       epilog="Example: egov sql \"SELECT rank, agency_name, total_points FROM rankings WHERE "
                       "year = 2025 AND agency_group = 'department' ORDER BY rank\"")
    p.add_argument("query", nargs="?", help="one SQL statement to run and print")
    p.add_argument("--csv", action="store_true", help="print the result as CSV (for a spreadsheet or a pipe); a "
                   "text starting with = + - @ is written with a leading ' so that no spreadsheet runs it")
    p.add_argument("--allow-files", action="append", metavar="DIR", help="let queries read and write files in "
                   "this folder (again for more), e.g. COPY ... TO 'DIR/x.parquet'; never one holding or inside "
                   "the data directory")
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


def disk_full(error: BaseException) -> str | None:
    """The path or store that ran out of space, when `error` (or what caused it) is a full disk."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = str(current)
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return current.filename or "a file"
        if "No space left on device" in text or "database or disk is full" in text:
            return "Dagster's run storage" if "sqlite" in type(current).__module__ + text.lower() else "a file"
        current = current.__cause__ or current.__context__
    return None


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
            from pipelines.resources import WarehouseLocked

            if isinstance(error, WarehouseLocked):
                _say(str(error))
                return EXIT_FAILED
            raise
        _say(f"The disk is full (writing {where} under {settings.data_dir()}): free some space and run again. "
             "The published marts are unchanged; half-written files are removed by the next run.")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
