"""Records -> per (layer, dtype, oracle) numbers -> summary.json and report.md."""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from oracles.records import jsonable

SUMMARY_SCHEMA = "oracle-summary/1"
MD_LIMIT = 1 << 20  # a CI job summary must stay well under 1 MiB


def summarize(rows: list[dict]) -> dict:
    """Aggregate comparison rows. For each (layer, dtype, oracle): count, failures, worst errors, the
    tolerance in force, the smallest headroom, and the recommended tolerance (the one in force scaled
    by that headroom: the tightest scaling that every observed comparison would still pass)."""
    # A documented convention difference at a kink is expected, not an error: it goes to its own list
    # and stays out of the error table, whose worst errors and headrooms are about real comparisons.
    all_rows = rows
    differences = [r for r in rows if _is_difference(r)]
    rows = [r for r in rows if not _is_difference(r)]
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["layer"], r["dtype"], r["oracle"])].append(r)
    out_rows = []
    for (layer, dtype, oracle), rs in sorted(groups.items()):
        finite_h = [_h(r) for r in rs if r["passed"]]
        min_h = min((_h(r) for r in rs), default=math.inf)
        worst = min(rs, key=_h)
        h_ok = min(finite_h, default=math.inf)
        out_rows.append({
            "layer": layer, "dtype": dtype, "oracle": oracle,
            "comparisons": len(rs),
            "failed": sum(not r["passed"] for r in rs),
            "stages": sorted({r["stage"] for r in rs}),
            "max_abs": max(r["max_abs"] for r in rs),
            "max_rel": max(r["max_rel"] for r in rs),
            "min_headroom": min_h,
            "atol": worst["atol"], "rtol": worst["rtol"],
            "recommended_atol": worst["atol"] / h_ok if 0 < h_ok < math.inf else None,
            "recommended_rtol": worst["rtol"] / h_ok if 0 < h_ok < math.inf else None,
            # one oracle call serves all stages of an example: count it once, via its forward/first stage
            "seconds": sum(r.get("seconds", 0.0) for r in rs if r["stage"] == min(x["stage"] for x in rs)),
        })
    failures = [
        {k: r.get(k) for k in ("layer", "dtype", "stage", "oracle", "shapes", "max_abs", "max_rel", "atol", "rtol", "headroom", "note", "repro")}
        for r in rows if not r["passed"]
    ]
    conv_groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in differences:
        conv_groups[(r["layer"], r["dtype"], r["oracle"], r["stage"], r["convention"])].append(r)
    conventions = [
        {"layer": l, "dtype": d, "oracle": o, "stage": st, "convention": c, "examples": len(rs),
         "max_difference": max(r["max_abs"] for r in rs)}
        for (l, d, o, st, c), rs in sorted(conv_groups.items())
    ]
    return {
        "schema": SUMMARY_SCHEMA,
        "totals": {
            "comparisons": len(all_rows),
            "convention_differences": len(differences),
            "failed": len(failures),
            "layers": len({r["layer"] for r in rows}),
            "dtypes": sorted({r["dtype"] for r in rows}),
            "oracles": sorted({r["oracle"] for r in rows}),
        },
        "rows": out_rows,
        "failures": failures,
        "conventions": conventions,
        "agreement": agreement(rows),
        "networks": network_norms(rows),
        "slowest": sorted(
            ({k: r[k] for k in ("layer", "dtype", "oracle", "seconds", "comparisons")} for r in out_rows),
            key=lambda r: -r["seconds"],
        )[:10],
    }


def network_norms(rows: list[dict]) -> list[dict]:
    """Per network layer name and dtype, its deepest recorded example: the gradient norm of each layer's
    first parameter, from the reference and from each framework (records' extra["norms"])."""
    by: dict[tuple, dict] = defaultdict(dict)
    for r in rows:
        norms = (r.get("extra") or {}).get("norms")
        if norms:
            norms = {k: v for k, v in norms.items() if isinstance(v, (int, float)) and math.isfinite(v)}
        if not norms or not r["layer"].startswith("network_"):
            continue
        ex = by[(r["layer"], r["dtype"])].setdefault(r["example"], {})
        site = r["extra"]["site"]
        entry = ex.setdefault(site, {"param": r["extra"]["stage"][5:], "norms": {}})
        if entry["param"] == r["extra"]["stage"][5:]:
            entry["norms"].update({k: v for k, v in norms.items() if v is not None})
    out = []
    for (layer, dtype), examples in sorted(by.items()):
        example, sites = max(examples.items(), key=lambda kv: (len(kv[1]), -kv[0]))
        out.append({"name": f"{layer} [{dtype}] example {example}",
                    "layers": [{"name": f"{s} d{e['param']}", "norms": e["norms"]} for s, e in sites.items()]})
    return out


def _h(r: dict) -> float:
    """A record's headroom, NaN read as 0 (a NaN error is as bad as it gets)."""
    h = r["headroom"]
    return 0.0 if isinstance(h, float) and math.isnan(h) else h


def _is_difference(r: dict) -> bool:
    return bool(r.get("convention")) and bool((r.get("extra") or {}).get("differs"))


AGENTS = ("reference", "torch", "jax", "numerical")


def agreement(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per dtype, the worst max |a - b| seen between every pair of reference, torch, jax, numerical
    (reference vs an oracle from the comparison itself; oracle vs oracle from its extra["vs"]).
    Keys "a|b" in AGENTS order; a pair never compared is absent."""
    out: dict[str, dict[str, float]] = {}
    for r in rows:
        m = out.setdefault(r["dtype"], {})
        pairs = [("reference", r["oracle"], r["max_abs"])]
        pairs += [(r["oracle"], o, v) for o, v in ((r.get("extra") or {}).get("vs") or {}).items()]
        for a, b, v in pairs:
            key = f"{a}|{b}"
            m[key] = max(m.get(key, 0.0), float(v))
    return out


def compare_with_baseline(summary: dict, baseline: dict, factor: float = 10.0) -> list[str]:
    """Regressions against an earlier summary: worst error grown more than `factor`x, or newly failing."""
    from .records_io import _num

    old = {(r["layer"], r["dtype"], r["oracle"]): _num(r) for r in baseline.get("rows", [])}
    out = []
    for r in summary["rows"]:
        key = (r["layer"], r["dtype"], r["oracle"])
        b = old.get(key)
        if b is None:
            continue
        if r["failed"] and not b["failed"]:
            out.append(f"{'/'.join(key)}: newly failing ({r['failed']} failed comparison(s))")
        elif b["max_abs"] > 0 and r["max_abs"] > factor * b["max_abs"]:
            out.append(f"{'/'.join(key)}: worst error grew {r['max_abs'] / b['max_abs']:.3g}x ({b['max_abs']:.3g} -> {r['max_abs']:.3g})")
        elif b["max_abs"] == 0 and r["max_abs"] > 0 and r["max_abs"] > b.get("atol", 0):
            out.append(f"{'/'.join(key)}: worst error grew from exact 0 to {r['max_abs']:.3g}")
    return out


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.2g}"


def table_grid(summary: dict) -> list[tuple[str, str, list[dict | None]]]:
    """The main table's layout, shared by report.md and report.html: one (layer, dtype) a line, and per
    oracle of totals["oracles"] its summary row, or None where that oracle made no comparison."""
    by = {(r["layer"], r["dtype"], r["oracle"]): r for r in summary["rows"]}
    return [(layer, dtype, [by.get((layer, dtype, o)) for o in summary["totals"]["oracles"]])
            for layer, dtype in sorted({(r["layer"], r["dtype"]) for r in summary["rows"]})]


def markdown(summary: dict, regressions: list[str] | None = None, warnings: list[str] | None = None) -> str:
    t = summary["totals"]
    status = "PASS" if t["failed"] == 0 else f"FAIL ({t['failed']} failed comparison(s))"
    lines = [
        "# Gradient oracle report", "",
        f"**{status}**: {t['comparisons']} comparisons over {t['layers']} layer(s), dtypes {', '.join(t['dtypes'])}, "
        f"oracles {', '.join(t['oracles'])}.", "",
        "Each cell: worst max |ref - oracle| / tolerance in force (atol, rtol) / smallest headroom "
        "(tolerance / error; >= 1 passes). A comparison passes when |ref - oracle| <= atol + rtol * |oracle| elementwise.", "",
    ]
    for w in warnings or []:
        lines.append(f"> warning: {w}")
    oracles = t["oracles"]
    lines.append("| layer | dtype | " + " | ".join(oracles) + " |")
    lines.append("|---|---|" + "---|" * len(oracles))
    for layer, dtype, per_oracle in table_grid(summary):
        cells = []
        for r in per_oracle:
            if r is None:
                cells.append("-")
                continue
            mark = "" if not r["failed"] else f" **{r['failed']} failed**"
            cells.append(f"{_fmt(r['max_abs'])} / ({_fmt(r['atol'])}, {_fmt(r['rtol'])}) / {_fmt(r['min_headroom'])}{mark}")
        lines.append(f"| {layer} | {dtype} | " + " | ".join(cells) + " |")
    lines += ["", "## Tolerance recommendation", "",
              "The tolerance in force divided by the smallest headroom seen: the tightest scaling every observed comparison passes.", "",
              "| layer | dtype | oracle | in force (atol, rtol) | recommended (atol, rtol) | n |", "|---|---|---|---|---|---|"]
    for r in summary["rows"]:
        lines.append(f"| {r['layer']} | {r['dtype']} | {r['oracle']} | ({_fmt(r['atol'])}, {_fmt(r['rtol'])}) | "
                     f"({_fmt(r['recommended_atol'])}, {_fmt(r['recommended_rtol'])}) | {r['comparisons']} |")
    lines += ["", "## Failures", ""]
    if not summary["failures"]:
        lines.append("None.")
    budget = MD_LIMIT // 2
    for f in summary["failures"]:
        block = (f"### {f['layer']} [{f['dtype']}] {f['stage']} vs {f['oracle']}\n\n"
                 f"max_abs={_fmt(f['max_abs'])}, max_rel={_fmt(f['max_rel'])}, tolerance atol={f['atol']} rtol={f['rtol']}, "
                 f"headroom={_fmt(f['headroom'])}. {f.get('note') or ''}\n\n"
                 + (f"```python\n{f['repro']}\n```\n" if f.get("repro") else ""))
        if len(block) > budget:
            lines.append(f"(further failures omitted to keep this page under {MD_LIMIT // 1024} KiB; see summary.json)")
            break
        budget -= len(block)
        lines.append(block)
    lines += ["", "## Convention differences", ""]
    if summary["conventions"]:
        lines += ["Where a framework's derivative at a kink differs from the reference's declared convention, the",
                  "gate checks that the difference shows (and only there); these are those differences, not failures.", "",
                  "| layer | dtype | oracle | stage | convention | examples | largest difference |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {c['layer']} | {c['dtype']} | {c['oracle']} | {c['stage']} | {c['convention']} | {c['examples']} | "
                  f"{_fmt(c['max_difference'])} |" for c in summary["conventions"]]
    else:
        lines.append("None recorded.")
    if regressions is not None:
        lines += ["", "## Against the baseline", ""]
        lines += [f"- {r}" for r in regressions] or ["No regressions."]
    return "\n".join(lines) + "\n"


def write(summary: dict, out_dir: Path, regressions=None, warnings=None, rows: list[dict] | None = None) -> dict[str, Path]:
    """report.md, report.html (needs the rows for its error plots) and summary.json into out_dir."""
    from .html import render

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"md": out_dir / "report.md", "html": out_dir / "report.html", "json": out_dir / "summary.json"}
    paths["md"].write_text(markdown(summary, regressions, warnings))
    paths["html"].write_text(render(summary, rows or [], regressions, warnings), encoding="utf-8")
    doc = dict(summary)
    if regressions is not None:
        doc["regressions"] = regressions
    paths["json"].write_text(json.dumps(jsonable(doc), indent=1))
    return paths
