"""The Dagster code location: `dagster dev -m pipelines.definitions` (one Definitions object, `defs`)."""

import dagster as dg

from assets.indicators.assets import dossier_indicators_ytd, indicator_values
from assets.ingestion.assets import ingestion_assets
from assets.marts.assets import marts
from assets.national.assets import national_assets
from assets.profiles.assets import agency_profiles
from assets.quality.assets import data_quality, quality_checks
from assets.reports.assets import ranking_reports
from assets.scorecard.assets import scorecard_766, scorecard_766_facts
from assets.scoring.assets import rank_uncertainty, scores
from pipelines.jobs import NATIONAL_JOB, PIPELINE_JOB, national_job, pipeline_job
from pipelines.progress import progress_logger
from pipelines.resources import build_resources
from pipelines.schedules import nightly_current_year, nightly_national
from pipelines.sensors import province_folders_sensor, raw_files_sensor

__all__ = ["NATIONAL_JOB", "PIPELINE_JOB", "defs"]

defs = dg.Definitions(
    assets=[*ingestion_assets, indicator_values, dossier_indicators_ytd, scores, rank_uncertainty, agency_profiles,
            data_quality, scorecard_766_facts, scorecard_766, marts, ranking_reports, *national_assets],
    asset_checks=quality_checks,
    jobs=[pipeline_job, national_job],
    schedules=[nightly_current_year, nightly_national],
    sensors=[raw_files_sensor, province_folders_sensor],
    resources=build_resources(),
    # Dagster's console logger stays the default; `egov` picks its progress lines in the run config.
    loggers={"console": dg.colored_console_logger, "egov_progress": progress_logger},
    # One DuckDB writer: steps run one after another in the run's process (no subprocess per step either).
    executor=dg.in_process_executor,
)


def national_multiprocess_job() -> dg.JobDefinition:
    """The national job, for `dg.reconstructable` (the multiprocess executor re-imports it in each step process)."""
    return defs.resolve_job_def(NATIONAL_JOB)


def national_celery_job() -> dg.JobDefinition:
    """The national job on dagster-celery's executor: its steps go to Celery workers through the broker (imported
    here, so only celery runs pay for importing Celery)."""
    from dagster_celery import celery_executor

    return defs.resolve_job_def(NATIONAL_JOB).with_executor_def(celery_executor)
