"""The analysts' marts: one DuckDB file (plus Parquet exports), published atomically after each run."""

import time

import dagster as dg

from assets.marts.publish import MARTS_FILE, publish_marts
from pipelines.core.registry.sources import REGISTRY_TABLE
from pipelines.core.registry.thresholds import load_thresholds
from pipelines.defs.partitions import single_run
from pipelines.defs.resources import Warehouse


class MartsConfig(dg.Config):
    allow_shrink: bool = False
    """Publish even when a year would lose most of its published rankings (`egov run --allow-shrink`)."""


@dg.asset(
    group_name="marts",
    backfill_policy=single_run,  # lets `dagster asset materialize --partition-range` include it
    deps=[
        "rankings",
        "criterion_scores",
        "indicator_scores",
        "indicator_values",
        "dossier_indicators_ytd",
        REGISTRY_TABLE,
        "agency_profiles",
        "data_quality",
        "rank_uncertainty",
        "class_probability",
        "rank_sensitivity",
        "scorecard_766",
        "scorecard_766_totals",
    ],
    kinds={"duckdb", "parquet"},
    description="data/marts/egov.duckdb: every year's indicators, scores, rankings, quarantine and dimensions, "
    "with column comments. Built in a new file and renamed over the old one: readers never block or see half.",
)
def marts(context: dg.AssetExecutionContext, config: MartsConfig, warehouse: Warehouse) -> dg.MaterializeResult:
    started = time.monotonic()
    guard = None if config.allow_shrink else float(load_thresholds()["max_published_drop_share"])
    with warehouse.connect() as con:
        counts = publish_marts(
            con, warehouse.marts_dir, max_drop_share=guard, keep_unchanged_trace=True, log=context.log.info
        )
    path = warehouse.marts_dir / MARTS_FILE
    context.log.info(f"published {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "size_mb": dg.MetadataValue.float(round(path.stat().st_size / 1e6, 2)),
            "tables": dg.MetadataValue.json(counts),
        }
    )
