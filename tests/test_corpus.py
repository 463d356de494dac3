"""The bad-input corpus (tests/corpus/): every broken export an agency may send, through the real loader.

Each case is a data directory's `raw/` as agencies fill it; `cases.yaml` says what must come out. For every case:
no crash, the exact counts per file, rows read = loaded + quarantined (in `ingested_files` and in the tables), the
named physical lines, and no personal data in quarantine, staging or a file's message.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest
import xlsxwriter
import yaml

from assets.ingestion.load import ingest
from pipelines.core.registry.sources import load_sources
from pipelines.core.warehouse import connect

CORPUS = Path(__file__).parent / "corpus"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))["cases"]
CONTRACTS = load_sources()
FILLER = "Căn cứ Luật Xây dựng số 50/2014/QH13 và Nghị định 15/2021/NĐ-CP; "


def _generate(raw: Path, spec: dict) -> None:
    """Build what is not worth (or not possible) committing: a cell of `bytes` bytes in one record or in the header
    of a committed file, a file name that is not UTF-8, a link to a file outside the raw directory, a workbook
    whose sheet XML is `bytes` long."""
    path = raw / spec.get("file", spec.get("link", ""))
    if spec["kind"] == "xlsx_bomb":
        _xlsx_bomb(raw / spec["from"], path, spec["bytes"])
        return
    if spec["kind"] == "huge_header":
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        header = next(csv.reader(io.StringIO(lines[0])))
        note = FILLER.replace(";", ".") * (spec["bytes"] // len(FILLER.encode()) + 1)  # no delimiter in it
        header[header.index(spec["column"])] = f"{spec['column']} (ghi chú: {note})"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(header)
        path.write_text(out.getvalue() + "".join(lines[1:]), encoding="utf-8")
        return
    if spec["kind"] == "non_utf8_name":
        os.rename(path, os.fsencode(path.parent) + b"/" + spec["name"].encode(spec["encoding"]))
        return
    if spec["kind"] == "symlink_out":
        target = raw.parent.parent / "outside_raw" / "passwd"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(spec["content"], encoding="utf-8")
        path.symlink_to(target)
        return
    assert spec["kind"] == "huge_field"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = next(csv.reader(io.StringIO(lines[0])))
    record = next(csv.reader(io.StringIO(lines[spec["line"] - 1])))
    record[header.index(spec["column"])] = "\x00"  # where the filler goes: it holds no delimiter, quote nor line break
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(record)
    before, after = out.getvalue().split("\x00")
    repeats = spec["bytes"] // len(FILLER.encode()) + 1
    with path.open("w", encoding="utf-8", newline="") as fh:  # written in pieces: the cell may be 40 MB
        fh.writelines(lines[: spec["line"] - 1])
        fh.write(before)
        for _ in range(repeats // 1000):
            fh.write(FILLER * 1000)
        fh.write(FILLER * (repeats % 1000) + after)
        fh.writelines(lines[spec["line"] :])


def _xlsx_bomb(source: Path, path: Path, size: int) -> None:
    """The rows of a committed CSV saved as a workbook whose sheet XML is padded with `size` blanks (which XML
    readers skip): a few hundred KB on disk, over 200 MB once inflated."""
    plain = path.parent.parent / f"{path.stem}.plain.xlsx"  # outside the source's year folder, removed below
    book = xlsxwriter.Workbook(str(plain))
    sheet = book.add_worksheet("Data")
    for i, row in enumerate(csv.reader(io.StringIO(source.read_text(encoding="utf-8")))):
        sheet.write_row(i, 0, row)
    book.close()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(info, data)
                continue
            head, tail = data.split(b"<sheetData>", 1)
            with dst.open(info.filename, "w", force_zip64=True) as fh:
                fh.write(head + b"<sheetData>")
                for _ in range(size // 2**20):
                    fh.write(b" " * 2**20)
                fh.write(b" " * (size % 2**20) + tail)
    plain.unlink()


def _personal_values(raw: Path, source: str, listed: list[str]) -> set[str]:
    """Every personal-data value the case's CSV files hold under their header (names, ID numbers, phones,
    e-mails), plus those the case lists (`personal`) where no header says where they are."""
    personal = {c.name.lower() for c in CONTRACTS[source].columns if c.personal}
    values: set[str] = set(listed)
    if not personal:
        return values
    for path in raw.rglob("*.csv"):
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        try:
            for row in csv.DictReader(io.StringIO(text)):
                values.update(v for k, v in row.items() if k and k.lower() in personal and v and len(v) >= 4)
        except csv.Error:  # a header cell over the csv module's limit: the case lists that file's values
            continue
    return values


def _run(case: dict, data_dir: Path) -> duckdb.DuckDBPyConnection:
    raw = data_dir / "raw"
    shutil.copytree(CORPUS / case["case"] / "raw", raw, dirs_exist_ok=True)
    if case.get("generate"):
        _generate(raw, case["generate"])
    if not (raw / "agencies").exists():
        (raw / "agencies").mkdir()
        shutil.copy(CORPUS / "agencies.csv", raw / "agencies" / "agencies.csv")
    con = connect(data_dir / "warehouse" / "egov.duckdb")
    registry = ingest(con, CONTRACTS["agencies"], raw, None)
    if case["source"] != "agencies":
        assert (registry.rows_loaded, registry.rows_quarantined, registry.rejected_files) == (22, 0, [])
        ingest(con, CONTRACTS[case["source"]], raw, case["year"])
    return con


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_corpus_case(case: dict, data_dir: Path) -> None:
    source, contract = case["source"], CONTRACTS[case["source"]]
    con = _run(case, data_dir)
    try:
        files = con.execute(
            "SELECT file, status, encoding, message, rows_read, rows_loaded, rows_quarantined FROM ingested_files "
            "WHERE source = ? ORDER BY file",
            [source],
        ).fetchall()
        got = {f: {"status": s, "read": r, "loaded": ld, "quarantined": q} for f, s, _, _, r, ld, q in files}
        want = {f: {k: e[k] for k in ("status", "read", "loaded", "quarantined")} for f, e in case["files"].items()}
        assert got == want
        for file, _, encoding, message, read, loaded, quarantined in files:
            expected = case["files"][file]
            if "encoding" in expected:
                assert encoding == expected["encoding"]
            if "message" in expected:
                assert expected["message"] in (message or "")
            # Reconciliation, per file, against what the tables hold.
            assert read == loaded + quarantined
            staged = con.execute(f"SELECT count(*) FROM {contract.table} WHERE source_file = ?", [file]).fetchone()
            held = con.execute(
                "SELECT count(*) FILTER (WHERE rule <> 'file_rejected'), count(*) FILTER (WHERE rule = 'file_rejected')"
                " FROM quarantine WHERE source = ? AND file = ?",
                [source, file],
            ).fetchone()
            assert (staged[0], held[0]) == (loaded, quarantined)
            assert held[1] == (expected["status"] == "rejected")

        by_rule = dict(
            con.execute("SELECT rule, count(*) FROM quarantine WHERE source = ? GROUP BY rule", [source]).fetchall()
        )
        assert by_rule == case["rules"]
        for check in case["lines"]:
            _check_line(con, contract.table, source, check)
        personal = _personal_values(data_dir / "raw", source, case.get("personal", []))
        assert bool(personal) == any(c.personal for c in contract.columns)  # the check below is not vacuous
        _assert_no_personal_data(con, contract.table, personal | set(case.get("absent", [])))
        for rule, raw in con.execute("SELECT rule, raw FROM quarantine WHERE raw IS NOT NULL").fetchall():
            if personal and rule != "duplicate":  # a duplicate's raw is built from stored columns only
                assert "***" in raw or raw.startswith("[withheld"), raw
    finally:
        con.close()


def _check_line(con: duckdb.DuckDBPyConnection, table: str, source: str, check: dict) -> None:
    file, line = check["file"], check["line"]
    if "staged" in check:
        columns = list(check["staged"])
        rows = con.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE source_file = ? AND source_line = ?", [file, line]
        ).fetchall()
        assert rows == [tuple(check["staged"].values())], f"{file}:{line}"
        return
    rows = con.execute(
        "SELECT rule, reason, raw FROM quarantine WHERE source = ? AND file = ? AND line = ?", [source, file, line]
    ).fetchall()
    assert len(rows) == 1, f"no single quarantine row at {file}:{line}: {rows}"
    rule, reason, raw = rows[0]
    assert rule == check["rule"]
    assert check["reason"] in reason
    if "raw" in check:
        assert raw == check["raw"]


def _assert_no_personal_data(con: duckdb.DuckDBPyConnection, table: str, values: set[str]) -> None:
    columns = {c.lower() for (c,) in con.execute("SELECT column_name FROM information_schema.columns").fetchall()}
    assert not columns & {"chuhoso", "sogiayto", "sodienthoai", "email"}
    texts = [r for (r,) in con.execute("SELECT concat_ws('|', reason, raw) FROM quarantine").fetchall()]
    texts += [r for (r,) in con.execute(f"SELECT CAST(t AS VARCHAR) FROM {table} AS t").fetchall()]
    texts += [r for (r,) in con.execute("SELECT coalesce(message, '') FROM ingested_files").fetchall()]
    leaked = sorted(v for v in values if any(v in t for t in texts))
    assert not leaked, f"personal data kept: {leaked[:3]}"


def test_every_case_folder_is_in_the_manifest_and_the_readme() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir() and (p / "raw").is_dir()}
    names = [c["case"] for c in CASES]
    assert sorted(names) == sorted(folders) and len(set(names)) == len(names)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert [n for n in names if f"`{n}`" not in readme] == []


def test_corpus_stays_small() -> None:
    assert sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file()) < 256 * 1024
