"""Great Expectations in a process of its own, started as soon as a run knows it will validate something, and kept
for the process's next runs.

Importing GX and opening its project and checkpoints takes seconds of one core, all at the very end of a run
(`data_quality`). The staging checks know, right after ingestion, whether a staged table changed; they `start()`
this worker, which gets GX ready while indicators, scores and reports use the other core, then waits.
`data_quality` hands it the frames to validate (pickled to a private temporary directory) and reads back the same
summaries `validate_in_process` returns; the blocking `critical_expectations_pass` check is built from them, so GX
still gates the publish. A process, not a thread: GX would compete for the GIL (measurements: docs/benchmarks.md).
The worker then waits for the next run of the same process: a national run validates each province in turn
(`start()` asks it to prepare the next province's project), so GX is imported once per process, not once per
province. When no worker runs (another executor, a test, a worker that failed, `EGOV_GX_WORKER=0`), `validate()`
returns None and the caller validates in its own process.

    python -m expectations.gx_worker   # reads requests (JSON lines) on stdin, answers each validation on stdout
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
_site: Path | None = None  # the Data Docs site the worker was last asked to prepare


def start(site_dir: Path, data_dir: Path) -> None:
    """Have the worker prepare `site_dir`'s project (GX imported, the project under `site_dir.parent` opened, every
    suite's checkpoint loaded) by the time `data_quality` needs it, starting the worker if this process has none.
    `data_dir`: the run's data directory, whose registry (agency groups, class labels) the suites are built from."""
    global _worker, _workdir, _site
    if os.environ.get("EGOV_GX_WORKER") == "0":
        return
    if not running():
        stop()
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


def _send(request: dict[str, Any]) -> bool:
    """Write one request line to the worker; False (and the worker stopped) when it is gone."""
    try:
        _worker.stdin.write(json.dumps(request) + "\n")
        _worker.stdin.flush()
    except (AttributeError, BrokenPipeError, OSError):
        stop()
        return False
    return True


def validate(
    frames: dict[str, pd.DataFrame], site_dir: Path, run_name: str | None, keep_runs: int | None = None
) -> dict[str, Any] | None:
    """The worker's `validate_in_process(frames, site_dir, run_name=..., keep_runs=...)`, or None when there is no
    worker, it was last prepared for another Data Docs site, or it failed (it is then stopped)."""
    if not running() or _workdir is None or _site != Path(site_dir).resolve():
        return None
    work = Path(_workdir.name)
    paths = {}
    for i, (name, frame) in enumerate(frames.items()):
        paths[name] = str(work / f"{i}.pkl")
        frame.to_pickle(paths[name])
    out = work / "result.json"
    out.unlink(missing_ok=True)
    request = {"frames": paths, "run_name": run_name, "keep_runs": keep_runs, "out": str(out)}
    answer = _worker.stdout.readline() if _send(request) else ""
    for path in paths.values():
        Path(path).unlink(missing_ok=True)
    if answer.strip() != "done" or not out.exists():
        stop()
        return None
    return json.loads(out.read_text())


def stop() -> None:
    """End the worker and remove its files (at the latest when the process exits)."""
    global _worker, _workdir, _site
    if _worker is not None and _worker.poll() is None:
        _worker.kill()
        _worker.wait()
    if _worker is not None:
        for pipe in (_worker.stdin, _worker.stdout):
            if pipe is not None:
                pipe.close()
    _worker, _site = None, None
    if _workdir is not None:
        _workdir.cleanup()
        _workdir = None


def main() -> int:
    import great_expectations as gx

    from expectations.gx_runner import gx_context, prepared_checkpoint, save_project_template, validate_in_process
    from expectations.suites import MART_SUITES, STAGING_SUITES
    from pipelines.core.registry import load_registry

    answers = os.fdopen(os.dup(1), "w")  # the answers' channel; whatever GX prints goes to /dev/null
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    site_dir, registry = None, None
    for line in sys.stdin:
        request = json.loads(line)
        if "prepare" in request:
            # The slow part of a first validation, done while the run computes: the import (once), the project,
            # the checkpoints.
            site_dir, registry = Path(request["prepare"]), load_registry(Path(request["data_dir"]))
            ctx = gx_context(site_dir, registry)
            for name in (*STAGING_SUITES, *MART_SUITES):
                prepared_checkpoint(ctx, name, gx, registry)
            save_project_template(ctx, registry)
            continue
        frames = {}
        for name, path in request["frames"].items():
            with open(path, "rb") as fh:
                frames[name] = pickle.load(fh)  # written by our own run, in our own temporary directory
        results = validate_in_process(
            frames, site_dir, run_name=request["run_name"], keep_runs=request["keep_runs"], registry=registry
        )
        Path(request["out"]).write_text(json.dumps(results))
        answers.write("done\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
