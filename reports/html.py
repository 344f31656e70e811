"""report.html: one self-contained page (inline SVG plots, inline CSS, no scripts, no external assets),
built to be read in ten seconds. The first screen: the verdict with counts, what was checked, what changed
against a baseline, the failing and inconclusive checks (failing layers first) with their repro snippets,
and the closest calls with the reason. Below it: one row per family, small multiples of headroom and
error per family, the oracle agreement matrix (documented convention differences listed on their own),
network gradient norms, and the per-layer details folded away in <details>.

Every string that comes from records (layer names, notes, repro snippets) goes through `esc`, so a layer
named `<script>` shows as text.
"""
from __future__ import annotations

from collections import defaultdict

from . import html_sections as sections
from .aggregate import overall
from .formatting import esc, fmt

#: At most this many (layer, dtype) groups of problems on the first screen; the rest are listed by name.
FIRST_SCREEN_GROUPS = 12

CSS = """*{box-sizing:border-box}body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;padding:12px 20px;max-width:1220px;color:#1a1a1a}
h1{font-size:18px;margin:0 0 6px}h2{font-size:17px;margin:22px 0 6px;border-bottom:1px solid #ddd}h3{font-size:14px;margin:10px 0 4px}
.verdict{display:flex;gap:14px;align-items:center;padding:8px 12px;border:2px solid;border-radius:6px}
.verdict.pass{border-color:#009E73}.verdict.fail{border-color:#D55E00;background:#fff4ec}
.badge{font-size:26px;font-weight:800;letter-spacing:1px;padding:0 10px;border-radius:4px;color:#fff}
.pass .badge{background:#007a59}.fail .badge{background:#b34700}.verdict p{margin:2px 0}.big{font-size:16px;font-weight:600}
.tag{display:inline-block;font-size:11px;font-weight:700;padding:0 5px;border-radius:3px;color:#fff;background:#b34700}
.tag.inconclusive,.tag.not-run{background:#5a5a5a}.tag.error{background:#7a1f8f}
ol.problems{padding-left:22px;margin:6px 0}ol.problems>li{margin:0 0 8px}.what{margin:0}
table{border-collapse:collapse;margin:4px 0;font-size:13px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}td.why{text-align:left;font-size:12px;max-width:640px}
td.bad{background:#ffe3d6;font-weight:600}.wrap{max-width:100%;overflow-x:auto}
pre{background:#f7f7f7;border:1px solid #ddd;padding:6px;margin:4px 0;overflow:auto;max-height:13em;font-size:12px}
details{margin:4px 0}summary{cursor:pointer}.grid{display:flex;flex-wrap:wrap;gap:10px 14px}
figure{margin:0;width:380px}figcaption{font-size:12px;color:#444}.muted{color:#555;font-size:12px}
.legend span{margin-right:14px}.diffbox{border:1px solid #999;border-radius:6px;padding:4px 12px;margin:8px 0}
.matrix td{min-width:80px}.diag{background:#eee}"""


def render(summary: dict, regressions: list[str] | None = None, warnings: list[str] | None = None,
           diff: dict | None = None) -> str:
    """report.html's text from the summary; `diff` (aggregate.baseline_diff) fills the first screen's
    "against the baseline" box, `regressions` (its lines) is only used when no `diff` is given."""
    h = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
         f"<title>Gradient oracle report</title><style>{CSS}</style></head><body>",
         "<h1>Gradient oracle report</h1>", verdict(summary, diff, regressions)]
    h += [f"<p class='tag error'>warning: {esc(w)}</p>" for w in warnings or []]
    h += baseline_box(diff, regressions)
    h += problems(summary) + unfinished(summary) + closest(summary)
    h += sections.overview(summary) + sections.small_multiples(summary) + sections.agreement(summary)
    h += sections.networks(summary) + sections.details(summary)
    h.append("</body></html>")
    return "\n".join(h)


def verdict(summary: dict, diff: dict | None = None, regressions: list[str] | None = None) -> str:
    """The verdict box: PASS/FAIL, the counts, what was checked."""
    t = summary["totals"]
    probs = summary.get("problems", [])
    failing = [p for p in probs if p["outcome"] in ("fail", "error")]
    inconclusive = [p for p in probs if p["outcome"] not in ("fail", "error")]
    regressed = bool(regressions) or any((diff or {}).values())
    undecided = summary.get("unfinished") or []  # not-run and inconclusive checks (verdicts, the plan)
    ok = not failing and not regressed and not undecided
    word = "FAIL" if failing or regressed else overall(summary).upper()
    outcomes = t.get("outcomes") or {"pass": t["comparisons"] - t["failed"] - t["convention_differences"]}
    passed, compared = outcomes.get("pass", 0), sum(outcomes.values())
    nets = t.get("networks", 0)
    fams = len([f for f in t.get("families", []) if f != "networks"])
    parts = [f"{len(failing)} failing check(s) in {len({p['layer'] for p in failing})} layer(s)" if failing else "no failing check",
             f"{len(inconclusive)} inconclusive", f"{passed:,} of {compared:,} comparisons passed"]
    if undecided:
        parts.insert(1, f"{t.get('not_run', 0)} not run, {t.get('inconclusive_checks', 0)} inconclusive check(s)")
    if regressed and not failing:
        parts.insert(0, "worse than the baseline")
    checked = (f"Checked: {t['layers'] - nets} layer(s) in {fams} famil{'y' if fams == 1 else 'ies'}"
               + (f" and {nets} network(s)" if nets else "")
               + f" &middot; dtypes {esc(', '.join(t['dtypes']))} &middot; oracles {esc(', '.join(t['oracles']))}"
               + f" &middot; {t.get('examples', 0):,} examples &middot; {t['convention_differences']:,} documented convention differences.")
    return (f"<section id='verdict' class='verdict {'pass' if ok else 'fail'}'><div class='badge'>{word}</div>"
            f"<div><p class='big'>{' &middot; '.join(parts)}</p><p>{checked}</p>"
            "<p class='muted'>A check is one (layer, dtype, stage, oracle). A comparison passes when |reference - oracle| "
            "&le; atol + rtol&middot;|oracle| everywhere; headroom = that bound / the error at the tightest element (&ge; 1 passes).</p>"
            "</div></section>")


def baseline_box(diff: dict | None, regressions: list[str] | None) -> list[str]:
    """Against the baseline: newly failing, newly inconclusive, worse (nothing without a baseline)."""
    if diff is None and regressions is None:
        return []
    h = ["<section id='baseline' class='diffbox'><h3>Against the baseline</h3>"]
    if diff is None:
        h.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in regressions) + "</ul>" if regressions else "<p>No regressions.</p>")
        return h + ["</section>"]
    titles = {"newly_failing": "Newly failing", "newly_inconclusive": "Became inconclusive", "worse": "Got worse",
              "missing_now": "Missing now"}
    for kind, title in titles.items():
        items = diff.get(kind, [])
        h.append(f"<p><b>{title} ({len(items)})</b>" + (": " + "; ".join(f"{esc(e['key'])}: {esc(e['text'])}" for e in items) if items else "") + "</p>")
    return h + ["</section>"]


def unfinished(summary: dict) -> list[str]:
    """Checks that did not decide: not-run (out of budget; planned and left no record) and inconclusive."""
    rows = summary.get("unfinished") or []
    if not rows:
        return []
    keys = ("layer", "dtype", "stage", "oracle", "outcome", "reason")
    return ["<h2>Not run or inconclusive</h2><table><tr>" + "".join(f"<th class='l'>{k}</th>" for k in keys) + "</tr>"
            + "".join("<tr>" + "".join(f"<td class='l'>{esc(str(u[k]))}</td>" for k in keys) + "</tr>" for u in rows)
            + "</table>"]


def _groups(summary: dict) -> list[tuple[tuple[str, str], list[dict]]]:
    """The problems grouped by (layer, dtype), in the summary's order (failing layers first)."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for p in summary.get("problems", []):
        groups[(p["layer"], p["dtype"])].append(p)
    return list(groups.items())


def problems(summary: dict) -> list[str]:
    """The failing and inconclusive checks, one item per (layer, dtype): a row per (stage, oracle) with
    by how much, and the repro snippet (the first item's open)."""
    groups = _groups(summary)
    h = ["<section id='problems'><h2>Failures and inconclusive checks</h2>"]
    if not groups:
        return h + ["<p>None: every check passed.</p></section>"]
    h.append("<ol class='problems'>")
    for i, ((layer, dtype), ps) in enumerate(groups[:FIRST_SCREEN_GROUPS]):
        outcome = ps[0]["outcome"]
        stages = sorted({p["stage"] for p in ps})
        oracles = sorted({p["oracle"] for p in ps})
        h.append(f"<li class='problem {esc(outcome)}'><p class='what'><span class='tag {esc(outcome)}'>{esc(outcome.upper())}</span> "
                 f"<b>{esc(layer)}</b> [{esc(dtype)}] at <b>{esc(', '.join(stages))}</b> against <b>{esc(', '.join(oracles))}</b> "
                 f"<span class='muted'>(family {esc(ps[0].get('family', ''))})</span></p>")
        h.append(_problem_table(ps))
        repro = next((p["repro"] for p in ps if p.get("repro")), "")
        if repro:
            h.append(f"<details{' open' if i == 0 else ''}><summary>reproduce</summary><pre>{esc(repro)}</pre></details>")
        h.append("</li>")
    h.append("</ol>")
    rest = groups[FIRST_SCREEN_GROUPS:]
    if rest:
        h.append(f"<p>And {len(rest)} more: " + ", ".join(f"{esc(l)} [{esc(d)}]" for (l, d), _ in rest) + " (summary.json has them all).</p>")
    return h + ["</section>"]


def _problem_table(ps: list[dict]) -> str:
    rows = "".join(
        f"<tr><td class='l'>{esc(p['stage'])}</td><td class='l'>{esc(p['oracle'])}</td><td>{esc(p['outcome'])}</td>"
        f"<td class='bad'>{fmt(p['headroom'])}</td><td>{fmt(p['max_abs'])}</td><td>({fmt(p['atol'])}, {fmt(p['rtol'])})</td>"
        f"<td>{p['count']} of {p['of']}</td><td class='why'>{esc(p.get('note') or '')}</td></tr>" for p in ps)
    return ("<div class='wrap'><table><tr><th class='l'>stage</th><th class='l'>oracle</th><th>outcome</th><th>headroom</th>"
            "<th>worst |ref - oracle|</th><th>tolerance (atol, rtol)</th><th>comparisons</th><th class='l'>note</th></tr>"
            + rows + "</table></div>")


def closest(summary: dict) -> list[str]:
    """The layers closest to failing: lowest passing headroom per layer, with the reason."""
    cs = summary.get("closest", [])
    h = ["<section id='closest'><h2>Closest calls (lowest headroom that passed)</h2>"]
    if not cs:
        return h + ["<p>No passing comparison.</p></section>"]
    h.append("<div class='wrap'><table><tr><th class='l'>layer [dtype]</th><th class='l'>stage vs oracle</th><th>headroom</th><th class='l'>why</th></tr>")
    h += [f"<tr><td class='l'>{esc(c['layer'])} [{esc(c['dtype'])}]</td><td class='l'>{esc(c['stage'])} vs {esc(c['oracle'])}</td>"
          f"<td>{fmt(c['headroom'])}</td><td class='why'>{esc(c['reason'])}</td></tr>" for c in cs]
    return h + ["</table></div></section>"]
