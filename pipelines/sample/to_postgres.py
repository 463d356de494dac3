"""Load a data directory's dossier log (the sample province's, e.g.) into a PostgreSQL table, to try extraction from a
database (docs/operators.md, "Try extraction in five minutes"); it starts nothing, it needs a server you run.

    python -m pipelines.sample.to_postgres data/raw postgresql://user@127.0.0.1:5432/motcua

The table (`ho_so`, replaced) holds the contract's columns as the files have them, as text, without the personal
columns, and a last-modified time `NgayCapNhat` (the return, else the finish, else the reception time): the cursor of
the extract.yaml the command prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from pipelines.core.registry.sources import load_sources

TABLE = "ho_so"
TIMES = ("NgayTra", "NgayKetThucXuLy", "NgayTiepNhan")


def dossier_log(raw: Path) -> duckdb.DuckDBPyRelation:
    """Every dossier file (CSV and Parquet) of `raw`, as text, personal columns left out, with NgayCapNhat."""
    contract = load_sources()["dossiers"]
    personal = ", ".join(f'"{c.name}"' for c in contract.columns if c.personal)
    updated = ", ".join(f"try_strptime(\"{c}\", '%Y%m%d%H%M%S')" for c in TIMES)
    parts = []
    con = duckdb.connect()
    for suffix, reader in (
        (".csv", "read_csv({}, all_varchar = true, union_by_name = true)"),
        (".parquet", "read_parquet({}, union_by_name = true)"),
    ):
        files = sorted(str(p) for p in (raw / contract.folder).rglob(f"*{suffix}"))
        if files:
            parts.append(
                f"SELECT * EXCLUDE ({personal}), coalesce({updated}, TIMESTAMP '2016-01-01') AS NgayCapNhat "
                f"FROM {reader.format(files)}"
            )
    if not parts:
        raise SystemExit(f"no dossier files under {raw / contract.folder}")
    return con.sql(" UNION ALL BY NAME ".join(parts))


def load(raw: Path, url: str) -> int:
    """Replace the table `ho_so` of the database at `url` with the dossier log of `raw`; returns its rows."""
    import adbc_driver_postgresql.dbapi as pg

    table = dossier_log(raw).to_arrow_table()
    with pg.connect(url) as conn, conn.cursor() as cur:
        cur.adbc_ingest(TABLE, table, mode="replace")
        conn.commit()
    return table.num_rows


EXTRACT_YAML = """extracts:
  dossiers:
    kind: postgres
    host: {host}
    port: {port}
    database: {database}
    user: {user}
    # password_env: EGOV_MOTCUA_PASSWORD   # a user with a password: export it under this name, uncomment
    query: SELECT * FROM {table}          # the columns already have the contract's names
    cursor: NgayCapNhat
"""


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    from urllib.parse import urlparse

    raw, url = Path(argv[0]), argv[1]
    rows = load(raw, url)
    u = urlparse(url)
    print(f"{rows:,} dossiers in table {TABLE}. extract.yaml for a new data directory:\n")
    print(
        EXTRACT_YAML.format(
            host=u.hostname, port=u.port or 5432, database=u.path.lstrip("/"), user=u.username, table=TABLE
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
