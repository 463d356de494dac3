"""The Dagster code location: `dagster dev -m pipelines.definitions`."""

from __future__ import annotations

import dagster as dg

from assets.ingestion.assets import ingestion_assets
from pipelines.resources import build_resources

defs = dg.Definitions(
    assets=[*ingestion_assets],
    resources=build_resources(),
)
