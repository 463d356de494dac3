"""Great Expectations in a process of its own, started as soon as a run knows it will validate something.

Importing GX and opening its project and checkpoints takes seconds of one core, all at the very end of a run
(`data_quality`). The staging checks know, right after ingestion, whether a staged table changed; they `start()`
this worker, which gets GX ready while indicators, scores and reports use the other core, then waits.
`data_quality` hands it the frames to validate (pickled to a private temporary directory) and reads back the same
summaries `validate_in_process` returns; the blocking `critical_expectations_pass` check is built from them, so GX
still gates the publish. A process, not a thread: GX would compete for the GIL (measurements: docs/benchmarks.md).
When no worker runs (another executor, a test, a worker that failed, `EGOV_GX_WORKER=0`), `validate()` returns
None and the caller validates in its own process.

    python -m expectations.gx_worker <site_dir> <data_dir>   # reads one request (JSON line) on stdin, writes its result
"""

from __future__ import annotations

import atexit
import json
import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

_worker: subprocess.Popen | None = None
_workdir: tempfile.TemporaryDirectory | None = None


def start(site_dir: Path, data_dir: Path) -> None:
    """Start the worker (once per process) so that GX is imported, its project under `site_dir.parent` opened and
    every suite's checkpoint loaded by the time `data_quality` needs them. `data_dir`: the run's data directory,
    whose registry (agency groups, class labels) the suites are built from."""
    global _worker, _workdir
    if (_worker is not None and _worker.poll() is None) or os.environ.get("EGOV_GX_WORKER") == "0":
        return
    _workdir = tempfile.TemporaryDirectory(prefix="egov-gx-")
    _worker = subprocess.Popen(
        [sys.executable, "-m", "expectations.gx_worker", str(site_dir), str(data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    atexit.register(stop)


def running() -> bool:
    return _worker is not None and _worker.poll() is None


def validate(
    frames: dict[str, pd.DataFrame], site_dir: Path, run_name: str | None, keep_runs: int | None = None
) -> dict[str, Any] | None:
    """The worker's `validate_in_process(frames, site_dir, run_name=..., keep_runs=...)`, or None when there is no
    worker, it was started for another Data Docs site, or it failed."""
    if not running() or _workdir is None or Path(_worker.args[-2]).resolve() != Path(site_dir).resolve():
        return None
    work = Path(_workdir.name)
    paths = {}
    for i, (name, frame) in enumerate(frames.items()):
        paths[name] = str(work / f"{i}.pkl")
        frame.to_pickle(paths[name])
    out = work / "result.json"
    request = {"frames": paths, "run_name": run_name, "keep_runs": keep_runs, "out": str(out)}
    try:
        _worker.stdin.write(json.dumps(request) + "\n")
        _worker.stdin.close()
        _worker.wait()
    except (BrokenPipeError, OSError):
        stop()
        return None
    result = json.loads(out.read_text()) if _worker.returncode == 0 and out.exists() else None
    stop()
    return result


def stop() -> None:
    """End the worker (it exits by itself after one request) and remove its files."""
    global _worker, _workdir
    if _worker is not None and _worker.poll() is None:
        _worker.kill()
        _worker.wait()
    _worker = None
    if _workdir is not None:
        _workdir.cleanup()
        _workdir = None


def main(site_dir: Path, data_dir: Path) -> int:
    import great_expectations as gx

    from expectations.gx_runner import gx_context, prepared_checkpoint, save_project_template, validate_in_process
    from expectations.suites import MART_SUITES, STAGING_SUITES
    from pipelines.core.registry import load_registry

    registry = load_registry(data_dir)

    # The slow part of a first validation, done while the run computes: the import, the project, the checkpoints.
    ctx = gx_context(site_dir, registry)
    for name in (*STAGING_SUITES, *MART_SUITES):
        prepared_checkpoint(ctx, name, gx, registry)
    save_project_template(ctx, registry)

    line = sys.stdin.readline()
    if not line.strip():
        return 0  # nothing to validate after all
    request = json.loads(line)
    frames = {}
    for name, path in request["frames"].items():
        with open(path, "rb") as fh:
            frames[name] = pickle.load(fh)  # written by our own run, in our own temporary directory
    results = validate_in_process(
        frames, site_dir, run_name=request["run_name"], keep_runs=request["keep_runs"], registry=registry
    )
    Path(request["out"]).write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
