"""The main job: raw → staging → indicators → scores → rankings → marts (and their checks), for years."""

from __future__ import annotations

import dagster as dg

from pipelines.core.registry.sources import SourceContract, load_sources

PIPELINE_JOB = "egov_pipeline"
# Runs that write the warehouse queue behind each other (one DuckDB writer); see the instance's
# tag_concurrency_limits written by `egov` into DAGSTER_HOME/dagster.yaml.
WAREHOUSE_TAG = {"egov/warehouse": "write"}

NATIONAL_GROUP = "national"  # the national assets (assets/national/), run by their own job

pipeline_job = dg.define_asset_job(
    PIPELINE_JOB,
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(NATIONAL_GROUP),
    description="Whole pipeline for the selected year(s): ingestion, indicators, scores, rankings, marts.",
    tags=WAREHOUSE_TAG,
)


def pipeline_run_config(
    job: dg.JobDefinition,
    *,
    full_refresh: bool = False,
    allow_shrink: bool = False,
    log_level: str = "WARNING",
    prefix: str = "",
    sources: dict[str, SourceContract] | None = None,
) -> dict:
    """The provincial job's run config: reload every file or not, the shrink guard, egov's progress lines.

    The ingestion steps are the staging tables of the sources (config/sources.yaml unless `sources` is given), each
    source's asset being named after its table, whatever the name (`table:` need not start with stg_)."""
    tables = {c.table for c in (load_sources() if sources is None else sources).values()}
    ingest_ops = [n for n in job.graph.node_names() if n in tables]
    return {
        "ops": {
            **{name: {"config": {"full_refresh": full_refresh}} for name in ingest_ops},
            "marts": {"config": {"allow_shrink": allow_shrink}},
        },
        "loggers": {"egov_progress": {"config": {"log_level": log_level, "prefix": prefix}}},
    }


NATIONAL_JOB = "egov_national"
national_job = dg.define_asset_job(
    NATIONAL_JOB,
    selection=dg.AssetSelection.groups(NATIONAL_GROUP),
    description="A national data directory: every province of the run through the provincial pipeline (a step each, "
    "run at once by the multiprocess or celery executor), then the ranking of provinces, national marts and reports.",
    tags=WAREHOUSE_TAG,
    # In-process unless the run config picks multiprocess (`egov run --workers N`): each province step is a whole
    # provincial run, so processes pay off here, unlike in the provincial job.
    executor_def=dg.multi_or_in_process_executor,
)
