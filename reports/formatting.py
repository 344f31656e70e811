"""Number formatting shared by report.md and report.html (two significant digits, "-" for none)."""
from __future__ import annotations

import math


def fmt(x: float | None) -> str:
    """`x` to two significant digits; "inf" for infinity, "-" for None."""
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.2g}"
