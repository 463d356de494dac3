"""Expectation suites as code: one per small staging table and per mart table (suite name = table name).

Suites are declared as plain `Spec` data so they can be listed and tested without importing Great Expectations;
`build_suite` turns them into GX objects at validation time. The big dossier log is not validated row by row
here (DuckDB SQL does that, see sql_checks.py): its GX suite runs on `dossier_agency_month`, a per-agency
monthly aggregate. Descriptions are in Vietnamese because data stewards read them in the Data Docs.

Types: frames are expected as DuckDB returns them (`con.sql(q).df()`); integer columns may be int32/int64 or
their nullable forms, numeric ones any int or float, text the pandas `str` dtype.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pipelines.core.registry import Registry, load_registry
from pipelines.core.registry.sources import load_sources
from pipelines.core.registry.thresholds import load_thresholds

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd

INDICATOR_SOURCES = ["computed", "assessment"]
INT_TYPES = ["int8", "int16", "int32", "int64", "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype"]
NUM_TYPES = [*INT_TYPES, "float32", "float64", "Float32Dtype", "Float64Dtype"]

# Columns computed from a frame before validation (pandas.eval expressions), for rules GX cannot express
# directly on two columns with a factor (computers ≤ 10 × staff_count).
DERIVED_COLUMNS: dict[str, dict[str, str]] = {
    "stg_infrastructure": {"computers_per_staff": "computers / staff_count"},
}


@dataclass(frozen=True)
class Spec:
    """One expectation: GX class name, a stable snake_case name, a Vietnamese description, its kwargs.

    `when` restricts it to rows matching (column, operator, value), operator one of ==, !=, in, not_in, is_null
    (value unused).
    `severity` is "critical" (wrong data: block) or "warning" (implausible: look at it).
    """

    kind: str
    name: str
    vi: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    when: tuple[str, str, Any] | None = None
    severity: str = "critical"

    @property
    def column(self) -> str | None:
        k = self.kwargs
        if "column" in k:
            return k["column"]
        if "column_list" in k:
            return ", ".join(k["column_list"])
        if "column_A" in k:
            return f"{k['column_A']}, {k['column_B']}"
        return None


# --- small builders -----------------------------------------------------------------------------------------

def ints(*cols: str) -> list[Spec]:
    return [Spec("ExpectColumnValuesToBeInTypeList", f"{c}_is_integer", f"{c} là số nguyên",
                 {"column": c, "type_list": INT_TYPES}) for c in cols]


def nums(*cols: str) -> list[Spec]:
    return [Spec("ExpectColumnValuesToBeInTypeList", f"{c}_is_number", f"{c} là số",
                 {"column": c, "type_list": NUM_TYPES}) for c in cols]


def texts(*cols: str) -> list[Spec]:
    return [Spec("ExpectColumnValuesToBeOfType", f"{c}_is_text", f"{c} là chuỗi ký tự",
                 {"column": c, "type_": "str"}) for c in cols]


def not_null(*cols: str) -> list[Spec]:
    return [Spec("ExpectColumnValuesToNotBeNull", f"{c}_present", f"{c} không được để trống",
                 {"column": c}) for c in cols]


def unique(*cols: str, vi: str | None = None) -> Spec:
    text = vi or f"Mỗi ({', '.join(cols)}) chỉ xuất hiện một lần"
    if len(cols) == 1:
        return Spec("ExpectColumnValuesToBeUnique", f"{cols[0]}_unique", text, {"column": cols[0]})
    return Spec("ExpectCompoundColumnsToBeUnique", f"{'_'.join(cols)}_unique", text, {"column_list": list(cols)})


def in_set(col: str, values: list[Any], vi: str, *, severity: str = "critical") -> Spec:
    return Spec("ExpectColumnValuesToBeInSet", f"{col}_allowed", vi, {"column": col, "value_set": values},
                severity=severity)


def between(col: str, lo: float | None, hi: float | None, vi: str, *, name: str | None = None,
            when: tuple[str, str, Any] | None = None, severity: str = "critical", strict_min: bool = False) -> Spec:
    kwargs: dict[str, Any] = {"column": col, "min_value": lo, "max_value": hi}
    if strict_min:
        kwargs["strict_min"] = True
    return Spec("ExpectColumnValuesToBeBetween", name or f"{col}_in_range", vi, kwargs, when=when,
                severity=severity)


def counts(*cols: str) -> list[Spec]:
    """Counts: integer and never negative."""
    return ints(*cols) + [between(c, 0, None, f"{c} không âm", name=f"{c}_not_negative") for c in cols]


def flags(*cols: str) -> list[Spec]:
    return ints(*cols) + [in_set(c, [0, 1], f"{c} là cờ 0/1") for c in cols]


def at_most(part: str, whole: str, vi: str, *, severity: str = "critical") -> Spec:
    """part ≤ whole on rows where both are known."""
    return Spec("ExpectColumnPairValuesAToBeGreaterThanB", f"{part}_not_above_{whole}", vi,
                {"column_A": whole, "column_B": part, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
                severity=severity)


def year_range(col: str = "year") -> list[Spec]:
    return ints(col) + not_null(col) + [between(col, 2000, 2100, "Năm đánh giá trong khoảng 2000–2100",
                                                name="year_plausible")]


def bounded_values(col: str, registry: Registry) -> list[Spec]:
    """Indicator values: ratios in [0, 1], the non-ratio indicators within their range: the rubrics'
    assessed_indicators min/max, else thresholds.yaml indicator_bounds (the widest any year gives: a suite is not
    per year; ingestion checks each year's own range)."""
    bounds = registry.widest_value_ranges()
    specs = [between(col, 0, 1, "Giá trị chỉ số tỷ lệ phải nằm trong [0, 1]", name="ratio_value_in_0_1",
                     when=("indicator_code", "not_in", sorted(bounds)) if bounds else None)]
    specs += [between(col, lo, hi, f"{code} phải nằm trong [{lo}, {hi}]", name=f"{code}_in_range",
                      when=("indicator_code", "==", code), severity="warning")
              for code, (lo, hi) in sorted(bounds.items())]
    return specs


def groups_allowed(registry: Registry) -> Spec:
    """agency_group is a group of the registry: config/methodology.yaml's or one a rubric declares."""
    codes = registry.group_codes
    return in_set("agency_group", codes, f"Nhóm cơ quan là một trong: {', '.join(codes)}")


def classes_allowed(registry: Registry) -> Spec:
    """The classification is a class label of a rubric (or of the default classification)."""
    labels = registry.classification_labels
    return in_set("classification", labels, f"Xếp loại là một trong: {', '.join(labels)}")


# --- the suites (each takes the registry of the data directory validated) -------------------------------------


def stg_agencies(registry: Registry) -> list[Spec]:
    return [
        *texts("agency_code", "agency_name", "agency_group"),
        *not_null("agency_code", "agency_name", "agency_group"),
        unique("agency_code", vi="Mỗi mã cơ quan chỉ có một dòng trong danh mục"),
        groups_allowed(registry),
        at_most("valid_from", "valid_to", "Ngày hết hiệu lực không trước ngày bắt đầu hiệu lực"),
        Spec("ExpectColumnValuesToNotBeNull", "commune_has_parent", "UBND xã phải có huyện trực thuộc (parent_code)",
             {"column": "parent_code"}, when=("agency_group", "==", "commune"), severity="warning"),
    ]


def stg_services(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code", "procedure_code"), *not_null("agency_code", "procedure_code"),
        unique("year", "agency_code", "procedure_code", vi="Mỗi thủ tục chỉ một dòng cho mỗi cơ quan và năm"),
        *ints("level"),
        in_set("level", [1, 2, 3, 4], "Mức độ dịch vụ công là 1–4 (trống: không trực tuyến)"),
        *flags("has_fee"),
    ]


def stg_one_stop(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code"), *not_null("agency_code"), *ints("month"),
        in_set("month", list(range(1, 13)), "Tháng từ 1 đến 12"),
        unique("year", "month", "agency_code", vi="Mỗi cơ quan một dòng cho mỗi tháng"),
        *flags("uses_software"), *counts("dossiers_in_software", "dossiers_total"),
        at_most("dossiers_in_software", "dossiers_total",
                "Số hồ sơ trên phần mềm không vượt tổng số hồ sơ tiếp nhận"),
        between("dossiers_in_software", 0, 0, "Không dùng phần mềm một cửa thì không có hồ sơ trên phần mềm",
                name="no_software_no_dossiers_in_software", when=("uses_software", "==", 0), severity="warning"),
    ]


def stg_infrastructure(registry: Registry) -> list[Spec]:
    max_per_staff = load_thresholds()["indicator_bounds"].get("computers_per_staff", [0, 10])[1]
    return [
        *year_range(), *texts("agency_code"), *not_null("agency_code"),
        unique("year", "agency_code", vi="Mỗi cơ quan một báo cáo hạ tầng mỗi năm"),
        *counts("staff_count", "computers", "computers_internet"),
        *nums("bandwidth_mbps"), between("bandwidth_mbps", 0, None, "Băng thông không âm",
                                         name="bandwidth_mbps_not_negative"),
        *flags("has_lan", "has_firewall", "has_antivirus", "has_backup", "security_assessed",
               "offline_computer_secret", "has_website"),
        at_most("computers_internet", "computers", "Số máy tính kết nối Internet không vượt tổng số máy tính"),
        between("staff_count", 1, None, "Cơ quan có ít nhất một cán bộ (0 làm các tỷ lệ theo cán bộ bị trống)",
                name="staff_count_positive", severity="warning"),
        between("computers_per_staff", 0, max_per_staff,
                f"Số máy tính không quá {max_per_staff} lần số cán bộ (nghi nhập nhầm số liệu)",
                name="computers_at_most_10x_staff", severity="warning"),
    ]


def stg_capacity(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code"), *not_null("agency_code"),
        unique("year", "agency_code", vi="Mỗi cơ quan một báo cáo ứng dụng CNTT mỗi năm"),
        *counts("docs_sent_total", "docs_sent_electronic", "docs_signed_digital", "staff_with_email", "it_staff",
                "it_staff_security_trained", "staff_it_trained", "it_budget_vnd"),
        *flags("has_it_plan", "has_it_regulation"),
        at_most("docs_sent_electronic", "docs_sent_total", "Văn bản gửi điện tử không vượt tổng số văn bản gửi"),
        at_most("docs_signed_digital", "docs_sent_electronic",
                "Văn bản ký số không vượt số văn bản gửi điện tử"),
        at_most("it_staff_security_trained", "it_staff",
                "Cán bộ chuyên trách CNTT được đào tạo ATTT không vượt số cán bộ chuyên trách"),
    ]


def stg_assessments(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code", "indicator_code"), *not_null("agency_code", "indicator_code", "value"),
        unique("year", "agency_code", "indicator_code", vi="Mỗi chỉ số chấm một lần cho mỗi cơ quan và năm"),
        *nums("value"), *bounded_values("value", registry),
    ]


def indicators(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code", "indicator_code"), *not_null("agency_code", "indicator_code"),
        unique("year", "agency_code", "indicator_code", vi="Mỗi chỉ số một giá trị cho mỗi cơ quan và năm"),
        *nums("numerator", "denominator", "value"), *bounded_values("value", registry),
        # counts are not negative; an assessed value (numerator = value) may be, where its range allows (GDP growth)
        between("numerator", 0, None, "Tử số (số đếm) không âm", name="numerator_not_negative",
                when=("source", "==", "computed")),
        between("denominator", 0, None, "Mẫu số không âm", name="denominator_not_negative"),
        Spec("ExpectColumnValuesToBeNull", "value_null_when_denominator_zero",
             "Mẫu số bằng 0 thì giá trị để trống (NULL), không tính là 0", {"column": "value"},
             when=("denominator", "==", 0)),
        in_set("source", INDICATOR_SOURCES, "Nguồn: computed (tính từ dữ liệu) hoặc assessment (đoàn chấm)",
               severity="warning"),
    ]


def indicator_scores(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code", "agency_group", "criterion_code", "indicator_code"),
        # points: NULL for an indicator without a value under missing: skip (left out of its criterion)
        *not_null("agency_code", "criterion_code", "indicator_code", "max_points"),
        unique("year", "agency_code", "criterion_code", "indicator_code",
               vi="Mỗi chỉ số của bộ chỉ số được chấm một lần cho mỗi cơ quan và năm"),
        groups_allowed(registry),
        *nums("value", "target", "points", "max_points"),
        between("points", 0, None, "Điểm đạt không âm", name="points_not_negative"),
        at_most("points", "max_points", "Điểm đạt không vượt điểm tối đa của chỉ số"),
    ]


def agency_profiles(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code", "agency_group", "classification"),
        *not_null("agency_code", "total_points", "points_lost", "rank", "group_size", "classification"),
        unique("year", "agency_code", vi="Mỗi cơ quan một hồ sơ xếp hạng mỗi năm"),
        classes_allowed(registry),
        *ints("rank", "group_size"),
        between("points_lost", 0, None, "Điểm bị mất không âm", name="points_lost_not_negative"),
        at_most("rank", "group_size", "Thứ hạng không vượt số cơ quan của nhóm"),
        at_most("total_points", "max_points", "Tổng điểm không vượt điểm tối đa"),
        between("points_to_next_class", 0, None, "Điểm còn thiếu để lên loại lớn hơn 0",
                name="points_to_next_class_positive", strict_min=True),
        between("points_to_pass_above", 0, None, "Điểm còn thiếu để vượt cơ quan xếp trên lớn hơn 0",
                name="points_to_pass_above_positive", strict_min=True),
    ]


def what_if(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code", "goal", "indicator_code"),
        *not_null("agency_code", "goal", "step", "indicator_code", "required_value", "points_gained"),
        unique("year", "agency_code", "goal", "step", vi="Mỗi bước của một mục tiêu xuất hiện một lần"),
        in_set("goal", ["next_class", "pass_agency_above"], "Mục tiêu: lên loại (next_class) hoặc vượt cơ quan "
               "xếp trên (pass_agency_above)"),
        *ints("step"), between("step", 1, None, "Bước từ 1 trở lên", name="step_at_least_1"),
        between("points_needed", 0, None, "Điểm cần thêm lớn hơn 0", name="points_needed_positive",
                strict_min=True),
        between("points_gained", 0, None, "Mỗi bước thêm được điểm", name="points_gained_positive",
                strict_min=True),
        # lower is better (processing days): the value to reach lies above the best one
        replace(at_most("required_value", "target", "Giá trị cần đạt không vượt mục tiêu của bộ chỉ số"),
                when=("lower_is_better", "!=", True)),
        at_most("current_points", "new_points", "Điểm sau cải thiện không thấp hơn điểm hiện tại"),
    ]


def criterion_scores(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_code", "agency_group", "criterion_code"),
        # points and rank: NULL for a criterion without enough data (missing: skip, min_coverage)
        *not_null("agency_code", "criterion_code", "max_points"),
        unique("year", "agency_code", "criterion_code", vi="Mỗi tiêu chí một dòng cho mỗi cơ quan và năm"),
        groups_allowed(registry),
        *nums("points", "max_points"), *ints("rank"),
        between("points", 0, None, "Điểm tiêu chí không âm", name="points_not_negative"),
        between("max_points", 0, None, "Điểm tối đa của tiêu chí lớn hơn 0", name="max_points_positive",
                strict_min=True),
        at_most("points", "max_points", "Điểm tiêu chí không vượt điểm tối đa"),
        between("rank", 1, None, "Thứ hạng theo tiêu chí từ 1 trở lên", name="rank_at_least_1"),
    ]


def rankings(registry: Registry) -> list[Spec]:
    return [
        *year_range(), *texts("agency_group", "agency_code", "agency_name", "classification"),
        *not_null("agency_code", "agency_name", "max_points"),
        # a unit without enough data for a total is listed unranked, with its reason, and only then
        *[replace(spec, when=("unranked_reason", "is_null", None))
          for spec in not_null("total_points", "index_value", "rank", "classification")],
        unique("year", "agency_group", "agency_code", vi="Mỗi cơ quan xếp hạng một lần trong nhóm mỗi năm"),
        groups_allowed(registry),
        classes_allowed(registry),
        *nums("total_points", "max_points", "index_value"), *ints("rank"),
        between("total_points", 0, None, "Tổng điểm không âm", name="total_points_not_negative"),
        between("max_points", 0, None, "Điểm tối đa lớn hơn 0", name="max_points_positive", strict_min=True),
        at_most("total_points", "max_points", "Tổng điểm không vượt điểm tối đa"),
        between("index_value", 0, 1, "Chỉ số (tổng điểm / điểm tối đa) trong [0, 1]", name="index_value_in_0_1"),
        between("rank", 1, None, "Thứ hạng từ 1 trở lên", name="rank_at_least_1"),
    ]


def dossier_agency_month(registry: Registry) -> list[Spec]:
    measures = ("dossiers", "accepted", "online", "finished", "on_time", "with_fee", "paid_online", "digitised")
    return [
        *year_range(), *texts("agency_code"), *not_null("agency_code"), *ints("month"),
        in_set("month", list(range(1, 13)), "Tháng tiếp nhận từ 1 đến 12"),
        unique("year", "month", "agency_code", vi="Một dòng cho mỗi cơ quan và tháng"),
        *counts(*measures),
        between("dossiers", 1, None, "Mỗi dòng có ít nhất một hồ sơ", name="dossiers_at_least_1"),
        at_most("accepted", "dossiers", "Hồ sơ được tiếp nhận hợp lệ không vượt tổng số hồ sơ"),
        at_most("online", "accepted", "Hồ sơ trực tuyến không vượt số hồ sơ được tiếp nhận"),
        at_most("finished", "dossiers", "Hồ sơ đã giải quyết không vượt tổng số hồ sơ"),
        at_most("on_time", "finished", "Hồ sơ đúng hạn không vượt số hồ sơ đã giải quyết"),
        at_most("paid_online", "with_fee", "Hồ sơ thanh toán trực tuyến không vượt số hồ sơ có phí"),
        at_most("digitised", "accepted", "Hồ sơ được số hóa không vượt số hồ sơ được tiếp nhận"),
    ]


SUITES: dict[str, Callable[[Registry], list[Spec]]] = {
    "stg_agencies": stg_agencies, "stg_services": stg_services, "stg_one_stop": stg_one_stop,
    "stg_infrastructure": stg_infrastructure, "stg_capacity": stg_capacity, "stg_assessments": stg_assessments,
    "indicators": indicators, "indicator_scores": indicator_scores, "criterion_scores": criterion_scores,
    "rankings": rankings, "agency_profiles": agency_profiles, "what_if": what_if,
    "dossier_agency_month": dossier_agency_month,
}

# Staging suites: the sources' tables that have a suite (the dossier log is validated through its monthly
# aggregate `dossier_agency_month`); mart suites: the rest (`indicators` is read from the warehouse table
# `indicator_values`, `dossier_agency_month` from sql/dossier_agency_month.sql).
STAGING_SUITES = tuple(c.table for c in load_sources().values() if c.table in SUITES)
MART_SUITES = tuple(name for name in SUITES if name not in STAGING_SUITES)
# The raw source a suite speaks for (data_quality.failed_checks); the marts' suites speak for "marts".
SUITE_SOURCE = {**dict.fromkeys(MART_SUITES, "marts"),
                **{c.table: name for name, c in load_sources().items() if c.table in SUITES},
                "dossier_agency_month": "dossiers"}

# How build_suite turns specs into GX objects (2: texts HTML-escaped): part of a stored suite's and result's key
# (expectations/gx_runner.py), so a change rebuilds the stored suites and validates the tables again.
SUITE_FORMAT = 2
SUITE_DESCRIPTIONS = {
    "stg_agencies": "Danh mục cơ quan: mã duy nhất, nhóm cơ quan hợp lệ, thời gian hiệu lực",
    "stg_services": "Danh mục thủ tục hành chính theo năm: mức độ 1–4, không trùng thủ tục",
    "stg_one_stop": "Sử dụng phần mềm một cửa theo tháng: tháng 1–12, số hồ sơ hợp lý",
    "stg_infrastructure": "Báo cáo hạ tầng kỹ thuật: số lượng không âm, cờ 0/1, số máy tính hợp lý",
    "stg_capacity": "Báo cáo ứng dụng CNTT nội bộ, nhân lực, chính sách: số lượng không âm, tập con không vượt tổng",
    "stg_assessments": "Chỉ số do đoàn đánh giá chấm: mỗi chỉ số một lần, giá trị trong khoảng cho phép",
    "indicators": "Giá trị chỉ số: tỷ lệ trong [0, 1], mẫu số 0 thì giá trị trống, không trùng",
    "indicator_scores": "Điểm theo chỉ số: từ 0 đến điểm tối đa của chỉ số",
    "criterion_scores": "Điểm theo tiêu chí: từ 0 đến điểm tối đa, thứ hạng từ 1",
    "agency_profiles": "Hồ sơ xếp hạng từng cơ quan: thứ hạng trong nhóm, điểm còn thiếu để lên hạng",
    "what_if": "Phương án cải thiện: mỗi bước thêm điểm, giá trị cần đạt không vượt mục tiêu",
    "rankings": "Bảng xếp hạng: tổng điểm từ 0 đến tối đa, chỉ số trong [0, 1], xếp loại hợp lệ, thứ hạng từ 1",
    "dossier_agency_month": "Hồ sơ TTHC tổng hợp theo cơ quan và tháng: các tập con không vượt tổng",
}


def suite_specs(name: str, registry: Registry | None = None) -> list[Spec]:
    """The specs of a suite for a data directory's registry (default: EGOV_DATA_DIR's); raises KeyError naming the
    known suites for an unknown table."""
    if name not in SUITES:
        raise KeyError(f"no expectation suite for {name!r}; known: {', '.join(SUITES)}")
    return SUITES[name](registry or load_registry())


def add_derived_columns(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with the suite's derived columns (x / 0 gives inf, so it fails a bound)."""
    derived = DERIVED_COLUMNS.get(name)
    if not derived:
        return frame
    out = frame.copy()
    for col, expr in derived.items():
        try:
            out[col] = out.eval(expr).astype("float64")
        except Exception:  # a missing source column: its own expectations report it
            out[col] = float("nan")
    return out


def _condition(when: tuple[str, str, Any]) -> Any:
    from great_expectations.expectations.row_conditions import Column

    col, op, value = when
    c, value = Column(col), _escaped(value)  # compared with the escaped frame
    return {"==": lambda: c == value, "!=": lambda: c != value, "in": lambda: c.is_in(value),
            "not_in": lambda: c.is_not_in(value), "is_null": lambda: c.is_null()}[op]()


def for_data_docs(text: str) -> str:
    """A text as GX must receive it. The Data Docs put an expectation's description, and the unexpected values of a
    validation result, into the page as HTML, not as text: a rubric's class label `<script>…` in a description, an
    agency code `<img onerror=…>` among the unexpected values ran there (issue 24). So every text GX gets is
    escaped: the descriptions and notes, the frames' text cells (`frame_for_data_docs`) and the texts they are
    compared with (value sets, row conditions). Escaping is one-to-one, so equal texts stay equal and distinct ones
    distinct: every expectation judges the rows as before. The specs keep the plain text that the summaries and
    reports show (and escape themselves); gx_runner unescapes the values it reads back."""
    return html.escape(text)


def _escaped(value: Any) -> Any:
    """A value compared with a frame's text cells, escaped like them (for_data_docs); numbers, flags as they are."""
    if isinstance(value, str):
        return for_data_docs(value)
    if isinstance(value, list | tuple):
        return type(value)(_escaped(v) for v in value)
    return value


def frame_for_data_docs(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its text cells escaped (for_data_docs); the frame itself is left as it is."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            out[col] = out[col].map(lambda v: for_data_docs(v) if isinstance(v, str) else v)
    return out


def build_suite(name: str, registry: Registry | None = None) -> gx.ExpectationSuite:
    """Fresh GX objects for a suite (GX binds an expectation to one suite, so they are never reused). Every text is
    HTML-escaped (for_data_docs); bump SUITE_FORMAT when what this function gives GX changes."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations = []
    for spec in suite_specs(name, registry):
        cls = getattr(gxe, spec.kind)
        kwargs = {k: _escaped(v) if k == "value_set" else v for k, v in spec.kwargs.items()}
        if spec.when is not None:
            kwargs["row_condition"] = _condition(spec.when)
        expectations.append(cls(**kwargs, description=for_data_docs(spec.vi), severity=spec.severity,
                                meta={"name": spec.name, "mo_ta": for_data_docs(spec.vi)}))
    return gx.ExpectationSuite(name=name, expectations=expectations,
                               meta={"notes": for_data_docs(SUITE_DESCRIPTIONS.get(name, name))})
