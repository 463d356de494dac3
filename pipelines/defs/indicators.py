"""Indicator assets: staging tables → one value per agency, year and indicator (docs/domain.md §4)."""

import dagster as dg

from assets.indicators.build import build_dossier_ytd, build_indicators
from pipelines.core.registry.sources import REGISTRY_TABLE, load_sources
from pipelines.defs.partitions import partition_years, single_run, yearly_partitions
from pipelines.defs.resources import Warehouse

STAGING = [dg.AssetKey(c.table) for c in load_sources().values()]  # every source of config/sources.yaml


@dg.asset(
    group_name="indicators",
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    deps=STAGING,
    kinds={"duckdb"},
    description="Every indicator of the catalogue per agency and year, with numerator and denominator.",
)
def indicator_values(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    years = partition_years(context)
    with warehouse.connect() as con:
        counts = build_indicators(con, years)
        nulls = con.execute(
            "SELECT count(*) FILTER (WHERE value IS NULL), count(*) FROM indicator_values "
            "WHERE year IN (SELECT unnest(?::INTEGER[]))",
            [years],
        ).fetchall()[0]
    context.log.info(f"indicators for {years[0]}–{years[-1]}: {nulls[1]:,} values ({nulls[0]:,} NULL)")
    return dg.MaterializeResult(
        metadata={
            "row_count": dg.MetadataValue.int(nulls[1]),
            "null_values": dg.MetadataValue.int(nulls[0]),
            "rows_by_family": dg.MetadataValue.json(counts),
        }
    )


@dg.asset(
    group_name="indicators",
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    deps=[dg.AssetKey("stg_dossiers"), dg.AssetKey("stg_services"), dg.AssetKey(REGISTRY_TABLE)],
    kinds={"duckdb"},
    description="Dossier indicators year to date by month, per agency and for the whole province ('*').",
)
def dossier_indicators_ytd(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    years = partition_years(context)
    with warehouse.connect() as con:
        counts = build_dossier_ytd(con, years)
    return dg.MaterializeResult(metadata={"rows": dg.MetadataValue.json(counts)})
