"""(e) check_function against torch.autograd.gradcheck on the same custom Function.

The Function: out = tanh(x @ W), with a backward that is differentiable twice and a jvp; x (20, 25) and
W (25, 20): 1,000 input elements. check_function runs with its defaults (both dtypes; PyTorch, JAX and
central differences; forward, first order, second order and jvp; 10 examples per dtype), once cold (JAX
compiles, reported separately) and then warm. gradcheck (float64, one input, first order only) in its
default mode (full numerical and analytical Jacobians) and with fast_mode=True (one random projection),
and gradgradcheck (second order) for the same question check_function's grad2 stages ask.
"""
from __future__ import annotations

import time

import numpy as np

from .timing import interleaved, summary

SIZES = {"n": (20,), "i": (25,), "o": (20,)}


def tanh_affine():
    import torch

    class TanhAffine(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, W):
            ctx.save_for_backward(x, W)
            ctx.save_for_forward(x, W)
            return torch.tanh(x @ W)

        @staticmethod
        def backward(ctx, g):
            x, W = ctx.saved_tensors
            y = torch.tanh(x @ W)
            d = g * (1 - y * y)
            return d @ W.T, x.T @ d

        @staticmethod
        def jvp(ctx, tx, tW):
            x, W = ctx.saved_tensors
            y = torch.tanh(x @ W)
            return (1 - y * y) * (tx @ W + x @ tW)

    return TanhAffine


def math(xp, x, W):
    return xp.tanh(x @ W)


def run(quick: bool = False, repeats: int = 5) -> dict:
    import torch

    from oracles import JAX_STATS, check_function

    fn = tanh_affine()

    def check():
        return check_function(fn, math=math, inputs={"x": ("n", "i"), "W": ("i", "o")}, sizes=SIZES, record=False)

    before = JAX_STATS.compile_seconds
    t0 = time.perf_counter()
    cold = check()
    cold_s, compile_s = time.perf_counter() - t0, JAX_STATS.compile_seconds - before
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.uniform(-1, 1, (20, 25))).requires_grad_(True)
    W = torch.from_numpy(rng.uniform(-0.3, 0.3, (25, 20))).requires_grad_(True)
    results = {}

    def keep(name, f):
        def call():
            results[name] = f()
        return call

    fns = {
        "check_function": keep("check_function", lambda: check().passed),
        "gradcheck_default": keep("gradcheck_default", lambda: torch.autograd.gradcheck(fn.apply, (x, W))),
        "gradcheck_fast": keep("gradcheck_fast", lambda: torch.autograd.gradcheck(fn.apply, (x, W), fast_mode=True)),
        "gradgradcheck_fast": keep("gradgradcheck_fast", lambda: torch.autograd.gradgradcheck(fn.apply, (x, W), fast_mode=True)),
    }
    times = interleaved(fns, 2 if quick else repeats, number={k: 1 for k in fns})
    return {
        "title": "(e) check_function vs gradcheck on one torch.autograd.Function (1,000 input elements)",
        "function": "tanh(x @ W), x (20, 25), W (25, 20), float64 for gradcheck",
        "cold_s": cold_s, "jax_compile_s": compile_s, "cold_passed": cold.passed,
        "stages": cold.results["float64"].stages,
        "times": {k: summary(v) for k, v in times.items()}, "passed": results,
        "note": ("check_function: defaults (float64 + float32, torch + jax + numerical, forward, grad, grad2, jvp, "
                 f"10 examples per dtype); cold run {cold_s:.2f} s of which JAX compiles {compile_s:.2f} s. "
                 "gradcheck checks float64 first order on one input; gradgradcheck second order."),
    }


def table(res: dict):
    from .report import fmt_s

    head = ["check", "time (median/min/max)", "passed"]
    body = [[k, fmt_s(v), str(res["passed"].get(k))] for k, v in res["times"].items()]
    return head, body
