"""The float32 error budget: how much rounding a correct float32 implementation shows on *this* example.

The fixed float32 row of the tolerance table (atol = rtol = 1e-5) is right for well-conditioned
examples, and wrong for ill-conditioned ones: a LayerNorm row whose values nearly coincide divides
rounding noise by a tiny standard deviation, a long reduction that cancels to ~0 keeps the rounding of
its large terms. Scaling by array size (JAX's habit) guesses at this; here it is measured.

For every float32 example the harness also runs PyTorch in float64 on the same (float32-representable)
inputs: that is the example's true answer up to float64 rounding. PyTorch's own float32 distance from
it, per stage,

    noise = max |torch32 - torch64|

is what a correct float32 implementation actually lost to rounding on this example.
The atol in force becomes max(table atol, FACTOR * noise): a reference may be up to FACTOR times less
accurate than the frameworks, never more. FACTOR = 10 leaves room for a different summation order
(observed: a reference within 1-3x of the frameworks' error) while a 0.1% gradient bug still exceeds it
on every example whose noise is below 1e-4 of the gradient's size, i.e. all but the worst-conditioned.
Each comparison records the noise it was given (`extra["float32_noise"]`) and the atol it used.

Only PyTorch measures the noise, against itself: a framework whose answer differs on purpose (JAX's
leaky_relu'(0) = 1 where the reference and PyTorch take the slope) must not widen the budget with that
difference, and the same implementation in two precisions differs by rounding alone.
float64 keeps the table (there is no float128 truth to measure against).
"""
from __future__ import annotations

import numpy as np

from .spec import LayerSpec
from .strategies import Case
from .tolerances import Tol

FACTOR = 10.0


def float32_noise(spec: LayerSpec, case: Case, ct: np.ndarray, answers: dict) -> dict[str, float]:
    """stage -> PyTorch float32's largest distance from PyTorch float64 on this example."""
    from .backends import run_torch

    frameworks = ["torch"] if any(k[0] == "torch" for k in answers) else []
    if not frameworks:
        return {}
    up = Case(case.layer, "float64", case.sizes,
              {a.name: _up(case.inputs[a.name]) if a.kind != "index" else case.inputs[a.name] for a in spec.inputs},
              {k: _up(v) for k, v in case.params.items()}, case.seed)
    try:
        truth = run_torch(spec, up, _up(ct))
    except Exception:
        return {}
    out = {}
    for stage in spec.stages():
        t = truth.output if stage == "forward" else truth.grads.get(stage[5:])
        if t is None:
            continue
        errs = [float(np.max(np.abs(answers[(o, stage)].astype(np.float64) - t), initial=0.0))
                for o in frameworks if (o, stage) in answers and answers[(o, stage)].shape == np.shape(t)]
        errs = [e for e in errs if np.isfinite(e)]
        if errs:
            out[stage] = max(errs)
    return out


def widen(tol: Tol, noise: float | None) -> Tol:
    """The tolerance in force for one float32 comparison: the table's, or FACTOR x the measured noise."""
    if noise is None or FACTOR * noise <= tol.atol:
        return tol
    return Tol(atol=FACTOR * noise, rtol=tol.rtol)


def _up(a) -> np.ndarray:
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a
