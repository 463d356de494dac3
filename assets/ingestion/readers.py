"""Turn one raw file (CSV, XLSX or Parquet) into a DuckDB relation of text columns named by the contract.

Every format ends up the same shape, so one SQL statement parses and checks them all: a column per contract
column (VARCHAR, trimmed, '' as NULL; typed Parquet integers and timestamps as they are, see NATIVE), plus
`__line`, the record's line in the file, and `__reader_reason`, what the reader saw that the text cannot show (a
code typed as a number in Excel). Personal-data columns are never read
(always NULL): nothing checks them, and a quarantined record shows them as '***'. Codes are read in Unicode NFC.
CSV is read by DuckDB itself (streaming, parallel); only UTF-16 files and files in a legacy Windows code page are
transcoded first, and a file with a record over MAX_LINE_BYTES is copied without it (withhold_long_records).

A file of a source with personal data is never quoted in a message: rejections name columns, counts and
positions only, and a record whose fields cannot be matched to the header is withheld whole.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import posixpath
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING
from xml.etree import ElementTree

import duckdb

from pipelines.core.registry.sources import ColumnContract, SourceContract
from pipelines.core.sql import sql_identifier as _quote

if TYPE_CHECKING:
    import fastexcel
    import polars as pl

FORMATS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
SNIFF_BYTES = 4 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024  # a longer record is quarantined, not loaded
HEADER_ROWS = 20  # an XLSX header is looked for in the top rows of a sheet (title rows above it are skipped)
# The XLSX reader inflates a sheet's XML whole and holds the rectangle from its first to its last cell in memory (a
# 100,000-row dossier sheet, 63 MB of XML and 1.8M cells, peaks at 600 MB): a workbook over either limit is
# rejected before it is opened, from its ZIP directory and one streamed pass over its sheets (check_workbook_size).
MAX_XLSX_PART_BYTES = 200 * 1024 * 1024  # uncompressed, per part of the workbook (a sheet's XML, its strings)
MAX_SHEET_CELLS = 4_000_000  # per sheet, the rectangle up to its last row and column
TRANSCODED = {"windows-1258": "cp1258", "windows-1252": "cp1252", "utf-16": "utf-16"}  # encoding → Python codec
WITHHELD = "[withheld: its fields do not match the header, so its personal data cannot be masked]"
# The integer types every value of which fits a BIGINT, and every numeric type.
INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
NUMERIC_TYPES = (*INTEGER_TYPES, "HUGEINT", "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE")
LOST_ZEROS = "zeros at the start or end of a code may be lost"
# Typed Parquet columns taken as they are (no text round trip): contract type → the DuckDB types accepted, and the
# values of those types whose text the contract's parser (assets/ingestion/macros.sql) reads back as the same value.
# Only those take the typed value; any other value (a 19-digit number, a fraction of a second, a year before 1000)
# is still turned into text and parsed, so both paths give the same rows, reasons and raw text (tested).
NATIVE = {
    "int": (INTEGER_TYPES, "{v} BETWEEN -999999999999999999 AND 999999999999999999"),
    "flag": (INTEGER_TYPES, "{v} IN (0, 1)"),
    "timestamp": (("TIMESTAMP",), "{v} = date_trunc('second', {v}) AND year({v}) BETWEEN 1000 AND 9999"),
}

# Letters of the Vietnamese alphabet outside ASCII (precomposed, NFC), used to judge a legacy decoding.
_VI_VOWELS = "aăâeêioôơuưy"
_TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
_VI_TONED = {unicodedata.normalize("NFC", v + t) for v in _VI_VOWELS for t in _TONES}
VIETNAMESE_LETTERS = frozenset(c for s in _VI_TONED | {"đ"} for c in {s, s.upper()} if not c.isascii())
EXCEL_ERRORS = {
    "Div0": "#DIV/0!",
    "NA": "#N/A",
    "Name": "#NAME?",
    "Null": "#NULL!",
    "Num": "#NUM!",
    "Ref": "#REF!",
    "Value": "#VALUE!",
}
COMMON_SYMBOLS = frozenset("–—‘’“”…•€₫°±×÷§©®™ ")


class FileRejected(Exception):
    """The whole file cannot be read under its contract; the message says why, in plain words."""


class HeaderMismatch(FileRejected):
    """A line (or sheet row) that is not the contract's header; `recognised` counts the contract columns it names."""

    def __init__(self, message: str, recognised: int) -> None:
        super().__init__(message)
        self.recognised = recognised


@dataclass
class OpenedFile:
    """A raw file opened as a relation: `relation_sql` selects contract columns as text plus `__line`, except the
    typed Parquet columns named in `native` (see NATIVE)."""

    path: Path
    file_format: str
    encoding: str | None
    delimiter: str
    relation_sql: str
    params: list = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cleanup: list[Path] = field(default_factory=list)
    personal_positions: set[int] = field(default_factory=set)
    personal_source: bool = False  # the source holds personal data: a record that does not split cleanly is withheld
    width: int = 0
    readable: Path | None = None  # the UTF-8 text DuckDB scans (a transcoded copy for legacy code pages)
    physical_lines: int = 0  # of `readable`, header included
    native: frozenset[str] = frozenset()
    # Records over MAX_LINE_BYTES, taken out before DuckDB reads the file: (physical line, reason, raw).
    oversized: list[tuple[int, str, str]] = field(default_factory=list)


def file_format(path: Path) -> str | None:
    return FORMATS.get(path.suffix.lower())


def detect_encoding(path: Path, *, may_quote: bool = False) -> str:
    """UTF-8 (with or without BOM), UTF-16 with its byte-order mark, or a Windows code page told apart by what it
    decodes to. `may_quote`: a rejection may quote the file's text (its source holds no personal data).

    UTF-16 (Excel's "Unicode Text") is read: its BOM says exactly how, and it holds every Vietnamese letter, so
    nothing is guessed; without a BOM it is rejected by name. Windows-1258 writes tone marks as combining
    characters after a vowel, and uses bytes for ă ơ ư đ that Windows-1252 reads as ã õ ý ð. A file is taken as
    1258 or 1252 only when that decoding gives Vietnamese letters and the other does not, or when both give the
    same text; otherwise it is rejected, never guessed.
    """
    with path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
        complete = len(head) < SNIFF_BYTES
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _looks_like_utf16(head):
        raise FileRejected(
            "is UTF-16 without a byte-order mark (every other byte is 0), so which byte comes first cannot be "
            "told; save it again as CSV UTF-8 (Excel: File > Save As > CSV UTF-8)"
        )
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
        _reject_lossy_1252(text_1252, may_quote)
        return "windows-1252"
    text_1258 = unicodedata.normalize("NFC", head.decode("cp1258", errors="replace"))
    if vi_1258 and vi_1252 and text_1258 == text_1252:
        _reject_lossy_1252(text_1252, may_quote)
        return "windows-1252"
    if vi_1258 and vi_1252:
        pairs = zip(text_1258.split(), text_1252.split(), strict=False)
        a, b = next(((x, y) for x, y in pairs if x != y), ("?", "?"))
        example = f" (e.g. '{a[:40]}' or '{b[:40]}')" if may_quote else ""
        raise FileRejected(
            "is not UTF-8, and Windows-1258 and Windows-1252 both read it as Vietnamese but differently"
            f"{example}, so its encoding cannot be told; save it again as CSV UTF-8"
        )
    raise FileRejected(
        "is neither UTF-8 nor a recognisable Windows-1258/Windows-1252 export "
        "(its bytes decode to no valid Vietnamese text in either); save it again as CSV UTF-8"
    )


def _looks_like_utf16(head: bytes) -> bool:
    """Text in UTF-16 without a BOM: most bytes at even (big-endian) or odd (little-endian) offsets are 0."""
    sample = head[: 64 * 1024]
    if len(sample) < 4:
        return False
    half = len(sample) // 2
    return max(sample[0::2].count(0), sample[1::2].count(0)) > 0.6 * half


def _reject_lossy_1252(text: str, may_quote: bool) -> None:
    """Windows-1252 has no ă ơ ư đ nor most toned letters: an export in it holds '?' where they were."""
    lost = re.search(r"[\w?]*(?:[^\W\d_]\?|\?[^\W\d_])[\w?]*", text)
    if lost:
        example = f" (e.g. '{lost.group(0)[:40]}')" if may_quote else ""
        raise FileRejected(
            "was saved as Windows-1252, which cannot hold Vietnamese letters: they were replaced by '?'"
            f"{example}; save it again as CSV UTF-8 from the original"
        )


def _plausible_vietnamese(text: str) -> bool:
    """True when every non-ASCII character is a Vietnamese letter or common punctuation (no stray marks)."""
    return all(c.isascii() or c in VIETNAMESE_LETTERS or c in COMMON_SYMBOLS for c in text if c != "\ufffd") and (
        "\ufffd" not in text
    )


def transcode_to_utf8(path: Path, encoding: str, target: Path) -> None:
    """Stream a UTF-16 or legacy-encoded file into UTF-8 NFC (Windows-1258 stores tones as combining marks)."""
    with (
        path.open("r", encoding=TRANSCODED[encoding], newline="") as src,
        target.open("w", encoding="utf-8", newline="") as dst,
    ):
        for line in src:
            dst.write(unicodedata.normalize("NFC", line))


def sniff_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def normalise_name(name: str | None) -> str:
    return unicodedata.normalize("NFC", (name or "").replace("\ufeff", "")).strip().strip('"').strip().lower()


def map_header(header: list[str], contract: SourceContract) -> tuple[dict[str, int], list[str]]:
    """Contract column → position in the file; raises HeaderMismatch when a mandatory column is missing.

    The message quotes the line only when it is recognisably a header (it names a contract column) of a source
    without personal data: a file without its header row has a record there, and an ID number or a line of
    /etc/passwd must not reach a message, a log or the published `ingested_files`.
    """
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
    if not missing:
        return positions, extras
    if not positions:
        required = [c.name for c in contract.columns if not c.optional]
        raise HeaderMismatch(
            f"has no header row: its first line names none of the columns of {contract.label} "
            f"({', '.join(required[:4])}{', …' if len(required) > 4 else ''}); the line is not quoted",
            0,
        )
    if contract.has_personal_data:
        named = [h.strip() for h in header if normalise_name(h) in wanted]
        others = f", and {len(extras)} other column(s) not quoted (the source holds personal data)" if extras else ""
        has = ", ".join(named) + others
    else:
        has = ", ".join(h.strip() for h in header if h.strip())
    raise HeaderMismatch(f"misses the required column(s) {', '.join(missing)} (header has: {has})", len(positions))


def extra_columns_note(extras: list[str]) -> str:
    """The note on ignored columns, each name cut to 40 characters (a header cell may hold a pasted text)."""
    return "ignored extra column(s): " + ", ".join(e if len(e) <= 40 else e[:39] + "…" for e in extras)


def _read(column: ColumnContract, positions: dict[str, int]) -> bool:
    """Whether a column's values are read: present in the file, and not personal data."""
    return column.name in positions and not column.personal


def _is_code(column: ColumnContract) -> bool:
    """A code: a text column that is neither a name (free text) nor personal data."""
    return column.type == "text" and not column.free_text and not column.personal


def _text_expr(expr: str, code: bool = False) -> str:
    """The value as text, trimmed, '' as NULL; a code in Unicode NFC, so that a code typed on a Mac (NFD: 'Ở' as
    'O' + horn + hook) is the same code as the registry's (invisible characters are kept, see load.shown)."""
    text = f"nullif(trim(CAST({expr} AS VARCHAR)), '')"
    return f"nfc_normalize({text})" if code else text


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
    encoding = detect_encoding(path, may_quote=not contract.has_personal_data)
    notes, cleanup = [], []
    readable = path
    if encoding in TRANSCODED:
        readable = tmp_dir / f"{path.stem}.{abs(hash(str(path)))}.utf8.csv"
        transcode_to_utf8(path, encoding, readable)
        cleanup.append(readable)
        notes.append(f"decoded from {encoding}")
    lf, crlf, lone_cr, ends_with_lf, long_line = line_breaks(readable)
    if lone_cr or 0 < crlf < lf:
        normalised = tmp_dir / f"{path.stem}.{abs(hash(str(path)))}.lf.csv"
        normalise_line_breaks(readable, normalised)
        cleanup.append(normalised)
        readable = normalised
        notes.append("mixed line breaks (CRLF, LF, CR) read as LF")
        lf, _, _, ends_with_lf, long_line = line_breaks(readable)
    with readable.open("r", encoding="utf-8-sig", newline="") as fh:
        header_line = fh.readline(MAX_LINE_BYTES + 1)
    if not header_line.strip():
        raise FileRejected("has no header line")
    if len(header_line) > MAX_LINE_BYTES:
        raise FileRejected(f"has a first line over {MAX_LINE_BYTES // 1024 // 1024} MB long, which is no header row")
    delimiter = sniff_delimiter(header_line)
    try:
        header = next(csv.reader(io.StringIO(header_line), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a note pasted into a header cell: "field larger than field limit (131072)"
        raise FileRejected(f"has a first line that cannot be read as a header row ({exc})") from exc
    positions, extras = map_header(header, contract)
    if extras:
        notes.append(extra_columns_note(extras))
    oversized = []
    if long_line:  # DuckDB skips a record over its 32 MB buffer unreported: such records never reach it
        short = tmp_dir / f"{path.stem}.{abs(hash(str(path)))}.short.csv"
        oversized = [
            _oversized_reject(record, contract.has_personal_data)
            for record in withhold_long_records(readable, short, delimiter)
        ]
        cleanup.append(short)
        readable = short
    width = len(header)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    select = ", ".join(
        f"{_text_expr('c' + str(positions[c.name]), _is_code(c)) if _read(c, positions) else 'NULL::VARCHAR'} "
        f"AS {_quote(c.name)}"
        for c in contract.columns
    )
    personal = {positions[c.name] for c in contract.columns if c.personal and c.name in positions}
    # Lines DuckDB cannot split into the header's columns land in the rejects table, not in the result; good
    # records keep file order (preserve_insertion_order), so their line follows from the record number.
    relation = (
        f"SELECT {select}, row_number() OVER () + 1 AS __line, NULL::VARCHAR AS __reader_reason "
        f"FROM read_csv(?, delim=?, header=true, quote='\"', "
        f"escape='\"', auto_detect=false, columns={columns}, store_rejects=true, "
        f"rejects_table='egov_rej_errors', rejects_scan='egov_rej_scans', "
        f"max_line_size={MAX_LINE_BYTES}, encoding='utf-8')"
    )
    opened = OpenedFile(path, "csv", encoding, delimiter, relation, [str(readable), delimiter], notes, cleanup)
    opened.personal_positions = personal
    opened.personal_source = contract.has_personal_data
    opened.width = width
    opened.readable = readable
    opened.physical_lines = lf + (not ends_with_lf)
    opened.oversized = oversized
    return opened


def line_breaks(path: Path) -> tuple[int, int, int, bool, bool]:
    """(line feeds, CR LF pairs, lone CRs, ends with a line feed, has a line over MAX_LINE_BYTES) of a file.

    Read in chunks of MAX_LINE_BYTES, so a longer line always spans a chunk's end: only the line running into
    each chunk is measured, not every line.
    """
    lf = crlf = cr = 0
    last = b""
    offset = line_start = 0
    long_line = False
    with path.open("rb") as fh:
        while chunk := fh.read(MAX_LINE_BYTES):
            lf, cr, crlf = lf + chunk.count(b"\n"), cr + chunk.count(b"\r"), crlf + chunk.count(b"\r\n")
            crlf += last == b"\r" and chunk[:1] == b"\n"
            last = chunk[-1:]
            first = chunk.find(b"\n")
            if first >= 0:
                long_line |= offset + first - line_start > MAX_LINE_BYTES
                line_start = offset + chunk.rfind(b"\n") + 1
            offset += len(chunk)
    long_line |= offset - line_start > MAX_LINE_BYTES
    return lf, crlf, cr - crlf, last == b"\n", long_line


def normalise_line_breaks(path: Path, target: Path) -> None:
    """Copy a file with every line break as LF: DuckDB's CSV reader fails on CRLF and LF mixed in one file."""
    carry = b""
    with path.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(1 << 20):
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""
            dst.write(chunk[: len(chunk) - len(carry)].replace(b"\r\n", b"\n").replace(b"\r", b"\n"))
        dst.write(carry.replace(b"\r", b"\n"))


# Where a CSV scan stands, as DuckDB's reader sees it: a quote opens a quoted field only at the start of a field
# (elsewhere it is a character of the value), "" inside one is a quote, and a line break ends the record only
# outside quotes. (After a malformed field, such as text after a closing quote, DuckDB resumes in ways this does
# not follow: the loader then finds the record counts differ, and rejects the file rather than lose records.)
_START, _FIELD, _QUOTED, _QUOTE_SEEN = range(4)  # at a field's start; in an unquoted field; in quotes; in quotes
# just after a quote (closing, or the first of "")


def _line_pattern(delimiter: str) -> re.Pattern[bytes]:
    """A whole line of complete fields, ending outside quotes (possessive: linear even when it fails)."""
    d = re.escape(delimiter.encode())
    field_ = rb'(?>"(?:[^"]|"")*+"[^' + d + rb'\n]*+|[^"' + d + rb"\n][^" + d + rb"\n]*+|)"
    return re.compile(field_ + rb"(?:" + d + field_ + rb")*+\n?")


def _quote_state(text: bytes, state: int, delimiter: bytes, boundary: re.Pattern[bytes]) -> int:
    """The scan state after `text` (a line or a piece of one), from `state` before it."""
    i, n = 0, len(text)
    while i < n:
        if state == _QUOTED:
            j = text.find(b'"', i)
            if j < 0:
                return _QUOTED
            state, i = _QUOTE_SEEN, j + 1
        elif state in (_START, _QUOTE_SEEN):  # a quote opens a field at its start; "" is a quote within one
            state, i = (_QUOTED, i + 1) if text[i] == 0x22 else (_FIELD, i)
        else:  # in an unquoted field, or after a closing quote: up to the next delimiter or line break
            found = boundary.search(text, i)
            if found is None:
                return _FIELD
            state, i = _START, found.end()
    return state


def record_lines(path: Path, delimiter: str, exact: bool = False) -> tuple[list[tuple[int, int]], bool]:
    """(line as DuckDB counts it, physical line where it starts) of every record after the header, and whether
    the file ends inside quotes (its last record opens a quote that never closes).

    DuckDB skips blank lines and does not count a line break inside a quoted field, so its record order and
    reject line numbers drift from the file's lines; this pass (run only when the counts show a drift) gives
    every record its physical line back. The quick pass takes a line with an odd number of quotes to open or
    close a quoted field; the `exact` one follows DuckDB's quoting, so a quote inside an unquoted value
    (Nguyễn Văn "Tý) does not swallow the lines after it (about 10 times slower on a file of quoted fields).
    """
    records: list[tuple[int, int]] = []
    logical = physical = 0
    state = _START
    whole_line = _line_pattern(delimiter)
    boundary = re.compile(b"[" + re.escape(delimiter.encode()) + b"\n]")
    with path.open("rb") as fh:
        for text in fh:
            physical += 1
            if state == _START:
                logical += 1
                if physical > 1 and text.strip(b"\r\n"):
                    records.append((logical, physical))
            if b'"' not in text:
                continue
            if not exact:
                state = (_QUOTED if state == _START else _START) if text.count(b'"') % 2 else state
            elif state != _START or not whole_line.fullmatch(text):
                state = _quote_state(text, state, delimiter.encode(), boundary)
    return records, state == _QUOTED


def withhold_long_records(path: Path, target: Path, delimiter: str) -> list[tuple[int, int, int, bytes]]:
    """Copy a CSV with each record over MAX_LINE_BYTES left out; (first line, last line, size in bytes, its first
    8 KB) of each one left out.

    A left-out record is replaced by its line breaks alone, so every later line keeps its number and DuckDB
    reads blank lines there (which it skips). DuckDB reports a record over `max_line_size` only up to its 32 MB
    buffer; a longer one it skips unreported, and the record count still balances without it. The file is
    read in pieces of at most MAX_LINE_BYTES: a 500 MB record is never held in memory.
    """
    limit = MAX_LINE_BYTES + 1
    delim = delimiter.encode()
    boundary = re.compile(b"[" + re.escape(delim) + b"\n]")
    out: list[tuple[int, int, int, bytes]] = []
    physical = 0
    state = _START
    pieces: list[bytes] = []  # the current record, while it may still fit
    breaks: list[bytes] = []  # its line breaks
    size = 0
    head = b""
    line_end = True
    with path.open("rb") as src, target.open("wb") as dst:

        def end_record(last_break: bytes) -> None:
            nonlocal pieces, breaks, size, head
            first = physical - len(breaks) + bool(last_break)  # an unbroken last line is one more
            if size - len(last_break) > MAX_LINE_BYTES:
                if first == 1:
                    raise FileRejected(
                        f"has a header row over {MAX_LINE_BYTES // 1024 // 1024} MB long "
                        "(a quote in it that never closes?)"
                    )
                dst.write(b"".join(breaks))
                out.append((first, physical, size - len(last_break), head))
            else:
                dst.write(b"".join(pieces))
            pieces, breaks, size, head = [], [], 0, b""

        while piece := src.readline(limit):
            if not size and state == _START and piece.endswith(b"\n") and b'"' not in piece:  # a short record
                physical += 1
                dst.write(piece)
                continue
            size += len(piece)
            if len(head) < 8192:
                head += piece[: 8192 - len(head)]
            if size <= limit + 1:
                pieces.append(piece)
            else:
                pieces = []
            line_end = piece.endswith(b"\n")
            if state in (_START, _FIELD) and b'"' not in piece:
                state = _START if line_end or piece.endswith(delim) else _FIELD
            else:
                state = _quote_state(piece, state, delim, boundary)
            if line_end:
                physical += 1
                breaks.append(b"\r\n" if piece.endswith(b"\r\n") else b"\n")
                if state == _START:
                    end_record(breaks[-1])
        if size:  # the last record: without a line break at its end, or in a quote never closed
            physical += not line_end
            end_record(breaks[-1] if line_end else b"")
    return out


def _oversized_reject(record: tuple[int, int, int, bytes], personal_source: bool) -> tuple[int, str, str]:
    """The quarantine row of a record left out for its size: its first line, why, and its start as raw text."""
    first, last, size, head = record
    where = f", lines {first}-{last}" if last > first else ""
    reason = (
        f"unreadable record (line size over maximum): {size:,} bytes{where}, over the limit of "
        f"{MAX_LINE_BYTES // 1024 // 1024} MB"
    )
    if personal_source:
        return first, reason + ": record withheld, it may hold personal data", WITHHELD
    return first, reason, head.decode("utf-8", errors="replace")[:2000]


def read_structural_rejects(con: duckdb.DuckDBPyConnection, opened: OpenedFile) -> list[tuple[int, str, str | None]]:
    """After a CSV scan: its unreadable lines (too few/many fields, bad quoting, a huge line, bad bytes).

    In a file of a source with personal data, a record whose fields do not match the header one to one is
    withheld (its raw text is not stored): an unquoted comma in a name shifts the fields, and masking by position
    would then keep the phone number or the e-mail.
    """
    rows = con.execute(
        "SELECT line, string_agg(DISTINCT error_type, ', ' ORDER BY error_type), any_value(csv_line) "
        "FROM egov_rej_errors GROUP BY line ORDER BY line"
    ).fetchall()
    out = []
    for line, kinds, csv_line in rows:
        raw = (csv_line or "").lstrip("\r\n")  # DuckDB prefixes the blank lines skipped before the record
        fields = split_fields(raw, opened.delimiter) if csv_line is not None else None
        reason = f"unreadable record ({kinds.lower()})"
        if "COLUMNS" in kinds and fields is not None:
            reason += f": {len(fields)} fields where the header has {opened.width}"
            if opened.personal_source and len(fields) != opened.width:
                more = len(fields) - opened.width
                reason += f" ({abs(more)} {'more' if more > 0 else 'fewer'})"
        if opened.personal_source and ("COLUMNS" in kinds or fields is None or len(fields) != opened.width):
            out.append((int(line), reason + ": record withheld, it may hold personal data", WITHHELD))
        else:
            out.append((int(line), reason, mask_raw_line(fields, raw, opened.delimiter, opened.personal_positions)))
    return out


def split_fields(raw: str, delimiter: str) -> list[str] | None:
    """The fields of one raw CSV record, or None when Python's reader cannot split it (a field over 128 KB)."""
    try:
        return next(csv.reader(io.StringIO(raw), delimiter=delimiter), [])
    except csv.Error:
        return None


def mask_raw_line(fields: list[str] | None, raw: str, delimiter: str, personal_positions: set[int]) -> str:
    """A raw record with its personal-data fields shown as '***' (the fields must match the header)."""
    if not personal_positions:
        return raw[:2000]
    if fields is None or max(personal_positions) >= len(fields):
        return WITHHELD
    return delimiter.join("***" if i in personal_positions else f for i, f in enumerate(fields))[:2000]


def _code_columns(contract: SourceContract, positions: dict[str, int]) -> list[ColumnContract]:
    """The codes a file has (see _is_code)."""
    return [c for c in contract.columns if _is_code(c) and _read(c, positions)]


def _reader_error(exc: Exception, path: Path, contract: SourceContract) -> str:
    """A reader's own first line, without the absolute path, and without quoted text for a personal source."""
    detail = (str(exc).splitlines() or [type(exc).__name__])[0].replace(str(path), path.name)
    if contract.has_personal_data:
        detail = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", detail)
    return detail


def _open_xlsx(con: duckdb.DuckDBPyConnection, path: Path, contract: SourceContract) -> OpenedFile:
    """The contract's sheet, or the one visible sheet whose header names the contract's columns.

    In that sheet the header is the first of the top rows that names the contract's columns: title rows and
    merged cells above it are skipped; formulas are read as their cached values. A workbook whose data could be
    on several sheets (two filled sheets, or only a hidden one) is rejected, naming its sheets, rather than
    read from a guessed one. A code typed as a number (Excel shows 1.001190, stores 1.00119) is flagged in
    `__reader_reason`, so the row is quarantined instead of stored altered.
    """
    import fastexcel
    import polars as pl

    check_workbook_size(path)
    try:
        reader = fastexcel.read_excel(path)
        names = list(reader.sheet_names)
        # Keep blank rows (also those above the first filled one) so a row's index is its Excel row number.
        heads = [
            reader.load_sheet(i, header_row=None, skip_rows=0, n_rows=HEADER_ROWS, dtypes="string")
            for i in range(len(names))
        ]
    except Exception as exc:  # noqa: BLE001 - any reader failure means the workbook is unreadable
        # The reader's first line says what is wrong; the rest repeats it with the absolute path.
        detail = _reader_error(exc, path, contract)
        with path.open("rb") as fh:
            if fh.read(4) != b"PK\x03\x04":
                detail += "; the file is not a ZIP-based workbook: a CSV or an old .xls renamed to .xlsx?"
        raise FileRejected(f"is not a readable XLSX workbook ({detail})") from exc
    hidden = {n for n, h in zip(names, heads, strict=True) if h.visible != "visible"}
    listing = ", ".join(n + (" (hidden)" if n in hidden else "") for n in names)
    found = [_find_header(h.to_polars().rows(), contract) for h in heads]
    index = _choose_sheet(names, found, hidden, listing, contract)
    header_index, positions, extras = found[index]
    try:
        table, cell_errors = reader.load_sheet(
            index, header_row=None, skip_rows=0, dtypes="string"
        ).to_arrow_with_errors()
        sheet = pl.from_arrow(table)
        # A formula whose cached result is an Excel error (#DIV/0!, #REF!) would read as empty: keep the error's
        # text instead, so a number column quarantines the row and a text column shows it.
        for err in cell_errors.errors if cell_errors else []:
            kind = re.search(r"Error\((\w+)\)", err.detail)
            if kind:
                row, col = err.position
                sheet[row, sheet.columns[col]] = EXCEL_ERRORS.get(kind.group(1), f"#{kind.group(1).upper()}!")
        reasons = _numbers_in_codes(reader, index, sheet, _code_columns(contract, positions), positions)
        sheet = _exact_decimals(
            reader,
            index,
            sheet,
            [positions[c.name] for c in contract.columns if c.type == "decimal" and _read(c, positions)],
        )
    except fastexcel.FastExcelError as exc:
        raise FileRejected(f"is not a readable XLSX workbook ({_reader_error(exc, path, contract)})") from exc
    sheet = sheet.with_columns(pl.Series("__reader_reason", reasons, dtype=pl.String))
    body = sheet.slice(header_index + 1).with_row_index("__line", offset=header_index + 2)
    body = body.filter(~pl.all_horizontal([pl.col(c).is_null() for c in sheet.columns]))
    relation_name = f"xlsx_{abs(hash(str(path)))}"
    con.register(relation_name, body)
    select = ", ".join(
        (_text_expr(_quote(sheet.columns[positions[c.name]]), _is_code(c)) if _read(c, positions) else "NULL::VARCHAR")
        + f" AS {_quote(c.name)}"
        for c in contract.columns
    )
    notes = [f"read sheet {names[index]} (sheets: {listing})"] if len(names) > 1 else []
    notes += [f"header found on row {header_index + 1}"] if header_index else []
    if extras:
        notes.append(extra_columns_note(extras))
    relation = f"SELECT {select}, CAST(__line AS BIGINT) AS __line, __reader_reason FROM {relation_name}"
    return OpenedFile(path, "xlsx", None, ",", relation, [], notes)


def check_workbook_size(path: Path) -> None:
    """Reject a workbook that would take gigabytes to read, before the XLSX reader opens it.

    A 2 MB file of a million inline strings took 2.4 GB, a 7.9 MB one aborted the process (the allocator's abort
    names no file), and a single stray value in cell XFD1048576 asks for 17 billion cells. Each part's size is
    read from the ZIP's central directory (nothing inflated); each sheet's extent from one pass over its XML,
    inflated in chunks. A file that is no ZIP is left to the reader, which says what it is.
    """
    try:
        book = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with book:
        names = _sheet_parts(book)
        for info in book.infolist():
            if info.file_size > MAX_XLSX_PART_BYTES:
                part = f"sheet {names[info.filename]} ({info.filename})" if info.filename in names else info.filename
                raise FileRejected(
                    f"is too large to read safely: {part} is {info.file_size / 2**20:,.0f} MB uncompressed, which "
                    f"exceeds the limit of {MAX_XLSX_PART_BYTES // 2**20} MB per part of a workbook; split it or "
                    "save it as CSV"
                )
        for part, name in names.items():
            try:
                with book.open(part) as xml:
                    rows, columns = _sheet_extent(xml)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError) as exc:
                raise FileRejected(f"is not a readable XLSX workbook ({part}: {exc})") from exc
            if rows * columns > MAX_SHEET_CELLS:
                raise FileRejected(
                    f"is too large to read safely: sheet {name} reaches cell {_column_name(columns)}{rows} "
                    f"({rows:,} rows × {columns:,} columns = {rows * columns:,} cells, which the reader would hold "
                    f"in memory), which exceeds the limit of {MAX_SHEET_CELLS:,} cells per sheet; delete what lies "
                    "beyond the data (a stray value far below or right of it), split it or save it as CSV"
                )


def _sheet_parts(book: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part → sheet name: the workbook's sheets, plus any part in xl/worksheets/ (named by its path)."""
    parts = {n: n for n in book.namelist() if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n)}
    try:
        small = all(book.getinfo(n).file_size < 2**20 for n in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"))
        workbook = ElementTree.fromstring(book.read("xl/workbook.xml")) if small else None
        rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels")) if small else None
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile):
        return parts
    if workbook is None or rels is None:
        return parts
    targets = {r.get("Id"): r.get("Target", "") for r in rels if r.tag.endswith("Relationship")}
    for sheet in workbook.iter():
        if sheet.tag.endswith("}sheet"):
            rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
            target = targets.get(rid, "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
            if part in book.namelist():
                parts[part] = sheet.get("name", part)
    return parts


def _sheet_extent(xml: IO[bytes]) -> tuple[int, int]:
    """(last row, last column) of a sheet's cells, read from its XML in chunks; counted from A1, so an upper
    bound of the rectangle the reader holds (it starts at the first cell).

    The quick pass reads the row numbers and only the cells past column Z; when those allow a rectangle over
    MAX_SHEET_CELLS, a second pass reads every cell's column. Cells or rows placed by their order (no `r`
    attribute first, as some exporters write them) are followed one by one.
    """
    head = xml.read(1 << 22)
    prefix = re.search(rb"<(\w+:)?worksheet\b", head)
    p = prefix.group(1) or b"" if prefix else b""  # a namespace prefix (<x:c>): letters, nothing to escape
    row_numbers = re.compile(rb"<" + p + rb'row r="(\d+)"')
    rows_by_order = re.compile(rb"<" + p + rb'row(?:>|/>|\s(?!r="))')  # a row without its number first
    unusual_cells = re.compile(rb"<" + p + rb'c(?: r="([A-Z]{2,})(\d+)"|>|/>|\s(?!r="))')  # past Z, or by order
    rows = columns = 0
    cells = False
    for chunk in _xml_chunks(head, xml):
        rows = max(rows, max(map(int, row_numbers.findall(chunk)), default=0))
        for found in unusual_cells.finditer(chunk):
            if found.group(1) is None:
                xml.seek(0)
                return _sheet_extent_exact(xml, p)
            rows, columns = max(rows, int(found.group(2))), max(columns, _column_number(found.group(1)))
        if rows_by_order.search(chunk):
            xml.seek(0)
            return _sheet_extent_exact(xml, p)
        cells = cells or b"<" + p + b'c r="' in chunk
    if rows * max(columns, 26 * cells) <= MAX_SHEET_CELLS:
        return rows, max(columns, 26 * cells)
    xml.seek(0)
    letters = re.compile(rb"<" + p + rb'c r="([A-Z]+)')
    for chunk in _xml_chunks(b"", xml):
        columns = max(columns, max(map(_column_number, set(letters.findall(chunk))), default=0))
    return rows, columns


def _sheet_extent_exact(xml: IO[bytes], p: bytes) -> tuple[int, int]:
    """(last row, last column) of every cell, placed by its `r` attribute or by its order in the XML; stops as soon
    as they exceed MAX_SHEET_CELLS."""
    tags = re.compile(rb"<" + p + rb"(row|c)(?=[\s/>])([^>]*)>")
    ref = re.compile(rb'\br="([A-Z]*)(\d*)"')
    row = column = rows = columns = 0
    for chunk in _xml_chunks(b"", xml):
        for tag in tags.finditer(chunk):
            at = ref.search(tag.group(2))
            if tag.group(1) == b"row":
                row, column = (int(at.group(2)) if at and at.group(2) else row + 1), 0
                continue
            if at and at.group(1):
                column = _column_number(at.group(1))
                row = int(at.group(2)) if at.group(2) else row
            else:
                column += 1
            rows, columns = max(rows, row), max(columns, column)
        if rows * columns > MAX_SHEET_CELLS:
            break
    return rows, columns


def _xml_chunks(head: bytes, xml: IO[bytes]):  # noqa: ANN202 - a generator of bytes
    """The XML in chunks of about 4 MB, each cut before its last '<' so that no tag is split."""
    carry = head
    while chunk := xml.read(1 << 22):
        carry += chunk
        cut = carry.rfind(b"<")
        if cut <= 0:  # no tag begins after the first byte: a long text, cut anywhere
            cut = len(carry)
        yield carry[:cut]
        carry = carry[cut:]
    yield carry


def _column_number(letters: bytes | str) -> int:
    """AA → 27."""
    n = 0
    for c in letters.encode() if isinstance(letters, str) else letters:
        n = n * 26 + c - 64
    return n


def _column_name(number: int) -> str:
    """27 → AA."""
    name = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        name = chr(65 + rest) + name
    return name or "A"


def _find_header(rows: list[tuple], contract: SourceContract) -> tuple[int, dict[str, int], list[str]] | HeaderMismatch:
    """(row index, positions, extras) of the first top row that is the contract's header, or why none is (the
    mismatch of the row naming the most contract columns)."""
    best: HeaderMismatch | None = None
    for i, row in enumerate(rows[:HEADER_ROWS]):
        try:
            positions, extras = map_header([str(v) if v is not None else "" for v in row], contract)
        except HeaderMismatch as exc:
            best = exc if best is None or exc.recognised > best.recognised else best
            continue
        return i, positions, extras
    return best or HeaderMismatch("has no header row (its sheet is empty)", 0)


def _choose_sheet(
    names: list[str], found: list[tuple | HeaderMismatch], hidden: set[str], listing: str, contract: SourceContract
) -> int:
    """The sheet to read: the contract's, else the only visible one with the contract's header; else reject."""
    if contract.sheet is not None:
        if contract.sheet not in names:
            raise FileRejected(f"has no sheet named {contract.sheet} (sheets: {listing})")
        if isinstance(found[names.index(contract.sheet)], HeaderMismatch):
            raise found[names.index(contract.sheet)]
        return names.index(contract.sheet)
    matching = [i for i, f in enumerate(found) if not isinstance(f, HeaderMismatch)]
    visible = [i for i in matching if names[i] not in hidden]
    if len(visible) == 1:
        return visible[0]
    if len(visible) > 1:
        raise FileRejected(
            f"has {len(visible)} sheets that hold data ({', '.join(names[i] for i in visible)}): "
            "keep one, or name it in the contract (sheet: in config/sources.yaml)"
        )
    if len(names) == 1:
        raise found[0]
    only_hidden = [names[i] for i in matching]
    why = (
        f" (only the hidden sheet {', '.join(only_hidden)} has them: unhide it, or name it in the contract)"
        if only_hidden
        else ""
    )
    raise FileRejected(
        f"has no {'visible ' if only_hidden else ''}sheet with the columns of {contract.label}{why}; sheets: {listing}"
    )


def _numbers_in_codes(
    reader: fastexcel.ExcelReader,
    index: int,
    sheet: pl.DataFrame,
    codes: list[ColumnContract],
    positions: dict[str, int],
) -> list[str | None]:
    """Per sheet row, why a code cell cannot be trusted: Excel stored it as a number (or a date), not as text.

    Read as text, a number cell shows only its value (1.00119): the zeros of 1.001190 are gone. The cells are
    read again as durations, which no text converts to, so the reader names each cell's real type.
    """
    reasons: list[list[str]] = [[] for _ in range(sheet.height)]
    if not codes:
        return [None] * sheet.height
    columns = {positions[c.name]: c.name for c in codes}
    typed = reader.load_sheet(
        index, header_row=None, skip_rows=0, use_columns=sorted(columns), dtypes=dict.fromkeys(columns, "duration")
    )
    table, errors = typed.to_arrow_with_errors()
    for err in errors.errors if errors else []:
        row, col = err.position
        if re.search(r"got '(Float|Int)\(", err.detail) and col in columns:
            value = sheet[row, sheet.columns[col]]
            reasons[row].append(
                f"{columns[col]} arrived as a number ({value}): format the column as text in Excel; {LOST_ZEROS}"
            )
    for name, col in zip(table.column_names, sorted(columns), strict=True):
        for row, value in enumerate(table.column(name).to_pylist()):
            if value is not None:  # only a date or time cell converts to a duration
                reasons[row].append(
                    f"{columns[col]} arrived as a date ({sheet[row, sheet.columns[col]]}): "
                    "format the column as text in Excel"
                )
    return ["; ".join(r) or None for r in reasons]


def _exact_decimals(reader: fastexcel.ExcelReader, index: int, sheet: pl.DataFrame, columns: list[int]) -> pl.DataFrame:
    """The number cells of decimal columns as the shortest text that reads back to the cell's value.

    The reader's text keeps 9 decimals: 9.207108589519956e-06 reads as 0.000009207 and 1.5e-10 as 0. Each cell is
    read again as a float; where the text does not read back to it, the float's own text replaces it. A text cell
    ("80,5"), a flag (true) or a date is no number in Python's sense and stays as it is, for the contract to judge.
    """
    import polars as pl

    if not columns:
        return sheet
    typed, _ = reader.load_sheet(
        index, header_row=None, skip_rows=0, use_columns=columns, dtypes=dict.fromkeys(columns, "float")
    ).to_arrow_with_errors()
    for name, col in zip(typed.column_names, columns, strict=True):
        values = typed.column(name).to_pylist()
        texts = sheet[sheet.columns[col]].to_list()
        exact = [
            text if i >= len(values) or not _needs_exact_text(text, values[i]) else repr(values[i])
            for i, text in enumerate(texts)
        ]
        sheet = sheet.with_columns(pl.Series(sheet.columns[col], exact, dtype=pl.String))
    return sheet


def _needs_exact_text(text: str | None, value: float | None) -> bool:
    """Whether a cell's text, a number, reads back to something else than the cell's finite float value."""
    if text is None or value is None or not math.isfinite(value):
        return False
    try:
        return float(text) != value
    except ValueError:
        return False


def _open_parquet(con: duckdb.DuckDBPyConnection, path: Path, contract: SourceContract) -> OpenedFile:
    """Any column types: integers and timestamps where the contract wants them are taken typed (NATIVE), the rest
    read as text; a code stored as a number is flagged in `__reader_reason`."""
    try:
        types = dict(
            con.execute(
                "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))", [str(path)]
            ).fetchall()
        )
    except duckdb.Error as exc:
        raise FileRejected(f"is not a readable Parquet file ({_reader_error(exc, path, contract)})") from exc
    names = list(types)
    positions, extras = map_header(names, contract)
    native = frozenset(
        c.name
        for c in contract.columns
        if _read(c, positions)
        and not c.keep_label_as
        and c.type in NATIVE
        and types[names[positions[c.name]]] in NATIVE[c.type][0]
    )

    def value(c: ColumnContract) -> str:
        if not _read(c, positions):
            return "NULL::VARCHAR"
        column = _quote(names[positions[c.name]])
        return column if c.name in native else _text_expr(column, _is_code(c))

    select = ", ".join(f"{value(c)} AS {_quote(c.name)}" for c in contract.columns)
    numeric = ", ".join(f"'{t}'" for t in NUMERIC_TYPES)
    flags = [
        f"CASE WHEN {col} IS NOT NULL AND (typeof({col}) IN ({numeric}) OR typeof({col}) LIKE 'DECIMAL%') THEN "
        f"'{c.name} arrived as a number (' || CAST({col} AS VARCHAR) || '): store it as text (string) in the "
        f"Parquet file; {LOST_ZEROS}' END"
        for c in _code_columns(contract, positions)
        for col in [_quote(names[positions[c.name]])]
    ]
    reader_reason = f"nullif(concat_ws('; ', {', '.join(flags)}), '')" if flags else "NULL::VARCHAR"
    notes = [extra_columns_note(extras)] if extras else []
    relation = (
        f"SELECT {select}, file_row_number + 1 AS __line, {reader_reason} AS __reader_reason "
        f"FROM read_parquet(?, file_row_number=true)"
    )
    return OpenedFile(path, "parquet", None, ",", relation, [str(path)], notes, native=native)
