"""Scoring assets: indicator values × the year's rubric → points, criterion scores and the ranking."""

import dagster as dg

from assets.scoring.score import score_years
from pipelines.partitions import partition_years, single_run, yearly_partitions
from pipelines.resources import Warehouse
from pipelines.settings import rubric_dir


@dg.multi_asset(
    specs=[
        dg.AssetSpec("indicator_scores", group_name="scoring", kinds={"duckdb"},
                     deps=["indicator_values", "stg_agencies"],
                     description="Points earned per agency and rubric item (value against target)."),
        dg.AssetSpec("criterion_scores", group_name="scoring", kinds={"duckdb"}, deps=["indicator_values"],
                     description="Points per criterion and the rank on each criterion."),
        dg.AssetSpec("rankings", group_name="scoring", kinds={"duckdb"}, deps=["indicator_values"],
                     description="Total, index, classification (Tốt/Khá/Trung bình/Yếu) and rank per group."),
    ],
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
)
def scores(context: dg.AssetExecutionContext, warehouse: Warehouse):
    years = partition_years(context)
    with warehouse.connect() as con:
        counts = score_years(con, years, rubric_dir(warehouse.base))
        ranked = con.execute(
            "SELECT count(*) FROM rankings WHERE year IN (SELECT unnest(?::INTEGER[]))", [years]).fetchall()[0][0]
    context.log.info(f"scored {years[0]}–{years[-1]}: {ranked:,} agencies ranked")
    for key in ("indicator_scores", "criterion_scores", "rankings"):
        yield dg.MaterializeResult(asset_key=key, metadata={"row_count": dg.MetadataValue.int(counts.get(key, 0))})
