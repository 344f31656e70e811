"""The report's inline SVG plots: headroom and error per family as small multiples (the pass line
marked), gradient norms per layer of networks. Drawing only: the numbers come from the summary.

Colours are the Okabe-Ito palette (safe for colour-blind readers) and never the only cue: every row is
labelled with its oracle or dtype, network sources have distinct shapes, failing bars sit left of a
labelled pass line. Data marks carry class "mark" (the browser test counts them).
"""
from __future__ import annotations

import math

from .families import ERROR_AXIS, HEADROOM_AXIS, bins
from .formatting import esc, fmt

#: Okabe-Ito colours per source; reference black.
COLORS = {"torch": "#E69F00", "jax": "#0072B2", "numerical": "#009E73", "reference": "#000000"}
FAIL = "#D55E00"  # vermillion: failing bars (left of the pass line anyway)
WIDTH = 380       # every small multiple has this width: three fit side by side in 1200 px


def _svg(height: float, label: str, body: list[str]) -> str:
    return (f'<svg role="img" aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
            f'height="{height:.0f}" viewBox="0 0 {WIDTH} {height:.0f}">' + "".join(body) + "</svg>")


def _text(x: float, y: float, s: str, size: int = 10, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}"{extra}>{esc(s)}</text>'


def _decade(t: float) -> str:
    return {-2: "0.01", -1: "0.1", 0: "1", 1: "10", 2: "100"}.get(int(t), f"1e{int(t)}")


def headroom_panel(fam: dict) -> str:
    """One family's headroom: per oracle a histogram of log10(headroom) over its comparisons (bar height
    ~ sqrt(count), the same scale in every row), the pass line at 1, the fail zone left of it shaded,
    "exact" (no error at all) in its own slot at the right."""
    lo, hi, step = HEADROOM_AXIS
    rows = list(fam["headroom"].items())
    left, top, rh = 70, 26, 24
    pw = WIDTH - left - 10
    slots = bins(HEADROOM_AXIS) + 1  # one empty slot separates "exact" from the axis
    bw = pw / slots
    height = top + rh * len(rows) + 30
    peak = max((c for _, counts in rows for c in counts), default=1) or 1
    xpass = left + (0 - lo) / step * bw
    body = [_text(4, 14, fam["family"], 12, extra=' font-weight="bold"'),
            f'<rect x="{left}" y="{top - 4}" width="{xpass - left:.1f}" height="{rh * len(rows) + 4}" fill="#eeeeee"/>',
            _text(left + 2, top - 7, "fails", 9, extra=' fill="#555"')]
    for i, (oracle, counts) in enumerate(rows):
        y0 = top + rh * (i + 1) - 2
        body.append(_text(left - 6, y0 - 4, oracle, 10, "end"))
        body.append(f'<line x1="{left}" y1="{y0}" x2="{left + pw}" y2="{y0}" stroke="#bbb"/>')
        failed = fam.get("failed_bins", {}).get(oracle) or [0] * len(counts)
        for k, c in enumerate(counts):
            if not c:
                continue
            x = left + (k if k < len(counts) - 1 else k + 1) * bw
            h = max(2.0, (rh - 4) * math.sqrt(c / peak))
            if failed[k]:  # however few, a failure is drawn tall and counted in words
                h = max(h, rh - 8)
                body.append(_text(x + bw + 2, y0 - 3, f"{failed[k]} failed", 9, extra=f' fill="{FAIL}" font-weight="bold"'))
            color = FAIL if failed[k] else COLORS.get(oracle, "#555")
            body.append(f'<rect class="mark" x="{x + 0.5:.1f}" y="{y0 - h:.1f}" width="{bw - 1:.1f}" height="{h:.1f}" '
                        f'fill="{color}"><title>{esc(oracle)}: {c} comparison(s)</title></rect>')
    body.append(f'<line x1="{xpass:.1f}" y1="{top - 14}" x2="{xpass:.1f}" y2="{top + rh * len(rows) + 3}" stroke="#000" stroke-width="1.5"/>')
    body.append(_text(xpass + 3, top - 7, "pass line: headroom 1", 9))
    yaxis = top + rh * len(rows) + 14
    for t in range(int(lo), int(hi), 2):
        body.append(_text(left + (t - lo) / step * bw, yaxis, _decade(t), 9, "middle"))
    body.append(_text(left + (slots - 0.5) * bw, yaxis, "exact", 9, "middle"))
    body.append(_text(left + pw / 2, yaxis + 12, "headroom (tolerance / error, log scale)", 9, "middle", ' fill="#555"'))
    return _svg(height, f"headroom of {fam['family']}", body)


def error_panel(fam: dict) -> str:
    """One family's errors: per (dtype, oracle) a histogram of log10(max |reference - oracle|), with the
    smallest atol in force dashed and the range up to the largest (float32 budget) shaded."""
    lo, hi, step = ERROR_AXIS
    rows = list(fam["error"].items())
    left, top, rh = 104, 22, 15
    pw = WIDTH - left - 10
    slots = bins(ERROR_AXIS) + 1  # slot 0 is "exact 0", then a gap, then the axis
    bw = pw / slots
    height = top + rh * len(rows) + 30
    peak = max((c for _, counts in rows for c in counts), default=1) or 1

    def xv(v: float) -> float:
        return left + (2 + (min(max(math.log10(v), lo), hi) - lo) / step) * bw

    body = [_text(4, 14, fam["family"], 12, extra=' font-weight="bold"')]
    for i, (key, counts) in enumerate(rows):
        y0 = top + rh * (i + 1) - 2
        dtype, oracle = key.split(" ", 1)
        body.append(_text(left - 6, y0 - 3, f"{dtype.replace('float', 'f')} {oracle}", 10, "end"))
        body.append(f'<line x1="{left}" y1="{y0}" x2="{left + pw}" y2="{y0}" stroke="#bbb"/>')
        a_lo, a_hi = (fam.get("atol") or {}).get(key, [math.inf, 0.0])
        if math.isfinite(a_lo) and a_lo > 0:
            body.append(f'<rect x="{xv(a_lo):.1f}" y="{y0 - rh + 3}" width="{max(xv(a_hi) - xv(a_lo), 0):.1f}" height="{rh - 3}" fill="#dddddd"/>')
            body.append(f'<line x1="{xv(a_lo):.1f}" y1="{y0 - rh + 2}" x2="{xv(a_lo):.1f}" y2="{y0 + 1}" stroke="#000" '
                        f'stroke-dasharray="3,2"><title>atol {fmt(a_lo)} to {fmt(a_hi)}</title></line>')
        for k, c in enumerate(counts):
            if c:
                x = left + (k if k == 0 else k + 1) * bw
                h = max(2.0, (rh - 4) * math.sqrt(c / peak))
                body.append(f'<rect class="mark" x="{x + 0.5:.1f}" y="{y0 - h:.1f}" width="{bw - 1:.1f}" height="{h:.1f}" '
                            f'fill="{COLORS.get(oracle, "#555")}"><title>{esc(key)}: {c}</title></rect>')
    yaxis = top + rh * len(rows) + 14
    body.append(_text(left + 0.5 * bw, yaxis, "0", 9, "middle"))
    for t in range(int(lo) + 2, int(hi) + 1, 4):
        body.append(_text(left + (2 + (t - lo) / step) * bw, yaxis, _decade(t), 9, "middle"))
    body.append(_text(left + pw / 2, yaxis + 12, "max |reference - oracle| (log scale); dashed: atol", 9, "middle", ' fill="#555"'))
    return _svg(height, f"errors of {fam['family']}", body)


def _marker(src: str, x: float, y: float) -> str:
    """reference: hollow circle; torch: cross; jax: filled square (shape, not only colour)."""
    c = COLORS.get(src, "#555")
    if src == "reference":
        return f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="none" stroke="{c}" stroke-width="1.5"/>'
    if src == "torch":
        return (f'<path class="mark" d="M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}M{x - 5:.1f},{y + 5:.1f}L{x + 5:.1f},{y - 5:.1f}" '
                f'stroke="{c}" stroke-width="2.5"/>')
    return f'<rect class="mark" x="{x - 2.5:.1f}" y="{y - 2.5:.1f}" width="5" height="5" fill="{c}"/>'


def legend_html() -> str:
    """The network plots' legend, as HTML (shared by all of them)."""
    items = [("reference", "reference (hollow circle)"), ("torch", "PyTorch (cross)"), ("jax", "JAX (square)")]
    icons = {s: _marker(s, 0, 0).replace(' class="mark"', "") for s, _ in items}
    return "<p class='legend'>" + " ".join(
        f"<span><svg width='12' height='12' viewBox='-6 -6 12 12' aria-hidden='true'>{icons[s]}</svg> {esc(t)}</span>"
        for s, t in items) + "</p>"


def network_panel(net: dict) -> str:
    """One network: a row per layer (input at the top), x = log10 of its parameter gradient's norm; the
    reference joined by a line so the trend (vanishing towards the input) shows at a glance."""
    layers = net["layers"]
    vals = [v for lay in layers for v in lay["norms"].values() if v > 0]
    lo = math.floor(math.log10(min(vals))) if vals else -1
    hi = math.ceil(math.log10(max(vals))) if vals else 1
    hi = hi if hi > lo else lo + 1
    left, top, rh = 170, 10, 14
    pw = WIDTH - left - 14
    height = top + rh * len(layers) + 32

    def xv(v: float) -> float:
        return left + (math.log10(v) - lo) / (hi - lo) * pw

    body, line = [], []
    for i, lay in enumerate(layers):
        y = top + rh * i + rh / 2
        name = lay["name"] if len(lay["name"]) <= 27 else lay["name"][:15] + "\u2026" + lay["name"][-11:]
        body.append(f'<g><title>{esc(lay["name"])}</title>' + _text(left - 8, y + 3.5, name, 10, "end") + "</g>")
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#eee"/>')
        for src in ("reference", "torch", "jax"):
            v = lay["norms"].get(src)
            if v and v > 0:
                body.append(_marker(src, xv(v), y))
                if src == "reference":
                    line.append(f"{xv(v):.1f},{y:.1f}")
    body.insert(0, f'<polyline class="mark" points="{" ".join(line)}" fill="none" stroke="#999" stroke-width="1"/>' if line else "")
    yaxis = top + rh * len(layers) + 12
    step = max(1, (hi - lo + 5) // 6)
    for t in range(lo, hi + 1, step):
        body.append(_text(left + (t - lo) / (hi - lo) * pw, yaxis, _decade(t), 9, "middle"))
    body.append(_text(left + pw / 2, yaxis + 12, "gradient norm ||dW|| (log scale)", 9, "middle", ' fill="#555"'))
    return _svg(height, f"gradient norms of {net['name']}", body)
