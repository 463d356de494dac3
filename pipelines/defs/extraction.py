"""Extraction assets: one per extract of `$EGOV_DATA_DIR/extract.yaml`, database → raw Parquet files, run before the
ingestion of its source (assets/extraction/extract.py; docs/operators.md, "Extraction from the one-stop database")."""

from pathlib import Path

import dagster as dg
import yaml

from assets.extraction.extract import EXTRACT_FILE, ExtractError, load_extracts, read_state, run_extract
from pipelines.core import settings
from pipelines.core.registry import load_registry
from pipelines.defs.resources import Warehouse

GROUP = "extraction"


def extract_names(base: Path) -> list[str]:
    """The sources extract.yaml declares, read leniently at import (the file is checked when an extract runs, so a
    typo fails that step naming the file and key, not the loading of the code location)."""
    try:
        data = yaml.safe_load((base / EXTRACT_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return []
    extracts = data.get("extracts") if isinstance(data, dict) else None
    return sorted(str(name) for name in extracts) if isinstance(extracts, dict) else []


def extraction_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(f"extract_{source}")


def build_extraction_asset(source: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=extraction_key(source),
        group_name=GROUP,
        kinds={"postgres", "parquet"},
        description=f"The rows of {source} changed in the system of record since the last extract → Parquet files in "
        "raw/ (named by cursor range, written atomically); the watermark moves only after they are complete.",
    )
    def _extract(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        base = warehouse.base
        try:
            extracts = load_extracts(base)
            if source not in extracts:
                raise ExtractError(
                    f"{base / EXTRACT_FILE}: no extract for {source} any more (reload the code location)"
                )
            contract = load_registry(base).sources.get(source)
            if contract is None:
                raise ExtractError(f"{base / EXTRACT_FILE}: {source} is not a source of config/sources.yaml")
            result = run_extract(base, warehouse.raw_dir, source, extracts[source], contract, log=context.log.info)
        except ExtractError as exc:
            # The message names the host and the reason, never a secret; raised without the driver's traceback.
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        return dg.MaterializeResult(
            metadata={
                "rows_written": dg.MetadataValue.int(result.rows),
                "rows_read": dg.MetadataValue.int(result.rows_read),
                "files": dg.MetadataValue.json([str(f.relative_to(warehouse.raw_dir)) for f in result.files]),
                "watermark": dg.MetadataValue.text(str(read_state(base, source)["watermark"])),
            }
        )

    return _extract


def build_extraction_assets(base: Path | None = None) -> list[dg.AssetsDefinition]:
    """An asset per extract declared in the data directory's extract.yaml (none without the file)."""
    return [build_extraction_asset(name) for name in extract_names(base or settings.data_dir())]


extraction_assets = build_extraction_assets()
