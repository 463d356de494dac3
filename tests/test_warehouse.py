"""The warehouse connection's memory limit: what EGOV_MEMORY_BUDGET leaves beside what the process already holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
MB, MIB = 10**6, 2**20

# Holds 200 MB more than a bare interpreter, then opens a warehouse: prints what the process held just before (read
# from /proc/self/status, not from the code under test) and the limit DuckDB reports for the connection.
OPEN_WITH_BALLAST = """
import json, re, sys
from pathlib import Path
ballast = bytearray(200 * 10**6)
ballast[::4096] = b"x" * len(ballast[::4096])  # touched: resident, not just reserved
held = int(re.search(r"VmRSS:\\s+(\\d+) kB", Path("/proc/self/status").read_text())[1]) * 1024
from pipelines.core.warehouse import connect
con = connect(sys.argv[1])
number, unit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0].split()
print(json.dumps({"held": held, "limit": float(number) * {"MiB": 2**20, "GiB": 2**30}[unit]}))
"""


def open_with(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT), **env}
    return subprocess.run(
        [sys.executable, "-c", OPEN_WITH_BALLAST, str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env=environment,
        timeout=120,
    )


LINUX_PROC = pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="the budget reads /proc (Linux)")


@LINUX_PROC
def test_a_connection_gets_what_the_budget_leaves_beside_what_the_process_holds(tmp_path: Path):
    done = open_with(tmp_path, EGOV_MEMORY_BUDGET="800MB", EGOV_DUCKDB_MEMORY_LIMIT="900MB")
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.splitlines()[-1])
    assert got["held"] > 200 * MB  # the ballast is in
    # 800 MB − what the process held; importing the warehouse module in between adds a few tens of MB, which the
    # limit leaves out too (it is read at the open): so at most 800 MB − held, and not much below it
    assert 800 * MB - got["held"] - 120 * MB < got["limit"] <= 800 * MB - got["held"] + MIB


@LINUX_PROC
@pytest.mark.parametrize(
    ("budget", "expected"),
    [
        ("100GB", 900 * MB),  # the budget leaves more than the cap: the cap (EGOV_DUCKDB_MEMORY_LIMIT)
        ("250MB", 300 * MB),  # it leaves less than nothing: the floor, 300 MB, rather than a limit DuckDB cannot run in
    ],
)
def test_the_limit_stays_between_the_floor_and_the_cap(tmp_path: Path, budget: str, expected: int):
    done = open_with(tmp_path, EGOV_MEMORY_BUDGET=budget, EGOV_DUCKDB_MEMORY_LIMIT="900MB")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1])["limit"] == pytest.approx(expected, abs=MIB)


def test_a_budget_that_is_not_a_size_is_named_with_an_example(tmp_path: Path):
    done = open_with(tmp_path, EGOV_MEMORY_BUDGET="lots")
    assert done.returncode != 0
    assert "EGOV_MEMORY_BUDGET='lots' is not a size: write it like 1100MB" in done.stderr


def test_work_that_runs_out_of_memory_runs_again_on_one_thread_with_nothing_of_the_failed_attempt_left(tmp_path: Path):
    import duckdb

    from pipelines.core.warehouse import transaction, with_one_thread_if_out_of_memory

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("SET threads = 2; CREATE TABLE done (attempt INTEGER)")
    attempts: list[int] = []

    def work() -> int:  # on two threads it needs more than the limit (a real out-of-memory error), on one it fits
        threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
        attempts.append(threads)
        con.execute("SET memory_limit = '20MB'")
        try:
            with transaction(con):
                con.execute("INSERT INTO done VALUES (?)", [len(attempts)])
                if threads > 1:  # one group of 10M values: a list aggregate cannot spill
                    con.execute("SELECT list(i) FROM range(10000000) AS t(i)").fetchall()
        finally:
            con.execute("RESET memory_limit")
        return threads

    said: list[str] = []
    assert with_one_thread_if_out_of_memory(con, work, said.append) == 1
    assert attempts == [2, 1]
    assert con.execute("SELECT attempt FROM done").fetchall() == [(2,)]  # the failed attempt's row rolled back
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2  # the connection's threads back
    assert len(said) == 1 and "ran out of memory with 2 threads" in said[0] and "EGOV_MEMORY_BUDGET" in said[0]

    def always_too_big() -> None:
        con.execute("SET memory_limit = '20MB'")
        try:
            con.execute("SELECT list(i) FROM range(10000000) AS t(i)").fetchall()
        finally:
            con.execute("RESET memory_limit")

    with pytest.raises(duckdb.OutOfMemoryException):  # one thread is not enough either: the error is the caller's
        with_one_thread_if_out_of_memory(con, always_too_big, said.append)
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2
