"""`dagster dev -m pipelines.definitions` serves the assets with their year partitions, the schedule and sensor."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.core.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow  # starts `dagster dev`


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def restore_signals() -> None:  # background processes here inherit ignored SIGINT/SIGTERM (STACK_NOTES)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_dagster_dev_shows_partitioned_assets_schedule_and_sensor(data_dir: Path):
    port = free_port()
    dagster = str(Path(sys.executable).parent / "dagster")
    server = subprocess.Popen(
        [dagster, "dev", "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=restore_signals,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 90
        while True:
            try:
                nodes = graphql(port, "{ assetNodes { assetKey { path } isPartitioned } }")["assetNodes"]
                break
            except (OSError, TypeError, KeyError):
                assert time.time() < deadline, "dagster dev did not come up in 90 s"
                time.sleep(1)
        partitioned = {n["assetKey"]["path"][0]: n["isPartitioned"] for n in nodes}
        assert partitioned["stg_dossiers"] and partitioned["rankings"] and partitioned["indicator_values"]
        assert partitioned["stg_agencies"] is False and partitioned["marts"] is False
        repo = graphql(
            port,
            "{ repositoriesOrError { ... on RepositoryConnection { nodes { schedules { name } sensors { name } } } } }",
        )["repositoriesOrError"]["nodes"][0]
        assert sorted(s["name"] for s in repo["schedules"]) == ["nightly_current_year", "nightly_national"]
        assert sorted(s["name"] for s in repo["sensors"]) == [
            "other_years_sensor",
            "province_folders_sensor",
            "raw_files_sensor",
        ]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
