"""(b) Reference vs frameworks: forward+backward of 784-50-10 (Affine-Relu-Affine-SoftmaxWithLoss),
batch 100, float32 and float64: NumPy reference, PyTorch eager, JAX jit (warm), and the fraction of this
machine's matrix-multiply peak the reference reaches.

FLOPs counted: the three matmuls per Affine (forward x@W, dW = x.T@dout, dx = dout@W.T), 2*N*I*O each:
6 * 100 * (784*50 + 50*10) = 23.8 MFLOP per step. (The reference computes the first layer's dx too, which
PyTorch and JAX skip since x needs no gradient: the count is what the reference does.) The peak is a
large square GEMM (2048^3, 1024^3 with --quick) through NumPy in the same dtype, timed in the same
repetition. NumPy's BLAS and PyTorch both run with `threads` threads (default 1: on a
shared machine more threads mostly measure contention), so the peak is that of the same cores.
"""
from __future__ import annotations

import numpy as np

import reference as R

from .timing import interleaved, ratios, summary

N, I, H, O = 100, 784, 50, 10
FLOPS = 6 * N * (I * H + H * O)


def blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        return max([p.get("num_threads", 1) for p in threadpool_info() if p.get("user_api") == "blas"] or [1])
    except Exception:
        return 1


def run(quick: bool = False, repeats: int = 7, threads: int = 1) -> dict:
    import jax
    import jax.numpy as jnp
    import torch
    import torch.nn.functional as F

    from oracles.backends import configure

    configure()
    torch_threads_before = torch.get_num_threads()
    from threadpoolctl import threadpool_limits

    limiter = threadpool_limits(threads, user_api="blas")  # the same cores for NumPy's BLAS and PyTorch
    torch.set_num_threads(threads)
    gemm_n = 1024 if quick else 2048
    rows = []
    try:
        for dtype in ("float64", "float32"):
            rng = np.random.default_rng(0)
            W1 = (rng.normal(size=(I, H)) * np.sqrt(2 / I)).astype(dtype)
            b1 = np.zeros(H, dtype)
            W2 = (rng.normal(size=(H, O)) * np.sqrt(2 / H)).astype(dtype)
            b2 = np.zeros(O, dtype)
            x = rng.uniform(0, 1, (N, I)).astype(dtype)
            t = rng.integers(0, O, N)
            net = R.Sequential([R.Affine(W1.copy(), b1.copy()), R.Relu(), R.Affine(W2.copy(), b2.copy())], R.SoftmaxWithLoss())

            def ref():
                net.forward(x, t)
                net.backward()

            tp = [torch.from_numpy(a.copy()).requires_grad_(True) for a in (W1, b1, W2, b2)]
            tx, tt = torch.from_numpy(x), torch.from_numpy(t)

            def tor():
                loss = F.cross_entropy(torch.relu(tx @ tp[0] + tp[1]) @ tp[2] + tp[3], tt)
                return torch.autograd.grad(loss, tp)

            def jloss(p, x, t):
                z = jax.nn.relu(x @ p[0] + p[1]) @ p[2] + p[3]
                return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z, axis=1), t[:, None], axis=1))

            jstep = jax.jit(jax.value_and_grad(jloss))
            jp = [jnp.asarray(a) for a in (W1, b1, W2, b2)]
            jx, jt = jnp.asarray(x), jnp.asarray(t)

            def jx_step():
                jax.block_until_ready(jstep(jp, jx, jt))

            # the three agree (a sanity check, not a timing)
            ref()
            g_t = [g.numpy() for g in tor()]
            _, g_j = jstep(jp, jx, jt)
            agree = max(float(np.max(np.abs(a - np.asarray(b, dtype=np.float64)))) for a, b in
                        zip([net.layers[0].dW, net.layers[0].db, net.layers[2].dW, net.layers[2].db], g_t))
            agree_j = max(float(np.max(np.abs(a - np.asarray(b, dtype=np.float64)))) for a, b in
                          zip(g_t, [np.asarray(v) for v in g_j]))
            jx_step()  # compile: warm from here on

            A = rng.normal(size=(gemm_n, gemm_n)).astype(dtype)
            B = rng.normal(size=(gemm_n, gemm_n)).astype(dtype)
            gemm = lambda: A @ B  # noqa: E731
            times = interleaved({"reference": ref, "torch": tor, "jax": jx_step, "gemm": gemm}, repeats,
                                target=0.05, number={"gemm": 1})
            peak = [2 * gemm_n**3 / s for s in times["gemm"]]
            frac = [(FLOPS / r) / p for r, p in zip(times["reference"], peak)]
            frac_t = [(FLOPS / r) / p for r, p in zip(times["torch"], peak)]
            rows.append({
                "dtype": dtype, "batch": N, "flops_per_step": FLOPS,
                "reference_s": summary(times["reference"]), "torch_eager_s": summary(times["torch"]),
                "jax_jit_s": summary(times["jax"]), "gemm_s": summary(times["gemm"]), "gemm_n": gemm_n,
                "gemm_peak_gflops": summary([p / 1e9 for p in peak]),
                "reference_gflops": summary([FLOPS / r / 1e9 for r in times["reference"]]),
                "reference_fraction_of_peak": summary(frac), "torch_fraction_of_peak": summary(frac_t),
                "reference_over_torch": ratios(times, "reference", "torch"),
                "reference_over_jax": ratios(times, "reference", "jax"),
                "max_abs_grad_diff_reference_torch": agree, "max_abs_grad_diff_torch_jax": agree_j,
            })
    finally:
        torch.set_num_threads(torch_threads_before)
        limiter.restore_original_limits()
    return {"title": "(b) 784-50-10 forward+backward, batch 100: reference vs PyTorch eager vs JAX jit (warm)",
            "threads": threads, "blas_threads_default": blas_threads(),
            "note": f"BLAS and PyTorch intra-op threads: {threads}. Fraction of peak: (23.8 MFLOP / time) / "
                    f"(2 n^3 / time of an n = {gemm_n} GEMM via NumPy, same dtype, same repetition).",
            "rows": rows}


def table(res: dict):
    from .report import fmt_s, fmt_v, fmt_x

    head = ["dtype", "reference", "torch eager", "jax jit", "ref/torch", "ref/jax", "ref GFLOP/s", "GEMM peak GFLOP/s", "ref % peak", "torch % peak"]
    body = []
    for r in res["rows"]:
        pct = lambda s: {k: (v * 100 if k != "runs" else v) for k, v in s.items()}  # noqa: E731
        body.append([r["dtype"], fmt_s(r["reference_s"]), fmt_s(r["torch_eager_s"]), fmt_s(r["jax_jit_s"]),
                     fmt_x(r["reference_over_torch"]), fmt_x(r["reference_over_jax"]), fmt_v(r["reference_gflops"]),
                     fmt_v(r["gemm_peak_gflops"]), fmt_v(pct(r["reference_fraction_of_peak"]), "%"),
                     fmt_v(pct(r["torch_fraction_of_peak"]), "%")])
    return head, body
