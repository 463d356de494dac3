"""Benchmark harness: the whole pipeline against bare DuckDB, pandas and Polars on the same dossier files.

    python bench/run.py --dossiers 1000000 --repeat 3                      # results in bench/out/
    python bench/run.py --dossiers 10000000 --repeat 3 --incremental --data-root /work/benchdata
    python bench/run.py --dossiers 100000000 --repeat 1 --data-root /work/benchdata

Generation streams (the sample generator writes at most CHUNK_ROWS dossiers at a time, monthly files). Each
contender runs in its own process tree under /usr/bin/time -v (wall time, peak RSS; each process's peak is sampled
from /proc beside it: the run's own and its GX worker's, and the run's own in each step); medians over --repeat
runs.
The baselines do what a capable analyst would: read one year's monthly dossier files and compute the per-agency
dossier indicators (accepted, online, on time, paid online, digitised). The pipeline does everything (ingest with
contracts and quarantine, indicators, scores, rankings, data quality, marts publish); its per-step durations are
read from the event log of its Dagster run (a persistent DAGSTER_HOME next to the data). `--incremental` then adds
one new day of dossiers (a new file in the last month's folder) on top of the full run and times `egov run`.
Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
YEAR = 2024
# The generator draws ~300k × scale × 1.2 dossiers for 2024 (its volume grows to 1.2× by 2024).
DOSSIERS_PER_SCALE_2024 = 360_000
# pandas holds every field as a Python string: ~0.55 GB per million dossiers (measured: 5.3 GB at 9.8M).
PANDAS_GB_PER_MILLION = 0.55

# The typed load shared by "duckdb_typed" and "duckdb_load": argv[1] the files, argv[2] typed_schema()'s JSON. No
# auto-detection: the columns are named and typed as the contract stages them; the personal ones are not kept.
TYPED_LOAD = """
import duckdb, json, os, sys, tempfile
schema = json.loads(sys.argv[2])
target = os.path.join(tempfile.mkdtemp(dir=os.environ.get('EGOV_DATA_DIR')), 'typed.duckdb')
con = duckdb.connect(target)
con.execute("SET memory_limit = ?", [schema['memory_limit']])
columns = ', '.join(f"'{name}': '{kind}'" for name, kind in schema['columns'].items())
dropped = f"EXCLUDE ({', '.join(schema['personal'])})" if schema['personal'] else ''
con.execute(f'''
    CREATE TABLE dossiers AS
    SELECT * {dropped}
    FROM read_csv('{sys.argv[1]}', header=true, auto_detect=false, timestampformat='%Y%m%d%H%M%S',
                  store_rejects=true, columns={{{columns}}})''')
con.execute('CHECKPOINT')
"""
TYPED_CLEANUP = """
con.close()
os.remove(target)
os.rmdir(os.path.dirname(target))
"""
TYPED_BASELINES = ("duckdb_typed", "duckdb_load")

BASELINES = {
    "duckdb": """
import duckdb, sys
con = duckdb.connect()
files = sys.argv[1]
print(con.sql(f'''
    SELECT DonViXuLy, count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3)) AS accepted,
           count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND KenhThucHien = 2) AS online,
           count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10)) AS processed,
           count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10)
               AND strptime(NgayKetThucXuLy, '%Y%m%d%H%M%S') <= strptime(NgayHenTra, '%Y%m%d%H%M%S')) AS on_time,
           count(*) FILTER (WHERE LePhi > 0 AND DuocThanhToanTrucTuyen IN (1, 2)) AS paid_online,
           count(*) FILTER (WHERE HoSoCoThanhPhanSoHoa = 1) AS digitised
    FROM read_csv('{files}', types={{'NgayKetThucXuLy': 'VARCHAR', 'NgayHenTra': 'VARCHAR',
                                     'NgayTiepNhan': 'VARCHAR', 'NgayTra': 'VARCHAR'}})
    GROUP BY ALL''').fetchall().__len__())
""",
    # The typed table an analyst would keep: the contract's schema (typed_schema: codes as text, dates as timestamps)
    # written into a DuckDB file (compressed, checkpointed), then the same aggregation from that table. The least the
    # pipeline's ingest does, without contracts, quarantine, line numbers or duplicate search.
    "duckdb_typed": TYPED_LOAD
    + """
print(len(con.sql('''
    SELECT DonViXuLy, count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3)) AS accepted,
           count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND KenhThucHien = 2) AS online,
           count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10)) AS processed,
           count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10) AND NgayKetThucXuLy <= NgayHenTra) AS on_time,
           count(*) FILTER (WHERE LePhi > 0 AND DuocThanhToanTrucTuyen IN (1, 2)) AS paid_online,
           count(*) FILTER (WHERE HoSoCoThanhPhanSoHoa = 1) AS digitised
    FROM dossiers GROUP BY ALL''').fetchall()))
"""
    + TYPED_CLEANUP,
    # Issue 29's baseline for the ingest: only the typed CREATE TABLE … AS SELECT of "duckdb_typed" (and its
    # checkpoint), with the pipeline's memory limit and DuckDB's default threads; `stg_dossiers` is compared with it.
    "duckdb_load": TYPED_LOAD + TYPED_CLEANUP,
    # The aggregation of "duckdb" on the Parquet copy of the dossier files (typed columns: no text parsing).
    "duckdb_parquet": """
import duckdb, sys
con = duckdb.connect()
print(len(con.sql(f'''
    SELECT DonViXuLy, count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3)) AS accepted,
           count(*) FILTER (WHERE TrangThaiHoSo NOT IN (1, 3) AND KenhThucHien = 2) AS online,
           count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10)) AS processed,
           count(*) FILTER (WHERE TrangThaiHoSo IN (9, 10) AND NgayKetThucXuLy <= NgayHenTra) AS on_time,
           count(*) FILTER (WHERE LePhi > 0 AND DuocThanhToanTrucTuyen IN (1, 2)) AS paid_online,
           count(*) FILTER (WHERE HoSoCoThanhPhanSoHoa = 1) AS digitised
    FROM read_parquet('{sys.argv[1]}')
    GROUP BY ALL''').fetchall()))
""",
    "polars": """
import polars as pl, sys
fmt = '%Y%m%d%H%M%S'
df = pl.scan_csv(sys.argv[1], infer_schema_length=0).with_columns(
    pl.col('TrangThaiHoSo').cast(pl.Int32), pl.col('KenhThucHien').cast(pl.Int32, strict=False),
    pl.col('LePhi').cast(pl.Int64, strict=False), pl.col('DuocThanhToanTrucTuyen').cast(pl.Int32, strict=False),
    pl.col('HoSoCoThanhPhanSoHoa').cast(pl.Int32, strict=False),
    pl.col('NgayKetThucXuLy').str.strptime(pl.Datetime, fmt, strict=False),
    pl.col('NgayHenTra').str.strptime(pl.Datetime, fmt, strict=False))
accepted = ~pl.col('TrangThaiHoSo').is_in([1, 3])
processed = pl.col('TrangThaiHoSo').is_in([9, 10])
out = df.group_by('DonViXuLy').agg(
    accepted.sum().alias('accepted'), (accepted & (pl.col('KenhThucHien') == 2)).sum().alias('online'),
    processed.sum().alias('processed'),
    (processed & (pl.col('NgayKetThucXuLy') <= pl.col('NgayHenTra'))).sum().alias('on_time'),
    ((pl.col('LePhi') > 0) & pl.col('DuocThanhToanTrucTuyen').is_in([1, 2])).sum().alias('paid_online'),
    (pl.col('HoSoCoThanhPhanSoHoa') == 1).sum().alias('digitised')).collect()
print(out.height)
""",
    "pandas": """
import glob, pandas as pd, sys
frames = [pd.read_csv(f, dtype=str, keep_default_na=False) for f in sorted(glob.glob(sys.argv[1]))]
df = pd.concat(frames, ignore_index=True)
status = pd.to_numeric(df['TrangThaiHoSo'])
channel = pd.to_numeric(df['KenhThucHien'], errors='coerce')
fee = pd.to_numeric(df['LePhi'], errors='coerce')
paid = pd.to_numeric(df['DuocThanhToanTrucTuyen'], errors='coerce')
finished = pd.to_datetime(df['NgayKetThucXuLy'], format='%Y%m%d%H%M%S', errors='coerce')
due = pd.to_datetime(df['NgayHenTra'], format='%Y%m%d%H%M%S', errors='coerce')
accepted = ~status.isin([1, 3])
processed = status.isin([9, 10])
flags = pd.DataFrame({'agency': df['DonViXuLy'], 'accepted': accepted, 'online': accepted & (channel == 2),
                      'processed': processed, 'on_time': processed & (finished <= due),
                      'paid_online': (fee > 0) & paid.isin([1, 2]),
                      'digitised': df['HoSoCoThanhPhanSoHoa'] == '1'})
print(len(flags.groupby('agency').sum()))
""",
}


def typed_schema(files: str) -> str:
    """The dossier files' header typed as the contract stages each column (config/sources.yaml through
    pipelines/core/staging.py), the personal columns named to be dropped, and the pipeline's memory limit; as JSON,
    the typed baselines' second argument."""
    from glob import glob

    from pipelines.core.registry.sources import load_sources
    from pipelines.core.staging import SQL_TYPES
    from pipelines.core.warehouse import MEMORY_LIMIT

    contract = next(c for c in load_sources().values() if c.table == "stg_dossiers")
    with Path(sorted(glob(files))[0]).open(encoding="utf-8-sig") as first:
        header = first.readline().strip().split(",")
    columns = {c.name: c for c in contract.columns}
    unknown = [name for name in header if name not in columns]
    if unknown:
        raise SystemExit(f"{files}: columns not in the dossier contract: {', '.join(unknown)}")
    return json.dumps(
        {
            "columns": {name: SQL_TYPES[columns[name].type] for name in header},
            "personal": [name for name in header if columns[name].personal],
            "memory_limit": MEMORY_LIMIT,
        }
    )


def _process_label(argv: list[bytes]) -> str:
    """A process by what it runs: `egov`, `gx_worker` (python -m expectations.gx_worker), else its program's name."""
    args = [a.decode(errors="replace") for a in argv if a]
    if "-m" in args[:-1]:
        return args[args.index("-m") + 1].rsplit(".", 1)[-1]
    if "-c" in args[:2]:
        return "python -c"  # a baseline's script
    program = Path(args[0]).name if args else "?"
    return Path(args[1]).name if program.startswith("python") and len(args) > 1 else program


def _sample_tree(root: int, peaks: dict[str, int], timeline: list[tuple[float, int]], stop: threading.Event) -> None:
    """Every 0.2 s until `stop`, the RSS of each process under `root` (/proc): the peak per process label, so that a
    run's peak says which process holds it (the run's own, or its GX worker; GNU time gives only the largest), and
    the `egov` process's (time, MB) in `timeline`, which `peak_by_step` lays over the run's steps."""
    page = os.sysconf("SC_PAGE_SIZE")
    while not stop.is_set():
        now = time.time()
        pending = [root]
        while pending:
            pid = pending.pop()
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    pending += [int(c) for c in Path(f"/proc/{pid}/task/{task}/children").read_text().split()]
                rss_mb = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page // 2**20
                label = _process_label(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0"))
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile
            peaks[label] = max(peaks.get(label, 0), rss_mb)
            if label == "egov":
                timeline.append((now, rss_mb))
        stop.wait(0.2)


def timed(command: list[str], env: dict[str, str]) -> dict:
    """Wall seconds and peak RSS (MB) of one process tree, from GNU time, and the peak of each of its processes
    (sampled, `peak_rss_by_process_mb`: those of 50 MB or more); the run id if it is a pipeline run."""
    child = subprocess.Popen(
        ["/usr/bin/time", "-v", *command],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    peaks: dict[str, int] = {}
    timeline: list[tuple[float, int]] = []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample_tree, args=(child.pid, peaks, timeline, stop), daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    stop.set()
    sampler.join()
    done = subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", done.stderr).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", done.stderr).group(1))
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    out = {
        "wall_s": round(hours * 3600 + minutes * 60 + seconds, 2),
        "peak_rss_mb": round(int(rss.group(1)) / 1024),
        "cpu_s": round(user + system, 2),
        "peak_rss_by_process_mb": dict(sorted(((k, v) for k, v in peaks.items() if v >= 50), key=lambda kv: -kv[1])),
    }
    run_id = re.search(r"Dagster run ([0-9a-f-]{36})", done.stdout)
    if run_id:
        out["run_id"] = run_id.group(1)
        out["peak_rss_by_step_mb"] = peak_by_step(timeline, run_id.group(1), env)
    return out


def top_steps(run: dict, shown: int = 3) -> str:
    """The steps where the run's own process peaked, for the progress line."""
    return ", ".join(f"{step} {mb} MB" for step, mb in list(run.get("peak_rss_by_step_mb", {}).items())[:shown])


def peak_by_step(timeline: list[tuple[float, int]], run_id: str, env: dict[str, str]) -> dict[str, int]:
    """The run's own process's highest sampled RSS within each step's span (in-process steps), highest first: which
    step holds a run's peak."""
    done = subprocess.run(
        [sys.executable, str(HERE / "steps.py"), run_id, "--spans"],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    peaks = {
        step: max((mb for t, mb in timeline if start <= t <= end), default=0)
        for step, (start, end) in json.loads(done.stdout).items()
    }
    return dict(sorted(peaks.items(), key=lambda kv: -kv[1]))


def steps_of(run_id: str, env: dict[str, str]) -> dict[str, float]:
    """Per-step seconds of a pipeline run, read from its Dagster instance in a separate (untimed) process."""
    done = subprocess.run(
        [sys.executable, str(HERE / "steps.py"), run_id], env=env, capture_output=True, text=True, cwd=ROOT, check=True
    )
    return json.loads(done.stdout)


def median_steps(runs: list[dict]) -> dict[str, float]:
    names = [n for n in runs[0]["steps"]]
    return {n: round(statistics.median(r["steps"].get(n, 0.0) for r in runs), 2) for n in names}


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for package in ("duckdb", "polars", "pandas", "dagster", "great-expectations", "pyarrow", "numpy"):
        out[package] = version(package)
    return out


def machine() -> dict[str, object]:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(total_kb / 2**20, 1),
        "cpu": model.group(1) if model else "",
        "kernel": platform.release(),
    }


def generate(data: Path, dossiers: int, fmt: str, env: dict[str, str]) -> dict:
    print(f"== generating {dossiers:,} dossiers for {YEAR} ({fmt}, monthly files) into {data / 'raw'} ==", flush=True)
    scale = dossiers / DOSSIERS_PER_SCALE_2024
    result = timed(
        [
            sys.executable,
            "-c",
            (
                "import json; from pathlib import Path; from datetime import date; "
                "from pipelines.sample.synthetic import "
                f"generate_sample_province as g; m = g(Path({str(data / 'raw')!r}), scale={scale},"
                f" first_year={YEAR}, last_year={YEAR}, through=date({YEAR}, 12, 31), dossier_format={fmt!r});"
                " print(json.dumps(m['dossiers_per_year']))"
            ),
        ],
        env,
    )
    manifest = json.loads((data / "sample_manifest.json").read_text())
    result["dossiers"] = manifest["dossiers_per_year"][str(YEAR)]
    result["disk_mb"] = round(sum(p.stat().st_size for p in (data / "raw").rglob("*") if p.is_file()) / 2**20)
    print(f"   {result}", flush=True)
    (data / "generation.json").write_text(json.dumps(result))
    return result


PARQUET_SCRIPT = """
import duckdb, pathlib, sys
source, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
con = duckdb.connect()
con.execute("SET memory_limit = '2GB'")
for csv in sorted(source.rglob('*.csv')):
    out = target / csv.relative_to(source).with_suffix('.parquet')
    out.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f'''
        COPY (SELECT * FROM read_csv('{csv}', header=true, timestampformat='%Y%m%d%H%M%S',
                                     types={{'MaHoSo': 'VARCHAR', 'MaTTHC': 'VARCHAR', 'DonViXuLy': 'VARCHAR',
                                             'SoGiayTo': 'VARCHAR', 'SoDienThoai': 'VARCHAR'}}))
        TO '{out}' (FORMAT parquet, COMPRESSION zstd)''')
"""


def parquet_copy(data: Path, env: dict[str, str]) -> Path:
    """`<data>-parquet`: the same raw files with the dossier files converted to typed Parquet (untimed, once).

    Codes and personal columns stay text, dates become timestamps and numbers integers, as a portal export to
    Parquet would hold them; the other sources are copied as they are.
    """
    target = data.parent / f"{data.name}-parquet"
    if (target / "converted").exists():
        return target
    print(f"== converting the dossier files to Parquet into {target / 'raw'} ==", flush=True)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(data / "raw", target / "raw", ignore=shutil.ignore_patterns("dossiers"))
    subprocess.run(
        [sys.executable, "-c", PARQUET_SCRIPT, str(data / "raw" / "dossiers"), str(target / "raw" / "dossiers")],
        env=env,
        check=True,
    )
    (target / "converted").write_text("")
    return target


def incremental(data: Path, dossiers: int, fmt: str, repeat: int, env: dict[str, str], egov: str) -> dict:
    """One new day of dossiers on top of the full run's history: `egov run --year` again, timed."""
    from pipelines.sample.synthetic import write_dossier_day

    per_day = round(dossiers / 366)
    runs, unchanged = [], []
    run = [egov, "run", "--year", str(YEAR)]
    for i in range(repeat):
        unchanged.append(timed(run, env))  # nothing new: the same files as the last run
        print(f"incremental: rerun with nothing new {i + 1}: {unchanged[-1]}", flush=True)
        path = write_dossier_day(data / "raw", YEAR, 12, 31, per_day, dossier_format=fmt)
        result = timed(run, env)
        result["steps"] = steps_of(result["run_id"], env)
        runs.append(result)
        print(
            f"incremental: one new day ({per_day:,} dossiers) {i + 1}: {result['wall_s']} s, "
            f"{result['peak_rss_mb']} MB (by process: {result['peak_rss_by_process_mb']}; "
            f"by step: {top_steps(result)})",
            flush=True,
        )
        path.unlink()
        timed(run, env)  # back to the history without the new day (untimed)
    return {
        "new_day_dossiers": per_day,
        "one_new_day": {
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            "runs": runs,
            "steps": median_steps(runs),
        },
        "nothing_new": {
            "wall_s": statistics.median(r["wall_s"] for r in unchanged),
            "cpu_s": statistics.median(r["cpu_s"] for r in unchanged),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in unchanged),
            "runs": unchanged,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1_000_000, help="dossiers in the benchmark year")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--only", nargs="*", default=["pipeline", "pipeline_parquet", *BASELINES], help="contenders to run"
    )
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where results-<N>.json go")
    parser.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="where the generated data and warehouse go (default: --out); keep it off the repo",
    )
    parser.add_argument(
        "--incremental",
        action="store_true",
        help="after the contenders, time a night with one new day of dossiers (needs the pipeline)",
    )
    parser.add_argument(
        "--max-pandas-gb",
        type=float,
        default=None,
        help="skip pandas when its estimated memory exceeds this (default: 80%% of RAM)",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from pipelines.core.warehouse import MEMORY_BUDGET, MEMORY_LIMIT

    args.format = "csv"  # the baselines read CSV; the pipeline reads Parquet as well (tests cover it)
    data = (args.data_root or args.out) / f"data-{args.dossiers}"
    data.mkdir(parents=True, exist_ok=True)
    args.out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "EGOV_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    if not (data / "generation.json").exists():
        generation = generate(data, args.dossiers, args.format, env)
    else:
        generation = json.loads((data / "generation.json").read_text())
    files = str(data / "raw" / "dossiers" / str(YEAR) / "*" / "*.csv")
    egov = str(Path(sys.executable).parent / "egov")
    info = machine()
    max_pandas = args.max_pandas_gb or 0.8 * info["memory_gib"]
    results: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    parquet = parquet_copy(data, env) if {"pipeline_parquet", "duckdb_parquet"} & set(args.only) else None
    for contender in args.only:
        if contender == "pandas" and args.dossiers / 1e6 * PANDAS_GB_PER_MILLION > max_pandas:
            skipped[contender] = (
                f"not run: would need ~{args.dossiers / 1e6 * PANDAS_GB_PER_MILLION:.0f} GB "
                f"(> {max_pandas:.0f} GB allowed of {info['memory_gib']} GiB)"
            )
            print(f"{contender}: {skipped[contender]}", flush=True)
            continue
        runs = []
        for i in range(args.repeat):
            run_env = env
            if contender in ("pipeline", "pipeline_parquet"):
                command = [egov, "backfill", "--years", str(YEAR)]
                if contender == "pipeline_parquet":
                    run_env = {**env, "EGOV_DATA_DIR": str(parquet), "DAGSTER_HOME": str(parquet / "dagster_home")}
            elif contender == "duckdb_parquet":
                command = [
                    sys.executable,
                    "-c",
                    BASELINES[contender],
                    str(parquet / "raw" / "dossiers" / str(YEAR) / "*" / "*.parquet"),
                ]
            elif contender in TYPED_BASELINES:
                command = [sys.executable, "-c", BASELINES[contender], files, typed_schema(files)]
            else:
                command = [sys.executable, "-c", BASELINES[contender], files]
            run = timed(command, run_env)
            if "run_id" in run:
                run["steps"] = steps_of(run["run_id"], run_env)
            runs.append(run)
            print(
                f"{contender} run {i + 1}: {run['wall_s']} s, {run['peak_rss_mb']} MB "
                f"(by process: {run['peak_rss_by_process_mb']}; by step: {top_steps(run)})",
                flush=True,
            )
        results[contender] = {
            "wall_s": statistics.median(r["wall_s"] for r in runs),
            "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
            "runs": runs,
        }
        if "steps" in runs[0]:
            results[contender]["steps"] = median_steps(runs)
    report = {
        "dossiers": args.dossiers,
        "format": args.format,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "versions": versions(),
        "generation": generation,
        "results": results,
        "skipped": skipped,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "memory_limit": MEMORY_LIMIT,  # the warehouse's, from the harness's environment (the runs inherit it)
        "memory_budget": MEMORY_BUDGET,
    }
    if args.incremental:
        report["incremental"] = incremental(data, args.dossiers, args.format, args.repeat, env, egov)
    name = f"results-{args.dossiers}" + ("-incremental" if args.incremental else "") + ".json"
    (args.out / name).write_text(json.dumps(report, indent=2))
    print_table(report)


def print_table(report: dict) -> None:
    results = report["results"]
    base = results.get("duckdb", {}).get("wall_s")
    typed = results.get("duckdb_typed", {}).get("wall_s")
    print(f"\n{report['dossiers']:,} dossiers ({report['format']})")
    print(
        "| contender | median wall (s) | median CPU (s) | peak RSS (MB) | × bare DuckDB | × DuckDB typed table "
        "| runs |\n|---|---|---|---|---|---|---|"
    )
    for name, s in results.items():
        ratio = f"{s['wall_s'] / base:.2f}" if base else "-"
        ratio_typed = f"{s['wall_s'] / typed:.2f}" if typed else "-"
        cpu = statistics.median(r["cpu_s"] for r in s["runs"])
        print(
            f"| {name} | {s['wall_s']:.1f} | {cpu:.1f} | {s['peak_rss_mb']:.0f} | {ratio} | {ratio_typed} "
            f"| {len(s['runs'])} |"
        )
    for name, why in report["skipped"].items():
        print(f"| {name} | - | - | - | - | - | {why} |")
    if "pipeline" in results:
        print("\n| pipeline step | median s |\n|---|---|")
        for step, seconds in results["pipeline"]["steps"].items():
            print(f"| {step} | {seconds} |")
        steps, load = results["pipeline"]["steps"], results.get("duckdb_load", {}).get("wall_s")
        if load and "stg_dossiers" in steps:
            print(f"\nstg_dossiers ÷ duckdb_load (issue 29's ingest baseline): {steps['stg_dossiers'] / load:.2f}×")
        if "stg_dossiers" in steps:  # issue 29: "everything after the ingest" = the run less the dossier log's load
            print(f"pipeline less stg_dossiers: {results['pipeline']['wall_s'] - steps['stg_dossiers']:.1f} s")
    if "incremental" in report:
        inc = report["incremental"]
        full = results.get("pipeline", {}).get("wall_s")
        night = inc["one_new_day"]["wall_s"]
        share = f" = {night / full:.0%} of the full run ({full} s)" if full else ""
        print(
            f"\nincremental night, one new day ({inc['new_day_dossiers']:,} dossiers): {night} s{share}, "
            f"{inc['one_new_day']['peak_rss_mb']} MB; nothing new: {inc['nothing_new']['wall_s']} s"
        )
        for step, seconds in inc["one_new_day"]["steps"].items():
            print(f"| {step} | {seconds} |")


if __name__ == "__main__":
    main()
