"""Indicators (docs/domain.md §4): exact values on hand-computed fixtures, edge cases, idempotence, year to date."""

from __future__ import annotations

import duckdb
import pytest

from assets.indicators.build import build_dossier_ytd, build_indicators, load_indicator_catalogue
from pipelines.core.warehouse import connect

DOSSIER_COLS = (
    "year, MaHoSo, MaTTHC, DonViXuLy, KenhThucHien, MucDo, NgayTiepNhan, NgayHenTra, NgayKetThucXuLy, "
    "NgayTra, TrangThaiHoSo, LePhi, DuocThanhToanTrucTuyen, HoSoCoThanhPhanSoHoa, LoaiDoiTuong"
)


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = connect(":memory:")
    con.execute("""INSERT INTO stg_agencies (agency_code, agency_name, agency_group, parent_code, valid_from, valid_to)
        VALUES ('QN', 'Sở mẫu Quảng Nam', 'department', NULL, NULL, NULL),
               ('D1', 'Sở Tư pháp', 'department', NULL, NULL, NULL),
               ('H1', 'UBND huyện Một', 'district', NULL, NULL, NULL),
               ('H2', 'UBND huyện Hai', 'district', NULL, NULL, NULL),
               ('X1', 'UBND xã Một', 'commune', 'H1', NULL, NULL),
               ('X2', 'UBND xã Hai', 'commune', 'H1', NULL, NULL),
               ('X3', 'UBND xã Ba', 'commune', 'H1', NULL, NULL),
               ('X9', 'UBND xã đã sáp nhập', 'commune', 'H1', NULL, DATE '2023-06-30')""")
    return con


def values(con: duckdb.DuckDBPyConnection, agency: str, year: int = 2024) -> dict[str, tuple]:
    rows = con.execute(
        "SELECT indicator_code, numerator, denominator, value FROM indicator_values WHERE agency_code = ? AND year = ?",
        [agency, year],
    ).fetchall()
    return {code: (num, den, val) for code, num, den, val in rows}


def add_dossiers(con, sql_select: str) -> None:
    con.execute(f"INSERT INTO stg_dossiers ({DOSSIER_COLS}) {sql_select}")


def test_quang_nam_2020_catalogue_and_online_dossier_figures(con):
    """The seed's figures: 539 of 1,800 procedures at level 3, 253 at level 4; 6,630/31,701 and 2,830/7,789."""
    con.execute("""INSERT INTO stg_services (year, agency_code, procedure_code, level)
        SELECT 2024, 'QN', 'P' || i, CASE WHEN i < 539 THEN 3 WHEN i < 792 THEN 4 ELSE 2 END FROM range(1800) t(i)""")
    ts = "TIMESTAMP '2024-03-01 08:00:00'"
    add_dossiers(
        con,
        f"""
        SELECT 2024, 'A' || i, 'P0', 'QN', CASE WHEN i < 6630 THEN 2 ELSE 1 END, NULL, {ts}, NULL, NULL, NULL,
               4, 0, 0, 0, 1 FROM range(31701) t(i)
        UNION ALL
        SELECT 2024, 'B' || i, 'P600', 'QN', CASE WHEN i < 2830 THEN 2 ELSE 1 END, NULL, {ts}, NULL, NULL, NULL,
               4, 0, 0, 0, 1 FROM range(7789) t(i)""",
    )
    build_indicators(con, [2024])
    v = values(con, "QN")
    assert v["svc_level3_ratio"] == (539, 1800, pytest.approx(0.29944, abs=1e-5))
    assert round(v["svc_level3_ratio"][2] * 100, 1) == 29.9
    assert round(v["svc_level4_ratio"][2] * 100, 1) == 14.1
    assert v["svc_online_ratio"][:2] == (792, 1800)
    assert v["dossier_online_ratio_l3"][:2] == (6630, 31701) and round(v["dossier_online_ratio_l3"][2] * 100, 1) == 20.9
    assert v["dossier_online_ratio_l4"][:2] == (2830, 7789) and round(v["dossier_online_ratio_l4"][2] * 100, 1) == 36.3
    assert v["dossier_online_ratio"][:2] == (6630 + 2830, 31701 + 7789)
    assert v["svc_with_online_dossier_ratio"][:2] == (2, 792)  # P0 and P600 received online dossiers


def test_accepted_levels_on_time_fees_and_digitisation(con):
    con.execute("""INSERT INTO stg_services (year, agency_code, procedure_code, level) VALUES
        (2024, 'D1', 'L2', 2), (2024, 'D1', 'L3', 3), (2024, 'D1', 'L4', 4), (2024, 'D1', 'L4b', 4)""")
    t0, t1, t2 = "TIMESTAMP '2024-01-10 08:00'", "TIMESTAMP '2024-01-15 08:00'", "TIMESTAMP '2024-01-20 08:00'"
    add_dossiers(
        con,
        f"""VALUES
        (2024, 'a', 'L3', 'D1', 2, NULL, {t0}, {t1}, {t0}, {t1}, 10, 50000, 1, 1, 1),  -- online L3, on time, paid
        (2024, 'b', 'L3', 'D1', 1, NULL, {t0}, {t1}, {t2}, {t2}, 9, 50000, 0, 0, 1),   -- in person L3, late
        (2024, 'c', 'L3', 'D1', 2, NULL, {t0}, {t1}, NULL, NULL, 3, 0, 0, 1, 1),        -- refused: not accepted
        (2024, 'd', 'L3', 'D1', 2, NULL, {t0}, {t1}, NULL, NULL, 1, 0, 0, 1, 1),        -- only registered
        (2024, 'e', 'L2', 'D1', 2, 4, {t0}, {t1}, NULL, NULL, 10, 0, 0, 0, 1),          -- MucDo 4 beats catalogue 2
        (2024, 'f', 'L4', 'D1', 2, 2, {t0}, {t1}, {t0}, NULL, 4, 0, 0, 0, 1),           -- MucDo 2 beats catalogue 4
        (2024, 'g', 'L4', 'D1', 1, NULL, {t0}, NULL, {t0}, NULL, 9, 20000, 2, 1, 2)     -- processed, no due date
    """,
    )
    build_indicators(con, [2024])
    v = values(con, "D1")
    # Accepted dossiers of online services: a, b (L3), e (MucDo 4), g (L4); f counts as level 2.
    assert v["dossier_online_ratio"][:2] == (2, 4)
    assert v["dossier_online_ratio_l3"][:2] == (1, 2)
    assert v["dossier_online_ratio_l4"][:2] == (1, 2)
    assert v["dossier_on_time_ratio"][:2] == (1, 4)  # a on time; b late; e and g without dates are not on time
    assert v["dossier_paid_online_ratio"][:2] == (2, 3)  # a, g paid online of a, b, g
    assert v["dossier_digitized_ratio"][:2] == (2, 5)  # accepted: a, b, e, f, g
    # Online catalogue services L3, L4, L4b; online accepted dossiers landed on L3 (a) and L4 (f, as level 2).
    assert v["svc_with_online_dossier_ratio"][:2] == (2, 3)
    assert v["svc_online_ratio"][:2] == (3, 4) and v["svc_level4_ratio"][:2] == (2, 4)


def test_satisfaction_ratio_counts_each_dossiers_latest_rating_of_the_year(con):
    """satisfaction_ratio (issue 27): satisfied (MucDo 1, 2) of the ratings given in the year, a dossier's latest
    of the year counting once, by the dossier's agency (a 2023 dossier rated in 2024 counts in 2024)."""
    t0 = "TIMESTAMP '2024-01-10 08:00'"
    add_dossiers(
        con,
        f"""VALUES
        (2024, 'a', 'P', 'D1', 2, NULL, {t0}, NULL, NULL, NULL, 10, 0, 0, 1, 1),
        (2024, 'b', 'P', 'D1', 2, NULL, {t0}, NULL, NULL, NULL, 10, 0, 0, 1, 1),
        (2024, 'c', 'P', 'D1', 2, NULL, {t0}, NULL, NULL, NULL, 10, 0, 0, 1, 1),
        (2023, 'd', 'P', 'D1', 2, NULL, TIMESTAMP '2023-12-20 08:00', NULL, NULL, NULL, 10, 0, 0, 1, 1),
        (2024, 'e', 'P', 'H1', 2, NULL, {t0}, NULL, NULL, NULL, 10, 0, 0, 1, 1)""",
    )
    con.execute("""INSERT INTO stg_ratings (year, MaHoSo, NgayDanhGia, MucDo, KenhDanhGia) VALUES
        (2024, 'a', TIMESTAMP '2024-01-12 08:00', 1, 1),   -- very satisfied
        (2024, 'b', TIMESTAMP '2024-01-12 08:00', 2, 1),   -- satisfied, then
        (2024, 'b', TIMESTAMP '2024-02-01 08:00', 4, 2),   -- not satisfied: the latest counts
        (2024, 'c', TIMESTAMP '2024-01-12 08:00', 3, 3),   -- neutral
        (2024, 'd', TIMESTAMP '2024-01-05 08:00', 2, 1),   -- a 2023 dossier rated in 2024
        (2023, 'a', TIMESTAMP '2023-12-30 08:00', 4, 1)    -- another year's rating: not in 2024's""")
    build_indicators(con, [2024])
    assert values(con, "D1")["satisfaction_ratio"] == (2, 4, 0.5)  # a, d of a, b, c, d
    assert values(con, "H1")["satisfaction_ratio"] == (0, 0, None)  # no rating: no value, not 0
    assert values(con, "X1")["satisfaction_ratio"] == (0, 0, None)


def test_zero_denominators_and_missing_returns_give_null_rows(con):
    build_indicators(con, [2024])
    v = values(con, "D1")
    assert v["svc_online_ratio"] == (0, 0, None)
    assert v["dossier_online_ratio"] == (0, 0, None)
    assert v["computers_per_staff"] == (None, None, None)  # no infrastructure return
    assert v["edoc_ratio"] == (None, None, None)  # no capacity return
    assert v["one_stop_in_software_ratio"] == (None, None, None)
    codes = {i["code"] for i in load_indicator_catalogue()}
    assert set(v) == {c for c in codes if not c.startswith("commune_")}
    assert set(values(con, "H1")) == codes  # districts also get the commune roll-ups
    assert "X9" not in {a for (a,) in con.execute("SELECT DISTINCT agency_code FROM indicator_values").fetchall()}


def test_return_indicators_flags_and_security_measures(con):
    con.execute("""INSERT INTO stg_infrastructure (year, agency_code, staff_count, computers, computers_internet,
        has_lan, bandwidth_mbps, has_firewall, has_antivirus, has_backup, security_assessed, offline_computer_secret,
        has_website) VALUES (2024, 'D1', 40, 50, 45, 1, 100, 1, 1, 0, 0, 1, 1)""")
    con.execute("""INSERT INTO stg_capacity (year, agency_code, docs_sent_total, docs_sent_electronic,
        docs_signed_digital, staff_with_email, it_staff, it_staff_security_trained, staff_it_trained, has_it_plan,
        has_it_regulation, it_budget_vnd) VALUES (2024, 'D1', 1000, 900, 450, 38, 2, 1, 30, 1, 0, 0)""")
    con.execute(
        "INSERT INTO stg_one_stop (year, month, agency_code, uses_software, dossiers_in_software, "
        "dossiers_total) VALUES (2024, 1, 'D1', 1, 80, 100), (2024, 2, 'D1', 1, 100, 100)"
    )
    build_indicators(con, [2024])
    v = values(con, "D1")
    assert v["computers_per_staff"] == (50, 40, 1.25)
    assert v["internet_computer_ratio"] == (45, 50, 0.9)
    assert v["has_lan"] == (1, 1, 1) and v["security_assessed"] == (0, 1, 0)
    assert v["security_measures"] == (2, 3, pytest.approx(2 / 3))
    assert v["edoc_ratio"] == (900, 1000, 0.9) and v["esign_ratio"] == (450, 900, 0.5)
    assert v["official_email_ratio"] == (38, 40, 0.95) and v["staff_it_trained_ratio"] == (30, 40, 0.75)
    assert v["it_staff_present"] == (1, 1, 1) and v["it_security_trained_ratio"] == (1, 2, 0.5)
    assert v["has_it_plan"][2] == 1 and v["has_it_regulation"][2] == 0 and v["has_it_budget"][2] == 0
    assert v["one_stop_in_software_ratio"] == (180, 200, 0.9)


def test_commune_roll_ups_of_a_district(con):
    con.execute("""INSERT INTO stg_infrastructure (year, agency_code, staff_count, computers, has_lan, has_website)
        VALUES (2024, 'X1', 20, 10, 1, 0), (2024, 'X2', 20, 30, 0, 1)""")  # X3 sent no return
    con.execute(
        "INSERT INTO stg_one_stop (year, month, agency_code, uses_software) VALUES "
        "(2024, 1, 'X1', 0), (2024, 2, 'X1', 1), (2024, 1, 'X2', 0), (2024, 1, 'X3', 0)"
    )
    build_indicators(con, [2024])
    h1 = values(con, "H1")
    assert h1["commune_computers_ratio"] == (1.5, 2, 0.75)  # (0.5 + min(1.5, 1)) / 2
    assert h1["commune_lan_ratio"] == (1, 2, 0.5)
    assert h1["commune_website_ratio"] == (1, 2, 0.5)
    assert h1["commune_one_stop_ratio"] == (1, 3, pytest.approx(1 / 3))  # X9 no longer exists in 2024
    assert values(con, "H2")["commune_lan_ratio"] == (0, 0, None)  # a district without communes


def test_assessments_replace_or_add_indicators(con):
    con.execute(
        "INSERT INTO stg_assessments (year, agency_code, indicator_code, value) VALUES "
        "(2024, 'D1', 'security_assessed', 1), (2024, 'D1', 'portal_quality', 0.8)"
    )
    build_indicators(con, [2024])
    v = values(con, "D1")
    assert v["security_assessed"] == (1, None, 1) and v["portal_quality"] == (0.8, None, 0.8)
    sources = dict(
        con.execute(
            "SELECT indicator_code, source FROM indicator_values WHERE agency_code = 'D1' "
            "AND indicator_code IN ('security_assessed', 'has_lan')"
        ).fetchall()
    )
    assert sources == {"security_assessed": "assessment", "has_lan": "computed"}
    assert (
        con.execute(
            "SELECT count(*) FROM indicator_values WHERE agency_code = 'D1' AND indicator_code = 'security_assessed'"
        ).fetchall()[0][0]
        == 1
    )


def test_rebuild_is_idempotent_and_other_years_untouched(con):
    con.execute(
        "INSERT INTO stg_services (year, agency_code, procedure_code, level) VALUES "
        "(2023, 'D1', 'P', 3), (2024, 'D1', 'P', 4)"
    )
    build_indicators(con, [2023, 2024])
    first = con.execute("SELECT * FROM indicator_values ORDER BY ALL").fetchall()
    build_indicators(con, [2024])
    assert con.execute("SELECT * FROM indicator_values ORDER BY ALL").fetchall() == first
    assert values(con, "D1", 2023)["svc_level3_ratio"] == (1, 1, 1)


def test_year_to_date_scorecard_by_month_and_province(con):
    con.execute(
        "INSERT INTO stg_services (year, agency_code, procedure_code, level) VALUES "
        "(2024, 'D1', 'P', 3), (2024, 'QN', 'Q', 4)"
    )
    add_dossiers(
        con,
        """VALUES
        (2024, 'a', 'P', 'D1', 2, NULL, TIMESTAMP '2024-01-05 08:00', NULL, NULL, NULL, 4, 0, 0, 0, 1),
        (2024, 'b', 'P', 'D1', 1, NULL, TIMESTAMP '2024-02-05 08:00', NULL, NULL, NULL, 4, 0, 0, 0, 1),
        (2024, 'c', 'Q', 'QN', 1, NULL, TIMESTAMP '2024-02-07 08:00', NULL, NULL, NULL, 4, 0, 0, 0, 1),
        (2024, 'd', 'Q', 'QN', 2, NULL, TIMESTAMP '2024-03-07 08:00', NULL, NULL, NULL, 4, 0, 0, 0, 1)""",
    )
    build_dossier_ytd(con, [2024])

    def ytd(agency: str, month: int, code: str = "dossier_online_ratio") -> tuple:
        return con.execute(
            "SELECT numerator, denominator, value FROM dossier_indicators_ytd WHERE year = 2024 "
            "AND month = ? AND agency_code = ? AND indicator_code = ?",
            [month, agency, code],
        ).fetchall()[0]

    assert ytd("D1", 1) == (1, 1, 1.0)
    assert ytd("D1", 2) == (1, 2, 0.5)
    assert ytd("*", 2) == (1, 3, pytest.approx(1 / 3))
    assert ytd("*", 3) == (2, 4, 0.5)
    assert ytd("*", 2, "svc_with_online_dossier_ratio") == (1, 2, 0.5)
    assert ytd("*", 3, "svc_with_online_dossier_ratio") == (2, 2, 1.0)
    assert con.execute("SELECT max(month) FROM dossier_indicators_ytd").fetchall()[0][0] == 3
