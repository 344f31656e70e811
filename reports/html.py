"""report.html: one self-contained page (inline SVG plots, inline CSS, no scripts, no external assets).

Every string that comes from records (layer names, notes, repro snippets) goes through `esc`, so a layer
named `<script>` shows as text.
"""
from __future__ import annotations

import math
from collections import defaultdict
from html import escape

from .aggregate import AGENTS, is_difference, outcome_of, overall, table_grid
from .formatting import fmt

ORACLE_COLORS = {"torch": "#d9480f", "jax": "#1971c2", "numerical": "#2f9e44"}
LOG_LO, LOG_HI = -18.0, 2.0  # x axis of the error plots: log10 of max |ref - oracle|


def esc(x) -> str:
    """`x` as HTML text, quotes escaped too (safe inside attributes)."""
    return escape(str(x), quote=True)


def _x(value: float, width: float, lo: float = LOG_LO, hi: float = LOG_HI) -> float:
    """log10 position of a non-negative value on [lo, hi]; exact zeros sit at the left edge."""
    v = lo if value <= 0 else min(max(math.log10(value), lo), hi) if math.isfinite(value) else hi
    return (v - lo) / (hi - lo) * width


def _axis(width: float, top: float, left: float, lo: float, hi: float, step: int, label) -> list[str]:
    out = []
    for t in range(int(lo), int(hi) + 1, step):
        x = left + (t - lo) / (hi - lo) * width
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + 4}" stroke="#555"/>')
        out.append(f'<text x="{x:.1f}" y="{top + 15}" font-size="10" text-anchor="middle">{esc(label(t))}</text>')
    return out


def error_strips(rows: list[dict], max_dots: int = 120) -> str:
    """Per (layer, dtype): every comparison's max |ref - oracle| as a dot on a log scale, per oracle
    colour, with the tolerance (atol) of the row marked. Rows are subsampled evenly to max_dots dots."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if not is_difference(r):
            groups[(r["layer"], r["dtype"])].append(r)
    keys = sorted(groups)
    left, width, rh = 230, 560, 16
    height = 30 + rh * len(keys) + 24
    parts = [f'<svg role="img" aria-label="error distributions" xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{height}">']
    for i, key in enumerate(keys):
        y = 20 + i * rh
        rs = groups[key]
        parts.append(f'<text x="{left - 6}" y="{y + 11}" font-size="11" text-anchor="end">{esc(key[0])} [{esc(key[1])}]</text>')
        parts.append(f'<line x1="{left}" y1="{y + 8}" x2="{left + width}" y2="{y + 8}" stroke="#eee"/>')
        atol = min(r["atol"] for r in rs)
        xa = left + _x(atol, width)
        parts.append(f'<line x1="{xa:.1f}" y1="{y + 1}" x2="{xa:.1f}" y2="{y + 15}" stroke="#000" stroke-dasharray="2,2"><title>atol {atol:g}</title></line>')
        stride = max(1, len(rs) // max_dots)
        for j, r in enumerate(rs[::stride]):
            x = left + _x(r["max_abs"], width)
            jitter = (j * 7 % 9) - 4
            color = ORACLE_COLORS.get(r["oracle"], "#888")
            fill = "none" if outcome_of(r) == "fail" else color
            parts.append(f'<circle cx="{x:.1f}" cy="{y + 8 + jitter * 0.8:.1f}" r="2.2" fill="{fill}" stroke="{color}" fill-opacity="0.55">'
                         f'<title>{esc(r["oracle"])} {esc(r["stage"])}: {r["max_abs"]:.3g}</title></circle>')
    parts += _axis(width, 20 + rh * len(keys), left, LOG_LO, LOG_HI, 2, lambda t: f"1e{t}")
    parts.append(_legend(left, 10))
    parts.append("</svg>")
    return "".join(parts)


def _legend(x: float, y: float) -> str:
    out = []
    for i, (o, c) in enumerate(ORACLE_COLORS.items()):
        out.append(f'<circle cx="{x + i * 90 + 4}" cy="{y - 4}" r="4" fill="{c}"/><text x="{x + i * 90 + 12}" y="{y}" font-size="11">{o}</text>')
    return "".join(out)


def headroom_chart(summary: dict) -> str:
    """Smallest headroom (tolerance / error) per (layer, dtype, oracle) as log-scale bars; the line at 1
    is the pass mark, bars reaching the right edge saw no error at all."""
    rows = summary["rows"]
    left, width, bh = 300, 480, 10
    lo, hi = -2.0, 12.0
    height = 20 + bh * len(rows) + 30
    parts = [f'<svg role="img" aria-label="headroom" xmlns="http://www.w3.org/2000/svg" width="{left + width + 20}" height="{height}">']
    for i, r in enumerate(rows):
        y = 10 + i * bh
        h = r["min_headroom"]
        h = 0.0 if math.isnan(h) else h
        w = _x(h if h > 0 else 1e-300, width, lo, hi) if math.isfinite(h) else width
        color = ORACLE_COLORS.get(r["oracle"], "#888") if not r["failed"] else "#e03131"
        parts.append(f'<text x="{left - 6}" y="{y + 8}" font-size="9" text-anchor="end">{esc(r["layer"])} [{esc(r["dtype"])}] {esc(r["oracle"])}</text>')
        parts.append(f'<rect x="{left}" y="{y + 1}" width="{max(w, 1):.1f}" height="{bh - 2}" fill="{color}"><title>headroom {fmt(h)}</title></rect>')
    x1 = left + _x(1.0, width, lo, hi)
    parts.append(f'<line x1="{x1:.1f}" y1="5" x2="{x1:.1f}" y2="{10 + bh * len(rows)}" stroke="#000"/>')
    parts += _axis(width, 10 + bh * len(rows), left, lo, hi, 2, lambda t: f"1e{t}")
    parts.append("</svg>")
    return "".join(parts)


def agreement_tables(summary: dict) -> str:
    """Per dtype, worst |a - b| between reference, torch, JAX and numerical, coloured by magnitude."""
    out = []
    for dtype, m in sorted(summary.get("agreement", {}).items()):
        out.append(f"<h3>{esc(dtype)}</h3><table class='matrix'><tr><th></th>" + "".join(f"<th>{a}</th>" for a in AGENTS) + "</tr>")
        for a in AGENTS:
            cells = []
            for b in AGENTS:
                v = m.get(f"{a}|{b}", m.get(f"{b}|{a}"))
                if a == b:
                    cells.append("<td class='diag'>-</td>")
                elif v is None:
                    cells.append("<td>not compared</td>")
                else:
                    shade = 0 if v == 0 else min(1.0, max(0.0, (math.log10(v) + 16) / 14))
                    cells.append(f"<td style='background:rgba(224,49,49,{shade:.2f})'>{fmt(v)}</td>")
            out.append(f"<tr><th>{a}</th>{''.join(cells)}</tr>")
        out.append("</table>")
    return "".join(out) or "<p>No comparisons.</p>"


def network_chart(networks: list[dict]) -> str:
    """Per network: gradient norm per layer (log scale), one polyline per source."""
    if not networks:
        return "<p>No network checks in these records.</p>"
    return "".join(f"<h3>{esc(net['name'])}</h3>" + _network_svg(net) for net in networks)


def _network_svg(net: dict) -> str:
    """One network's chart: x = layer, y = log10 gradient norm, a polyline per source."""
    layers = net["layers"]
    n = len(layers)
    left, width, height = 60, 520, 180
    vals = [v for lay in layers for v in lay["norms"].values() if isinstance(v, (int, float)) and math.isfinite(v) and v > 0]
    lo = math.floor(math.log10(min(vals))) if vals else -1
    hi = math.ceil(math.log10(max(vals))) if vals else 1
    hi = hi if hi > lo else lo + 1
    parts = [f'<svg role="img" aria-label="gradient norms {esc(net["name"])}" xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" height="{height + 40}">']
    sources = sorted({s for lay in layers for s in lay["norms"]})
    for k, src in enumerate(sources):
        pts = []
        for i, lay in enumerate(layers):
            v = lay["norms"].get(src, 0.0)
            v = v if isinstance(v, (int, float)) and math.isfinite(v) else 0.0
            x = left + (i / max(n - 1, 1)) * width
            y = height - (_x(v, height, lo, hi) if v > 0 else 0)
            pts.append(f"{x:.1f},{y:.1f}")
        color = ORACLE_COLORS.get(src, "#444")
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="{3 - k * 0.7:.1f}" points="{" ".join(pts)}"/>')
        parts.append(f'<text x="{left + width + 8}" y="{20 + 14 * k}" font-size="11" fill="{color}">{esc(src)}</text>')
    for i, lay in enumerate(layers):
        x = left + (i / max(n - 1, 1)) * width
        parts.append(f'<text x="{x:.1f}" y="{height + 14}" font-size="9" text-anchor="middle">{esc(lay["name"])}</text>')
    for t in range(lo, hi + 1):
        y = height - (t - lo) / (hi - lo) * height
        parts.append(f'<text x="{left - 4}" y="{y:.1f}" font-size="9" text-anchor="end">1e{t}</text>')
    parts.append("</svg>")
    return "".join(parts)


CSS = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f4f4f4}td.l{text-align:left}.fail{background:#ffe3e3}.pass{color:#2b8a3e}.bad{color:#c92a2a;font-weight:bold}
pre{background:#f8f8f8;border:1px solid #ddd;padding:8px;overflow-x:auto;font-size:12px}.matrix td{min-width:90px}.diag{background:#eee}
figure{margin:1em 0}figcaption{font-size:13px;color:#555}"""


def render(summary: dict, rows: list[dict], regressions: list[str] | None = None,
           warnings: list[str] | None = None) -> str:
    """report.html's text; `rows` (the records) feed the error distributions."""
    h = _header(summary, regressions, warnings) + _main_table(summary)
    h.append("<h2>Error distributions</h2><figure>" + error_strips(rows)
             + "<figcaption>Each dot is one comparison's max |reference - oracle| (log scale; exact agreement at the left edge; "
               "hollow = failed); the dashed mark is the row's atol.</figcaption></figure>")
    h.append("<h2>Headroom</h2><figure>" + headroom_chart(summary)
             + "<figcaption>Smallest headroom per layer, dtype and oracle (log scale). The line is the pass mark (1); red bars failed.</figcaption></figure>")
    h.append("<h2>Oracle agreement</h2><p>Worst max |a - b| over all examples and stages, per pair.</p>" + agreement_tables(summary))
    h.append("<h2>Gradient norms per layer (networks)</h2>" + network_chart(summary.get("networks") or []))
    h += _unfinished(summary) + _failures(summary) + _conventions(summary) + _slowest(summary)
    if regressions is not None:
        h.append("<h2>Against the baseline</h2>" + ("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in regressions) + "</ul>" if regressions else "<p>No regressions.</p>"))
    h.append("</body></html>")
    return "\n".join(h)


def _unfinished(summary: dict) -> list[str]:
    """Checks that did not decide: not-run (out of budget, or planned and left no record) and inconclusive."""
    rows = summary.get("unfinished") or []
    if not rows:
        return []
    return ["<h2>Not run or inconclusive</h2><table><tr><th>layer</th><th>dtype</th><th>stage</th><th>oracle</th>"
            "<th>outcome</th><th>why</th></tr>" + "".join(
                "<tr>" + "".join(f"<td>{esc(str(u[k]))}</td>" for k in ("layer", "dtype", "stage", "oracle", "outcome", "reason"))
                + "</tr>" for u in rows) + "</table>"]


def _header(summary: dict, regressions: list[str] | None, warnings: list[str] | None) -> list[str]:
    t = summary["totals"]
    ok = overall(summary, regressions) == "pass"
    status = "PASS" if t["failed"] == 0 else f"FAIL ({t['failed']} failed comparison(s))"
    if status == "PASS" and overall(summary) != "pass":
        status = f"{overall(summary).upper()} ({t['inconclusive']} inconclusive, {t['not_run']} not run)"
    h = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Gradient oracle report</title><style>{CSS}</style></head><body>",
         "<h1>Gradient oracle report</h1>",
         f"<p class='{'pass' if ok else 'bad'}'><b>{esc(status)}</b>: {t['comparisons']} comparisons over {t['layers']} layer(s); "
         f"dtypes {esc(', '.join(t['dtypes']))}; oracles {esc(', '.join(t['oracles']))}.</p>",
         "<p>A comparison passes when |reference - oracle| &le; atol + rtol &middot; |oracle| for every element. "
         "Headroom = (atol + rtol&middot;|oracle|) / |reference - oracle| at the tightest element: &ge; 1 passes.</p>"]
    return h + [f"<p class='bad'>warning: {esc(w)}</p>" for w in warnings or []]


def _main_table(summary: dict) -> list[str]:
    h = ["<h2>Per layer and dtype</h2><table><tr><th>layer</th><th>dtype</th>"
         + "".join(f"<th>{esc(o)}: worst error</th><th>tolerance (atol, rtol)</th><th>headroom</th>" for o in summary["totals"]["oracles"])
         + "</tr>"]
    for layer, dtype, per_oracle in table_grid(summary):
        h.append(f"<tr><td class='l'>{esc(layer)}</td><td>{esc(dtype)}</td>{''.join(_cells(r) for r in per_oracle)}</tr>")
    return h + ["</table>"]


def _cells(r: dict | None) -> str:
    if r is None:
        return "<td>-</td><td>-</td><td>-</td>"
    cls = " class='fail'" if r["failed"] else ""
    return f"<td{cls}>{fmt(r['max_abs'])}</td><td>({fmt(r['atol'])}, {fmt(r['rtol'])})</td><td{cls}>{fmt(r['min_headroom'])}</td>"


def _failures(summary: dict) -> list[str]:
    h = ["<h2>Failures</h2>"]
    if not summary["failures"]:
        h.append("<p>None.</p>")
    for f in summary["failures"]:
        h.append(f"<h3>{esc(f['layer'])} [{esc(f['dtype'])}] {esc(f['stage'])} vs {esc(f['oracle'])}</h3>"
                 f"<p>max_abs={fmt(f['max_abs'])}, max_rel={fmt(f['max_rel'])}, atol={esc(f['atol'])}, rtol={esc(f['rtol'])}, "
                 f"headroom={fmt(f['headroom'])}. {esc(f.get('note') or '')}</p>"
                 + (f"<pre>{esc(f['repro'])}</pre>" if f.get("repro") else ""))
    return h


def _conventions(summary: dict) -> list[str]:
    h = ["<h2>Convention differences</h2>"]
    if not summary["conventions"]:
        return h + ["<p>None recorded.</p>"]
    h.append("<table><tr><th>layer</th><th>dtype</th><th>oracle</th><th>stage</th><th>convention</th><th>examples</th><th>largest difference</th></tr>")
    h += [f"<tr><td class='l'>{esc(c['layer'])}</td><td>{esc(c['dtype'])}</td><td>{esc(c['oracle'])}</td><td>{esc(c['stage'])}</td>"
          f"<td class='l'>{esc(c['convention'])}</td><td>{c['examples']}</td><td>{fmt(c['max_difference'])}</td></tr>" for c in summary["conventions"]]
    return h + ["</table>"]


def _slowest(summary: dict) -> list[str]:
    h = ["<h2>Slowest checks</h2><table><tr><th>layer</th><th>dtype</th><th>oracle</th><th>seconds</th><th>comparisons</th></tr>"]
    h += [f"<tr><td class='l'>{esc(s['layer'])}</td><td>{esc(s['dtype'])}</td><td>{esc(s['oracle'])}</td><td>{s['seconds']:.2f}</td><td>{s['comparisons']}</td></tr>"
          for s in summary.get("slowest", [])]
    return h + ["</table>"]
