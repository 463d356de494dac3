"""National assets: every province of the run through the provincial pipeline (one step each, in parallel under the
multiprocess or celery executor), then the ranking of provinces, the national marts and reports."""

import time

import dagster as dg

from assets.marts.publish import MARTS_FILE, publish_marts
from assets.national.build import (
    attached,
    build_province_indicators,
    ensure_national_tables,
    national_marts_sql,
    province_marts,
)
from assets.national.folders import province_folders
from assets.national.reports import write_national_reports
from assets.profiles.profiles import build_profiles
from assets.scoring.score import score_years
from pipelines.core.provinces import PROVINCE_GROUP, province_dir, province_lock
from pipelines.core.registry import load_registry
from pipelines.core.registry.sources import load_sources, registry_source
from pipelines.core.registry.thresholds import load_thresholds
from pipelines.core.warehouse import write_agency_groups
from pipelines.defs.ingestion import OTHER_YEARS, years_changed
from pipelines.defs.jobs import NATIONAL_GROUP, PIPELINE_JOB, pipeline_run_config
from pipelines.defs.partitions import single_run
from pipelines.defs.provinces import PROVINCE_TAG, national_partitions, run_scope
from pipelines.defs.resources import Warehouse, build_resources


class ProvinceConfig(dg.Config):
    full_refresh: bool = False
    """Reload every raw file of the provinces' years (`egov backfill`), not only new or changed ones."""
    allow_shrink: bool = False
    """Publish a province's marts even when a year would lose most of its rankings."""


@dg.op(
    out=dg.DynamicOut(list),
    description="The provinces of the run's partitions, one output each; the folders "
    "of provinces/ that are not provinces of the national registry are named and skipped.",
)
def run_provinces(context: dg.OpExecutionContext, warehouse: Warehouse):
    folders = province_folders(warehouse.base)
    for message in folders.skipped:
        context.log.warning(message)
    for code, years in run_scope(context).items():
        if code not in folders.codes:  # a run launched before its folder was removed (or renamed)
            context.log.warning(
                f"province {code}: no longer a province folder ({province_dir(warehouse.base, code)}); skipped"
            )
            continue
        yield dg.DynamicOutput([code, years], mapping_key="".join(c if c.isalnum() else "_" for c in code))


@dg.op(
    description="One province through the provincial pipeline, into its own warehouse, marts and reports; then the "
    "province's other years its loads changed (a record moved between years), as `egov run` does."
)
def province_pipeline(
    context: dg.OpExecutionContext, config: ProvinceConfig, scope: list, warehouse: Warehouse
) -> list:
    from pipelines.defs.provincial import provincial_defs  # the provincial definitions alone, when the op runs

    code, years = scope
    folder = province_dir(warehouse.base, code)
    registry = folder / "raw" / registry_source(load_sources()).folder
    if not any(p.is_file() and not p.name.startswith((".", "~$")) for p in registry.rglob("*")):
        raise dg.Failure(
            f"province {code}: no agency registry in {registry} (the province's own agencies, "
            "docs/raw_contracts.md): without it every record would be quarantined as of an unknown "
            "agency. Put the registry there and run again; the province's published marts are "
            "unchanged"
        )
    job = provincial_defs.resolve_job_def(PIPELINE_JOB)

    def run_years(span: list[int], full_refresh: bool) -> list[int]:
        """One provincial run of the years `span`; returns the other years it changed."""
        started = time.monotonic()
        result = job.execute_in_process(
            run_config=pipeline_run_config(
                job, full_refresh=full_refresh, allow_shrink=config.allow_shrink, prefix=f"[{code}] "
            ),
            instance=context.instance,
            resources=build_resources(folder),
            tags={
                PROVINCE_TAG: code,
                "egov/national_run": context.run_id,
                "dagster/asset_partition_range_start": str(span[0]),
                "dagster/asset_partition_range_end": str(span[-1]),
            },
            raise_on_error=False,
        )
        if not result.success:
            failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
            raise dg.Failure(
                f"province {code}: its run {result.run_id[:8]} failed at {', '.join(failed)}; its published "
                "marts are unchanged (./egov ui shows that run)"
            )
        context.log.info(
            f"province {code} {span[0]}–{span[-1]}: run {result.run_id[:8]} in {time.monotonic() - started:.1f} s"
        )
        return sorted(set(years_changed(result.all_events)) - set(span))

    others: list[int] = []
    with province_lock(folder, context.log.info):
        queue = run_years(years, config.full_refresh)
        while queue:  # records that change (docs/raw_contracts.md): each year named, one run each, as `egov run`
            other = queue.pop(0)
            context.log.warning(
                f"province {code}: the records of {other} changed in this run (extracted, moved between years, or "
                "finished there from an earlier year); running that year too, then ranking it"
            )
            others.append(other)
            queue += [y for y in run_years([other], False) if y not in queue]
    return [code, years, sorted(set(others) - set(years))]


@dg.op(description="Waits for every province of the run; names the other years their runs changed.")
def provinces_done(context: dg.OpExecutionContext, scopes: list[list]) -> None:
    context.log.info(f"{len(scopes)} province(s) done")
    others = sorted({y for _, _, changed in scopes for y in changed})
    # the national rankings and reports of those years are rebuilt in this run too (_years)
    context.add_output_metadata({OTHER_YEARS: dg.MetadataValue.json(others)})


@dg.graph_asset(
    name="province_results",
    group_name=NATIONAL_GROUP,
    partitions_def=national_partitions,
    backfill_policy=single_run,
    kinds={"duckdb"},
    description="Each province × year of the run through the provincial pipeline: provinces/<code>/warehouse and "
    "provinces/<code>/marts, exactly as a provincial deployment of that folder publishes them.",
)
def province_results():
    return provinces_done(run_provinces().map(province_pipeline).collect())


def _years(context: dg.AssetExecutionContext) -> list[int]:
    """The run's years, and the other years its provinces' runs changed and ran (province_results' metadata)."""
    years = {y for span in run_scope(context).values() for y in span}
    records = context.instance.get_records_for_run(
        context.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ).records
    events = [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]
    return sorted(years | set(years_changed(events)))


@dg.asset(
    group_name=NATIONAL_GROUP,
    backfill_policy=single_run,
    deps=[province_results],
    kinds={"duckdb"},
    description="The ranking of provinces of the run's years (and of the other years its provinces' runs changed): "
    "the national registry (raw/agencies/), each province's indicators aggregated from its agencies' as the "
    "catalogue says (national:), scored with the national rubric.",
)
def national_rankings(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    from assets.ingestion.load import ingest

    years = _years(context)
    registry = load_registry(warehouse.base)
    with warehouse.connect() as con:
        ingest(con, registry_source(registry.sources), warehouse.raw_dir, None, full_refresh=True, log=context.log.info)
        indicators = build_province_indicators(con, warehouse.base, years)
        for code, year in con.execute(
            "SELECT agency_code, year FROM agency_years WHERE evaluated AND agency_group = ? "
            "AND list_contains(?::INTEGER[], year) AND agency_code NOT IN "
            "(SELECT agency_code FROM indicator_values) ORDER BY ALL",
            [PROVINCE_GROUP, years],
        ).fetchall():
            context.log.warning(
                f"province {code} {year}: in the national registry but no published records "
                f"(no folder provinces/{code}/ or no marts): ranked with none"
            )
        write_agency_groups(con, registry.agency_groups)
        counts = score_years(con, years, registry.rubric_dir)
        profiles = build_profiles(con, registry.rubric_dir)
    context.log.info(
        f"provinces ranked {years[0]}–{years[-1]}: {counts['rankings']} rows, {indicators} indicator values"
    )
    return dg.MaterializeResult(
        metadata={
            "indicator_values": indicators,
            "rankings": counts["rankings"],
            "profiles": profiles["agency_profiles"],
        }
    )


@dg.asset(
    group_name=NATIONAL_GROUP,
    backfill_policy=single_run,
    deps=[national_rankings],
    kinds={"duckdb"},
    description="marts/egov.duckdb of the national data directory: the ranking of provinces and every province's own "
    "marts, province_code on every row; published atomically like a province's.",
)
def national_marts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    guard = float(load_thresholds()["max_published_drop_share"])
    with warehouse.connect() as con:
        ensure_national_tables(con)
        with attached(con, province_marts(warehouse.base)) as names:
            counts = publish_marts(
                con, warehouse.marts_dir, lambda built: national_marts_sql(built, names), max_drop_share=guard
            )
    path = warehouse.marts_dir / MARTS_FILE
    context.log.info(f"published {path} ({len(names)} provinces)")
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path)), "tables": counts})


@dg.asset(
    group_name=NATIONAL_GROUP,
    backfill_policy=single_run,
    deps=[national_marts],
    kinds={"html", "excel"},
    description="marts/reports/: the ranking of provinces (Excel, HTML) and a page per province linking to its own "
    "report.",
)
def national_reports(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    written = write_national_reports(warehouse.base, _years(context))
    return dg.MaterializeResult(
        metadata={"files": dg.MetadataValue.json({str(y): [str(p) for p in w] for y, w in written.items()})}
    )


national_assets = [province_results, national_rankings, national_marts, national_reports]
