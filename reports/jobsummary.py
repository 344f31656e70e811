"""job-summary.md: the short Markdown a CI job summary shows (GitHub's `GITHUB_STEP_SUMMARY`): the
verdict, what was checked, what changed against a baseline, the failing and inconclusive checks with
their repro snippets, the five lowest headrooms, and where the full reports are. Every name and message
from records goes through `md` (a job summary renders HTML: a layer named `<script>` must stay text).
"""
from __future__ import annotations

from .aggregate import overall
from .formatting import fence, fmt, md

#: (layer, dtype, stage) groups of failing or inconclusive checks listed, and snippets shown; the rest are counted.
MAX_PROBLEMS = 10
#: A repro snippet longer than this is cut (the full one is in summary.json and report.md).
MAX_SNIPPET = 3000
TITLES = {"newly_failing": "newly failing", "newly_inconclusive": "became inconclusive", "worse": "got worse",
          "missing_now": "missing now"}


def render(summary: dict, html_path: str = "report.html", diff: dict | None = None) -> str:
    """The job summary's Markdown text; `html_path` is where the full page was written."""
    t = summary["totals"]
    probs = summary.get("problems", [])
    failing = [p for p in probs if p["outcome"] in ("fail", "error")]
    regressed = any((diff or {}).values())
    word = "FAIL" if failing or regressed else overall(summary).upper()  # NOT-RUN / INCONCLUSIVE checks too
    lines = [f"## Gradient oracles: {word}", "",
             f"**{len(failing)} failing, {len(probs) - len(failing)} inconclusive** check(s) (layer, dtype, stage, oracle); "
             f"{t.get('outcomes', {}).get('pass', 0):,} of {sum(t.get('outcomes', {}).values()):,} comparisons passed "
             f"(and {t['convention_differences']:,} documented convention differences). "
             f"Checked {t['layers']} layer(s) and networks, dtypes {md(', '.join(t['dtypes']))}, "
             f"oracles {md(', '.join(t['oracles']))}, {t.get('examples', 0):,} examples.", ""]
    if diff is not None:
        lines += ["### Against the baseline", ""]
        lines += [f"- {TITLES[k]}: {md(e['key'])}: {md(e['text'])}" for k in TITLES for e in diff.get(k, [])] or ["No regressions."]
        lines.append("")
    lines += _problems(probs) + _unfinished(summary) + _closest(summary.get("closest", []))
    path = html_path.replace("`", "'").replace("\n", " ")  # a code span renders nothing, but must not end early
    lines += ["", f"Full report: `{path}` (one self-contained page); report.md and summary.json next to it."]
    return "\n".join(lines) + "\n"


def _unfinished(summary: dict) -> list[str]:
    """Checks that did not decide: not-run (out of budget; planned and left no record) and inconclusive."""
    rows = summary.get("unfinished") or []
    return (["### Not run or inconclusive", ""] + [
        f"- {u['outcome'].upper()}: {md(u['layer'])} [{md(u['dtype'])}] {md(u['stage'])} vs {md(u['oracle'])}: {md(u['reason'])}"
        for u in rows] + [""]) if rows else []


def _problems(probs: list[dict]) -> list[str]:
    """One line per (layer, dtype, stage) with each oracle's headroom, then one snippet per (layer, dtype)."""
    if not probs:
        return ["No failing or inconclusive check.", ""]
    groups: dict[tuple, list[dict]] = {}
    for p in probs:
        groups.setdefault((p["outcome"], p["layer"], p["dtype"], p["stage"]), []).append(p)
    lines = ["### Failing and inconclusive checks", ""]
    for (outcome, layer, dtype, stage), ps in list(groups.items())[:MAX_PROBLEMS]:
        vs = ", ".join(f"{md(p['oracle'])} (headroom {fmt(p['headroom'])}, |ref - oracle| {fmt(p['max_abs'])}, "
                       f"atol {fmt(p['atol'])}, rtol {fmt(p['rtol'])}, {p['count']} of {p['of']})" for p in ps)
        notes = "; ".join(dict.fromkeys(md(p["note"]) for p in ps if p.get("note")))
        lines.append(f"- **{md(outcome.upper())}** {md(layer)} [{md(dtype)}] at {md(stage)} against {vs}." + (f" {notes}" if notes else ""))
    if len(groups) > MAX_PROBLEMS:
        lines.append(f"- ...and {len(groups) - MAX_PROBLEMS} more (report.md, summary.json).")
    shown: set[tuple[str, str]] = set()
    for p in probs:
        repro = p.get("repro") or ""
        if repro and (p["layer"], p["dtype"]) not in shown and len(shown) < MAX_PROBLEMS:
            shown.add((p["layer"], p["dtype"]))
            cut = repro if len(repro) <= MAX_SNIPPET else repro[:MAX_SNIPPET] + "\n# ... (cut; the full snippet is in summary.json)"
            lines += ["", f"Reproduce {md(p['layer'])} [{md(p['dtype'])}]:", "", fence(cut)]
    return lines + [""]


def _closest(cs: list[dict]) -> list[str]:
    if not cs:
        return []
    lines = ["### Lowest headrooms that passed", "", "| layer | dtype | stage vs oracle | headroom | why |", "|---|---|---|---|---|"]
    return lines + [f"| {md(c['layer'])} | {md(c['dtype'])} | {md(c['stage'])} vs {md(c['oracle'])} | {fmt(c['headroom'])} | {md(c['reason'])} |"
                    for c in cs[:5]]
