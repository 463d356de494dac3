"""`egov ui` and `egov worker`: the Dagster web UI and daemon, a Celery worker, supervised so that Ctrl-C stops
them cleanly."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipelines.cli.console import EXIT_FAILED, EXIT_OK, _say
from pipelines.cli.instance import ensure_dagster_home
from pipelines.core import settings

UI_STOP_GRACE_SECONDS = 5.0  # after Ctrl-C, how long `egov ui` lets the webserver and daemon exit before killing


def dagster_command() -> str:
    """`dagster` of this environment: .venv/bin is usually not on PATH when `./egov` is used."""
    beside = Path(sys.executable).parent / "dagster"
    return str(beside) if beside.exists() else "dagster"


def cmd_ui(args: argparse.Namespace) -> int:
    """Run `dagster dev` in its own process group and stop all of it on the first Ctrl-C (or SIGTERM)."""
    home = ensure_dagster_home(settings.data_dir())
    _say(f"== Dagster UI on http://127.0.0.1:{args.port} (runs in {home}); Ctrl-C to stop ==")
    command = [dagster_command(), "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(args.port)]
    # Started from a background shell, a child inherits ignored SIGINT/SIGTERM: restore the defaults in it.
    child = subprocess.Popen(command, start_new_session=True, preexec_fn=_default_signals)
    stop_requested: list[float] = []

    def stop(_signum: int, _frame: object) -> None:
        if stop_requested:  # a second Ctrl-C: no more waiting
            _signal_group(child, signal.SIGKILL)
            return
        stop_requested.append(time.monotonic())
        _say("== Stopping the Dagster UI and daemon ==")
        _signal_group(child, signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while True:
        try:
            code = child.wait(timeout=0.5)
            break
        except subprocess.TimeoutExpired:
            if stop_requested and time.monotonic() - stop_requested[0] > UI_STOP_GRACE_SECONDS:
                _signal_group(child, signal.SIGKILL)
    _signal_group(child, signal.SIGKILL)  # whatever of the group outlived dagster dev
    return EXIT_OK if stop_requested or code == 0 else EXIT_FAILED


def cmd_worker(args: argparse.Namespace) -> int:
    """A Celery worker for national runs with `--executor celery` (dagster-celery's worker, our broker config)."""
    home = ensure_dagster_home(settings.data_dir())
    config = home / "celery.yaml"
    config.write_text(
        f"execution:\n  config:\n    broker: {args.broker}\n    backend: {args.broker}\n", encoding="utf-8"
    )
    bin_dir = Path(sys.executable).parent
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"  # dagster-celery runs `celery`
    name = ["-n", args.name] if args.name else []
    command = [
        str(bin_dir / "dagster-celery"),
        "worker",
        "start",
        *name,
        "-A",
        "dagster_celery.app",
        "-y",
        str(config),
        "--",
        f"--concurrency={args.concurrency}",
    ]
    _say(f"== Celery worker on {args.broker} (data: {settings.data_dir()}, runs: {home}); Ctrl-C to stop ==")
    return subprocess.call(command)


def _signal_group(child: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)


def _default_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
