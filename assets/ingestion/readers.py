"""Turn one raw file (CSV, XLSX or Parquet) into a DuckDB relation of text columns named by the contract.

Every format ends up the same shape, so one SQL statement parses and checks them all: a column per contract
column (VARCHAR, trimmed, '' as NULL), plus `__line`, the record's line in the file. Personal-data columns are
never read (always NULL): nothing checks them, and a quarantined record shows them as '***'. CSV is read by DuckDB
itself (streaming, parallel); only files in a legacy Windows code page are transcoded first.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from assets.ingestion.contracts import ColumnContract, SourceContract

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
SNIFF_BYTES = 4 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024  # a longer record is quarantined, not loaded

# Letters of the Vietnamese alphabet outside ASCII (precomposed, NFC), used to judge a legacy decoding.
_VI_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_VI_TONED = {unicodedata.normalize("NFC", v + t) for v in _VI_VOWELS for t in _TONES}
VIETNAMESE_LETTERS = frozenset(
    c for s in _VI_TONED | {"đ"} for c in {s, s.upper()} if not c.isascii()
)
EXCEL_ERRORS = {"Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!", "Ref": "#REF!",
                "Value": "#VALUE!"}
COMMON_SYMBOLS = frozenset("–—‘’“”…•€₫°±×÷§©®™ ")


class FileRejected(Exception):
    """The whole file cannot be read under its contract; the message says why, in plain words."""


@dataclass
class OpenedFile:
    """A raw file opened as a relation: `relation_sql` selects contract columns as text plus `__line`."""

    path: Path
    file_format: str
    encoding: str | None
    delimiter: str
    relation_sql: str
    params: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cleanup: list[Path] = field(default_factory=list)
    personal_positions: set[int] = field(default_factory=set)
    width: int = 0
    readable: Path | None = None  # the UTF-8 text DuckDB scans (a transcoded copy for legacy code pages)
    physical_lines: int = 0  # of `readable`, header included


def file_format(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), or a Windows code page told apart by what it decodes to.

    Windows-1258 writes tone marks as combining characters after a vowel, and uses bytes for ă ơ ư đ that
    Windows-1252 reads as ã õ ý ð. A file is taken as 1258 or 1252 only when that decoding gives Vietnamese
    letters and the other does not, or when both give the same text; otherwise it is rejected, never guessed.
    """
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
        complete = len(head) < SNIFF_BYTES
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        head.decode("utf-8") if complete else codecs.getincrementaldecoder("utf-8")().decode(head)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    vi_1258 = _plausible_vietnamese(unicodedata.normalize("NFC", head.decode("cp1258", errors="replace")))
    text_1252 = head.decode("cp1252", errors="replace")
    vi_1252 = _plausible_vietnamese(text_1252)
    if vi_1258 and not vi_1252:
        return "windows-1258"
    if vi_1252 and not vi_1258:
        _reject_lossy_1252(text_1252)
        return "windows-1252"
    text_1258 = unicodedata.normalize("NFC", head.decode("cp1258", errors="replace"))
    if vi_1258 and vi_1252 and text_1258 == text_1252:
        _reject_lossy_1252(text_1252)
        return "windows-1252"
    if vi_1258 and vi_1252:
        pairs = zip(text_1258.split(), text_1252.split(), strict=False)
        a, b = next(((x, y) for x, y in pairs if x != y), ("?", "?"))
        raise FileRejected(
            "is not UTF-8, and Windows-1258 and Windows-1252 both read it as Vietnamese but differently "
            f"(e.g. '{a[:40]}' or '{b[:40]}'), so its encoding cannot be told; save it again as CSV UTF-8"
        )
    raise FileRejected(
        "is neither UTF-8 nor a recognisable Windows-1258/Windows-1252 export "
        "(its bytes decode to no valid Vietnamese text in either); save it again as CSV UTF-8"
    )


def _reject_lossy_1252(text: str) -> None:
    """Windows-1252 has no ă ơ ư đ nor most toned letters: an export in it holds '?' where they were."""
    lost = re.search(r"[\w?]*(?:[^\W\d_]\?|\?[^\W\d_])[\w?]*", text)
    if lost:
        raise FileRejected(
            "was saved as Windows-1252, which cannot hold Vietnamese letters: they were replaced by '?' "
            f"(e.g. '{lost.group(0)[:40]}'); save it again as CSV UTF-8 from the original"
        )


def _plausible_vietnamese(text: str) -> bool:
    """True when every non-ASCII character is a Vietnamese letter or common punctuation (no stray marks)."""
    return all(c.isascii() or c in VIETNAMESE_LETTERS or c in COMMON_SYMBOLS for c in text if c != "\ufffd") and (
        "\ufffd" not in text
    )


def transcode_to_utf8(path: Path, encoding: str, target: Path) -> None:
    """Stream a legacy-encoded file into UTF-8 NFC (Windows-1258 stores tones as combining marks)."""
    codec = "cp1258" if encoding == "windows-1258" else "cp1252"
    with path.open("r", encoding=codec, newline="") as src, target.open("w", encoding="utf-8", newline="") as dst:
        for line in src:
            dst.write(unicodedata.normalize("NFC", line))


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def normalise_name(name: str | None) -> str:
    return unicodedata.normalize("NFC", (name or "").replace("\ufeff", "")).strip().strip('"').strip().lower()


def map_header(header: list[str], contract: SourceContract) -> tuple[dict[str, int], list[str]]:
    """Contract column → position in the file; raises when a mandatory column is missing."""
    positions: dict[str, int] = {}
    wanted = {c.name.lower(): c.name for c in contract.columns}
    extras = []
    for i, name in enumerate(header):
        key = normalise_name(name)
        if key in wanted and wanted[key] not in positions:
            positions[wanted[key]] = i
        elif key:
            extras.append(name.strip())
    missing = [c.name for c in contract.columns if c.name not in positions and not c.optional]
    if missing:
        raise FileRejected(
            f"misses the required column(s) {', '.join(missing)} "
            f"(header has: {', '.join(h.strip() for h in header if h.strip()) or 'nothing'})"
        )
    return positions, extras


def _read(column: ColumnContract, positions: dict[str, int]) -> bool:
    """Whether a column's values are read: present in the file, and not personal data."""
    return column.name in positions and not column.personal


def _text_expr(expr: str) -> str:
    return f"nullif(trim(CAST({expr} AS VARCHAR)), '')"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def open_raw_file(con: duckdb.DuckDBPyConnection, path: Path, contract: SourceContract, tmp_dir: Path) -> OpenedFile:
    fmt = file_format(path)
    if fmt is None:
        raise FileRejected(f"has an unsupported extension '{path.suffix}' (accepted: CSV, XLSX, Parquet)")
    if path.stat().st_size == 0:
        raise FileRejected("is empty (0 bytes)")
    if fmt == "csv":
        return _open_csv(con, path, contract, tmp_dir)
    if fmt == "xlsx":
        return _open_xlsx(con, path, contract)
    return _open_parquet(con, path, contract)


def _open_csv(con: duckdb.DuckDBPyConnection, path: Path, contract: SourceContract, tmp_dir: Path) -> OpenedFile:
    encoding = detect_encoding(path)
    notes, cleanup = [], []
    readable = path
    if encoding.startswith("windows"):
        readable = tmp_dir / f"{path.stem}.{abs(hash(str(path)))}.utf8.csv"
        transcode_to_utf8(path, encoding, readable)
        cleanup.append(readable)
        notes.append(f"decoded from {encoding}")
    lf, crlf, lone_cr, ends_with_lf = line_breaks(readable)
    if lone_cr or 0 < crlf < lf:
        normalised = tmp_dir / f"{path.stem}.{abs(hash(str(path)))}.lf.csv"
        normalise_line_breaks(readable, normalised)
        cleanup.append(normalised)
        readable = normalised
        notes.append("mixed line breaks (CRLF, LF, CR) read as LF")
        lf, _, _, ends_with_lf = line_breaks(readable)
    with readable.open("r", encoding="utf-8-sig", newline="") as fh:
        header_line = fh.readline()
    if not header_line.strip():
        raise FileRejected("has no header line")
    delimiter = sniff_delimiter(header_line)
    header = next(csv.reader(io.StringIO(header_line), delimiter=delimiter))
    positions, extras = map_header(header, contract)
    if extras:
        notes.append(f"ignored extra column(s): {', '.join(extras)}")
    width = len(header)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    select = ", ".join(
        f"{_text_expr('c' + str(positions[c.name])) if _read(c, positions) else 'NULL::VARCHAR'} AS {_quote(c.name)}"
        for c in contract.columns
    )
    personal = {positions[c.name] for c in contract.columns if c.personal and c.name in positions}
    # Lines DuckDB cannot split into the header's columns land in the rejects table, not in the result; good
    # records keep file order (preserve_insertion_order), so their line follows from the record number.
    relation = (
        f"SELECT {select}, row_number() OVER () + 1 AS __line FROM read_csv(?, delim=?, header=true, quote='\"', "
        f"escape='\"', auto_detect=false, columns={columns}, store_rejects=true, "
        f"rejects_table='egov_rej_errors', rejects_scan='egov_rej_scans', "
        f"max_line_size={MAX_LINE_BYTES}, encoding='utf-8')"
    )
    opened = OpenedFile(path, "csv", encoding, delimiter, relation, [str(readable), delimiter], notes, cleanup)
    opened.personal_positions = personal
    opened.width = width
    opened.readable = readable
    opened.physical_lines = lf + (not ends_with_lf)
    return opened


def line_breaks(path: Path) -> tuple[int, int, int, bool]:
    """(line feeds, CR LF pairs, lone CRs, ends with a line feed) of a file, read in chunks."""
    lf = crlf = cr = 0
    last = b""
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            lf, cr, crlf = lf + chunk.count(b"\n"), cr + chunk.count(b"\r"), crlf + chunk.count(b"\r\n")
            crlf += last == b"\r" and chunk[:1] == b"\n"
            last = chunk[-1:]
    return lf, crlf, cr - crlf, last == b"\n"


def normalise_line_breaks(path: Path, target: Path) -> None:
    """Copy a file with every line break as LF: DuckDB's CSV reader fails on CRLF and LF mixed in one file."""
    carry = b""
    with path.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(1 << 20):
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""
            dst.write(chunk[: len(chunk) - len(carry)].replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        dst.write(carry.replace(b"\r", b"\n"))


def record_lines(path: Path) -> list[tuple[int, int]]:
    """(line as DuckDB counts it, physical line where it starts) of every record after the header.

    DuckDB skips blank lines and does not count a line break inside a quoted field, so its record order and
    reject line numbers drift from the file's lines; this pass (run only when the counts show a drift) gives
    every record its physical line back.
    """
    records: list[tuple[int, int]] = []
    logical = physical = 0
    in_quotes = False
    with path.open("rb") as fh:
        for text in fh:
            physical += 1
            if not in_quotes:
                logical += 1
                if physical > 1 and text.strip(b"\r\n"):
                    records.append((logical, physical))
            if text.count(b'"') % 2:
                in_quotes = not in_quotes
    return records


def read_structural_rejects(con: duckdb.DuckDBPyConnection, opened: OpenedFile) -> list[tuple[int, str, str]]:
    """After a CSV scan: its unreadable lines (too few/many fields, bad quoting, a huge line, bad bytes)."""
    rows = con.execute(
        "SELECT line, string_agg(DISTINCT error_type, ', ' ORDER BY error_type), any_value(csv_line) "
        "FROM egov_rej_errors GROUP BY line ORDER BY line"
    ).fetchall()
    out = []
    for line, kinds, csv_line in rows:
        raw = (csv_line or "").lstrip("\r\n")  # DuckDB prefixes the blank lines skipped before the record
        reason = f"unreadable record ({kinds.lower()})"
        if "COLUMNS" in kinds and csv_line is not None:
            found = len(next(csv.reader(io.StringIO(raw), delimiter=opened.delimiter), []))
            reason += f": {found} fields where the header has {opened.width}"
        out.append((int(line), reason, mask_raw_line(raw, opened.delimiter, opened.personal_positions)))
    return out


def mask_raw_line(raw: str, delimiter: str, personal_positions: set[int]) -> str:
    """Blank personal-data fields of a raw line; if the fields cannot be told apart, withhold the line."""
    if not personal_positions:
        return raw[:2000]
    try:
        fields = next(csv.reader(io.StringIO(raw), delimiter=delimiter))
    except (csv.Error, StopIteration):
        return "[withheld: unreadable record of a file with personal data]"
    if max(personal_positions) >= len(fields):
        return "[withheld: record too short to locate its personal-data fields]"
    return delimiter.join("***" if i in personal_positions else f for i, f in enumerate(fields))[:2000]


def _open_xlsx(con: duckdb.DuckDBPyConnection, path: Path, contract: SourceContract) -> OpenedFile:
    """First sheet; the header is the first of the top rows that names the contract's columns.

    Title rows and merged cells above the header are skipped; formulas are read as their cached values.
    """
    import fastexcel
    import polars as pl

    try:
        # Keep blank rows (also those above the first filled one) so a row's index is its Excel row number.
        loaded = fastexcel.read_excel(path).load_sheet(0, header_row=None, skip_rows=0, dtypes="string")
        table, cell_errors = loaded.to_arrow_with_errors()
        sheet = pl.from_arrow(table)
    except Exception as exc:  # noqa: BLE001 - any reader failure means the workbook is unreadable
        # The reader's first line says what is wrong; the rest repeats it with the absolute path.
        detail = (str(exc).splitlines() or [type(exc).__name__])[0].replace(str(path), path.name)
        with path.open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                detail += "; the file is not a ZIP-based workbook: a CSV or an old .xls renamed to .xlsx?"
        raise FileRejected(f"is not a readable XLSX workbook ({detail})") from exc
    # A formula whose cached result is an Excel error (#DIV/0!, #REF!) would read as empty: keep the error's
    # text instead, so a number column quarantines the row and a text column shows it.
    for err in cell_errors.errors if cell_errors else []:
        kind = re.search(r"Error\((\w+)\)", err.detail)
        if kind:
            row, col = err.position
            sheet[row, sheet.columns[col]] = EXCEL_ERRORS.get(kind.group(1), f"#{kind.group(1).upper()}!")
    rows = sheet.rows()
    header_index = None
    last_error: FileRejected | None = None
    for i, row in enumerate(rows[:20]):
        try:
            positions, extras = map_header([str(v) if v is not None else "" for v in row], contract)
        except FileRejected as exc:
            last_error = last_error or exc
            continue
        header_index = i
        break
    if header_index is None:
        raise last_error or FileRejected("has no header row")
    body = sheet.slice(header_index + 1).with_row_index("__line", offset=header_index + 2)
    body = body.filter(~pl.all_horizontal([pl.col(c).is_null() for c in sheet.columns]))
    relation_name = f"xlsx_{abs(hash(str(path)))}"
    con.register(relation_name, body)
    select = ", ".join(
        f"{_text_expr(_quote(sheet.columns[positions[c.name]])) if _read(c, positions) else 'NULL::VARCHAR'} "
        f"AS {_quote(c.name)}"
        for c in contract.columns
    )
    notes = [f"header found on row {header_index + 1}"] if header_index else []
    if extras:
        notes.append(f"ignored extra column(s): {', '.join(extras)}")
    relation = f"SELECT {select}, CAST(__line AS BIGINT) AS __line FROM {relation_name}"
    return OpenedFile(path, "xlsx", None, ",", relation, [], notes)


def _open_parquet(con: duckdb.DuckDBPyConnection, path: Path, contract: SourceContract) -> OpenedFile:
    try:
        names = [r[0] for r in con.execute("SELECT name FROM parquet_schema(?) WHERE num_children IS NULL",
                                           [str(path)]).fetchall()]
    except duckdb.Error as exc:
        raise FileRejected(f"is not a readable Parquet file ({exc})") from exc
    positions, extras = map_header(names, contract)
    select = ", ".join(
        f"{_text_expr(_quote(names[positions[c.name]])) if _read(c, positions) else 'NULL::VARCHAR'} "
        f"AS {_quote(c.name)}"
        for c in contract.columns
    )
    notes = [f"ignored extra column(s): {', '.join(extras)}"] if extras else []
    relation = f"SELECT {select}, file_row_number + 1 AS __line FROM read_parquet(?, file_row_number=true)"
    return OpenedFile(path, "parquet", None, ",", relation, [str(path)], notes)
