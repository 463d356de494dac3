"""Bundled rubrics of published methodologies (config/rubrics/published/) reproduce published figures from their
published components, through the real pipeline on tiny deployments that hold only a registry of units (provinces,
countries) and the components as assessments, the rubric copied into <data dir>/rubrics/ as a national team would.

Also a deployment with only some sources: the Vietnam ICT Index deployment runs end to end with `egov backfill` as
a subprocess, reports included, the sources it does not collect noted once per year in the data quality report."""

from __future__ import annotations

import csv
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
FIXTURES = PROJECT_ROOT / "tests" / "fixtures"
EGOV = str(Path(sys.executable).parent / "egov")


def published(x: float, places: int) -> Decimal:
    """A figure as a report prints it: rounded half up to `places` decimals."""
    return Decimal(repr(x)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def deployment(
    base: Path,
    rubric: str | Path,
    units: list[tuple[str, str, str]],
    components: dict[int, dict[str, dict[str, float | str]]],
) -> Path:
    """A data directory with only raw/agencies, raw/assessments/<year>/ and the published rubric in rubrics/ (or
    another rubric folder, given as a path)."""
    write_csv(
        base / "raw" / "agencies" / "don_vi.csv",
        AGENCY_HEADER,
        [[code, name, group, "", "", "", ""] for code, name, group in units],
    )
    for year, by_unit in components.items():
        write_csv(
            base / "raw" / "assessments" / str(year) / f"chi_so_thanh_phan_{year}.csv",
            ["year", "agency_code", "indicator_code", "value"],
            [[year, code, indicator, value] for code, values in by_unit.items() for indicator, value in values.items()],
        )
    shutil.copytree(PUBLISHED / rubric if isinstance(rubric, str) else rubric, base / "rubrics")
    (base.parent / "dagster_home").mkdir(exist_ok=True)
    (base.parent / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return base


def rankings(base: Path, year: int) -> dict[str, tuple]:
    with open_marts(base / "marts" / "egov.duckdb") as con:
        return {
            code: tuple(rest)
            for code, *rest in con.execute(
                "SELECT agency_code, total_points, index_value, rank, classification FROM rankings WHERE year = ? "
                "ORDER BY rank, agency_code",
                [year],
            ).fetchall()
        }


def run_in_process(base: Path, years: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.cli.runs import run_pipeline

    monkeypatch.setenv("EGOV_DATA_DIR", str(base))
    monkeypatch.setenv("DAGSTER_HOME", str(base.parent / "dagster_home"))
    assert run_pipeline(years, data_dir=base)


# --- Vietnam ICT Index, provinces, through `egov backfill` ------------------------------------------------------

ICT = ("ict_technical_infrastructure", "ict_human_resources", "ict_applications")
# Đà Nẵng's components and index as published (issue 13): total = the mean of the three
ICT_DA_NANG = {
    2016: ((0.84, 0.76, 0.89), "0.83"),
    2019: ((0.7925, 0.9538, 0.85), "0.8654"),
    2023: ((0.7908, 0.7892, 0.9655), "0.8485"),
}


@pytest.mark.slow
def test_ict_index_deployment_of_provinces_and_assessments_runs_end_to_end_with_egov_backfill(tmp_path: Path):
    base = deployment(
        tmp_path / "data",
        "vn_ict_index",
        [("DNG", "Thành phố Đà Nẵng", "province"), ("HNI", "Thành phố Hà Nội", "province")],
        {year: {"DNG": dict(zip(ICT, values, strict=True))} for year, (values, _) in ICT_DA_NANG.items()},
    )
    env = {**os.environ, "EGOV_DATA_DIR": str(base), "DAGSTER_HOME": str(base.parent / "dagster_home")}
    done = subprocess.run(
        [EGOV, "backfill", "--years", "2016-2023"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Pipeline finished" in done.stdout

    for year, (values, figure) in ICT_DA_NANG.items():
        total, index, rank, classification = rankings(base, year)["DNG"]
        assert total == float(sum(Decimal(str(v)) for v in values))  # 2.49, 2.5963, 2.5455: exact (5 decimals)
        assert published(index, len(figure) - 2) == Decimal(figure)
        assert (rank, classification) == (1, "Không xếp loại")
    assert rankings(base, 2019)["DNG"][1] == 0.865433333  # 2.5963 / 3, not rounded to 2 or 4 decimals
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
    assert row[3:7] == (0.7925, 0.9538, 0.85, 2.5963)  # the three components (criterion points) and the total

    # sources without files: no failure, one note per year in the data quality report
    with open_marts(base / "marts" / "egov.duckdb") as con:
        noted = {
            s
            for (s,) in con.execute(
                "SELECT source FROM data_quality WHERE year = 2019 AND agency_code = '*' "
                "AND contains(failed_checks, 'sources_without_files')"
            ).fetchall()
        }
        from expectations.sql_checks import quality_summary

        summary = quality_summary(con, 2019)
    assert noted == {"services", "dossiers", "one_stop", "infrastructure", "capacity"}
    assert any(
        line.startswith("Năm 2019 không có tệp nào của nguồn danh mục thủ tục hành chính; hồ sơ") for line in summary
    ), summary
    assert not any("chưa gửi báo cáo hạ tầng" in line for line in summary)  # not a list of every province


# --- the provincial DTI of QĐ 922/QĐ-BTTTT ----------------------------------------------------------------------

DTI = (
    "dti_awareness",
    "dti_institutions",
    "dti_infrastructure",
    "dti_human_resources",
    "dti_cyber_security",
    "dti_digital_government",
    "dti_digital_economy",
    "dti_digital_society",
)
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
    base = deployment(
        tmp_path / "data",
        "dti_province",
        [(code, name, "province") for code, (name, _, _) in DTI_2022.items()],
        {2022: {code: dict(zip(DTI, pillars, strict=True)) for code, (_, pillars, _) in DTI_2022.items()}},
    )
    run_in_process(base, [2022], monkeypatch)
    got = rankings(base, 2022)
    # Đà Nẵng: 100 × (1 + 0.9 + 0.8253 + 0.8487 + 0.7578) + 200 × 0.8575 + 150 × (0.7836 + 0.5197) = 800.175
    assert {code: total for code, (total, *_) in got.items()} == {
        "DNG": 800.175,
        "HCM": 716.355,
        "QNI": 702.445,
        "TTH": 697.46,
        "CTO": 692.395,
    }
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
        assert con.execute(
            "SELECT points, max_points FROM criterion_scores WHERE agency_code = 'DNG' "
            "AND criterion_code = 'digital_government'"
        ).fetchall() == [(171.5, 200.0)]


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
    base = deployment(
        tmp_path / "data",
        "un_egdi",
        [(code, name, "country") for code, (name, _, _) in EGDI_2024.items()],
        {2024: {code: dict(zip(EGDI, parts, strict=True)) for code, (_, _, parts) in EGDI_2024.items()}},
    )
    run_in_process(base, [2024], monkeypatch)
    got = rankings(base, 2024)
    assert list(got) == list(EGDI_2024)  # the published order (global ranks 3, 52, 57, 64, 71, 73)
    for code, (_, figure, parts) in EGDI_2024.items():
        total, index, rank, classification = got[code]
        assert total == float(sum(Decimal(str(p)) for p in parts))  # e.g. Viet Nam 0.7081 + 0.7267 + 0.8780
        assert published(index, 4) == Decimal(figure)
        assert classification == "Very High"  # every one of them is at or above 0.75
    assert published(got["VNM"][1], 5) == Decimal("0.77093")  # the EGDI to 5 decimals: 2.3128 / 3
    assert got["VNM"][0] == 2.3128


# --- the UNDP HDI: log transform, goalposts, geometric mean, the index rounded ---------------------------------------

HDI_COMPONENTS = {
    "hdi_life_expectancy": "life_expectancy",
    "hdi_expected_schooling": "expected_schooling",
    "hdi_mean_schooling": "mean_schooling",
    "hdi_gni_per_capita": "gni_pc",
}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.slow  # the whole pipeline
def test_undp_hdi_2021_reproduces_the_published_hdi_and_ranks_of_30_countries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """HDR 2021/22 (tests/fixtures/published/hdi/README.md): UNDP's four components at full precision → the HDI to
    3 decimals and the order of UNDP's ranks (among 191 countries) for all 30 countries, Japan and Korea sharing one."""
    components = read_csv(FIXTURES / "published" / "hdi" / "components.csv")
    published = {r["iso3"]: r for r in read_csv(FIXTURES / "published" / "hdi" / "published.csv")}
    base = deployment(
        tmp_path / "data",
        "undp_hdi",
        [(c["iso3"], c["country"], "country") for c in components],
        {2021: {c["iso3"]: {code: c[column] for code, column in HDI_COMPONENTS.items()} for c in components}},
    )
    run_in_process(base, [2021], monkeypatch)
    got = rankings(base, 2021)
    assert len(got) == 30
    hdi = {code: Decimal(published[code]["hdi"]) for code in published}
    for code, (_, index, rank, classification) in got.items():
        assert Decimal(repr(index)) == hdi[code], code  # the published HDI, 3 decimals (0.93 = 0.930)
        assert rank == 1 + sum(other > hdi[code] for other in hdi.values()), code  # ranked on the rounded HDI
        assert classification == (
            "Very high"
            if hdi[code] >= Decimal("0.8")
            else "High"
            if hdi[code] >= Decimal("0.7")
            else "Medium"
            if hdi[code] >= Decimal("0.55")
            else "Low"
        ), code
    undp = {code: int(r["rank"]) for code, r in published.items()}
    for a in got:  # the same order as UNDP's ranks among all 191 countries, ties included
        for b in got:
            assert (got[a][2] < got[b][2]) == (undp[a] < undp[b]), (a, b)
    assert got["JPN"][2] == got["KOR"][2] == 12  # 0.925 both (0.924637 and 0.924744 before rounding)
    with open_marts(base / "marts" / "egov.duckdb") as con:
        # Qatar: 0.8545013 before rounding, the closest to a rounding boundary; the dimension indices unrounded
        qatar = dict(
            con.execute("SELECT criterion_code, points FROM criterion_scores WHERE agency_code = 'QAT'").fetchall()
        )
        assert qatar["income"] == 1.0  # GNI per capita above 75,000: capped
        assert con.execute(
            "SELECT level, parent_code FROM criterion_scores WHERE agency_code = 'QAT' AND criterion_code = 'education'"
        ).fetchall() == [(1, None)]


# --- COINr's ASEM example: three levels, min-max with direction, missing values left out ------------------------


@pytest.mark.slow  # the whole pipeline
def test_coinr_asem_index_reproduces_the_reference_scores_and_ranks_at_every_level(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """51 countries, 49 indicators with 63 genuine gaps (tests/fixtures/published/asem/README.md): every normalised
    indicator, pillar, sub-index and index score of the reference port of COINr's Normalise + Aggregate, to 1e-6 on
    its 0-100 scale, and every rank of the aggregates."""
    folder = FIXTURES / "published" / "asem"
    meta = [m for m in read_csv(folder / "iMeta.csv") if m["Type"] == "Indicator"]
    data = read_csv(folder / "iData.csv")
    base = deployment(
        tmp_path / "data",
        "coinr_asem",
        [(r["uCode"], r["uName"], "country") for r in data],
        {
            2018: {
                r["uCode"]: {f"asem_{m['iCode'].lower()}": r[m["iCode"]] for m in meta if r[m["iCode"]] != ""}
                for r in data
            }
        },
    )  # a gap: no row at all
    run_in_process(base, [2018], monkeypatch)
    with open_marts(base / "marts" / "egov.duckdb") as con:
        items = {
            (u, i.removeprefix("asem_")): None if p is None else 100 * p / m
            for u, i, p, m in con.execute(
                "SELECT agency_code, indicator_code, points, max_points FROM indicator_scores WHERE year = 2018"
            ).fetchall()
        }
        nodes = {
            (u, c): (100 * p / m, r)
            for u, c, p, m, r in con.execute(
                "SELECT agency_code, criterion_code, points, max_points, rank FROM criterion_scores WHERE year = 2018"
            ).fetchall()
        }
        nodes.update(
            {
                (u, "index"): (100 * i, r)
                for u, i, r in con.execute(
                    "SELECT agency_code, index_value, rank FROM rankings WHERE year = 2018"
                ).fetchall()
            }
        )
    reference = read_csv(folder / "reference_scores.csv")
    assert len(reference) == 51 * 60
    gaps = 0
    for row in reference:
        unit, code = row["uCode"], row["iCode"].lower()
        if row["level"] == "1":
            if row["score"] == "":
                gaps += 1
                assert items[unit, code] is None, (unit, code)  # left out (missing: skip), not 0
            else:
                assert items[unit, code] == pytest.approx(float(row["score"]), abs=1e-6), (unit, code)
        else:
            score, rank = nodes[unit, code]
            assert score == pytest.approx(float(row["score"]), abs=1e-6), (unit, code)
            assert rank == int(row["rank"]), (unit, code)
    assert gaps == 63
    assert list(rankings(base, 2018))[:3] == ["DEU", "GBR", "FRA"]


# --- a deployment whose rubrics start in 2003 --------------------------------------------------------------------


@pytest.mark.slow  # the whole pipeline
def test_a_deployment_of_2003_to_2005_backfills_with_its_own_rubrics_and_lists_an_unranked_unit(tmp_path: Path):
    """Years come from the rubric folder, not a constant: `egov backfill --years 2003-2005` runs end to end (reports
    included) on a deployment whose first rubric is 2003.yaml; 2002 is refused before anything runs. A country
    without enough data in 2004 is listed unranked with its reason, in the marts and the reports."""
    values = {
        2003: {"AAA": {"e_osi": 0.5, "e_tii": 0.4, "e_hci": 0.9}, "BBB": {"e_osi": 0.2, "e_tii": 0.6, "e_hci": 0.7}},
        # BBB 2004: e_tii and e_hci missing: criterion people_and_networks has no value (0 of 2 points with data);
        # the total then has services' 1 of 3 = 33.3 % < 50 %: not ranked
        2004: {"AAA": {"e_osi": 0.6, "e_tii": 0.5, "e_hci": 0.9}, "BBB": {"e_osi": 0.9}},
        2005: {"AAA": {"e_osi": 0.7, "e_tii": 0.5}, "BBB": {"e_osi": 0.8, "e_tii": 0.8, "e_hci": 0.8}},
    }
    base = deployment(
        tmp_path / "data",
        FIXTURES / "engine" / "early",
        [("AAA", "Country A", "country"), ("BBB", "Country B", "country")],
        values,
    )
    env = {**os.environ, "EGOV_DATA_DIR": str(base), "DAGSTER_HOME": str(base.parent / "dagster_home")}
    refused = subprocess.run(
        [EGOV, "backfill", "--years", "2002-2005"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=PROJECT_ROOT,
    )
    assert refused.returncode == 2 and "No rubric for 2002" in refused.stdout + refused.stderr
    done = subprocess.run(
        [EGOV, "backfill", "--years", "2003-2005"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=PROJECT_ROOT,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # 2003: AAA 0.5 + (0.4 + 0.9) = 1.8; BBB 0.2 + 1.3 = 1.5
    assert rankings(base, 2003) == {"AAA": (1.8, 0.6, 1, "Cao"), "BBB": (1.5, 0.5, 2, "Cao")}
    # 2004: AAA 0.6 + 1.4 = 2.0; BBB unranked
    assert rankings(base, 2004) == {"AAA": (2.0, 0.666666667, 1, "Cao"), "BBB": (None, None, None, None)}
    # 2005: AAA: people has no value (e_hci missing, 0 of 1 point < 50 %), people_and_networks = networks
    # re-weighted: 2 × 0.5 / 1 = 1.0 (1 of 2 points = 50 %, just enough); total 0.7 + 1.0 = 1.7; BBB 0.8 + 1.6 = 2.4
    assert rankings(base, 2005) == {"BBB": (2.4, 0.8, 1, "Cao"), "AAA": (1.7, 0.566666667, 2, "Cao")}
    with open_marts(base / "marts" / "egov.duckdb") as con:
        assert con.execute(
            "SELECT unranked_reason FROM rankings WHERE year = 2004 AND agency_code = 'BBB'"
        ).fetchall() == [
            (
                "không đủ dữ liệu: Tổng điểm: có dữ liệu cho 33,3% trọng số, dưới mức tối "
                "thiểu 50% (Hạ tầng và con người: không có dữ liệu (Hạ tầng viễn thông: "
                "không có dữ liệu; Nguồn nhân lực: không có dữ liệu))",
            )
        ]
    for year in (2003, 2004, 2005):
        assert (base / "marts" / "reports" / str(year) / "index.html").is_file()
        assert (base / "marts" / "reports" / str(year) / f"xep_hang_{year}.xlsx").is_file()
    assert "không đủ dữ liệu" in (base / "marts" / "reports" / "2004" / "index.html").read_text(encoding="utf-8")
    # the hierarchy: a column per top-level criterion, the sub-levels in the methodology sheet and on the unit's page
    from openpyxl import load_workbook

    book = load_workbook(base / "marts" / "reports" / "2004" / "xep_hang_2004.xlsx")
    rows = list(book["Quốc gia"].iter_rows(values_only=True))
    heading = next(r for r in rows if r[1] == "Mã cơ quan")
    assert heading[3:5] == ("Dịch vụ trực tuyến (1)", "Hạ tầng và con người (2)") and heading[5] == "Tổng điểm"
    bbb = next(r for r in rows if r[1] == "BBB")
    assert bbb[heading.index("Xếp loại")].startswith("không đủ dữ liệu") and bbb[heading.index("Xếp hạng")] is None
    method = [c for r in book["Phương pháp"].iter_rows(values_only=True) for c in r if isinstance(c, str)]
    assert "Hạ tầng và con người › Nguồn nhân lực" in method
    assert any(
        line.startswith("Tổng điểm: cộng điểm các thành phần; bỏ qua thành phần không có số liệu") for line in method
    )
    page = next(
        p
        for p in (base / "marts" / "reports" / "2004" / "co-quan").glob("*.html")
        if "AAA" in p.read_text(encoding="utf-8")
    )
    assert 'data-criterion="people" data-level="2"' in page.read_text(encoding="utf-8")


def test_published_rubrics_have_their_readme_and_validate():
    from pipelines.core.registry.rubrics import validate_rubric_dir

    readme = (PUBLISHED / "README.md").read_text(encoding="utf-8")
    for folder in ("vn_ict_index", "dti_province", "un_egdi", "undp_hdi", "coinr_asem"):
        assert folder in readme
        (rubric,) = validate_rubric_dir(PUBLISHED / folder)
        assert rubric.decimals in (3, 5, 6) and rubric.assessed
