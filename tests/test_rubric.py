"""Rubric files: the shipped 2016 rubric is docs/domain.md §5 exactly, and every mistake an evaluator can make in
YAML stops the run with a message naming the file and the problem.

Only the tests of the shipped rubric read config/rubrics/; the mistakes are made in a copy of the tests' own standard
rubric (tests/fixtures/rubrics/standard), so a change of the bundled methodology does not move them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from conftest import RUBRIC_FIXTURES

from pipelines.core.registry.__main__ import main
from pipelines.core.registry.catalogue import known_indicator_codes
from pipelines.core.registry.reading import RubricError
from pipelines.core.registry.rubrics import load_rubric, rubric_file_for, rubrics_for_years

PROJECT = Path(__file__).resolve().parents[1]
SHIPPED = PROJECT / "config" / "rubrics" / "2016.yaml"
OWN = RUBRIC_FIXTURES / "standard" / "2016.yaml"

STANDARD = {  # docs/domain.md §5, typed out independently of the YAML
    "infrastructure": (
        "Hạ tầng kỹ thuật CNTT và ATTT",
        20,
        [
            ("computers_per_staff", 6, 1.0),
            ("internet_computer_ratio", 3, 1.0),
            ("has_lan", 2, 1),
            ("security_measures", 4, 1.0),
            ("security_assessed", 3, 1),
            ("offline_computer_secret", 2, 1),
        ],
    ),
    "internal": (
        "Ứng dụng CNTT trong hoạt động nội bộ",
        20,
        [("edoc_ratio", 8, 0.9), ("esign_ratio", 6, 0.9), ("official_email_ratio", 6, 1.0)],
    ),
    "services": (
        "Ứng dụng CNTT phục vụ người dân và doanh nghiệp",
        40,
        [
            ("svc_online_ratio", 8, 0.8),
            ("svc_level4_ratio", 4, 0.5),
            ("dossier_online_ratio", 10, 0.5),
            ("svc_with_online_dossier_ratio", 4, 1.0),
            ("dossier_on_time_ratio", 6, 1.0),
            ("dossier_paid_online_ratio", 4, 0.8),
            ("one_stop_in_software_ratio", 4, 1.0),
        ],
    ),
    "people": (
        "Nguồn nhân lực CNTT",
        10,
        [("it_staff_present", 3, 1), ("staff_it_trained_ratio", 4, 1.0), ("it_security_trained_ratio", 3, 1.0)],
    ),
    "policy": (
        "Môi trường tổ chức và chính sách",
        10,
        [("has_it_plan", 4, 1), ("has_it_regulation", 3, 1), ("has_it_budget", 3, 1)],
    ),
}
COMMUNES = (
    "Ứng dụng CNTT tại UBND cấp xã",
    10,
    [
        ("commune_computers_ratio", 2.5, 1.0),
        ("commune_lan_ratio", 2.5, 1.0),
        ("commune_one_stop_ratio", 2.5, 1.0),
        ("commune_website_ratio", 2.5, 1.0),
    ],
)


def standard() -> dict:
    """The tests' standard rubric, to change in a test."""
    return yaml.safe_load(OWN.read_text(encoding="utf-8"))


def write(directory: Path, data: dict, year: int | None = None) -> Path:
    path = directory / f"{year or data['year']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def criterion(data: dict, code: str) -> dict:
    return next(c for c in data["criteria"] if c["code"] == code)


def test_shipped_2016_rubric_is_the_standard_rubric():
    rubric = load_rubric(SHIPPED)
    assert rubric.year == 2016 and rubric.maximum == 100 and rubric.title
    dept = rubric.variants["department"]
    got = {c.code: (c.name, c.max_points, [(i.code, i.points, i.target) for i in c.items]) for c in dept.criteria}
    assert got == STANDARD
    assert dept.maximum == 100
    assert dept.classes == (("Tốt", 80), ("Khá", 65), ("Trung bình", 50), ("Yếu", 0))
    for group in ("commune", "central"):
        assert rubric.variants[group].criteria == dept.criteria
        assert rubric.variants[group].classes == dept.classes


def test_district_variant_scales_every_department_indicator_and_adds_communes():
    district = load_rubric(SHIPPED).variants["district"]
    got = {c.code: (c.name, c.max_points, [(i.code, i.points, i.target) for i in c.items]) for c in district.criteria}
    assert got["communes"] == COMMUNES
    for code, (name, max_points, items) in STANDARD.items():
        assert got[code] == (
            name,
            pytest.approx(0.9 * max_points),
            [(i, pytest.approx(0.9 * p), t) for i, p, t in items],
        )
    assert district.maximum == pytest.approx(100)
    assert [c.code for c in district.criteria] == [*STANDARD, "communes"]


def test_catalogue_codes(tmp_path: Path):
    assert {"edoc_ratio", "computers_per_staff", "commune_website_ratio"} <= known_indicator_codes()
    catalogue = tmp_path / "catalogue.yaml"
    catalogue.write_text("indicators:\n  - {code: edoc_ratio}\n", encoding="utf-8")
    assert known_indicator_codes(catalogue) == {"edoc_ratio"}
    with pytest.raises(RubricError, match="'computers_per_staff'.*unknown indicator code"):
        load_rubric(OWN, catalogue)


def test_rubric_of_a_year_is_its_own_or_the_latest_earlier(tmp_path: Path):
    write(tmp_path, standard(), 2016)
    write(tmp_path, {**standard(), "year": 2020}, 2020)
    (tmp_path / "README.md").write_text("not a rubric")
    assert rubric_file_for(2016, tmp_path).name == "2016.yaml"
    assert rubric_file_for(2019, tmp_path).name == "2016.yaml"
    assert rubric_file_for(2020, tmp_path).name == "2020.yaml"
    assert rubric_file_for(2031, tmp_path).name == "2020.yaml"
    assert {y: r.year for y, r in rubrics_for_years([2017, 2020, 2022], tmp_path).items()} == {
        2017: 2016,
        2020: 2020,
        2022: 2020,
    }
    with pytest.raises(RubricError, match=r"no rubric for 2015.*the first is 2016\.yaml"):
        rubric_file_for(2015, tmp_path)
    with pytest.raises(RubricError, match="no rubric for 2016.*there is none"):
        rubric_file_for(2016, tmp_path / "empty")


def _mutations() -> list[tuple[str, object, str]]:
    """(id, mutation of the standard rubric, expected message fragment)."""

    def unknown_code(d):
        criterion(d, "internal")["indicators"][0]["code"] = "edoc_rato"

    def criterion_sum(d):
        criterion(d, "internal")["indicators"][0]["points"] = 7

    def total_sum(d):
        c = criterion(d, "policy")
        c["max_points"] = 11
        c["indicators"][0]["points"] = 5

    def thresholds_order(d):
        d["classification"][1]["min"] = 85

    def thresholds_equal(d):
        d["classification"][2]["min"] = 65

    def last_not_zero(d):
        d["classification"][3]["min"] = 10

    def zero_target(d):
        criterion(d, "internal")["indicators"][1]["target"] = 0

    def negative_target(d):
        criterion(d, "services")["indicators"][0]["target"] = -0.8

    def negative_points(d):
        c = criterion(d, "policy")
        c["indicators"] = [{"code": "has_it_plan", "points": 14}, {"code": "has_it_regulation", "points": -4}]

    def duplicate_criterion(d):
        d["criteria"][1]["code"] = "infrastructure"

    def duplicate_indicator(d):
        c = criterion(d, "policy")
        c["indicators"][2]["code"] = "has_it_plan"

    def duplicate_in_extra(d):
        d["groups"]["district"]["extra_criteria"][0]["indicators"][0]["code"] = "edoc_ratio"

    def duplicate_extra_criterion(d):
        d["groups"]["district"]["extra_criteria"][0]["code"] = "policy"

    def duplicate_assessed(d):
        d["assessed_indicators"] = [{"code": "portal_quality", "name": "A"}, {"code": "portal_quality", "name": "B"}]

    def two_names(d):
        criterion(d, "internal")["name"] = "Nội bộ"

    def typo_key(d):
        item = criterion(d, "internal")["indicators"][0]
        item["tagret"] = item.pop("target")

    def not_a_number(d):
        criterion(d, "internal")["indicators"][0]["points"] = "8,0"

    def group_not_a_mapping(d):
        d["groups"] = ["department"]

    def bad_group_code(d):  # any lower-case code declares a group (a province, a ward): not a capitalised one
        d["groups"]["Ward"] = {"same_as": "department"}

    def district_maximum(d):
        d["groups"]["district"]["maximum"] = 95

    def district_scale(d):
        d["groups"]["district"]["scale"] = 0.8
        del d["groups"]["district"]["maximum"]

    def same_as_self(d):
        d["groups"]["commune"] = {"same_as": "commune"}

    def same_as_chain(d):
        d["groups"]["central"] = {"same_as": "commune"}

    def same_as_extra(d):
        d["groups"]["commune"] = {"same_as": "department", "scale": 0.5}

    def wrong_year(d):
        d["year"] = 2017

    def missing_key(d):
        del d["criteria"]

    def both_threshold_keys(d):
        d["thresholds"] = d["classification"]

    def empty_criterion(d):
        criterion(d, "policy")["indicators"] = []

    return [
        ("unknown indicator", unknown_code, "criterion 'internal', indicator 'edoc_rato': unknown indicator code"),
        ("criterion sum", criterion_sum, "criterion 'internal': indicator points add up to 19, but max_points is 20"),
        ("criteria sum", total_sum, "criteria: criteria max_points add up to 101, but maximum is 100"),
        ("thresholds order", thresholds_order, "thresholds out of order"),
        ("thresholds equal", thresholds_equal, "thresholds out of order"),
        ("last threshold", last_not_zero, "the last class ('Yếu') must have min: 0"),
        ("zero target", zero_target, "indicator 'esign_ratio': target must be positive, got 0"),
        ("negative target", negative_target, "indicator 'svc_online_ratio': target must be positive, got -0.8"),
        ("negative points", negative_points, "indicator 'has_it_regulation': points must be positive"),
        ("duplicate criterion", duplicate_criterion, "duplicate criterion code(s) ['infrastructure']"),
        ("duplicate indicator", duplicate_indicator, "duplicate indicator code(s) ['has_it_plan']"),
        ("duplicate in extra", duplicate_in_extra, "groups.district: duplicate indicator code(s) ['edoc_ratio']"),
        (
            "duplicate extra criterion",
            duplicate_extra_criterion,
            "groups.district: duplicate criterion code(s) ['policy']",
        ),
        ("duplicate assessed", duplicate_assessed, "assessed_indicators: duplicate indicator code 'portal_quality'"),
        ("two names", two_names, "criterion 'internal': give only one of ['name_vi', 'name']"),
        ("typo key", typo_key, "unknown key(s) ['tagret']"),
        ("not a number", not_a_number, "points must be a number, got '8,0'"),
        ("groups not a mapping", group_not_a_mapping, "groups: expected a mapping of agency groups"),
        ("bad group code", bad_group_code, "groups.Ward: must be a code of lower-case letters, digits and _"),
        (
            "district maximum",
            district_maximum,
            "groups.district: criteria add up to 100 (scale 0.9 × 100 + extra criteria), but maximum is 95",
        ),
        ("district scale", district_scale, "groups.district: criteria add up to 90, not the rubric maximum 100"),
        ("same_as self", same_as_self, "groups.commune: same_as must name another agency group"),
        ("same_as chain", same_as_chain, "which is itself same_as another group"),
        ("same_as extra", same_as_extra, "same_as cannot be combined with other keys"),
        ("wrong year", wrong_year, "the file is named for 2016 but says year: 2017"),
        ("missing key", missing_key, "missing key(s) ['criteria']"),
        ("both threshold keys", both_threshold_keys, "classification: give only one of"),
        ("empty criterion", empty_criterion, "criterion 'policy': indicators must be a non-empty list"),
    ]


@pytest.mark.parametrize(
    ("mutate", "message"), [(m, msg) for _, m, msg in _mutations()], ids=[i for i, _, _ in _mutations()]
)
def test_validation_errors_name_the_file_and_the_problem(tmp_path: Path, mutate, message: str):
    data = copy.deepcopy(standard())
    mutate(data)
    path = write(tmp_path, data, 2016)
    with pytest.raises(RubricError) as err:
        load_rubric(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)


def test_duplicate_yaml_keys_and_broken_yaml_are_rejected(tmp_path: Path):
    text = OWN.read_text(encoding="utf-8").replace(
        "  commune: {same_as: department}", "  commune: {same_as: department}\n  district: {}"
    )
    path = tmp_path / "2016.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RubricError, match=r"2016\.yaml: duplicate key 'district' \(line \d+\)"):
        load_rubric(path)
    path.write_text("year: 2016\ncriteria: [\n", encoding="utf-8")
    with pytest.raises(RubricError, match=r"2016\.yaml: not valid UTF-8 YAML"):
        load_rubric(path)


def test_flag_target_defaults_to_one(tmp_path: Path):
    data = standard()
    del criterion(data, "policy")["indicators"][0]["target"]
    rubric = load_rubric(write(tmp_path, data))
    assert rubric.variants["department"].criteria[-1].items[0].target == 1.0


def test_minimal_rubric_defaults_groups_thresholds_and_accepts_aliases(tmp_path: Path):
    """Only year, maximum and criteria are required: unlisted groups use the standard criteria, the thresholds
    default to docs/domain.md §5's, `name` may stand for `name_vi`, `thresholds` for `classification`."""
    data = standard()
    minimal = {"year": 2016, "maximum": 100, "criteria": data["criteria"]}
    rubric = load_rubric(write(tmp_path, minimal))
    assert set(rubric.variants) == {"department", "district", "commune", "central"}
    assert rubric.variants["district"].criteria == rubric.variants["department"].criteria
    assert rubric.variants["central"].classes == (("Tốt", 80), ("Khá", 65), ("Trung bình", 50), ("Yếu", 0))
    for c in minimal["criteria"]:
        c["name"] = c.pop("name_vi")
    minimal["thresholds"] = [{"label": "Đạt", "min": 50}, {"label": "Chưa đạt", "min": 0}]
    rubric = load_rubric(write(tmp_path, minimal))
    assert rubric.variants["department"].criteria[0].name == "Hạ tầng kỹ thuật CNTT và ATTT"
    assert rubric.variants["commune"].classes == (("Đạt", 50), ("Chưa đạt", 0))


def test_assessed_indicator_is_declared_in_yaml_only(tmp_path: Path):
    data = standard()
    services = criterion(data, "services")
    services["indicators"][-1]["points"] = 2  # one_stop_in_software_ratio 4 → 2
    services["indicators"].append({"code": "portal_quality", "points": 2, "target": 1})
    with pytest.raises(RubricError, match="indicator 'portal_quality': unknown indicator code"):
        load_rubric(write(tmp_path, data))
    data["assessed_indicators"] = [{"code": "portal_quality", "name": "Chất lượng cổng thông tin điện tử"}]
    rubric = load_rubric(write(tmp_path, data))
    assert "portal_quality" in rubric.assessed
    dept_items = {i.code: i.points for c in rubric.variants["department"].criteria for i in c.items}
    assert dept_items["portal_quality"] == 2.0
    district_items = {i.code: i.points for c in rubric.variants["district"].criteria for i in c.items}
    assert district_items["portal_quality"] == pytest.approx(1.8)
    data["assessed_indicators"] = ["portal_quality"]  # a bare code is enough
    assert "portal_quality" in load_rubric(write(tmp_path, data)).assessed


def test_cli_validates_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main([str(OWN.parent)]) == 0
    assert "OK 2016.yaml" in capsys.readouterr().out
    data = standard()
    data["classification"][1]["min"] = 90
    write(tmp_path, data)
    assert main([str(tmp_path)]) == 1
    assert "thresholds out of order" in capsys.readouterr().err
