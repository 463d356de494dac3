"""The ingest's fast path (load.fast_expr) against the text path it shortcuts: identical results, row for row.

The fast path types clean rows with cheap expressions and sends every other row through the text path's own
expressions; these tests load the same raw files twice, once with `load.FAST_PATH` off, and compare the staged
tables, the quarantine (file, line, reason, rule, raw) and `ingested_files`.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from assets.ingestion import load
from assets.ingestion.contracts import PARTITIONED_SOURCES, load_contracts
from pipelines.warehouse import connect
from tests.conftest import DOSSIER_HEADER, dossier, write_csv
from tests.test_corpus import CASES, _run

CONTRACTS = load_contracts()


def _snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every staging table, the quarantine and ingested_files (but the files' modification times, which differ
    between the two copies), in a stable order."""
    tables = [c.table for c in CONTRACTS.values()] + ["quarantine", "ingested_files"]
    return {t: con.execute(f"SELECT * EXCLUDE ({'file_mtime_ns' if t == 'ingested_files' else 'nothing'}) "
                           f"FROM (SELECT *, NULL AS nothing FROM {t}) ORDER BY ALL").fetchall() for t in tables}


def _both_paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, load_into) -> tuple[dict, dict]:
    """`load_into(data_dir)` run with the fast path, then with the text path only, in two data directories."""
    out = []
    for fast in (True, False):
        monkeypatch.setattr(load, "FAST_PATH", fast)
        base = tmp_path / ("fast" if fast else "text") / "data"
        (base / "raw").mkdir(parents=True)
        monkeypatch.setenv("EGOV_DATA_DIR", str(base))
        con = load_into(base)
        try:
            out.append(_snapshot(con))
        finally:
            con.close()
    return out[0], out[1]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_fast_path_equals_text_path_on_corpus(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, text = _both_paths(monkeypatch, tmp_path, lambda base: _run(case, base))
    assert fast == text


def test_fast_path_equals_text_path_on_sample_province(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.synthetic import generate_sample_province

    sample = tmp_path / "sample"
    generate_sample_province(sample, scale=0.02, first_year=2023, last_year=2024, through=date(2024, 12, 31))

    def load_sample(base: Path) -> duckdb.DuckDBPyConnection:
        shutil.copytree(sample, base / "raw", dirs_exist_ok=True)
        con = connect(base / "warehouse" / "egov.duckdb")
        load.ingest(con, CONTRACTS["agencies"], base / "raw", None)
        for source in PARTITIONED_SOURCES:
            for year in (2023, 2024):
                load.ingest(con, CONTRACTS[source], base / "raw", year)
        return con

    fast, text = _both_paths(monkeypatch, tmp_path, load_sample)
    assert fast == text
    assert len(fast["stg_dossiers"]) > 1000 and fast["quarantine"], "the sample should stage and quarantine rows"


# Values the fast path must not take as clean (each differs from, or is refused by, the contract's reading),
# next to clean ones: whole numbers, timestamps and codes.
MIXED_ROWS = [
    dossier("OK-1"),
    dossier("OK-2", fee="15000", paid=1),
    dossier("FEE-THOUSANDS", fee="1.000"),          # the contract reads 1000; DuckDB's cast would read 1
    dossier("FEE-HALF", fee="12.5"),                # refused; DuckDB's cast would read 13
    dossier("FEE-HEX", fee="0x10"),                 # refused; DuckDB's cast would read 16
    dossier("FEE-UNDERSCORE", fee="1_000"),         # refused; DuckDB's cast would read 1000
    dossier("FEE-EXP", fee="1e3"),                  # refused
    dossier("FEE-LEADING-ZERO", fee="0150"),        # 150 through the text path
    dossier("FEE-PLUS", fee="+5"),                  # 5 through the text path
    dossier("FEE-SPACES", fee=" 7 "),               # trimmed: 7
    dossier("FEE-NEG", fee="-5"),                   # negative: quarantined
    dossier("FEE-MINUS-ZERO", fee="-0"),
    dossier("FEE-HUGE", fee="1234567890123456789"),  # 19 digits: beyond the contract's whole numbers
    dossier("FEE-FLOAT", fee="12.0"),               # an Excel float: 12
    dossier("CHANNEL-EMPTY", channel=""),           # default 1
    dossier("CHANNEL-BAD", channel="4"),
    dossier("STATUS-ZERO-PAD", status="09"),
    dossier("TS-ISO", received="2024-01-05 08:00:00", due="", finished="", returned=""),
    dossier("TS-VN", received="05/01/2024 08:00:00", due="", finished="", returned=""),
    dossier("TS-13", received="2024010508000", due="", finished="", returned=""),
    dossier("TS-DAY", received="20240105", due="", finished="", returned=""),
    dossier("TS-IMPOSSIBLE", received="20240231080000"),
    dossier("TS-WRONG-YEAR", received="20230105080000"),
    dossier("TS-ORDER", due="20240101080000"),
    dossier("AGENCY-UNKNOWN", agency="SO-XX"),
    dossier("CODE\tTAB"),
    dossier(" OK-3 "),
    dossier("OK-1"),                                 # a duplicate of the first row
    dossier(""),                                     # MaHoSo empty
]


def test_fast_path_equals_text_path_on_mixed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  request: pytest.FixtureRequest) -> None:
    registry = [["SO-TP", "Sở Tư pháp", "department", "", "2016-01-01", "", ""]]

    def load_mixed(base: Path) -> duckdb.DuckDBPyConnection:
        write_csv(base / "raw" / "agencies" / "agencies.csv",
                  ["agency_code", "agency_name", "agency_group", "parent_code", "valid_from", "valid_to",
                   "successor_code"], registry)
        write_csv(base / "raw" / "dossiers" / "2024" / "01" / "HoSo_T01_2024.csv", DOSSIER_HEADER, MIXED_ROWS)
        con = connect(base / "warehouse" / "egov.duckdb")
        load.ingest(con, CONTRACTS["agencies"], base / "raw", None)
        load.ingest(con, CONTRACTS["dossiers"], base / "raw", 2024)
        return con

    fast, text = _both_paths(monkeypatch, tmp_path, load_mixed)
    assert fast == text
    staged = {row[1]: row for row in fast["stg_dossiers"]}
    fee = {code: staged[code][11] for code in staged}
    assert fee["FEE-THOUSANDS"] == 1000 and fee["FEE-LEADING-ZERO"] == 150 and fee["FEE-PLUS"] == 5
    assert fee["FEE-SPACES"] == 7 and fee["FEE-FLOAT"] == 12 and fee["OK-2"] == 15000
    assert staged["CHANNEL-EMPTY"][4] == 1 and staged["STATUS-ZERO-PAD"][10] == 9
    assert {"TS-ISO", "TS-VN", "TS-13", "TS-DAY", "OK-3"} <= set(staged)
    quarantined = {row[3] for row in fast["quarantine"]}
    assert len(quarantined) == len(MIXED_ROWS) - len(staged)
    for masked in ("Nguyễn Văn An", "001099012345", "0912345678"):
        assert all(masked not in str(row) for row in fast["quarantine"])
