"""Is the numerical oracle's own error bound honest and useful? Measured, not assumed.

    .venv/bin/python scripts/numerical_bound_audit.py [--examples 10] [--only NAME ...] [--json OUT]

For every layer of the zoo and of the tricky-correct corpus (tests/tricky), in both dtypes, Hypothesis
draws examples (derandomized) and on each the numerical oracle's answer is set against the truth, PyTorch
float64 autograd of the spec's math on the same inputs (float32 examples upcast). Per gradient entry:

    error = |numerical - torch64|        bound = the oracle's own bound for that entry

Reported: coverage (the share of entries with error <= bound; the target is >= 99.9%), the median of
bound / error over entries with error > 0 (the target is <= 100: a bound that is honest but useless
makes everything inconclusive), and the share of comparisons (example x stage) that the judge passes
conclusively against the numerical oracle (target >= 99% on the zoo; the reference is correct here, so
anything else is inconclusive or a false alarm). Entries at a kink the oracle marked are left out (the bound does not hold there
by construction; the judge reads the kink instead).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from hypothesis import HealthCheck, given, settings  # noqa: E402

from oracles import configure  # noqa: E402
from oracles.api import layer_spec  # noqa: E402
from oracles.backends import output_shape, run_torch  # noqa: E402
from oracles.budget import upcast  # noqa: E402
from oracles.numerical import run_numerical  # noqa: E402
from oracles.strategies import Case, cases, cotangent  # noqa: E402
from oracles.check import evaluate_case  # noqa: E402
from oracles.zoo import REGISTRY  # noqa: E402


def specs(only):
    from tricky import TRICKY

    out = dict(REGISTRY)
    for name, entry in TRICKY.items():
        kw = {k: v for k, v in entry.items() if k not in ("dtypes", "oracles", "max_examples")}
        kw["name"] = "tricky_" + name
        try:
            out[kw["name"]] = (layer_spec(**kw), entry.get("dtypes"))
        except Exception as e:  # noqa: BLE001
            print("skip", name, e)
    return {k: v for k, v in out.items() if not only or k in only}


def audit_example(spec, case: Case, rows: list) -> None:
    shape, _ = output_shape(spec, case)
    ct = cotangent(shape, case.dtype, case.seed)
    num = run_numerical(spec, case, ct)
    if num.sharpen is not None:  # every held try made: the bounds as the refinement leaves them (numerical._sharpen)
        grads, uncertainty, kinks = num.sharpen({s: None for s in num.uncertainty})
        num = dataclasses.replace(num, grads={**num.grads, **grads}, uncertainty={**num.uncertainty, **uncertainty},
                                  kinks={**num.kinks, **kinks}, sharpen=None)
    up = Case(case.layer, "float64", case.sizes,
              {a.name: upcast(case.inputs[a.name]) if a.kind != "index" else case.inputs[a.name] for a in spec.inputs},
              {k: upcast(v) for k, v in case.params.items()}, case.seed)
    truth = run_torch(spec, up, upcast(ct)).by_stage()
    # what the judge said of the numerical oracle on this example (the reference is correct here)
    judged = {c.stage: c.outcome for c in evaluate_case(spec, case, ("numerical",))}
    for stage, bound in num.uncertainty.items():
        value = num.by_stage()[stage]
        t = np.asarray(truth[stage], dtype=np.float64)
        with np.errstate(invalid="ignore"):
            err = np.abs(value - t)
        keep = ~num.kinks[stage].mask & np.isfinite(t)
        conclusive = judged.get(stage) == "pass"
        rows.append(dict(layer=spec.name, dtype=case.dtype, stage=stage, entries=int(keep.sum()),
                         covered=int(np.sum(err[keep] <= bound[keep])),
                         ratios=[float(r) for r in bound[keep][err[keep] > 0] / err[keep][err[keep] > 0]],
                         conclusive=conclusive, kinks=int(num.kinks[stage].mask.sum())))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--json")
    args = ap.parse_args()
    configure()
    rows: list = []
    for name, entry in sorted(specs(args.only).items()):
        spec, dtypes = entry if isinstance(entry, tuple) else (entry, None)
        for dtype in dtypes or ("float64", "float32"):
            @settings(max_examples=args.examples, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=cases(spec, dtype))
            def run(case):
                audit_example(spec, case, rows)
            try:
                run()
            except Exception as e:  # noqa: BLE001
                print("ERROR", name, dtype, type(e).__name__, str(e)[:200])
    report(rows, args.json)


def report(rows: list, out: str | None) -> None:
    entries = sum(r["entries"] for r in rows)
    covered = sum(r["covered"] for r in rows)
    ratios = np.concatenate([np.asarray(r["ratios"]) for r in rows if r["ratios"]] or [np.zeros(0)])
    conclusive = sum(r["conclusive"] for r in rows)
    print(f"coverage {covered}/{entries} = {covered / max(entries, 1):.5f}; median bound/error "
          f"{np.median(ratios) if ratios.size else float('nan'):.3g}; conclusive {conclusive}/{len(rows)} = "
          f"{conclusive / max(len(rows), 1):.4f}; kink entries {sum(r['kinks'] for r in rows)}")
    by_layer: dict = {}
    for r in rows:
        b = by_layer.setdefault((r["layer"], r["dtype"]), [0, 0, 0, 0])
        b[0] += r["entries"] - r["covered"]
        b[1] += r["entries"]
        b[2] += not r["conclusive"]
        b[3] += 1
    for (layer, dtype), (missed, n, inc, m) in sorted(by_layer.items()):
        if missed or inc:
            print(f"  {layer} [{dtype}]: not covered {missed}/{n} entries, inconclusive {inc}/{m} comparisons")
    if out:
        Path(out).write_text(json.dumps(dict(rows=[{k: v for k, v in r.items() if k != "ratios"} for r in rows],
                                             coverage=covered / max(entries, 1),
                                             median_ratio=float(np.median(ratios)) if ratios.size else None), indent=1))


if __name__ == "__main__":
    main()
