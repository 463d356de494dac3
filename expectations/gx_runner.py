"""Run the expectation suites on pandas frames and publish the Data Docs at a stable path.

Great Expectations has no DuckDB engine (STACK_NOTES), so tables are read into pandas (`load_frames`) and
validated with GX's pandas datasource: file context → dataframe asset → whole-dataframe batch definition →
suite → validation definition → checkpoint with UpdateDataDocsAction. Everything is `add_or_update`, so a rerun
replaces the definitions instead of failing. GX is imported inside the functions: it costs ~4 s.

Layout under `site_dir.parent` (`<data_dir>/quality/`): `gx/` holds the GX project (suites, validation results),
`data_docs/` (= site_dir) the HTML, with `data_docs/index.html` the page to open.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expectations import SQL_DIR, load_thresholds
from expectations.suites import MART_SUITES, STAGING_SUITES, Spec, add_derived_columns, build_suite, suite_specs

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

SITE_NAME = "quality"
DATASOURCE_NAME = "warehouse_frames"
BATCH_DEFINITION_NAME = "whole_frame"
SAMPLE_VALUES = 5

_contexts: dict[str, Any] = {}


def data_docs_index(site_dir: Path) -> Path:
    """The Data Docs page stewards open (written by `validate_frames`)."""
    return Path(site_dir) / "index.html"


def gx_context(site_dir: Path) -> Any:
    """The file context rooted at `site_dir.parent`, its Data Docs site pointed at `site_dir`; one per process.

    GX would write the docs to gx/uncommitted/data_docs/local_site/; the default site is replaced by one whose
    store backend is `site_dir` (absolute, rewritten on each open, so a moved data directory keeps working).
    """
    site_dir = Path(site_dir).resolve()
    key = str(site_dir)
    if key in _contexts:
        return _contexts[key]
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    site_dir.mkdir(parents=True, exist_ok=True)
    ctx = gx.get_context(mode="file", project_root_dir=str(site_dir.parent))
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    ctx.variables.save()
    site_config = {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    sites = ctx.get_config().data_docs_sites or {}
    if "local_site" in sites:
        ctx.delete_data_docs_site("local_site")
    if SITE_NAME in sites:
        ctx.update_data_docs_site(SITE_NAME, site_config)
    else:
        ctx.add_data_docs_site(SITE_NAME, site_config)
    try:
        ctx.data_sources.get(DATASOURCE_NAME)
    except (KeyError, ValueError):
        ctx.data_sources.add_pandas(DATASOURCE_NAME)
    _contexts[key] = ctx
    return ctx


def _batch_definition(ctx: Any, name: str) -> Any:
    datasource = ctx.data_sources.get(DATASOURCE_NAME)
    try:
        asset = datasource.get_asset(name)
    except LookupError:
        asset = datasource.add_dataframe_asset(name)
    try:
        return asset.get_batch_definition(BATCH_DEFINITION_NAME)
    except KeyError:
        return asset.add_batch_definition_whole_dataframe(BATCH_DEFINITION_NAME)


def _prune_results(ctx: Any, keep: int) -> None:
    """Keep the `keep` newest validation results per suite; the docs index then drops the older pages."""
    store = ctx.validation_results_store
    by_suite: dict[str, list[Any]] = {}
    for key in store.list_keys():
        by_suite.setdefault(key.expectation_suite_identifier.name, []).append(key)
    for keys in by_suite.values():
        keys.sort(key=lambda k: k.run_id.run_time)
        for old in keys[: max(len(keys) - keep, 0)]:
            store.remove_key(old)


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy / pandas scalars
        try:
            return _json_safe(value.item())
        except (ValueError, TypeError):
            pass
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    return str(value)


def _summarise(validation: Any, specs: dict[str, Spec], rows: int, seconds: float) -> dict[str, Any]:
    failed = []
    for r in validation.results:
        if r.success:
            continue
        cfg = r.expectation_config
        spec = specs.get((cfg.meta or {}).get("name", ""))
        result = r.result or {}
        error = None
        if r.exception_info and r.exception_info.get("raised_exception"):
            error = r.exception_info.get("exception_message")
        failed.append({
            "expectation": cfg.type,
            "name": spec.name if spec else cfg.type,
            "column": spec.column if spec else cfg.kwargs.get("column"),
            "unexpected_count": result.get("unexpected_count"),
            "observed_value": _json_safe(result.get("observed_value")),
            "sample": _json_safe((result.get("partial_unexpected_list") or [])[:SAMPLE_VALUES]),
            "severity": spec.severity if spec else str(cfg.severity),
            "description": spec.vi if spec else (cfg.description or ""),
            "error": error,
        })
    order = {name: i for i, name in enumerate(specs)}
    failed.sort(key=lambda f: order.get(f["name"], len(order)))  # suite order: GX's own order is not stable
    stats = validation.statistics
    errors = sum(1 for f in failed if f["severity"] == "critical")
    return {
        "success": not failed,
        "evaluated": int(stats["evaluated_expectations"]),
        "failed": len(failed),
        "errors": errors,
        "warnings": len(failed) - errors,
        "rows": rows,
        "seconds": round(seconds, 3),
        "failed_expectations": failed,
    }


def _checkpoint(ctx: Any, name: str, gx: Any) -> Any:
    """The table's checkpoint; suite, validation definition and checkpoint are only rewritten when the suite's
    specs changed (GX's add_or_update compares every expectation: ~0.25 s a table on every run otherwise)."""
    fingerprints_path = Path(ctx.root_directory) / "egov_suite_fingerprints.json"
    fingerprints = json.loads(fingerprints_path.read_text()) if fingerprints_path.exists() else {}
    fingerprint = hashlib.sha256(repr(suite_specs(name)).encode()).hexdigest()
    if fingerprints.get(name) == fingerprint:
        try:
            return ctx.checkpoints.get(name)
        except Exception:  # noqa: BLE001 - a missing or unreadable stored checkpoint is simply rebuilt
            pass
    suite = ctx.suites.add_or_update(build_suite(name))
    validation_definition = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=_batch_definition(ctx, name), suite=suite))
    checkpoint = ctx.checkpoints.add_or_update(gx.Checkpoint(
        name=name,
        validation_definitions=[validation_definition],
        actions=[],  # the Data Docs are rebuilt once, after every table (a rebuild per table costs ~0.4 s)
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_VALUES},
    ))
    fingerprints[name] = fingerprint
    fingerprints_path.write_text(json.dumps(fingerprints, indent=1, sort_keys=True))
    return checkpoint


def validate_frames(frames: dict[str, pd.DataFrame], site_dir: Path, *,
                    run_name: str | None = None) -> dict[str, dict[str, Any]]:
    """Validate each frame with the suite of the same name and rebuild the Data Docs under `site_dir`.

    Returns per table {"success", "evaluated", "failed", "errors" (critical failures), "warnings",
    "rows", "seconds", "failed_expectations": [{"expectation", "name", "column", "unexpected_count",
    "observed_value", "sample", "severity", "description", "error"}]}. An unknown table name raises KeyError
    before anything runs. `run_name` (e.g. "2024") labels the run in the Data Docs.
    """
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    for name in frames:
        suite_specs(name)  # fail fast on an unknown table
    ctx = gx_context(site_dir)
    _prune_results(ctx, max(int(load_thresholds()["data_docs_keep_runs"]) - 1, 0))
    results: dict[str, dict[str, Any]] = {}
    for name, frame in frames.items():
        start = time.perf_counter()
        checkpoint = _checkpoint(ctx, name, gx)
        outcome = checkpoint.run(batch_parameters={"dataframe": add_derived_columns(name, frame)},
                                 run_id=RunIdentifier(run_name=run_name or name, run_time=datetime.now(UTC)))
        validation = next(iter(outcome.run_results.values()))
        specs = {s.name: s for s in suite_specs(name)}
        results[name] = _summarise(validation, specs, len(frame), time.perf_counter() - start)
    ctx.build_data_docs(site_names=[SITE_NAME])
    return results


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [table]).fetchall()[0][0])


def load_frames(con: duckdb.DuckDBPyConnection, years: list[int],
                tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The frames the suites expect, read from the warehouse for `years` (marts only when built).

    stg_agencies is read whole (it has no year); `indicators` comes from `indicator_values`;
    `dossier_agency_month` is the SQL aggregate of the dossier log (sql/dossier_agency_month.sql).
    """
    wanted = tables or [*STAGING_SUITES, *MART_SUITES]
    source_table = {"indicators": "indicator_values"}
    frames: dict[str, pd.DataFrame] = {}
    for name in wanted:
        if name == "dossier_agency_month":
            query = (SQL_DIR / "dossier_agency_month.sql").read_text(encoding="utf-8")
            frames[name] = con.execute(query, {"years": years}).df()
            continue
        table = source_table.get(name, name)
        if not _table_exists(con, table):
            continue
        columns = {r[0] for r in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = ? AND NOT internal", [table]).fetchall()}
        drop = [c for c in ("source_file", "source_line") if c in columns]
        select = f"SELECT * EXCLUDE ({', '.join(drop)})" if drop else "SELECT *"
        where = " WHERE list_contains($years, year)" if "year" in columns else ""
        params = {"years": years} if where else None
        frames[name] = con.execute(f"{select} FROM {table}{where}", params).df()
    return frames
