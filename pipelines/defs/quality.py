"""Data quality in the run: blocking checks where a failure must stop the ranking, the GX report, and the
`data_quality` table. Row-level checks of the dossier log are DuckDB SQL; GX validates what fits in memory."""

from collections.abc import Callable
from pathlib import Path

import dagster as dg

from expectations.sql_checks import CHECKS, CheckResult, build_data_quality, run_sql_checks
from expectations.suites import AGGREGATE_SUITES, RATINGS, STAGING_SUITES
from pipelines.core import settings
from pipelines.core.registry import load_registry
from pipelines.core.registry.sources import load_sources, registry_source
from pipelines.defs.partitions import partition_years, run_years, single_run, yearly_partitions
from pipelines.defs.resources import Warehouse

DOSSIER_ERRORS = [
    "dossier_duplicate_mahoso",
    "dossier_codes_out_of_range",
    "dossier_dates_out_of_order",
    "dossier_year_mismatch",
]
DOSSIER_WARNINGS = ["dossier_unknown_procedure", "dossier_missing_months"]
# The row checks of the other large sources (config/sources.yaml `large`), blocking like the dossier log's: a
# step after the source's load, with its quarantine check (below).
LOG_CHECKS = {RATINGS.name: ["rating_duplicate_key", "rating_codes_out_of_range"]}
# The tables the run validates with GX: the staging ones and the large sources' monthly aggregates, then the marts'
# (see the staging checks for when each is final).
GX_STAGING_TABLES = [*STAGING_SUITES, *AGGREGATE_SUITES.values()]
GX_TABLES = [*GX_STAGING_TABLES, "indicators", "criterion_scores", "rankings"]


def data_docs_dir(warehouse: Warehouse) -> Path:
    return settings.data_docs_index(warehouse.base).parent


# SQL check results of the current run, shared by its check steps and the data_quality step (same process with
# the in-process executor): each check runs once per run, so the dossier log is not scanned again for the report.
# A step that finds nothing here (another process, a re-executed step) simply runs the checks itself. Only steps
# that run after every table their checks read is final (staging_checks and later) may fill it.
_run_results: dict[tuple[str, tuple[int, ...]], dict[str, CheckResult]] = {}
# Likewise the GX fingerprints the checks took of the tables final by then (the staging checks: the staged tables,
# with the dossier aggregate left in AGGREGATE_TABLE; the later checks: the tables they hand the GX worker), so
# data_quality does not read the dossier log or the ratings again for them.
_run_frames: dict[tuple[str, tuple[int, ...]], dict[str, str]] = {}


def _remember_fingerprints(context: dg.AssetCheckExecutionContext, years: list[int], fingerprints: dict) -> None:
    """Leave the GX fingerprints a check took for this run's data_quality (`_run_frames`)."""
    _run_frames.setdefault((context.run.run_id, tuple(years)), {}).update(fingerprints)


def _run_checks(
    run_id: str, con, years: list[int], names: list[str] | None = None, *, warehouse: Warehouse
) -> list[CheckResult]:
    """The results of `names` (default: every check) for this run, in CHECKS order, running only the missing (with
    the value ranges the data directory's rubrics declare)."""
    cached = _run_results.setdefault((run_id, tuple(years)), {})
    wanted = [c.name for c in CHECKS if names is None or c.name in names]
    missing = [n for n in wanted if n not in cached]
    if missing:
        cached.update(
            {r.name: r for r in run_sql_checks(con, years, names=missing, registry=load_registry(warehouse.base))}
        )
    return [cached[n] for n in wanted]


def _check_result(
    results: list[CheckResult],
    severity: dg.AssetCheckSeverity,
    source: str | None = None,
    log: Callable[[str], None] | None = None,
    **key: str,
) -> dg.AssetCheckResult:
    """A check's result; when it fails, its description (and `log`) says what failed: a count per SQL check and
    its first rows (year, agency, indicator, value, ...), so a blocked run names what to fix."""
    failures = {}
    for r in results:
        failed = r.failed if source is None else sum(n for (_, s, _), n in r.by_key.items() if s == source)
        if failed:
            failures[r.name] = failed
    samples = {
        r.name: [row for row in r.sample if source is None or row.get("source", source) == source]
        for r in results
        if r.name in failures
    }
    description = (
        "; ".join(
            f"{name}: {n} failed"
            + (
                ", e.g. "
                + " | ".join(", ".join(f"{k}={v}" for k, v in row.items() if v is not None) for row in samples[name])
                if samples[name]
                else ""
            )
            for name, n in failures.items()
        )
        or None
    )
    if description and log:
        log(f"{'/'.join(key.values()) or 'check'} failed: {description}")
    return dg.AssetCheckResult(
        **key,
        passed=not failures,
        severity=severity,
        description=description,
        metadata={
            "failures": dg.MetadataValue.json(failures),
            "checks": dg.MetadataValue.md("\n".join(f"- **{r.name}**: {r.description}" for r in results)),
            "samples": dg.MetadataValue.json(samples),
        },
    )


QUARANTINE_CHECKS = ["quarantined_share", "ingest_reconciliation"]
QUARANTINE_DESCRIPTION = (
    "Blocks the ranking when more than the allowed share of the source's rows was quarantined "
    "(config/thresholds.yaml) or when counts do not reconcile."
)
# The agency registry (role: registry): the other sources' staging assets depend on it, so its check must run before
# them.
REGISTRY = registry_source(load_sources()).name
# A source whose rows name another source's keys (a rating's dossier: `key_of`) is loaded after that source, whose
# blocking checks run in the step below: its own check is a step of its own, after it.
LINKED_TABLES = {source: c.table for source, c in load_sources().items() if any(col.key_of for col in c.columns)}
STAGING_TABLES = {
    source: c.table for source, c in load_sources().items() if source != REGISTRY and source not in LINKED_TABLES
}


@dg.asset_check(
    asset=load_sources()[REGISTRY].table,
    name="quarantine_within_threshold",
    blocking=True,
    description=QUARANTINE_DESCRIPTION,
)
def registry_quarantine_check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:  # not shared: it runs before the other sources are loaded
        results = run_sql_checks(
            con, run_years(context), names=QUARANTINE_CHECKS, registry=load_registry(warehouse.base)
        )
    return _check_result(results, dg.AssetCheckSeverity.ERROR, REGISTRY, context.log.error)


def _linked_checks(source: str, table: str) -> dg.AssetChecksDefinition:
    """A linked source's blocking checks, one step after its load: its quarantine share and, for a large source,
    its rows (LOG_CHECKS). Their results replace the staging checks' for the rest of the run (data_quality): those
    ran before this source was loaded."""
    rows = LOG_CHECKS.get(source, [])
    specs = [
        dg.AssetCheckSpec("quarantine_within_threshold", asset=table, blocking=True, description=QUARANTINE_DESCRIPTION)
    ]
    if rows:
        specs.append(
            dg.AssetCheckSpec(
                "rows_consistent",
                asset=table,
                blocking=True,
                description=f"No duplicate key ({', '.join(load_sources()[source].unique)}) or code out of range in "
                "staging (DuckDB SQL).",
            )
        )

    @dg.multi_asset_check(specs=specs, name=f"{table}_checks")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        years = run_years(context)
        with warehouse.connect() as con:
            results = run_sql_checks(
                con, years, names=[*QUARANTINE_CHECKS, *rows], registry=load_registry(warehouse.base)
            )
            if not any(r.failed for r in results):  # the linked table and its aggregate are final now
                linked = [t for t in (table, AGGREGATE_SUITES.get(table)) if t in GX_TABLES]
                _validate_ahead(context, con, warehouse, linked)
        _run_results.setdefault((context.run.run_id, tuple(years)), {}).update({r.name: r for r in results})
        by_name = {r.name: r for r in results}
        yield _check_result(
            [by_name[n] for n in QUARANTINE_CHECKS],
            dg.AssetCheckSeverity.ERROR,
            source,
            context.log.error,
            asset_key=table,
            check_name="quarantine_within_threshold",
        )
        if rows:
            yield _check_result(
                [by_name[n] for n in rows],
                dg.AssetCheckSeverity.ERROR,
                log=context.log.error,
                asset_key=table,
                check_name="rows_consistent",
            )

    return _check


linked_checks = [_linked_checks(source, table) for source, table in LINKED_TABLES.items()]


# The checks of the other staging tables run as one step after them (one connection, one pass of each check
# query, no step per check); each is still its own check of its own asset, blocking where it was.
staging_check_specs = [
    *(
        dg.AssetCheckSpec("quarantine_within_threshold", asset=table, blocking=True, description=QUARANTINE_DESCRIPTION)
        for table in STAGING_TABLES.values()
    ),
    dg.AssetCheckSpec(
        "dossier_log_consistent",
        asset="stg_dossiers",
        blocking=True,
        description="No duplicate MaHoSo, code out of range, date out of order or wrong year in staging.",
    ),
    dg.AssetCheckSpec(
        "dossier_log_complete",
        asset="stg_dossiers",
        description="Warns about procedures missing from the catalogue and months without dossiers.",
    ),
]


# Where the staging checks leave the dossier log's monthly aggregate for data_quality (read only in the same run).
AGGREGATE_TABLE = "dq_dossier_agency_month"


def _prepare_gx(context: dg.AssetCheckExecutionContext, con, warehouse: Warehouse) -> None:
    """Fingerprint the staged GX tables now (the dossier aggregate stays in AGGREGATE_TABLE for data_quality)."""
    from expectations.gx_runner import table_fingerprints, tables_to_validate

    years = run_years(context)
    # Only the tables final now: a linked source (a rating names a dossier) is loaded after these checks, so its
    # fingerprint is data_quality's, taken from what it validates (one taken here would be of the table before
    # its load, and the result stored under it would answer for content it never saw).
    linked = {*LINKED_TABLES.values(), *(AGGREGATE_SUITES.get(t) for t in LINKED_TABLES.values())}
    final = [t for t in GX_STAGING_TABLES if t not in linked]
    fingerprints = table_fingerprints(con, years, final, aggregate=AGGREGATE_TABLE, temporary=False)
    site, registry = data_docs_dir(warehouse), load_registry(warehouse.base)
    changed = tables_to_validate(site, fingerprints, run_name=_label(years), registry=registry)
    _remember_fingerprints(context, years, fingerprints)
    context.log.info(f"GX: staged tables changed since their last validation: {', '.join(changed) or 'none'}")
    if changed:  # data_quality will validate: import GX in a worker process meanwhile (expectations/gx_worker.py)
        from expectations import gx_worker

        gx_worker.start(site, warehouse.base)
        _validate_ahead(context, con, warehouse, {t: fingerprints[t] for t in changed}, aggregate=AGGREGATE_TABLE)


def _validate_ahead(
    context: dg.AssetCheckExecutionContext,
    con,
    warehouse: Warehouse,
    tables: list[str] | dict[str, str],
    *,
    aggregate: str | None = None,
) -> None:
    """Hand the GX worker the changed ones among `tables` (final from this step on; with their fingerprints when
    known), so that it validates them while the run goes on and data_quality takes their results. Nothing when no
    worker was prepared for this run (`gx_worker.start` in the staging checks)."""
    from expectations import gx_worker
    from expectations.gx_runner import table_fingerprints, tables_to_validate, validate_ahead

    site = data_docs_dir(warehouse)
    if not gx_worker.prepared_for(site):
        return
    years, registry = run_years(context), load_registry(warehouse.base)
    if not isinstance(tables, dict):
        fingerprints = table_fingerprints(con, years, tables)
        _remember_fingerprints(context, years, fingerprints)
        tables = {
            t: fingerprints[t]
            for t in tables_to_validate(site, fingerprints, run_name=_label(years), registry=registry)
        }
    ahead = validate_ahead(con, years, tables, site, run_name=_label(years), registry=registry, aggregate=aggregate)
    if ahead:
        context.log.info(f"GX: validating {', '.join(ahead)} in its worker while the run goes on")


def _label(years: list[int]) -> str:
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


@dg.multi_asset_check(
    specs=staging_check_specs,
    name="staging_checks",
    description="Quarantine share and reconciliation of every yearly source, consistency and "
    "completeness of the dossier log (DuckDB SQL).",
)
def staging_checks(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
    with warehouse.connect() as con:
        _prepare_gx(context, con, warehouse)
        results = _run_checks(
            context.run.run_id,
            con,
            run_years(context),
            [*QUARANTINE_CHECKS, *DOSSIER_ERRORS, *DOSSIER_WARNINGS],
            warehouse=warehouse,
        )
    by_name = {r.name: r for r in results}
    context.log.info("SQL checks: " + ", ".join(f"{r.name} {r.seconds:.2f} s" for r in results))
    quarantine = [by_name[n] for n in QUARANTINE_CHECKS]
    for source, table in STAGING_TABLES.items():
        yield _check_result(
            quarantine,
            dg.AssetCheckSeverity.ERROR,
            source,
            context.log.error,
            asset_key=table,
            check_name="quarantine_within_threshold",
        )
    yield _check_result(
        [by_name[n] for n in DOSSIER_ERRORS],
        dg.AssetCheckSeverity.ERROR,
        log=context.log.error,
        asset_key="stg_dossiers",
        check_name="dossier_log_consistent",
    )
    yield _check_result(
        [by_name[n] for n in DOSSIER_WARNINGS],
        dg.AssetCheckSeverity.WARN,
        asset_key="stg_dossiers",
        check_name="dossier_log_complete",
    )


@dg.asset_check(
    asset="indicator_values",
    name="ratios_within_0_1",
    blocking=True,
    description="Every ratio indicator lies in [0, 1]; bounded indicators within their range.",
)
def ratios_within_0_1(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        results = _run_checks(
            context.run.run_id, con, run_years(context), ["indicator_ratio_out_of_range"], warehouse=warehouse
        )
        if not any(r.failed for r in results):
            _validate_ahead(context, con, warehouse, ["indicators"])
    return _check_result(results, dg.AssetCheckSeverity.ERROR, log=context.log.error)


@dg.asset_check(
    asset="rankings",
    name="ranks_follow_totals",
    blocking=True,
    description="Ranks are competition ranks of the rounded totals, within year and group.",
)
def ranks_follow_totals(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        results = _run_checks(
            context.run.run_id, con, run_years(context), ["rankings_rank_sequence"], warehouse=warehouse
        )
        if not any(r.failed for r in results):
            _validate_ahead(context, con, warehouse, ["criterion_scores", "rankings"])
    return _check_result(results, dg.AssetCheckSeverity.ERROR, log=context.log.error)


@dg.asset(
    group_name="quality",
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    deps=[
        "rankings",
        "criterion_scores",
        "indicator_scores",
        "indicator_values",
        "agency_profiles",
        *(c.table for c in load_sources().values()),
    ],
    kinds={"duckdb"},
    check_specs=[
        dg.AssetCheckSpec(
            "critical_expectations_pass",
            asset="data_quality",
            blocking=True,
            description="No critical Great Expectations failure in the returns or marts.",
        )
    ],
    description="The data quality report: Great Expectations Data Docs (HTML) and the `data_quality` table "
    "per source, year and agency (rows read/loaded/quarantined, missing returns, failed checks).",
)
def data_quality(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    from expectations.gx_runner import (
        DOSSIER_AGENCY_MONTH_TEMP,
        data_docs_index,
        export_frames,
        load_frames,
        table_fingerprints,
        validate_tables,
    )

    years = partition_years(context)
    site = data_docs_dir(warehouse)
    key = (context.run.run_id, tuple(years))
    staged = _run_frames.pop(key, {})  # from the checks of this run, when they ran in this process

    with warehouse.connect() as con:
        # the check steps' results, the rest run here
        checks = _run_checks(context.run.run_id, con, years, warehouse=warehouse)
        fingerprints = {**staged, **table_fingerprints(con, years, [t for t in GX_TABLES if t not in staged])}
        fingerprints = {t: fingerprints[t] for t in GX_TABLES if t in fingerprints}
        aggregate = AGGREGATE_TABLE if "dossier_agency_month" in staged else DOSSIER_AGENCY_MONTH_TEMP
        # in the GX worker when one was prepared for this site (it stays for this process's next run), else here
        gx_results = validate_tables(
            lambda names: load_frames(con, years, names, aggregate=aggregate),
            fingerprints,
            site,
            export=lambda names, directory: export_frames(con, years, names, directory, aggregate=aggregate),
            run_name=_label(years),
            registry=load_registry(warehouse.base),
        )
        rows = build_data_quality(con, years, gx_results, checks)
        con.execute(f"DROP TABLE IF EXISTS {AGGREGATE_TABLE}")
    _run_results.pop(key, None)
    reused = sorted(t for t, r in gx_results.items() if r.get("reused"))
    context.log.info(
        f"GX: validated {len(gx_results) - len(reused)} tables, reused the stored results of "
        f"{len(reused)} unchanged ({', '.join(reused) or 'none'})"
    )
    errors = {t: r["errors"] for t, r in gx_results.items() if r["errors"]}
    warnings = {t: r["warnings"] for t, r in gx_results.items() if r["warnings"]}
    failed_sql = {c.name: c.failed for c in checks if c.failed}
    index = data_docs_index(site)
    context.log.info(
        f"data quality: Data Docs at {index}; GX critical failures {errors or 'none'}; "
        f"SQL check failures {failed_sql or 'none'}"
    )
    critical = "; ".join(
        f"{table}.{f['name']}: {f['unexpected_count'] if f['unexpected_count'] is not None else f['error']} failed"
        + (f", e.g. {f['sample']}" if f.get("sample") else "")
        for table, r in gx_results.items()
        for f in r.get("failed_expectations", [])
        if f["severity"] == "critical"
    )
    if critical:
        context.log.error(f"critical_expectations_pass failed: {critical}")
    return dg.MaterializeResult(
        metadata={
            "data_docs": dg.MetadataValue.path(str(index)),
            "data_quality_rows": dg.MetadataValue.int(rows),
            "gx_warnings": dg.MetadataValue.json(warnings),
            "sql_check_failures": dg.MetadataValue.json(failed_sql),
            "gx_reused_unchanged": dg.MetadataValue.json(reused),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="critical_expectations_pass",
                passed=not errors,
                severity=dg.AssetCheckSeverity.ERROR,
                description=critical or None,
                metadata={
                    "critical_failures": dg.MetadataValue.json(errors),
                    "data_docs": dg.MetadataValue.path(str(index)),
                },
            )
        ],
    )


quality_checks = [
    registry_quarantine_check,
    staging_checks,
    *linked_checks,
    ratios_within_0_1,
    ranks_follow_totals,
]
