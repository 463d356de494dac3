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

from pipelines.core.file_facts import DOSSIER_TABLE
from pipelines.core.registry import Registry, load_registry
from pipelines.core.registry.sources import SourceContract, load_sources
from pipelines.core.registry.thresholds import load_thresholds
from pipelines.core.staging import YEAR, staged_values

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd

INDICATOR_SOURCES = ["computed", "assessment"]
INT_TYPES = ["int8", "int16", "int32", "int64", "Int8Dtype", "Int16Dtype", "Int32Dtype", "Int64Dtype"]
NUM_TYPES = [*INT_TYPES, "float32", "float64", "Float32Dtype", "Float64Dtype"]
DATE_TYPES = ["datetime64[s]", "datetime64[ms]", "datetime64[us]", "datetime64[ns]"]

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
    return [
        Spec(
            "ExpectColumnValuesToBeInTypeList",
            f"{c}_is_integer",
            f"{c} là số nguyên",
            {"column": c, "type_list": INT_TYPES},
        )
        for c in cols
    ]


def nums(*cols: str) -> list[Spec]:
    return [
        Spec("ExpectColumnValuesToBeInTypeList", f"{c}_is_number", f"{c} là số", {"column": c, "type_list": NUM_TYPES})
        for c in cols
    ]


def texts(*cols: str) -> list[Spec]:
    return [
        Spec("ExpectColumnValuesToBeOfType", f"{c}_is_text", f"{c} là chuỗi ký tự", {"column": c, "type_": "str"})
        for c in cols
    ]


def dates(*cols: str) -> list[Spec]:
    return [
        Spec(
            "ExpectColumnValuesToBeInTypeList",
            f"{c}_is_date",
            f"{c} là ngày (giờ)",
            {"column": c, "type_list": DATE_TYPES},
        )
        for c in cols
    ]


def not_null(*cols: str) -> list[Spec]:
    return [
        Spec("ExpectColumnValuesToNotBeNull", f"{c}_present", f"{c} không được để trống", {"column": c}) for c in cols
    ]


def unique(*cols: str, vi: str | None = None) -> Spec:
    text = vi or f"Mỗi ({', '.join(cols)}) chỉ xuất hiện một lần"
    if len(cols) == 1:
        return Spec("ExpectColumnValuesToBeUnique", f"{cols[0]}_unique", text, {"column": cols[0]})
    return Spec("ExpectCompoundColumnsToBeUnique", f"{'_'.join(cols)}_unique", text, {"column_list": list(cols)})


def in_set(col: str, values: list[Any], vi: str, *, severity: str = "critical") -> Spec:
    return Spec(
        "ExpectColumnValuesToBeInSet", f"{col}_allowed", vi, {"column": col, "value_set": values}, severity=severity
    )


def between(
    col: str,
    lo: float | None,
    hi: float | None,
    vi: str,
    *,
    name: str | None = None,
    when: tuple[str, str, Any] | None = None,
    severity: str = "critical",
    strict_min: bool = False,
) -> Spec:
    kwargs: dict[str, Any] = {"column": col, "min_value": lo, "max_value": hi}
    if strict_min:
        kwargs["strict_min"] = True
    return Spec("ExpectColumnValuesToBeBetween", name or f"{col}_in_range", vi, kwargs, when=when, severity=severity)


def counts(*cols: str) -> list[Spec]:
    """Counts: integer and never negative."""
    return ints(*cols) + [between(c, 0, None, f"{c} không âm", name=f"{c}_not_negative") for c in cols]


def at_most(part: str, whole: str, vi: str, *, severity: str = "critical") -> Spec:
    """part ≤ whole on rows where both are known."""
    return Spec(
        "ExpectColumnPairValuesAToBeGreaterThanB",
        f"{part}_not_above_{whole}",
        vi,
        {"column_A": whole, "column_B": part, "or_equal": True, "ignore_row_if": "either_value_is_missing"},
        severity=severity,
    )


def plausible_year(col: str = "year") -> Spec:
    return between(col, 2000, 2100, "Năm đánh giá trong khoảng 2000–2100", name="year_plausible")


def year_range(col: str = "year") -> list[Spec]:
    return ints(col) + not_null(col) + [plausible_year(col)]


def bounded_values(col: str, registry: Registry, by: str = "indicator_code") -> list[Spec]:
    """Indicator values (`by` names the indicator): ratios in [0, 1], the non-ratio indicators within their range:
    the rubrics' assessed_indicators min/max, else thresholds.yaml indicator_bounds (the widest any year gives: a
    suite is not per year; ingestion checks each year's own range)."""
    bounds = registry.widest_value_ranges()
    specs = [
        between(
            col,
            0,
            1,
            "Giá trị chỉ số tỷ lệ phải nằm trong [0, 1]",
            name="ratio_value_in_0_1",
            when=(by, "not_in", sorted(bounds)) if bounds else None,
        )
    ]
    specs += [
        between(
            col,
            lo,
            hi,
            f"{code} phải nằm trong [{lo}, {hi}]",
            name=f"{code}_in_range",
            when=(by, "==", code),
            severity="warning",
        )
        for code, (lo, hi) in sorted(bounds.items())
    ]
    return specs


def value_list(values: tuple[int | str, ...] | list[int | str]) -> str:
    """Allowed values as a reader takes them in: '1–12' for a run of whole numbers (three or more), else '0/1',
    'department, district, commune'."""
    ints_ = [v for v in values if isinstance(v, int)]
    if len(ints_) == len(values) >= 3 and ints_ == list(range(ints_[0], ints_[0] + len(ints_))):
        return f"{ints_[0]}–{ints_[-1]}"
    return "/".join(map(str, values)) if len(ints_) == len(values) else ", ".join(map(str, values))


def groups_allowed(registry: Registry) -> Spec:
    """agency_group is a group of the registry: config/methodology.yaml's or one a rubric declares."""
    codes = registry.group_codes
    return in_set("agency_group", codes, f"Nhóm cơ quan là một trong: {', '.join(codes)}")


def classes_allowed(registry: Registry) -> Spec:
    """The classification is a class label of a rubric (or of the default classification)."""
    labels = registry.classification_labels
    return in_set("classification", labels, f"Xếp loại là một trong: {', '.join(labels)}")


# --- the suites (each takes the registry of the data directory validated) -------------------------------------


# What a column's contract type expects of its frame column (a flag and a level are whole numbers).
TYPE_SPECS: dict[str, Callable[[str], list[Spec]]] = {
    "text": texts,
    "int": ints,
    "flag": ints,
    "level": ints,
    "decimal": nums,
    "date": dates,
    "timestamp": dates,
}


def contract_specs(contract: SourceContract, registry: Registry) -> list[Spec]:
    """The expectations a staging table's contract (config/sources.yaml) implies, column by column: its type; present
    when required (or filled by a `default`); its allowed values (`allowed`, the registry's agency groups, a flag's
    0/1, a level's 1–4); its minimum; an assessed value's range (`range_by`); a plausible year; and the key
    (`unique`, within the year) unique. Written nowhere else: a new column or source gets them from its contract."""
    stored = [c.name for c in contract.stored_columns]
    specs = year_range() if contract.partitioned and YEAR not in stored else []
    for col in contract.stored_columns:
        specs += TYPE_SPECS[col.type](col.name)
        if col.required or col.default is not None:
            specs += not_null(col.name)
        if col.name == YEAR and contract.partitioned:
            specs.append(plausible_year(col.name))
        values = staged_values(col)
        if values:
            shown = f"{col.name} là cờ 0/1" if col.type == "flag" else f"{col.name} là một trong: {value_list(values)}"
            specs.append(in_set(col.name, list(values), shown))
        if col.min is not None:
            specs.append(
                between(col.name, col.min, None, f"{col.name} không âm", name=f"{col.name}_not_negative")
                if col.min == 0
                else between(
                    col.name,
                    col.min,
                    None,
                    f"{col.name} từ {col.min:g} trở lên",
                    name=f"{col.name}_at_least_{col.min:g}",
                )
            )
        if col.range_by:
            specs += bounded_values(col.name, registry, by=col.range_by)
        if col.keep_label_as:
            specs += texts(col.keep_label_as)
    if contract.unique:
        key = list(dict.fromkeys([YEAR, *contract.unique] if contract.partitioned else contract.unique))
        specs.append(unique(*key, vi=f"Không trùng {contract.key_label or 'khóa'}: mỗi ({', '.join(key)}) một dòng"))
    return specs


# The rules of a staging table its contract cannot say, written here: between columns, and what is plausible.
def stg_agencies(registry: Registry) -> list[Spec]:
    return [
        at_most("valid_from", "valid_to", "Ngày hết hiệu lực không trước ngày bắt đầu hiệu lực"),
        Spec(
            "ExpectColumnValuesToNotBeNull",
            "commune_has_parent",
            "UBND xã phải có huyện trực thuộc (parent_code)",
            {"column": "parent_code"},
            when=("agency_group", "==", "commune"),
            severity="warning",
        ),
    ]


def stg_one_stop(registry: Registry) -> list[Spec]:
    return [
        at_most("dossiers_in_software", "dossiers_total", "Số hồ sơ trên phần mềm không vượt tổng số hồ sơ tiếp nhận"),
        between(
            "dossiers_in_software",
            0,
            0,
            "Không dùng phần mềm một cửa thì không có hồ sơ trên phần mềm",
            name="no_software_no_dossiers_in_software",
            when=("uses_software", "==", 0),
            severity="warning",
        ),
    ]


def stg_infrastructure(registry: Registry) -> list[Spec]:
    max_per_staff = load_thresholds()["indicator_bounds"].get("computers_per_staff", [0, 10])[1]
    return [
        at_most("computers_internet", "computers", "Số máy tính kết nối Internet không vượt tổng số máy tính"),
        between(
            "staff_count",
            1,
            None,
            "Cơ quan có ít nhất một cán bộ (0 làm các tỷ lệ theo cán bộ bị trống)",
            name="staff_count_positive",
            severity="warning",
        ),
        between(
            "computers_per_staff",
            0,
            max_per_staff,
            f"Số máy tính không quá {max_per_staff} lần số cán bộ (nghi nhập nhầm số liệu)",
            name="computers_at_most_10x_staff",
            severity="warning",
        ),
    ]


def stg_capacity(registry: Registry) -> list[Spec]:
    return [
        at_most("docs_sent_electronic", "docs_sent_total", "Văn bản gửi điện tử không vượt tổng số văn bản gửi"),
        at_most("docs_signed_digital", "docs_sent_electronic", "Văn bản ký số không vượt số văn bản gửi điện tử"),
        at_most(
            "it_staff_security_trained",
            "it_staff",
            "Cán bộ chuyên trách CNTT được đào tạo ATTT không vượt số cán bộ chuyên trách",
        ),
    ]


STAGING_RULES: dict[str, Callable[[Registry], list[Spec]]] = {
    "stg_agencies": stg_agencies,
    "stg_one_stop": stg_one_stop,
    "stg_infrastructure": stg_infrastructure,
    "stg_capacity": stg_capacity,
}
# The large sources (`large: true` in config/sources.yaml: the dossier log, the ratings) are validated row by row in
# DuckDB SQL (sql_checks.py; millions of rows do not belong in pandas) and by GX through their monthly aggregates;
# every other source's table has a suite of its own.
SQL_VALIDATED = tuple(c.table for c in load_sources().values() if c.large)
RATING_TABLE = "stg_ratings"  # the QĐ 766 ratings' (config/sources.yaml `ratings`)
RATINGS = next(c for c in load_sources().values() if c.table == RATING_TABLE)  # their contract


def staging_suite(source: str) -> Callable[[Registry], list[Spec]]:
    """The suite of a source's staging table: its contract's expectations, then the table's own rules."""

    def specs(registry: Registry) -> list[Spec]:
        contract = registry.sources[source]
        return contract_specs(contract, registry) + STAGING_RULES.get(contract.table, lambda _registry: [])(registry)

    return specs


def indicators(registry: Registry) -> list[Spec]:
    return [
        *year_range(),
        *texts("agency_code", "indicator_code"),
        *not_null("agency_code", "indicator_code"),
        unique("year", "agency_code", "indicator_code", vi="Mỗi chỉ số một giá trị cho mỗi cơ quan và năm"),
        *nums("numerator", "denominator", "value"),
        *bounded_values("value", registry),
        # counts are not negative; an assessed value (numerator = value) may be, where its range allows (GDP growth)
        between(
            "numerator",
            0,
            None,
            "Tử số (số đếm) không âm",
            name="numerator_not_negative",
            when=("source", "==", "computed"),
        ),
        between("denominator", 0, None, "Mẫu số không âm", name="denominator_not_negative"),
        Spec(
            "ExpectColumnValuesToBeNull",
            "value_null_when_denominator_zero",
            "Mẫu số bằng 0 thì giá trị để trống (NULL), không tính là 0",
            {"column": "value"},
            when=("denominator", "==", 0),
        ),
        in_set(
            "source",
            INDICATOR_SOURCES,
            "Nguồn: computed (tính từ dữ liệu) hoặc assessment (đoàn chấm)",
            severity="warning",
        ),
    ]


def indicator_scores(registry: Registry) -> list[Spec]:
    return [
        *year_range(),
        *texts("agency_code", "agency_group", "criterion_code", "indicator_code"),
        # points: NULL for an indicator without a value under missing: skip (left out of its criterion)
        *not_null("agency_code", "criterion_code", "indicator_code", "max_points"),
        unique(
            "year",
            "agency_code",
            "criterion_code",
            "indicator_code",
            vi="Mỗi chỉ số của bộ chỉ số được chấm một lần cho mỗi cơ quan và năm",
        ),
        groups_allowed(registry),
        *nums("value", "target", "points", "max_points"),
        between("points", 0, None, "Điểm đạt không âm", name="points_not_negative"),
        at_most("points", "max_points", "Điểm đạt không vượt điểm tối đa của chỉ số"),
    ]


def agency_profiles(registry: Registry) -> list[Spec]:
    return [
        *year_range(),
        *texts("agency_code", "agency_group", "classification"),
        *not_null("agency_code", "total_points", "points_lost", "rank", "group_size", "classification"),
        unique("year", "agency_code", vi="Mỗi cơ quan một hồ sơ xếp hạng mỗi năm"),
        classes_allowed(registry),
        *ints("rank", "group_size"),
        between("points_lost", 0, None, "Điểm bị mất không âm", name="points_lost_not_negative"),
        at_most("rank", "group_size", "Thứ hạng không vượt số cơ quan của nhóm"),
        at_most("total_points", "max_points", "Tổng điểm không vượt điểm tối đa"),
        between(
            "points_to_next_class",
            0,
            None,
            "Điểm còn thiếu để lên loại lớn hơn 0",
            name="points_to_next_class_positive",
            strict_min=True,
        ),
        between(
            "points_to_pass_above",
            0,
            None,
            "Điểm còn thiếu để vượt cơ quan xếp trên lớn hơn 0",
            name="points_to_pass_above_positive",
            strict_min=True,
        ),
    ]


def what_if(registry: Registry) -> list[Spec]:
    return [
        *year_range(),
        *texts("agency_code", "goal", "indicator_code"),
        *not_null("agency_code", "goal", "step", "indicator_code", "required_value", "points_gained"),
        unique("year", "agency_code", "goal", "step", vi="Mỗi bước của một mục tiêu xuất hiện một lần"),
        in_set(
            "goal",
            ["next_class", "pass_agency_above"],
            "Mục tiêu: lên loại (next_class) hoặc vượt cơ quan xếp trên (pass_agency_above)",
        ),
        *ints("step"),
        between("step", 1, None, "Bước từ 1 trở lên", name="step_at_least_1"),
        between("points_needed", 0, None, "Điểm cần thêm lớn hơn 0", name="points_needed_positive", strict_min=True),
        between("points_gained", 0, None, "Mỗi bước thêm được điểm", name="points_gained_positive", strict_min=True),
        # lower is better (processing days): the value to reach lies above the best one
        replace(
            at_most("required_value", "target", "Giá trị cần đạt không vượt mục tiêu của bộ chỉ số"),
            when=("lower_is_better", "!=", True),
        ),
        at_most("current_points", "new_points", "Điểm sau cải thiện không thấp hơn điểm hiện tại"),
    ]


def criterion_scores(registry: Registry) -> list[Spec]:
    return [
        *year_range(),
        *texts("agency_code", "agency_group", "criterion_code"),
        # points and rank: NULL for a criterion without enough data (missing: skip, min_coverage)
        *not_null("agency_code", "criterion_code", "max_points"),
        unique("year", "agency_code", "criterion_code", vi="Mỗi tiêu chí một dòng cho mỗi cơ quan và năm"),
        groups_allowed(registry),
        *nums("points", "max_points"),
        *ints("rank"),
        between("points", 0, None, "Điểm tiêu chí không âm", name="points_not_negative"),
        between(
            "max_points", 0, None, "Điểm tối đa của tiêu chí lớn hơn 0", name="max_points_positive", strict_min=True
        ),
        at_most("points", "max_points", "Điểm tiêu chí không vượt điểm tối đa"),
        between("rank", 1, None, "Thứ hạng theo tiêu chí từ 1 trở lên", name="rank_at_least_1"),
    ]


def rankings(registry: Registry) -> list[Spec]:
    return [
        *year_range(),
        *texts("agency_group", "agency_code", "agency_name", "classification"),
        *not_null("agency_code", "agency_name", "max_points"),
        # a unit without enough data for a total is listed unranked, with its reason, and only then
        *[
            replace(spec, when=("unranked_reason", "is_null", None))
            for spec in not_null("total_points", "index_value", "rank", "classification")
        ],
        unique("year", "agency_group", "agency_code", vi="Mỗi cơ quan xếp hạng một lần trong nhóm mỗi năm"),
        groups_allowed(registry),
        classes_allowed(registry),
        *nums("total_points", "max_points", "index_value"),
        *ints("rank"),
        between("total_points", 0, None, "Tổng điểm không âm", name="total_points_not_negative"),
        between("max_points", 0, None, "Điểm tối đa lớn hơn 0", name="max_points_positive", strict_min=True),
        at_most("total_points", "max_points", "Tổng điểm không vượt điểm tối đa"),
        between("index_value", 0, 1, "Chỉ số (tổng điểm / điểm tối đa) trong [0, 1]", name="index_value_in_0_1"),
        between("rank", 1, None, "Thứ hạng từ 1 trở lên", name="rank_at_least_1"),
    ]


def dossier_agency_month(registry: Registry) -> list[Spec]:
    measures = ("dossiers", "accepted", "online", "finished", "on_time", "with_fee", "paid_online", "digitised")
    return [
        *year_range(),
        *texts("agency_code"),
        *not_null("agency_code"),
        *ints("month"),
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


def rating_month(registry: Registry) -> list[Spec]:
    levels = [f"level_{v}" for v in _rating_levels()]
    return [
        *year_range(),
        *ints("month"),
        in_set("month", list(range(1, 13)), "Tháng đánh giá từ 1 đến 12"),
        unique("year", "month", vi="Một dòng cho mỗi tháng"),
        *counts("ratings", "rated_dossiers", *levels),
        between("ratings", 1, None, "Mỗi dòng có ít nhất một đánh giá", name="ratings_at_least_1"),
        at_most("rated_dossiers", "ratings", "Số hồ sơ được đánh giá không vượt số đánh giá"),
        *(at_most(c, "ratings", f"Số đánh giá mức {c.removeprefix('level_')} không vượt số đánh giá") for c in levels),
    ]


def _rating_levels() -> tuple[int | str, ...]:
    """The levels (MucDo) of the ratings' contract: sql/rating_month.sql counts each (a test keeps them equal)."""
    return staged_values(next(col for col in RATINGS.columns if col.name == "MucDo"))


SUITES: dict[str, Callable[[Registry], list[Spec]]] = {
    **{c.table: staging_suite(name) for name, c in load_sources().items() if c.table not in SQL_VALIDATED},
    "indicators": indicators,
    "indicator_scores": indicator_scores,
    "criterion_scores": criterion_scores,
    "rankings": rankings,
    "agency_profiles": agency_profiles,
    "what_if": what_if,
    "dossier_agency_month": dossier_agency_month,
    "rating_month": rating_month,
}
# The GX suite of each large source's monthly aggregate (its SQL: sql/<suite>.sql), by its staging table.
AGGREGATE_SUITES = {DOSSIER_TABLE: "dossier_agency_month", RATING_TABLE: "rating_month"}

# Staging suites: the sources' tables (the dossier log is validated through its monthly aggregate
# `dossier_agency_month`); mart suites: the rest (`indicators` is read from the warehouse table
# `indicator_values`, `dossier_agency_month` from sql/dossier_agency_month.sql).
STAGING_SUITES = tuple(c.table for c in load_sources().values() if c.table in SUITES)
MART_SUITES = tuple(name for name in SUITES if name not in STAGING_SUITES)
# The raw source a suite speaks for (data_quality.failed_checks); the marts' suites speak for "marts".
SUITE_SOURCE = {
    **dict.fromkeys(MART_SUITES, "marts"),
    **{c.table: name for name, c in load_sources().items() if c.table in SUITES},
    **{suite: name for name, c in load_sources().items() for t, suite in AGGREGATE_SUITES.items() if c.table == t},
}

# How build_suite turns specs into GX objects (2: texts HTML-escaped): part of a stored suite's and result's key
# (expectations/gx_runner.py), so a change rebuilds the stored suites and validates the tables again.
SUITE_FORMAT = 2
# What a staging suite checks besides its contract (STAGING_RULES), in its description.
STAGING_NOTES = {
    "stg_agencies": "thời gian hiệu lực, xã có huyện trực thuộc",
    "stg_one_stop": "số hồ sơ trên phần mềm hợp lý",
    "stg_infrastructure": "số máy tính hợp lý",
    "stg_capacity": "tập con không vượt tổng",
}
SUITE_DESCRIPTIONS = {
    **{
        c.table: f"{c.label}: kiểu, giá trị bắt buộc và cho phép, không trùng {c.key_label or 'khóa'} (theo "
        "config/sources.yaml)" + (f"; {STAGING_NOTES[c.table]}" if c.table in STAGING_NOTES else "")
        for c in load_sources().values()
        if c.table in SUITES
    },
    "indicators": "Giá trị chỉ số: tỷ lệ trong [0, 1], mẫu số 0 thì giá trị trống, không trùng",
    "indicator_scores": "Điểm theo chỉ số: từ 0 đến điểm tối đa của chỉ số",
    "criterion_scores": "Điểm theo tiêu chí: từ 0 đến điểm tối đa, thứ hạng từ 1",
    "agency_profiles": "Hồ sơ xếp hạng từng cơ quan: thứ hạng trong nhóm, điểm còn thiếu để lên hạng",
    "what_if": "Phương án cải thiện: mỗi bước thêm điểm, giá trị cần đạt không vượt mục tiêu",
    "rankings": "Bảng xếp hạng: tổng điểm từ 0 đến tối đa, chỉ số trong [0, 1], xếp loại hợp lệ, thứ hạng từ 1",
    "dossier_agency_month": "Hồ sơ TTHC tổng hợp theo cơ quan và tháng: các tập con không vượt tổng",
    "rating_month": "Đánh giá mức độ hài lòng tổng hợp theo tháng: số đánh giá theo mức không vượt tổng",
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
    return {
        "==": lambda: c == value,
        "!=": lambda: c != value,
        "in": lambda: c.is_in(value),
        "not_in": lambda: c.is_not_in(value),
        "is_null": lambda: c.is_null(),
    }[op]()


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
    """The frame with its text cells escaped (for_data_docs); the frame itself is left as it is. Only the cells
    holding a character to escape are touched (found by a vectorised match: few, if any, of a table's)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or str(out[col].dtype) in ("string", "str"):
            if _nothing_to_escape(out[col]):
                continue
            marked = out[col].str.contains(r"[&<>\"']", regex=True, na=False).astype(bool)
            if marked.any():
                out.loc[marked, col] = out.loc[marked, col].map(for_data_docs)
    return out


ESCAPED_BYTES = tuple(c.encode() for c in "&<>\"'")  # what html.escape replaces (quote=True), one byte each in UTF-8


def _nothing_to_escape(column: pd.Series) -> bool:
    """True when an Arrow-backed text column's bytes hold none of the characters to escape, so no cell does: in UTF-8
    an ASCII byte is never part of another character. One pass over the column's data buffer (4.2M ratings: 0.03 s
    instead of the 0.6 s of a regular expression per cell); False (look cell by cell) for any other column, or when
    the buffer holds one of them (perhaps in a null slot or outside a slice: the cells then decide)."""
    if not hasattr(column.array, "__arrow_array__"):
        return False
    import pyarrow as pa

    chunks = column.array.__arrow_array__()
    for chunk in chunks.chunks if isinstance(chunks, pa.ChunkedArray) else [chunks]:
        if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
            return False
        data = chunk.buffers()[2]
        text = data.to_pybytes() if data is not None else b""
        if any(b in text for b in ESCAPED_BYTES):
            return False
    return True


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
        expectations.append(
            cls(
                **kwargs,
                description=for_data_docs(spec.vi),
                severity=spec.severity,
                meta={"name": spec.name, "mo_ta": for_data_docs(spec.vi)},
            )
        )
    return gx.ExpectationSuite(
        name=name, expectations=expectations, meta={"notes": for_data_docs(SUITE_DESCRIPTIONS.get(name, name))}
    )
