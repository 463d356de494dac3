"""Benchmark harness: the whole pipeline against bare DuckDB, pandas and Polars on the same dossier files.

    python bench/run.py --dossiers 1000000 --repeat 3          # writes bench/out/results-<N>.json and a table

Each contender runs in its own process under /usr/bin/time -v (wall time, peak RSS); medians over --repeat runs.
The baselines do what a capable analyst would: read one year's monthly dossier files and compute the per-agency
dossier indicators (accepted, online, on time, paid online, digitised). The pipeline does everything (ingest with
contracts and quarantine, indicators, scores, rankings, data quality, marts publish). Not part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
YEAR = 2024
# The generator draws ~300k × scale × 1.2 dossiers for 2024 (its volume grows to 1.2× by 2024).
DOSSIERS_PER_SCALE_2024 = 360_000

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


def timed(command: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall seconds and peak RSS (MB) of one command, from GNU time."""
    done = subprocess.run(["/usr/bin/time", "-v", *command], env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", done.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    return {"wall_s": hours * 3600 + minutes * 60 + seconds, "peak_rss_mb": int(rss.group(1)) / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dossiers", type=int, default=1_000_000, help="dossiers in the benchmark year")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=["pipeline", *BASELINES], help="contenders to run")
    parser.add_argument("--out", type=Path, default=HERE / "out")
    args = parser.parse_args()

    data = args.out / f"data-{args.dossiers}"
    env = {**os.environ, "EGOV_DATA_DIR": str(data), "DAGSTER_HOME": str(data / "dagster_home")}
    if not (data / "raw" / "dossiers").exists():
        print(f"== generating {args.dossiers:,} dossiers for {YEAR} (CSV, monthly files) ==", flush=True)
        scale = args.dossiers / DOSSIERS_PER_SCALE_2024
        generation = timed([sys.executable, "-c", (
            "from pathlib import Path; from datetime import date; from pipelines.synthetic import "
            f"generate_sample_province as g; g(Path({str(data / 'raw')!r}), scale={scale},"
            f" first_year={YEAR}, last_year={YEAR}, through=date({YEAR}, 12, 31), dossier_format='csv')")], env)
        print(f"   {generation}", flush=True)
    files = str(data / "raw" / "dossiers" / str(YEAR) / "*" / "*.csv")
    egov = str(Path(sys.executable).parent / "egov")
    results: dict[str, list[dict[str, float]]] = {}
    for contender in args.only:
        for i in range(args.repeat):
            if contender == "pipeline":
                command = [egov, "backfill", "--years", str(YEAR)]
            else:
                command = [sys.executable, "-c", BASELINES[contender], files]
            results.setdefault(contender, []).append(timed(command, env))
            print(f"{contender} run {i + 1}: {results[contender][-1]}", flush=True)
    summary = {name: {"wall_s": statistics.median(r["wall_s"] for r in runs),
                      "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs), "runs": len(runs)}
               for name, runs in results.items()}
    (args.out / f"results-{args.dossiers}.json").write_text(json.dumps(
        {"dossiers": args.dossiers, "date": date.today().isoformat(), "cpus": os.cpu_count(), "results": summary},
        indent=2))
    base = summary.get("duckdb", {}).get("wall_s")
    print("\n| contender | median wall (s) | peak RSS (MB) | × bare DuckDB |\n|---|---|---|---|")
    for name, s in summary.items():
        ratio = f"{s['wall_s'] / base:.2f}" if base else "-"
        print(f"| {name} | {s['wall_s']:.1f} | {s['peak_rss_mb']:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
