"""The synthetic sample province: deterministic, in the contract's layout and formats, with counted faults."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import unicodedata
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
import yaml
from conftest import PROJECT

from pipelines.sample.synthetic import generate_sample_province

pytestmark = pytest.mark.slow  # each test generates sample provinces

SYNC = [
    "NgayYeuCauBoSung",
    "NgayCongDanBoSung",
    "SoLanBoSung",
    "CoKetQuaDienTu",
    "DaSoHoaKetQua",
    "DuocLayTuKhoDMQG",
    "NgayDongBo",
]  # docs/raw_contracts.md: the optional columns of the national sync format


def digest(raw: Path) -> dict[str, str]:
    return {
        p.relative_to(raw).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(raw.rglob("*"))
        if p.is_file()
    }


def generate(base: Path, seed: int = 7, first_year: int = 2017) -> dict:
    return generate_sample_province(
        base / "raw", seed=seed, scale=0.01, first_year=first_year, last_year=2019, through=date(2019, 12, 31)
    )


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


def existing_on(registry: pl.DataFrame, day: date) -> dict[str, int]:
    """Agencies per group that exist on `day`, counted from the registry file."""
    alive = registry.filter(
        (pl.col("valid_from").is_null() | (pl.col("valid_from") <= day))
        & (pl.col("valid_to").is_null() | (pl.col("valid_to") >= day))
    )
    return dict(alive.group_by("agency_group").len().iter_rows())


def xlsx_table(path: Path) -> tuple[list[str], list[tuple]]:
    """The heading row and the data rows of a generated XLSX return (a title row may come first), as text."""
    rows = pl.read_excel(path, has_header=False, infer_schema_length=0).rows()
    head = next(i for i, r in enumerate(rows) if "agency_code" in r)
    return list(rows[head]), rows[head + 1 :]


def test_layout_columns_formats_and_restructuring(sample: tuple[Path, dict]):
    tmp_path, manifest = sample
    raw = tmp_path / "raw"
    assert manifest["synthetic"] is True
    registry = pl.read_csv(raw / "agencies" / "agencies.csv", infer_schema_length=0).with_columns(
        pl.col("valid_from", "valid_to").str.to_date("%Y-%m-%d")
    )
    # README: shaped on the published figures, 19 departments, 18 districts, ~240 communes; the 2025 mergers.
    before = existing_on(registry, date(2018, 12, 31))
    assert (before["department"], before["district"]) == (19, 18) and 220 <= before["commune"] <= 260
    after = existing_on(registry, date(2025, 12, 31))
    assert "district" not in after and after["department"] < 19 and after["commune"] < before["commune"]
    successors = set(registry["successor_code"].drop_nulls())
    assert successors and successors <= set(registry["agency_code"])
    stored = json.loads((tmp_path / "sample_manifest.json").read_text(encoding="utf-8"))
    assert stored["agencies"] == dict(registry.group_by("agency_group").len().iter_rows())

    months = sorted(p.parent.name for p in (raw / "dossiers" / "2018").rglob("*.csv"))
    assert months == [f"{m:02d}" for m in range(1, 13)]
    frame = pl.read_csv(raw / "dossiers" / "2018" / "03" / "hoso_2018_03.csv", infer_schema_length=0)
    contract = yaml.safe_load((PROJECT / "config" / "sources.yaml").read_text(encoding="utf-8"))
    # the raw contract's columns, but for the optional sync columns, which exports carry from 2022 only
    # (and NgayCapNhat, the version of records that change: the sample sends each dossier once)
    assert frame.columns == [c for c in contract["sources"]["dossiers"]["columns"] if c not in [*SYNC, "NgayCapNhat"]]
    assert frame["ChuHoSo"].null_count() == 0  # personal data is there, for the pipeline to drop
    rows_per_year = {
        str(year): sum(
            pl.read_csv(p, infer_schema_length=0).height for p in (raw / "dossiers" / str(year)).rglob("*.csv")
        )
        for year in (2017, 2018, 2019)
    }
    assert stored["dossiers_per_year"] == rows_per_year  # the manifest counts what the files hold
    assert all(0.7 * 3000 <= n <= 1.3 * 3000 for n in rows_per_year.values())  # README: ~300k a year × 0.01

    heads, rows = xlsx_table(raw / "services" / "2019" / "catalogue_2019.xlsx")
    assert heads == ["year", "agency_code", "procedure_code", "procedure_name", "level", "has_fee"]
    assert rows and {r[0] for r in rows} == {"2019"} and set(registry["agency_code"]) >= {r[1] for r in rows}
    heads, rows = xlsx_table(raw / "infrastructure" / "2017" / "infrastructure_2017.xlsx")
    assert heads[:4] == ["year", "agency_code", "staff_count", "computers"]
    senders = [r[1] for r in rows]  # one return per agency existing that year; a few never send theirs
    alive = sum(existing_on(registry, date(2017, 12, 31)).values())
    assert len(senders) == len(set(senders)) and alive / 2 < len(senders) <= alive
    assert {r[0] for r in rows} == {"2017"}


def test_windows_1258_catalogue_round_trips(sample: tuple[Path, dict]):
    tmp_path, _ = sample
    data = (tmp_path / "raw" / "services" / "2018" / "catalogue_2018.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # a Windows export, not UTF-8
    rows = list(csv.reader(io.StringIO(unicodedata.normalize("NFC", data.decode("cp1258")))))
    assert rows[0] == ["year", "agency_code", "procedure_code", "procedure_name", "level", "has_fee"]
    # Every name ends with "(thủ tục <its code>)": the tone marks of "thủ tục" survive cp1258 and NFC.
    assert len(rows) > 100 and all(r[3].endswith(f"(thủ tục {r[2]})") for r in rows[1:])


def test_injected_faults_are_in_the_files(sample: tuple[Path, dict]):
    tmp_path, manifest = sample
    glob = str(tmp_path / "raw" / "dossiers" / "*" / "*" / "*.csv")
    con = duckdb.connect()
    found = con.execute(f"""
        SELECT count(*) - count(DISTINCT MaHoSo),
               count(*) FILTER (DonViXuLy = 'XXX-UNKNOWN'),
               count(*) FILTER (try_strptime(NgayTiepNhan, '%Y%m%d%H%M%S') IS NULL),
               count(*) FILTER (try_strptime(NgayHenTra, '%Y%m%d%H%M%S')
                                < try_strptime(NgayTiepNhan, '%Y%m%d%H%M%S'))
        FROM read_csv('{glob}', all_varchar=true)""").fetchall()[0]
    faults = manifest["injected_faults"]["dossiers"]
    claimed = (
        faults["duplicate_MaHoSo"],
        faults["unknown_agency"],
        faults["impossible_date"],
        faults["due_before_received"],
    )
    assert found == claimed and all(n > 0 for n in found)  # the manifest counts what the files hold


def test_sync_columns_appear_from_2022_with_growing_shares_and_leave_the_other_columns_unchanged(tmp_path: Path):
    from pipelines.sample import synthetic

    generate_sample_province(tmp_path / "raw", scale=0.02, first_year=2021, last_year=2024, through=date(2024, 12, 31))
    raw = tmp_path / "raw" / "dossiers"

    def year_frame(year: int) -> pl.DataFrame:
        return pl.concat(
            [pl.read_parquet(p).cast(pl.String) for p in sorted((raw / str(year)).rglob("*.parquet"))], how="diagonal"
        )

    frames = {y: year_frame(y) for y in (2021, 2022, 2023, 2024)}
    assert not set(SYNC) & set(frames[2021].columns)
    assert set(SYNC) - set(frames[2022].columns) == {"DuocLayTuKhoDMQG"}  # the data store comes a year later
    assert set(SYNC) <= set(frames[2023].columns)

    def share(frame: pl.DataFrame, column: str) -> float:
        return frame.filter(pl.col(column) == "1").height / frame.height

    for column in ("CoKetQuaDienTu", "DaSoHoaKetQua"):
        assert 0 < share(frames[2022], column) < share(frames[2023], column) < share(frames[2024], column) < 0.9
    assert 0 < share(frames[2023], "DuocLayTuKhoDMQG") < share(frames[2024], "DuocLayTuKhoDMQG") < 0.3
    asked = frames[2024].filter(pl.col("NgayYeuCauBoSung") != "")
    assert 0.02 < asked.height / frames[2024].height < 0.15
    assert (
        asked["NgayCongDanBoSung"].filter(asked["NgayCongDanBoSung"] != "")
        > asked["NgayYeuCauBoSung"].filter(asked["NgayCongDanBoSung"] != "")
    ).all()
    assert set(frames[2024]["SoLanBoSung"].unique()) == {"", "0", "1", "2", "3"}
    # a supplement lies in its dossier's processing window (the contract's rules would quarantine it otherwise):
    # not before reception, and for a finished dossier neither requested nor provided after it was finished
    for frame in frames.values():
        if "NgayYeuCauBoSung" not in frame.columns:
            continue
        asked_in = frame.filter(pl.col("NgayYeuCauBoSung") != "")  # yyyyMMddHHmmss: compared as text
        assert (asked_in["NgayYeuCauBoSung"] >= asked_in["NgayTiepNhan"]).all()
        done = asked_in.filter(pl.col("NgayKetThucXuLy") != "")
        provided = done.filter(pl.col("NgayCongDanBoSung") != "")
        assert done.height > 100 and provided.height > 100
        assert (done["NgayYeuCauBoSung"] <= done["NgayKetThucXuLy"]).all()
        assert (provided["NgayCongDanBoSung"] <= provided["NgayKetThucXuLy"]).all()

    # The sync columns come from their own generator: every other column is what the draw gives without them.
    args = (
        2024,
        3,
        12,
        1.0,
        50,
        0,
        np.array(["A", "B"]),
        np.array([0, 1]),
        np.array([1.0, 2.0]),
        np.array([0.5, 0.9]),
        np.array([0, 2]),
        np.array([2, 2]),
        np.array(["P1", "P2", "P3", "P4"]),
        np.array([3, 4, 2, 3], dtype=np.int8),
        np.array([1, 0, 1, 0], dtype=np.int8),
    )
    plain = synthetic._draw_dossier_chunk(np.random.default_rng(1), *args)
    with_sync = synthetic._draw_dossier_chunk(np.random.default_rng(1), *args, sync_rng=np.random.default_rng(2))
    assert with_sync.columns == plain.columns + SYNC
    assert with_sync.select(plain.columns).equals(plain)


def test_the_766_inputs_appear_from_2022_with_growing_shares_and_weaker_agencies_behind(tmp_path: Path):
    from pipelines.sample.synthetic import UNKNOWN_DOSSIER, build_agencies, quality

    manifest = generate_sample_province(
        tmp_path / "raw", scale=0.02, first_year=2021, last_year=2024, through=date(2024, 12, 31)
    )
    raw = tmp_path / "raw"
    con = duckdb.connect()
    assert not (raw / "ratings" / "2021").exists() and not (raw / "feedback" / "2021").exists()
    assert "synced_national" not in (raw / "services" / "2021" / "catalogue_2021.csv").read_text("utf-8-sig")[:200]
    published = dict(
        con.execute(f"""
        SELECT year, avg(synced_national) FROM read_csv('{raw}/services/202[24]/*.csv', union_by_name = true)
        GROUP BY ALL""").fetchall()
    )  # 2023's catalogue is a workbook
    assert 0.3 < published[2022] < published[2024] < 0.97
    dossiers = f"read_parquet('{raw}/dossiers/202[234]/*/*.parquet', union_by_name = true)"
    synced = dict(
        con.execute(
            f"SELECT left(NgayTiepNhan, 4), avg((NgayDongBo <> '')::INT) FROM {dossiers} GROUP BY ALL"
        ).fetchall()
    )
    assert 0.3 < synced["2022"] < synced["2023"] < synced["2024"] < 0.97
    assert (
        con.execute(
            f"SELECT count(*) FROM {dossiers} WHERE NgayDongBo <> '' AND NgayDongBo < NgayTiepNhan "
            "AND try_strptime(NgayTiepNhan, '%Y%m%d%H%M%S') IS NOT NULL"
        ).fetchone()[0]
        == 0
    )  # but a fault
    # ratings: of finished dossiers of the log, but one a year of no dossier (counted as a fault); a few twice
    ratings = f"read_csv('{raw}/ratings/*/*.csv', all_varchar = true)"
    unknown = con.execute(
        f"SELECT count(*) FROM {ratings} WHERE MaHoSo NOT IN (SELECT MaHoSo FROM {dossiers})"
    ).fetchone()[0]
    assert unknown == manifest["injected_faults"]["ratings"]["unknown_dossier"] == 3
    assert con.execute(f"SELECT count(*) FROM {ratings} WHERE MaHoSo LIKE '{UNKNOWN_DOSSIER}%'").fetchone()[0] == 3
    twice = con.execute(
        f"SELECT count(*) FROM (SELECT MaHoSo FROM {ratings} GROUP BY 1 HAVING count(*) > 1)"
    ).fetchone()[0]
    assert twice > 10
    assert {m for (m,) in con.execute(f"SELECT DISTINCT MucDo FROM {ratings}").fetchall()} == {"1", "2", "3", "4"}
    # weaker agencies (quality) are clearly behind on the satisfied share and on feedback answered on time
    weak = [a.code for a in build_agencies(20161) if quality(a) < 0.45]
    strong = [a.code for a in build_agencies(20161) if quality(a) > 0.85]
    satisfied = con.execute(
        f"""
        SELECT avg((r.MucDo IN ('1', '2'))::INT) FILTER (WHERE list_contains(?, d.DonViXuLy)),
               avg((r.MucDo IN ('1', '2'))::INT) FILTER (WHERE list_contains(?, d.DonViXuLy))
        FROM {ratings} AS r JOIN {dossiers} AS d USING (MaHoSo)""",
        [weak, strong],
    ).fetchone()
    assert satisfied[0] + 0.1 < satisfied[1]
    feedback = f"read_csv('{raw}/feedback/*/*.csv', all_varchar = true)"
    statuses = {s for (s,) in con.execute(f"SELECT DISTINCT TrangThai FROM {feedback}").fetchall()}
    assert statuses == {"2", "3", "4"}
    assert con.execute(f"SELECT count(*) FROM {feedback} WHERE HoTen IS NULL OR SoDienThoai IS NULL").fetchone()[0] == 0
