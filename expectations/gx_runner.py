"""Run the expectation suites on pandas frames and publish the Data Docs at a stable path.

Great Expectations has no DuckDB engine (STACK_NOTES), so tables are read into pandas (`load_frames`) and
validated with GX's pandas datasource: file context → dataframe asset → whole-dataframe batch definition →
suite → validation definition → checkpoint with UpdateDataDocsAction. Everything is `add_or_update`, so a rerun
replaces the definitions instead of failing. GX is imported inside the functions: it costs ~4 s.

Layout under `site_dir.parent` (`<data_dir>/quality/`): `gx/` holds the GX project (suites, validation results),
`data_docs/` (= site_dir) the HTML, with `data_docs/index.html` the page to open.

Cost control (a nightly run validates ~10 tables): a table is re-validated only when its content fingerprint
(row count + checksum, computed in DuckDB by `table_fingerprints`, or from the pandas frame), the run's years or
its suite changed: otherwise its stored summary is reused and its pages stay in the Data Docs, which are rebuilt
only when something was validated (incrementally: the new pages and the index). GX itself (~4 s to import) is
only imported when a table must be validated.
"""

from __future__ import annotations

import gc
import hashlib
import html
import json
import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from expectations import SQL_DIR
from expectations.suites import (
    MART_SUITES,
    RATING_TABLE,
    STAGING_SUITES,
    SUITE_FORMAT,
    Spec,
    add_derived_columns,
    build_suite,
    frame_for_data_docs,
    suite_specs,
)
from pipelines.core.queries import has_table, json_safe
from pipelines.core.registry import Registry, load_registry
from pipelines.core.registry.thresholds import load_thresholds
from pipelines.core.settings import cache_dir
from pipelines.core.sql import sql_identifier, sql_literal

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

SITE_NAME = "quality"
DATASOURCE_NAME = "warehouse_frames"
BATCH_DEFINITION_NAME = "whole_frame"
SAMPLE_VALUES = 5

_contexts: dict[str, Any] = {}
_loaded_checkpoints: dict[tuple[int, str], tuple[str, Any]] = {}  # (context, table) → (suite fingerprint, checkpoint)
VALIDATION_CACHE = "egov_validation_cache.json"
SUMMARY_FORMAT = 1  # bump when `_summarise` changes: stored summaries are then recomputed


def data_docs_index(site_dir: Path) -> Path:
    """The Data Docs page stewards open (written by `validate_frames`)."""
    return Path(site_dir) / "index.html"


def gx_context(site_dir: Path, registry: Registry | None = None) -> Any:
    """The file context rooted at `site_dir.parent`, its Data Docs site pointed at `site_dir`; one per process, the last
    site's.

    GX would write the docs to gx/uncommitted/data_docs/local_site/; the default site is replaced by one whose
    store backend is `site_dir` (absolute, rewritten on each open, so a moved data directory keeps working).
    A new project starts as a copy of the prepared project template of the same suites, when there is one
    (`save_project_template`); `registry`: the data directory's, whose suites the template must match.
    """
    site_dir = Path(site_dir).resolve()
    key = str(site_dir)
    if key not in _contexts:
        # One context at a time: a national run validates province after province in one process (the GX worker),
        # and each context holds its suites, checkpoints and stores (the worker grew to 1.2 GB over 63 provinces).
        _contexts.clear()
        _loaded_checkpoints.clear()
        gc.collect()
        _seed_project(site_dir, registry or load_registry())
        _contexts[key] = _open_context(site_dir)
    return _contexts[key]


# Bump when the way suites, validation definitions or checkpoints are written changes: older templates are then
# ignored (the key also holds GX's version and every suite's fingerprint).
PROJECT_TEMPLATE_FORMAT = 2
PROJECT_DIR = "gx"  # the GX project's folder under `site_dir.parent`


def _suite_fingerprint(name: str, registry: Registry | None) -> str:
    return hashlib.sha256(repr((SUITE_FORMAT, suite_specs(name, registry))).encode()).hexdigest()


def project_template_dir(registry: Registry) -> Path:
    """Where the prepared GX projects of these suites are kept: `<cache dir>/gx-projects/<key>/`.

    Writing the suites, validation definitions and checkpoints of a new project costs GX ~2–3 s of CPU; every new
    data directory with the same suites (each province of a national run, each test) copies a prepared project
    instead. The key changes with GX's version and with any suite's specs (the registry's groups and labels).
    Under it, one template per set of suites prepared (`<count>-<digest of the names>`): a directory without the
    766 inputs prepares 13 of the 15 suites, and the next one like it should not write them again."""
    import great_expectations as gx

    suites = [(name, _suite_fingerprint(name, registry)) for name in (*STAGING_SUITES, *MART_SUITES)]
    key = hashlib.sha256(repr((PROJECT_TEMPLATE_FORMAT, gx.__version__, suites)).encode()).hexdigest()[:32]
    return cache_dir() / "gx-projects" / key


def _template_name(suites: set[str]) -> str:
    digest = hashlib.sha256(repr(sorted(suites)).encode()).hexdigest()[:16]
    return f"{len(suites):03d}-{digest}"


def _templates(registry: Registry) -> list[tuple[set[str], Path]]:
    """The prepared templates of these suites, the one with the most suites first."""
    root = project_template_dir(registry)
    found = []
    for folder in sorted(root.glob("[0-9]*-*"), reverse=True):
        prepared = set(_read_json(folder / SUITE_FINGERPRINTS))
        if folder.name == _template_name(prepared):  # complete: written whole, renamed into place
            found.append((prepared, folder))
    return found


def _seed_project(site_dir: Path, registry: Registry) -> None:
    """A new project starts as a copy of the template with the most suites; an existing one, or none, is left
    alone (the suites the template lacks are written as without one)."""
    project = site_dir.parent / PROJECT_DIR
    templates = _templates(registry)
    if project.exists() or not templates:
        return
    scratch = project.with_name(f".{PROJECT_DIR}.{os.getpid()}.tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        shutil.copytree(templates[0][1], scratch)
        scratch.rename(project)
    except OSError:  # a template being written, a full disk: the project is then written as without one
        shutil.rmtree(scratch, ignore_errors=True)


def save_project_template(ctx: Any, registry: Registry) -> None:
    """Keep this project as a template of the suites prepared in it (no validation results, no Data Docs: only the
    definitions), unless a template already holds all of them. Written beside and renamed into place: readers
    never see half of it."""
    root = Path(ctx.root_directory)
    stored = _read_json(root / SUITE_FINGERPRINTS)
    prepared = {n for n in (*STAGING_SUITES, *MART_SUITES) if stored.get(n) == _suite_fingerprint(n, registry)}
    if not prepared or any(prepared <= suites for suites, _ in _templates(registry)):
        return
    template = project_template_dir(registry) / _template_name(prepared)
    template.parent.mkdir(parents=True, exist_ok=True)
    scratch = template.with_name(f".{template.name}.{os.getpid()}.tmp")
    shutil.rmtree(scratch, ignore_errors=True)
    try:
        shutil.copytree(root, scratch, ignore=shutil.ignore_patterns("validations", "data_docs"))
        fingerprints = {n: stored[n] for n in prepared}  # only what this template is valid for
        (scratch / SUITE_FINGERPRINTS).write_text(json.dumps(fingerprints, indent=1, sort_keys=True))
        scratch.rename(template)
    except OSError:  # another process saved it first, or the cache is not writable: the template is optional
        shutil.rmtree(scratch, ignore_errors=True)


SUITE_FINGERPRINTS = "egov_suite_fingerprints.json"


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _open_context(site_dir: Path) -> Any:
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


UNPUBLISHED = "egov_unpublished_results.json"  # results validated ahead, not yet published (`gx_worker`)


def mark_unpublished(ctx: Any, pages: dict[str, list[Any]]) -> None:
    """Record the validation results among `pages` as not published yet (validated ahead by the GX worker): until a
    publish takes them, `_prune_results` removes them, so that a run that never published them (it ended before
    its data_quality, its worker was killed) leaves nothing that takes a published result's place."""
    path = Path(ctx.root_directory) / UNPUBLISHED
    known = _read_json(path).get("results", [])
    known += [list(page.to_tuple()) for table in pages.values() for page in table if hasattr(page, "run_id")]
    path.write_text(json.dumps({"results": known}))


def _prune_results(ctx: Any, keep: int, pages: list[Any], suites: list[str]) -> None:
    """Keep the `keep` newest validation results of each of `suites`; the docs index then drops the older pages.
    Results validated ahead and never published (`mark_unpublished`) are removed first, except those about to be
    published (`pages`)."""
    store = ctx.validation_results_store
    path = Path(ctx.root_directory) / UNPUBLISHED
    unpublished = {tuple(key) for key in _read_json(path).get("results", [])}
    publishing = {page.to_tuple() for page in pages if hasattr(page, "run_id")}
    by_suite: dict[str, list[Any]] = {}
    for key in store.list_keys():
        if key.to_tuple() in unpublished - publishing:
            store.remove_key(key)
        elif key.expectation_suite_identifier.name in suites:
            by_suite.setdefault(key.expectation_suite_identifier.name, []).append(key)
    if unpublished:
        path.unlink()
    for keys in by_suite.values():
        keys.sort(key=lambda k: k.run_id.run_time)
        for old in keys[: max(len(keys) - keep, 0)]:
            store.remove_key(old)


def _result_value(value: Any) -> Any:
    """A value of a validation result as plain JSON, its texts unescaped (GX validated HTML-escaped text cells)."""
    value = json_safe(value)
    if isinstance(value, str):
        return html.unescape(value)
    if isinstance(value, list):
        return [_result_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _result_value(v) for k, v in value.items()}
    return value


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
        failed.append(
            {
                "expectation": cfg.type,
                "name": spec.name if spec else cfg.type,
                "column": spec.column if spec else cfg.kwargs.get("column"),
                "unexpected_count": result.get("unexpected_count"),
                "observed_value": _result_value(result.get("observed_value")),
                "sample": _result_value((result.get("partial_unexpected_list") or [])[:SAMPLE_VALUES]),
                "severity": spec.severity if spec else str(cfg.severity),
                "description": spec.vi if spec else (cfg.description or ""),
                "error": error,
            }
        )
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


def prepared_checkpoint(ctx: Any, name: str, gx: Any, registry: Registry | None = None) -> Any:
    """The table's checkpoint; suite, validation definition and checkpoint are only rewritten when the suite's
    specs changed (GX's add_or_update compares every expectation: ~0.25 s a table on every run otherwise)."""
    fingerprints_path = Path(ctx.root_directory) / SUITE_FINGERPRINTS
    fingerprints = _read_json(fingerprints_path)
    fingerprint = _suite_fingerprint(name, registry)
    loaded = _loaded_checkpoints.get((id(ctx), name))
    if loaded is not None and loaded[0] == fingerprint == fingerprints.get(name):
        return loaded[1]  # loaded by this process already (the GX worker loads them all while the run computes)
    checkpoint = _stored_or_new_checkpoint(ctx, name, gx, fingerprints, fingerprint, fingerprints_path, registry)
    _loaded_checkpoints[(id(ctx), name)] = (fingerprint, checkpoint)
    return checkpoint


def _stored_or_new_checkpoint(
    ctx: Any,
    name: str,
    gx: Any,
    fingerprints: dict[str, str],
    fingerprint: str,
    fingerprints_path: Path,
    registry: Registry | None,
) -> Any:
    """The stored checkpoint when its suite is unchanged, else suite, definition and checkpoint written anew."""
    if fingerprints.get(name) == fingerprint:
        try:
            return ctx.checkpoints.get(name)
        except Exception:  # noqa: BLE001 - a missing or unreadable stored checkpoint is simply rebuilt
            pass
    suite = ctx.suites.add_or_update(build_suite(name, registry))
    validation_definition = ctx.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=_batch_definition(ctx, name), suite=suite)
    )
    checkpoint = ctx.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=[validation_definition],
            actions=[],  # the Data Docs are rebuilt once, after every table (a rebuild per table costs ~0.4 s)
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_VALUES},
        )
    )
    fingerprints[name] = fingerprint
    fingerprints_path.write_text(json.dumps(fingerprints, indent=1, sort_keys=True))
    return checkpoint


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Content fingerprint of a frame: columns, dtypes, row count and a hash of every row."""
    import pandas as pd

    digest = hashlib.sha256(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    digest.update(str(len(frame)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _cache_path(site_dir: Path) -> Path:
    return Path(site_dir).resolve().parent / "gx" / VALIDATION_CACHE


def _validation_key(name: str, fingerprint: str, run_name: str | None, registry: Registry | None = None) -> str:
    """What a stored result is valid for: the table's content, the suite's specs and how they become GX objects,
    the run's label (years), the GX version and the summary format."""
    from importlib.metadata import version

    context = (
        fingerprint,
        suite_specs(name, registry),
        run_name or name,
        version("great-expectations"),
        SUMMARY_FORMAT,
        SUITE_FORMAT,
    )
    return hashlib.sha256(repr(context).encode()).hexdigest()


def _has_pages(site_dir: Path, name: str) -> bool:
    return any((Path(site_dir) / "validations" / name).rglob("*.html"))


def validate_frames(
    frames: dict[str, pd.DataFrame],
    site_dir: Path,
    *,
    run_name: str | None = None,
    keep_runs: int | None = None,
    registry: Registry | None = None,
) -> dict[str, dict[str, Any]]:
    """Validate each frame with the suite of the same name and rebuild the Data Docs under `site_dir`.

    Returns per table {"success", "evaluated", "failed", "errors" (critical failures), "warnings",
    "rows", "seconds", "reused", "failed_expectations": [{"expectation", "name", "column", "unexpected_count",
    "observed_value", "sample", "severity", "description", "error"}]}. An unknown table name raises KeyError
    before anything runs. `run_name` (e.g. "2024") labels the run in the Data Docs. A frame identical to the one
    last validated under the same suite and label is not validated again (its stored result is returned).
    `keep_runs`: validation results kept per suite (default: thresholds.yaml data_docs_keep_runs).
    `registry`: the data directory's (its agency groups and class labels are allowed); default EGOV_DATA_DIR's.
    """
    for name in frames:
        suite_specs(name, registry)  # fail fast on an unknown table
    fingerprints = {name: frame_fingerprint(frame) for name, frame in frames.items()}
    return validate_tables(
        lambda names: {n: frames[n] for n in names},
        fingerprints,
        site_dir,
        run_name=run_name,
        keep_runs=keep_runs,
        registry=registry,
    )


def tables_to_validate(
    site_dir: Path, fingerprints: dict[str, str], *, run_name: str | None = None, registry: Registry | None = None
) -> list[str]:
    """The tables among `fingerprints` that `validate_tables` would validate (content, suite or label changed, or
    no page yet); cheap, and without importing GX."""
    cache_path = _cache_path(site_dir)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    return [
        name
        for name, fp in fingerprints.items()
        if (cache.get(name) or {}).get("key") != _validation_key(name, fp, run_name, registry)
        or not _has_pages(site_dir, name)
    ]


def validate_tables(
    load: Callable[[list[str]], dict[str, pd.DataFrame]],
    fingerprints: dict[str, str],
    site_dir: Path,
    *,
    export: Callable[[list[str], Path], dict[str, str]] | None = None,
    run_name: str | None = None,
    keep_runs: int | None = None,
    registry: Registry | None = None,
) -> dict[str, dict[str, Any]]:
    """`validate_frames` for tables known by their content fingerprints (`table_fingerprints`): only the tables
    whose fingerprint, suite or label changed since their stored result are validated; the others return their
    stored summary with "reused": True, and their pages stay in the Data Docs. GX is not even imported when nothing
    changed and the Data Docs exist. The tables go to the GX worker as the files `export(names, directory)` writes
    (`export_frames`); without `export` (frames already held here) or a worker, they are validated here, as the
    frames `load(names)` returns."""
    registry = registry or load_registry()
    for name in fingerprints:
        suite_specs(name, registry)  # fail fast on an unknown table
    cache_path = _cache_path(site_dir)
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    keys = {name: _validation_key(name, fp, run_name, registry) for name, fp in fingerprints.items()}
    todo = tables_to_validate(site_dir, fingerprints, run_name=run_name, registry=registry)
    results: dict[str, dict[str, Any]] = {}
    if todo or not data_docs_index(site_dir).exists():
        from expectations import gx_worker

        # Tables the staging checks handed the worker already (`validate_ahead`), for this very content and label.
        ahead = gx_worker.validated_ahead(site_dir, {name: keys[name] for name in todo})
        rest = [name for name in todo if name not in ahead]
        # In the worker started by the staging checks when it runs (GX already imported there), else here.
        results = None
        if export is not None:
            results = gx_worker.validate(
                lambda directory: export(rest, directory), site_dir, run_name, keep_runs, take_ahead=ahead
            )
        if results is None:
            frames = load(todo)  # the tables handed ahead too: the worker that took them is gone
            results = validate_in_process(frames, site_dir, run_name=run_name, keep_runs=keep_runs, registry=registry)
        for name in todo:
            if name in results:
                cache[name] = {"key": keys[name], "result": results[name]}
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True))
        tmp.replace(cache_path)
    out: dict[str, dict[str, Any]] = {}
    for name in fingerprints:
        if name in results:
            out[name] = {**results[name], "reused": False}
        elif name not in todo:
            out[name] = {**cache[name]["result"], "reused": True}
    return out


def validate_ahead(
    con: duckdb.DuckDBPyConnection,
    years: list[int],
    fingerprints: dict[str, str],
    site_dir: Path,
    *,
    run_name: str | None,
    registry: Registry,
    aggregate: str | None = None,
) -> list[str]:
    """Hand the GX worker the tables of `fingerprints` (final already, and changed) to validate while the run goes
    on (as Parquet files, `export_frames`); `validate_tables` then takes their results instead of validating them
    again. Only when the worker was prepared for `site_dir` (`gx_worker.start`); returns the tables handed."""
    from expectations import gx_worker

    keys = {name: _validation_key(name, fp, run_name, registry) for name, fp in fingerprints.items()}
    return gx_worker.submit(
        lambda directory: export_frames(con, years, list(fingerprints), directory, aggregate=aggregate),
        keys,
        site_dir,
        run_name,
    )


def validate_in_process(
    frames: dict[str, pd.DataFrame],
    site_dir: Path,
    *,
    run_name: str | None,
    keep_runs: int | None = None,
    registry: Registry | None = None,
) -> dict[str, dict[str, Any]]:
    registry = registry or load_registry()
    ctx = gx_context(site_dir, registry)
    results, pages = validate_checkpoints(ctx, frames, run_name=run_name, registry=registry)
    publish_data_docs(ctx, site_dir, pages, keep_runs=keep_runs)
    save_project_template(ctx, registry)
    return results


def validate_checkpoints(
    ctx: Any, frames: dict[str, pd.DataFrame], *, run_name: str | None, registry: Registry
) -> tuple[dict[str, dict[str, Any]], dict[str, list[Any]]]:
    """Each frame through its table's checkpoint: the summaries, and per table the pages to (re)build (its new
    validation result and its suite) for `publish_data_docs`."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    _no_batch_hash()
    results: dict[str, dict[str, Any]] = {}
    pages: dict[str, list[Any]] = {}
    for name, frame in frames.items():
        start = time.perf_counter()
        checkpoint = prepared_checkpoint(ctx, name, gx, registry)
        outcome = checkpoint.run(
            batch_parameters={"dataframe": frame_for_data_docs(add_derived_columns(name, frame))},
            run_id=RunIdentifier(run_name=run_name or name, run_time=datetime.now(UTC)),
        )
        [(identifier, validation)] = outcome.run_results.items()
        pages[name] = [identifier, ExpectationSuiteIdentifier(name=name)]
        specs = {s.name: s for s in suite_specs(name, registry)}
        results[name] = _summarise(validation, specs, len(frame), time.perf_counter() - start)
    return results, pages


def publish_data_docs(ctx: Any, site_dir: Path, pages: dict[str, list[Any]], *, keep_runs: int | None = None) -> None:
    """Prune the validation results of the tables of `pages` to the newest `keep_runs`, then build their pages
    (`validate_checkpoints`) and the index, which drops the pages of pruned results. A full build re-renders every
    kept result of every suite (up to data_docs_keep_runs × 10 pages): only when the site has no index yet."""
    keep = load_thresholds()["data_docs_keep_runs"] if keep_runs is None else keep_runs
    rendered = [page for table_pages in pages.values() for page in table_pages]
    _prune_results(ctx, max(int(keep), 1), rendered, list(pages))
    full = not data_docs_index(site_dir).exists() or not rendered
    ctx.build_data_docs(site_names=[SITE_NAME], resource_identifiers=None if full else rendered)


def forget_results(ctx: Any, rendered: list[Any]) -> None:
    """Remove the stored validation results among `rendered` that were never published (a run that validated ahead,
    then ended before data_quality): the prune would count them, the index would never show them."""
    from great_expectations.data_context.types.resource_identifiers import ValidationResultIdentifier

    for identifier in rendered:
        if isinstance(identifier, ValidationResultIdentifier):
            ctx.validation_results_store.remove_key(identifier)


def _no_batch_hash() -> None:
    """Stop GX hashing every frame it is given (below 1 GB) for a batch marker, `pandas_data_fingerprint`, that
    nothing reads: no expectation, summary or re-validation depends on it (the run fingerprints its tables itself,
    `table_fingerprints`), and GX only lists it among the batch markers of a Data Docs page. Measured at 10M
    dossiers: 3.7 s of the 4.2M ratings' ~10 s of validation (pandas hashing every text cell). Every expectation,
    count and observed value stays GX's own. GX's threshold, not a setting: a GX without it is left as it is."""
    from great_expectations.execution_engine import pandas_execution_engine

    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0  # frames of at least 0 bytes are not hashed: none is


DOSSIER_AGENCY_MONTH_TEMP = "egov_dq_dossier_agency_month"


def _dossier_aggregate(con: duckdb.DuckDBPyConnection, years: list[int]) -> str:
    """The query of the dossier aggregate (sql/dossier_agency_month.sql), once the per-file dossier counts it adds
    up are up to date (a night counts only the files loaded since: pipelines/core/file_facts.py)."""
    from assets.indicators.build import refresh_dossier_facts

    refresh_dossier_facts(con, years)
    return (SQL_DIR / "dossier_agency_month.sql").read_text(encoding="utf-8")


def _frame_query(
    con: duckdb.DuckDBPyConnection, name: str, years: list[int], aggregate: str | None = None
) -> tuple[str, dict | None] | None:
    """The query (and parameters) that reads the frame of suite `name`, or None when its table is absent.
    `aggregate` names a table already holding the dossier aggregate of `years` (one scan of the log is enough)."""
    if name == "dossier_agency_month":
        if aggregate:
            return f"SELECT * FROM {aggregate}", None
        return _dossier_aggregate(con, years), {"years": years}
    if name == "rating_month":  # the ratings' monthly aggregate (an optional source: absent, no frame)
        if not has_table(con, RATING_TABLE):
            return None
        return (SQL_DIR / "rating_month.sql").read_text(encoding="utf-8"), {"years": years}
    table = {"indicators": "indicator_values"}.get(name, name)
    if not has_table(con, table):
        return None
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? AND NOT internal", [table]
        ).fetchall()
    )
    columns = set(types)
    # nested columns (lists of indicator codes, rank history) have no expectations and no pandas equality
    drop = [
        c for c, t in types.items() if c in ("source_file", "source_line") or t.endswith("]") or t.startswith("STRUCT")
    ]
    select = f"SELECT * EXCLUDE ({', '.join(map(sql_identifier, drop))})" if drop else "SELECT *"
    if "year" in columns:
        return f"{select} FROM {table} WHERE list_contains($years, year)", {"years": years}
    return f"{select} FROM {table}", None


def table_fingerprints(
    con: duckdb.DuckDBPyConnection,
    years: list[int],
    tables: list[str] | None = None,
    *,
    aggregate: str = DOSSIER_AGENCY_MONTH_TEMP,
    temporary: bool = True,
) -> dict[str, str]:
    """Per suite table present in the warehouse: a fingerprint of exactly what `load_frames` would read
    (column names and types, row count, sum of row hashes), computed in DuckDB without loading the frame.

    The dossier aggregate is materialised once into the table `aggregate` (a temp table of this connection
    unless `temporary` is False), so one scan of the dossier log serves both the fingerprint and, when it
    changed, the frame (`load_frames(..., aggregate=...)`)."""
    wanted = tables or [*STAGING_SUITES, *MART_SUITES]
    years = [int(y) for y in years]
    if "dossier_agency_month" in wanted:
        query = _dossier_aggregate(con, years)
        kind = "TEMP TABLE" if temporary else "TABLE"
        con.execute(f"CREATE OR REPLACE {kind} {aggregate} AS {query}", {"years": years})
    out: dict[str, str] = {}
    for name in wanted:
        found = _frame_query(con, name, years, aggregate)
        if found is None:
            continue
        query, params = found
        schema = con.execute(f"DESCRIBE {query}", params).fetchall()
        rows, checksum = con.execute(
            f"SELECT count(*), coalesce(sum(hash(q)), 0)::VARCHAR FROM ({query}) AS q", params
        ).fetchall()[0]
        out[name] = hashlib.sha256(repr(([(c[0], c[1]) for c in schema], rows, checksum)).encode()).hexdigest()
    return out


def load_frames(
    con: duckdb.DuckDBPyConnection, years: list[int], tables: list[str] | None = None, *, aggregate: str | None = None
) -> dict[str, pd.DataFrame]:
    """The frames the suites expect, read from the warehouse for `years` (marts only when built).

    stg_agencies is read whole (it has no year); `indicators` comes from `indicator_values`;
    `dossier_agency_month` is the SQL aggregate of the dossier log (sql/dossier_agency_month.sql), or the table
    `aggregate` where `table_fingerprints` left it.
    """
    wanted = [*STAGING_SUITES, *MART_SUITES] if tables is None else tables
    frames: dict[str, pd.DataFrame] = {}
    for name in wanted:
        found = _frame_query(con, name, [int(y) for y in years], aggregate)
        if found is not None:
            frames[name] = _wide_integers(con.execute(*found).df())
    return frames


def export_frames(
    con: duckdb.DuckDBPyConnection,
    years: list[int],
    tables: list[str],
    directory: Path,
    *,
    aggregate: str | None = None,
) -> dict[str, str]:
    """What `load_frames` would read, written by DuckDB as one Parquet file per table into `directory` (the GX
    worker's), for `read_frames` in the worker: the run's process hands the worker its tables without holding them
    as frames, nor importing pandas (~100 MB of its resident memory, under the memory budget)."""
    paths: dict[str, str] = {}
    for i, name in enumerate(tables):
        found = _frame_query(con, name, [int(y) for y in years], aggregate)
        if found is None:
            continue
        query, params = found
        paths[name] = str(Path(directory) / f"{i}.parquet")
        con.execute(f"COPY ({query}) TO {sql_literal(paths[name])} (FORMAT parquet)", params)
    return paths


def read_frames(paths: dict[str, str]) -> dict[str, pd.DataFrame]:
    """The frames of the Parquet files `export_frames` wrote: the same as `load_frames` read (tested)."""
    import duckdb

    with duckdb.connect() as con:
        return {name: _wide_integers(con.execute("FROM read_parquet(?)", [path]).df()) for name, path in paths.items()}


def _wide_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Narrow integer columns (DuckDB's INTEGER arrives as int32) as int64: GX's pandas range check is vectorised
    for int64 and float64 only, and otherwise calls Python once per value (5.7 s for 4.2M ratings' `year`)."""
    import numpy as np

    narrow = {
        c: "int64" for c, t in frame.dtypes.items() if isinstance(t, np.dtype) and t.kind in "iu" and t != "int64"
    }
    return frame.astype(narrow) if narrow else frame
