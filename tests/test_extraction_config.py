"""The extract file ($EGOV_DATA_DIR/extract.yaml) is checked before anything connects, and the raw-files sensor never
sees an extract's unfinished file (no server needed: tests/test_extraction.py has those)."""

from __future__ import annotations

import pytest

from assets.extraction.extract import ExtractError, check_extract, load_extracts
from pipelines.core.registry.sources import load_sources
from pipelines.defs.sensors import raw_fingerprints

BASE = {
    "kind": "postgres",
    "host": "db.example",
    "database": "motcua",
    "user": "reader",
    "password_env": "MOTCUA_PW",
    "table": "motcua.ho_so",
    "cursor": "NgayCapNhat",
    "columns": {"MaHoSo": "ma_ho_so", "NgayTiepNhan": "ngay_nhan", "NgayCapNhat": "cap_nhat_luc"},
}


def write(data_dir, text: str) -> None:
    (data_dir / "extract.yaml").write_text(text, encoding="utf-8")


def test_a_password_in_the_file_is_refused(data_dir):
    import yaml

    write(data_dir, yaml.safe_dump({"extracts": {"dossiers": {**BASE, "password": "hunter2"}}}))
    with pytest.raises(ExtractError) as caught:
        load_extracts(data_dir)
    assert "password: never in the file; give password_env" in str(caught.value)
    assert "hunter2" not in str(caught.value) and str(data_dir / "extract.yaml") in str(caught.value)


def test_a_column_outside_the_contract_or_a_personal_one_is_refused(data_dir):
    import yaml

    write(
        data_dir,
        yaml.safe_dump(
            {"extracts": {"dossiers": {**BASE, "columns": {**BASE["columns"], "MaHoSoo": "x", "ChuHoSo": "chu_ho_so"}}}}
        ),
    )
    extract = load_extracts(data_dir)["dossiers"]
    with pytest.raises(ExtractError, match="columns MaHoSoo are not columns of the contract"):
        check_extract("dossiers", extract, load_sources()["dossiers"])
    write(
        data_dir,
        yaml.safe_dump({"extracts": {"dossiers": {**BASE, "columns": {**BASE["columns"], "ChuHoSo": "chu_ho_so"}}}}),
    )
    with pytest.raises(ExtractError, match=r"personal columns \(ChuHoSo\) are never extracted"):
        check_extract("dossiers", load_extracts(data_dir)["dossiers"], load_sources()["dossiers"])


def test_the_sensor_does_not_see_an_unfinished_extract(data_dir):
    year = data_dir / "raw" / "dossiers" / "2024"
    year.mkdir(parents=True)
    (year / "hoso.csv").write_text("MaHoSo\n")
    before = raw_fingerprints(data_dir / "raw")
    (year / ".extract_123_2024.parquet.tmp").write_bytes(b"PAR1 half written")
    assert raw_fingerprints(data_dir / "raw") == before
    (year / ".extract_123_2024.parquet.tmp").rename(year / "extract_20240101T000000_20240102T000000.parquet")
    assert raw_fingerprints(data_dir / "raw") != before


def test_a_source_with_an_extract_is_loaded_after_it(data_dir):
    """extract.yaml in the data directory: an asset per extract, upstream of its source's staging asset only."""
    from pipelines.defs.extraction import build_extraction_assets, extraction_key
    from pipelines.defs.ingestion import build_ingestion_assets

    write(data_dir, "extracts:\n  dossiers: {kind: postgres}\n")  # checked when it runs, not when the code loads
    assert [a.key for a in build_extraction_assets(data_dir)] == [extraction_key("dossiers")]
    deps = {a.key.path[-1]: set(a.asset_deps[a.key]) for a in build_ingestion_assets(extracted=["dossiers"])}
    assert extraction_key("dossiers") in deps["stg_dossiers"]
    assert not any(extraction_key("dossiers") in d for name, d in deps.items() if name != "stg_dossiers")


def test_rows_are_filed_by_the_year_of_their_own_date():
    """The year folder of a row is its year column's (a date-time, as text in any form the contract reads, or a year
    number); a row without a readable one goes to its cursor's year, where the loader quarantines it by name."""
    from datetime import datetime

    import pyarrow as pa

    from assets.extraction.extract import _by_year

    rows = pa.table(
        {
            "NgayTiepNhan": ["20241230080000", "05/01/2025 08:00:00", "not a date", None, "2023"],
            "NgayCapNhat": [datetime(2025, 1, 3)] * 5,
        }
    )
    assert sorted((year, part.num_rows) for year, part in _by_year(rows, "NgayTiepNhan", rows["NgayCapNhat"])) == [
        (2023, 1),
        (2024, 1),
        (2025, 3),
    ]
    typed = pa.table({"NgayTiepNhan": [datetime(2024, 12, 30, 8)], "NgayCapNhat": [datetime(2025, 1, 3)]})
    assert [(y, p.num_rows) for y, p in _by_year(typed, "NgayTiepNhan", typed["NgayCapNhat"])] == [(2024, 1)]
