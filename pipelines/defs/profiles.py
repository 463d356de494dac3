"""Profile assets: after the ranking, explain it per agency (points lost, strengths, the what-if)."""

import dagster as dg

from assets.profiles.profiles import build_profiles
from pipelines.core.settings import rubric_dir
from pipelines.defs.partitions import single_run, yearly_partitions
from pipelines.defs.resources import Warehouse


@dg.asset(
    group_name="profiles",
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    deps=["rankings", "criterion_scores", "indicator_scores"],
    kinds={"duckdb"},
    description="Per agency and year: points earned and lost per rubric item, strongest and weakest items, rank "
    "history, and the what-if (the fewest improvements to reach the next class or pass the agency above).",
)
def agency_profiles(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        counts = build_profiles(con, rubric_dir(warehouse.base))
    context.log.info(
        f"profiles of every ranked year rebuilt: {counts['agency_profiles']:,} agency-years, "
        f"{counts['what_if']:,} what-if steps"
    )
    return dg.MaterializeResult(metadata={k: dg.MetadataValue.int(v) for k, v in counts.items()})
