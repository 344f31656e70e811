"""report.md: the summary as Markdown, small enough for a CI job summary (well under 1 MiB)."""
from __future__ import annotations

from .aggregate import overall, table_grid
from .formatting import fmt

MD_LIMIT = 1 << 20  # a CI job summary must stay well under 1 MiB


def render(summary: dict, regressions: list[str] | None = None, warnings: list[str] | None = None) -> str:
    """report.md's text: verdict, main table, tolerance recommendations, failures (as many as fit in half
    of MD_LIMIT), convention differences and, with a baseline, its regressions."""
    lines = _header(summary, warnings) + _main_table(summary) + _recommendations(summary)
    lines += _unfinished(summary) + _failures(summary) + _conventions(summary)
    if regressions is not None:
        lines += ["", "## Against the baseline", ""]
        lines += [f"- {r}" for r in regressions] or ["No regressions."]
    return "\n".join(lines) + "\n"


def _header(summary: dict, warnings: list[str] | None) -> list[str]:
    t = summary["totals"]
    status = "PASS" if t["failed"] == 0 else f"FAIL ({t['failed']} failed comparison(s))"
    if status == "PASS" and overall(summary) != "pass":  # nothing failed, but not everything planned decided
        status = f"{overall(summary).upper()} ({t['inconclusive']} inconclusive, {t['not_run']} not run)"
    lines = [
        "# Gradient oracle report", "",
        f"**{status}**: {t['comparisons']} comparisons over {t['layers']} layer(s), dtypes {', '.join(t['dtypes'])}, "
        f"oracles {', '.join(t['oracles'])}.", "",
        "Each cell: worst max |ref - oracle| / tolerance in force (atol, rtol) / smallest headroom "
        "(tolerance / error; >= 1 passes). A comparison passes when |ref - oracle| <= atol + rtol * |oracle| elementwise.", "",
    ]
    return lines + [f"> warning: {w}" for w in warnings or []]


def _unfinished(summary: dict) -> list[str]:
    """Checks that did not decide: not-run (out of budget, or planned and left no record) and inconclusive."""
    rows = summary.get("unfinished") or []
    if not rows:
        return []
    return ["", "## Not run or inconclusive", "", "| layer | dtype | stage | oracle | outcome | why |", "|---|---|---|---|---|---|"] + [
        f"| {u['layer']} | {u['dtype']} | {u['stage']} | {u['oracle']} | {u['outcome']} | {u['reason']} |" for u in rows]


def _main_table(summary: dict) -> list[str]:
    oracles = summary["totals"]["oracles"]
    lines = ["| layer | dtype | " + " | ".join(oracles) + " |", "|---|---|" + "---|" * len(oracles)]
    for layer, dtype, per_oracle in table_grid(summary):
        lines.append(f"| {layer} | {dtype} | " + " | ".join(_cell(r) for r in per_oracle) + " |")
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
    return lines + [f"| {r['layer']} | {r['dtype']} | {r['oracle']} | ({fmt(r['atol'])}, {fmt(r['rtol'])}) | "
                    f"({fmt(r['recommended_atol'])}, {fmt(r['recommended_rtol'])}) | {r['comparisons']} |"
                    for r in summary["rows"]]


def _failures(summary: dict) -> list[str]:
    """One block per failure with its repro snippet, until half of MD_LIMIT is used."""
    lines = ["", "## Failures", ""]
    if not summary["failures"]:
        lines.append("None.")
    budget = MD_LIMIT // 2
    for f in summary["failures"]:
        block = (f"### {f['layer']} [{f['dtype']}] {f['stage']} vs {f['oracle']}\n\n"
                 f"max_abs={fmt(f['max_abs'])}, max_rel={fmt(f['max_rel'])}, tolerance atol={f['atol']} rtol={f['rtol']}, "
                 f"headroom={fmt(f['headroom'])}. {f.get('note') or ''}\n\n"
                 + (f"```python\n{f['repro']}\n```\n" if f.get("repro") else ""))
        if len(block) > budget:
            lines.append(f"(further failures omitted to keep this page under {MD_LIMIT // 1024} KiB; see summary.json)")
            break
        budget -= len(block)
        lines.append(block)
    return lines


def _conventions(summary: dict) -> list[str]:
    lines = ["", "## Convention differences", ""]
    if not summary["conventions"]:
        return lines + ["None recorded."]
    lines += ["Where a framework's derivative at a kink differs from the reference's declared convention, the",
              "gate checks that the difference shows (and only there); these are those differences, not failures.", "",
              "| layer | dtype | oracle | stage | convention | examples | largest difference |", "|---|---|---|---|---|---|---|"]
    return lines + [f"| {c['layer']} | {c['dtype']} | {c['oracle']} | {c['stage']} | {c['convention']} | {c['examples']} | "
                    f"{fmt(c['max_difference'])} |" for c in summary["conventions"]]
