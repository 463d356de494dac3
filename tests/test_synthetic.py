"""The synthetic sample province: deterministic, in the contract's layout and formats, with counted faults."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.synthetic import DOSSIER_COLUMNS, generate_sample_province


def digest(raw: Path) -> dict[str, str]:
    return {p.relative_to(raw).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(raw.rglob("*")) if p.is_file()}


def generate(base: Path, seed: int = 7, first_year: int = 2017) -> dict:
    return generate_sample_province(base / "raw", seed=seed, scale=0.01, first_year=first_year, last_year=2019,
                                    through=date(2019, 12, 31))


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    base = tmp_path_factory.mktemp("sample")
    return base, generate(base)


def test_same_seed_same_bytes_other_seed_other_data(tmp_path: Path):
    generate(tmp_path / "a", first_year=2018)
    generate(tmp_path / "b", first_year=2018)
    generate(tmp_path / "c", seed=8, first_year=2018)
    a, b, c = (digest(tmp_path / x / "raw") for x in "abc")
    assert a == b
    assert a != c and a.keys() == c.keys()


def test_layout_columns_formats_and_restructuring(sample: tuple[Path, dict]):
    tmp_path, manifest = sample
    raw = tmp_path / "raw"
    assert manifest["synthetic"] is True and manifest["agencies"]["department"] == 20
    assert manifest["agencies"]["district"] == 18 and 200 <= manifest["agencies"]["commune"] <= 340
    months = sorted(p.parent.name for p in (raw / "dossiers" / "2018").rglob("*.csv"))
    assert months == [f"{m:02d}" for m in range(1, 13)]
    frame = pl.read_csv(raw / "dossiers" / "2018" / "03" / "hoso_2018_03.csv", infer_schema_length=0)
    assert frame.columns == DOSSIER_COLUMNS
    assert frame["ChuHoSo"].null_count() == 0  # personal data is there, for the pipeline to drop
    assert (raw / "services" / "2019" / "catalogue_2019.xlsx").exists()
    assert (raw / "infrastructure" / "2017" / "infrastructure_2017.xlsx").exists()
    registry = pl.read_csv(raw / "agencies" / "agencies.csv", infer_schema_length=0)
    successors = set(registry["successor_code"].drop_nulls())
    assert successors and successors <= set(registry["agency_code"])
    assert json.loads((tmp_path / "sample_manifest.json").read_text())["dossiers_per_year"]


def test_windows_1258_catalogue_round_trips(sample: tuple[Path, dict]):
    tmp_path, _ = sample
    data = (tmp_path / "raw" / "services" / "2018" / "catalogue_2018.csv").read_bytes()
    text = unicodedata.normalize("NFC", data.decode("cp1258"))
    assert "Cấp giấy phép" in text or "Đăng ký" in text
    data.decode("cp1258")
    try:
        data.decode("utf-8")
        raise AssertionError("the 2018 catalogue should not be UTF-8")
    except UnicodeDecodeError:
        pass


def test_injected_faults_are_in_the_files(sample: tuple[Path, dict]):
    tmp_path, manifest = sample
    glob = str(tmp_path / "raw" / "dossiers" / "*" / "*" / "*.csv")
    con = duckdb.connect()
    dups = con.execute(f"SELECT count(*) - count(DISTINCT MaHoSo) FROM read_csv('{glob}', all_varchar=true)"
                       ).fetchall()[0][0]
    unknown = con.execute(f"SELECT count(*) FROM read_csv('{glob}', all_varchar=true) "
                          "WHERE DonViXuLy = 'XXX-UNKNOWN'").fetchall()[0][0]
    faults = manifest["injected_faults"]["dossiers"]
    assert dups == faults["duplicate_MaHoSo"] == 6
    assert unknown == faults["unknown_agency"] == 3
