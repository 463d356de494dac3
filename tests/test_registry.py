"""The registry (pipelines/core/registry/): every kind of configuration typo stops the run naming the file, the key path
and the reason; labels are published whole; a deployment's own rubric folder with its own classes and a group of its
own (provinces) runs through ingestion, Great Expectations, the marts, the workbook and the HTML report.

Every expected message and number is written out by hand from the files the tests write.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import duckdb
import openpyxl
import pytest
import yaml
from conftest import AGENCY_HEADER, RUBRIC_FIXTURES, write_csv

from pipelines.core import settings
from pipelines.core.registry import load_registry
from pipelines.core.registry.catalogue import (
    CATALOGUE_PATH,
    indicator_families,
    known_indicator_codes,
    load_catalogue,
)
from pipelines.core.registry.methodology import (
    METHODOLOGY_PATH,
    GroupLabels,
    agency_groups,
    class_colours,
    load_methodology,
)
from pipelines.core.registry.reading import RegistryError, RubricError, read_yaml, shown_path
from pipelines.core.registry.rubrics import load_rubric
from pipelines.core.registry.sources import REGISTRY_TABLE, SOURCES_PATH, load_sources, registry_source
from pipelines.core.registry.thresholds import THRESHOLDS_PATH, load_threshold_model

RUBRIC = RUBRIC_FIXTURES / "standard" / "2016.yaml"  # the tests' own: a bundled rubric's layout may change
GREEN, GREEN_FILL, RED, RED_FILL = "#1b7837", "#C6EFCE", "#b2182b", "#FFC7CE"  # Tốt's and Yếu's (methodology.yaml)


def edited(tmp_path: Path, original: Path, old: str, new: str, name: str | None = None) -> Path:
    """A copy of a configuration file with one text replaced, as an editor's slip would leave it."""
    text = original.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {original}"
    path = tmp_path / (name or original.name)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


# --- every typo kind, with file and key path ------------------------------------------------------------------------

TYPOS = [  # (id, configuration file, loader, text, replacement, the message after "<file>: ")
    (
        "unknown key",
        SOURCES_PATH,
        load_sources,
        "MaHoSo: {type: text, required: true}",
        "MaHoSo: {type: text, requried: true}",
        "sources.dossiers.columns.MaHoSo.requried: unknown key (did you mean 'required'?)",
    ),
    (
        "wrong type",
        SOURCES_PATH,
        load_sources,
        "    folder: services\n    partitioned: true",
        "    folder: services\n    partitioned: yes please",
        "sources.services.partitioned: must be true or false, got 'yes please'",
    ),
    (
        "unknown column type",
        SOURCES_PATH,
        load_sources,
        "LePhi: {type: int, min: 0}",
        "LePhi: {type: integer, min: 0}",
        "sources.dossiers.columns.LePhi.type: must be one of 'text', 'int', 'decimal', 'flag', 'date', 'timestamp' or "
        "'level', got 'integer'",
    ),
    (
        "comma in a flow mapping",
        CATALOGUE_PATH,
        load_catalogue,
        'label_en: "Security measures (firewall, antivirus, backup)"',
        "label_en: Security measures (firewall, antivirus, backup)",
        "indicators[security_measures].antivirus: unknown key (a value with an unquoted comma inside {…}? quote the "
        'text: "…, …")',
    ),
    (
        "catalogue wrong type",
        CATALOGUE_PATH,
        load_catalogue,
        "{code: has_lan, family: infrastructure, flag: true,",
        "{code: has_lan, family: infrastructure, flag: 1,",
        "indicators[has_lan].flag: must be true or false, got 1",
    ),
    (
        "catalogue unknown family",
        CATALOGUE_PATH,
        load_catalogue,
        "{code: edoc_ratio, family: capacity,",
        "{code: edoc_ratio, family: capacities,",
        "indicators[edoc_ratio].family: must name an SQL file of assets/indicators/sql, got 'capacities'",
    ),
    (
        "threshold wrong type",
        THRESHOLDS_PATH,
        load_threshold_model,
        "max_quarantined_share: 0.05",
        "max_quarantined_share: 5%",
        "max_quarantined_share: must be a number, got '5%'",
    ),
    (
        "threshold unknown key",
        THRESHOLDS_PATH,
        load_threshold_model,
        "sample_rows: 5",
        "sample_row: 5",
        "sample_row: unknown key (did you mean 'sample_rows'?)",
    ),
    (
        "methodology colour",
        METHODOLOGY_PATH,
        load_methodology,
        'colour: "#1b7837", fill: "#C6EFCE"',
        'colour: green, fill: "#C6EFCE"',
        "classification[1].colour: must be a colour like \"#1b7837\", got 'green'",
    ),
    (
        "methodology group code",
        METHODOLOGY_PATH,
        load_methodology,
        "  central: {order: 4,",
        "  Central: {order: 4,",
        "agency_groups.Central: must be a code of lower-case letters, digits and _, got 'Central'",
    ),
    (
        "unknown method",
        RUBRIC,
        load_rubric,
        "{code: edoc_ratio, points: 8, target: 0.9}",
        "{code: edoc_ratio, points: 8, method: targett, target: 0.9}",
        "criterion 'internal', indicator 'edoc_ratio': unknown scoring method 'targett'; known: ['target', "
        "'goalposts', 'fraction_of_max', 'minmax', 'steps']",
    ),
    (
        "parameter of another method",
        RUBRIC,
        load_rubric,
        "{code: edoc_ratio, points: 8, target: 0.9}",
        "{code: edoc_ratio, points: 8, method: goalposts, worst: 0}",
        "criterion 'internal', indicator 'edoc_ratio': method 'goalposts' needs best",
    ),
    (
        "rubric comma in a flow mapping",
        RUBRIC,
        load_rubric,
        "{code: edoc_ratio, points: 8, target: 0.9}",
        "{code: edoc_ratio, points: 8, target: 0.9, note: a, b}",
        "criterion 'internal', indicator 'edoc_ratio': unknown key(s) ['b'] (a value with an unquoted comma inside "
        '{…}? quote the text: "…, …")',
    ),
    (
        "rubric class colour",
        RUBRIC,
        load_rubric,
        '{label: "Yếu", min: 0}',
        '{label: "Yếu", min: 0, colour: red}',
        "classification, class 'Yếu': colour must be a colour like \"#1b7837\", got 'red'",
    ),
    (
        "rubric decimals",
        RUBRIC,
        load_rubric,
        "maximum: 100",
        "maximum: 100\ndecimals: two",
        "decimals: must be a whole number, got 'two'",
    ),
    # What the code assumes of the sources together (issue 25): a source it would skip is a load-time error.
    (
        "a second source without year folders",
        SOURCES_PATH,
        load_sources,
        "    folder: services\n    partitioned: true",
        "    folder: services\n    partitioned: false",
        "sources.services.partitioned: false is not supported for a source other than the agency registry "
        "(sources.agencies, role: registry): give its files year folders, raw/services/<year>/, and partitioned: true",
    ),
    (
        "no agency registry",
        SOURCES_PATH,
        load_sources,
        "    role: registry\n",
        "",
        "sources: no source has role: registry; give it to the agency registry (the source without year folders whose "
        "agency codes every other source is checked against)",
    ),
    (
        "two agency registries",
        SOURCES_PATH,
        load_sources,
        "    folder: services\n",
        "    folder: services\n    role: registry\n",
        "sources.services.role: a second source with role: registry (sources.agencies has it); the agency registry is "
        "one source",
    ),
    (
        "unknown role",
        SOURCES_PATH,
        load_sources,
        "    role: registry\n",
        "    role: registre\n",
        "sources.agencies.role: must be one of 'registry', got 'registre'",
    ),
    (
        "agency registry with year folders",
        SOURCES_PATH,
        load_sources,
        "    folder: agencies\n    partitioned: false",
        "    folder: agencies\n    partitioned: true",
        "sources.agencies.partitioned: the agency registry (role: registry) has no year folders: it must be false",
    ),
    (
        "agency registry's table",
        SOURCES_PATH,
        load_sources,
        "table: stg_agencies",
        "table: stg_agency",
        "sources.agencies.table: the agency registry's staging table must be stg_agencies (the SQL of the marts, the "
        "scoring and the checks reads it by that name), got 'stg_agency'",
    ),
    (
        "a table named twice",
        SOURCES_PATH,
        load_sources,
        "table: stg_dossiers",
        "table: stg_services",
        "sources.dossiers.table: stg_services is already the staging table of sources.services",
    ),
    (
        "a table that is no SQL name",
        SOURCES_PATH,
        load_sources,
        "table: stg_services",
        "table: stg services",
        "sources.services.table: must be a code of lower-case letters, digits and _, got 'stg services'",
    ),
]


@pytest.mark.parametrize(
    ("original", "loader", "old", "new", "message"), [t[1:] for t in TYPOS], ids=[t[0] for t in TYPOS]
)
def test_every_typo_kind_is_rejected_with_file_and_key_path(tmp_path, original, loader, old, new, message):
    path = edited(tmp_path, original, old, new)
    with pytest.raises(RegistryError) as err:
        loader(path)
    assert f"{path}: {message}" in str(err.value).splitlines()


def test_a_key_written_twice_is_rejected_with_both_lines(tmp_path):
    path = edited(
        tmp_path,
        SOURCES_PATH,
        "      MaTTHC: {type: text, required: true}",
        "      MaTTHC: {type: text, required: true}\n      MaHoSo: {type: text}",
    )
    lines = path.read_text(encoding="utf-8").splitlines()
    first, second, *_ = (i + 1 for i, line in enumerate(lines) if line.strip().startswith("MaHoSo:"))
    with pytest.raises(RegistryError) as err:
        load_sources(path)
    assert str(err.value) == (
        f"{path}: duplicate key 'MaHoSo' (line {second}) in sources.dossiers.columns, first given at line {first}"
    )


def test_a_bundled_file_is_named_as_the_project_names_it_and_a_rubric_error_is_a_rubric_error(tmp_path):
    bad = tmp_path / "x.yaml"
    bad.write_text("a: 1\na: 2\n", encoding="utf-8")
    with pytest.raises(
        RegistryError,
        match=rf"^{re.escape(str(bad))}: duplicate key 'a' \(line 2\) in the top "
        r"level, first given at line 1$",
    ):
        read_yaml(bad)
    assert shown_path(SOURCES_PATH) == Path("config/sources.yaml")  # what `config/sources.yaml: …` messages say
    with pytest.raises(RubricError, match="maximum: must be a number, got 'cent'"):
        load_rubric(edited(tmp_path, RUBRIC, "maximum: 100", "maximum: cent"))


def _billion_laughs(levels: int) -> str:
    """Nested aliases: `levels` lines of nine aliases each expand to 9^levels values."""
    return "".join(
        ["lol0: &l0 [lol]\n", *(f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, levels + 1))]
    )


def test_nested_aliases_are_refused_where_they_are_written(tmp_path):
    """A "billion laughs" took minutes before any error (every walk over the document expands the aliases); the
    alias that makes the file's aliases repeat more than 10,000 values is now refused as the file is read, naming
    the file and its line, whatever the depth. An alias used as PyYAML's dumper writes one is still read."""
    rubric_text = RUBRIC.read_text(encoding="utf-8")
    first = len(rubric_text.splitlines()) + 1  # the bomb's first line
    # Values repeated by the aliases of each line: lol0 is [lol] (2 values), lolN is 1 + 9 × lol(N-1): 19, 172, 1549.
    # Lines lol1–lol3 repeat 9 × 2 + 9 × 19 + 9 × 172 = 1737; on lol4's line the 6th *l3 passes 10,000
    # (1737 + 6 × 1549 = 11031).
    refused = (
        f"line {first + 4}: alias *l3: the file's aliases repeat more than 10,000 values (nested aliases, "
        'a "billion laughs"?); write the values out'
    )
    small = tmp_path / "2016.yaml"
    small.write_text(rubric_text + _billion_laughs(5), encoding="utf-8")  # read in a blink on main: no hang
    with pytest.raises(RubricError) as err:
        load_rubric(small)
    assert str(err.value) == f"{small}: {refused}"

    thresholds = tmp_path / "thresholds.yaml"
    thresholds.write_text("sample_rows: &rows 5\ndata_docs_keep_runs: *rows\n", encoding="utf-8")
    model = load_threshold_model(thresholds)  # a value used twice, as PyYAML's dumper writes it
    assert (model.sample_rows, model.data_docs_keep_runs) == (5, 5)
    thresholds.write_text("max_quarantined_share: 0.05\nrequired_returns: &r [capacity, *r]\n", encoding="utf-8")
    with pytest.raises(RegistryError) as err:  # recursed without end on main
        load_threshold_model(thresholds)
    assert str(err.value) == f"{thresholds}: line 2: alias *r: names a value that contains it; write the values out"

    # Nine levels (10^9 values) in a process of its own, so that a regression fails at the timeout, not hangs.
    big = tmp_path / "big" / "2016.yaml"
    big.parent.mkdir()
    big.write_text(rubric_text + _billion_laughs(9), encoding="utf-8")
    probe = (
        "import sys\nfrom pipelines.core.registry.reading import RubricError\n"
        "from pipelines.core.registry.rubrics import load_rubric\ntry:\n"
        "    load_rubric(sys.argv[1])\nexcept RubricError as e:\n    print(e)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(big)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.PROJECT_ROOT,
        check=True,
    )
    assert done.stdout.strip() == f"{big}: {refused}"


def test_a_file_that_looks_like_a_rubric_but_is_not_read_is_reported(tmp_path, capsys):
    """`2025.YAML` was ignored without a word (the year scored with an older file): every file of the rubric folder
    that looks like a rubric and is not read is named, with the name it must have."""
    from pipelines.core.registry.__main__ import main as check_rubrics
    from pipelines.core.registry.rubrics import misnamed_rubric_files, rubric_file_for, rubric_files

    folder = tmp_path / "rubrics"
    (folder / "periodic" / "766").mkdir(parents=True)
    for name, year in (("2024.yaml", 2024), ("2023.yml", 2023)):  # both read
        (folder / name).write_text(
            yaml.safe_dump({**NATIONAL_RUBRIC, "year": year}, allow_unicode=True), encoding="utf-8"
        )
    misnamed = ["2025.YAML", " 2025.yaml", "2025.yaml ", "rubric_2025.yaml", "Rubric-2025.Yml"]
    for name in [*misnamed, "draft-2026.yaml", "README.md", "2024.yaml.bak", ".2025.yaml"]:
        (folder / name).write_text("year: 2025\n", encoding="utf-8")
    (folder / "periodic" / "766" / "2026.Yaml").write_text("year: 2026\n", encoding="utf-8")
    (folder / "periodic" / "2026.yaml").write_text("year: 2026\n", encoding="utf-8")

    assert rubric_files(folder) == {2023: folder / "2023.yml", 2024: folder / "2024.yaml"}
    expected = {
        f"{folder}: {name!r} is not read as a rubric: a rubric file must be named <year>.yaml (2025.yaml); "
        "a draft's name starts with draft"
        for name in misnamed
    }
    expected |= {
        f"{folder}/periodic/766: '2026.Yaml' is not read as a rubric: a rubric file must be named "
        "<year>.yaml (2026.yaml); a draft's name starts with draft",
        f"{folder}/periodic: '2026.yaml' is not read as a rubric: a periodic rubric goes in "
        "periodic/<name>/<year>.yaml",
    }
    assert set(misnamed_rubric_files(folder)) == expected
    assert len(misnamed_rubric_files(folder)) == len(expected)

    assert check_rubrics([str(folder)]) == 0  # the rubric checker (docs/rubrics.md §5) warns
    assert {line.removeprefix("WARNING ") for line in capsys.readouterr().err.splitlines()} == expected

    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "2025.YAML").write_text("year: 2025\n", encoding="utf-8")
    with pytest.raises(RubricError) as err:  # a year with no rubric says which file was meant
        rubric_file_for(2025, alone)
    assert str(err.value).splitlines() == [
        f"{alone}: no rubric for 2025: no file for 2025 or an earlier year (there is none)",
        f"{alone}: '2025.YAML' is not read as a rubric: a rubric file must be named <year>.yaml (2025.yaml); a "
        "draft's name starts with draft",
    ]


NEW_INDICATOR = '  - {code: edoc_signed_ratio, family: %s, label_vi: "Tỷ lệ văn bản ký số", national: ratio_of_sums}\n'


@pytest.mark.parametrize(
    ("family", "sql"),
    [
        ("dossier_ytd", "assets/indicators/sql/dossier_ytd.sql"),  # a file of the folder that is no family
        ("capacity", "assets/indicators/sql/capacity.sql"),  # a family that does not compute it (yet)
    ],
)
def test_an_indicator_no_family_sql_computes_is_refused_at_load(tmp_path, family, sql):
    """Before issue 25 the entry was accepted and every unit scored 0 on it without a word: no family SQL computed
    it, and indicator_values lists every catalogue indicator (LEFT JOIN)."""
    path = tmp_path / "catalogue.yaml"
    path.write_text(CATALOGUE_PATH.read_text(encoding="utf-8") + NEW_INDICATOR % family, encoding="utf-8")
    with pytest.raises(RegistryError) as err:
        load_catalogue(path)
    assert str(err.value) == (
        f"{path}: indicators[edoc_signed_ratio].family: {sql} does not compute 'edoc_signed_ratio' (the code, as an "
        "SQL string 'edoc_signed_ratio', is not in it): add its numerator and denominator there, or name the family "
        f"that computes it, got '{family}'"
    )


def test_the_families_run_are_the_catalogues_and_each_computes_its_indicators():
    from assets.indicators.build import SQL_DIR

    catalogue = load_catalogue()
    assert indicator_families(catalogue) == (
        "services",
        "dossiers",
        "one_stop",
        "infrastructure",
        "capacity",
        "communes",
    )
    for i in catalogue:
        assert f"'{i.code}'" in (SQL_DIR / f"{i.family}.sql").read_text(encoding="utf-8"), i.code


def test_the_agency_registry_is_found_by_its_role(tmp_path):
    sources = load_sources()
    assert registry_source(sources).name == "agencies" and registry_source(sources).table == REGISTRY_TABLE
    renamed = edited(tmp_path, SOURCES_PATH, "  agencies:\n    label:", "  units:\n    label:")
    assert registry_source(load_sources(renamed)).name == "units"
    assert registry_source(load_sources(renamed)).folder == "agencies"


def test_a_missing_catalogue_is_an_error_naming_it(tmp_path):
    with pytest.raises(
        RegistryError,
        match=rf"^{re.escape(str(tmp_path / 'missing.yaml'))}: no such file \(the "
        r"indicator catalogue\)$",
    ):
        known_indicator_codes(tmp_path / "missing.yaml")


def test_the_bundled_configuration_loads_and_fits_together():
    registry = load_registry()
    assert registry.group_codes == ["department", "district", "commune", "central"]
    assert registry.classification_labels == ["Tốt", "Khá", "Trung bình", "Yếu"]
    assert registry.sources["agencies"].columns[2].allowed == ("department", "district", "commune", "central")
    assert [s for s, c in registry.sources.items() if c.agency_return] == ["one_stop", "infrastructure", "capacity"]
    assert {i.code: i.label_en for i in registry.indicators}["security_measures"] == (
        "Security measures (firewall, antivirus, backup)"
    )
    assert registry.rubrics[2016].variants["department"].colours["Khá"] == ("#2166ac", "#DDEBF7")
    assert load_registry() is registry  # loaded once while the files are unchanged


def test_classes_without_colours_take_the_default_of_their_label_or_of_their_rank():
    defaults = load_methodology().classification
    two = [
        c.model_copy(update={"label": label, "colour": None, "fill": None})
        for c, label in zip(defaults[:2], ["Đạt", "Chưa đạt"], strict=True)
    ]
    assert class_colours(tuple(two), defaults) == {"Đạt": (GREEN, GREEN_FILL), "Chưa đạt": (RED, RED_FILL)}
    own = (defaults[0].model_copy(update={"label": "A", "colour": "#000080", "fill": None}),)
    assert class_colours(own, defaults) == {"A": ("#000080", "#BFBFDF")}  # fill: the colour 75 % towards white


# --- the rubric folder of a deployment (item 5) and groups of any level (item 4) --------------------------------


NATIONAL_RUBRIC = {
    "year": 2024,
    "title": "Xếp hạng thử nghiệm mức độ ứng dụng CNTT các tỉnh",
    "maximum": 100,
    "classification": [{"label": "Đạt", "min": 50}, {"label": "Chưa đạt", "min": 0}],
    "assessed_indicators": [
        {"code": "ict_infrastructure", "name_vi": "Hạ tầng kỹ thuật"},
        {"code": "ict_human", "name_vi": "Nhân lực"},
        {"code": "ict_applications", "name_vi": "Ứng dụng"},
    ],
    "criteria": [
        {
            "code": "ict",
            "name_vi": "Chỉ số thành phần",
            "max_points": 100,
            "indicators": [
                {"code": "ict_infrastructure", "points": 40},
                {"code": "ict_human", "points": 30},
                {"code": "ict_applications", "points": 30},
            ],
        }
    ],
    "groups": {"province": {"label_vi": "Tỉnh, thành phố", "sheet": "Tỉnh"}},
}
# value of each component per province, and the total by hand: 40 v1 + 30 v2 + 30 v3
PROVINCES = {
    "P01": ("Tỉnh Một", (0.9, 0.8, 0.7)),  # 36 + 24 + 21 = 81.00 → Đạt
    "P02": ("Tỉnh Hai", (0.2, 0.3, 0.4)),  # 8 + 9 + 12 = 29.00 → Chưa đạt
    "P03": ("Tỉnh Ba", (0.5, 0.5, 0.5)),  # 20 + 15 + 15 = 50.00 → Đạt (the boundary)
}


def national(data_dir: Path) -> None:
    """A national team's deployment: its own rubric folder, a registry of provinces, submitted components."""
    (data_dir / "rubrics").mkdir()
    (data_dir / "rubrics" / "2024.yaml").write_text(
        yaml.safe_dump(NATIONAL_RUBRIC, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    write_csv(
        data_dir / "raw" / "agencies" / "tinh.csv",
        AGENCY_HEADER,
        [[code, name, "province", "", "2016-01-01", "", ""] for code, (name, _) in PROVINCES.items()]
        + [["W01", "Phường Một", "ward", "", "2016-01-01", "", ""]],
    )  # a group no rubric declares
    components = ["ict_infrastructure", "ict_human", "ict_applications"]
    write_csv(
        data_dir / "raw" / "assessments" / "2024" / "thanh_phan.csv",
        ["year", "agency_code", "indicator_code", "value"],
        [
            [2024, code, c, str(v).replace(".", ",")]
            for code, (_, values) in PROVINCES.items()
            for c, v in zip(components, values, strict=True)
        ],
    )


def test_a_group_declared_without_labels_is_shown_by_its_code_in_the_palettes_colour():
    methodology = load_methodology()
    rubric = SimpleNamespace(year=2024, groups={"ministry": GroupLabels()})  # what a rubric's `ministry: {}` gives
    ministry = next(g for g in agency_groups(methodology, [rubric]) if g.code == "ministry")
    assert (ministry.label_vi, ministry.label_en, ministry.sheet) == ("ministry", "ministry", "ministry")
    assert ministry.order == 5 and ministry.colour == methodology.palette[4]  # after the four standard groups


def test_a_deployment_reads_its_own_rubric_folder_and_declares_groups_there(data_dir):
    assert settings.rubric_dir(data_dir) == settings.RUBRIC_DIR  # no rubrics/ folder: the bundled ones
    national(data_dir)
    registry = load_registry(data_dir)
    assert registry.rubric_dir == data_dir / "rubrics" and list(registry.rubrics) == [2024]
    province = registry.group("province")
    assert (province.label_vi, province.sheet, province.order) == ("Tỉnh, thành phố", "Tỉnh", 5)
    assert province.colour == load_methodology().palette[4]  # none given: the palette's, in group order
    assert registry.sources["agencies"].columns[2].allowed[-1] == "province"
    assert registry.classification_labels == ["Tốt", "Khá", "Trung bình", "Yếu", "Đạt", "Chưa đạt"]
    # An edit is seen by the next load (the cache follows the files), a bad one is reported with its place.
    (data_dir / "rubrics" / "2024.yaml").write_text(
        yaml.safe_dump(
            {**NATIONAL_RUBRIC, "groups": {"province": {"label_vi": "Tỉnh", "colur": "#000000"}}}, allow_unicode=True
        ),
        encoding="utf-8",
    )
    with pytest.raises(
        RubricError,
        match=r"rubrics/2024\.yaml: groups\.province: unknown key\(s\) \['colur'\] "
        r"\(did you mean 'colour'\?\)",
    ):
        load_registry(data_dir)


@pytest.mark.slow
def test_custom_classes_and_a_group_of_provinces_run_through_gx_the_workbook_and_the_html_report(data_dir):
    from pipelines.cli.runs import run_pipeline

    national(data_dir)
    assert run_pipeline([2024], data_dir=data_dir)  # the run fails on any critical GX or SQL check

    marts = duckdb.connect(str(data_dir / "marts" / "egov.duckdb"), read_only=True)
    try:
        ranking = marts.execute(
            "SELECT agency_code, agency_group, total_points, rank, classification FROM rankings "
            "WHERE year = 2024 ORDER BY rank, agency_code"
        ).fetchall()
        assert ranking == [
            ("P01", "province", 81.0, 1, "Đạt"),
            ("P03", "province", 50.0, 2, "Đạt"),
            ("P02", "province", 29.0, 3, "Chưa đạt"),
        ]
        assert marts.execute(
            "SELECT label_vi, sheet_name FROM agency_groups WHERE agency_group = 'province'"
        ).fetchall() == [("Tỉnh, thành phố", "Tỉnh")]
        assert marts.execute(
            "SELECT label, colour, fill FROM rubric_classes WHERE agency_group = 'province' ORDER BY min_total DESC"
        ).fetchall() == [("Đạt", GREEN, GREEN_FILL), ("Chưa đạt", RED, RED_FILL)]
        held = marts.execute("SELECT agency_code, rule, reason FROM quarantine WHERE source = 'agencies'").fetchall()
        assert held == [
            (
                "W01",
                "not_allowed",
                "agency_group: 'ward' is not one of department, district, commune, central, province",
            )
        ]
        failed = [
            f
            for (f,) in marts.execute(
                "SELECT failed_checks FROM data_quality WHERE year = 2024 AND failed_checks LIKE '%gx %'"
            ).fetchall()
        ]
        assert failed == []  # the staging and mart suites accept the group and the classes
    finally:
        marts.close()

    report = data_dir / "marts" / "reports" / "2024"
    book = openpyxl.load_workbook(report / "xep_hang_2024.xlsx")
    assert book.sheetnames[0] == "Tỉnh"
    sheet = book["Tỉnh"]
    assert sheet["A1"].value == "Kết quả xếp hạng mức độ ứng dụng CNTT năm 2024 – Tỉnh, thành phố"
    heads = [c.value for c in sheet[3]]
    assert [r[heads.index("Xếp loại")] for r in sheet.iter_rows(min_row=4, max_row=6, values_only=True)] == [
        "Đạt",
        "Đạt",
        "Chưa đạt",
    ]
    fills = {
        rule.formula[0].split('"')[1]: rule.dxf.fill.bgColor.rgb
        for cf in sheet.conditional_formatting
        for rule in cf.rules
    }
    assert fills == {"Đạt": "FF" + GREEN_FILL[1:], "Chưa đạt": "FF" + RED_FILL[1:]}

    page = (report / "index.html").read_text(encoding="utf-8")
    assert "<h2" in page and "Tỉnh, thành phố</h2>" in page
    assert f'<span class="cls" style="background: {GREEN}">Đạt</span>' in page
    assert f'<span class="cls" style="background: {RED}">Chưa đạt</span>' in page
    profile = (report / "co-quan" / "P02.html").read_text(encoding="utf-8")
    assert f'style="background: {RED}">Chưa đạt</span>' in profile


def test_the_security_measures_label_is_published_whole(report_marts: Path):
    """catalogue.yaml used to publish "Security measures (firewall": an unquoted comma ended the value."""
    marts = duckdb.connect(str(report_marts), read_only=True)
    try:
        assert marts.execute(
            "SELECT label_vi, label_en FROM indicator_catalogue WHERE indicator_code = 'security_measures'"
        ).fetchall() == [
            (
                "Biện pháp bảo đảm ATTT (tường lửa, phòng chống mã độc, sao lưu)",
                "Security measures (firewall, antivirus, backup)",
            )
        ]
    finally:
        marts.close()
