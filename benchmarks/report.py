"""Formatting: one table per experiment."""
from __future__ import annotations


def fmt_s(s: dict) -> str:
    def one(v):
        if v >= 1:
            return f"{v:.3g} s"
        if v >= 1e-3:
            return f"{v * 1e3:.3g} ms"
        return f"{v * 1e6:.3g} us"

    return f"{one(s['median'])} [{one(s['min'])}..{one(s['max'])}]"


def fmt_x(s: dict) -> str:
    return f"{s['median']:.3g}x [{s['min']:.3g}..{s['max']:.3g}]"


def fmt_v(s: dict, unit: str = "", digits: int = 3) -> str:
    return f"{s['median']:.{digits}g}{unit} [{s['min']:.{digits}g}..{s['max']:.{digits}g}]"


def render(title: str, head: list[str], body: list[list[str]], note: str = "") -> str:
    widths = [max(len(str(h)), *(len(str(r[i])) for r in body)) if body else len(h) for i, h in enumerate(head)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    out = [f"\n## {title}", "", line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in body]
    if note:
        out += ["", note]
    return "\n".join(out)
