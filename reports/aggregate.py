"""Records -> the numbers every report shows: per (layer, dtype, oracle) rows, failures, convention
differences, oracle agreement, network gradient norms, the slowest checks, regressions against a
baseline, and the main table's grid. No formatting and no files: the output modules do those.
"""
from __future__ import annotations

import math
from collections import defaultdict

from oracles.names import Stage

from .records_io import restore_non_finite

SUMMARY_SCHEMA = "oracle-summary/1"
#: Who computes a value in a comparison, in the order the agreement matrix shows them.
AGENTS = ("reference", "torch", "jax", "numerical")
#: What a failure entry of the summary keeps of its record.
FAILURE_FIELDS = ("layer", "dtype", "stage", "oracle", "shapes", "max_abs", "max_rel", "atol", "rtol", "headroom",
                  "note", "repro")


def outcome_of(row: dict) -> str:
    """A record's outcome: its "outcome" field ("pass", "fail", "inconclusive", "not-run", "error") or,
    in records written before that field existed, "pass"/"fail" from "passed"."""
    outcome = row.get("outcome")
    if outcome is not None:
        return outcome
    return "pass" if row["passed"] else "fail"


def headroom(row: dict) -> float:
    """A record's headroom, NaN read as 0 (a NaN error is as bad as it gets)."""
    h = row["headroom"]
    return 0.0 if isinstance(h, float) and math.isnan(h) else h


def is_difference(row: dict) -> bool:
    """A documented convention difference at a kink that showed as expected: not an error."""
    return bool(row.get("convention")) and bool((row.get("extra") or {}).get("differs"))


def summarize(rows: list[dict], verdicts: list[dict] | None = None, planned=None) -> dict:
    """Aggregate comparison rows. For each (layer, dtype, oracle): count, failures, worst errors, the
    tolerance in force, the smallest headroom, and the recommended tolerance (the one in force scaled
    by that headroom: the tightest scaling that every observed comparison would still pass).
    `verdicts` (records' verdict lines) and `planned` ((layer, dtype, oracle) the run planned) give
    "unfinished": the not-run and inconclusive pairs, planned checks that left no record among them."""
    # A documented convention difference at a kink is expected, not an error: it goes to its own list
    # and stays out of the error table, whose worst errors and headrooms are about real comparisons.
    differences = [r for r in rows if is_difference(r)]
    compared = [r for r in rows if not is_difference(r)]
    table = [_table_row(key, rs) for key, rs in sorted(_group(compared, "layer", "dtype", "oracle").items())]
    failures = [{k: r.get(k) for k in FAILURE_FIELDS} for r in compared if outcome_of(r) == "fail"]
    unfinished = _unfinished(rows, verdicts or [], planned or ())
    return {
        "schema": SUMMARY_SCHEMA,
        "totals": {
            "comparisons": len(rows),
            "convention_differences": len(differences),
            "failed": len(failures),
            "layers": len({r["layer"] for r in compared}),
            "dtypes": sorted({r["dtype"] for r in compared}),
            "oracles": sorted({r["oracle"] for r in compared}),
            "not_run": sum(u["outcome"] == "not-run" for u in unfinished),
            "inconclusive": sum(u["outcome"] == "inconclusive" for u in unfinished),
        },
        "unfinished": unfinished,
        "rows": table,
        "failures": failures,
        "conventions": _conventions(differences),
        "agreement": agreement(compared),
        "networks": network_norms(compared),
        "slowest": _slowest(table),
    }


def _unfinished(rows: list[dict], verdicts: list[dict], planned) -> list[dict]:
    """Not-run and inconclusive (oracle, stage) pairs from the verdict lines, and each planned
    (layer, dtype, oracle) with neither a comparison nor a verdict: not-run (it crashed, or the run was
    cut short, before it recorded anything)."""
    fields = ("layer", "dtype", "oracle", "stage", "outcome", "reason")
    out = [{k: v.get(k) for k in fields} for v in verdicts if v.get("outcome") in ("not-run", "inconclusive")]
    seen = {(r["layer"], r["dtype"], r["oracle"]) for r in [*rows, *verdicts]}
    out += [{"layer": l, "dtype": d, "oracle": o, "stage": "-", "outcome": "not-run",
             "reason": "planned for this run, but left no record (the check crashed or the run was cut short)"}
            for l, d, o in sorted(set(map(tuple, planned)) - seen)]
    return out


def overall(summary: dict, regressions: list[str] | None = None) -> str:
    """The run's outcome: "fail" (a failed comparison or a regression), else "inconclusive", else
    "not-run", else "pass"."""
    t = summary["totals"]
    if t["failed"] or regressions:
        return "fail"
    if t.get("inconclusive"):
        return "inconclusive"
    return "not-run" if t.get("not_run") else "pass"


def _group(rows: list[dict], *fields: str) -> dict[tuple, list[dict]]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        groups[tuple(r[f] for f in fields)].append(r)
    return groups


def _table_row(key: tuple[str, str, str], rs: list[dict]) -> dict:
    """The summary row of one (layer, dtype, oracle) and its comparisons `rs`."""
    layer, dtype, oracle = key
    worst = min(rs, key=headroom)
    passed = min((headroom(r) for r in rs if outcome_of(r) == "pass"), default=math.inf)
    scale = passed if 0 < passed < math.inf else None  # the recommendation scales by passing headroom only
    first_stage = min(r["stage"] for r in rs)
    return {
        "layer": layer, "dtype": dtype, "oracle": oracle,
        "comparisons": len(rs),
        "failed": sum(outcome_of(r) == "fail" for r in rs),
        "stages": sorted({r["stage"] for r in rs}),
        "max_abs": max(r["max_abs"] for r in rs),
        "max_rel": max(r["max_rel"] for r in rs),
        "min_headroom": headroom(worst),
        "atol": worst["atol"], "rtol": worst["rtol"],
        "recommended_atol": worst["atol"] / scale if scale is not None else None,
        "recommended_rtol": worst["rtol"] / scale if scale is not None else None,
        # one oracle call serves all stages of an example: count it once, via its forward/first stage
        "seconds": sum(r.get("seconds", 0.0) for r in rs if r["stage"] == first_stage),
    }


def _conventions(differences: list[dict]) -> list[dict]:
    """Convention differences per (layer, dtype, oracle, stage, convention): how many, how large."""
    groups = _group(differences, "layer", "dtype", "oracle", "stage", "convention")
    return [
        {"layer": l, "dtype": d, "oracle": o, "stage": st, "convention": c, "examples": len(rs),
         "max_difference": max(r["max_abs"] for r in rs)}
        for (l, d, o, st, c), rs in sorted(groups.items())
    ]


def _slowest(table: list[dict], n: int = 10) -> list[dict]:
    fields = ("layer", "dtype", "oracle", "seconds", "comparisons")
    return sorted(({k: r[k] for k in fields} for r in table), key=lambda r: -r["seconds"])[:n]


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


def network_norms(rows: list[dict]) -> list[dict]:
    """Per network layer name and dtype, its deepest recorded example: the gradient norm of each layer's
    first parameter, from the reference and from each framework (records' extra["norms"])."""
    by: dict[tuple, dict] = defaultdict(dict)
    for r in rows:
        norms = _finite_norms(r)
        if not norms or not r["layer"].startswith("network_"):
            continue
        sites = by[(r["layer"], r["dtype"])].setdefault(r["example"], {})
        param = Stage(r["extra"]["stage"]).wrt
        entry = sites.setdefault(r["extra"]["site"], {"param": param, "norms": {}})
        if entry["param"] == param:
            entry["norms"].update(norms)
    out = []
    for (layer, dtype), examples in sorted(by.items()):
        example, sites = max(examples.items(), key=lambda kv: (len(kv[1]), -kv[0]))
        out.append({"name": f"{layer} [{dtype}] example {example}",
                    "layers": [{"name": f"{s} d{e['param']}", "norms": e["norms"]} for s, e in sites.items()]})
    return out


def _finite_norms(row: dict) -> dict[str, float]:
    """The finite numbers of a record's extra["norms"] (an overflowed norm is left out)."""
    norms = (row.get("extra") or {}).get("norms") or {}
    return {k: v for k, v in norms.items() if isinstance(v, (int, float)) and math.isfinite(v)}


def compare_with_baseline(summary: dict, baseline: dict, factor: float = 10.0) -> list[str]:
    """Regressions against an earlier summary: worst error grown more than `factor`x, newly failing, or
    present in the baseline and missing now."""
    old = {(r["layer"], r["dtype"], r["oracle"]): restore_non_finite(r) for r in baseline.get("rows", [])}
    now = {(r["layer"], r["dtype"], r["oracle"]) for r in summary["rows"]}
    out = []
    for r in summary["rows"]:
        key = (r["layer"], r["dtype"], r["oracle"])
        if key in old:
            found = _regression(r, old[key], factor)
            if found:
                out.append(f"{'/'.join(key)}: {found}")
    out += [f"{'/'.join(key)}: in the baseline, missing now (no comparison in this run)" for key in sorted(set(old) - now)]
    return out


def _regression(new: dict, old: dict, factor: float) -> str | None:
    """What got worse from the summary row `old` to `new`, or None."""
    if new["failed"] and not old["failed"]:
        return f"newly failing ({new['failed']} failed comparison(s))"
    if old["max_abs"] > 0 and new["max_abs"] > factor * old["max_abs"]:
        return f"worst error grew {new['max_abs'] / old['max_abs']:.3g}x ({old['max_abs']:.3g} -> {new['max_abs']:.3g})"
    if old["max_abs"] == 0 and new["max_abs"] > 0 and new["max_abs"] > old.get("atol", 0):
        return f"worst error grew from exact 0 to {new['max_abs']:.3g}"
    return None


def table_grid(summary: dict) -> list[tuple[str, str, list[dict | None]]]:
    """The main table's layout, shared by report.md and report.html: one (layer, dtype) a line, and per
    oracle of totals["oracles"] its summary row, or None where that oracle made no comparison."""
    by = {(r["layer"], r["dtype"], r["oracle"]): r for r in summary["rows"]}
    return [(layer, dtype, [by.get((layer, dtype, o)) for o in summary["totals"]["oracles"]])
            for layer, dtype in sorted({(r["layer"], r["dtype"]) for r in summary["rows"]})]
