"""Great Expectations in a process of its own, started as soon as a run knows it will validate something, and kept
for the process's next runs.

Importing GX and opening its project and checkpoints takes seconds of one core, all at the very end of a run
(`data_quality`). The staging checks know, right after ingestion, whether a staged table changed; they `start()`
this worker, which gets GX ready while indicators, scores and reports use the other core, then waits.
The staging checks also hand it the staged tables that changed, which are final by then (`submit`): it validates
them while the run computes its scores, and keeps their pages for the run's Data Docs. `data_quality` hands it the
rest, and reads back the same summaries `validate_in_process` returns, those of the tables validated ahead
included; the worker then builds the Data Docs of both at once. The blocking `critical_expectations_pass` check is
built from them, so GX still gates the publish. A process, not a thread: GX would compete for the GIL
(measurements: docs/benchmarks.md).
The worker then waits for the next run of the same process: a national run validates each province in turn
(`start()` asks it to prepare the next province's project), so GX is imported once per process, not once per
province. Tables reach it as Parquet files that DuckDB writes into the worker's private temporary directory
(`gx_runner.export_frames`): the run's process never holds them as pandas frames, nor imports pandas. When no
worker runs (another executor, a test, a worker that failed, `EGOV_GX_WORKER=0`), `validate()` returns None and the
caller validates in its own process.

    python -m expectations.gx_worker   # reads requests (JSON lines) on stdin, answers each validation on stdout
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

Export = Callable[[Path], dict[str, str]]
"""Writes the tables to validate into the directory given (one Parquet file each) and returns {table: path}."""

_worker: subprocess.Popen | None = None
_workdir: tempfile.TemporaryDirectory | None = None
_site: Path | None = None  # the Data Docs site the worker was last asked to prepare
_ahead: list[dict[str, Any]] = []  # validations handed ahead (`submit`) whose answers are not read yet, oldest first


def start(site_dir: Path, data_dir: Path) -> None:
    """Have the worker prepare `site_dir`'s project (GX imported, the project under `site_dir.parent` opened, every
    suite's checkpoint loaded) by the time `data_quality` needs it, starting the worker if this process has none.
    `data_dir`: the run's data directory, whose registry (agency groups, class labels) the suites are built from."""
    global _worker, _workdir, _site
    if os.environ.get("EGOV_GX_WORKER") == "0":
        return
    if not running():
        _kill()
        _workdir = tempfile.TemporaryDirectory(prefix="egov-gx-")
        _worker = subprocess.Popen(
            [sys.executable, "-m", "expectations.gx_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parents[1],
        )
        atexit.register(stop)
    if _send({"prepare": str(site_dir), "data_dir": str(data_dir)}):
        _site = Path(site_dir).resolve()


def running() -> bool:
    return _worker is not None and _worker.poll() is None


def prepared_for(site_dir: Path) -> bool:
    """Whether a running worker was last asked to prepare `site_dir`."""
    return running() and _workdir is not None and _site == Path(site_dir).resolve()


def _send(request: dict[str, Any]) -> bool:
    """Write one request line to the worker; False (and the worker stopped) when it is gone."""
    try:
        _worker.stdin.write(json.dumps(request) + "\n")
        _worker.stdin.flush()
    except (AttributeError, BrokenPipeError, OSError):
        _kill()
        return False
    return True


def submit(export: Export, keys: dict[str, str], site_dir: Path, run_name: str | None) -> list[str]:
    """Hand the worker the tables `export` writes, to validate now, without waiting: `validate` reads their summaries,
    and the worker publishes their pages with the Data Docs of that call. `keys`: each table's validation key
    (content, suite, label), so that `validated_ahead` answers only for the same content. Returns the tables handed:
    none when no worker was prepared for `site_dir` (then nothing is exported)."""
    if not keys or not prepared_for(site_dir):
        return []
    out = Path(_workdir.name) / f"ahead-{len(_ahead)}.json"
    folder = _request_dir()
    paths = export(folder)
    if not paths or not _send({"frames": paths, "run_name": run_name, "out": str(out), "ahead": True}):
        shutil.rmtree(folder, ignore_errors=True)
        return []
    _ahead.append({"site": _site, "keys": {name: keys[name] for name in paths}, "out": out, "folder": folder})
    return list(paths)


def _request_dir() -> Path:
    """A new directory in the worker's temporary directory for one request's files."""
    return Path(tempfile.mkdtemp(dir=_workdir.name))


def validated_ahead(site_dir: Path, keys: dict[str, str]) -> set[str]:
    """The tables among `keys` handed to the worker ahead for `site_dir` with the same validation key."""
    site = Path(site_dir).resolve()
    handed = [ahead["keys"] for ahead in _ahead if ahead["site"] == site]
    return {name for names in handed for name, key in names.items() if keys.get(name) == key}


def validate(
    export: Export,
    site_dir: Path,
    run_name: str | None,
    keep_runs: int | None = None,
    take_ahead: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any] | None:
    """The worker's `validate_in_process(frames, site_dir, run_name=..., keep_runs=...)` of the tables `export`
    writes, with the summaries of the tables handed ahead `take_ahead` (`validated_ahead`), whose pages it publishes
    too; or None (nothing exported) when there is no worker, it was last prepared for another Data Docs site, or it
    failed (it is then stopped)."""
    if not prepared_for(site_dir):
        return None
    ahead: dict[str, Any] = {}
    while _ahead:  # each request is answered in order: the ones handed ahead first
        request = _ahead.pop(0)
        answer = _answer(request["out"], request["folder"])
        if answer is None:
            return None
        if request["site"] == _site:  # else a run that ended before its data_quality: the worker dropped it
            ahead |= {name: result for name, result in answer.items() if name in take_ahead}
    out = Path(_workdir.name) / "result.json"
    folder = _request_dir()
    request = {
        "frames": export(folder),
        "run_name": run_name,
        "keep_runs": keep_runs,
        "out": str(out),
        "take_ahead": sorted(take_ahead),
    }
    answer = _answer(out, folder) if _send(request) else None
    return None if answer is None else {**ahead, **answer}


def _answer(out: Path, folder: Path) -> dict[str, Any] | None:
    """The worker's answer to the oldest request not yet read; None (and the worker stopped) when it failed."""
    line = _worker.stdout.readline()
    shutil.rmtree(folder, ignore_errors=True)  # the request's files, read by now
    if line.strip() != "done" or not Path(out).exists():
        _kill()
        return None
    answer = json.loads(Path(out).read_text())
    Path(out).unlink()
    return answer


STOP_TIMEOUT = 120  # seconds a stopping worker may take to finish its last Data Docs before it is killed


def stop() -> None:
    """End the worker once it has built the Data Docs of its last validation (killed after STOP_TIMEOUT s), then
    remove its files; at the latest when the process exits. Killed at once when tables handed ahead were never
    taken (a run that ended before its data_quality, or whose data_quality runs in another process): their
    validation would be for nothing, and the results it stored are removed at the site's next publish."""
    if _ahead:
        _kill()
    elif running():
        try:
            _worker.stdin.write(json.dumps({"end": True}) + "\n")
            _worker.stdin.close()
            _worker.wait(timeout=STOP_TIMEOUT)
        except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
            pass
    _kill()


def _kill() -> None:
    """End the worker now (it failed, or it did not stop) and remove its files."""
    global _worker, _workdir, _site
    if _worker is not None and _worker.poll() is None:
        _worker.kill()
        _worker.wait()
    if _worker is not None:
        for pipe in (_worker.stdin, _worker.stdout):
            if pipe is not None and not pipe.closed:
                pipe.close()
    _worker, _site = None, None
    _ahead.clear()
    if _workdir is not None:
        _workdir.cleanup()
        _workdir = None


def main() -> int:
    import great_expectations as gx

    from expectations.gx_runner import (
        forget_results,
        gx_context,
        mark_unpublished,
        prepared_checkpoint,
        publish_data_docs,
        read_frames,
        save_project_template,
        validate_checkpoints,
    )
    from expectations.suites import MART_SUITES, STAGING_SUITES
    from pipelines.core.registry import load_registry

    answers = os.fdopen(os.dup(1), "w")  # the answers' channel; whatever GX prints goes to /dev/null
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    site_dir, registry, ctx = None, None, None
    ahead: dict[str, list[Any]] = {}  # pages of the tables validated ahead, published with the run's validation
    for line in sys.stdin:
        request = json.loads(line)
        if "prepare" in request or "end" in request:
            # validated ahead for a run that ended before its data_quality: never published
            forget_results(ctx, [page for pages in ahead.values() for page in pages])
            ahead = {}
            if "end" in request:
                break
            # The slow part of a first validation, done while the run computes: the import (once), the project,
            # the checkpoints.
            site_dir, registry = Path(request["prepare"]), load_registry(Path(request["data_dir"]))
            ctx = gx_context(site_dir, registry)
            for name in (*STAGING_SUITES, *MART_SUITES):
                prepared_checkpoint(ctx, name, gx, registry)
            save_project_template(ctx, registry)
            continue
        frames = read_frames(request["frames"])  # written by our own run, in our own temporary directory
        results, pages = validate_checkpoints(ctx, frames, run_name=request["run_name"], registry=registry)
        if request.get("ahead"):
            mark_unpublished(ctx, pages)
        Path(request["out"]).write_text(json.dumps(results))
        answers.write("done\n")
        answers.flush()
        if request.get("ahead"):
            ahead |= pages
            continue
        # The run goes on with the summaries; the Data Docs are built meanwhile, before the next request is read
        # (`stop` waits for them). The tables validated ahead whose results the run took are published with it (the
        # others' content changed since: dropped).
        taken = {name: ahead.pop(name) for name in request["take_ahead"] if name in ahead}
        forget_results(ctx, [page for pages in ahead.values() for page in pages])
        ahead = {}
        publish_data_docs(ctx, site_dir, pages | taken, keep_runs=request["keep_runs"])
        save_project_template(ctx, registry)
    return 0


if __name__ == "__main__":
    status = main()
    # Everything is written by now (the answers flushed, the last Data Docs built); what is left is the interpreter
    # tearing down GX and pandas, 0.7-1.4 s that every run would wait for in `stop`.
    sys.stderr.flush()
    os._exit(status)
