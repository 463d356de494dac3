"""Scoring assets: indicator values × the year's rubric → points, criterion scores and the ranking; then how far
the ranks move when the rubric's weights, targets and methods do (assets/scoring/uncertainty.py)."""

import dagster as dg

from assets.scoring.score import score_years, years_without_records
from assets.scoring.uncertainty import analyse_years
from pipelines.core.registry import load_registry
from pipelines.core.registry.rubrics import misnamed_rubric_files
from pipelines.core.registry.sources import REGISTRY_TABLE
from pipelines.core.warehouse import write_agency_groups
from pipelines.defs.partitions import partition_years, single_run, yearly_partitions
from pipelines.defs.resources import Warehouse


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "indicator_scores",
            group_name="scoring",
            kinds={"duckdb"},
            deps=["indicator_values", REGISTRY_TABLE],
            description="Points earned per agency and rubric item (value against target).",
        ),
        dg.AssetSpec(
            "criterion_scores",
            group_name="scoring",
            kinds={"duckdb"},
            deps=["indicator_values"],
            description="Points per criterion and the rank on each criterion.",
        ),
        dg.AssetSpec(
            "rankings",
            group_name="scoring",
            kinds={"duckdb"},
            deps=["indicator_values"],
            description="Total, index, classification (the rubric's classes) and rank per group.",
        ),
    ],
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
)
def scores(context: dg.AssetExecutionContext, warehouse: Warehouse):
    years = partition_years(context)
    registry = load_registry(warehouse.base)
    for line in misnamed_rubric_files(registry.rubric_dir):  # not read: the year may be scored with an older file
        context.log.warning(line)
    with warehouse.connect() as con:
        write_agency_groups(con, registry.agency_groups)  # with those the rubrics declare, for every later step
        empty = years_without_records(con, years, registry.sources)
        for year in empty:
            context.log.warning(
                f"no records for year {year}: not ranked (no row staged from any yearly source's "
                f"raw/<source>/{year}/ folder; the agency registry alone ranks nobody)"
            )
        counts = score_years(con, years, registry.rubric_dir, not_ranked=empty)
        ranked = con.execute(
            "SELECT count(*) FROM rankings WHERE year IN (SELECT unnest(?::INTEGER[]))", [years]
        ).fetchall()[0][0]
    context.log.info(f"scored {years[0]}–{years[-1]}: {ranked:,} agencies ranked")
    for key in ("indicator_scores", "criterion_scores", "rankings"):
        metadata = {"row_count": dg.MetadataValue.int(counts.get(key, 0))}
        if key == "rankings":
            metadata["years_not_ranked"] = dg.MetadataValue.json(empty)  # no records (years_without_records)
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)


@dg.multi_asset(
    name="rank_uncertainty",
    specs=[
        dg.AssetSpec(
            "rank_uncertainty",
            group_name="scoring",
            kinds={"duckdb", "numpy"},
            deps=["rankings", "indicator_scores"],
            description="Per unit: its rank over runs whose weights, targets and methods move within the "
            "rubric's uncertainty: settings (mean, median, 5–95 % interval), beside the published rank.",
        ),
        dg.AssetSpec(
            "class_probability",
            group_name="scoring",
            kinds={"duckdb"},
            deps=["rankings"],
            description="Per unit and class: the share of those runs in which the unit has that class.",
        ),
        dg.AssetSpec(
            "rank_sensitivity",
            group_name="scoring",
            kinds={"duckdb"},
            deps=["rankings"],
            description="Per group and criterion: Sobol indices of its weights on the mean rank shift.",
        ),
    ],
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
)
def rank_uncertainty(context: dg.AssetExecutionContext, warehouse: Warehouse):
    years = partition_years(context)
    registry = load_registry(warehouse.base)
    with warehouse.connect() as con:
        counts = analyse_years(con, years, registry.rubric_dir)
    context.log.info(f"rank uncertainty of {years[0]}–{years[-1]}: {counts['rank_uncertainty']:,} ranked units")
    for key in ("rank_uncertainty", "class_probability", "rank_sensitivity"):
        yield dg.MaterializeResult(asset_key=key, metadata={"row_count": dg.MetadataValue.int(counts.get(key, 0))})
