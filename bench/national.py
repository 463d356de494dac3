"""National benchmark: one year of every province, in-process vs multiprocess vs celery, on the same data.

    python bench/national.py --scale 0.56 --data-root /work/benchdata      # ~10M dossiers in 2025, 34 + 29 folders

Generates the synthetic national sample for one year (`generate_national_sample`, first use only), then for each
executor rebuilds that year from a clean state (no warehouse, marts or Dagster history) with
`egov backfill --years Y --executor E` and measures the whole process tree, Celery workers included (they are
started by this script, `egov worker --concurrency 1` each, with a Redis of their own): wall time, CPU seconds
(user + system of every process of the tree, sampled from /proc every 0.2 s) and peak memory (the sum of the
tree's resident sets, same samples). Per-province step times come from the run's Dagster event log;
from the in-process ones, the wall time on 8 and 34 workers is *estimated* (longest province first onto the least
loaded worker, plus the national steps). Each executor's marts are compared with the in-process ones, table by
table (same query results). Results: bench/results/national-<scale>.json. Not part of the test run.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
NATIONAL_STEPS = ("national_rankings", "national_marts", "national_reports")


TICKS = os.sysconf("SC_CLK_TCK")


def tree_sample(root: int) -> tuple[float, dict[tuple[int, int], float], dict[int, float]]:
    """Resident memory (MB) of `root` and all its descendants, the CPU seconds each of them used so far (keyed
    by pid and start time), and each one's resident memory (MB), from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    rss_kb, cpu, by_pid, todo = 0, {}, {}, list(children.get(root, []))
    while todo:
        pid = todo.pop()
        fields = stats[pid]  # from the state on: ppid 1, utime 11, stime 12, starttime 19, rss 21 (pages)
        rss_kb += int(fields[21]) * PAGE_KB
        by_pid[pid] = int(fields[21]) * PAGE_KB / 1024
        cpu[(pid, int(fields[19]))] = (int(fields[11]) + int(fields[12])) / TICKS
        todo += children.get(pid, [])
    return rss_kb / 1024, cpu, by_pid


def _role(pid: int) -> str:
    """What a process of the tree is: the GX worker, a Celery worker, Redis, or the run (egov) itself."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "ended"
    for marker, role in (("expectations.gx_worker", "gx_worker"), ("redis", "redis"), ("worker", "celery_worker")):
        if marker in command:
            return role
    return "run"


class TreeMonitor:
    """Samples this process's descendants every 0.2 s: the peak of their summed resident memory, and the CPU
    seconds of every descendant as last seen (a process that ends between two samples loses at most 0.2 s; Celery
    workers are not reaped by us, so the kernel's children accounting would miss them)."""

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self.at_peak_mb: dict[str, float] = {}  # by role (`_role`), at the instant of the tree's peak
        self.peak_by_role_mb: dict[str, float] = {}  # each role's own peak (one process of it at a time)
        self._roles: dict[int, str] = {}
        self.cpu: dict[tuple[int, int], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            rss, cpu, by_pid = tree_sample(os.getpid())
            roles: dict[str, float] = {}
            for pid, mb in by_pid.items():
                role = self._roles.setdefault(pid, _role(pid))
                roles[role] = roles.get(role, 0.0) + mb
                self.peak_by_role_mb[role] = max(self.peak_by_role_mb.get(role, 0.0), mb)
            if rss > self.peak_mb:
                self.peak_mb, self.at_peak_mb = rss, roles
            self.cpu.update(cpu)

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    def __enter__(self) -> TreeMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean(data: Path) -> None:
    """Back to raw files only: no warehouse, marts, quality results (GX would reuse them) or Dagster history, for the
    nation and every province."""
    for folder in [data, *sorted((data / "provinces").iterdir())]:
        for name in ("warehouse", "marts", "quality", "dagster_home"):
            shutil.rmtree(folder / name, ignore_errors=True)


def egov(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "egov"), *args]


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_executor(data: Path, year: int, executor: str, workers: int, log: Path) -> dict:
    clean(data)
    env = {**os.environ, "EGOV_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    command = egov("backfill", "--years", str(year), "--executor", executor)
    helpers: list[subprocess.Popen] = []
    cpu_before, started = children_cpu_s(), time.monotonic()
    with TreeMonitor() as monitor, log.open("w") as out:
        try:
            if executor == "multiprocess":
                command += ["--workers", str(workers)]
            if executor == "celery":
                broker = f"redis://127.0.0.1:{free_port()}/0"
                command += ["--broker", broker]
                helpers.append(
                    subprocess.Popen(
                        [
                            "redis-server",
                            "--port",
                            broker.split(":")[2].split("/")[0],
                            "--save",
                            "",
                            "--appendonly",
                            "no",
                        ],
                        stdout=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                )
                for n in range(workers):
                    helpers.append(
                        subprocess.Popen(
                            egov("worker", "--broker", broker, "--concurrency", "1", "--name", f"w{n + 1}"),
                            env=env,
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            start_new_session=True,
                        )
                    )
                time.sleep(1)
            done = subprocess.run(
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
            )
            while executor == "celery" and "No Celery worker answers" in done.stdout:  # workers still starting
                time.sleep(2)
                done = subprocess.run(
                    command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
                )
            out.write(done.stdout)
        finally:
            for process in reversed(helpers):
                stop(process)
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"{executor}: {' '.join(command)} failed, see {log}")
    run_id = re.findall(r"Dagster run ([0-9a-f-]{36})", done.stdout)[-1]
    steps = json.loads(
        subprocess.run(
            [sys.executable, str(HERE / "steps.py"), run_id],
            env=env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout
    )
    return {
        "executor": executor,
        "workers": 1 if executor == "in_process" else workers,
        "wall_s": round(wall, 1),
        "cpu_s": round(monitor.cpu_s, 1),
        "cpu_s_reaped_children": round(children_cpu_s() - cpu_before, 1),
        "peak_rss_mb": round(monitor.peak_mb),
        "peak_rss_at_peak_by_role_mb": {role: round(mb) for role, mb in monitor.at_peak_mb.items()},
        "peak_rss_by_role_mb": {role: round(mb) for role, mb in monitor.peak_by_role_mb.items()},
        "run_id": run_id,
        "steps": steps,
        "marts": marts_digest(data / "marts" / "egov.duckdb"),
    }


def marts_digest(path: Path) -> dict[str, str]:
    """A digest of every table's rows in a fixed order: equal digests, equal query results."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {
            t: hashlib.sha256(repr(con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall()).encode()).hexdigest()[
                :16
            ]
            for t in tables
        }
    finally:
        con.close()


def count_dossiers(data: Path, year: int) -> int:
    """Dossiers of `year` in every province folder (the generator writes Parquet at this size, CSV when small)."""
    import duckdb

    folders = f"{data}/provinces/*/raw/dossiers/{year}/*"
    count = 0
    for reader, pattern in (("read_parquet", "*.parquet"), ("read_csv", "*.csv")):
        if list(data.glob(f"provinces/*/raw/dossiers/{year}/*/{pattern}")):
            count += duckdb.sql(f"SELECT count(*) FROM {reader}('{folders}/{pattern}')").fetchall()[0][0]
    return count


def estimate(province_s: list[float], national_s: float, workers: int) -> float:
    """Makespan of the province steps on `workers` (longest first, onto the least loaded), plus the national
    steps that follow them: an estimate, assuming each worker runs a province as fast as one process did here."""
    loads = [0.0] * workers
    for seconds in sorted(province_s, reverse=True):
        heapq.heapreplace(loads, loads[0] + seconds)
    return max(loads) + national_s


def summarise(scale: float, year: int, dossiers: int, results: list[dict]) -> dict:
    """The report: each executor's figures, whether its marts equal the first executor's, and the estimate for 8
    and 34 workers from the first executor's per-province step times."""
    for result in results:
        result["marts_equal_to_first"] = result["marts"] == results[0]["marts"]
    first = results[0]["steps"]
    province_s = [s for k, s in first.items() if k.startswith("province_results.province_pipeline[")]
    national_s = sum(first.get(k, 0.0) for k in NATIONAL_STEPS)
    return {
        "scale": scale,
        "year": year,
        "dossiers": dossiers,
        "provinces": len(province_s),
        "province_step_s": {"sum": round(sum(province_s), 1), "max": max(province_s, default=0.0)},
        "national_steps_s": round(national_s, 1),
        "results": results,
        "estimate_from": results[0]["executor"],
        "estimate_s": {n: round(estimate(province_s, national_s, n), 1) for n in (2, 8, 34)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.56, help="0.56: ~10M dossiers in the year (default)")
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/egov-bench-national"))
    parser.add_argument("--executors", default="in_process,multiprocess,celery")
    parser.add_argument("--workers", type=int, default=2, help="multiprocess and celery workers (default 2)")
    args = parser.parse_args()

    data = args.data_root / f"national-{args.scale}"
    if not (data / "provinces").is_dir():
        from pipelines.sample.national import generate_national_sample

        print(f"== generating the national sample at scale {args.scale} for {args.year} in {data}", flush=True)
        generate_national_sample(
            data, scale=args.scale, first_year=args.year, last_year=args.year, progress=lambda m: print(m, flush=True)
        )
    dossiers = count_dossiers(data, args.year)
    print(f"== {dossiers:,} dossiers in {args.year}", flush=True)
    out = HERE / "results" / f"national-{args.scale}.json"
    results: list[dict] = []
    for executor in args.executors.split(","):
        print(f"== {executor}", flush=True)
        result = run_executor(data, args.year, executor, args.workers, args.data_root / f"{executor}.log")
        print(
            f"   wall {result['wall_s']} s, CPU {result['cpu_s']} s, peak RSS {result['peak_rss_mb']} MB "
            f"(then: {result['peak_rss_at_peak_by_role_mb']}; each role's own peak: {result['peak_rss_by_role_mb']})",
            flush=True,
        )
        results.append(result)
        report = summarise(args.scale, args.year, dossiers, results)
        out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")  # after each executor
    print(json.dumps({k: v for k, v in report.items() if k != "results"}, indent=2))
    print(f"== written {out}")


if __name__ == "__main__":
    main()
