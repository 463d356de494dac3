"""How figures read in Vietnamese documents: 1.234.567 and 93,50 (dot groups thousands, comma marks decimals)."""

from __future__ import annotations


def vn_int(n: int | float) -> str:
    return f"{round(n):,}".replace(",", ".")


def vn_number(x: float | None, decimals: int | None = 2, *, empty: str = "–") -> str:
    """93.5 → '93,50'; 1234.5 → '1.234,50'; decimals=None: as short as exact (89,5; 18); None → '–'."""
    if x is None:
        return empty
    text = f"{x:,.{decimals}f}" if decimals is not None else f"{x:,.6f}".rstrip("0").rstrip(".")
    return text.replace(",", "\u0000").replace(".", ",").replace("\u0000", ".")


def vn_pct(share: float | None, decimals: int = 1, *, empty: str = "–") -> str:
    """0.2093 → '20,9%'; below 0,1% two decimals, below 0,01% '< 0,01%': a tiny share never reads as 0."""
    if share is None:
        return empty
    pct = share * 100
    if 0 < pct < 0.01:
        return "< 0,01%"
    return vn_number(pct, 2 if 0 < pct < 0.1 else decimals) + "%"


def rank_change_text(prev_rank: int | None, rank: int) -> str:
    """The change against last year as in published rankings: ↑3 (up 3 places), ↓2, – (same), mới (no rank)."""
    if prev_rank is None:
        return "mới"
    change = prev_rank - rank
    return f"↑{change}" if change > 0 else f"↓{-change}" if change < 0 else "–"
