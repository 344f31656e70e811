"""report.html below the first screen: the per-family overview, the small multiples, the agreement
matrix with the documented convention differences, network gradient norms, and the per-layer details
folded in <details>. Each function returns a list of HTML chunks; html.render puts them together."""
from __future__ import annotations

import math

from . import plots
from .aggregate import AGENTS, table_grid
from .formatting import esc, fmt


def _anchor(family: str) -> str:
    return "fam-" + "".join(c if c.isalnum() else "-" for c in family)


def _family_caption(f: dict) -> str:
    where = f" ({esc(f['min_at'])})" if f.get("min_at") else ""
    bad = f"; <b>{f['failed']} failed</b>" if f["failed"] else ""
    bad += f"; {f['inconclusive']} inconclusive" if f.get("inconclusive") else ""
    return (f"<b>{esc(f['family'])}</b>: {len(f['layers'])} layer(s), {f['comparisons']:,} comparisons{bad}; "
            f"lowest headroom {fmt(f['min_headroom'])}{where}.")


def overview(summary: dict) -> list[str]:
    """One row per family: layers, comparisons, failures, lowest headroom and where, worst error."""
    fams = summary.get("families", [])
    dtypes = summary["totals"]["dtypes"]
    h = ["<section id='families'><h2>Per family</h2><div class='wrap'><table><tr><th class='l'>family</th><th>layers</th>"
         "<th>comparisons</th><th>failed</th><th>inconclusive</th><th>lowest headroom</th><th class='l'>where</th>"
         + "".join(f"<th>worst error {esc(d)}</th>" for d in dtypes) + "</tr>"]
    for f in fams:
        bad = " class='bad'" if f["failed"] else ""
        h.append(f"<tr><td class='l'><a href='#{_anchor(f['family'])}'>{esc(f['family'])}</a></td><td>{len(f['layers'])}</td>"
                 f"<td>{f['comparisons']:,}</td><td{bad}>{f['failed']}</td><td>{f['inconclusive']}</td>"
                 f"<td{bad}>{fmt(f['min_headroom'])}</td><td class='l'>{esc(f['min_at'])}</td>"
                 + "".join(f"<td>{fmt(f['worst_error'].get(d))}</td>" for d in dtypes) + "</tr>")
    return h + ["</table></div></section>"]


def small_multiples(summary: dict) -> list[str]:
    """Headroom per family, then error per family: one small figure each, with its caption."""
    fams = summary.get("families", [])
    if not fams:
        return []
    h = ["<section id='headroom'><h2>Headroom per family</h2><p class='muted'>Each bar counts comparisons in half a decade of "
         "headroom (bar height ~ square root of the count); left of the pass line (shaded) fails, "
         "vermillion bars hold failures; &ldquo;exact&rdquo;: no difference at all.</p><div class='grid'>"]
    h += [f"<figure>{plots.headroom_panel(f)}<figcaption>{_family_caption(f)}</figcaption></figure>" for f in fams]
    h.append("</div></section><section id='errors'><h2>Error per family</h2><p class='muted'>Each bar counts comparisons in "
             "half a decade of max |reference - oracle| per dtype and oracle; dashed: the smallest atol in force, "
             "grey: up to the largest (the float32 budget widens it; rtol&middot;|oracle| allows more on large values).</p><div class='grid'>")
    for f in fams:
        worst = ", ".join(f"{esc(d)} {fmt(v)}" for d, v in f["worst_error"].items())
        h.append(f"<figure>{plots.error_panel(f)}<figcaption><b>{esc(f['family'])}</b>: worst error {worst}.</figcaption></figure>")
    return h + ["</div></section>"]


def _matrix(dtype: str, m: dict) -> str:
    h = [f"<table class='matrix'><caption>{esc(dtype)}</caption><tr><th></th>" + "".join(f"<th>{a}</th>" for a in AGENTS) + "</tr>"]
    for a in AGENTS:
        cells = []
        for b in AGENTS:
            v = m.get(f"{a}|{b}", m.get(f"{b}|{a}"))
            if a == b:
                cells.append("<td class='diag'>-</td>")
            elif v is None:
                cells.append("<td class='muted'>not compared</td>")
            else:  # darker = larger: readable in grey, the number is printed anyway
                shade = 0 if v == 0 else min(1.0, max(0.0, (math.log10(v) + 16) / 14))
                cells.append(f"<td style='background:rgba(230,159,0,{shade:.2f})'>{fmt(v)}</td>")
        h.append(f"<tr><th>{a}</th>{''.join(cells)}</tr>")
    return "".join(h) + "</table>"


def agreement(summary: dict) -> list[str]:
    """The agreement matrix per dtype, then the documented convention differences on their own."""
    h = ["<section id='agreement'><h2>Oracle agreement</h2><p class='muted'>Worst max |a - b| over all examples and stages, "
         "per pair; comparisons at a kink where a framework's convention is documented to differ are left out "
         "(listed below).</p><div class='grid'>"]
    h += [_matrix(d, m) for d, m in sorted(summary.get("agreement", {}).items())] or ["<p>No comparisons.</p>"]
    h.append("</div><h3>Documented convention differences (not failures)</h3>")
    conv, kinks = summary.get("conventions", []), summary.get("agreement_at_kinks", [])
    if not conv and not kinks:
        return h + ["<p>None recorded.</p></section>"]
    h.append("<div class='wrap'><table><tr><th class='l'>layer</th><th>dtype</th><th>stage</th><th>between</th><th class='l'>convention</th>"
             "<th>examples</th><th>largest difference</th></tr>")
    h += [f"<tr><td class='l'>{esc(c['layer'])}</td><td>{esc(c['dtype'])}</td><td>{esc(c['stage'])}</td><td>reference, {esc(c['oracle'])}</td>"
          f"<td class='l'>{esc(c['convention'])}</td><td>{c['examples']}</td><td>{fmt(c['max_difference'])}</td></tr>" for c in conv]
    h += [f"<tr><td class='l'>{esc(k['layer'])}</td><td>{esc(k['dtype'])}</td><td>{esc(k['stage'])}</td><td>{esc(k['pair'].replace('|', ', '))}</td>"
          f"<td class='l'>at {esc(k['kink'])}</td><td>-</td><td>{fmt(k['max_difference'])}</td></tr>"
          for k in kinks if not k["pair"].startswith("reference|")]
    return h + ["</table></div></section>"]


def _net_caption(net: dict) -> str:
    ref = [lay["norms"].get("reference") for lay in net["layers"]]
    ref = [v for v in ref if v]
    ratio = ""
    if len(ref) > 1 and ref[-1] > 0:
        r = ref[0] / ref[-1]
        trend = " (vanishing towards the input)" if r < 0.25 else " (growing towards the input)" if r > 4 else ""
        ratio = f" First layer's norm / last layer's: {fmt(r)}{trend}."
    return f"<b>{esc(net['name'])}</b>: ||dW|| of each layer's first parameter, input at the top.{ratio}"


def networks(summary: dict) -> list[str]:
    """One small figure per network: the gradient norm per layer, from each source."""
    nets = summary.get("networks") or []
    h = ["<section id='networks'><h2>Gradient norms per layer (networks)</h2>"]
    if not nets:
        return h + ["<p>No network checks in these records.</p></section>"]
    h += [plots.legend_html(), "<div class='grid'>"]
    h += [f"<figure>{plots.network_panel(n)}<figcaption>{_net_caption(n)}</figcaption></figure>" for n in nets if n["layers"]]
    return h + ["</div></section>"]


def _cells(r: dict | None) -> str:
    if r is None:
        return "<td>-</td><td>-</td><td>-</td>"
    cls = " class='bad'" if r["failed"] else ""
    return (f"<td{cls}>{fmt(r['max_abs'])}</td><td>({fmt(r['atol'])}, {fmt(r['rtol'])})</td>"
            f"<td{cls}>{fmt(r['min_headroom'])}</td>")


def details(summary: dict) -> list[str]:
    """Per family, folded: a row per (layer, dtype) with each oracle's worst error, tolerance, headroom;
    then the slowest checks, folded too."""
    oracles = summary["totals"]["oracles"]
    grid = table_grid(summary)
    fam_of = {r["layer"]: r.get("family", "") for r in summary["rows"]}
    h = ["<section id='details'><h2>Details per layer</h2>"]
    head = ("<tr><th class='l'>layer</th><th>dtype</th>" + "".join(
        f"<th>{esc(o)}: worst error</th><th>tolerance</th><th>headroom</th>" for o in oracles) + "</tr>")
    for f in summary.get("families", []):
        lines = [(l, d, per) for l, d, per in grid if fam_of.get(l) == f["family"] or (not fam_of.get(l) and l in f["layers"])]
        h.append(f"<details id='{_anchor(f['family'])}'><summary>{_family_caption(f)}</summary><div class='wrap'><table>{head}"
                 + "".join(f"<tr><td class='l'>{esc(l)}</td><td>{esc(d)}</td>{''.join(_cells(r) for r in per)}</tr>" for l, d, per in lines)
                 + "</table></div></details>")
    h.append("<details><summary>Slowest checks</summary><table><tr><th class='l'>layer</th><th>dtype</th><th>oracle</th><th>seconds</th><th>comparisons</th></tr>")
    h += [f"<tr><td class='l'>{esc(s['layer'])}</td><td>{esc(s['dtype'])}</td><td>{esc(s['oracle'])}</td><td>{s['seconds']:.2f}</td>"
          f"<td>{s['comparisons']}</td></tr>" for s in summary.get("slowest", [])]
    return h + ["</table></details></section>"]
