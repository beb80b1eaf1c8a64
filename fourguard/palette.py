"""One colour scale for risk everywhere (map, tables, charts, wall): green, yellow, orange, red."""
from __future__ import annotations

LEVELS = ("低", "中", "较高", "高")                     # risk level names users read
COLORS = {"低": "#2e7d32", "中": "#f9a825", "较高": "#ef6c00", "高": "#c62828"}
RGB = {k: tuple(int(v[i:i + 2], 16) for i in (1, 3, 5)) for k, v in COLORS.items()}
NEUTRAL = "#607d8b"            # series that carry no risk meaning
TARGET = "#455a64"             # target / baseline lines (70 %, pre-emergency)
SEQUENCE = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#9e9d24"]
STATUS_COLORS = {"正常生产": "#2e7d32", "闭环生产": "#1565c0", "部分停产": "#ef6c00", "停产": "#c62828"}


def level_of(score: float, bounds: tuple = (25, 50, 75)) -> str:
    """Risk level name for a 0–100 score."""
    for name, bound in zip(LEVELS, bounds):
        if score < bound:
            return name
    return LEVELS[-1]
