"""The methodology sheet ("Phương pháp"): the year's rubric of the ranked groups (criteria, indicators with their
Vietnamese names, points per group variant, targets and scoring methods, class thresholds) and how robust the
ranking is when the methodology moves (rank intervals, Sobol indices), from the marts tables rubric_items,
rubric_classes, rubric_criteria (nested criteria by their path, the rules of every node other than the sum),
indicator_catalogue, scoring_methods, uncertainty_settings and rank_sensitivity."""

from __future__ import annotations

from typing import Any

import duckdb
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from assets.reports.common import uncertainty_settings
from assets.reports.data import RankedGroup
from assets.reports.workbook.formats import (
    INTERVAL_HEADING,
    METHOD_SHEET,
    Formats,
    heading_row,
    number,
    text,
    text_sheet,
)
from pipelines.core.methods import DEFAULT_METHOD, summary_vi
from pipelines.core.vietnamese import vn_number


def _variants(rows: list[tuple], groups: list[str], labels: dict[str, str]) -> list[tuple[str, list[str], Any]]:
    """Groups sharing the same rows are shown once: [(heading label, groups, rows), …] in group order."""
    by_group: dict[str, list[tuple]] = {}
    for group, *rest in rows:
        by_group.setdefault(group, []).append(tuple(rest))
    variants: list[tuple[list[str], tuple]] = []
    for g in groups:
        key = tuple(by_group.get(g, []))
        if not key:
            continue
        for members, existing in variants:
            if existing == key:
                members.append(g)
                break
        else:
            variants.append(([g], key))
    return [(", ".join(labels.get(g, g) for g in members), members, key) for members, key in variants]


AGGREGATE_VI = {
    "arithmetic": "cộng điểm các thành phần",
    "geometric": "trung bình nhân có trọng số của tỷ lệ điểm các thành phần (một thành phần 0 điểm thì bằng 0)",
}
MISSING_VI = {
    "zero": "thành phần không có số liệu được 0 điểm",
    "skip": "bỏ qua thành phần không có số liệu, chia lại trọng số cho các thành phần còn lại",
}


def _tree(con: duckdb.DuckDBPyConnection, year: int, groups: list[str]) -> tuple[dict[str, str], list[str]]:
    """For a rubric with nested criteria or other rules than the sum (rubric_criteria, rubric_classes; docs/rubrics.md
    §2c): each criterion's path of names ("Chỉ số phụ A › Trụ cột A1") and a sentence per rule in Vietnamese;
    nothing for a rubric of one level that sums its points (the sheet stays as it was)."""
    rows = con.execute(
        "SELECT DISTINCT criterion_code, criterion_name, parent_code, level, aggregate, missing, min_coverage "
        "FROM rubric_criteria WHERE year = ? AND list_contains(?, agency_group) ORDER BY level, criterion_code",
        [year, groups],
    ).fetchall()
    totals = con.execute(
        "SELECT DISTINCT aggregate, missing, min_coverage, rounding FROM rubric_classes "
        "WHERE year = ? AND list_contains(?, agency_group) ORDER BY ALL",
        [year, groups],
    ).fetchall()
    names = {code: name for code, name, *_ in rows}
    parents = {code: parent for code, _, parent, *_ in rows}

    def path(code: str) -> str:
        return f"{path(parents[code])} › {names[code]}" if parents.get(code) else names[code]

    def rule(aggregate: str, missing: str, coverage: float) -> str:
        sentence = f"{AGGREGATE_VI.get(aggregate, aggregate)}; {MISSING_VI.get(missing, missing)}"
        if coverage:
            sentence += f"; cần số liệu cho ít nhất {vn_number(coverage * 100, None)}% trọng số"
        return sentence

    plain = ("arithmetic", "zero", 0.0)
    lines = [f"Tổng điểm: {rule(*t[:3])}." for t in totals if tuple(t[:3]) != plain]
    lines += [f"Tiêu chí «{path(code)}»: {rule(a, m, c)}." for code, _, _, _, a, m, c in rows if (a, m, c) != plain]
    if any(t[3] == "index" for t in totals):
        lines.append("Xếp loại và xếp hạng theo chỉ số (tổng điểm / điểm tối đa) đã làm tròn.")
    nested = any(level > 1 for _, _, _, level, *_ in rows)
    if nested:
        lines.insert(
            0,
            "Bộ chỉ số có tiêu chí nhiều cấp: điểm của một tiêu chí tổng hợp từ các tiêu chí con của nó (cột «Tiêu "
            "chí» ghi cả đường dẫn); mỗi tiêu chí ở mọi cấp đều được chấm và xếp hạng.",
        )
    return ({code: path(code) for code in names} if nested else {}), lines


def _method_descriptions(con: duckdb.DuckDBPyConnection, used: list[str]) -> list[tuple[str, str]]:
    """(method, Vietnamese formula) of the methods used: from the marts' scoring_methods, else the registry."""
    from pipelines.core.methods import METHODS

    found = dict(con.execute("SELECT method, description_vi FROM scoring_methods").fetchall())
    return [(m, found.get(m) or (METHODS[m].description_vi if m in METHODS else m)) for m in used]


def method_sheet(
    wb: Workbook,
    fmt: Formats,
    con: duckdb.DuckDBPyConnection,
    year: int,
    ranked: list[RankedGroup],
    labels: dict[str, str],
) -> None:
    """The year's rubric: criteria, indicators, points per group variant, targets, classes, and the robustness."""
    groups = [g["group"] for g in ranked]
    rubric_years = sorted({r["rubric_year"] for g in ranked for r in g["rows"]})
    decimals = max(g["decimals"] for g in ranked)
    ws = text_sheet(
        wb, fmt, METHOD_SHEET, [44, 28, 52, 11, 20], f"Phương pháp đánh giá, xếp hạng mức độ ứng dụng CNTT năm {year}"
    )
    items = con.execute(
        "SELECT agency_group, criterion_order, criterion_code, criterion_name, item_order, indicator_code, points, "
        "target, method, CAST(params AS VARCHAR) FROM rubric_items WHERE year = ? AND list_contains(?, agency_group) "
        "ORDER BY agency_group, criterion_order, item_order",
        [year, groups],
    ).fetchall()
    used = sorted({r[8] or DEFAULT_METHOD for r in items})
    lines = [f"Bộ chỉ số áp dụng: bộ chỉ số năm {', '.join(map(str, rubric_years)) or '(không rõ)'}."]
    descriptions = _method_descriptions(con, used or [DEFAULT_METHOD])
    if len(descriptions) == 1:  # one method (the standard rubric: target): its formula in the sentence
        lines.append(
            f"Điểm đạt của mỗi chỉ số: {descriptions[0][1]} Chỉ số không có số liệu (cơ quan chưa gửi báo "
            "cáo) được 0 điểm. Chỉ số dạng có/không (0/1) có mục tiêu là 1."
        )
    else:
        lines.append(
            "Điểm đạt của mỗi chỉ số = điểm tối đa của chỉ số × tỷ lệ điểm theo phương pháp chấm của chỉ số "
            "(cột «Cách chấm»); chỉ số không có số liệu được 0 điểm. Các phương pháp dùng năm nay:"
        )
        lines += [f"– {method}: {formula}" for method, formula in descriptions]
    lines += [
        f"Tổng điểm = tổng điểm đạt của các chỉ số, làm tròn {decimals} chữ số; Chỉ số = tổng điểm / điểm tối đa "
        "(0 đến 1).",
        "Xếp hạng trong từng năm và nhóm cơ quan theo tổng điểm giảm dần; bằng điểm thì đồng hạng (1, 2, 2, 4).",
    ]
    paths, rules = _tree(con, year, groups)
    lines += rules
    row = 1
    for line in lines:
        ws.write_string(row, 0, line, fmt.text)
        row += 1
    row += 1

    names = dict(
        con.execute("SELECT indicator_code, label_vi FROM indicator_catalogue WHERE label_vi IS NOT NULL").fetchall()
    )
    variants = _variants(items, groups, labels)

    ws.write_string(row, 0, "1. Tiêu chí, chỉ số thành phần và điểm", fmt.section)
    row += 1
    how_col = 4 + len(variants) if used not in ([], [DEFAULT_METHOD]) else None  # "Cách chấm": other methods only
    heads = ["Tiêu chí", "Mã chỉ số", "Chỉ số thành phần", "Mục tiêu", *(f"Điểm – {label}" for label, _, _ in variants)]
    heading_row(ws, fmt, row, heads + (["Cách chấm"] if how_col else []))
    if how_col:
        ws.set_column(how_col, how_col, 44)
    row += 1
    # The union of every variant's criteria and items, in rubric order (a district's extra criterion last).
    criteria: dict[str, tuple[str, dict[str, tuple]]] = {}
    points: list[dict[tuple[str, str], float]] = []
    for _, _, key in variants:
        got: dict[tuple[str, str], float] = {}
        for _, ccode, cname, _, icode, pts, target, method, params in key:
            criteria.setdefault(ccode, (cname, {}))[1].setdefault(icode, (target, method, params))
            got[(ccode, icode)] = pts
        points.append(got)
    for ccode, (cname, indicators) in criteria.items():
        text(ws, row, 0, paths.get(ccode, cname), fmt.bold_text)
        for col in (1, 2, 3):
            ws.write_blank(row, col, None, fmt.bold_text)
        for v, got in enumerate(points):
            total = [p for (c, _), p in got.items() if c == ccode]
            if total:
                ws.write_number(row, 4 + v, round(sum(total), 9), fmt.bold_points)
            else:
                ws.write_string(row, 4 + v, "không áp dụng", fmt.bold_text)
        row += 1
        for icode, (target, method, params) in indicators.items():
            ws.write_blank(row, 0, None, fmt.cell_text)
            text(ws, row, 1, icode, fmt.cell_text)
            text(ws, row, 2, names.get(icode, icode), fmt.cell_wrap)
            if target is None:  # relative to the group (fraction_of_max, minmax)
                ws.write_string(row, 3, "theo nhóm", fmt.cell_center)
            else:
                ws.write_number(row, 3, target, fmt.cell_points)
            if how_col:
                text(ws, row, how_col, summary_vi(method or DEFAULT_METHOD, params), fmt.cell_wrap)
            for v, got in enumerate(points):
                if (ccode, icode) in got:
                    ws.write_number(row, 4 + v, got[(ccode, icode)], fmt.cell_points)
                else:
                    ws.write_string(row, 4 + v, "–", fmt.cell_center)
            row += 1
    ws.write_string(row, 0, "Tổng điểm tối đa", fmt.bold_text)
    for col in (1, 2, 3):
        ws.write_blank(row, col, None, fmt.bold_text)
    for v, got in enumerate(points):
        ws.write_number(row, 4 + v, round(sum(got.values()), 9), fmt.bold_points)
    row += 2

    ws.write_string(row, 0, f"2. Xếp loại theo tổng điểm (làm tròn {decimals} chữ số)", fmt.section)
    row += 1
    classes = con.execute(
        "SELECT agency_group, label, min_total FROM rubric_classes WHERE year = ? "
        "ORDER BY agency_group, min_total DESC",
        [year],
    ).fetchall()
    class_variants = _variants(classes, groups, labels)
    heads = ["Xếp loại", *(f"Từ (điểm) – {label}" for label, _, _ in class_variants)]
    heading_row(ws, fmt, row, heads)
    row += 1
    order: dict[str, float] = {}
    for _, _, key in class_variants:
        for label, minimum in key:
            order[label] = max(order.get(label, minimum), minimum)
    for label in sorted(order, key=lambda lab: -order[lab]):
        text(ws, row, 0, label, fmt.class_cells.get(label, fmt.bold_text))
        for v, (_, _, key) in enumerate(class_variants):
            mins = dict(key)
            number(ws, row, 1 + v, mins.get(label), fmt.cell_points)
        row += 1
    ws.write_string(
        row, 0, "Mỗi loại áp dụng từ điểm tối thiểu của loại đến dưới điểm tối thiểu của loại cao hơn.", fmt.note
    )
    _robustness_section(ws, fmt, con, year, groups, labels, row + 2)


def _what_moved(settings: dict) -> str:
    """The uncertainty runs' settings in a sentence of the methodology sheet."""
    sentence = (
        f"Xếp hạng được tính lại {settings['runs']:,} lần".replace(",", ".")
        + f"; mỗi lần, điểm tối đa của từng chỉ số được nhân với một hệ số ngẫu nhiên trong khoảng "
        f"±{vn_number(settings['weights'] * 100, None)}% rồi quy lại để tổng điểm tối đa không đổi"
    )
    if settings["targets"]:
        sentence += f", mục tiêu (tham số chấm) của từng chỉ số thay đổi ±{vn_number(settings['targets'] * 100, None)}%"
    if settings["methods"] not in (None, "", "{}"):
        sentence += ", một số chỉ số được chấm ngẫu nhiên theo một trong các phương pháp bộ chỉ số cho phép"
    return sentence + "."


def _robustness_section(
    ws: Worksheet,
    fmt: Formats,
    con: duckdb.DuckDBPyConnection,
    year: int,
    groups: list[str],
    labels: dict[str, str],
    row: int,
) -> None:
    """Section 3: how the rank intervals were made, and which criteria drive the ranking most (Sobol indices)."""
    settings = uncertainty_settings(con, year)
    if settings is None:
        return
    ws.write_string(row, 0, "3. Độ vững của xếp hạng khi phương pháp thay đổi", fmt.section)
    lines = [
        _what_moved(settings),
        f"«{INTERVAL_HEADING}» ở các sheet xếp hạng: hạng của cơ quan trong 90% số lần tính lại (bỏ 5% tốt nhất "
        "và 5% kém nhất). Khoảng này cho biết thứ hạng phụ thuộc bao nhiêu vào lựa chọn trọng số của bộ chỉ số; "
        "nó không phản ánh sai số của số liệu.",
        "Ảnh hưởng của tiêu chí: chỉ số Sobol toàn phần của trọng số các chỉ số thuộc tiêu chí đối với mức thay "
        "đổi thứ hạng bình quân (0: không ảnh hưởng; gần 1: quyết định gần như toàn bộ mức thay đổi).",
    ]
    sensitivity = con.execute(
        "SELECT s.agency_group, s.criterion_code, any_value(r.criterion_name), s.total_order "
        "FROM rank_sensitivity AS s LEFT JOIN rubric_items AS r USING (year, agency_group, criterion_code) "
        "WHERE s.year = ? GROUP BY ALL ORDER BY s.agency_group, s.total_order DESC NULLS LAST",
        [year],
    ).fetchall()
    by_group: dict[str, list[tuple[str, str, float | None]]] = {}
    for group, code, name, total in sensitivity:
        by_group.setdefault(group, []).append((code, name or code, total))
    for group in groups:
        ranked = [(name, total) for _, name, total in by_group.get(group, []) if total is not None]
        if ranked:
            top = "; ".join(f"{name} ({vn_number(total, 2)})" for name, total in ranked[:2])
            lines.append(f"{labels.get(group, group)}: tiêu chí ảnh hưởng nhiều nhất đến xếp hạng: {top}.")
        elif group in by_group:
            lines.append(f"{labels.get(group, group)}: thứ hạng không thay đổi khi trọng số thay đổi.")
    row += 1
    for line in lines:
        ws.write_string(row, 0, line, fmt.text)
        row += 1
    shown = [g for g in groups if g in by_group]
    if not shown:
        return
    row += 1
    heading_row(ws, fmt, row, ["Tiêu chí", *(f"Ảnh hưởng – {labels.get(g, g)}" for g in shown)], height=48)
    row += 1
    order = dict(
        con.execute(
            "SELECT criterion_code, min(criterion_order) FROM rubric_items WHERE year = ? GROUP BY ALL", [year]
        ).fetchall()
    )
    names = dict(
        sorted(
            {code: name for rows in by_group.values() for code, name, _ in rows}.items(),
            key=lambda kv: (order.get(kv[0], 1 << 30), kv[0]),
        )
    )
    totals = {(g, code): total for g in shown for code, _, total in by_group[g]}
    for code, name in names.items():
        text(ws, row, 0, name, fmt.cell_wrap)
        for col, g in enumerate(shown, start=1):
            value = totals.get((g, code))
            if (g, code) in totals and value is not None:
                ws.write_number(row, col, value, fmt.cell_index)
            else:
                ws.write_string(row, col, "–", fmt.cell_center)
        row += 1
