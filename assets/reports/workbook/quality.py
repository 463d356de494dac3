"""The data-quality sheet ("Lưu ý chất lượng dữ liệu"): the year's caveats in plain Vietnamese (expectations.sql_checks'
quality_summary), then the missing returns, the quarantined rows per agency and the rejected files in detail."""

from __future__ import annotations

import duckdb
from xlsxwriter.workbook import Workbook

from assets.reports.common import agency_groups, group_of
from assets.reports.workbook.formats import QUALITY_SHEET, Formats, table, text_sheet
from expectations.sql_checks import REGISTRY, SOURCE_LABELS, SOURCES, quality_summary, rule_label

NAMES = "LEFT JOIN agencies AS a ON a.agency_code = d.agency_code"  # an agency's name and group, by its code


def _rules_text(source: str, by_rule: str | None) -> str:
    """'duplicate: 2; invalid: 1' → 'trùng MaHoSo: 2; sai định dạng: 1'."""
    parts = []
    for part in (by_rule or "").split(";"):
        rule, _, n = part.strip().partition(":")
        if rule:
            parts.append(f"{rule_label(source, rule.strip())}: {n.strip()}" if n else rule_label(source, rule))
    return "; ".join(parts)


def quality_sheet(
    wb: Workbook, fmt: Formats, con: duckdb.DuckDBPyConnection, year: int, labels: dict[str, str]
) -> None:
    ws = text_sheet(wb, fmt, QUALITY_SHEET, [28, 40, 22, 48, 14], f"Lưu ý về chất lượng dữ liệu năm {year}")
    ws.write_string(
        1,
        0,
        "Các lưu ý dưới đây giúp đọc đúng kết quả xếp hạng: chỉ số của báo cáo chưa gửi được 0 "
        "điểm; dòng dữ liệu bị cách ly không được tính.",
        fmt.note,
    )
    row = 3
    ws.write_string(row, 0, "1. Tóm tắt", fmt.section)
    row += 1
    for line in quality_summary(con, year):
        ws.merge_range(row, 0, row, 5, "", fmt.wrap)
        ws.write_string(row, 0, f"• {line}", fmt.wrap)
        ws.set_row(row, 16 * (1 + len(line) // 140))
        row += 1
    row += 1

    missing = con.execute(
        "SELECT d.agency_code, a.agency_name, a.agency_group, list(d.source ORDER BY d.source) "
        f"FROM data_quality AS d {NAMES} WHERE d.year = ? AND d.missing_return GROUP BY ALL",
        [year],
    ).fetchall()
    groups = agency_groups(con)
    missing.sort(key=lambda r: (group_of(groups, r[2]).order if r[2] else 1 << 31, r[0]))
    ws.write_string(row, 0, f"2. Cơ quan chưa gửi báo cáo năm {year} ({len(missing)} cơ quan)", fmt.section)
    row += 1
    if missing:
        row = table(
            ws,
            fmt,
            row,
            ["Mã cơ quan", "Tên cơ quan", "Nhóm cơ quan", "Báo cáo chưa gửi"],
            [
                [code, name, labels.get(group, group), "; ".join(SOURCE_LABELS.get(s, s) for s in sources)]
                for code, name, group, sources in missing
            ],
        )
    else:
        ws.write_string(row, 0, "Mọi cơ quan được đánh giá đã gửi đủ báo cáo.", fmt.text)
        row += 2

    quarantined = con.execute(
        "SELECT d.agency_code, a.agency_name, a.agency_group, d.source, d.rows_quarantined, d.quarantined_by_rule "
        f"FROM data_quality AS d {NAMES} WHERE d.year = ? AND d.agency_code IS DISTINCT FROM '*' "
        "AND d.rows_quarantined > 0 ORDER BY d.agency_code NULLS LAST, d.source",
        [year],
    ).fetchall()
    ws.write_string(row, 0, "3. Dòng dữ liệu bị cách ly (không được tính), theo cơ quan", fmt.section)
    row += 1
    if quarantined:
        row = table(
            ws,
            fmt,
            row,
            ["Mã cơ quan", "Tên cơ quan", "Nguồn dữ liệu", "Lý do", "Số dòng"],
            [
                [
                    code
                    or (
                        "(không đọc được mã cơ quan)"
                        if source not in SOURCES or SOURCES[source].agency_column
                        else "(cơ quan lấy từ hồ sơ)"
                    ),  # a rating: its agency is its dossier's
                    name or ("mã không có trong danh mục cơ quan" if code else ""),
                    SOURCE_LABELS.get(source, source),
                    _rules_text(source, rules),
                    int(n),
                ]
                for code, name, _, source, n, rules in quarantined
            ],
        )
    else:
        ws.write_string(row, 0, "Không có dòng nào của cơ quan bị cách ly.", fmt.text)
        row += 2

    files = con.execute(
        "SELECT source, file, message FROM ingested_files WHERE status = 'rejected' "
        "AND (year = ? OR (year IS NULL AND source = ?)) ORDER BY source, file",
        [year, REGISTRY],
    ).fetchall()
    ws.write_string(row, 0, "4. Tệp bị từ chối cả tệp", fmt.section)
    row += 1
    if files:
        table(
            ws,
            fmt,
            row,
            ["Nguồn dữ liệu", "Tệp", "Lý do (thông báo của hệ thống)"],
            [[SOURCE_LABELS.get(s, s), f, m] for s, f, m in files],
        )
    else:
        ws.write_string(row, 0, "Không có tệp nào bị từ chối.", fmt.text)
