"""(d) Gate throughput: examples checked per second per oracle, the JAX compile cache, and the gate's wall
time with and without pytest-xdist.

Examples are drawn like the gate's (the layer's bounded set of layouts, values from its domain, kept off
kinks) with a seeded NumPy generator rather than Hypothesis, so that every repetition times the same
examples. Two figures per oracle: the oracle call alone (RUNNERS[oracle], plus the directional oracle),
and oracles.check.evaluate_case with that oracle only (which adds the reference's forward/backward, the
hygiene re-runs and the comparisons: what the gate pays per example and oracle).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .timing import summary

LAYERS = ("affine", "sigmoid", "relu", "softmax_with_loss", "conv2d")


def draw_case(spec, dtype: str, layout, rng):
    from oracles.spec import resolve
    from oracles.strategies import Case, keep_off_kinks

    sizes, choice = dict(layout.sizes), dict(layout.choice)
    inputs = {}
    for a in spec.inputs:
        shape = resolve(a.shapes()[choice.get(a.name, 0)], sizes)
        if a.kind == "float":
            dom = spec.value_domain(a, dtype)
            if dom.spacing > 0:
                lo = int(np.ceil(dom.low / dom.spacing))
                k = rng.permutation(int(np.floor(dom.high / dom.spacing)) - lo + 1)[: int(np.prod(shape))] + lo
                v = (k * dom.spacing).reshape(shape)
            else:
                v = rng.uniform(dom.low, dom.high, shape)
            inputs[a.name] = keep_off_kinks(v.astype(dtype), dom)
        elif a.kind == "index":
            classes = sizes[a.classes] if isinstance(a.classes, str) else a.classes
            inputs[a.name] = rng.integers(0, classes, shape).astype(np.int64)
        else:
            inputs[a.name] = np.eye(shape[-1], dtype=dtype)[rng.integers(0, shape[-1], shape[:-1])]
    d = spec.param_domain
    params = {k: rng.uniform(d.low, d.high, resolve(s, sizes)).astype(dtype) for k, s in spec.params.items()}
    return Case(spec.name, dtype, sizes, inputs, params, int(rng.integers(0, 2**32 - 1)))


def throughput(quick: bool, repeats: int) -> dict:
    from oracles import JAX_STATS, REGISTRY
    from oracles.backends import RUNNERS, configure, output_shape
    from oracles.check import evaluate_case
    from oracles.directional import run_directional
    from oracles.strategies import cotangent, layouts

    configure()
    per_layer = 2 if quick else 12
    layers = LAYERS[:2] if quick else LAYERS  # --quick: two layers, two layouts each (few JAX compiles)
    runners = {**RUNNERS, "directional": run_directional}
    rng = np.random.default_rng(0)
    examples = []
    for name in layers:
        if name not in REGISTRY:
            continue
        spec = REGISTRY[name]
        lays = layouts(spec)
        for dtype in ("float64", "float32"):
            for j in range(per_layer):
                case = draw_case(spec, dtype, lays[j % len(lays)], rng)
                ct = cotangent(output_shape(spec, case)[0], dtype, case.seed)
                examples.append((spec, case, ct))
    # JAX: the first pass meets every (layer, layout, dtype) signature once: compiles; later passes hit
    before = (JAX_STATS.calls, JAX_STATS.compiles, JAX_STATS.compile_seconds)
    t0 = time.perf_counter()
    for spec, case, ct in examples:
        RUNNERS["jax"](spec, case, ct)
    cold = time.perf_counter() - t0
    first = (JAX_STATS.calls - before[0], JAX_STATS.compiles - before[1], JAX_STATS.compile_seconds - before[2])
    for o, fn in runners.items():  # warm every oracle once (first-call costs are not throughput)
        for spec, case, ct in examples:
            fn(spec, case, ct)
    alone = {o: [] for o in runners}
    full = {o: [] for o in RUNNERS}
    for _ in range(repeats):
        for o, fn in runners.items():
            t0 = time.perf_counter()
            for spec, case, ct in examples:
                fn(spec, case, ct)
            alone[o].append(len(examples) / (time.perf_counter() - t0))
        for o in RUNNERS:
            t0 = time.perf_counter()
            for spec, case, ct in examples:
                comps = evaluate_case(spec, case, (o,))
                assert all(c.passed for c in comps), [c.message() for c in comps if not c.passed][:1]
            full[o].append(len(examples) / (time.perf_counter() - t0))
    after = (JAX_STATS.calls - before[0], JAX_STATS.compiles - before[1], JAX_STATS.compile_seconds - before[2])
    rows = [{"oracle": o, "oracle_alone_examples_per_s": summary(alone[o]),
             "evaluate_case_examples_per_s": summary(full[o]) if o in full else None} for o in runners]
    return {
        "layers": [n for n in layers if n in REGISTRY], "examples": len(examples), "rows": rows,
        "jax": {"first_pass_calls": first[0], "first_pass_compiles": first[1],
                "first_pass_seconds": cold, "cost_per_new_shape_s": first[2] / first[1] if first[1] else 0.0,
                "calls": after[0], "compiles": after[1], "hit_rate": 1 - after[1] / after[0] if after[0] else 0.0,
                "process_total": {"calls": JAX_STATS.calls, "compiles": JAX_STATS.compiles,
                                  "hit_rate": JAX_STATS.hit_rate, "compile_seconds": JAX_STATS.compile_seconds}},
    }


def gate_wall(workers: int | None, timeout: float = 1800) -> dict:
    """`pytest -m oracle -q --hypothesis-profile=ci --oracle-no-records [-n workers --dist loadscope]`, once,
    in a fresh process: the gate exactly as `make gate` runs it (the ci profile: derandomized, so the two
    runs check the same examples and a failure is the gate's, not a random draw's)."""
    root = Path(__file__).resolve().parent.parent
    cmd = [sys.executable, "-m", "pytest", "-m", "oracle", "-q", "--hypothesis-profile=ci", "--oracle-no-records",
           "-p", "no:cacheprovider", "-rf"]
    if workers:
        cmd += ["-n", str(workers), "--dist", "loadscope"]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout, env={**os.environ})
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = "timeout", (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
    wall = time.perf_counter() - t0
    last = [ln for ln in out.strip().splitlines() if re.search(r"passed|failed|error", ln)][-1:] or [""]
    failed = re.findall(r"^FAILED (\S+)", out, flags=re.M)
    return {"command": " ".join(cmd[2:]), "wall_s": summary([wall]), "returncode": rc, "summary": last[0].strip(),
            "failed": failed}


def run(quick: bool = False, repeats: int = 3, skip_gate: bool = False) -> dict:
    res = {"title": "(d) gate throughput: examples per second per oracle, JAX compile cache, gate wall time",
           "throughput": throughput(quick, repeats)}
    if quick or skip_gate:
        res["gate"] = {"skipped": True, "reason": "--quick" if quick else "--skip-gate"}
    else:
        serial = gate_wall(None)
        xdist = gate_wall(2)
        res["gate"] = {"serial": serial, "xdist_n2": xdist,
                       "speedup": summary([serial["wall_s"]["median"] / xdist["wall_s"]["median"]]),
                       "note": "one run each (minutes per run): median = min = max"}
    res["note"] = (f"{res['throughput']['examples']} examples ({', '.join(res['throughput']['layers'])}; float64 and float32; "
                   "each layer's layouts in turn); evaluate_case includes the reference run, hygiene re-runs and comparisons")
    return res


def table(res: dict):
    from .report import fmt_v

    head = ["oracle", "oracle alone (examples/s)", "evaluate_case (examples/s)"]
    body = [[r["oracle"], fmt_v(r["oracle_alone_examples_per_s"], digits=4),
             fmt_v(r["evaluate_case_examples_per_s"], digits=4) if r["evaluate_case_examples_per_s"] else "-"]
            for r in res["throughput"]["rows"]]
    j = res["throughput"]["jax"]
    body.append(["jax cache", f"hit rate {j['hit_rate']:.1%} over {j['calls']} calls ({j['compiles']} compiles)",
                 f"cost per new shape {j['cost_per_new_shape_s'] * 1e3:.0f} ms"])
    g = res["gate"]
    if g.get("skipped"):
        body.append(["gate wall", f"skipped ({g['reason']})", ""])
    else:
        for k in ("serial", "xdist_n2"):
            body.append([f"gate {k}", f"{g[k]['wall_s']['median']:.1f} s (rc {g[k]['returncode']})", g[k]["summary"]])
        body.append(["xdist speedup", f"{g['speedup']['median']:.2f}x", ""])
    return head, body
