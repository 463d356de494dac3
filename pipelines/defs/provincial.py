"""The provincial code location: one province's assets, checks, job, schedule and sensor.

A provincial deployment loads it through `pipelines.definitions`; the national job's province step imports it alone
(not the whole code location) to run a province with its folder's resources."""

import dagster as dg

from pipelines.defs.extraction import extraction_assets
from pipelines.defs.indicators import dossier_indicators_ytd, indicator_values
from pipelines.defs.ingestion import ingestion_assets
from pipelines.defs.jobs import pipeline_job
from pipelines.defs.marts import marts
from pipelines.defs.profiles import agency_profiles
from pipelines.defs.progress import progress_logger
from pipelines.defs.quality import data_quality, quality_checks
from pipelines.defs.reports import ranking_reports
from pipelines.defs.resources import build_resources
from pipelines.defs.schedules import nightly_current_year
from pipelines.defs.scorecard import scorecard_766, scorecard_766_facts
from pipelines.defs.scoring import rank_uncertainty, scores
from pipelines.defs.sensors import other_years_sensor, raw_files_sensor

__all__ = ["provincial_defs"]

provincial_defs = dg.Definitions(
    assets=[
        *extraction_assets,
        *ingestion_assets,
        indicator_values,
        dossier_indicators_ytd,
        scores,
        rank_uncertainty,
        agency_profiles,
        data_quality,
        scorecard_766_facts,
        scorecard_766,
        marts,
        ranking_reports,
    ],
    asset_checks=quality_checks,
    jobs=[pipeline_job],
    schedules=[nightly_current_year],
    sensors=[raw_files_sensor, other_years_sensor],
    resources=build_resources(),
    # Dagster's console logger stays the default; `egov` picks its progress lines in the run config.
    loggers={"console": dg.colored_console_logger, "egov_progress": progress_logger},
    # One DuckDB writer: steps run one after another in the run's process (no subprocess per step either).
    executor=dg.in_process_executor,
)
