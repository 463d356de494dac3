"""Where one dossier file's ingest time goes: each stage of the loader against DuckDB's bare typed load, one thread.

    python bench/ingest_floor.py <month.csv> [--repeat 3]      # e.g. a month of `bench/run.py --dossiers 10000000`

Every stage runs `--repeat` times in one process, interleaved, on one DuckDB thread (a file's parse holds one core:
its line numbers follow record order); the table gives the lowest CPU seconds of each. A Parquet copy of the file
(typed integers and timestamps, as the harness makes it) shows the typed path against the same values as text.
The stages are the loader's own SQL (`parse_select`, `open_raw_file`), in a scratch warehouse with the file's
agency registry. Not part of the test run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assets.ingestion.load import ingest, parse_select  # noqa: E402
from assets.ingestion.readers import _text_expr, open_raw_file  # noqa: E402
from pipelines.core.registry.sources import load_sources  # noqa: E402
from pipelines.core.warehouse import connect  # noqa: E402

TYPED_COLUMNS = {  # what bench/run.py's "duckdb_typed" declares: the bare typed load the loader is measured against
    "MaHoSo": "VARCHAR",
    "MaTTHC": "VARCHAR",
    "DonViXuLy": "VARCHAR",
    "KenhThucHien": "INTEGER",
    "MucDo": "INTEGER",
    "NgayTiepNhan": "TIMESTAMP",
    "NgayHenTra": "TIMESTAMP",
    "NgayKetThucXuLy": "TIMESTAMP",
    "NgayTra": "TIMESTAMP",
    "TrangThaiHoSo": "INTEGER",
    "LePhi": "BIGINT",
    "DuocThanhToanTrucTuyen": "INTEGER",
    "HoSoCoThanhPhanSoHoa": "INTEGER",
    "LoaiDoiTuong": "INTEGER",
    "ChuHoSo": "VARCHAR",
    "SoGiayTo": "VARCHAR",
    "SoDienThoai": "VARCHAR",
    "Email": "VARCHAR",
    "NgayYeuCauBoSung": "TIMESTAMP",
    "NgayCongDanBoSung": "TIMESTAMP",
    "SoLanBoSung": "INTEGER",
    "CoKetQuaDienTu": "INTEGER",
    "DaSoHoaKetQua": "INTEGER",
    "DuocLayTuKhoDMQG": "INTEGER",
}
PERSONAL = "ChuHoSo, SoGiayTo, SoDienThoai, Email"


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", type=Path, help="one dossier file in the raw contract's CSV form")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = args.csv.resolve().parents[4]  # <data>/raw/dossiers/<year>/<month>/<file>
    work = Path(tempfile.mkdtemp(prefix="egov-floor-"))
    con = connect(work / "warehouse.duckdb")
    contract = load_sources()["dossiers"]
    ingest(con, load_sources()["agencies"], data / "raw", None)  # the registry the agency check reads
    con.execute("SET threads = 1")
    con.execute(f"ATTACH '{work / 'scratch.duckdb'}' AS scratch")
    con.execute(f"ATTACH '{work / 'target.duckdb'}' AS target")
    con.execute("CREATE TABLE target.stg AS SELECT * FROM stg_dossiers LIMIT 0")
    parquet = work / "month.parquet"
    con.execute(f"""COPY (SELECT * FROM read_csv('{args.csv}', header=true, timestampformat='%Y%m%d%H%M%S',
                           types={{'MaHoSo': 'VARCHAR', 'MaTTHC': 'VARCHAR', 'DonViXuLy': 'VARCHAR',
                                   'SoGiayTo': 'VARCHAR', 'SoDienThoai': 'VARCHAR'}}))
                    TO '{parquet}' (FORMAT parquet, COMPRESSION zstd)""")
    tmp = work / "tmp"
    tmp.mkdir()
    csv = open_raw_file(con, args.csv, contract, tmp)
    pq = open_raw_file(con, parquet, contract, tmp)
    pq_as_text = pq.relation_sql
    for name in pq.native:
        pq_as_text = pq_as_text.replace(f'"{name}" AS "{name}"', f'{_text_expr(chr(34) + name + chr(34))} AS "{name}"')
    stored = ", ".join(f'"{c.name}"' for c in contract.stored_columns)
    parse = parse_select(contract, csv.relation_sql, 2024, 0, csv.delimiter)
    stages: dict[str, tuple[str, list]] = {
        "bare DuckDB: typed CSV → table in a file": (
            f"CREATE OR REPLACE TABLE target.typed AS SELECT * EXCLUDE ({PERSONAL}) FROM read_csv('{args.csv}', "
            f"header=true, auto_detect=false, timestampformat='%Y%m%d%H%M%S', columns={TYPED_COLUMNS})",
            [],
        ),
        "loader: CSV as text, trimmed, numbered → temp table": (
            f"CREATE OR REPLACE TEMP TABLE t AS {csv.relation_sql}",
            csv.params,
        ),
        "loader: the contract's parse (types, checks, reasons) → temp table": (
            f"CREATE OR REPLACE TEMP TABLE t AS {parse}",
            csv.params,
        ),
        "loader: the same → scratch database file (as at 10M)": (
            f"CREATE OR REPLACE TABLE scratch.parsed AS {parse}",
            csv.params,
        ),
        "loader: scratch → warehouse table (good rows)": (
            f"INSERT INTO target.stg ({stored}, source_file, source_line) SELECT {stored}, 'f', __line "
            "FROM scratch.parsed WHERE __reason IS NULL",
            [],
        ),
        "write-once: the parse → warehouse table directly": (
            f"INSERT INTO target.stg ({stored}, source_file, source_line) SELECT {stored}, 'f', __line "
            f"FROM ({parse}) WHERE __reason IS NULL",
            csv.params,
        ),
        "Parquet, typed columns as text (before) → temp table": (
            "CREATE OR REPLACE TEMP TABLE t AS " + parse_select(contract, pq_as_text, 2024, 0, ","),
            pq.params,
        ),
        "Parquet, typed columns taken as they are → temp table": (
            "CREATE OR REPLACE TEMP TABLE t AS " + parse_select(contract, pq.relation_sql, 2024, 0, ",", pq.native),
            pq.params,
        ),
    }
    seconds: dict[str, list[float]] = {label: [] for label in stages}
    for i in range(args.repeat):
        for label, (sql, params) in stages.items():
            con.execute("DROP TABLE IF EXISTS egov_rej_errors; DROP TABLE IF EXISTS egov_rej_scans")
            con.execute("DELETE FROM target.stg")
            start = cpu()
            con.execute(sql, params)
            seconds[label].append(cpu() - start)
        print(f"round {i + 1} of {args.repeat} done", file=sys.stderr, flush=True)
    rows, broken = con.execute("SELECT count(*), count(__reason) FROM scratch.parsed").fetchone()
    base = min(seconds["bare DuckDB: typed CSV → table in a file"])
    print(
        f"\n{args.csv.name}: {rows:,} dossiers ({broken:,} quarantined), one thread, lowest CPU of {args.repeat} (s)\n"
    )
    print("| stage | CPU (s) | × bare typed load |\n|---|---|---|")
    for label, values in seconds.items():
        print(f"| {label} | {min(values):.2f} | {min(values) / base:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
