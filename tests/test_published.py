"""Bundled rubrics of published methodologies (config/rubrics/published/) reproduce published figures from their
published components, through the real pipeline on tiny deployments that hold only a registry of units (provinces,
countries) and the components as assessments, the rubric copied into <data dir>/rubrics/ as a national team would.

Also a deployment with only some sources: the Vietnam ICT Index deployment runs end to end with `egov backfill` as
a subprocess, reports included, the sources it does not collect noted once per year in the data quality report."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from conftest import AGENCY_HEADER, write_csv

from assets.marts.publish import open_marts
from pipelines.core.settings import PROJECT_ROOT

PUBLISHED = PROJECT_ROOT / "config" / "rubrics" / "published"
EGOV = str(Path(sys.executable).parent / "egov")


def published(x: float, places: int) -> Decimal:
    """A figure as a report prints it: rounded half up to `places` decimals."""
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def deployment(base: Path, rubric: str, units: list[tuple[str, str, str]],
               components: dict[int, dict[str, dict[str, float]]]) -> Path:
    """A data directory with only raw/agencies, raw/assessments/<year>/ and the published rubric in rubrics/."""
    write_csv(base / "raw" / "agencies" / "don_vi.csv", AGENCY_HEADER,
              [[code, name, group, "", "", "", ""] for code, name, group in units])
    for year, by_unit in components.items():
        write_csv(base / "raw" / "assessments" / str(year) / f"chi_so_thanh_phan_{year}.csv",
                  ["year", "agency_code", "indicator_code", "value"],
                  [[year, code, indicator, value] for code, values in by_unit.items()
                   for indicator, value in values.items()])
    shutil.copytree(PUBLISHED / rubric, base / "rubrics")
    (base.parent / "dagster_home").mkdir(exist_ok=True)
    (base.parent / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return base


def rankings(base: Path, year: int) -> dict[str, tuple]:
    with open_marts(base / "marts" / "egov.duckdb") as con:
        return {code: tuple(rest) for code, *rest in con.execute(
            "SELECT agency_code, total_points, index_value, rank, classification FROM rankings WHERE year = ? "
            "ORDER BY rank, agency_code", [year]).fetchall()}


def run_in_process(base: Path, years: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.cli.runs import run_pipeline

    monkeypatch.setenv("EGOV_DATA_DIR", str(base))
    monkeypatch.setenv("DAGSTER_HOME", str(base.parent / "dagster_home"))
    assert run_pipeline(years, data_dir=base)


# --- Vietnam ICT Index, provinces, through `egov backfill` ------------------------------------------------------

ICT = ("ict_technical_infrastructure", "ict_human_resources", "ict_applications")
# Đà Nẵng's components and index as published (issue 13): total = the mean of the three
ICT_DA_NANG = {2016: ((0.84, 0.76, 0.89), "0.83"), 2019: ((0.7925, 0.9538, 0.85), "0.8654"),
               2023: ((0.7908, 0.7892, 0.9655), "0.8485")}


@pytest.mark.slow
def test_ict_index_deployment_of_provinces_and_assessments_runs_end_to_end_with_egov_backfill(tmp_path: Path):
    base = deployment(tmp_path / "data", "vn_ict_index",
                      [("DNG", "Thành phố Đà Nẵng", "province"), ("HNI", "Thành phố Hà Nội", "province")],
                      {year: {"DNG": dict(zip(ICT, values, strict=True))}
                       for year, (values, _) in ICT_DA_NANG.items()})
    env = {**os.environ, "EGOV_DATA_DIR": str(base), "DAGSTER_HOME": str(base.parent / "dagster_home")}
    done = subprocess.run([EGOV, "backfill", "--years", "2016-2023"], env=env, capture_output=True, text=True,
                          timeout=900, cwd=PROJECT_ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Pipeline finished" in done.stdout

    for year, (values, figure) in ICT_DA_NANG.items():
        total, index, rank, classification = rankings(base, year)["DNG"]
        assert total == float(sum(Decimal(str(v)) for v in values))  # 2.49, 2.5963, 2.5455: exact (5 decimals)
        assert published(index, len(figure) - 2) == Decimal(figure)
        assert (rank, classification) == (1, "Không xếp loại")
    assert rankings(base, 2019)["DNG"][1] == 0.865433333   # 2.5963 / 3, not rounded to 2 or 4 decimals
    assert rankings(base, 2023)["HNI"][:3] == (0.0, 0.0, 2)  # no component submitted: ranked, at 0

    # reports are written for whatever was ranked: provinces, under the label the rubric gives the group
    for year in (2016, 2019, 2023):
        assert (base / "marts" / "reports" / str(year) / "index.html").is_file()
        assert (base / "marts" / "reports" / str(year) / f"xep_hang_{year}.xlsx").is_file()
    from openpyxl import load_workbook

    book = load_workbook(base / "marts" / "reports" / "2019" / "xep_hang_2019.xlsx")
    assert "Tỉnh, thành phố" in book.sheetnames  # groups.province.label_vi of the published rubric
    sheet = book["Tỉnh, thành phố"]
    row = next(r for r in sheet.iter_rows(values_only=True) if r[1] == "DNG")
    assert row[3:7] == (0.7925, 0.9538, 0.85, 2.5963)   # the three components (criterion points) and the total

    # sources without files: no failure, one note per year in the data quality report
    with open_marts(base / "marts" / "egov.duckdb") as con:
        noted = {s for (s,) in con.execute(
            "SELECT source FROM data_quality WHERE year = 2019 AND agency_code = '*' "
            "AND contains(failed_checks, 'sources_without_files')").fetchall()}
        from expectations.sql_checks import quality_summary

        summary = quality_summary(con, 2019)
    assert noted == {"services", "dossiers", "one_stop", "infrastructure", "capacity"}
    assert any(line.startswith("Năm 2019 không có tệp nào của nguồn danh mục thủ tục hành chính; hồ sơ")
               for line in summary), summary
    assert not any("chưa gửi báo cáo hạ tầng" in line for line in summary)  # not a list of every province


# --- the provincial DTI of QĐ 922/QĐ-BTTTT ----------------------------------------------------------------------

DTI = ("dti_awareness", "dti_institutions", "dti_infrastructure", "dti_human_resources", "dti_cyber_security",
       "dti_digital_government", "dti_digital_economy", "dti_digital_society")
# DTI 2022, the five leading provinces: the eight pillar indices and the DTI as published on dti.gov.vn (xep-hang-2022)
DTI_2022 = {
    "DNG": ("TP. Đà Nẵng", (1.0000, 0.9000, 0.8253, 0.8487, 0.7578, 0.8575, 0.7836, 0.5197), "0.8002"),
    "HCM": ("TP. Hồ Chí Minh", (0.8917, 0.9000, 0.8258, 0.6267, 0.5580, 0.8406, 0.7611, 0.3590), "0.7163"),
    "QNI": ("Quảng Ninh", (0.9581, 0.9000, 0.7648, 0.6250, 0.5382, 0.8385, 0.5904, 0.4505), "0.7024"),
    "TTH": ("Thừa Thiên - Huế", (0.9500, 0.9000, 0.6823, 0.6794, 0.6423, 0.8262, 0.6787, 0.3001), "0.6975"),
    "CTO": ("TP. Cần Thơ", (0.9000, 0.8000, 0.7233, 0.7376, 0.7226, 0.7325, 0.7556, 0.2947), "0.6924"),
}


@pytest.mark.slow
def test_provincial_dti_2022_reproduces_the_published_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    base = deployment(tmp_path / "data", "dti_province",
                      [(code, name, "province") for code, (name, _, _) in DTI_2022.items()],
                      {2022: {code: dict(zip(DTI, pillars, strict=True))
                              for code, (_, pillars, _) in DTI_2022.items()}})
    run_in_process(base, [2022], monkeypatch)
    got = rankings(base, 2022)
    # Đà Nẵng: 100 × (1 + 0.9 + 0.8253 + 0.8487 + 0.7578) + 200 × 0.8575 + 150 × (0.7836 + 0.5197) = 800.175
    assert {code: total for code, (total, *_) in got.items()} == {
        "DNG": 800.175, "HCM": 716.355, "QNI": 702.445, "TTH": 697.46, "CTO": 692.395}
    assert [code for code in got] == list(DTI_2022)  # the published order, ranks 1 to 5
    assert [rank for _, _, rank, _ in got.values()] == [1, 2, 3, 4, 5]
    for code, (_, _, figure) in DTI_2022.items():
        if code == "HCM":
            # The one figure the published (rounded) pillars cannot give back: they add up to 716.355, i.e. an index
            # of 0.716355, which rounds to 0.7164, while the ministry, adding unrounded pillars, published 0.7163.
            assert published(got[code][1], 4) == Decimal("0.7164")
            continue
        assert published(got[code][1], 4) == Decimal(figure)
    with open_marts(base / "marts" / "egov.duckdb") as con:
        assert con.execute("SELECT points, max_points FROM criterion_scores WHERE agency_code = 'DNG' "
                           "AND criterion_code = 'digital_government'").fetchall() == [(171.5, 200.0)]


# --- the UN EGDI -------------------------------------------------------------------------------------------------

EGDI = ("egdi_osi", "egdi_hci", "egdi_tii")
# UN E-Government Survey 2024, ASEAN's six leading countries: EGDI, OSI, HCI, TII as published (README.md: sources)
EGDI_2024 = {
    "SGP": ("Singapore", "0.9691", (0.9831, 0.9362, 0.9881)),
    "THA": ("Thailand", "0.8351", (0.7611, 0.8032, 0.9410)),
    "MYS": ("Malaysia", "0.8111", (0.7280, 0.7192, 0.9862)),
    "IDN": ("Indonesia", "0.7991", (0.8035, 0.7293, 0.8645)),
    "VNM": ("Viet Nam", "0.7709", (0.7081, 0.7267, 0.8780)),
    "PHL": ("Philippines", "0.7621", (0.8054, 0.7256, 0.7554)),
}


@pytest.mark.slow
def test_un_egdi_2024_reproduces_the_published_index_and_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    base = deployment(tmp_path / "data", "un_egdi",
                      [(code, name, "country") for code, (name, _, _) in EGDI_2024.items()],
                      {2024: {code: dict(zip(EGDI, parts, strict=True)) for code, (_, _, parts) in EGDI_2024.items()}})
    run_in_process(base, [2024], monkeypatch)
    got = rankings(base, 2024)
    assert list(got) == list(EGDI_2024)  # the published order (global ranks 3, 52, 57, 64, 71, 73)
    for code, (_, figure, parts) in EGDI_2024.items():
        total, index, rank, classification = got[code]
        assert total == float(sum(Decimal(str(p)) for p in parts))   # e.g. Viet Nam 0.7081 + 0.7267 + 0.8780
        assert published(index, 4) == Decimal(figure)
        assert classification == "Very High"   # every one of them is at or above 0.75
    assert published(got["VNM"][1], 5) == Decimal("0.77093")   # the EGDI to 5 decimals: 2.3128 / 3
    assert got["VNM"][0] == 2.3128


def test_published_rubrics_have_their_readme_and_validate():
    from pipelines.core.registry.rubrics import validate_rubric_dir

    readme = (PUBLISHED / "README.md").read_text(encoding="utf-8")
    for folder in ("vn_ict_index", "dti_province", "un_egdi"):
        assert folder in readme
        (rubric,) = validate_rubric_dir(PUBLISHED / folder)
        assert rubric.decimals in (3, 5) and rubric.assessed
