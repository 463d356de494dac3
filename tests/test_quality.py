"""Data quality: SQL checks catch exactly the planted faults, GX suites and Data Docs, the data_quality table."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import create_tables

from expectations import sql_checks
from expectations.sql_checks import CHECKS, build_data_quality, quality_summary, run_sql_checks
from expectations.suites import AGGREGATE_SUITES, MART_SUITES, STAGING_SUITES, SUITES, suite_specs
from pipelines.core.registry.sources import load_sources
from pipelines.core.registry.thresholds import load_thresholds
from pipelines.core.warehouse import connect

PROJECT = Path(__file__).resolve().parents[1]
YEAR = 2024
AGENCIES = [  # code, name, group, parent, valid_from, valid_to, successor
    ("SO-A", "Sở Tư pháp", "department", None, "2016-01-01", None, None),
    ("SO-B", "Sở Y tế", "department", None, "2016-01-01", None, None),
    ("H1", "UBND huyện Sông Lam", "district", None, "2016-01-01", None, None),
    ("X1", "UBND xã Tân An", "commune", "H1", "2016-01-01", None, None),
    ("X2", "UBND xã Phú Hòa", "commune", "H1", "2016-01-01", "2024-06-30", "X1"),  # exists in 2024, not evaluated
]
EVALUATED = ["SO-A", "SO-B", "H1", "X1"]
CATALOGUE = {"SO-A": "P1", "SO-B": "P3", "H1": "P4"}


def put(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    con.executemany(
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
        [[r[c] for c in cols] for r in rows],
    )


def stage(con: duckdb.DuckDBPyConnection, source: str, rows: list[dict[str, Any]]) -> None:
    """Insert staging rows and account for them in ingested_files, as a load would (counts reconcile)."""
    put(con, f"stg_{source}", rows)
    for year in sorted({r["year"] for r in rows}):
        n = sum(1 for r in rows if r["year"] == year)
        put(con, "ingested_files", [files(source, n, n, 0, year=year, name=f"{source}/{year}/extra-{n}.csv")])


def dossier(
    code: str,
    agency: str = "SO-A",
    *,
    month: int = 1,
    year: int = YEAR,
    procedure: str | None = None,
    line: int = 2,
    **over: Any,
) -> dict[str, Any]:
    received = datetime(year, month, 5, 8, 0)
    row = {
        "year": year,
        "MaHoSo": code,
        "MaTTHC": procedure or CATALOGUE.get(agency, "P1"),
        "DonViXuLy": agency,
        "KenhThucHien": 2,
        "MucDo": 3,
        "NgayTiepNhan": received,
        "NgayHenTra": received + timedelta(days=5),
        "NgayKetThucXuLy": received + timedelta(days=4),
        "NgayTra": received + timedelta(days=5),
        "TrangThaiHoSo": 10,
        "LePhi": 0,
        "DuocThanhToanTrucTuyen": 0,
        "HoSoCoThanhPhanSoHoa": 1,
        "LoaiDoiTuong": 1,
        "source_file": f"dossiers/{year}/{month:02d}/d.csv",
        "source_line": line,
    }
    row.update(over)
    return row


def files(
    source: str,
    read: int,
    loaded: int,
    quarantined: int,
    *,
    year: int | None = YEAR,
    status: str = "loaded",
    name: str | None = None,
) -> dict[str, Any]:
    return {
        "source": source,
        "year": year,
        "file": name or f"{source}/{year}/f.csv",
        "file_format": "csv",
        "encoding": "utf-8",
        "status": status,
        "message": None,
        "rows_read": read,
        "rows_loaded": loaded,
        "rows_quarantined": quarantined,
        "file_size": 1,
        "file_mtime_ns": 1,
        "context_hash": "x",
    }


def quarantine_row(source: str, agency: str | None, rule: str, line: int, *, year: int | None = YEAR) -> dict:
    return {
        "source": source,
        "year": year,
        "file": f"{source}/{year}/f.csv",
        "line": line,
        "reason": rule,
        "agency_code": agency,
        "rule": rule,
        "raw": "…",
    }


def create_marts(con: duckdb.DuckDBPyConnection) -> None:
    """Clean indicator, criterion and ranking tables as the scoring assets would leave them (their schema files)."""
    create_tables(con, "indicators", "scoring", "profiles")
    put(
        con,
        "indicator_values",
        [
            {
                "year": YEAR,
                "agency_code": "SO-A",
                "indicator_code": "svc_online_ratio",
                "numerator": 1.0,
                "denominator": 1.0,
                "value": 1.0,
                "source": "computed",
            },
            {
                "year": YEAR,
                "agency_code": "SO-A",
                "indicator_code": "computers_per_staff",
                "numerator": 12.0,
                "denominator": 10.0,
                "value": 1.2,
                "source": "computed",
            },
            {
                "year": YEAR,
                "agency_code": "SO-A",
                "indicator_code": "edoc_ratio",
                "numerator": 0.0,
                "denominator": 0.0,
                "value": None,
                "source": "computed",
            },
            {
                "year": YEAR,
                "agency_code": "SO-B",
                "indicator_code": "svc_online_ratio",
                "numerator": 0.0,
                "denominator": 1.0,
                "value": 0.0,
                "source": "computed",
            },
            {
                "year": YEAR,
                "agency_code": "SO-B",
                "indicator_code": "security_assessed",
                "numerator": 1.0,
                "denominator": 1.0,
                "value": 1.0,
                "source": "assessment",
            },
        ],
    )
    put(
        con,
        "rankings",
        [
            {
                "year": YEAR,
                "agency_group": g,
                "agency_code": c,
                "agency_name": n,
                "total_points": t,
                "max_points": 100.0,
                "index_value": t / 100,
                "rank": r,
                "classification": k,
                "rubric_year": YEAR,
            }
            for g, c, n, t, r, k in [
                ("department", "SO-A", "Sở Tư pháp", 90.0, 1, "Tốt"),
                ("department", "SO-B", "Sở Y tế", 85.5, 2, "Tốt"),
                ("district", "H1", "UBND huyện Sông Lam", 74.0, 1, "Khá"),
                ("commune", "X1", "UBND xã Tân An", 49.0, 1, "Yếu"),
            ]
        ],
    )
    put(
        con,
        "rubric_classes",
        [  # the rubric's classes and rounding of totals, as the scoring writes them
            {"year": YEAR, "agency_group": g, "label": k, "min_total": lo, "rubric_year": YEAR, "decimals": 2}
            for g in ("department", "district", "commune")
            for k, lo in [("Tốt", 80.0), ("Khá", 65.0), ("Trung bình", 50.0), ("Yếu", 0.0)]
        ],
    )
    put(
        con,
        "criterion_scores",
        [
            {
                "year": YEAR,
                "agency_code": c,
                "agency_group": g,
                "criterion_code": "infrastructure",
                "criterion_name": "Hạ tầng kỹ thuật CNTT và ATTT",
                "points": p,
                "max_points": 20.0,
                "rank": r,
            }
            for c, g, p, r in [
                ("SO-A", "department", 18.0, 1),
                ("SO-B", "department", 18.0, 1),
                ("H1", "district", 15.0, 1),
                ("X1", "commune", 9.5, 1),
            ]
        ],
    )
    put(
        con,
        "indicator_scores",
        [
            {
                "year": YEAR,
                "agency_code": c,
                "agency_group": g,
                "criterion_code": "services",
                "indicator_code": "svc_online_ratio",
                "value": v,
                "target": 0.8,
                "points": min(v / 0.8, 1) * 8,
                "max_points": 8.0,
            }
            for c, g, v in [
                ("SO-A", "department", 1.0),
                ("SO-B", "department", 0.0),
                ("H1", "district", 0.4),
                ("X1", "commune", 0.6),
            ]
        ],
    )
    put(
        con,
        "agency_profiles",
        [
            {
                "year": YEAR,
                "agency_code": c,
                "agency_name": c,
                "agency_group": g,
                "total_points": t,
                "max_points": 100.0,
                "points_lost": 100.0 - t,
                "rank": r,
                "group_size": n,
                "classification": k,
                "strongest_indicators": [],
                "weakest_indicators": [],
                "next_class": nxt,
                "next_class_min": lo,
                "points_to_next_class": need,
                "rank_history": [{"year": YEAR, "rank": r, "total_points": t, "classification": k}],
            }
            for c, g, t, r, n, k, nxt, lo, need in [
                ("SO-A", "department", 90.0, 1, 2, "Tốt", None, None, None),
                ("SO-B", "department", 85.5, 2, 2, "Tốt", None, None, None),
                ("H1", "district", 74.0, 1, 1, "Khá", "Tốt", 80.0, 6.0),
                ("X1", "commune", 49.0, 1, 1, "Yếu", "Trung bình", 50.0, 1.0),
            ]
        ],
    )
    put(
        con,
        "what_if",
        [
            {
                "year": YEAR,
                "agency_code": "X1",
                "goal": "next_class",
                "goal_label": "đạt loại Trung bình",
                "points_needed": 1.0,
                "reachable": True,
                "step": 1,
                "criterion_code": "services",
                "indicator_code": "svc_online_ratio",
                "current_value": 0.6,
                "required_value": 0.7,
                "target": 0.8,
                "current_points": 6.0,
                "new_points": 7.0,
                "points_gained": 1.0,
            }
        ],
    )


def build_clean(con: duckdb.DuckDBPyConnection, *, marts: bool = True) -> None:
    """A tiny province whose data passes every check: 5 agencies, 9 dossiers over 3 months, all returns."""
    put(
        con,
        "stg_agencies",
        [
            dict(
                zip(
                    [
                        "agency_code",
                        "agency_name",
                        "agency_group",
                        "parent_code",
                        "valid_from",
                        "valid_to",
                        "successor_code",
                    ],
                    a,
                    strict=True,
                )
            )
            for a in AGENCIES
        ],
    )
    put(
        con,
        "stg_services",
        [
            {
                "year": YEAR,
                "agency_code": a,
                "procedure_code": p,
                "procedure_name": f"Thủ tục {p}",
                "level": lv,
                "level_label": str(lv),
                "has_fee": 0,
            }
            for a, p, lv in [
                ("SO-A", "P1", 3),
                ("SO-A", "P2", 4),
                ("SO-B", "P3", 2),
                ("H1", "P4", 3),
                ("X1", "P5", None),
            ]
        ],
    )
    put(con, "stg_dossiers", [dossier(f"{a}-{m}", a, month=m, line=m + 1) for a in CATALOGUE for m in (1, 2, 3)])
    put(
        con,
        "stg_infrastructure",
        [
            {
                "year": YEAR,
                "agency_code": a,
                "staff_count": 10,
                "computers": 12,
                "computers_internet": 11,
                "has_lan": 1,
                "bandwidth_mbps": 100.0,
                "has_firewall": 1,
                "has_antivirus": 1,
                "has_backup": 0,
                "security_assessed": 1,
                "offline_computer_secret": 0,
                "has_website": 1,
            }
            for a in EVALUATED
        ],
    )
    put(
        con,
        "stg_capacity",
        [
            {
                "year": YEAR,
                "agency_code": a,
                "docs_sent_total": 100,
                "docs_sent_electronic": 90,
                "docs_signed_digital": 80,
                "staff_with_email": 10,
                "it_staff": 1,
                "it_staff_security_trained": 1,
                "staff_it_trained": 5,
                "has_it_plan": 1,
                "has_it_regulation": 0,
                "it_budget_vnd": 50_000_000,
            }
            for a in EVALUATED
        ],
    )
    put(
        con,
        "stg_one_stop",
        [
            {
                "year": YEAR,
                "month": 1,
                "agency_code": a,
                "uses_software": 1,
                "dossiers_in_software": 5,
                "dossiers_total": 6,
            }
            for a in EVALUATED
        ],
    )
    put(
        con,
        "stg_assessments",
        [{"year": YEAR, "agency_code": "SO-B", "indicator_code": "security_assessed", "value": 1.0}],
    )
    put(
        con,
        "ingested_files",
        [
            files("agencies", 5, 5, 0, year=None, name="agencies/agencies.csv"),
            files("services", 5, 5, 0),
            files("dossiers", 9, 9, 0),
            files("infrastructure", 4, 4, 0),
            files("capacity", 4, 4, 0),
            files("one_stop", 4, 4, 0),
            files("assessments", 1, 1, 0),
        ],
    )
    if marts:
        create_marts(con)


@pytest.fixture
def con(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = connect(tmp_path / "w.duckdb")
    build_clean(con)
    yield con
    con.close()


def results(
    con: duckdb.DuckDBPyConnection, years: list[int] | None = None, thresholds: dict[str, Any] | None = None
) -> dict[str, sql_checks.CheckResult]:
    return {r.name: r for r in run_sql_checks(con, years or [YEAR], thresholds=thresholds)}


def failing(con: duckdb.DuckDBPyConnection, years: list[int] | None = None) -> dict[str, int]:
    return {name: r.failed for name, r in results(con, years).items() if r.failed}


# --- SQL checks ---------------------------------------------------------------------------------------------


def test_clean_data_passes_every_sql_check(con: duckdb.DuckDBPyConnection) -> None:
    res = results(con)
    assert [r.name for r in res.values()] == [c.name for c in CHECKS]
    assert {n: r.failed for n, r in res.items() if r.failed or r.skipped} == {}
    assert all(r.severity in ("ERROR", "WARN") and r.sample == [] for r in res.values())


def test_mart_checks_are_skipped_before_the_marts_exist(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    build_clean(con, marts=False)
    res = results(con)
    skipped = {n for n, r in res.items() if r.skipped}
    assert skipped == {
        "indicator_ratio_out_of_range",
        "indicator_out_of_bounds",
        "rankings_rank_sequence",
        "criterion_rank_sequence",
        "rankings_missing_agencies",
    }
    assert not any(r.failed for r in res.values())


def test_duplicate_mahoso_counts_surplus_copies_across_years(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        "dossiers",
        [
            dossier("SO-A-1", line=20),
            dossier("SO-A-1", month=2, line=21),  # 2 surplus copies
            dossier("OLD", year=2023, month=12),
            dossier("OLD", month=4, line=30),
        ],
    )  # 1 in 2024
    res = results(con)
    assert failing(con) == {"dossier_duplicate_mahoso": 3}
    dup = res["dossier_duplicate_mahoso"]
    assert dup.by_key == {(YEAR, "dossiers", "*"): 3, (YEAR, "dossiers", "SO-A"): 3}
    assert {(s["MaHoSo"], s["first_line"]) for s in dup.sample} == {("SO-A-1", 2), ("OLD", 2)}
    assert results(con, [2023])["dossier_duplicate_mahoso"].failed == 0  # the 2023 row is the first copy


def test_codes_out_of_range(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        "dossiers",
        [
            dossier("C1", KenhThucHien=4),
            dossier("C2", TrangThaiHoSo=11),
            dossier("C3", MucDo=0),
            dossier("C4", KenhThucHien=0, LoaiDoiTuong=3),
            dossier("C5", MucDo=None),
        ],
    )  # empty MucDo is allowed
    res = results(con)
    assert failing(con) == {"dossier_codes_out_of_range": 4}
    problems = {s["MaHoSo"]: s["problem"] for s in res["dossier_codes_out_of_range"].sample}
    assert problems == {
        "C1": "KenhThucHien=4",
        "C2": "TrangThaiHoSo=11",
        "C3": "MucDo=0",
        "C4": "KenhThucHien=0, LoaiDoiTuong=3",
    }


def test_dates_out_of_order(con: duckdb.DuckDBPyConnection) -> None:
    early = datetime(YEAR, 1, 1)
    stage(
        con,
        "dossiers",
        [
            dossier("T1", NgayHenTra=early),
            dossier("T2", NgayKetThucXuLy=early),
            dossier("T3", NgayHenTra=None, NgayKetThucXuLy=None),
        ],
    )
    res = results(con)
    assert failing(con) == {"dossier_dates_out_of_order": 2}
    assert [s["problem"] for s in res["dossier_dates_out_of_order"].sample] == [
        "NgayHenTra < NgayTiepNhan",
        "NgayKetThucXuLy < NgayTiepNhan",
    ]


def test_the_contracts_supplement_dates_and_sync_codes_are_checked_too(con: duckdb.DuckDBPyConnection) -> None:
    """The code and date rules are those of config/sources.yaml: a rule or a code list added there (the supplement
    dates, the sync flags and SoLanBoSung) is checked on the staged log without a line of SQL written for it."""
    received = datetime(YEAR, 1, 5, 8)  # as dossier() stages it; processing finished 4 days later (9 January)
    day = timedelta(days=1)

    def synced(code: str, **sync: Any) -> dict[str, Any]:
        return dossier(
            code,
            **{
                **dict.fromkeys(
                    [
                        "NgayYeuCauBoSung",
                        "NgayCongDanBoSung",
                        "SoLanBoSung",
                        "CoKetQuaDienTu",
                        "DaSoHoaKetQua",
                        "DuocLayTuKhoDMQG",
                    ]
                ),
                **sync,
            },
        )

    stage(
        con,
        "dossiers",
        [
            synced("S1", NgayYeuCauBoSung=received + 2 * day, NgayCongDanBoSung=received + day),
            synced("S2", NgayYeuCauBoSung=received + 15 * day),  # requested after processing finished
            synced("S3", CoKetQuaDienTu=2, SoLanBoSung=-1),
            synced(
                "S4",
                NgayYeuCauBoSung=received + day,
                NgayCongDanBoSung=received + 2 * day,
                SoLanBoSung=1,
                CoKetQuaDienTu=1,
                DaSoHoaKetQua=0,
                DuocLayTuKhoDMQG=1,
            ),
        ],
    )  # all in order
    res = results(con)
    assert failing(con) == {"dossier_dates_out_of_order": 2, "dossier_codes_out_of_range": 1}
    assert {s["MaHoSo"]: s["problem"] for s in res["dossier_dates_out_of_order"].sample} == {
        "S1": "NgayCongDanBoSung < NgayYeuCauBoSung",
        "S2": "NgayYeuCauBoSung > NgayKetThucXuLy",
    }
    assert [(s["MaHoSo"], s["problem"]) for s in res["dossier_codes_out_of_range"].sample] == [
        ("S3", "SoLanBoSung=-1, CoKetQuaDienTu=2")
    ]
    described = {c.name: c.description for c in CHECKS}
    assert "NgayCongDanBoSung < NgayYeuCauBoSung" in described["dossier_dates_out_of_order"]
    assert "CoKetQuaDienTu 0/1" in described["dossier_codes_out_of_range"]


def test_unknown_procedures_are_counted_per_agency(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        "dossiers",
        [dossier("U1", procedure="PX"), dossier("U2", procedure="PY"), dossier("U3", "H1", procedure="P1")],
    )  # P1 is SO-A's, not H1's
    res = results(con)["dossier_unknown_procedure"]
    assert res.severity == "WARN" and res.failed == 3
    assert res.by_key == {(YEAR, "dossiers", "*"): 3, (YEAR, "dossiers", "SO-A"): 2, (YEAR, "dossiers", "H1"): 1}
    assert res.sample[0] == {
        "year": YEAR,
        "agency_code": "SO-A",
        "agency_name": "Sở Tư pháp",
        "dossiers": 2,
        "procedures": 2,
        "example_procedures": ["PX", "PY"],
        "catalogue_size": 2,
    }


def test_months_without_dossiers_before_the_last_month(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, "dossiers", [dossier("M6", month=6), dossier("Y23", year=2023, month=1)])
    res = results(con, [YEAR, 2023])["dossier_missing_months"]
    assert res.failed == 2  # April and May 2024; 2023 has only January, nothing before it is missing
    assert [(s["year"], s["month"]) for s in res.sample] == [(YEAR, 4), (YEAR, 5)]


def test_unknown_procedures_and_missing_months_are_read_from_the_logs_counts_per_file(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Both checks add up the log's counts per file, month, agency and procedure (dossier_file_facts), which they
    bring up to date themselves, instead of scanning the log again; a night's new rows are counted."""
    names = ["dossier_unknown_procedure", "dossier_missing_months"]
    stage(
        con,
        "dossiers",
        [
            dossier("F1", procedure="PX", month=6, line=2),
            dossier("F2", procedure="PX", month=6, line=3),
            dossier("F3", "H1", procedure="PZ", month=6, line=4),
            dossier("F4", "SO-B", month=6, line=5),  # P3: in SO-B's catalogue
        ],
    )
    res = {r.name: r for r in run_sql_checks(con, [YEAR], names=names)}
    # the clean province's 9 dossiers (3 agencies × January–March) and the 4 of June
    assert dict(
        con.execute(
            "SELECT month, sum(received)::INTEGER FROM dossier_file_facts WHERE year = ? GROUP BY month", [YEAR]
        ).fetchall()
    ) == {1: 3, 2: 3, 3: 3, 6: 4}
    unknown = res["dossier_unknown_procedure"]
    assert unknown.failed == 3
    assert unknown.by_key == {(YEAR, "dossiers", "*"): 3, (YEAR, "dossiers", "SO-A"): 2, (YEAR, "dossiers", "H1"): 1}
    assert unknown.sample[0] == {
        "year": YEAR,
        "agency_code": "SO-A",
        "agency_name": "Sở Tư pháp",
        "dossiers": 2,
        "procedures": 1,
        "example_procedures": ["PX"],
        "catalogue_size": 2,
    }
    assert [(s["year"], s["month"]) for s in res["dossier_missing_months"].sample] == [(YEAR, 4), (YEAR, 5)]
    # a night: one more dossier, in April, of a procedure H1 does not have
    put(con, "stg_dossiers", [dossier("F5", "H1", procedure="PZ", month=4, line=9)])
    res = {r.name: r for r in run_sql_checks(con, [YEAR], names=names)}
    assert res["dossier_unknown_procedure"].by_key[(YEAR, "dossiers", "H1")] == 2
    assert [(s["year"], s["month"]) for s in res["dossier_missing_months"].sample] == [(YEAR, 5)]


def test_missing_returns_of_evaluated_agencies(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM stg_infrastructure WHERE agency_code = 'SO-B'")
    con.execute("DELETE FROM stg_capacity WHERE agency_code IN ('X1', 'SO-B')")
    con.execute("UPDATE ingested_files SET rows_read = 3, rows_loaded = 3 WHERE source = 'infrastructure'")
    con.execute("UPDATE ingested_files SET rows_read = 2, rows_loaded = 2 WHERE source = 'capacity'")
    res = results(con)["missing_returns"]
    assert failing(con) == {"missing_returns": 3}  # X2 is not evaluated in 2024: not asked
    assert [(s["source"], s["agency_code"]) for s in res.sample] == [
        ("capacity", "SO-B"),
        ("capacity", "X1"),
        ("infrastructure", "SO-B"),
    ]


def test_quarantined_share_threshold_and_override(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM ingested_files WHERE source IN ('dossiers', 'services')")
    put(
        con,
        "ingested_files",
        [
            files("dossiers", 100, 94, 6, name="d1.csv"),
            files("dossiers", 900, 900, 0, name="d2"),
            files("services", 100, 95, 5),
        ],
    )
    res = results(con)["quarantined_share"]
    assert res.failed == 0  # 6/1000 and 5/100 (= the threshold, not above)
    con.execute("UPDATE ingested_files SET rows_loaded = 0, rows_quarantined = 100 WHERE file = 'd2'")
    res = results(con)["quarantined_share"]
    assert (res.failed, res.severity) == (1, "ERROR")
    assert res.sample == [
        {
            "source": "dossiers",
            "year": YEAR,
            "rows_read": 1000,
            "rows_quarantined": 106,
            "share": 0.106,
            "max_share": 0.05,
            "rejected_files": None,
            "quarantined": None,
        }
    ]
    thresholds = {**load_thresholds(), "quarantined_share_by_source": {"dossiers": 0.2}}
    assert results(con, thresholds=thresholds)["quarantined_share"].failed == 0  # 10.6% is within 20%
    thresholds["quarantined_share_by_source"] = {"dossiers": 0.1}
    res = results(con, thresholds=thresholds)["quarantined_share"]
    assert res.failed == 1 and res.sample[0]["max_share"] == 0.1


def test_any_quarantined_assessment_row_fails_the_share_check_naming_the_rows(con: duckdb.DuckDBPyConnection) -> None:
    """The published case: 70 of 2,499 assessment rows (2.8%, under the 5% of other sources) quarantined, and the
    run published. thresholds.yaml gives assessments a share of 0: any row fails, named by file, line and reason."""
    con.execute("DELETE FROM ingested_files WHERE source = 'assessments'")
    put(con, "ingested_files", [files("assessments", 2499, 2429, 70, name="assessments/2024/cham_diem.csv")])
    put(
        con,
        "quarantine",
        [
            {
                **quarantine_row("assessments", "SO-A", "invalid", line),
                "file": "assessments/2024/cham_diem.csv",
                "reason": f"value: '{line}e-06x' is not a valid number",
            }
            for line in range(80, 10, -1)
        ],
    )  # lines 11..80, inserted last first
    res = results(con)["quarantined_share"]
    assert (res.failed, res.severity) == (1, "ERROR")
    named = "; ".join(
        f"assessments/2024/cham_diem.csv:{line} (value: '{line}e-06x' is not a valid number)" for line in range(11, 16)
    )
    assert res.sample == [
        {
            "source": "assessments",
            "year": YEAR,
            "rows_read": 2499,
            "rows_quarantined": 70,
            "share": 0.028,
            "max_share": 0.0,
            "rejected_files": None,
            "quarantined": named + "; and 65 more in the table quarantine",
        }
    ]
    raised = {**load_thresholds(), "quarantined_share_by_source": {"assessments": 0.05}}  # a deployment's choice
    assert results(con, thresholds=raised)["quarantined_share"].failed == 0

    # One row of twelve: under min_rows_for_share, still judged at a share of 0.
    con.execute("DELETE FROM quarantine; DELETE FROM ingested_files WHERE source = 'assessments'")
    put(con, "ingested_files", [files("assessments", 12, 11, 1, name="assessments/2024/a.csv")])
    put(
        con,
        "quarantine",
        [
            {
                **quarantine_row("assessments", "SO-B", "invalid", 7),
                "file": "assessments/2024/a.csv",
                "reason": "value: 'inf' is not a valid number",
            }
        ],
    )
    res = results(con)["quarantined_share"]
    assert res.failed == 1 and res.sample[0]["quarantined"] == (
        "assessments/2024/a.csv:7 (value: 'inf' is not a valid number)"
    )
    # A rejected file of assessments (its rows were never read): the same.
    con.execute("DELETE FROM quarantine; DELETE FROM ingested_files WHERE source = 'assessments'")
    put(
        con,
        "ingested_files",
        [
            files("assessments", 3, 3, 0, name="assessments/2024/a.csv"),
            files("assessments", 0, 0, 0, status="rejected", name="assessments/2024/b.xlsx"),
        ],
    )
    put(
        con,
        "quarantine",
        [
            {
                **quarantine_row("assessments", None, "file_rejected", 0),
                "file": "assessments/2024/b.xlsx",
                "reason": "file rejected: the file has 2 sheets",
            }
        ],
    )
    res = results(con)["quarantined_share"]
    assert res.failed == 1 and (res.sample[0]["rejected_files"], res.sample[0]["quarantined"]) == (
        1,
        "assessments/2024/b.xlsx:0 (file rejected: the file has 2 sheets)",
    )


def test_rejected_files_and_reconciliation(con: duckdb.DuckDBPyConnection) -> None:
    put(con, "ingested_files", [files("dossiers", 0, 0, 0, status="rejected", name="dossiers/2024/04/x.xlsx")])
    put(con, "quarantine", [quarantine_row("dossiers", None, "file_rejected", 0)])
    assert failing(con) == {"rejected_files": 1}  # a whole rejected file does not break the reconciliation
    put(con, "stg_capacity", [{"year": YEAR, "agency_code": "X2", "docs_sent_total": 1}])  # not in ingested_files
    put(con, "quarantine", [quarantine_row("services", "SO-A", "invalid", 7)])  # not counted in ingested_files
    res = results(con)["ingest_reconciliation"]
    assert res.failed == 2
    assert [(s["source"], s["rows_loaded"], s["rows_in_staging"], s["rows_in_quarantine"]) for s in res.sample] == [
        ("capacity", 4, 5, 0),
        ("services", 5, 5, 1),
    ]


def test_indicator_values_out_of_range(con: duckdb.DuckDBPyConnection) -> None:
    put(
        con,
        "indicator_values",
        [
            {**row, "source": "computed"}
            for row in [
                {"year": YEAR, "agency_code": "H1", "indicator_code": "edoc_ratio", "value": 1.3},
                {"year": YEAR, "agency_code": "X1", "indicator_code": "edoc_ratio", "value": -0.1},
                {
                    "year": YEAR,
                    "agency_code": "H1",
                    "indicator_code": "computers_per_staff",
                    "value": 2.5,
                },  # not a ratio
                {"year": YEAR, "agency_code": "X1", "indicator_code": "computers_per_staff", "value": 12.0},
                {"year": 2023, "agency_code": "X1", "indicator_code": "edoc_ratio", "value": 7.0},
            ]
        ],
    )  # another year
    assert failing(con) == {"indicator_ratio_out_of_range": 2, "indicator_out_of_bounds": 1}
    res = results(con)
    assert [(s["agency_code"], s["value"]) for s in res["indicator_ratio_out_of_range"].sample] == [
        ("H1", 1.3),
        ("X1", -0.1),
    ]
    assert res["indicator_out_of_bounds"].sample[0]["agency_code"] == "X1"


def test_rank_sequences(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("UPDATE rankings SET total_points = 90.004 WHERE agency_code = 'SO-B'")  # 90.00 ties SO-A: rank 1
    res = results(con)
    assert failing(con) == {"rankings_rank_sequence": 1}
    assert res["rankings_rank_sequence"].sample == [
        {
            "year": YEAR,
            "agency_group": "department",
            "agency_code": "SO-B",
            "total_points": 90.004,
            "rank": 2,
            "expected_rank": 1,
        }
    ]
    con.execute("UPDATE rankings SET rank = 1 WHERE agency_code = 'SO-B'")  # 1, 1: fine
    con.execute("DELETE FROM rankings WHERE agency_code = 'X1'")
    con.execute("UPDATE criterion_scores SET rank = 2 WHERE agency_code = 'SO-B'")  # tie with SO-A: rank 1
    assert failing(con) == {"rankings_missing_agencies": 1, "criterion_rank_sequence": 1}
    assert results(con)["rankings_missing_agencies"].sample[0]["agency_code"] == "X1"


def test_ranks_of_a_group_without_its_rubric_rounding_fail_not_rounded_to_2(con: duckdb.DuckDBPyConnection) -> None:
    """The rounding is the rubric's (rubric_classes.decimals): a group ranked without it is not checked against a
    rounding of 2 kept in the check (issue 25), every one of its ranks fails."""
    con.execute("DELETE FROM rubric_classes WHERE agency_group = 'department'")
    assert failing(con) == {"rankings_rank_sequence": 2, "criterion_rank_sequence": 2}
    assert {(s["agency_code"], s["expected_rank"]) for s in results(con)["rankings_rank_sequence"].sample} == {
        ("SO-A", None),
        ("SO-B", None),
    }


# --- the data_quality table and the summary -----------------------------------------------------------------


def tiny_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """SO-A sent 3 dossiers (plus 2 quarantined), an unknown agency 1, an unreadable line 1; SO-B no returns."""
    con = connect(path)
    put(
        con,
        "stg_agencies",
        [
            dict(zip(["agency_code", "agency_name", "agency_group", "valid_to"], a, strict=True))
            for a in [
                ("SO-A", "Sở Tư pháp", "department", None),
                ("SO-B", "Sở Y tế", "department", None),
                ("X2", "UBND xã Phú Hòa", "commune", "2024-06-30"),
            ]
        ],
    )
    put(con, "stg_services", [{"year": YEAR, "agency_code": "SO-A", "procedure_code": "P1", "level": 3}])
    put(con, "stg_dossiers", [dossier(f"D{i}", month=i, line=i + 1) for i in (1, 2, 3)])
    put(con, "stg_infrastructure", [{"year": YEAR, "agency_code": "SO-A", "staff_count": 10, "computers": 9}])
    put(
        con,
        "quarantine",
        [
            quarantine_row("dossiers", "SO-A", "duplicate", 5),
            quarantine_row("dossiers", "SO-A", "invalid", 6),
            quarantine_row("dossiers", "ZZ", "unknown_agency", 7),
            quarantine_row("dossiers", None, "unreadable_record", 8),
        ],
    )
    put(
        con,
        "ingested_files",
        [
            files("agencies", 3, 3, 0, year=None, name="agencies/a.csv"),
            files("services", 1, 1, 0),
            files("dossiers", 7, 3, 4),
            files("infrastructure", 1, 1, 0),
        ],
    )
    return con


def test_data_quality_rows(tmp_path: Path) -> None:
    thresholds = {**load_thresholds(), "min_rows_for_share": 0}  # judge the share of a tiny source
    con = tiny_warehouse(tmp_path / "w.duckdb")
    gx = {
        "stg_infrastructure": {
            "failed_expectations": [
                {"name": "computers_internet_not_above_computers", "severity": "critical", "unexpected_count": 1}
            ]
        }
    }
    # 6 sources × (3 agencies + '*'), ZZ, NULL, marts
    assert build_data_quality(con, [YEAR], gx, thresholds=thresholds) == 6 * 4 + 2 + 1
    rows = con.execute(
        "SELECT source, agency_code, rows_read, rows_loaded, rows_quarantined, quarantined_by_rule, "
        "missing_return, failed_checks FROM data_quality WHERE source IN ('dossiers', "
        "'infrastructure') ORDER BY ALL"
    ).fetchall()
    assert rows == [
        (
            "dossiers",
            "*",
            7,
            3,
            4,
            "duplicate: 1; invalid: 1; unknown_agency: 1; unreadable_record: 1",
            None,
            "quarantined_share [ERROR]: 1",
        ),
        ("dossiers", "SO-A", 5, 3, 2, "duplicate: 1; invalid: 1", None, None),
        ("dossiers", "SO-B", 0, 0, 0, None, None, None),
        ("dossiers", "X2", 0, 0, 0, None, None, None),
        ("dossiers", "ZZ", 1, 0, 1, "unknown_agency: 1", None, None),
        ("dossiers", None, 1, 0, 1, "unreadable_record: 1", None, None),
        (
            "infrastructure",
            "*",
            1,
            1,
            0,
            None,
            None,
            "missing_returns [WARN]: 1; gx stg_infrastructure.computers_internet_not_above_computers [ERROR]: 1",
        ),
        ("infrastructure", "SO-A", 1, 1, 0, None, False, None),
        ("infrastructure", "SO-B", 0, 0, 0, None, True, "missing_returns [WARN]: 1"),
        ("infrastructure", "X2", 0, 0, 0, None, None, None),  # not evaluated in 2024: no return asked
    ]
    before = con.execute("SELECT * FROM data_quality ORDER BY ALL").fetchall()
    assert build_data_quality(con, [YEAR], gx, thresholds=thresholds) == len(before)  # idempotent per year
    assert con.execute("SELECT * FROM data_quality ORDER BY ALL").fetchall() == before
    assert quality_summary(con, YEAR) == [
        "1 cơ quan chưa gửi báo cáo hạ tầng kỹ thuật năm 2024: Sở Y tế",
        # capacity, one_stop and assessments have no file at all in 2024: one line, not every agency's name
        "Năm 2024 không có tệp nào của nguồn sử dụng phần mềm một cửa điện tử; ứng dụng CNTT nội bộ, nhân lực và "
        "chính sách; chỉ số do đoàn đánh giá chấm – các chỉ số từ các nguồn này để trống (0 điểm).",
        "4 dòng hồ sơ thủ tục hành chính bị cách ly (57,1%): 1 trùng MaHoSo, 1 sai định dạng, "
        "1 mã cơ quan không có trong danh mục, 1 dòng không đọc được",
        "Kiểm tra chưa đạt (hồ sơ thủ tục hành chính): 1 nguồn dữ liệu có tỷ lệ dòng bị cách ly vượt ngưỡng (ERROR)",
        "Kiểm tra chưa đạt (hạ tầng kỹ thuật): 1 dòng vi phạm «Số máy tính kết nối Internet không vượt tổng số "
        "máy tính» (ERROR)",
    ]


def test_summary_of_clean_data(con: duckdb.DuckDBPyConnection) -> None:
    build_data_quality(con, [YEAR])
    assert quality_summary(con, YEAR) == [
        "Dữ liệu năm 2024: không có dòng bị cách ly, đủ báo cáo, mọi kiểm tra đều đạt."
    ]
    assert con.execute(
        "SELECT count(*) FROM data_quality WHERE failed_checks IS NOT NULL OR missing_return"
    ).fetchall() == [(0,)]


# --- Great Expectations -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gx_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One GX project per module (the context is cached per site directory)."""
    return tmp_path_factory.mktemp("data") / "quality" / "data_docs"


@pytest.fixture(scope="module")
def clean_frames(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from expectations.gx_runner import load_frames

    con = connect(tmp_path_factory.mktemp("wh") / "w.duckdb")
    build_clean(con)
    # the optional QĐ 766 sources, sent (their suites validate what the clean province has none of)
    put(
        con,
        "stg_ratings",
        [{"year": YEAR, "MaHoSo": "SO-A-1", "NgayDanhGia": datetime(YEAR, 1, 20, 9), "MucDo": 1, "KenhDanhGia": 1}],
    )
    put(
        con,
        "stg_feedback",
        [
            {
                "year": YEAR,
                "MaPhanAnh": "PA1",
                "DonViXuLy": "SO-A",
                "NgayTiepNhan": datetime(YEAR, 1, 5, 8),
                "HanXuLy": datetime(YEAR, 1, 15, 17),
                "NgayXuLy": datetime(YEAR, 1, 10, 9),
                "TrangThai": 3,
            }
        ],
    )
    frames = load_frames(con, [YEAR])
    con.close()
    return frames


def failed_names(result: dict[str, Any]) -> list[tuple[str, int | None]]:
    return [(f["name"], f["unexpected_count"]) for f in result["failed_expectations"]]


def test_suites_are_declared_for_every_table() -> None:
    assert set(SUITES) == set(STAGING_SUITES) | set(MART_SUITES)
    for name in SUITES:
        specs = suite_specs(name)
        assert len({s.name for s in specs}) == len(specs), f"{name}: expectation names must be unique"
        assert all(s.vi and s.severity in ("critical", "warning") for s in specs)
    with pytest.raises(KeyError, match="no expectation suite"):
        suite_specs("stg_dossiers")


def test_staging_suites_follow_their_contracts() -> None:
    """Every staging table but the dossier log (checked in SQL) has a suite holding what its contract says, column by
    column: a type, present when required, the allowed values, not negative with `min: 0`, and the key unique
    within the year."""
    contracts = {c.table: c for c in load_sources().values()}
    large = {t for t, c in contracts.items() if c.large}  # checked in SQL, GX on their monthly aggregates
    assert large == {"stg_dossiers", "stg_ratings"} == set(AGGREGATE_SUITES)
    assert set(STAGING_SUITES) == set(contracts) - large
    for table in STAGING_SUITES:
        contract, specs = contracts[table], {s.name: s for s in suite_specs(table)}
        typed = {
            s.column
            for s in specs.values()
            if s.kind in ("ExpectColumnValuesToBeOfType", "ExpectColumnValuesToBeInTypeList")
        }
        for col in contract.stored_columns:
            assert col.name in typed, f"{table}.{col.name}: no type expectation"
            if col.required:
                assert f"{col.name}_present" in specs, f"{table}.{col.name}: required"
            if col.allowed:
                assert specs[f"{col.name}_allowed"].kwargs["value_set"] == list(col.allowed), f"{table}.{col.name}"
            if col.min == 0:
                assert f"{col.name}_not_negative" in specs, f"{table}.{col.name}: min 0"
        key = ["year", *contract.unique] if contract.partitioned else list(contract.unique)
        assert f"{'_'.join(key)}_unique" in specs, table
    one_stop = {s.name: s for s in suite_specs("stg_one_stop")}
    assert one_stop["month_allowed"].kwargs["value_set"] == list(range(1, 13)) and "month_present" in one_stop
    assert {s.name: s.kwargs.get("value_set") for s in suite_specs("stg_services")}["level_allowed"] == [1, 2, 3, 4]


@pytest.mark.slow
def test_gx_clean_frames_pass_and_data_docs_are_published(clean_frames: dict[str, Any], gx_site: Path) -> None:
    from expectations.gx_runner import data_docs_index, validate_frames

    assert set(clean_frames) == set(SUITES)
    assert all(len(f) for f in clean_frames.values())
    res = validate_frames(clean_frames, gx_site, run_name=str(YEAR))
    assert not any(r["reused"] for r in res.values())  # validated now, not read back from stored results
    assert {n: failed_names(r) for n, r in res.items() if not r["success"]} == {}
    assert all(r["evaluated"] >= 10 and r["failed"] == 0 for r in res.values())
    index = data_docs_index(gx_site)
    assert index == gx_site / "index.html" and index.exists()
    html = index.read_text(encoding="utf-8")
    assert all(name in html for name in SUITES)
    assert not list((gx_site.parent / "gx").rglob("index.html"))  # no second, default site


def test_text_columns_without_a_character_to_escape_are_found_in_one_pass() -> None:
    """An Arrow-backed text column is escaped cell by cell only when its bytes hold one of & < > " ' (in UTF-8 no
    other character contains those bytes); any other column is looked at cell by cell as before."""
    import pandas as pd

    from expectations.suites import _nothing_to_escape, frame_for_data_docs

    plain = pd.Series(["SO-A", "Sở Tư pháp", None], dtype="str")
    assert _nothing_to_escape(plain)
    assert not _nothing_to_escape(pd.Series(["SO-A", "a<b"], dtype="str"))
    assert not _nothing_to_escape(pd.Series(["it's"], dtype="str"))
    assert not _nothing_to_escape(pd.Series(["SO-A"], dtype=object))  # not Arrow: cell by cell
    assert not _nothing_to_escape(pd.Series(["x&y", "SO-A"], dtype="str").iloc[1:])  # the buffer still holds x&y
    frame = pd.DataFrame({"code": plain, "name": pd.Series(["A & B", "<i>", "ç"], dtype="str")})
    escaped = frame_for_data_docs(frame)
    assert escaped["code"].tolist()[:2] == ["SO-A", "Sở Tư pháp"] and pd.isna(escaped["code"].iloc[2])
    assert escaped["name"].tolist() == ["A &amp; B", "&lt;i&gt;", "ç"]


@pytest.mark.slow
def test_gx_does_not_hash_the_frames_for_its_batch_markers(clean_frames: dict[str, Any], tmp_path: Path) -> None:
    """GX's own fingerprint of a frame (`pandas_data_fingerprint`, 3.7 s for 4.2M rows) is not computed: the
    stored validation results keep GX's other batch marker and every expectation's result."""
    from expectations.gx_runner import validate_frames

    site = tmp_path / "quality" / "data_docs"
    res = validate_frames({"stg_feedback": clean_frames["stg_feedback"]}, site, run_name=str(YEAR))
    assert res["stg_feedback"]["success"] and res["stg_feedback"]["evaluated"] >= 10
    stored = [json.loads(p.read_text()) for p in (site.parent / "gx").rglob("*.json")]
    markers = [r["meta"]["batch_markers"] for r in stored if "batch_markers" in r.get("meta", {})]
    assert len(markers) == 1
    assert "ge_load_time" in markers[0] and "pandas_data_fingerprint" not in markers[0]


@pytest.mark.slow
def test_gx_reports_exactly_the_planted_faults(clean_frames: dict[str, Any], gx_site: Path) -> None:
    import pandas as pd

    from expectations import gx_runner
    from expectations.gx_runner import validate_frames

    indicators = clean_frames["indicators"].copy()
    indicators.loc[indicators["indicator_code"] == "svc_online_ratio", "value"] = [1.3, 0.5]
    rankings = clean_frames["rankings"].copy()
    rankings.loc[rankings["agency_code"] == "X1", "agency_group"] = "province"
    rankings = pd.concat([rankings, rankings.iloc[[0]]], ignore_index=True)  # a duplicate key
    capacity = clean_frames["stg_capacity"].copy()
    capacity.loc[capacity["agency_code"] == "H1", "it_budget_vnd"] = -5
    infrastructure = clean_frames["stg_infrastructure"].copy()
    infrastructure.loc[infrastructure["agency_code"] == "X1", ["staff_count", "computers", "computers_internet"]] = [
        1,
        11,
        11,
    ]
    one_stop = clean_frames["stg_one_stop"].astype({"month": "Int32"})
    one_stop.loc[one_stop["agency_code"] == "H1", "month"] = None  # month is required by its contract
    bad = {
        "indicators": indicators,
        "rankings": rankings,
        "stg_capacity": capacity,
        "stg_infrastructure": infrastructure,
        "stg_one_stop": one_stop,
    }
    first = validate_frames(bad, gx_site)
    assert not any(r["reused"] for r in first.values())
    assert {n: failed_names(r) for n, r in first.items()} == {
        "indicators": [("ratio_value_in_0_1", 1)],
        "rankings": [("year_agency_group_agency_code_unique", 2), ("agency_group_allowed", 1)],
        "stg_capacity": [("it_budget_vnd_not_negative", 1)],
        "stg_infrastructure": [("computers_at_most_10x_staff", 1)],
        "stg_one_stop": [("month_present", 1)],
    }
    assert [(r["errors"], r["warnings"]) for r in first.values()] == [(1, 0), (2, 0), (1, 0), (0, 1), (1, 0)]
    ratio = first["indicators"]["failed_expectations"][0]
    assert ratio["expectation"] == "expect_column_values_to_be_between" and ratio["column"] == "value"
    assert ratio["sample"] == [1.3] and ratio["description"].startswith("Giá trị chỉ số tỷ lệ")
    # A rerun with the stored results and suite fingerprints forgotten: GX validates again and rewrites the
    # suites, validation definitions and checkpoints it already holds (add_or_update), with the same outcome.
    for stored in (gx_runner.VALIDATION_CACHE, "egov_suite_fingerprints.json"):
        (gx_site.parent / "gx" / stored).unlink()
    second = validate_frames(bad, gx_site)
    assert not any(r["reused"] for r in second.values())
    assert {n: failed_names(r) for n, r in second.items()} == {n: failed_names(r) for n, r in first.items()}
    third = validate_frames(bad, gx_site)  # nothing changed since: the stored results are returned as they were
    assert all(r["reused"] for r in third.values())
    assert {n: failed_names(r) for n, r in third.items()} == {n: failed_names(r) for n, r in first.items()}
    with pytest.raises(KeyError):
        validate_frames({"stg_dossiers": indicators}, gx_site)


@pytest.mark.slow
def test_gx_catches_impossible_profiles_and_what_if_steps(clean_frames: dict[str, Any], gx_site: Path) -> None:
    from expectations.gx_runner import validate_frames

    profiles = clean_frames["agency_profiles"].copy()
    profiles.loc[profiles["agency_code"] == "H1", "rank"] = 3  # 3rd of a group of 1
    what_if = clean_frames["what_if"].copy()
    what_if["required_value"] = 0.95  # above the rubric target (0.8): no value can be asked beyond the target
    scores = clean_frames["indicator_scores"].copy()
    scores.loc[scores["agency_code"] == "H1", "points"] = 9.0  # above the item's 8 points
    res = validate_frames({"agency_profiles": profiles, "what_if": what_if, "indicator_scores": scores}, gx_site)
    assert not any(r["reused"] for r in res.values())
    assert {n: failed_names(r) for n, r in res.items()} == {
        "agency_profiles": [("rank_not_above_group_size", 1)],
        "what_if": [("required_value_not_above_target", 1)],
        "indicator_scores": [("points_not_above_max_points", 1)],
    }


@pytest.mark.slow
def test_gx_keeps_a_bounded_history(clean_frames: dict[str, Any], tmp_path: Path) -> None:
    from expectations.gx_runner import validate_frames

    site = tmp_path / "quality" / "data_docs"
    services = clean_frames["stg_services"]

    def validate(run: int, keep_runs: int) -> None:  # a new content each time: validated, not read back
        frame = services.assign(procedure_name=services["procedure_name"] + f" (lần {run})")
        result = validate_frames({"stg_services": frame}, site, keep_runs=keep_runs)["stg_services"]
        assert result["success"] and not result["reused"]

    def kept() -> tuple[int, int]:
        return (
            len(list((site / "validations" / "stg_services").rglob("*.html"))),
            len(list((tmp_path / "quality" / "gx" / "uncommitted" / "validations").rglob("*.json"))),
        )

    for run in (1, 2, 3):
        validate(run, keep_runs=1)
    assert kept() == (1, 1)
    validate(4, keep_runs=2)
    assert kept() == (2, 2)


@pytest.mark.slow
def test_a_new_data_directory_starts_from_the_prepared_gx_project_of_the_same_suites(
    clean_frames: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first validation of a data directory keeps its GX project (suites, validation definitions, checkpoints;
    no results, no Data Docs) as the template of its suites; a new directory copies it instead of writing them
    again, gives the same summaries and its own Data Docs."""
    from expectations.gx_runner import validate_frames

    monkeypatch.setenv("EGOV_CACHE_DIR", str(tmp_path / "cache"))

    def suites(project: Path) -> dict[str, dict]:  # GX gives a suite a new random id each time it writes it
        return {f.stem: json.loads(f.read_text()) for f in (project / "gx" / "expectations").glob("*.json")}

    def summaries(results: dict[str, dict]) -> dict[str, dict]:
        return {n: {k: v for k, v in r.items() if k != "seconds"} for n, r in results.items()}

    first = validate_frames(clean_frames, tmp_path / "a" / "data_docs", run_name=str(YEAR))
    [template] = (tmp_path / "cache" / "gx-projects").glob("*/*")
    assert set(suites(tmp_path / "a")) == set(SUITES)
    assert not list(template.rglob("validations")) and not list(template.rglob("*.html"))

    second = validate_frames(clean_frames, tmp_path / "b" / "data_docs", run_name=str(YEAR))
    assert summaries(second) == summaries(first) and not any(r["reused"] for r in second.values())
    assert suites(tmp_path / "b") == suites(tmp_path / "a")  # the same ids: copied, not written again
    assert all((tmp_path / "b" / "data_docs" / "validations" / name).is_dir() for name in SUITES)
    assert str(tmp_path / "a") not in (tmp_path / "b" / "gx" / "great_expectations.yml").read_text()


def test_one_process_validating_site_after_site_holds_the_last_sites_gx_context_only(
    clean_frames: dict[str, Any], tmp_path: Path
) -> None:
    """A national run's GX worker validates province after province: it grew to 1.2 GB over 63 provinces while it
    kept every province's GX context (suites, checkpoints, stores). It now keeps the last site's only, and a site
    validated again is simply opened again, with the same results."""
    from expectations import gx_runner

    frames = {name: clean_frames[name] for name in ("rankings", "stg_services")}
    first = gx_runner.validate_frames(frames, tmp_path / "a" / "data_docs", run_name=str(YEAR))
    gx_runner.validate_frames(frames, tmp_path / "b" / "data_docs", run_name=str(YEAR))
    assert list(gx_runner._contexts) == [str((tmp_path / "b" / "data_docs").resolve())]
    assert {ctx for ctx, _ in gx_runner._loaded_checkpoints} == {id(next(iter(gx_runner._contexts.values())))}
    again = gx_runner.validate_frames(frames, tmp_path / "a" / "data_docs", run_name=f"{YEAR}-again")
    assert {n: r["failed"] for n, r in again.items()} == {n: r["failed"] for n, r in first.items()}
    assert list(gx_runner._contexts) == [str((tmp_path / "a" / "data_docs").resolve())]


def test_a_directory_with_fewer_tables_keeps_a_template_of_its_own_suites_and_a_fuller_one_extends_it(
    clean_frames: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A data directory without the optional QĐ 766 sources validates 13 of the 15 tables: the next directory like
    it copies those 13 suites instead of writing them again; a directory with every table copies the 13, writes
    the 2 others, and keeps the fuller template for the directories after it."""
    from expectations.gx_runner import validate_frames

    monkeypatch.setenv("EGOV_CACHE_DIR", str(tmp_path / "cache"))
    optional = {"rating_month", "stg_feedback"}  # the ratings' aggregate and the feedback
    fewer = {n: f for n, f in clean_frames.items() if n not in optional}
    assert len(fewer) == len(clean_frames) - 2

    def ids(project: Path) -> dict[str, str]:  # GX gives a suite a new random id each time it writes it
        return {f.stem: json.loads(f.read_text())["id"] for f in (project / "gx" / "expectations").glob("*.json")}

    validate_frames(fewer, tmp_path / "a" / "data_docs", run_name=str(YEAR))
    validate_frames(fewer, tmp_path / "b" / "data_docs", run_name=str(YEAR))
    assert set(ids(tmp_path / "a")) == set(fewer) and ids(tmp_path / "b") == ids(tmp_path / "a")
    validate_frames(clean_frames, tmp_path / "c" / "data_docs", run_name=str(YEAR))
    c = ids(tmp_path / "c")
    assert {n: c[n] for n in fewer} == ids(tmp_path / "a") and set(c) == set(clean_frames)
    validate_frames(clean_frames, tmp_path / "d" / "data_docs", run_name=str(YEAR))
    assert ids(tmp_path / "d") == c  # every suite copied, none written


def rating(day: int, level: int = 1, channel: int | None = 1, *, file: str = "r.csv", line: int = 2) -> dict[str, Any]:
    """A rating of the clean province's dossier SO-A-1 (agency SO-A), on a January day of YEAR."""
    return {
        "year": YEAR,
        "MaHoSo": "SO-A-1",
        "NgayDanhGia": datetime(YEAR, 1, day, 9),
        "MucDo": level,
        "KenhDanhGia": channel,
        "source_file": f"ratings/{YEAR}/{file}",
        "source_line": line,
    }


def test_the_ratings_are_checked_row_by_row_in_sql(con: duckdb.DuckDBPyConnection) -> None:
    """The ratings grow with the dossiers (config/sources.yaml `large`): their rows are checked in DuckDB, not loaded
    into pandas for GX. A second copy of a rating (same MaHoSo and NgayDanhGia, another file) and each rating with a
    code outside its list are counted once, under the rated dossier's agency; an empty KenhDanhGia is allowed."""
    stage(
        con,
        "ratings",
        [
            rating(20, file="a.csv"),
            rating(20, file="b.csv", line=7),  # the surplus copy
            rating(21, level=5, line=3),
            rating(22, level=2, channel=7, line=4),
            rating(23, level=2, channel=None, line=5),
        ],
    )
    res = results(con)
    assert failing(con) == {"rating_duplicate_key": 1, "rating_codes_out_of_range": 2}
    dup = res["rating_duplicate_key"]
    assert dup.by_key == {(YEAR, "ratings", "*"): 1, (YEAR, "ratings", "SO-A"): 1}
    assert [(s["source_file"], s["source_line"]) for s in dup.sample] == [(f"ratings/{YEAR}/b.csv", 7)]
    problems = {s["source_line"]: s["problem"] for s in res["rating_codes_out_of_range"].sample}
    assert problems == {3: "MucDo=5", 4: "KenhDanhGia=7"}


def test_the_ratings_monthly_aggregate_is_what_gx_validates(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """GX validates the ratings through `rating_month` (sql/rating_month.sql): per year and month the ratings, the
    dossiers rated and a count per level of the contract (MucDo); its suite passes on them."""
    import re

    from expectations import SQL_DIR
    from expectations.gx_runner import load_frames, validate_frames
    from expectations.suites import _rating_levels

    levels = re.findall(r"AS level_(\d+)", (SQL_DIR / "rating_month.sql").read_text(encoding="utf-8"))
    assert [int(v) for v in levels] == list(_rating_levels()) == [1, 2, 3, 4]  # the contract's MucDo, in order
    stage(con, "ratings", [rating(20), rating(21, level=2, line=3), rating(22, level=2, line=4)])
    put(con, "stg_ratings", [{**rating(3, level=4, line=9), "NgayDanhGia": datetime(YEAR, 3, 3, 9)}])
    frame = load_frames(con, [YEAR], ["rating_month"])["rating_month"]
    assert frame.to_dict("records") == [
        {"year": YEAR, "month": 1, "ratings": 3, "rated_dossiers": 1, "level_1": 1, "level_2": 2, "level_3": 0,
         "level_4": 0},
        {"year": YEAR, "month": 3, "ratings": 1, "rated_dossiers": 1, "level_1": 0, "level_2": 0, "level_3": 0,
         "level_4": 1},
    ]  # fmt: skip
    res = validate_frames({"rating_month": frame}, tmp_path / "data_docs", run_name=str(YEAR))
    assert res["rating_month"]["success"] and res["rating_month"]["evaluated"] >= 20


def test_a_handful_of_rows_is_not_judged_on_its_quarantined_share(tmp_path: Path) -> None:
    """4 of 7 dossier rows quarantined is 57%, but 7 rows are no sample: the blocking check passes."""
    from expectations.sql_checks import run_sql_checks

    con = tiny_warehouse(tmp_path / "w.duckdb")
    [result] = run_sql_checks(con, [2024], names=["quarantined_share"])
    assert result.passed and result.failed == 0


def test_a_class_label_reaches_the_data_docs_as_text(tmp_path: Path) -> None:
    """A rubric's class label `<script>alert(1)</script>` (any text a deployment writes) is shown, never run, in
    the Data Docs: GX puts an expectation's description into the page as HTML (issue 24)."""
    import pandas as pd
    import yaml

    from expectations.gx_runner import validate_frames
    from pipelines.core.registry import load_registry

    base = tmp_path / "data"
    (base / "rubrics").mkdir(parents=True)
    rubric = yaml.safe_load((PROJECT / "config" / "rubrics" / "2016.yaml").read_text(encoding="utf-8"))
    label = "<script>alert(1)</script>"
    rubric["classification"] = [{"label": label, "min": 80}, {"label": "Khá & <b>giỏi</b>", "min": 0}]
    (base / "rubrics" / "2016.yaml").write_text(yaml.safe_dump(rubric, allow_unicode=True), encoding="utf-8")
    registry = load_registry(base)
    frame = pd.DataFrame(
        {
            "year": [YEAR, YEAR],
            "agency_group": ["department"] * 2,
            "agency_code": ["SO-A", "SO-B"],
            "agency_name": ["Sở Tư pháp", "Sở Y tế"],
            "total_points": [90.0, 10.0],
            "max_points": [100.0, 100.0],
            "index_value": [0.9, 0.1],
            "rank": [1, 2],
            "classification": [label, "<i>ngoài danh mục</i>"],  # the second fails: a value shown too
            "unranked_reason": [None, None],
        }
    )
    site = base / "quality" / "data_docs"
    result = validate_frames({"rankings": frame}, site, registry=registry)["rankings"]
    assert [f["name"] for f in result["failed_expectations"]] == ["classification_allowed"]
    pages = {p: p.read_text(encoding="utf-8") for p in site.rglob("*.html")}
    shown = [p for p, text in pages.items() if "Xếp loại là một trong:" in text]
    assert {p.parent.name for p in shown} >= {"expectations"} and len(shown) >= 2  # the suite and the result
    for path, text in pages.items():
        assert "<script>alert(1)" not in text and "<b>giỏi" not in text and "<i>ngoài" not in text, path
    for path in shown:
        assert (
            "Xếp loại là một trong: Tốt, Khá, Trung bình, Yếu, &lt;script&gt;alert(1)&lt;/script&gt;, "
            "Khá &amp; &lt;b&gt;giỏi&lt;/b&gt;"
        ) in pages[path], path


def test_superseded_versions_are_not_rows_of_the_quarantined_share(con: duckdb.DuckDBPyConnection) -> None:
    """Records that change (docs/raw_contracts.md): of 1,000 dossier rows read, 894 are older versions superseded by
    later ones. The share is 6 quarantined of the 106 records (5.7%, over the 5% threshold, from 100 rows), not of
    the 1,000 rows (0.6%), in the check, the data quality table's totals and the summary alike."""
    con.execute("DELETE FROM ingested_files WHERE source = 'dossiers'")
    put(con, "ingested_files", [{**files("dossiers", 1000, 100, 6), "rows_superseded": 894}])
    put(con, "quarantine", [quarantine_row("dossiers", "SO-A", "invalid", line) for line in range(2, 8)])
    res = results(con)["quarantined_share"]
    assert (res.failed, res.sample[0]["rows_read"], res.sample[0]["share"]) == (1, 106, 0.0566)
    build_data_quality(con, [YEAR])
    assert con.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM data_quality "
        "WHERE year = ? AND source = 'dossiers' AND agency_code = '*'",
        [YEAR],
    ).fetchall() == [(106, 100, 6)]
    assert "6 dòng hồ sơ thủ tục hành chính bị cách ly (5,7%): 6 sai định dạng" in quality_summary(con, YEAR)
