"""(a) The seeds' experiment: backprop against the central-difference numerical gradient, by parameter count.

Network: Affine(d, h) - Relu - Affine(h, 1) + MeanSquaredError (the reference's layers), batch 64.
2-10-1 is the seeds' regression network (41 parameters); d = h = 31, 99, 315 give (h+1)^2 = 1,024,
10,000 and 99,856 parameters. Numerical: the book's central difference (reference.numerical_gradient's
loop, h = 1e-4), 2 forwards per parameter. Where a full pass would take too long, a random sample of
parameters is timed and the time scaled by (parameters / sample): the output says so. Directional: the
O(1) oracle (oracles/directional.py, k = 3 directions, 4 forwards each).
"""
from __future__ import annotations

import numpy as np

import reference as R
from oracles.directional import directional_probes

from .timing import interleaved, ratios, summary

SIZES_FULL = [(2, 10), (31, 31), (99, 99), (315, 315)]
SIZES_QUICK = [(2, 10), (31, 31)]
BATCH = 64


def _net(d: int, h: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    net = R.Sequential([R.Affine(rng.normal(0, np.sqrt(2 / d), (d, h)), np.zeros(h)), R.Relu(),
                        R.Affine(rng.normal(0, np.sqrt(2 / h), (h, 1)), np.zeros(1))], R.MeanSquaredError())
    x = rng.uniform(-1, 1, (BATCH, d))
    t = (x @ rng.normal(size=(d, 1))) + 0.1
    return net, x, t


def _numerical(net, x, t, picks, h=1e-4):
    """The book's central difference over the (name, flat index) picks; returns {name: {index: value}}."""
    params = net.params()
    out = {}
    for name, i in picks:
        flat = params[name].reshape(-1)
        orig = flat[i]
        flat[i] = orig + h
        f1 = net.forward(x, t)
        flat[i] = orig - h
        f2 = net.forward(x, t)
        flat[i] = orig
        out.setdefault(name, {})[i] = (f1 - f2) / (2 * h)
    return out


def run(quick: bool = False, repeats: int = 5) -> dict:
    sizes = SIZES_QUICK if quick else SIZES_FULL
    full_limit = 1_100 if quick else 10_001  # up to here the whole numerical gradient is timed
    sample = 200 if quick else 1_000
    rows = []
    for d, h in sizes:
        net, x, t = _net(d, h)
        params = net.params()
        n_params = sum(v.size for v in params.values())
        everything = [(n, i) for n, v in params.items() for i in range(v.size)]
        rng = np.random.default_rng(1)
        if n_params <= full_limit:
            picks, extrapolated = everything, False
        else:
            picks = [everything[j] for j in np.sort(rng.choice(len(everything), sample, replace=False))]
            extrapolated = True
        scale = n_params / len(picks)

        def backprop():
            net.forward(x, t)
            net.backward()

        def numerical():
            _numerical(net, x, t, picks)

        def directional():
            backprop()
            grads = {k: v.copy() for k, v in net.grads().items()}
            saved = {k: v.copy() for k, v in params.items()}

            def fwd(vals):
                for k, v in vals.items():
                    params[k][...] = v
                return net.forward(x, t)

            probes = directional_probes(fwd, saved, grads, 1.0, k=3)
            for k, v in saved.items():
                params[k][...] = v
            return probes

        reps = repeats if n_params < 50_000 else max(3, repeats - 2)
        times = interleaved({"backprop": backprop, "numerical": numerical, "directional": directional}, reps,
                            number={"numerical": 1, "directional": 1} if n_params > 1_000 else None)
        times["numerical"] = [s * scale for s in times["numerical"]]
        # correctness on the side: the numerical values against backprop on the timed picks
        backprop()
        grads = net.grads()
        num = _numerical(net, x, t, picks)
        err = max(abs(v - grads[n].reshape(-1)[i]) for n, d_ in num.items() for i, v in d_.items())
        probes = directional()
        rows.append({
            "network": f"{d}-{h}-1", "params": int(n_params), "numerical_extrapolated": extrapolated,
            "numerical_sampled_params": len(picks),
            "backprop_s": summary(times["backprop"]), "numerical_s": summary(times["numerical"]),
            "directional_s": summary(times["directional"]),
            "numerical_over_backprop": ratios(times, "numerical", "backprop"),
            "directional_over_backprop": ratios(times, "directional", "backprop"),
            "numerical_over_directional": ratios(times, "numerical", "directional"),
            "numerical_max_abs_error": float(err), "directional_passed": all(p.passed for p in probes),
        })
    return {"title": "(a) backprop vs central differences (full, and directional k=3), batch 64, float64",
            "note": "numerical_s is extrapolated (time of a random sample of parameters x params/sample) where "
                    "numerical_extrapolated is true", "rows": rows}


def table(res: dict) -> tuple[list[str], list[list[str]]]:
    from .report import fmt_s, fmt_x

    head = ["network", "params", "backprop", "numerical (full)", "directional", "num/backprop", "dir/backprop", "num/dir", "num err", "dir ok"]
    body = []
    for r in res["rows"]:
        body.append([r["network"], f"{r['params']:,}", fmt_s(r["backprop_s"]),
                     fmt_s(r["numerical_s"]) + (f" *extrap. from {r['numerical_sampled_params']}" if r["numerical_extrapolated"] else ""),
                     fmt_s(r["directional_s"]), fmt_x(r["numerical_over_backprop"]), fmt_x(r["directional_over_backprop"]),
                     fmt_x(r["numerical_over_directional"]), f"{r['numerical_max_abs_error']:.1e}", str(r["directional_passed"])])
    return head, body
