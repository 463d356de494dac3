"""The main job: raw → staging → indicators → scores → rankings → marts (and their checks), for years."""

from __future__ import annotations

import dagster as dg

PIPELINE_JOB = "egov_pipeline"
# Runs that write the warehouse queue behind each other (one DuckDB writer); see the instance's
# tag_concurrency_limits written by `egov` into DAGSTER_HOME/dagster.yaml.
WAREHOUSE_TAG = {"egov/warehouse": "write"}

pipeline_job = dg.define_asset_job(
    PIPELINE_JOB,
    selection=dg.AssetSelection.all(),
    description="Whole pipeline for the selected year(s): ingestion, indicators, scores, rankings, marts.",
    tags=WAREHOUSE_TAG,
)
