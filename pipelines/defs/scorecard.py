"""The QĐ 766 scorecard assets (docs/rubrics.md §8): per-file facts of the dossier log, then the scores of every
month, quarter and year of the partition."""

import dagster as dg

from assets.scorecard.build import ensure_schema, refresh_facts, refresh_inputs, score_dirty
from pipelines.core.registry import load_registry
from pipelines.core.registry.sources import REGISTRY_TABLE
from pipelines.core.warehouse import with_one_thread_if_out_of_memory
from pipelines.defs.ingestion import OTHER_YEARS
from pipelines.defs.partitions import partition_years, single_run, yearly_partitions
from pipelines.defs.resources import Warehouse


@dg.asset(
    group_name="scorecard",
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
    deps=[dg.AssetKey("stg_dossiers"), dg.AssetKey("stg_services"), dg.AssetKey(REGISTRY_TABLE)],
    kinds={"duckdb"},
    description="The dossier log reduced to the QĐ 766 counts per raw file, month and agency; rescans only the "
    "files that changed and marks their months for rescoring, and those their dossiers finished or were rated in "
    "(naming the other years to run again).",
)
def scorecard_766_facts(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    counts: dict[str, dict[str, int]] = {}
    others: set[int] = set()
    years = partition_years(context)
    with warehouse.connect() as con:
        ensure_schema(con)
        for year in years:
            counts[str(year)], marked = refresh_facts(con, year)
            others.update(marked)
    context.log.info(f"766 facts: {counts}")
    outside = sorted(others - set(years))
    if outside:
        context.log.warning(
            f"766 facts: dossiers finished or rated in {', '.join(map(str, outside))} changed in this load: those "
            "years' 766 months are scored again when they run (`egov run` does it after this run)"
        )
    return dg.MaterializeResult(
        metadata={"by_year": dg.MetadataValue.json(counts), OTHER_YEARS: dg.MetadataValue.json(outside)}
    )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "scorecard_766",
            group_name="scorecard",
            kinds={"duckdb"},
            deps=["scorecard_766_facts", "stg_ratings", "stg_feedback"],
            description="QĐ 766 items per unit (and 'PROVINCE') and month, quarter, year: numerator, "
            "denominator, value, points.",
        ),
        dg.AssetSpec(
            "scorecard_766_totals",
            group_name="scorecard",
            kinds={"duckdb"},
            deps=["scorecard_766_facts", "stg_ratings", "stg_feedback"],
            description="QĐ 766 totals of the computable points and the rank per group and period.",
        ),
    ],
    partitions_def=yearly_partitions,
    backfill_policy=single_run,
)
def scorecard_766(context: dg.AssetExecutionContext, warehouse: Warehouse):
    registry = load_registry(warehouse.base)
    counts: dict[str, dict[str, int]] = {}
    years = partition_years(context)
    with warehouse.connect() as con:
        ensure_schema(con)
        inputs, marked = refresh_inputs(con)  # the months the rating and feedback files that came, changed or went
        if inputs:
            context.log.info(f"766 ratings and feedback: files counted or removed {inputs}")
        outside = sorted(set(marked) - set(years))
        if outside:
            context.log.warning(
                f"766: ratings or feedback of this load count in {', '.join(map(str, outside))}: those years' 766 "
                "months are scored again when they run (`egov run` does it after this run)"
            )
        for year in years:
            counts[str(year)] = with_one_thread_if_out_of_memory(
                con, lambda year=year: score_dirty(con, year, registry), context.log.warning
            )
    context.log.info(f"766 scorecard: {counts}")
    for year, c in counts.items():
        if c.get("months_waiting") and c.get("periods_kept"):  # scores of an earlier night, now behind the facts
            context.log.warning(
                f"766 scorecard {year}: no rubric in force ({registry.rubric_dir}/periodic/766/): "
                f"{c['months_waiting']} month(s) with new dossier facts are not rescored, and the "
                f"{c['periods_kept']} period(s) scored earlier are kept as they were until it is back"
            )
    for key in ("scorecard_766", "scorecard_766_totals"):
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={"by_year": dg.MetadataValue.json(counts), OTHER_YEARS: dg.MetadataValue.json(outside)},
        )
