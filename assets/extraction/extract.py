"""Incremental extraction from a system of record (the one-stop database) into raw Parquet files.

A deployment declares its extracts in `$EGOV_DATA_DIR/extract.yaml` (never in the repository): per source of
config/sources.yaml, the database, a table with its columns renamed to the contract's names (or a query that already
names them so), and the cursor: the contract column holding the record's last-modified time. Each extract reads the
rows whose cursor is past the stored watermark minus a small overlap (a row committed late with an earlier
timestamp is still read), drops those the previous extract already wrote (same key and cursor), and writes them as
Parquet into `raw/<folder>/<year>/` (the year of each row's own year column, e.g. its reception: a dossier received
in December and finished in January stays a December dossier), one file per year named by the cursor range.

Why these rules: a file is written under a hidden temporary name and renamed when complete, so neither the loader
nor the raw-files sensor (both skip hidden files) sees half a file; the watermark moves only after every file is in
place, so a killed or failed extract reads the same rows again next time and the loader keeps one version of each
(contract `key` + `version`, docs/raw_contracts.md). Secrets only come from environment variables named in the file;
no message carries a password. Reading is Arrow record batches straight from libpq (ADBC), streamed into Parquet:
memory stays bounded whatever the number of changed rows (docs/benchmarks.md, "Issue 28").
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.core.registry.sources import SourceContract

EXTRACT_FILE = "extract.yaml"
STATE_DIR = "extract_state"  # $EGOV_DATA_DIR/extract_state/<source>.json: the watermark of each extract
CURSOR_FORMAT = "%Y%m%dT%H%M%S"  # in file names: extract_<first>_<last>.parquet
# Date-times as text (a query that returns the system's text columns): the forms macros.sql egov_timestamp reads.
TEXT_DATE_FORMATS = (
    "%Y%m%d%H%M%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y%m%d",
    "%Y-%m-%d",
    "%d/%m/%Y",
)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


class ExtractError(RuntimeError):
    """An extract that cannot run: the message names the extract, the host and the reason, never a secret."""


class Extract(BaseModel):
    """One source's extract (the keys are explained in docs/operators.md, "Extraction from the one-stop database")."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["postgres"]
    host: str
    port: int = 5432
    database: str
    user: str | None = None
    user_env: str | None = None  # the user name from an environment variable instead
    password_env: str | None = None  # the environment variable holding the password (never the password itself)
    table: str | None = None  # schema.table, with `columns` mapping the contract's names to the table's
    columns: dict[str, str] = Field(default_factory=dict)
    query: str | None = None  # a SELECT whose columns already have the contract's names
    cursor: str  # the contract column of the record's last-modified time (the contract's version)
    overlap_seconds: int = Field(default=600, ge=0)
    start: datetime = datetime(2000, 1, 1)  # the first extract reads rows changed after this

    @model_validator(mode="before")
    @classmethod
    def _no_secret_in_file(cls, data: object) -> object:
        if isinstance(data, dict) and "password" in data:
            raise ValueError(
                "password: never in the file; give password_env, the name of the environment variable that holds it"
            )
        return data

    @model_validator(mode="after")
    def _table_or_query(self) -> Extract:
        if (self.table is None) == (self.query is None):
            raise ValueError("give either table (with columns) or query")
        if self.table is not None:
            if not IDENTIFIER.fullmatch(self.table):
                raise ValueError(f"table {self.table!r} is not a plain [schema.]name")
            if not self.columns:
                raise ValueError("columns: map each contract column to the table's column")
            for source_col in self.columns.values():
                if not IDENTIFIER.fullmatch(source_col):
                    raise ValueError(f"column {source_col!r} is not a plain column name")
        if self.user is None and self.user_env is None:
            raise ValueError("give user or user_env")
        return self


def load_extracts(base: Path) -> dict[str, Extract]:
    """The extracts of `$EGOV_DATA_DIR/extract.yaml` by source name; none when the file does not exist."""
    path = base / EXTRACT_FILE
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        extracts = data.get("extracts") if isinstance(data, dict) else None
        if not isinstance(extracts, dict):
            raise ExtractError(f"{path}: expected a mapping `extracts:` of source name → extract")
        return {name: Extract.model_validate(spec) for name, spec in extracts.items()}
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'extract'}: {e['msg']}" for e in exc.errors())
        raise ExtractError(f"{path}: {problems}") from None
    except yaml.YAMLError as exc:
        raise ExtractError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None


def check_extract(name: str, extract: Extract, contract: SourceContract) -> None:
    """What the extract must agree on with the contract: known columns, a cursor among them, a year to file by."""
    names = {c.name for c in contract.columns}
    unknown = sorted(set(extract.columns) - names)
    if unknown:
        raise ExtractError(
            f"extract {name}: columns {', '.join(unknown)} are not columns of the contract "
            f"({contract.name} in config/sources.yaml)"
        )
    if extract.table is not None and extract.cursor not in extract.columns:
        raise ExtractError(f"extract {name}: the cursor {extract.cursor} must be one of its columns")
    if not (contract.year_column or contract.year_from):
        raise ExtractError(f"extract {name}: the source {contract.name} has no year column to file rows by")
    personal = sorted(c.name for c in contract.columns if c.personal and c.name in extract.columns)
    if personal:
        raise ExtractError(
            f"extract {name}: personal columns ({', '.join(personal)}) are never extracted: leave them out of columns"
        )


@dataclass
class ExtractResult:
    rows: int  # rows written (after the overlap's copies were dropped)
    rows_read: int  # rows the database returned
    files: list[Path]
    watermark_before: datetime | None
    watermark_after: datetime | None


def _state_path(base: Path, name: str) -> Path:
    return base / STATE_DIR / f"{name}.json"


def read_state(base: Path, name: str) -> dict:
    """The stored watermark and the (key, cursor) pairs at its end that the next overlap will read again."""
    path = _state_path(base, name)
    if not path.is_file():
        return {"watermark": None, "seen": []}
    return json.loads(path.read_text(encoding="utf-8"))


def _write_state(base: Path, name: str, state: dict) -> None:
    path = _state_path(base, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(state, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _uri(extract: Extract, user: str, password: str | None) -> str:
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return f"postgresql://{auth}@{extract.host}:{extract.port}/{quote(extract.database, safe='')}"


def _secret_free(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return re.sub(r"(postgres(?:ql)?://[^:@/\s]*):[^@\s]*@", r"\1:***@", text)


def _select(extract: Extract, since: datetime) -> str:
    """The query of rows changed after `since` (a literal: a datetime we made, never text from outside)."""
    literal = f"TIMESTAMP '{since:%Y-%m-%d %H:%M:%S.%f}'"
    if extract.table is not None:
        cols = ", ".join(f'{src} AS "{name}"' for name, src in extract.columns.items())
        cursor = extract.columns[extract.cursor]
        return f"SELECT {cols} FROM {extract.table} WHERE {cursor} > {literal} ORDER BY {cursor}"
    return (
        f'SELECT * FROM ({extract.query}) AS egov_extract WHERE "{extract.cursor}" > {literal} '
        f'ORDER BY "{extract.cursor}"'
    )


def _batches(extract: Extract, name: str, since: datetime) -> Iterator[pa.RecordBatch]:
    """The changed rows as Arrow record batches; a failure names the host and the reason, never the password."""
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi as pg

    user = extract.user if extract.user is not None else os.environ.get(extract.user_env or "", "")
    password = os.environ.get(extract.password_env) if extract.password_env else None
    if extract.password_env and password is None:
        raise ExtractError(f"extract {name}: the environment variable {extract.password_env} (password_env) is not set")
    where = f"PostgreSQL at {extract.host}:{extract.port} (database {extract.database}, user {user})"

    def failed(stage: str, exc: Exception) -> ExtractError:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return ExtractError(f"extract {name}: {stage} {where} failed: {_secret_free(reason, [password or ''])}"[:800])

    try:
        conn = pg.connect(_uri(extract, user, password))
    except (adbc_driver_manager.Error, OSError) as exc:
        raise failed("connecting to", exc) from None
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(_select(extract, since))
                reader = cur.fetch_record_batch()
            except adbc_driver_manager.Error as exc:
                raise failed("reading from", exc) from None
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except (adbc_driver_manager.Error, pa.ArrowException) as exc:
                    raise failed("reading from", exc) from None
                yield batch
    finally:
        conn.close()


def _year_of(contract: SourceContract) -> str:
    return contract.year_column or contract.year_from or ""


def run_extract(
    base: Path,
    raw_dir: Path,
    name: str,
    extract: Extract,
    contract: SourceContract,
    *,
    log: Callable[[str], None] = lambda _msg: None,
) -> ExtractResult:
    """Extract the rows changed since the stored watermark into Parquet files, then move the watermark."""
    check_extract(name, extract, contract)
    state = read_state(base, name)
    before = datetime.fromisoformat(state["watermark"]) if state["watermark"] else None
    since = (before - timedelta(seconds=extract.overlap_seconds)) if before else extract.start
    seen = {tuple(pair) for pair in state["seen"]}  # (key, cursor) written by the previous extract's overlap
    key_cols = list(contract.record_key)
    year_col = _year_of(contract)
    folder = raw_dir / contract.folder
    for stale in folder.glob("*/.extract_*.tmp"):  # a killed extract's unfinished file: never loaded, now removed
        stale.unlink(missing_ok=True)

    writers: dict[int, tuple[pq.ParquetWriter, Path]] = {}
    first: datetime | None = None
    last: datetime | None = None
    rows = read = 0
    tail: list[tuple[str, str]] = []
    try:
        for batch in _batches(extract, name, since):
            if not read:  # a query names its own columns: the cursor and the key must be among them
                missing = [c for c in [extract.cursor, *key_cols] if c not in batch.schema.names]
                if missing:
                    raise ExtractError(
                        f"extract {name}: the rows have no column {', '.join(missing)} (the cursor and "
                        f"the key of {contract.name} must be among the query's columns)"
                    )
            read += batch.num_rows
            table = pa.Table.from_batches([batch])
            if seen and before is not None:  # only rows up to the old watermark can have been written already
                again = pc.less_equal(table[extract.cursor], pa.scalar(before, table.schema.field(extract.cursor).type))
                idx = pc.indices_nonzero(again).to_pylist()
                if idx:
                    drop = {i for i in idx if _pair(table, key_cols, extract.cursor, i) in seen}
                    table = table.filter(pa.array([i not in drop for i in range(table.num_rows)], pa.bool_()))
            if not table.num_rows:
                continue
            cursor = table[extract.cursor]
            lo, hi = pc.min(cursor).as_py(), pc.max(cursor).as_py()
            first = lo if first is None or lo < first else first
            last = hi if last is None or hi > last else last
            for year, part in _by_year(table, year_col, cursor):
                if year not in writers:
                    (folder / str(year)).mkdir(parents=True, exist_ok=True)
                    tmp = folder / str(year) / f".extract_{os.getpid()}_{year}.parquet.tmp"
                    writers[year] = (pq.ParquetWriter(tmp, table.schema), tmp)
                writers[year][0].write_table(part)
            rows += table.num_rows
            # The rows the next extract's overlap will read again (the batches come in cursor order).
            near = pc.greater(cursor, pa.scalar(hi - timedelta(seconds=extract.overlap_seconds), cursor.type))
            tail.extend(_pair(table, key_cols, extract.cursor, i) for i in pc.indices_nonzero(near).to_pylist())
    except BaseException:
        for writer, tmp in writers.values():
            writer.close()
            tmp.unlink(missing_ok=True)
        raise
    files = []
    for year, (writer, tmp) in sorted(writers.items()):
        writer.close()
        final = tmp.with_name(f"extract_{first:{CURSOR_FORMAT}}_{last:{CURSOR_FORMAT}}.parquet")
        os.replace(tmp, final)  # atomic: the file appears complete or not at all
        files.append(final)
        log(f"{final.relative_to(raw_dir)}: written ({year})")
    after = before
    if last is not None:
        after = max(last, before) if before else last
        horizon = after - timedelta(seconds=extract.overlap_seconds)
        keep_seen = [[k, c] for k, c in tail if datetime.fromisoformat(c) > horizon]
        keep_seen += [[k, c] for k, c in seen if datetime.fromisoformat(c) > horizon]
        _write_state(base, name, {"watermark": _iso(after), "seen": sorted(map(list, {tuple(p) for p in keep_seen}))})
    log(
        f"extract {name}: {read:,} rows read since {since:%Y-%m-%d %H:%M:%S}, {rows:,} new "
        f"({read - rows:,} already written by the previous extract); watermark {_iso(after) if after else 'none'}"
    )
    return ExtractResult(rows, read, files, before, after)


def _pair(table: pa.Table, key_cols: list[str], cursor: str, i: int) -> tuple[str, str]:
    """(key, cursor) of row i, as the state file keeps them."""
    return "/".join(str(table[k][i].as_py()) for k in key_cols), _iso(table[cursor][i].as_py())


def _by_year(table: pa.Table, year_col: str, cursor: pa.ChunkedArray) -> Iterator[tuple[int, pa.Table]]:
    """The rows of each year of the source's year column (a date-time's year, or a year number); a row without one
    goes to its cursor's year, where the loader quarantines it (its year column is empty)."""
    if year_col in table.column_names:
        column = table[year_col]
        if pa.types.is_temporal(column.type):
            years = pc.year(column)
        elif pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            # A date-time as text, in the forms the contract reads (macros.sql egov_timestamp), or a year number.
            parsed = [pc.strptime(column, format=f, unit="s", error_is_null=True) for f in TEXT_DATE_FORMATS]
            number = pc.cast(pc.if_else(pc.match_substring_regex(column, r"^\d{4}$"), column, None), pa.int64())
            years = pc.coalesce(*[pc.year(p) for p in parsed], number)
        else:
            years = pc.cast(column, pa.int64(), safe=False)
    else:
        years = pc.year(cursor)
    years = pc.coalesce(pc.cast(years, pa.int64()), pc.cast(pc.year(cursor), pa.int64()))
    for year in pc.unique(years).to_pylist():
        yield int(year), table.filter(pc.equal(years, year))


def _iso(value: datetime) -> str:
    return value.isoformat(sep=" ")
