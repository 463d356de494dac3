"""DuckDB SQL checks (the dossier log row by row, cross-table rules), the `data_quality` table, and the
plain-language summary printed at the end of a run.

Each check is a query in sql/check_<name>.sql returning its failing rows; a row's `n` column is its weight in
the failed count (1 per dossier, or a count per agency). Queries take `$years` (INTEGER[]) and may use the temp
tables `egov_dq_thresholds` and `egov_dq_indicator_bounds` made here from thresholds.yaml. Checks run in
DuckDB because GX has no DuckDB engine and the dossier log is too big for pandas (STACK_NOTES).
Sentences for stewards are in Vietnamese.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from expectations import SQL_DIR
from expectations.suites import RATING_TABLE, RATINGS, SUITE_SOURCE, suite_specs, value_list
from pipelines.core.file_facts import DOSSIER_SOURCE, DOSSIER_TABLE, SCAN_FILES, refresh_file_facts, rows_to_count
from pipelines.core.registry.sources import REGISTRY_TABLE, SourceContract, load_sources, registry_source
from pipelines.core.registry.thresholds import load_thresholds
from pipelines.core.sql import sql_identifier as q
from pipelines.core.staging import staged_values

if TYPE_CHECKING:
    import duckdb

    from pipelines.core.registry import Registry

from pipelines.core.queries import has_table, json_safe
from pipelines.core.sql import sql_literal
from pipelines.core.vietnamese import vn_int, vn_pct
from pipelines.core.warehouse import transaction

# The sources, their labels in a sentence and their returns come from config/sources.yaml (pipelines/core/registry/).
SOURCES = load_sources()
# The agency registry (role: registry), the one source without a year: its files and rows count in every year.
REGISTRY = registry_source(SOURCES).name
# Sources every evaluated agency returns each year: data_quality.missing_return is set for these.
RETURN_SOURCES = tuple(name for name, c in SOURCES.items() if c.agency_return)
# Sources that arrive per year (raw/<source>/<year>/): a year without any of their files is noted, not failed.
# An optional source (the QĐ 766 ratings and feedback) is left out: a province may send none.
YEARLY_SOURCES = tuple(name for name, c in SOURCES.items() if c.partitioned and not c.optional_source)
SOURCE_LABELS = {  # as they read inside a Vietnamese sentence
    **{name: c.label_in_sentence for name, c in SOURCES.items()},
    "marts": "chỉ số, điểm và xếp hạng",
}
RULE_LABELS = {
    "empty": "thiếu giá trị bắt buộc",
    "invalid": "sai định dạng",
    "not_allowed": "giá trị ngoài danh mục cho phép",
    "negative": "số âm",
    "wrong_year": "sai năm",
    "unknown_agency": "mã cơ quan không có trong danh mục",
    "unknown_key": "mã hồ sơ không có trong sổ hồ sơ",
    "rule": "vi phạm ràng buộc giữa các cột",
    "duplicate": "trùng khóa",
    "unreadable_record": "dòng không đọc được",
    "file_rejected": "tệp bị từ chối",
    "out_of_range": "giá trị ngoài khoảng của chỉ số",
    "bad_link": "mã liên kết sai (cấp trên, kế thừa)",
}


# --- the dossier log's value and row rules, from its contract ------------------------------------------------


class CodeRule(NamedTuple):
    column: str
    condition: str  # true on a staged value the contract does not allow
    shown: str  # the rule as the check's description reads it: "KenhThucHien 1–3", "LePhi ≥ 0"
    coded: bool  # a code list (else a minimum)
    given: bool  # the value must be given (required, or filled by a `default`): empty breaks the rule too


def code_rules(contract: SourceContract) -> list[CodeRule]:
    """A rule per stored column with a code list (`allowed`, a flag, a level) or a minimum. The loader quarantines
    the rows that break them; the check finds any staged by other means."""
    rules = []
    for col in contract.stored_columns:
        name, values, given = q(col.name), staged_values(col), col.required or col.default is not None
        if values:
            listed = ", ".join(sql_literal(v) for v in values)
            condition = f"{name} NOT IN ({listed})"
            rules.append(
                CodeRule(
                    col.name,
                    f"{name} IS NULL OR {condition}" if given else condition,
                    f"{col.name} {value_list(values)}",
                    True,
                    given,
                )
            )
        elif col.min is not None:
            rules.append(CodeRule(col.name, f"{name} < {col.min:g}", f"{col.name} ≥ {col.min:g}", False, False))
    return rules


def codes_description(contract: SourceContract) -> str:
    """The code rules in a sentence: "KenhThucHien 1–3, TrangThaiHoSo 1–10; MucDo 1–4, ... hoặc trống; LePhi ≥ 0"."""
    rules = code_rules(contract)
    optional = [r.shown for r in rules if r.coded and not r.given]
    parts = [
        ", ".join(r.shown for r in rules if r.coded and r.given),
        ", ".join(optional) + " hoặc trống" if optional else "",
        ", ".join(r.shown for r in rules if not r.coded),
    ]
    return "; ".join(p for p in parts if p)


def row_rules_view(contract: SourceContract, view: str = "egov_dossier_rules") -> str:
    """The temp view `view`: a large source's staged rows (the dossier log; the ratings in `egov_rating_rules`)
    with, per row, whether it breaks the code rules (`codes_out_of_range`, the offending fields in `codes_problem`)
    or the contract's row rules (`rules:` of config/sources.yaml: the dossiers' date order, `dates_out_of_order`, the
    broken conditions in `dates_problem`). Written once for the per-file screen (sql/dossier_file_checks.sql) and
    the checks that list the failing rows."""
    codes, rules = code_rules(contract), [r.when for r in contract.rules]

    def any_of(conditions: list[str]) -> str:
        return f"coalesce({' OR '.join(f'({c})' for c in conditions) or 'false'}, false)"

    def named(cases: list[tuple[str, str]]) -> str:
        return (
            f"concat_ws(', ', {', '.join(f'CASE WHEN {c} THEN {t} END' for c, t in cases)})"
            if cases
            else "NULL::VARCHAR"
        )

    code_cases = [
        (f"({r.condition})", f"'{r.column}=' || coalesce(CAST({q(r.column)} AS VARCHAR), 'NULL')") for r in codes
    ]
    rule_cases = [(f"({w})", sql_literal(w)) for w in rules]
    return f"""CREATE OR REPLACE TEMP VIEW {view} AS
SELECT *,
       {any_of([r.condition for r in codes])} AS codes_out_of_range,
       {named(code_cases)} AS codes_problem,
       {any_of(rules)} AS dates_out_of_order,
       {named(rule_cases)} AS dates_problem
FROM {contract.table}"""


DOSSIERS = SOURCES[DOSSIER_SOURCE]
RATING_RULES_VIEW = "egov_rating_rules"


@dataclass(frozen=True)
class SqlCheck:
    """A check: its query file is sql/check_<name>.sql; `requires` lists the tables it needs."""

    name: str
    severity: str  # ERROR | WARN
    source: str  # the raw source it speaks for, "marts", or "*" when each row names its source
    title: str  # what one unit of `failed` is, in Vietnamese, read after the count
    description: str
    requires: tuple[str, ...] = ()


CHECKS: tuple[SqlCheck, ...] = (
    SqlCheck(
        "dossier_duplicate_mahoso",
        "ERROR",
        "dossiers",
        "bản sao thừa của mã hồ sơ (MaHoSo) trùng",
        "MaHoSo là duy nhất: đếm số bản sao thừa (sau bản đầu tiên) còn trong dữ liệu đã nạp, mọi năm.",
        ("stg_dossiers",),
    ),
    SqlCheck(
        "dossier_codes_out_of_range",
        "ERROR",
        "dossiers",
        "hồ sơ có mã ngoài danh mục cho phép",
        codes_description(DOSSIERS) + " (config/sources.yaml): đếm số hồ sơ vi phạm.",
        ("stg_dossiers",),
    ),
    SqlCheck(
        "dossier_dates_out_of_order",
        "ERROR",
        "dossiers",
        "hồ sơ có các ngày sai thứ tự",
        "Không hồ sơ nào có: "
        + "; ".join(r.when for r in DOSSIERS.rules)
        + " (config/sources.yaml, rules): đếm số hồ sơ vi phạm.",
        ("stg_dossiers",),
    ),
    SqlCheck(
        "dossier_year_mismatch",
        "ERROR",
        "dossiers",
        "hồ sơ xếp sai năm tiếp nhận",
        "Năm của hồ sơ bằng năm của NgayTiepNhan: đếm số hồ sơ vi phạm.",
        ("stg_dossiers",),
    ),
    SqlCheck(
        "dossier_unknown_procedure",
        "WARN",
        "dossiers",
        "hồ sơ có mã TTHC không thuộc danh mục của cơ quan",
        "MaTTHC của hồ sơ có trong danh mục TTHC năm đó của cơ quan tiếp nhận: đếm số hồ sơ, theo cơ quan.",
        ("stg_dossiers", "stg_services"),
    ),
    SqlCheck(
        "dossier_missing_months",
        "WARN",
        "dossiers",
        "tháng không có hồ sơ nào",
        "Mọi tháng trước tháng cuối cùng có dữ liệu đều có hồ sơ: đếm số tháng trống (thiếu tệp tháng?).",
        ("stg_dossiers",),
    ),
    SqlCheck(
        "rating_duplicate_key",
        "ERROR",
        RATINGS.name,
        f"bản sao thừa của đánh giá trùng ({', '.join(RATINGS.unique)})",
        f"Mỗi đánh giá ({', '.join(RATINGS.unique)}) chỉ có một dòng: đếm số bản sao thừa còn trong dữ liệu đã nạp.",
        (RATING_TABLE, DOSSIER_TABLE),
    ),
    SqlCheck(
        "rating_codes_out_of_range",
        "ERROR",
        RATINGS.name,
        "đánh giá có mã ngoài danh mục cho phép",
        codes_description(RATINGS) + " (config/sources.yaml): đếm số đánh giá vi phạm.",
        (RATING_TABLE, DOSSIER_TABLE),
    ),
    SqlCheck(
        "missing_returns",
        "WARN",
        "*",
        "báo cáo bắt buộc chưa gửi",
        "Mọi cơ quan được đánh giá đã gửi các báo cáo bắt buộc (thresholds.yaml required_returns): "
        "đếm số báo cáo thiếu (cơ quan × loại báo cáo).",
        (),
    ),
    SqlCheck(
        "sources_without_files",
        "WARN",
        "*",
        "nguồn dữ liệu không có tệp nào trong năm",
        "Mỗi nguồn dữ liệu theo năm có ít nhất một tệp; nguồn không có tệp thì các chỉ số của nguồn để trống "
        "(0 điểm): đếm số nguồn không có tệp.",
        ("ingested_files",),
    ),
    SqlCheck(
        "quarantined_share",
        "ERROR",
        "*",
        "nguồn dữ liệu có tỷ lệ dòng bị cách ly vượt ngưỡng",
        "Tỷ lệ dòng bị cách ly của mỗi nguồn và năm không vượt ngưỡng (thresholds.yaml): "
        "đếm số cặp nguồn–năm vượt ngưỡng.",
        (),
    ),
    SqlCheck(
        "rejected_files",
        "WARN",
        "*",
        "tệp bị từ chối cả tệp",
        "Không có tệp nào bị từ chối cả tệp (không đọc được, sai mã hóa, thiếu cột): đếm số tệp.",
        (),
    ),
    SqlCheck(
        "ingest_reconciliation",
        "ERROR",
        "*",
        "nguồn–năm có số dòng không khớp",
        "Số dòng đọc = nạp + cách ly, khớp với bảng staging và bảng quarantine: đếm số cặp nguồn–năm lệch.",
        (),
    ),
    SqlCheck(
        "indicator_ratio_out_of_range",
        "ERROR",
        "marts",
        "giá trị chỉ số tỷ lệ ngoài [0, 1]",
        "Chỉ số tỷ lệ nằm trong [0, 1]: đếm số giá trị vi phạm.",
        ("indicator_values",),
    ),
    SqlCheck(
        "indicator_out_of_bounds",
        "WARN",
        "marts",
        "giá trị chỉ số ngoài khoảng hợp lý",
        "Chỉ số không phải tỷ lệ (vd. computers_per_staff) nằm trong khoảng của thresholds.yaml: "
        "đếm số giá trị vi phạm.",
        ("indicator_values",),
    ),
    SqlCheck(
        "rankings_rank_sequence",
        "ERROR",
        "marts",
        "thứ hạng không đúng thứ tự tổng điểm",
        "Thứ hạng là xếp hạng kiểu thi đấu (1, 2, 2, 4) theo tổng điểm làm tròn theo bộ chỉ số (2 chữ số nếu "
        "bộ chỉ số không nói khác), trong năm và nhóm: đếm số cơ quan có thứ hạng sai.",
        ("rankings",),
    ),
    SqlCheck(
        "criterion_rank_sequence",
        "WARN",
        "marts",
        "thứ hạng tiêu chí không đúng thứ tự điểm",
        "Thứ hạng theo tiêu chí là xếp hạng kiểu thi đấu theo điểm tiêu chí: đếm số dòng sai.",
        ("criterion_scores",),
    ),
    SqlCheck(
        "rankings_missing_agencies",
        "WARN",
        "marts",
        "cơ quan được đánh giá nhưng chưa được xếp hạng",
        "Mọi cơ quan được đánh giá trong năm có trong bảng xếp hạng: đếm số cơ quan thiếu.",
        ("rankings",),
    ),
)


# Row-level checks of the dossier log screened by their counts per raw file (sql/dossier_file_checks.sql, kept in
# dossier_file_checks: a night counts only its new files): each check runs its own query only when its counts add
# up above 0. Check → its column; duplicates are screened over every year (a copy may sit in another year).
SCREENED_CHECKS = {
    "dossier_duplicate_mahoso": "repeated_keys",
    "dossier_codes_out_of_range": "codes_out_of_range",
    "dossier_dates_out_of_order": "dates_out_of_order",
    "dossier_year_mismatch": "year_mismatch",
}
ALL_YEARS_SCREEN = ("dossier_duplicate_mahoso",)
# Checks of the dossier log read from its counts per file, month, agency and procedure (dossier_file_facts, brought
# up to date first: a night counts only its new files; the staging checks' GX fingerprint has just done it) instead
# of scanning the log again. Measured at 10M dossiers: dossier_unknown_procedure 0.71 s from the log.
FACTS_CHECKS = ("dossier_unknown_procedure", "dossier_missing_months")
# The code hashes the per-file screen groups (sql/dossier_file_checks.sql): the MD5 of the rows whose 64-bit hash()
# (cheap, but it collides) is repeated in the whole log when a quarter or more of it is counted (a full run), else
# of the rows whose hash() is one of the counted files' (a night: its few codes probed against the log). Measured at
# 10M dossiers: grouping every MD5 1.5 s, hash() first 0.8 s; a night's file probed 0.3 s.
ALL_CODE_HASHES = """CREATE OR REPLACE TEMP VIEW egov_code_hashes AS
SELECT md5_number(MaHoSo) AS key_hash FROM stg_dossiers
WHERE hash(MaHoSo) IN (SELECT hash(MaHoSo) FROM stg_dossiers GROUP BY ALL HAVING count(*) > 1)"""
COUNTED_CODE_HASHES = """CREATE OR REPLACE TEMP VIEW egov_code_hashes AS
SELECT md5_number(MaHoSo) AS key_hash FROM stg_dossiers
WHERE hash(MaHoSo) IN (
    SELECT hash(d.MaHoSo) FROM stg_dossiers AS d
    SEMI JOIN egov_scan_files AS f ON f.year = d.year AND f.source_file = coalesce(d.source_file, ''))"""


@dataclass
class CheckResult:
    """The outcome of one check. `by_key` maps (year, source, agency_code or '*') to failed counts."""

    name: str
    severity: str
    failed: int
    description: str
    sample: list[dict[str, Any]]
    source: str = "*"
    skipped: bool = False
    by_key: dict[tuple[int | None, str, str | None], int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.failed == 0


def _source_rows(con: duckdb.DuckDBPyConnection) -> None:
    """The temp view egov_source_rows(source, year, agency_code): one row per staged row of every source of
    config/sources.yaml (the registry's rows with year and agency_code NULL), so the SQL of reconciliation, missing
    returns and data_quality lists no source itself. A view: a query that keeps a few sources reads only their
    tables."""
    branches = [
        f"SELECT {sql_literal(name)} AS source, {'year' if c.partitioned else 'NULL::INTEGER'} AS year, "
        f"{c.agency_column or 'NULL::VARCHAR'} AS agency_code FROM {c.table}"
        for name, c in SOURCES.items()
    ]
    con.execute("CREATE OR REPLACE TEMP VIEW egov_source_rows AS\n" + "\nUNION ALL ".join(branches))


def _prepare(
    con: duckdb.DuckDBPyConnection, thresholds: dict[str, Any], years: list[int], registry: Registry | None = None
) -> None:
    if has_table(con, DOSSIER_TABLE):
        con.execute(row_rules_view(DOSSIERS))
    if has_table(con, RATING_TABLE):
        con.execute(row_rules_view(RATINGS, RATING_RULES_VIEW))
    _source_rows(con)
    con.execute("CREATE OR REPLACE TEMP TABLE egov_dq_thresholds (source VARCHAR, max_share DOUBLE)")
    overrides = thresholds.get("quarantined_share_by_source") or {}
    if overrides:
        con.executemany("INSERT INTO egov_dq_thresholds VALUES (?, ?)", [[k, float(v)] for k, v in overrides.items()])
    # the ranges of the non-ratio indicators per year: the year's rubric's assessed_indicators min/max, else
    # thresholds.yaml indicator_bounds (Registry.value_ranges); without a registry, the thresholds only
    con.execute(
        "CREATE OR REPLACE TEMP TABLE egov_dq_indicator_bounds "
        "(year INTEGER, indicator_code VARCHAR, min_value DOUBLE, max_value DOUBLE)"
    )
    bounds = thresholds.get("indicator_bounds") or {}
    rows = []
    for year in years:
        ranges = (
            registry.value_ranges(year) if registry is not None else {k: (lo, hi, "") for k, (lo, hi) in bounds.items()}
        )
        rows += [[year, k, float(lo), float(hi)] for k, (lo, hi, _) in ranges.items()]
    if rows:
        con.executemany("INSERT INTO egov_dq_indicator_bounds VALUES (?, ?, ?, ?)", rows)
    # The decimals each year's rubric rounds totals to (rank checks), as the scoring wrote them with its classes,
    # and what they round: the total, or the index (rounding: index)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE egov_dq_decimals (year INTEGER, agency_group VARCHAR, decimals INTEGER, "
        "rounding VARCHAR)"
    )
    if has_table(con, "rubric_classes"):
        con.execute(
            "INSERT INTO egov_dq_decimals SELECT DISTINCT year, agency_group, decimals, rounding FROM rubric_classes"
        )


def _params_for(sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The parameters a statement uses (DuckDB rejects unused ones); comments may mention others."""
    code = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    return {k: v for k, v in params.items() if re.search(rf"\${k}\b", code)} or None


def _run_one(con: duckdb.DuckDBPyConnection, check: SqlCheck, params: dict[str, Any], sample_rows: int) -> CheckResult:
    sql = (SQL_DIR / f"check_{check.name}.sql").read_text(encoding="utf-8")
    con.execute(f"CREATE OR REPLACE TEMP TABLE egov_dq_rows AS {sql}", _params_for(sql, params))
    columns = [r[0] for r in con.execute("DESCRIBE egov_dq_rows").fetchall()]
    failed = int(con.execute("SELECT coalesce(sum(n), 0) FROM egov_dq_rows").fetchall()[0][0])
    cursor = con.execute(f"SELECT * EXCLUDE (n) FROM egov_dq_rows LIMIT {int(sample_rows)}")
    names = [d[0] for d in cursor.description]
    sample = [{k: json_safe(v) for k, v in zip(names, row, strict=True)} for row in cursor.fetchall()]
    by_key: dict[tuple[int | None, str, str | None], int] = {}
    if failed and "year" in columns:
        source = "source" if "source" in columns else sql_literal(check.source)
        groups = [("'*'", "")]
        if "agency_code" in columns:
            groups.append(("agency_code", ", agency_code"))
        for agency_expr, agency_group in groups:
            for year, src, agency, n in con.execute(
                f"SELECT year, {source}, {agency_expr}, sum(n) FROM egov_dq_rows GROUP BY year, {source}{agency_group}"
            ).fetchall():
                by_key[(year, src, agency)] = int(n)
    return CheckResult(check.name, check.severity, failed, check.description, sample, check.source, False, by_key)


def _screen_dossiers(con: duckdb.DuckDBPyConnection, params: dict[str, Any], names: list[str]) -> dict[str, int]:
    """Failure counts of the row-level dossier checks among `names`, added up from their counts per raw file
    (brought up to date first: only files loaded since they were counted are scanned)."""
    if not any(n in SCREENED_CHECKS for n in names) or not has_table(con, "stg_dossiers"):
        return {}
    con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))
    insert_sql = (SQL_DIR / "dossier_file_checks.sql").read_text(encoding="utf-8")
    scope = hashlib.sha256((insert_sql + row_rules_view(DOSSIERS)).encode()).hexdigest()[:16]
    years = [
        y
        for (y,) in con.execute(  # every year: a duplicate's other copy may be in any of them
            f"SELECT DISTINCT year FROM {DOSSIER_TABLE} UNION SELECT year FROM ingested_files WHERE source = ? "
            "UNION SELECT year FROM dossier_file_checks ORDER BY ALL",
            [DOSSIER_SOURCE],
        ).fetchall()
        if y is not None
    ]
    pending, total = rows_to_count(con, facts="dossier_file_checks", source=DOSSIER_SOURCE, scope=scope)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SCAN_FILES} (year INTEGER, source_file VARCHAR)")  # the view's
    con.execute(ALL_CODE_HASHES if 4 * pending >= total else COUNTED_CODE_HASHES)  # (each count replaces it)
    try:
        for year in years:
            refresh_file_facts(
                con,
                year,
                facts="dossier_file_checks",
                source=DOSSIER_SOURCE,
                staged=DOSSIER_TABLE,
                insert_sql=insert_sql,
                scope=scope,
            )
    finally:
        con.execute(f"DROP VIEW egov_code_hashes; DROP TABLE IF EXISTS {SCAN_FILES}")
    sums = ", ".join(
        f"coalesce(sum({column}) FILTER (WHERE {'TRUE' if name in ALL_YEARS_SCREEN else 'list_contains($years, year)'})"
        f", 0)::BIGINT AS {name}"
        for name, column in SCREENED_CHECKS.items()
        if name in names
    )
    sql = f"SELECT {sums} FROM dossier_file_checks"
    cursor = con.execute(sql, _params_for(sql, params))
    row = cursor.fetchall()[0]
    return {d[0]: int(n) for d, n in zip(cursor.description, row, strict=True)}


def run_sql_checks(
    con: duckdb.DuckDBPyConnection,
    years: list[int],
    *,
    names: list[str] | None = None,
    thresholds: dict[str, Any] | None = None,
    registry: Registry | None = None,
) -> list[CheckResult]:
    """Run the SQL checks (all, or those in `names`) for `years`; a check whose tables are absent is skipped
    (failed = 0, skipped = True), so the same call works before the marts are built. `thresholds`: as
    `load_thresholds()` returns them (the default: thresholds.yaml, read now); `registry`: the data directory's,
    for the value ranges its rubrics declare (default: the thresholds file's only)."""
    thresholds = load_thresholds() if thresholds is None else thresholds
    params = {
        "years": [int(y) for y in years],
        "default_share": float(thresholds["max_quarantined_share"]),
        "min_rows": int(thresholds.get("min_rows_for_share", 0)),
        "sample_rows": int(thresholds["sample_rows"]),
        "required": list(thresholds["required_returns"] or []),
        "sources": list(YEARLY_SOURCES),
    }
    selected = [c for c in CHECKS if names is None or c.name in names]
    unknown = set(names or []) - {c.name for c in CHECKS}
    if unknown:
        raise KeyError(f"unknown SQL checks: {', '.join(sorted(unknown))}")
    _prepare(con, thresholds, [int(y) for y in years], registry)
    results = []
    try:
        start = time.perf_counter()
        screened = _screen_dossiers(con, params, [c.name for c in selected])
        screen_share = (time.perf_counter() - start) / max(len(screened), 1)  # its time, split over its checks
        start = time.perf_counter()
        counted = [c.name for c in selected if c.name in FACTS_CHECKS]
        if counted and has_table(con, DOSSIER_TABLE):
            from assets.indicators.build import refresh_dossier_facts

            refresh_dossier_facts(con, params["years"], facts_only=True)
        facts_share = (time.perf_counter() - start) / max(len(counted), 1)
        for check in selected:
            missing = [t for t in check.requires if not has_table(con, t)]
            if missing:
                results.append(
                    CheckResult(
                        check.name,
                        check.severity,
                        0,
                        f"{check.description} (bỏ qua: chưa có bảng {', '.join(missing)})",
                        [],
                        check.source,
                        skipped=True,
                    )
                )
                continue
            start = time.perf_counter()
            if screened.get(check.name) == 0:  # its per-file counts add up to 0: its query returns no row
                result = CheckResult(check.name, check.severity, 0, check.description, [], check.source)
            else:
                result = _run_one(con, check, params, int(thresholds["sample_rows"]))
            result.seconds = (
                time.perf_counter()
                - start
                + (screen_share if check.name in screened else 0.0)
                + (facts_share if check.name in counted else 0.0)
            )
            results.append(result)
    finally:
        con.execute(
            "DROP TABLE IF EXISTS egov_dq_rows; DROP TABLE IF EXISTS egov_dq_thresholds; "
            "DROP TABLE IF EXISTS egov_dq_indicator_bounds; DROP VIEW IF EXISTS egov_source_rows; "
            "DROP TABLE IF EXISTS egov_dq_decimals; DROP VIEW IF EXISTS egov_dossier_rules; "
            f"DROP VIEW IF EXISTS {RATING_RULES_VIEW}"
        )
    return results


# --- the data_quality table ---------------------------------------------------------------------------------


def _failed_entries(
    years: list[int], checks: list[CheckResult], gx_results: dict[str, dict] | None
) -> dict[tuple[int, str, str | None], list[str]]:
    entries: dict[tuple[int, str, str | None], list[str]] = {}
    for result in checks:
        for (year, source, agency), n in result.by_key.items():
            if year is None or year not in years:
                continue
            entries.setdefault((year, source, agency), []).append(f"{result.name} [{result.severity}]: {n}")
    for table, res in (gx_results or {}).items():
        source = SUITE_SOURCE.get(table)
        if not source:
            continue
        for f in res.get("failed_expectations", []):
            severity = "ERROR" if f.get("severity") == "critical" else "WARN"
            count = f.get("unexpected_count")
            text = f"gx {table}.{f.get('name')} [{severity}]: {count if count is not None else 'lỗi'}"
            for year in years:
                entries.setdefault((year, source, "*"), []).append(text)
    return entries


def build_data_quality(
    con: duckdb.DuckDBPyConnection,
    years: list[int],
    gx_results: dict[str, dict] | None = None,
    checks: list[CheckResult] | None = None,
    *,
    thresholds: dict[str, Any] | None = None,
) -> int:
    """Rebuild the `data_quality` rows of `years` (runs the SQL checks, with `thresholds`, unless `checks` are
    given); returns the number of rows written. GX failures are attributed to the '*' row of the suite's source."""
    years = [int(y) for y in years]
    checks = run_sql_checks(con, years, thresholds=thresholds) if checks is None else checks
    entries = _failed_entries(years, checks, gx_results)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE egov_dq_failed "
        "(year INTEGER, source VARCHAR, agency_code VARCHAR, failed_checks VARCHAR)"
    )
    if entries:
        con.executemany(
            "INSERT INTO egov_dq_failed VALUES (?, ?, ?, ?)",
            [
                [y, s, a, "; ".join(texts)]
                for (y, s, a), texts in sorted(entries.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or ""))
            ],
        )
    statements = [s.strip() for s in (SQL_DIR / "data_quality.sql").read_text(encoding="utf-8").split(";\n")]
    # An optional source (ratings, feedback) has rows only in the years it was sent: absent, it is not a source.
    sent = (
        {
            s
            for (s,) in con.execute(
                "SELECT DISTINCT source FROM ingested_files WHERE list_contains(?, year)", [years]
            ).fetchall()
        }
        if has_table(con, "ingested_files")
        else set()
    )
    params = {
        "years": years,
        "return_sources": list(RETURN_SOURCES),
        "sources": [name for name, c in SOURCES.items() if c.partitioned and (not c.optional_source or name in sent)],
    }
    _source_rows(con)
    try:
        with transaction(con):
            for statement in statements:
                if "\n".join(line.split("--", 1)[0] for line in statement.splitlines()).strip():
                    con.execute(statement, _params_for(statement, params))
    finally:
        con.execute("DROP TABLE IF EXISTS egov_dq_failed; DROP VIEW IF EXISTS egov_source_rows")
    return int(con.execute("SELECT count(*) FROM data_quality WHERE list_contains(?, year)", [years]).fetchall()[0][0])


# --- the summary --------------------------------------------------------------------------------------------


def _names(names: list[str], limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" và {len(names) - limit} cơ quan khác" if len(names) > limit else "")


def rule_label(source: str, rule: str) -> str:
    """A quarantine rule as it reads in a Vietnamese sentence ('trùng MaHoSo', 'sai định dạng')."""
    key = SOURCES[source].key_label if source in SOURCES else None
    if rule == "duplicate" and key:
        return f"trùng {key}"
    return RULE_LABELS.get(rule, rule)


def _check_phrase(entry: str) -> str:
    """'name [SEV]: n' (data_quality.failed_checks) → '12 hồ sơ có … (WARN)'."""
    m = re.match(r"^(?:gx (\w+)\.)?(\S+) \[(\w+)\]: (.+)$", entry.strip())
    if not m:
        return entry
    table, name, severity, count = m.groups()
    if table:
        specs = {s.name: s for s in suite_specs(table)} if table in SUITE_SOURCE else {}
        what = specs[name].vi if name in specs else name
        if count == "lỗi":
            return f"lỗi khi kiểm tra «{what}» ({severity})"
        return f"{vn_int(int(count))} dòng vi phạm «{what}» ({severity})"
    titles = {c.name: c.title for c in CHECKS}
    return f"{vn_int(int(count))} {titles.get(name, name)} ({severity})"


def no_records(con: duckdb.DuckDBPyConnection, year: int) -> bool:
    """Whether `year` was checked and no row of it is staged in any yearly source: the year the scoring does not
    rank (assets/scoring/score.py years_without_records), read from `data_quality` (warehouse or marts)."""
    if not has_table(con, "data_quality"):
        return False
    checked, staged = con.execute(
        "SELECT count(*) FILTER (WHERE agency_code = '*'), coalesce(sum(rows_loaded) FILTER (WHERE agency_code IS "
        "DISTINCT FROM '*'), 0) FROM data_quality WHERE year = ? AND list_contains(?, source)",
        [year, list(YEARLY_SOURCES)],
    ).fetchone()
    return bool(checked) and not staged


def quality_summary(con: duckdb.DuckDBPyConnection, year: int) -> list[str]:
    """Short Vietnamese lines for the end of a run: missing returns (the required ones first), quarantined rows,
    failed checks.

    Reads `data_quality` (build it first), `quarantine`, `ingested_files` and the agency registry: works on the
    warehouse, or on the marts file if `data_quality` is copied there."""
    if not has_table(con, "data_quality"):
        return [f"Chưa có bảng data_quality cho năm {year}."]
    lines: list[str] = []
    registry = REGISTRY_TABLE if has_table(con, REGISTRY_TABLE) else "agencies"  # warehouse or marts
    required = list(load_thresholds()["required_returns"])
    # Sources without any file that year (sources_without_files): one line for all, not every agency's name.
    no_files = [
        s
        for (s,) in con.execute(
            "SELECT source FROM data_quality WHERE year = ? AND agency_code = '*' AND contains(failed_checks, "
            "'sources_without_files ') ORDER BY list_position(?, source)",
            [year, list(YEARLY_SOURCES)],
        ).fetchall()
    ]
    unranked = no_records(con, year)
    if unranked:  # nothing to rank: one line, not every agency's missing returns
        lines.append(
            f"Không có bản ghi nào của năm {year} trong các nguồn dữ liệu theo năm ("
            f"{'; '.join(SOURCE_LABELS.get(s, s) for s in YEARLY_SOURCES)}): năm {year} không được xếp hạng."
        )
    for source in sorted(RETURN_SOURCES, key=lambda s: required.index(s) if s in required else len(required)):
        if unranked:
            break
        if source in no_files:
            continue
        names = [
            r[0]
            for r in con.execute(
                f"SELECT coalesce(a.agency_name, d.agency_code) FROM data_quality AS d "
                f"LEFT JOIN {registry} AS a ON a.agency_code = d.agency_code "
                "LEFT JOIN agency_groups AS g ON g.agency_group = a.agency_group "
                "WHERE d.year = ? AND d.source = ? AND d.missing_return "
                "ORDER BY g.group_order NULLS LAST, d.agency_code",
                [year, source],
            ).fetchall()
        ]
        if names:
            lines.append(f"{len(names)} cơ quan chưa gửi báo cáo {SOURCE_LABELS[source]} năm {year}: {_names(names)}")
    if no_files and not unranked:
        lines.append(
            f"Năm {year} không có tệp nào của nguồn {'; '.join(SOURCE_LABELS.get(s, s) for s in no_files)}"
            " – các chỉ số từ " + ("các nguồn này" if len(no_files) > 1 else "nguồn này") + " để trống (0 điểm)."
        )
    rules = con.execute(
        "SELECT source, rule, count(*) FROM quarantine WHERE year = ? OR (year IS NULL AND source = ?) "
        "GROUP BY ALL ORDER BY source, count(*) DESC, rule",
        [year, REGISTRY],
    ).fetchall()
    by_source: dict[str, list[tuple[str, int]]] = {}
    for source, rule, n in rules:
        by_source.setdefault(source, []).append((rule, int(n)))
    # Older versions of a record (superseded) are not records: the share is of the rows the quarantined-share check
    # judges (check_quarantined_share.sql).
    read = dict(
        con.execute(
            "SELECT source, sum(rows_read - rows_superseded) FROM ingested_files "
            "WHERE year = ? OR (year IS NULL AND source = ?) GROUP BY source",
            [year, REGISTRY],
        ).fetchall()
    )
    for source, items in by_source.items():
        rows = sum(n for rule, n in items if rule != "file_rejected")
        files = sum(n for rule, n in items if rule == "file_rejected")
        label = SOURCE_LABELS.get(source, source)
        parts = [f"{vn_int(n)} {rule_label(source, rule)}" for rule, n in items if rule != "file_rejected"]
        if rows:
            total = int(read.get(source) or 0)
            share = f" ({vn_pct(rows / total)})" if total else ""
            lines.append(f"{vn_int(rows)} dòng {label} bị cách ly{share}: {', '.join(parts)}")
        if files:
            names = [
                r[0]
                for r in con.execute(
                    "SELECT file FROM quarantine WHERE source = ? AND rule = 'file_rejected' "
                    "AND year IS NOT DISTINCT FROM CASE WHEN ? = ? THEN NULL ELSE ? END ORDER BY file",
                    [source, source, REGISTRY, year],
                ).fetchall()
            ]
            shown = ", ".join(names[:5]) + (f" và {len(names) - 5} tệp khác" if len(names) > 5 else "")
            lines.append(f"{vn_int(files)} tệp {label} bị từ chối cả tệp: {shown}")
    for source, failed in con.execute(
        "SELECT source, failed_checks FROM data_quality WHERE year = ? AND agency_code = '*' "
        "AND failed_checks IS NOT NULL ORDER BY source",
        [year],
    ).fetchall():
        phrases = [
            _check_phrase(e)
            for e in failed.split("; ")
            if not e.startswith(("missing_returns ", "rejected_files ", "sources_without_files "))
        ]
        if phrases:
            lines.append(f"Kiểm tra chưa đạt ({SOURCE_LABELS.get(source, source)}): {'; '.join(phrases)}")
    if not lines:
        lines.append(f"Dữ liệu năm {year}: không có dòng bị cách ly, đủ báo cáo, mọi kiểm tra đều đạt.")
    return lines
