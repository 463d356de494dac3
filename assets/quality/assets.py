"""Data quality in the run: blocking checks where a failure must stop the ranking, the GX report, and the
`data_quality` table. Row-level checks of the dossier log are DuckDB SQL; GX validates what fits in memory."""

from pathlib import Path

import dagster as dg

from assets.ingestion.contracts import load_contracts
from expectations.sql_checks import CheckResult, build_data_quality, run_sql_checks
from pipelines.partitions import partition_years, run_years, single_run, yearly_partitions
from pipelines.resources import Warehouse

DOSSIER_ERRORS = ["dossier_duplicate_mahoso", "dossier_codes_out_of_range", "dossier_dates_out_of_order",
                  "dossier_year_mismatch"]
DOSSIER_WARNINGS = ["dossier_unknown_procedure", "dossier_missing_months"]
GX_TABLES = ["stg_agencies", "stg_services", "stg_one_stop", "stg_infrastructure", "stg_capacity",
             "stg_assessments", "dossier_agency_month", "indicators", "criterion_scores", "rankings"]


def data_docs_dir(warehouse: Warehouse) -> Path:
    return warehouse.base / "quality" / "data_docs"


def _check_result(results: list[CheckResult], severity: dg.AssetCheckSeverity, source: str | None = None
                  ) -> dg.AssetCheckResult:
    failures = {}
    for r in results:
        failed = r.failed if source is None else sum(n for (_, s, _), n in r.by_key.items() if s == source)
        if failed:
            failures[r.name] = failed
    samples = {r.name: r.sample for r in results if r.name in failures}
    return dg.AssetCheckResult(
        passed=not failures,
        severity=severity,
        metadata={
            "failures": dg.MetadataValue.json(failures),
            "checks": dg.MetadataValue.md("\n".join(f"- **{r.name}**: {r.description}" for r in results)),
            "samples": dg.MetadataValue.json(samples),
        },
    )


def build_ingestion_check(source: str) -> dg.AssetChecksDefinition:
    table = load_contracts()[source].table

    @dg.asset_check(asset=table, name="quarantine_within_threshold", blocking=True,
                    description="Blocks the ranking when more than the allowed share of the source's rows was "
                    "quarantined (expectations/thresholds.yaml) or when counts do not reconcile.")
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            results = run_sql_checks(con, run_years(context), names=["quarantined_share", "ingest_reconciliation"])
        return _check_result(results, dg.AssetCheckSeverity.ERROR, source)

    return _check


ingestion_checks = [build_ingestion_check(name) for name in load_contracts()]


@dg.asset_check(asset="stg_dossiers", name="dossier_log_consistent", blocking=True,
                description="No duplicate MaHoSo, code out of range, date out of order or wrong year in staging.")
def dossier_log_consistent(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        results = run_sql_checks(con, run_years(context), names=DOSSIER_ERRORS)
    return _check_result(results, dg.AssetCheckSeverity.ERROR)


@dg.asset_check(asset="stg_dossiers", name="dossier_log_complete",
                description="Warns about procedures missing from the catalogue and months without dossiers.")
def dossier_log_complete(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        results = run_sql_checks(con, run_years(context), names=DOSSIER_WARNINGS)
    return _check_result(results, dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset="indicator_values", name="ratios_within_0_1", blocking=True,
                description="Every ratio indicator lies in [0, 1]; bounded indicators within their range.")
def ratios_within_0_1(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        results = run_sql_checks(con, run_years(context), names=["indicator_ratio_out_of_range"])
    return _check_result(results, dg.AssetCheckSeverity.ERROR)


@dg.asset_check(asset="rankings", name="ranks_follow_totals", blocking=True,
                description="Ranks are competition ranks of the rounded totals, within year and group.")
def ranks_follow_totals(context: dg.AssetCheckExecutionContext, warehouse: Warehouse) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        results = run_sql_checks(con, run_years(context), names=["rankings_rank_sequence"])
    return _check_result(results, dg.AssetCheckSeverity.ERROR)


@dg.asset(
    group_name="quality",
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    deps=["rankings", "criterion_scores", "indicator_values", "stg_agencies", "stg_services", "stg_dossiers",
          "stg_one_stop", "stg_infrastructure", "stg_capacity", "stg_assessments"],
    kinds={"duckdb"},
    check_specs=[dg.AssetCheckSpec("critical_expectations_pass", asset="data_quality", blocking=True,
                                   description="No critical Great Expectations failure in the returns or marts.")],
    description="The data quality report: Great Expectations Data Docs (HTML) and the `data_quality` table "
    "per source, year and agency (rows read/loaded/quarantined, missing returns, failed checks).",
)
def data_quality(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    from expectations.gx_runner import data_docs_index, load_frames, validate_frames

    years = partition_years(context)
    with warehouse.connect() as con:
        frames = load_frames(con, years, GX_TABLES)
        checks = run_sql_checks(con, years)
    site = data_docs_dir(warehouse)
    label = str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"
    gx_results = validate_frames(frames, site, run_name=label)
    with warehouse.connect() as con:
        rows = build_data_quality(con, years, gx_results, checks)
    errors = {t: r["errors"] for t, r in gx_results.items() if r["errors"]}
    warnings = {t: r["warnings"] for t, r in gx_results.items() if r["warnings"]}
    failed_sql = {c.name: c.failed for c in checks if c.failed}
    index = data_docs_index(site)
    context.log.info(f"data quality: Data Docs at {index}; GX critical failures {errors or 'none'}; "
                     f"SQL check failures {failed_sql or 'none'}")
    return dg.MaterializeResult(
        metadata={
            "data_docs": dg.MetadataValue.path(str(index)),
            "data_quality_rows": dg.MetadataValue.int(rows),
            "gx_warnings": dg.MetadataValue.json(warnings),
            "sql_check_failures": dg.MetadataValue.json(failed_sql),
        },
        check_results=[dg.AssetCheckResult(
            check_name="critical_expectations_pass",
            passed=not errors,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={"critical_failures": dg.MetadataValue.json(errors),
                      "data_docs": dg.MetadataValue.path(str(index))},
        )],
    )


quality_checks = [*ingestion_checks, dossier_log_consistent, dossier_log_complete, ratios_within_0_1,
                  ranks_follow_totals]
