"""`egov run` and `egov backfill`: years from the command line, a provincial or national run in this process, its
progress and its failures in one line each."""

from __future__ import annotations

import argparse
import errno
import re
import time
from pathlib import Path

from pipelines.cli.console import EXIT_FAILED, EXIT_OK, EXIT_USAGE, _say
from pipelines.cli.instance import ensure_dagster_home
from pipelines.core import settings
from pipelines.core.registry.rubrics import rubric_files

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"  # `--executor celery` and `egov worker` without --broker


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
    if first < settings.EARLIEST_YEAR or last > this_year:
        raise argparse.ArgumentTypeError(
            f"years must lie between {settings.EARLIEST_YEAR} and {this_year} (got {text})"
        )
    return list(range(first, last + 1))


def raw_files_present(raw: Path) -> bool:
    """Whether the raw folder holds at least one file (an unmounted share or a wrong path holds none)."""
    return raw.is_dir() and any(p.is_file() for p in raw.rglob("*"))


def run_pipeline(years: list[int], **options: object) -> bool:
    """Materialize the whole pipeline for `years` in one Dagster run; True on success (see `execute_pipeline`)."""
    return execute_pipeline(years, **options) == EXIT_OK  # type: ignore[arg-type]


def execute_pipeline(
    years: list[int],
    *,
    full_refresh: bool = False,
    data_dir: Path | None = None,
    allow_shrink: bool = False,
    verbose: bool = False,
    skip_unchanged: bool = False,
    **national: object,
) -> int:
    """Materialize the whole pipeline for `years` in one Dagster run; returns the exit code.

    `skip_unchanged` (egov run): when nothing the run depends on changed since the last successful run of the
    same years (pipelines/cli/unchanged.py), say so and return without starting Dagster: the marts are already
    what the run would publish.
    """
    from pipelines.cli import unchanged

    base = data_dir or settings.data_dir()
    if settings.is_national(base):
        return execute_national(
            years, full_refresh=full_refresh, data_dir=base, allow_shrink=allow_shrink, verbose=verbose, **national
        )
    raw = settings.raw_dir(base)
    # With extracts (extract.yaml), the records come from the database: raw/ may start empty, and a night with no
    # new file may still have changed rows to pull, so the run is never skipped as unchanged.
    from assets.extraction.extract import EXTRACT_FILE

    extracting = (base / EXTRACT_FILE).is_file()
    if not extracting and not raw_files_present(raw):
        _say(
            f"No raw files under {raw}: is the share mounted and EGOV_DATA_DIR right? Nothing was run; the "
            "published marts are unchanged (docs/operators.md says where each source's files go)."
        )
        return EXIT_USAGE
    rubrics = rubric_files(settings.rubric_dir(base))
    if rubrics and min(years) < min(rubrics):
        _say(
            f"No rubric for {min(years)}: the rubrics of {settings.rubric_dir(base)} start with {min(rubrics)}.yaml, "
            "and a year is scored with its own file or the latest earlier one (docs/rubrics.md §1). Nothing was run; "
            "the published marts are unchanged."
        )
        return EXIT_USAGE
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    if skip_unchanged and not full_refresh and not extracting and unchanged.nothing_new(base, years):
        _say(
            f"== Nothing new for {span} since the last successful run (raw files, code, configuration and "
            "published files unchanged): the published marts are up to date; nothing was run =="
        )
        return EXIT_OK
    from pipelines.core.provinces import province_lock

    # A national run's province step holds this folder's lock while it writes the folder (provinces/<code>/ is a
    # provincial data directory): `egov run` on that folder waits for it, their steps never interleave. A
    # provincial deployment keeps its own rule: a second run says at once that another run is writing.
    if base.parent.name != settings.PROVINCES or not settings.is_national(base.parent.parent):
        return _execute_provincial(
            base, years, span, full_refresh=full_refresh, allow_shrink=allow_shrink, verbose=verbose
        )
    with province_lock(base, _say):
        return _execute_provincial(
            base, years, span, full_refresh=full_refresh, allow_shrink=allow_shrink, verbose=verbose
        )


def _execute_provincial(
    base: Path, years: list[int], span: str, *, full_refresh: bool, allow_shrink: bool, verbose: bool
) -> int:
    """The provincial run of `execute_pipeline`, under the folder's lock."""
    from pipelines.cli import unchanged

    inputs = unchanged.fingerprint(base, years)  # taken before the run: a file arriving during it is new next time
    unchanged.forget(base)
    import dagster as dg

    from expectations import gx_worker  # started by the staging checks when a staged table changed
    from pipelines.defs.jobs import PIPELINE_JOB, pipeline_run_config
    from pipelines.defs.provincial import provincial_defs
    from pipelines.defs.resources import build_resources
    from pipelines.defs.runs import live_warehouse_runs, process_tags, reap_dead_runs

    ensure_dagster_home(base)
    job = provincial_defs.resolve_job_def(PIPELINE_JOB)
    run_config = pipeline_run_config(
        job, full_refresh=full_refresh, allow_shrink=allow_shrink, log_level="INFO" if verbose else "WARNING"
    )
    with dg.DagsterInstance.get() as instance:
        for line in reap_dead_runs(instance):
            _say(line)
        busy = live_warehouse_runs(instance)
        if busy:
            run = busy[0]
            _say(
                f"Another run is writing the warehouse: Dagster run {run.run_id[:8]} ({run.status.value}, pid "
                f"{run.tags.get('egov/pid', '?')}). Nothing was run; wait for it to end (`./egov ui` shows it) "
                "and run again."
            )
            return EXIT_FAILED
        _say(f"== Running the pipeline for {span} (data: {base}) ==")
        started = time.monotonic()
        result = job.execute_in_process(
            run_config=run_config,
            instance=instance,
            resources=build_resources(base),
            tags={
                "dagster/asset_partition_range_start": str(years[0]),
                "dagster/asset_partition_range_end": str(years[-1]),
                **process_tags(),
            },
            raise_on_error=False,
        )
    elapsed = time.monotonic() - started
    gx_worker.stop()  # data_quality used it, or the run ended before
    if not result.success:
        say_failed_steps(result.all_events)
        published = any(e.event_type_value == "STEP_SUCCESS" and e.step_key == "marts" for e in result.all_events)
        _say(
            f"== Pipeline FAILED after {elapsed:.1f} s; "
            + (
                "the marts were published, the step(s) above after them failed =="
                if published
                else "the published marts were left as they were =="
            )
        )
        return EXIT_FAILED
    unchanged.record_success(base, years, inputs)
    _say(f"== Pipeline finished in {elapsed:.1f} s (Dagster run {result.run_id}) ==")
    from pipelines.defs.ingestion import years_changed

    others = sorted(set(years_changed(result.all_events)) - set(years))
    if others:
        # Records that change: an extract wrote a new version into another year's folder (a dossier received in
        # December changed in January), or a version filed under another year (a corrected reception date) left
        # that year's staging, or a dossier of this year finished or was rated in a later year's QĐ 766 months:
        # those years run now, one run each, so no change waits and no dossier stays counted twice.
        _say(
            f"== Records of {', '.join(map(str, others))} changed (extracted, moved between years, or finished "
            "there from an earlier year); running those years too =="
        )
        for other in others:
            code = _execute_provincial(
                base, [other], str(other), full_refresh=False, allow_shrink=allow_shrink, verbose=verbose
            )
            if code != EXIT_OK:
                return code
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


def execute_national(
    years: list[int],
    *,
    full_refresh: bool,
    data_dir: Path,
    allow_shrink: bool,
    verbose: bool,
    executor: str = "in_process",
    workers: int = 2,
    broker: str | None = None,
) -> int:
    """Every province of a national data directory for `years` (a step each), then the ranking of provinces: one
    Dagster run of the national job on the chosen executor; returns the exit code."""
    import dagster as dg

    from assets.national.folders import province_folders
    from pipelines import definitions
    from pipelines.defs.provinces import PROVINCE_DIMENSION, range_tags, sync_province_partitions
    from pipelines.defs.runs import live_warehouse_runs, process_tags, reap_dead_runs

    base = data_dir
    folders = province_folders(base)
    if not folders.codes:  # a run names the folders it skips (its first step); here nothing would run
        for message in folders.skipped:
            _say(f"  {message}")
        _say(
            f"No province of the national registry has a folder with a raw/ folder under "
            f"{settings.provinces_dir(base)}. Nothing was run."
        )
        return EXIT_USAGE
    if executor == "celery":
        problem = celery_workers_problem(broker or DEFAULT_BROKER)
        if problem:
            _say(f"{problem}. Nothing was run.")
            return EXIT_FAILED
    ensure_dagster_home(base)
    rubrics = rubric_files(settings.rubric_dir(base))
    if rubrics and min(years) < min(rubrics):
        _say(
            f"No rubric for {min(years)}: the rubrics of {settings.rubric_dir(base)} start with {min(rubrics)}.yaml, "
            "and a year is scored with its own file or the latest earlier one (docs/rubrics.md §1). Nothing was run; "
            "the published marts are unchanged."
        )
        return EXIT_USAGE
    span = f"{years[0]}" if len(years) == 1 else f"{years[0]}–{years[-1]}"
    province_config = {"full_refresh": full_refresh, "allow_shrink": allow_shrink}
    run_config: dict = {
        "ops": {"province_results": {"ops": {"province_pipeline": {"config": province_config}}}},
        "loggers": {"egov_progress": {"config": {"log_level": "INFO" if verbose else "WARNING"}}},
    }
    if executor == "multiprocess":
        run_config["execution"] = {"config": {"multiprocess": {"max_concurrent": workers}}}
    elif executor == "celery":
        run_config["execution"] = {"config": {"broker": broker or DEFAULT_BROKER, "backend": broker or DEFAULT_BROKER}}
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
            _say(
                f"  province folder removed: {code} (no longer run; the national marts keep only the provinces "
                "with a folder)"
            )
        provinces = instance.get_dynamic_partitions(PROVINCE_DIMENSION)
        _say(
            f"== Running {len(provinces)} provinces for {span}, then the ranking of provinces ({executor}; data: "
            f"{base}) =="
        )
        tags = {**range_tags(provinces, years), **process_tags()}
        started = time.monotonic()
        if executor == "in_process":
            result = definitions.defs.resolve_job_def(definitions.NATIONAL_JOB).execute_in_process(
                run_config=run_config, instance=instance, tags=tags, raise_on_error=False
            )
            success, run_id, events = result.success, result.run_id, result.all_events
        else:
            target = definitions.national_celery_job if executor == "celery" else definitions.national_multiprocess_job
            with dg.execute_job(
                dg.reconstructable(target), instance=instance, run_config=run_config, tags=tags, raise_on_error=False
            ) as result:
                success, run_id, events = result.success, result.run_id, result.all_events
    elapsed = time.monotonic() - started
    if not success:
        say_failed_steps(events)
        _say(
            f"== National run FAILED after {elapsed:.1f} s (Dagster run {run_id}); `./egov ui` shows which province =="
        )
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
        return (
            f"No Celery worker answers on {broker} within {timeout:.0f} s; start one or more with "
            f"`./egov worker --broker {broker}` (docs/operators.md)"
        )
    return None


def cmd_run(args: argparse.Namespace) -> int:
    years = args.years or [settings.today_vn().year]
    return execute_pipeline(
        years,
        full_refresh=args.full_refresh,
        allow_shrink=args.allow_shrink,
        verbose=args.verbose,
        skip_unchanged=True,
        **national_options(args),
    )


def cmd_backfill(args: argparse.Namespace) -> int:
    return execute_pipeline(
        args.years, full_refresh=True, allow_shrink=args.allow_shrink, verbose=args.verbose, **national_options(args)
    )


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


def national_options(args: argparse.Namespace) -> dict[str, object]:
    return {"executor": args.executor, "workers": args.workers, "broker": args.broker}
