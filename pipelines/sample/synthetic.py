"""Tỉnh Mẫu: a SYNTHETIC sample province, written as raw files in every format of the contract (docs/domain.md §3).

Its shape follows the published figures of docs/domain.md §7 (19 departments, 18 districts, ~240 communes, ~1,800
procedures, ~300k dossiers a year, online use growing, the 2025 restructuring), but every name, code and number
is invented. Deterministic for a seed: numpy generators seeded per year and month, no clock. Dossiers are drawn
vectorised and written in chunks of at most CHUNK_ROWS (one file each), so `scale` can reach 10^8 dossiers a
year in bounded memory (measured peak RSS: 0.8 GB at 10M dossiers a year, 2.4 GB at 100M, where a whole month
would be ~8M rows). A realistic sprinkle of faults is injected and counted in the manifest, so tests can check
the pipeline quarantines exactly those.
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import json
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import polars as pl

SOURCES = (
    "agencies",
    "services",
    "dossiers",
    "one_stop",
    "infrastructure",
    "capacity",
    "assessments",
    "ratings",
    "feedback",
)
DOSSIERS_PER_YEAR = 300_000
CHUNK_ROWS = 2_000_000
FIXED_TIME = datetime(2026, 1, 1)  # XLSX document properties: a fixed date keeps the files byte-identical

DEPARTMENTS = [
    ("SO-TP", "Sở Tư pháp"),
    ("SO-YT", "Sở Y tế"),
    ("SO-GDDT", "Sở Giáo dục và Đào tạo"),
    ("SO-TC", "Sở Tài chính"),
    ("SO-XD", "Sở Xây dựng"),
    ("SO-CT", "Sở Công Thương"),
    ("SO-NV", "Sở Nội vụ"),
    ("SO-TNMT", "Sở Tài nguyên và Môi trường"),
    ("SO-KHDT", "Sở Kế hoạch và Đầu tư"),
    ("SO-TTTT", "Sở Thông tin và Truyền thông"),
    ("SO-KHCN", "Sở Khoa học và Công nghệ"),
    ("SO-GTVT", "Sở Giao thông vận tải"),
    ("SO-NNPTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("SO-LDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("SO-VHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("TTR", "Thanh tra tỉnh"),
    ("BQL-KCN", "Ban Quản lý các khu công nghiệp"),
    ("VP-UBND", "Văn phòng UBND tỉnh"),
    ("SO-NGV", "Sở Ngoại vụ"),
]
# 2025 restructuring: (predecessor, successor). SO-NNMT is new; the others already exist.
DEPARTMENT_MERGES = [
    ("SO-KHDT", "SO-TC"),
    ("SO-TTTT", "SO-KHCN"),
    ("SO-GTVT", "SO-XD"),
    ("SO-LDTBXH", "SO-NV"),
    ("SO-TNMT", "SO-NNMT"),
    ("SO-NNPTNT", "SO-NNMT"),
]
CENTRAL = [
    ("CT-THUE", "Cục Thuế tỉnh"),
    ("CT-BHXH", "Bảo hiểm xã hội tỉnh"),
    ("CT-KBNN", "Kho bạc Nhà nước tỉnh"),
    ("CT-CA", "Công an tỉnh"),
]
DISTRICT_NAMES = [
    "Sông Lam",
    "Phú Ninh",
    "Tam Kỳ",
    "Hòa Vang",
    "Đông Giang",
    "Tây Sơn",
    "Bắc Trà",
    "Nam Trà",
    "Quế Sơn",
    "Đại Lộc",
    "Duy Xuyên",
    "Thăng Bình",
    "Tiên Phước",
    "Hiệp Đức",
    "Núi Thành",
    "Phước Sơn",
    "Nông Sơn",
    "Điện Bàn",
]
DISTRICT_KINDS = ["thành phố"] + ["thị xã"] * 2 + ["huyện"] * 15
COMMUNE_WORDS = [
    "An",
    "Bình",
    "Phú",
    "Hòa",
    "Tân",
    "Phước",
    "Thạnh",
    "Đông",
    "Tây",
    "Trung",
    "Mỹ",
    "Lộc",
    "Quang",
    "Hưng",
    "Thuận",
    "Long",
]
PROCEDURE_WORDS = [
    "Cấp giấy phép",
    "Cấp lại giấy chứng nhận",
    "Đăng ký",
    "Thẩm định hồ sơ",
    "Xác nhận",
    "Điều chỉnh giấy phép",
    "Gia hạn",
    "Chứng thực",
    "Công nhận",
    "Thủ tục giải quyết",
]
PROCEDURE_OBJECTS = [
    "hoạt động kinh doanh",
    "hành nghề",
    "khai sinh",
    "kết hôn",
    "quyền sử dụng đất",
    "xây dựng",
    "hộ kinh doanh",
    "an toàn thực phẩm",
    "lý lịch tư pháp",
    "vận tải",
    "môi trường",
    "lao động",
]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Ngọc", "Đức"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Hà", "Hùng", "Lan", "Linh", "Nam", "Phương", "Quân", "Trang"]
DOSSIER_COLUMNS = [
    "MaHoSo",
    "MaTTHC",
    "DonViXuLy",
    "KenhThucHien",
    "MucDo",
    "NgayTiepNhan",
    "NgayHenTra",
    "NgayKetThucXuLy",
    "NgayTra",
    "TrangThaiHoSo",
    "LePhi",
    "DuocThanhToanTrucTuyen",
    "HoSoCoThanhPhanSoHoa",
    "LoaiDoiTuong",
    "ChuHoSo",
    "SoGiayTo",
    "SoDienThoai",
    "Email",
]
TONE_MARKS = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
# The optional columns of the national sync format (config/sources.yaml), by the first year the sample's exports
# carry them: the supplement dates and electronic results since the QĐ 766 portal (2022), the data store later.
SYNC_COLUMNS_FROM = {
    "NgayYeuCauBoSung": 2022,
    "NgayCongDanBoSung": 2022,
    "SoLanBoSung": 2022,
    "CoKetQuaDienTu": 2022,
    "DaSoHoaKetQua": 2022,
    "DuocLayTuKhoDMQG": 2023,
    "NgayDongBo": 2022,
}
SYNC_STREAM = 766  # the sync columns' own generator: the other columns keep the values they had without them
# The QĐ 766 transparency and satisfaction inputs (docs/raw_contracts.md), from the year the portal scores them:
# the catalogue's national-database columns, the citizens' ratings and the feedback (PAKN), each from its own
# generator, so every other file stays as it was.
INPUTS_766_FROM = 2022
RATING_STREAM, FEEDBACK_STREAM = 7661, 7662
UNKNOWN_DOSSIER = "HS-KHONG-CO"  # a rating of no dossier: one a year, quarantined (a counted fault)


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    group: str
    parent: str | None = None
    valid_from: date | None = date(2016, 1, 1)
    valid_to: date | None = None
    successor: str | None = None
    maturity: float = 0.0  # the province's lead or lag in IT, added to every agency's quality (national sample)

    def exists(self, year: int) -> bool:
        return (self.valid_from is None or self.valid_from <= date(year, 12, 31)) and (
            self.valid_to is None or self.valid_to >= date(year, 1, 1)
        )

    def exists_in_month(self, year: int, month: int) -> bool:
        last = date(year, month, calendar.monthrange(year, month)[1])
        return (self.valid_from is None or self.valid_from <= last) and (
            self.valid_to is None or self.valid_to >= date(year, month, 1)
        )

    def evaluated(self, year: int) -> bool:
        return self.exists(year) and (self.valid_to is None or self.valid_to >= date(year, 12, 31))


@cache
def _unit(key: str) -> float:
    """A stable pseudo-random number in [0, 1) for a name (quality of an agency, difficulty of a procedure)."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16) / 16**12


def build_agencies(seed: int, maturity: float = 0.0) -> list[Agency]:
    agencies: list[Agency] = []
    merged = dict(DEPARTMENT_MERGES)
    for code, name in DEPARTMENTS:
        successor = merged.get(code)
        agencies.append(
            Agency(code, name, "department", valid_to=date(2025, 2, 28) if successor else None, successor=successor)
        )
    agencies.append(Agency("SO-NNMT", "Sở Nông nghiệp và Môi trường", "department", valid_from=date(2025, 3, 1)))
    agencies += [Agency(code, name, "central") for code, name in CENTRAL]
    rng = np.random.default_rng(seed)
    commune_no, new_no = 0, 0
    for d, (place, kind) in enumerate(zip(DISTRICT_NAMES, DISTRICT_KINDS, strict=True), start=1):
        district = f"H{d:02d}"
        agencies.append(Agency(district, f"UBND {kind} {place}", "district", valid_to=date(2025, 6, 30)))
        communes = 11 + int(rng.integers(0, 5))
        for k in range(communes):
            if k % 3 == 0:
                new_no += 1
            commune_no += 1
            word = COMMUNE_WORDS[(commune_no * 7) % len(COMMUNE_WORDS)]
            kind_c = "phường" if kind != "huyện" and k < 4 else "xã"
            agencies.append(
                Agency(
                    f"X{commune_no:03d}",
                    f"UBND {kind_c} {word} {place} {k + 1}",
                    "commune",
                    parent=district,
                    valid_to=date(2025, 6, 30),
                    successor=f"XM{new_no:02d}",
                )
            )
    for n in range(1, new_no + 1):
        agencies.append(
            Agency(
                f"XM{n:02d}",
                f"UBND xã {COMMUNE_WORDS[n % len(COMMUNE_WORDS)]} Mới {n}",
                "commune",
                valid_from=date(2025, 7, 1),
            )
        )
    return [replace(a, maturity=maturity) for a in agencies] if maturity else agencies


def quality(agency: Agency) -> float:
    """How far an agency has gone with IT, 0.3..1: the lever that spreads scores over 50-97."""
    base = 0.3 + 0.7 * _unit("quality:" + agency.code)
    return min(max(base + agency.maturity, 0.3), 0.99) if agency.maturity else base


def _procedures(agencies: list[Agency], after_mergers: bool) -> dict[str, list[str]]:
    """Procedure codes per agency: departments own ~1,350 between them, every district the same ~290,
    every commune the same ~160; after the 2025 mergers successors take over their predecessors' procedures."""
    owned: dict[str, list[str]] = {}
    departments = [a for a in agencies if a.group == "department" and a.valid_from == date(2016, 1, 1)]
    weights = np.array([0.5 + _unit("size:" + a.code) for a in departments])
    counts = np.round(1350 * weights / weights.sum()).astype(int)
    for i, (a, n) in enumerate(zip(departments, counts, strict=True)):
        owned[a.code] = [f"1.{i + 1:02d}{k:04d}" for k in range(n)]
    for a in agencies:
        if a.group == "district":
            owned[a.code] = [f"2.00{k:04d}" for k in range(290)]
        elif a.group == "commune":
            owned[a.code] = [f"3.00{k:04d}" for k in range(160)]
        elif a.group == "central":
            owned[a.code] = [f"4.{a.code[-2:]}{k:03d}" for k in range(30)]
    for old, new in DEPARTMENT_MERGES if after_mergers else ():
        owned.setdefault(new, [])
        owned[new] = owned[new] + owned[old]
    return owned


def service_level(agency: Agency, procedure: str, year: int) -> int:
    """Levels only grow: a procedure goes online when the province's pace, scaled by the agency, reaches it."""
    u = _unit(f"proc:{procedure}")
    q = quality(agency)
    progress = min(1.0, (year - 2015) / 9)
    share_4 = (0.03 + 0.27 * progress) * (0.4 + 0.9 * q)
    share_34 = (0.13 + 0.42 * progress) * (0.4 + 0.9 * q)
    if u < share_4:
        return 4
    if u < share_34:
        return 3
    return 1 if u > 0.97 else 2


def level_label(level: int, year: int) -> str:
    if year >= 2022 and level in (3, 4):
        return "một phần" if level == 3 else "toàn trình"
    return str(level)


def to_cp1258(text: str) -> bytes:
    """Encode as a Vietnamese Windows export: precomposed letters, tone marks as combining characters."""
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(m for m in parts if m not in TONE_MARKS))
            out += (base + "".join(m for m in parts if m in TONE_MARKS)).encode("cp1258")
    return bytes(out)


def _write_csv(
    path: Path, header: list[str], rows: list[list[object]], *, bom: bool = False, encoding: str = "utf-8"
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if encoding == "cp1258":
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
        path.write_bytes(to_cp1258(buffer.getvalue()))
        return
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def _write_xlsx(path: Path, header: list[str], rows: list[list[object]], title: str | None = None) -> None:
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": FIXED_TIME, "author": "Tỉnh Mẫu (synthetic)"})
    sheet = book.add_worksheet("Báo cáo")
    start = 0
    if title:
        sheet.merge_range(0, 0, 0, len(header) - 1, title)
        start = 1
    sheet.write_row(start, 0, header)
    for i, row in enumerate(rows, start=start + 1):
        sheet.write_row(i, 0, row)
    book.close()


def _write_table(path_stem: Path, header: list[str], rows: list[list[object]], xlsx: bool, title: str) -> Path:
    if xlsx:
        path = path_stem.with_suffix(".xlsx")
        _write_xlsx(path, header, rows, title)
    else:
        path = path_stem.with_suffix(".csv")
        _write_csv(path, header, rows)
    return path


def generate_sample_province(
    raw_dir: Path,
    *,
    seed: int = 20161,
    scale: float = 1.0,
    first_year: int = 2016,
    last_year: int = 2026,
    through: date = date(2026, 10, 31),
    dossier_format: str = "mixed",
    progress: Callable[[str], None] | None = None,
    maturity: float = 0.0,
    province: str = "Tỉnh Mẫu",
) -> dict:
    """Write the sample province under `raw_dir` (replacing an earlier sample) and return its manifest."""
    say = progress or (lambda _msg: None)
    raw_dir = Path(raw_dir)
    for source in SOURCES:
        shutil.rmtree(raw_dir / source, ignore_errors=True)
    agencies = build_agencies(seed, maturity)
    owned_before, owned_after = _procedures(agencies, False), _procedures(agencies, True)
    faults: dict[str, dict[str, int]] = {}
    files: list[str] = []

    def fault(source: str, kind: str, n: int = 1) -> None:
        faults.setdefault(source, {})
        faults[source][kind] = faults[source].get(kind, 0) + n

    header = ["agency_code", "agency_name", "agency_group", "parent_code", "valid_from", "valid_to", "successor_code"]
    _write_csv(
        raw_dir / "agencies" / "agencies.csv",
        header,
        [
            [
                a.code,
                a.name,
                a.group,
                a.parent or "",
                a.valid_from.isoformat() if a.valid_from else "",
                a.valid_to.isoformat() if a.valid_to else "",
                a.successor or "",
            ]
            for a in agencies
        ],
    )
    files.append("agencies/agencies.csv")

    dossiers_per_year: dict[int, int] = {}
    procedures_per_year: dict[int, int] = {}
    # the end of the data (the last month's end): no rating or answer comes later
    until = np.datetime64(date(through.year + through.month // 12, through.month % 12 + 1, 1), "s")
    for year in range(first_year, last_year + 1):
        existing = [a for a in agencies if a.exists(year)]
        owned = owned_after if year >= 2025 else owned_before
        catalogue = _write_services(raw_dir, year, existing, owned, fault, files)
        procedures_per_year[year] = len({p for _, p, _, _ in catalogue})
        months = 12 if year < through.year else (through.month if year == through.year else 0)
        dossiers_per_year[year] = _write_dossiers(
            raw_dir, year, months, existing, catalogue, seed, scale, dossier_format, fault, files, until
        )
        _write_one_stop(raw_dir, year, months, existing, seed, files)
        if year < through.year or through == date(year, 12, 31):
            _write_returns(raw_dir, year, existing, seed, fault, files)
        say(f"  {year}: {procedures_per_year[year]:,} procedures, {dossiers_per_year[year]:,} dossiers")

    groups: dict[str, int] = {}
    for a in agencies:
        groups[a.group] = groups.get(a.group, 0) + 1
    manifest = {
        "synthetic": True,
        "province": province,
        "note": "SYNTHETIC data: every name, code and figure is invented (shaped on published figures).",
        "seed": seed,
        "scale": scale,
        "agencies": groups,
        "procedures_per_year": procedures_per_year,
        "dossiers_per_year": dossiers_per_year,
        "files_written": len(files),
        "injected_faults": faults,
    }
    (raw_dir.parent / "sample_manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return manifest


def _write_services(
    raw_dir: Path, year: int, existing: list[Agency], owned: dict[str, list[str]], fault: Callable, files: list[str]
) -> list[tuple[str, str, int, int]]:
    """The year's catalogue; returns (agency, procedure, level, has_fee) rows for the dossier draw."""
    catalogue = []
    rows = []
    for a in existing:
        for p in owned.get(a.code, []):
            level = service_level(a, p, year)
            has_fee = int(_unit(f"fee:{p}") < 0.4)
            catalogue.append((a.code, p, level, has_fee))
            u = _unit(f"name:{p}")
            name = f"{PROCEDURE_WORDS[int(u * 10)]} {PROCEDURE_OBJECTS[int(u * 1000) % 12]} (thủ tục {p})"
            label = "" if level == 1 and year % 2 == 0 else level_label(level, year)
            rows.append([year, a.code, p, name, label, has_fee, *_national_database(a, p, year)])
    header = ["year", "agency_code", "procedure_code", "procedure_name", "level", "has_fee"]
    if year >= INPUTS_766_FROM:
        header += ["published_on", "synced_national"]
    else:
        rows = [r[: len(header)] for r in rows]
    stem = raw_dir / "services" / str(year) / f"catalogue_{year}"
    if year in (2019, 2023):
        path = stem.with_suffix(".xlsx")
        _write_xlsx(path, header, rows, f"DANH MỤC THỦ TỤC HÀNH CHÍNH NĂM {year}")
    elif year == 2018:  # exported from a Vietnamese Windows Excel: Windows-1258
        path = stem.with_suffix(".csv")
        _write_csv(path, header, rows, encoding="cp1258")
        fault("services", "windows_1258_file")
    else:
        path = stem.with_suffix(".csv")
        _write_csv(path, header, rows, bom=True)
    files.append(path.relative_to(raw_dir).as_posix())
    return catalogue


def _national_database(agency: Agency, procedure: str, year: int) -> list[object]:
    """published_on and synced_national of a procedure (from INPUTS_766_FROM): the share matching the national
    database grows every year, better agencies keep theirs in step; half of the others were never published."""
    share = min(0.97, (0.6 + 0.1 * (year - INPUTS_766_FROM)) * (0.45 + 0.55 * quality(agency)))
    u = _unit(f"published:{procedure}:{agency.code}:{year}")
    synced = u < share
    if not synced and u > (1 + share) / 2:
        return ["", 0]
    day = int(_unit(f"published_on:{procedure}") * 365)
    return [(date(INPUTS_766_FROM - 1, 1, 1) + timedelta(days=day)).isoformat(), int(synced)]


def _write_dossiers(
    raw_dir: Path,
    year: int,
    months: int,
    existing: list[Agency],
    catalogue: list[tuple[str, str, int, int]],
    seed: int,
    scale: float,
    dossier_format: str,
    fault: Callable,
    files: list[str],
    until: np.datetime64 | None = None,
) -> int:
    by_code = {a.code: a for a in existing}
    cat_agency = np.array([c[0] for c in catalogue])
    cat_proc = np.array([c[1] for c in catalogue])
    cat_level = np.array([c[2] for c in catalogue], dtype=np.int8)
    cat_fee = np.array([c[3] for c in catalogue], dtype=np.int8)
    order = np.argsort(cat_agency, kind="stable")
    cat_agency, cat_proc, cat_level, cat_fee = cat_agency[order], cat_proc[order], cat_level[order], cat_fee[order]
    codes, starts, lengths = np.unique(cat_agency, return_index=True, return_counts=True)
    size = {"department": 14.0, "central": 6.0, "district": 5.0, "commune": 0.5}
    progress = min(1.0, (year - 2016) / 8)
    total = 0
    use_parquet = dossier_format == "parquet" or (dossier_format == "mixed" and year >= 2021)
    for month in range(1, months + 1):
        rng = np.random.default_rng([seed, year, month])
        sync_rng = np.random.default_rng([seed, year, month, SYNC_STREAM])
        active = [c for c in codes if by_code[c].exists_in_month(year, month)]
        idx = np.searchsorted(codes, active)
        weight = np.array([size[by_code[c].group] * (0.5 + _unit("vol:" + c)) for c in active])
        n = int(round(DOSSIERS_PER_YEAR * scale * (0.8 + 0.4 * progress) / 12 * (0.9 + 0.2 * rng.random())))
        if n == 0:
            continue
        q_active = np.array([quality(by_code[c]) for c in active])
        folder = raw_dir / "dossiers" / str(year) / f"{month:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        # Streamed: at most CHUNK_ROWS dossiers are drawn and held at a time, one chunk file each. The draws of
        # a chunk come from the month's generator in the same order as a whole-month draw, so a month that fits
        # in one chunk (every month of the default sample) is byte-identical to drawing it at once.
        parts = max(1, -(-n // CHUNK_ROWS))
        month_faults = _MonthFaults(year, month, n, fault)
        inputs_766 = year >= INPUTS_766_FROM and until is not None
        rating_rng = np.random.default_rng([seed, year, month, RATING_STREAM])
        ratings: list[pl.DataFrame] = []
        if inputs_766:
            _write_feedback(
                raw_dir,
                year,
                month,
                np.array(active),
                weight,
                q_active,
                n,
                np.random.default_rng([seed, year, month, FEEDBACK_STREAM]),
                until,
                files,
            )
        for part in range(parts):
            first = part * CHUNK_ROWS
            frame = _draw_dossier_chunk(
                rng,
                year,
                month,
                months,
                progress,
                min(CHUNK_ROWS, n - first),
                first,
                codes,
                idx,
                weight,
                q_active,
                starts,
                lengths,
                cat_proc,
                cat_level,
                cat_fee,
                sync_rng=sync_rng,
            )
            frame = month_faults.apply(frame, first=part == 0, last=part == parts - 1)
            if inputs_766:
                ratings.append(_ratings(frame, year, rating_rng, {c: quality(by_code[c]) for c in active}, until))
            total += frame.height
            name = f"hoso_{year}_{month:02d}" + (f"_part{part + 1}" if parts > 1 else "")
            path = folder / (name + (".parquet" if use_parquet else ".csv"))
            if use_parquet:
                frame.write_parquet(path, compression="zstd", statistics=False)
            else:
                frame.write_csv(path)
            files.append(path.relative_to(raw_dir).as_posix())
            del frame
        if inputs_766:
            _write_ratings(raw_dir, year, month, ratings, fault, files)
    return total


def _ratings(
    frame: pl.DataFrame, year: int, rng: np.random.Generator, q_of: dict[str, float], until: np.datetime64
) -> pl.DataFrame:
    """The citizens' ratings of a chunk's finished dossiers (the ones the loader keeps: not the injected faults,
    not a re-sent copy): the share rated grows every year, better agencies are rated more and better; one dossier
    in fifty is rated again a few days later (the latest counts). Only ratings given by `until` (the data's end)."""
    fmt = "%Y%m%d%H%M%S"
    received = pl.col("NgayTiepNhan").str.strptime(pl.Datetime("ms"), fmt, strict=False)
    done = frame.filter(
        (pl.col("NgayKetThucXuLy") != "")
        & (pl.col("DonViXuLy") != "XXX-UNKNOWN")
        & received.is_not_null()
        & (pl.col("NgayHenTra") >= pl.col("NgayTiepNhan"))
    ).unique("MaHoSo", keep="first", maintain_order=True)
    n = done.height
    if not n:
        return pl.DataFrame(
            schema={"MaHoSo": pl.String, "at": pl.Datetime("ms"), "MucDo": pl.Int64, "KenhDanhGia": pl.Int64}
        )
    since = year - INPUTS_766_FROM
    q = np.array([q_of.get(a, 0.5) for a in done["DonViXuLy"].to_list()])
    finished = done["NgayKetThucXuLy"].str.strptime(pl.Datetime("ms"), fmt).to_numpy()
    rated = rng.random(n) < min(0.9, 0.3 + 0.15 * since) * (0.4 + 0.6 * q)
    at = finished + rng.integers(600, 3 * 86400, n).astype("timedelta64[s]")
    satisfied = rng.random(n) < min(0.97, 0.7 + 0.05 * since) * (0.55 + 0.45 * q)
    level = np.where(satisfied, np.where(rng.random(n) < 0.5, 1, 2), np.where(rng.random(n) < 0.6, 3, 4))
    channel = rng.choice([1, 2, 3], n, p=[0.5, 0.35, 0.15])
    again = rated & (rng.random(n) < 0.02)
    later = at + rng.integers(86400, 5 * 86400, n).astype("timedelta64[s]")
    relevel = np.where(rng.random(n) < 0.5, 2, 4)
    codes = done["MaHoSo"].to_numpy()
    out = pl.DataFrame(
        {
            "MaHoSo": np.concatenate([codes[rated], codes[again]]),
            "at": np.concatenate([at[rated], later[again]]).astype("datetime64[ms]"),
            "MucDo": np.concatenate([level[rated], relevel[again]]),
            "KenhDanhGia": np.concatenate([channel[rated], channel[again]]),
        }
    )
    return out.filter(pl.col("at") < pl.lit(until.astype("datetime64[ms]").item()))


def _write_ratings(
    raw_dir: Path, year: int, month: int, parts: list[pl.DataFrame], fault: Callable, files: list[str]
) -> None:
    """The month's ratings, each in the folder of the year it was given (a December dossier may be rated in
    January); January's file also holds a rating of no dossier, which the loader quarantines."""
    frame = pl.concat(parts)
    if month == 1:
        frame = pl.concat(
            [
                frame,
                pl.DataFrame(
                    {
                        "MaHoSo": [f"{UNKNOWN_DOSSIER}-{year}"],
                        "at": [datetime(year, 1, 15, 9)],
                        "MucDo": [1],
                        "KenhDanhGia": [1],
                    },
                    schema=frame.schema,
                ),
            ]
        )
        fault("ratings", "unknown_dossier")
    frame = frame.with_columns(
        pl.col("at").dt.year().alias("rating_year"), pl.col("at").dt.strftime("%Y%m%d%H%M%S").alias("NgayDanhGia")
    )
    for (rating_year,), part in sorted(frame.group_by("rating_year"), key=lambda kv: kv[0]):
        path = raw_dir / "ratings" / str(rating_year) / f"danhgia_{year}_{month:02d}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        part.select("MaHoSo", "NgayDanhGia", "MucDo", "KenhDanhGia").write_csv(path)
        files.append(path.relative_to(raw_dir).as_posix())


def _write_feedback(
    raw_dir: Path,
    year: int,
    month: int,
    active: np.ndarray,
    weight: np.ndarray,
    q_active: np.ndarray,
    n_dossiers: int,
    rng: np.random.Generator,
    until: np.datetime64,
    files: list[str],
) -> None:
    """The month's feedback and petitions (PAKN), one per ~60 dossiers, in the folder of the month received: due
    10-15 days later; answered on time more often every year and by better agencies, else 1-14 days late; a few
    withdrawn, a few never answered; those whose answer would come after the data's end not answered yet. With the
    petitioner's name, phone and address and the text, as exports have them (dropped by the loader)."""
    n = max(1, n_dossiers // 60)
    fmt = "%Y%m%d%H%M%S"
    pick = rng.choice(len(active), size=n, p=weight / weight.sum())
    q = q_active[pick]
    days = calendar.monthrange(year, month)[1]
    start = np.datetime64(f"{year}-{month:02d}-01T00:00:00", "s")
    received = start + (rng.integers(0, days, n) * 86400 + rng.integers(7 * 3600, 17 * 3600, n)).astype(
        "timedelta64[s]"
    )
    due = received + (rng.integers(10, 16, n) * 86400).astype("timedelta64[s]")
    on_time = rng.random(n) < min(0.97, 0.65 + 0.08 * (year - INPUTS_766_FROM)) * (0.5 + 0.5 * q)
    early = received + ((due - received).astype(np.int64) * rng.uniform(0.2, 1.0, n)).astype("timedelta64[s]")
    answered = np.where(on_time, early, due + (rng.integers(1, 15, n) * 86400).astype("timedelta64[s]"))
    r = rng.random(n)
    status = np.where(r < 0.03, 4, np.where((r < 0.06) | (answered >= until), 2, 3))
    text = pl.Series(answered.astype("datetime64[ms]")).dt.strftime(fmt)
    frame = pl.DataFrame(
        {
            "MaPhanAnh": [f"PA-{year}{month:02d}-{i:05d}" for i in range(1, n + 1)],
            "DonViXuLy": active[pick],
            "NgayTiepNhan": pl.Series(received.astype("datetime64[ms]")).dt.strftime(fmt),
            "HanXuLy": pl.Series(due.astype("datetime64[ms]")).dt.strftime(fmt),
            "NgayXuLy": pl.select(pl.when(pl.Series(status == 3)).then(text).otherwise(pl.lit(""))).to_series(),
            "TrangThai": status,
            "NoiDung": ["Phản ánh về thời gian giải quyết hồ sơ"] * n,
            "HoTen": [
                f"{FAMILY[i % len(FAMILY)]} {MIDDLE[i % len(MIDDLE)]} {GIVEN[i % len(GIVEN)]}"
                for i in rng.integers(0, 10**6, n)
            ],
            "SoDienThoai": [f"09{v:08d}" for v in rng.integers(0, 10**8, n)],
            "DiaChi": [f"Thôn {v}, xã Tân An" for v in rng.integers(1, 20, n)],
        }
    )
    path = raw_dir / "feedback" / str(year) / f"pakn_{year}_{month:02d}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_csv(path)
    files.append(path.relative_to(raw_dir).as_posix())


def write_dossier_day(
    raw_dir: Path, year: int, month: int, day: int, n: int, *, seed: int = 20161, dossier_format: str = "csv"
) -> Path:
    """One more day of `n` dossiers received on year-month-day, as a new file in that month's folder (the file a
    nightly export adds); dossier codes continue past any month's own numbering, so none collides."""
    agencies = build_agencies(seed)
    existing = [a for a in agencies if a.exists(year)]
    owned = _procedures(agencies, year >= 2025)
    catalogue = [
        (a.code, p, service_level(a, p, year), int(_unit(f"fee:{p}") < 0.4))
        for a in existing
        for p in owned.get(a.code, [])
    ]
    by_code = {a.code: a for a in existing}
    cat_agency = np.array([c[0] for c in catalogue])
    order = np.argsort(cat_agency, kind="stable")
    cat_proc = np.array([c[1] for c in catalogue])[order]
    cat_level = np.array([c[2] for c in catalogue], dtype=np.int8)[order]
    cat_fee = np.array([c[3] for c in catalogue], dtype=np.int8)[order]
    codes, starts, lengths = np.unique(cat_agency[order], return_index=True, return_counts=True)
    size = {"department": 14.0, "central": 6.0, "district": 5.0, "commune": 0.5}
    active = [c for c in codes if by_code[c].exists_in_month(year, month)]
    weight = np.array([size[by_code[c].group] * (0.5 + _unit("vol:" + c)) for c in active])
    q_active = np.array([quality(by_code[c]) for c in active])
    rng = np.random.default_rng([seed, year, month, day])
    frame = _draw_dossier_chunk(
        rng,
        year,
        month,
        12,
        min(1.0, (year - 2016) / 8),
        n,
        10**7 + day * 10**5,
        codes,
        np.searchsorted(codes, active),
        weight,
        q_active,
        starts,
        lengths,
        cat_proc,
        cat_level,
        cat_fee,
        day=day,
        sync_rng=np.random.default_rng([seed, year, month, day, SYNC_STREAM]),
    )
    path = raw_dir / "dossiers" / str(year) / f"{month:02d}" / f"hoso_{year}_{month:02d}_{day:02d}_new.{dossier_format}"
    path.parent.mkdir(parents=True, exist_ok=True)
    if dossier_format == "parquet":
        frame.write_parquet(path, compression="zstd", statistics=False)
    else:
        frame.write_csv(path)
    return path


def _draw_dossier_chunk(
    rng: np.random.Generator,
    year: int,
    month: int,
    months: int,
    progress: float,
    n: int,
    first: int,
    codes: np.ndarray,
    idx: np.ndarray,
    weight: np.ndarray,
    q_active: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    cat_proc: np.ndarray,
    cat_level: np.ndarray,
    cat_fee: np.ndarray,
    day: int | None = None,
    sync_rng: np.random.Generator | None = None,
) -> pl.DataFrame:
    """`n` dossiers of a month (or of one `day` of it), numbered from `first` + 1, drawn vectorised; the optional
    sync columns of the year come from `sync_rng`, after the other columns, so those stay as they were."""
    pick = rng.choice(len(idx), size=n, p=weight / weight.sum())
    agency_idx = idx[pick]
    q = q_active[pick]
    proc_idx = starts[agency_idx] + (rng.random(n) * lengths[agency_idx]).astype(np.int64)
    level = cat_level[proc_idx]
    online_p = np.clip((0.04 + 0.55 * progress) * (0.3 + 1.2 * q), 0, 0.95)
    online = (level >= 3) & (rng.random(n) < online_p)
    channel = np.where(online, "2", np.where(rng.random(n) < 0.03, "3", "1"))
    channel = np.where((channel == "1") & (rng.random(n) < 0.05), "", channel)
    mucdo = np.where((rng.random(n) < 0.8) & (level >= 2), level.astype(str), "")
    days = calendar.monthrange(year, month)[1]
    start = np.datetime64(f"{year}-{month:02d}-01T00:00:00", "s")
    day_index = rng.integers(0, days, n) if day is None else np.full(n, day - 1)
    received = start + (day_index * 86400 + rng.integers(7 * 3600 + 1800, 17 * 3600, n)).astype("timedelta64[s]")
    span = rng.integers(3, 16, n) * 86400
    due = received + span.astype("timedelta64[s]")
    r = rng.random(n)
    status = np.select(
        [r < 0.03, r < 0.04, r < 0.06, r < 0.07, r < 0.10, r < 0.40], [3, 1, 7, 8, 4, 9], default=10
    ).astype(np.int8)
    late_in_year = (month == months) & (received >= start + np.timedelta64((days - 10) * 86400, "s"))
    status = np.where(late_in_year & (rng.random(n) < 0.6) & np.isin(status, [9, 10]), 4, status)
    on_time = rng.random(n) < (0.80 + 0.18 * q)
    finish_offset = np.where(on_time, (span * rng.uniform(0.2, 1.0, n)), span + rng.integers(1, 12, n) * 86400).astype(
        "timedelta64[s]"
    )
    finished = received + finish_offset
    processed = np.isin(status, [9, 10])
    returned = finished + rng.integers(600, 2 * 86400, n).astype("timedelta64[s]")
    fee = np.where(cat_fee[proc_idx] == 1, rng.choice([20000, 50000, 100000, 200000, 500000], n), 0)
    accepted = ~np.isin(status, [1, 3])
    paid_online = (fee > 0) & online & accepted & (rng.random(n) < (0.1 + 0.8 * progress) * q)
    paid = np.where(paid_online, np.where(rng.random(n) < 0.5, "1", "2"), "0")
    digitised = (rng.random(n) < (0.05 + 0.7 * progress) * (0.4 + 0.6 * q)).astype(np.int8)
    applicant = np.where(rng.random(n) < 0.85, "1", "2")
    seq = np.arange(first + 1, first + n + 1)
    frame = pl.DataFrame(
        {
            "agency": codes[agency_idx],
            "seq": seq,
            "MaTTHC": cat_proc[proc_idx],
            "KenhThucHien": channel,
            "MucDo": mucdo,
            "received": received.astype("datetime64[ms]"),
            "due": due.astype("datetime64[ms]"),
            "finished": finished.astype("datetime64[ms]"),
            "returned": returned.astype("datetime64[ms]"),
            "processed": processed,
            "TrangThaiHoSo": status.astype(str),
            "LePhi": fee.astype(str),
            "DuocThanhToanTrucTuyen": paid,
            "HoSoCoThanhPhanSoHoa": digitised.astype(str),
            "LoaiDoiTuong": applicant,
            "family": rng.integers(0, len(FAMILY), n),
            "middle": rng.integers(0, len(MIDDLE), n),
            "given": rng.integers(0, len(GIVEN), n),
            "id_number": rng.integers(10**11, 10**12, n),
            "phone": rng.integers(10**8, 10**9, n),
        }
    )
    fmt = "%Y%m%d%H%M%S"
    sync = _sync_columns(sync_rng, year, q, received, span, status, finished) if sync_rng is not None else {}
    return frame.with_columns(**sync).select(
        pl.concat_str(
            [pl.col("agency"), pl.lit(f"-{year}{month:02d}-"), pl.col("seq").cast(pl.String).str.zfill(7)]
        ).alias("MaHoSo"),
        "MaTTHC",
        pl.col("agency").alias("DonViXuLy"),
        "KenhThucHien",
        "MucDo",
        pl.col("received").dt.strftime(fmt).alias("NgayTiepNhan"),
        pl.col("due").dt.strftime(fmt).alias("NgayHenTra"),
        pl.when(pl.col("processed"))
        .then(pl.col("finished").dt.strftime(fmt))
        .otherwise(pl.lit(""))
        .alias("NgayKetThucXuLy"),
        pl.when(pl.col("TrangThaiHoSo") == "10")
        .then(pl.col("returned").dt.strftime(fmt))
        .otherwise(pl.lit(""))
        .alias("NgayTra"),
        "TrangThaiHoSo",
        "LePhi",
        "DuocThanhToanTrucTuyen",
        "HoSoCoThanhPhanSoHoa",
        "LoaiDoiTuong",
        pl.concat_str(
            [
                pl.col("family").replace_strict(list(range(len(FAMILY))), FAMILY, return_dtype=pl.String),
                pl.col("middle").replace_strict(list(range(len(MIDDLE))), MIDDLE, return_dtype=pl.String),
                pl.col("given").replace_strict(list(range(len(GIVEN))), GIVEN, return_dtype=pl.String),
            ],
            separator=" ",
        ).alias("ChuHoSo"),
        pl.concat_str([pl.lit("0"), pl.col("id_number").cast(pl.String)]).alias("SoGiayTo"),
        pl.concat_str([pl.lit("09"), pl.col("phone").cast(pl.String).str.slice(0, 8)]).alias("SoDienThoai"),
        pl.concat_str([pl.lit("nguoidan"), pl.col("seq").cast(pl.String), pl.lit("@example.vn")]).alias("Email"),
        *sync,
    )


def _sync_columns(
    rng: np.random.Generator,
    year: int,
    q: np.ndarray,
    received: np.ndarray,
    span: np.ndarray,
    status: np.ndarray,
    finished_at: np.ndarray,
) -> dict[str, pl.Series]:
    """The optional sync columns the year's exports carry (SYNC_COLUMNS_FROM), as text like the other columns.

    Shares are invented but shaped on what the QĐ 766 portal reports: a few dossiers need a supplement (one in
    eight of them twice), electronic results and digitised results grow every year from 2022, the data store is
    reused rarely at first; better agencies (q) do more of each. About 3% of the cells are left empty (unknown).
    A supplement lies in the dossier's processing window (the contract's rules): a finished dossier's was asked for
    and provided by the time it was finished (the same draws, moved into the window when they fall after it)."""
    n = len(q)
    if not n or year < min(SYNC_COLUMNS_FROM.values()):
        return {}
    fmt = "%Y%m%d%H%M%S"
    since = year - 2022
    accepted = ~np.isin(status, [1, 3])
    finished = np.isin(status, [9, 10])
    asked = accepted & (rng.random(n) < 0.05 + 0.06 * (1 - q))
    into = rng.uniform(0.1, 0.6, n)
    requested = received + (span * into).astype("timedelta64[s]")
    delay = rng.integers(3600, 10 * 86400, n)
    replied = requested + delay.astype("timedelta64[s]")
    after = finished & (replied > finished_at)  # provided (perhaps requested) after the dossier was finished
    window = (finished_at - received).astype(np.int64)
    requested = np.where(after, received + (window * into / 2).astype("timedelta64[s]"), requested)
    left = (finished_at - requested).astype(np.int64)  # at least 70% of the window: the reply stays after it
    replied = np.where(after, requested + (left * (delay / (10 * 86400))).astype("timedelta64[s]"), replied)
    waiting = asked & (status == 4) & (rng.random(n) < 0.3)  # the citizen has not replied yet
    times = rng.random(n)
    count = np.where(asked, np.where(times < 0.03, 3, np.where(times < 0.125, 2, 1)), 0)

    def stamp(values: np.ndarray, present: np.ndarray) -> pl.Series:
        text = pl.Series(values.astype("datetime64[ms]")).dt.strftime(fmt)
        return pl.select(pl.when(pl.Series(present)).then(text).otherwise(pl.lit(""))).to_series()

    def flag(share: float) -> np.ndarray:
        share = min(max(share, 0.0), 0.95)
        return np.where(finished & (rng.random(n) < share * (0.5 + 0.5 * q)), "1", "0")

    unknown = rng.random((4, n)) < 0.03
    columns = {
        "NgayYeuCauBoSung": stamp(requested, asked),
        "NgayCongDanBoSung": stamp(replied, asked & ~waiting),
        "SoLanBoSung": pl.Series(np.where(unknown[0], "", count.astype(str))),
        "CoKetQuaDienTu": pl.Series(np.where(unknown[1], "", flag(0.15 + 0.2 * since))),
        "DaSoHoaKetQua": pl.Series(np.where(unknown[2], "", flag(0.08 + 0.15 * since))),
        "DuocLayTuKhoDMQG": pl.Series(np.where(unknown[3], "", flag(0.03 + 0.08 * (year - 2023)))),
    }
    # NgayDongBo (drawn last: the columns above keep their values): the first sync of the status to the national
    # portal, mostly within hours, some days late; the share synced grows, weaker agencies sync clearly less
    synced = (status != 1) & (rng.random(n) < min(0.97, 0.6 + 0.12 * since) * (0.35 + 0.65 * q))
    delay = np.where(rng.random(n) < 0.85, rng.integers(300, 6 * 3600, n), rng.integers(86400, 20 * 86400, n))
    columns["NgayDongBo"] = stamp(received + delay.astype("timedelta64[s]"), synced)
    return {name: col for name, col in columns.items() if year >= SYNC_COLUMNS_FROM[name]}


class _MonthFaults:
    """A realistic sprinkle per month: re-sent rows, an unknown agency, an impossible date, a due date before
    reception. Rows are picked among the month's first rows (its first chunk); re-sent rows go at its end."""

    def __init__(self, year: int, month: int, n: int, fault: Callable) -> None:
        self.year, self.month, self.active, self.fault = year, month, n >= 10, fault
        self.resent: pl.DataFrame | None = None

    def apply(self, frame: pl.DataFrame, *, first: bool, last: bool) -> pl.DataFrame:
        if not self.active:
            return frame
        if first:
            frame = _inject_dossier_faults(frame, self.year, self.month, self.fault)
            if self.month == 3:
                self.resent = frame.slice(1, 2)
                self.fault("dossiers", "duplicate_MaHoSo", 2)
        if last and self.resent is not None:
            frame = pl.concat([frame, self.resent])
        return frame


def _inject_dossier_faults(frame: pl.DataFrame, year: int, month: int, fault: Callable) -> pl.DataFrame:
    """Faults within a month's first rows: an unknown agency, an impossible date, a due date before reception."""
    if frame.height < 10:
        return frame
    if month == 5:
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 3)
            .then(pl.lit("XXX-UNKNOWN"))
            .otherwise(pl.col("DonViXuLy"))
            .alias("DonViXuLy")
        )
        fault("dossiers", "unknown_agency")
    if month == 2:
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 4)
            .then(pl.lit(f"{year}0231093000"))
            .otherwise(pl.col("NgayTiepNhan"))
            .alias("NgayTiepNhan")
        )
        fault("dossiers", "impossible_date")
    if month == 6:
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 5)
            .then(pl.lit(f"{year}0101080000"))
            .otherwise(pl.col("NgayHenTra"))
            .alias("NgayHenTra")
        )
        fault("dossiers", "due_before_received")
    return frame


def _write_one_stop(raw_dir: Path, year: int, months: int, existing: list[Agency], seed: int, files: list[str]) -> None:
    if months == 0:
        return
    rng = np.random.default_rng([seed, year, 99])
    rows = []
    for a in existing:
        if a.group == "central":
            continue
        q = quality(a)
        uses = (
            a.group == "department"
            or (a.group == "district" and a.code not in ("H07", "H13"))
            or (a.group == "commune" and q > 0.6)
        )
        for month in range(1, months + 1):
            if not a.exists_in_month(year, month):
                continue
            total = int(rng.integers(20, 400 if a.group != "commune" else 80))
            in_software = int(total * min(1.0, 0.5 + 0.5 * q)) if uses else 0
            rows.append([year, month, a.code, int(uses), in_software, total])
    path = raw_dir / "one_stop" / str(year) / f"one_stop_{year}.csv"
    _write_csv(path, ["year", "month", "agency_code", "uses_software", "dossiers_in_software", "dossiers_total"], rows)
    files.append(path.relative_to(raw_dir).as_posix())


def _write_returns(
    raw_dir: Path, year: int, existing: list[Agency], seed: int, fault: Callable, files: list[str]
) -> None:
    """Annual infrastructure and capacity returns of the agencies evaluated that year (~5% never send one)."""
    rng = np.random.default_rng([seed, year, 7])
    progress = min(1.0, (year - 2016) / 8)
    staff_range = {"department": (20, 300), "district": (80, 200), "commune": (15, 30), "central": (50, 300)}
    infra, capacity = [], []
    comma = year in (2020, 2024)
    for a in existing:
        if not a.evaluated(year):
            continue
        q = quality(a)
        send_infra, send_capacity = rng.random() > 0.05, rng.random() > 0.05
        staff = int(rng.integers(*staff_range[a.group]))
        per_staff = (0.43 + 0.5 * progress) * (0.6 + 0.5 * q) if a.group == "commune" else 0.8 + 0.3 * q
        computers = max(1, int(staff * per_staff))
        internet = int(computers * min(1.0, 0.75 + 0.3 * q))
        flags = [
            int(rng.random() < p)
            for p in (
                0.5 + 0.5 * q,
                q,
                0.6 + 0.4 * q,
                0.3 + 0.7 * q,
                q * progress + 0.1,
                0.4 + 0.6 * q,
                0.2 + 0.8 * q * progress,
            )
        ]
        bandwidth = round(float(rng.uniform(10, 200)), 1)
        if send_infra:
            infra.append(
                [
                    year,
                    a.code,
                    staff,
                    computers,
                    internet,
                    flags[0],
                    str(bandwidth).replace(".", ",") if comma else bandwidth,
                    flags[1],
                    flags[2],
                    flags[3],
                    flags[4],
                    flags[5],
                    flags[6],
                ]
            )
        docs = int(rng.integers(500, 20000))
        electronic = int(docs * min(0.99, (0.3 + 0.6 * progress) * (0.5 + 0.6 * q)))
        it_staff = int(rng.integers(0 if q < 0.5 else 1, 4))
        if send_capacity:
            capacity.append(
                [
                    year,
                    a.code,
                    docs,
                    electronic,
                    int(electronic * min(1.0, (0.2 + 0.8 * progress) * q)),
                    int(staff * min(1.0, 0.6 + 0.4 * q)),
                    it_staff,
                    int(it_staff * q),
                    int(staff * min(1.0, 0.3 + 0.6 * q)),
                    int(rng.random() < 0.4 + 0.6 * q),
                    int(rng.random() < 0.3 + 0.7 * q),
                    int(rng.random() < 0.5 + 0.5 * q) * 50_000_000,
                ]
            )
    if year == 2021:
        capacity.append([year, "XXX-UNKNOWN", 100, 50, 10, 10, 1, 0, 5, 1, 1, 0])
        fault("capacity", "unknown_agency")
    odd = year % 2 == 1
    infra_header = [
        "year",
        "agency_code",
        "staff_count",
        "computers",
        "computers_internet",
        "has_lan",
        "bandwidth_mbps",
        "has_firewall",
        "has_antivirus",
        "has_backup",
        "security_assessed",
        "offline_computer_secret",
        "has_website",
    ]
    capacity_header = [
        "year",
        "agency_code",
        "docs_sent_total",
        "docs_sent_electronic",
        "docs_signed_digital",
        "staff_with_email",
        "it_staff",
        "it_staff_security_trained",
        "staff_it_trained",
        "has_it_plan",
        "has_it_regulation",
        "it_budget_vnd",
    ]
    for source, header, rows, title in (
        ("infrastructure", infra_header, infra, f"BÁO CÁO HẠ TẦNG KỸ THUẬT NĂM {year}"),
        ("capacity", capacity_header, capacity, f"BÁO CÁO ỨNG DỤNG CNTT NĂM {year}"),
    ):
        path = _write_table(raw_dir / source / str(year) / f"{source}_{year}", header, rows, odd, title)
        files.append(path.relative_to(raw_dir).as_posix())
    departments = [a for a in existing if a.group == "department" and a.evaluated(year)]
    chosen = rng.choice(len(departments), size=min(6, len(departments)), replace=False)
    assessments = [[year, departments[i].code, "security_assessed", int(rng.random() < 0.7)] for i in sorted(chosen)]
    path = raw_dir / "assessments" / str(year) / f"assessments_{year}.csv"
    _write_csv(path, ["year", "agency_code", "indicator_code", "value"], assessments)
    files.append(path.relative_to(raw_dir).as_posix())
