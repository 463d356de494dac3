"""How figures read in Vietnamese documents: 1.234.567 and 93,50 (dot groups thousands, comma marks decimals)."""

from __future__ import annotations

CLASS_ORDER = ("Tốt", "Khá", "Trung bình", "Yếu")
CLASS_COLOURS = {"Tốt": "#1b7837", "Khá": "#2166ac", "Trung bình": "#e08214", "Yếu": "#b2182b"}


def vn_int(n: int | float) -> str:
    return f"{round(n):,}".replace(",", ".")


def vn_number(x: float | None, decimals: int = 2, *, empty: str = "–") -> str:
    """93.5 → '93,50'; 1234.5 → '1.234,50'; None → '–'."""
    if x is None:
        return empty
    text = f"{x:,.{decimals}f}"
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")


def vn_pct(share: float | None, decimals: int = 1, *, empty: str = "–") -> str:
    """0.2093 → '20,9%'; below 0,1% two decimals, so a tiny share never reads as 0."""
    if share is None:
        return empty
    pct = share * 100
    return vn_number(pct, 2 if 0 < pct < 0.1 else decimals) + "%"


def rank_change_text(change: int | None, prev_rank: int | None) -> str:
    """The change against last year as in published rankings: ↑3, ↓2, – (same), mới (not ranked last year)."""
    if prev_rank is None:
        return "mới"
    if change is None or change == 0:
        return "–"
    return f"↑{change}" if change > 0 else f"↓{-change}"
