"""report.md: the summary as Markdown, small enough for a CI job summary (well under 1 MiB): the verdict,
the failing and inconclusive checks with repro snippets, the closest calls, one row per family, then
a row per layer and dtype, the tolerance recommendations and the convention differences. Every name and
message from records goes through `md` (it may be shown where HTML renders)."""
from __future__ import annotations

from .aggregate import DIFF_KINDS, overall, table_grid
from .formatting import fence, fmt, md

MD_LIMIT = 1 << 20  # a CI job summary must stay well under 1 MiB


def render(summary: dict, regressions: list[str] | None = None, warnings: list[str] | None = None,
           diff: dict | None = None) -> str:
    """report.md's text: verdict, baseline changes, problems (as many as fit in half of MD_LIMIT), closest
    calls, families, main table, tolerance recommendations and convention differences."""
    lines = _header(summary, warnings) + _baseline(regressions, diff) + _problems(summary) + _unfinished(summary)
    lines += _closest(summary)
    lines += _families(summary) + _main_table(summary) + _recommendations(summary) + _conventions(summary)
    return "\n".join(lines) + "\n"


def _header(summary: dict, warnings: list[str] | None) -> list[str]:
    t = summary["totals"]
    failing = [p for p in summary.get("problems", []) if p["outcome"] in ("fail", "error")]
    status = "PASS" if not failing else f"FAIL ({t['failed']} failed comparison(s) in {len(failing)} check(s))"
    if not failing and overall(summary) != "pass":  # nothing failed, but not everything planned decided
        status = f"{overall(summary).upper()} ({t['inconclusive_checks']} inconclusive, {t['not_run']} not run)"
    lines = [
        "# Gradient oracle report", "",
        f"**{status}**: {t['comparisons']} comparisons over {t['layers']} layer(s), dtypes {md(', '.join(t['dtypes']))}, "
        f"oracles {md(', '.join(t['oracles']))}; {t.get('inconclusive', 0)} inconclusive comparison(s).", "",
        "A comparison passes when |ref - oracle| <= atol + rtol * |oracle| elementwise; headroom = that bound / the error "
        "at the tightest element (>= 1 passes).", "",
    ]
    return lines + [f"> warning: {md(w)}" for w in warnings or []]


def _baseline(regressions: list[str] | None, diff: dict | None) -> list[str]:
    if regressions is None and diff is None:
        return []
    lines = ["", "## Against the baseline", ""]
    if diff is not None:
        return lines + ([f"- {k.replace('_', ' ')}: {md(e['key'])}: {md(e['text'])}" for k in DIFF_KINDS for e in diff[k]]
                        or ["No regressions."])
    return lines + ([f"- {md(r)}" for r in regressions] or ["No regressions."])


def _problems(summary: dict) -> list[str]:
    """One block per failing or inconclusive check with its repro snippet, until half of MD_LIMIT is used."""
    lines = ["", "## Failures and inconclusive checks", ""]
    if not summary.get("problems"):
        lines.append("None.")
    budget = MD_LIMIT // 2
    for p in summary.get("problems", []):
        block = (f"### {md(p['outcome'].upper())}: {md(p['layer'])} [{md(p['dtype'])}] {md(p['stage'])} vs {md(p['oracle'])}\n\n"
                 f"{p['count']} of {p['of']} comparisons; max_abs={fmt(p['max_abs'])}, max_rel={fmt(p['max_rel'])}, "
                 f"tolerance atol={fmt(p['atol'])} rtol={fmt(p['rtol'])}, headroom={fmt(p['headroom'])}. {md(p.get('note') or '')}\n\n"
                 + (fence(p["repro"]) + "\n" if p.get("repro") else ""))
        if len(block) > budget:
            lines.append(f"(further failures omitted to keep this page under {MD_LIMIT // 1024} KiB; see summary.json)")
            break
        budget -= len(block)
        lines.append(block)
    return lines


def _unfinished(summary: dict) -> list[str]:
    """Checks that did not decide: not-run (out of budget; planned and left no record) and inconclusive."""
    rows = summary.get("unfinished") or []
    if not rows:
        return []
    return ["", "## Not run or inconclusive", "", "| layer | dtype | stage | oracle | outcome | why |", "|---|---|---|---|---|---|"] + [
        f"| {md(u['layer'])} | {md(u['dtype'])} | {md(u['stage'])} | {md(u['oracle'])} | {u['outcome']} | {md(u['reason'])} |"
        for u in rows]


def _closest(summary: dict) -> list[str]:
    lines = ["", "## Closest calls (lowest headroom that passed)", "",
             "| layer | dtype | stage vs oracle | headroom | why |", "|---|---|---|---|---|"]
    return lines + [f"| {md(c['layer'])} | {md(c['dtype'])} | {md(c['stage'])} vs {md(c['oracle'])} | {fmt(c['headroom'])} | "
                    f"{md(c['reason'])} |" for c in summary.get("closest", [])]


def _families(summary: dict) -> list[str]:
    lines = ["", "## Per family", "", "| family | layers | comparisons | failed | inconclusive | lowest headroom | where |",
             "|---|---|---|---|---|---|---|"]
    return lines + [f"| {md(f['family'])} | {len(f['layers'])} | {f['comparisons']} | {f['failed']} | {f['inconclusive']} | "
                    f"{fmt(f['min_headroom'])} | {md(f['min_at'])} |" for f in summary.get("families", [])]


def _main_table(summary: dict) -> list[str]:
    oracles = summary["totals"]["oracles"]
    lines = ["", "## Per layer and dtype", "",
             "Each cell: worst max |ref - oracle| / tolerance in force (atol, rtol) / smallest headroom.", "",
             "| layer | dtype | " + " | ".join(md(o) for o in oracles) + " |", "|---|---|" + "---|" * len(oracles)]
    for layer, dtype, per_oracle in table_grid(summary):
        lines.append(f"| {md(layer)} | {md(dtype)} | " + " | ".join(_cell(r) for r in per_oracle) + " |")
    return lines


def _cell(r: dict | None) -> str:
    if r is None:
        return "-"
    mark = "" if not r["failed"] else f" **{r['failed']} failed**"
    return f"{fmt(r['max_abs'])} / ({fmt(r['atol'])}, {fmt(r['rtol'])}) / {fmt(r['min_headroom'])}{mark}"


def _recommendations(summary: dict) -> list[str]:
    lines = ["", "## Tolerance recommendation", "",
             "The tolerance in force divided by the smallest headroom seen: the tightest scaling every observed comparison passes.", "",
             "| layer | dtype | oracle | in force (atol, rtol) | recommended (atol, rtol) | n |", "|---|---|---|---|---|---|"]
    return lines + [f"| {md(r['layer'])} | {md(r['dtype'])} | {md(r['oracle'])} | ({fmt(r['atol'])}, {fmt(r['rtol'])}) | "
                    f"({fmt(r['recommended_atol'])}, {fmt(r['recommended_rtol'])}) | {r['comparisons']} |"
                    for r in summary["rows"]]


def _conventions(summary: dict) -> list[str]:
    lines = ["", "## Convention differences", ""]
    if not summary["conventions"]:
        return lines + ["None recorded."]
    lines += ["Where a framework's derivative at a kink differs from the reference's declared convention, the",
              "gate checks that the difference shows (and only there); these are those differences, not failures.", "",
              "| layer | dtype | oracle | stage | convention | examples | largest difference |", "|---|---|---|---|---|---|---|"]
    return lines + [f"| {md(c['layer'])} | {md(c['dtype'])} | {md(c['oracle'])} | {md(c['stage'])} | {md(c['convention'])} | "
                    f"{c['examples']} | {fmt(c['max_difference'])} |" for c in summary["conventions"]]
