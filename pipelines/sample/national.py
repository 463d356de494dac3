"""The SYNTHETIC national sample: 63 provinces until 30 June 2025, 34 after the merger (Nghị quyết 202/2025/QH15),
each province folder written by the provincial sample generator with its own size, maturity and seed.

A province that absorbed others keeps its code; an absorbed province's folder holds its records until the merger
(its last year is 2025, through June), and the national registry gives it `successor_code`, so the 2025 rank change of
the merged province is measured against the best of its predecessors' 2024 ranks (docs/domain.md §5)."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipelines.core import settings
from pipelines.sample.synthetic import DOSSIERS_PER_YEAR, generate_sample_province

MERGER_END, MERGER_START = date(2025, 6, 30), date(2025, 7, 1)
# The 34 provinces since 1 July 2025: (code, name, size, absorbed provinces as (code, name, size)). Size: dossiers a
# year relative to the sample province (300,000 a year at scale 1); big cities ~10x, mountainous provinces ~0.2x.
PROVINCES: list[tuple[str, str, float, list[tuple[str, str, float]]]] = [
    ("HNI", "Thành phố Hà Nội", 8.0, []),
    ("HUE", "Thành phố Huế", 1.0, []),
    ("LCU", "Tỉnh Lai Châu", 0.2, []),
    ("DBN", "Tỉnh Điện Biên", 0.2, []),
    ("SLA", "Tỉnh Sơn La", 0.4, []),
    ("LSN", "Tỉnh Lạng Sơn", 0.3, []),
    ("QNH", "Tỉnh Quảng Ninh", 1.2, []),
    ("THA", "Tỉnh Thanh Hóa", 1.5, []),
    ("NAN", "Tỉnh Nghệ An", 1.3, []),
    ("HTH", "Tỉnh Hà Tĩnh", 0.6, []),
    ("CBG", "Tỉnh Cao Bằng", 0.2, []),
    ("TQG", "Tỉnh Tuyên Quang", 0.3, [("HGG", "Tỉnh Hà Giang", 0.2)]),
    ("LCI", "Tỉnh Lào Cai", 0.4, [("YBI", "Tỉnh Yên Bái", 0.3)]),
    ("TNN", "Tỉnh Thái Nguyên", 0.8, [("BKN", "Tỉnh Bắc Kạn", 0.15)]),
    ("PTO", "Tỉnh Phú Thọ", 0.6, [("VPC", "Tỉnh Vĩnh Phúc", 0.7), ("HBH", "Tỉnh Hòa Bình", 0.3)]),
    ("BNH", "Tỉnh Bắc Ninh", 1.2, [("BGG", "Tỉnh Bắc Giang", 0.9)]),
    ("HYN", "Tỉnh Hưng Yên", 0.6, [("TBH", "Tỉnh Thái Bình", 0.6)]),
    ("HPG", "Thành phố Hải Phòng", 2.0, [("HDG", "Tỉnh Hải Dương", 0.9)]),
    ("NBH", "Tỉnh Ninh Bình", 0.5, [("HNM", "Tỉnh Hà Nam", 0.4), ("NDH", "Tỉnh Nam Định", 0.7)]),
    ("QTI", "Tỉnh Quảng Trị", 0.3, [("QBH", "Tỉnh Quảng Bình", 0.4)]),
    ("DNG", "Thành phố Đà Nẵng", 2.0, [("QNM", "Tỉnh Quảng Nam", 0.8)]),
    ("QNI", "Tỉnh Quảng Ngãi", 0.6, [("KTM", "Tỉnh Kon Tum", 0.2)]),
    ("GLI", "Tỉnh Gia Lai", 0.6, [("BDH", "Tỉnh Bình Định", 0.8)]),
    ("KHA", "Tỉnh Khánh Hòa", 0.9, [("NTN", "Tỉnh Ninh Thuận", 0.3)]),
    ("LDG", "Tỉnh Lâm Đồng", 0.6, [("DKN", "Tỉnh Đắk Nông", 0.2), ("BTN", "Tỉnh Bình Thuận", 0.6)]),
    ("DLK", "Tỉnh Đắk Lắk", 0.8, [("PYN", "Tỉnh Phú Yên", 0.4)]),
    ("HCM", "Thành phố Hồ Chí Minh", 9.0, [("BDG", "Tỉnh Bình Dương", 2.5), ("BRV", "Tỉnh Bà Rịa - Vũng Tàu", 1.0)]),
    ("DNI", "Tỉnh Đồng Nai", 2.0, [("BPC", "Tỉnh Bình Phước", 0.4)]),
    ("TNH", "Tỉnh Tây Ninh", 0.5, [("LAN", "Tỉnh Long An", 0.9)]),
    ("CTO", "Thành phố Cần Thơ", 1.0, [("STG", "Tỉnh Sóc Trăng", 0.5), ("HGI", "Tỉnh Hậu Giang", 0.3)]),
    ("VLG", "Tỉnh Vĩnh Long", 0.5, [("BTE", "Tỉnh Bến Tre", 0.6), ("TVH", "Tỉnh Trà Vinh", 0.4)]),
    ("DTP", "Tỉnh Đồng Tháp", 0.7, [("TGG", "Tỉnh Tiền Giang", 0.8)]),
    ("CMU", "Tỉnh Cà Mau", 0.5, [("BLU", "Tỉnh Bạc Liêu", 0.4)]),
    ("AGG", "Tỉnh An Giang", 0.9, [("KGG", "Tỉnh Kiên Giang", 0.8)]),
]
# `egov demo --national` without --all: six provinces, three of them merged in 2025 (Tuyên Quang absorbed Hà Giang).
DEMO = ("HNI", "HCM", "TQG", "DNG", "LCU", "DBN")
REGISTRY_HEADER = [
    "agency_code",
    "agency_name",
    "agency_group",
    "parent_code",
    "valid_from",
    "valid_to",
    "successor_code",
]


def maturity(code: str) -> float:
    """A province's lead (+) or lag (−) in IT, −0.25..+0.25, stable per code; big cities lead a little more."""
    return round(int(hashlib.sha256(f"maturity:{code}".encode()).hexdigest()[:8], 16) / 16**8 * 0.5 - 0.25, 3)


def national_units() -> list[tuple[str, str, float, str | None]]:
    """Every province of the sample: (code, name, size, successor) — the 34, then the 29 absorbed ones."""
    units = [(code, name, size, None) for code, name, size, _ in PROVINCES]
    units += [(old, name, size, code) for code, _, _, absorbed in PROVINCES for old, name, size in absorbed]
    return units


def generate_national_sample(
    base: Path,
    *,
    scale: float = 1.0,
    seed: int = 20161,
    first_year: int = 2024,
    last_year: int = 2025,
    through: date = date(2025, 12, 31),
    provinces: tuple[str, ...] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write the national registry and a provincial sample per province under `base` (a national data directory).

    `scale` multiplies every province's size (1.0: ~18M dossiers a year in all; 0.56: ~10M); `provinces` keeps the
    given ones of the 34 (and the provinces they absorbed), for a quick demo."""
    say = progress or (lambda _msg: None)
    kept = {code for code, *_ in PROVINCES if provinces is None or code in provinces}
    units = [u for u in national_units() if (u[3] or u[0]) in kept]
    registry = base / "raw" / "agencies" / "tinh_thanh_pho.csv"
    registry.parent.mkdir(parents=True, exist_ok=True)
    with registry.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(REGISTRY_HEADER)
        for code, name, _, successor in units:
            writer.writerow(
                [code, name, "province", "", "2016-01-01", MERGER_END.isoformat() if successor else "", successor or ""]
            )
    dossiers: dict[str, int] = {}
    for number, (code, name, size, successor) in enumerate(units):
        folder = settings.provinces_dir(base) / code
        last = min(last_year, 2025) if successor else last_year
        manifest = generate_sample_province(
            folder / "raw",
            seed=seed + number,
            scale=scale * size,
            first_year=first_year,
            last_year=last,
            through=MERGER_END if successor and last == 2025 else through,
            maturity=maturity(code),
            province=name,
        )
        dossiers[code] = sum(manifest["dossiers_per_year"].values())
        say(
            f"  {code} {name}: {dossiers[code]:,} dossiers"
            + (f" (merged into {successor} on 1/7/2025)" if successor else "")
        )
    return {
        "provinces": len(units),
        "current": len(kept),
        "dossiers": dossiers,
        "dossiers_per_year_at_scale_1": int(sum(size for _, _, size, _ in units) * DOSSIERS_PER_YEAR),
    }
