"""The float32 error budget: how much rounding a correct float32 implementation shows on *this* example.

The fixed float32 row of the tolerance table (atol = rtol = 1e-5) is right for well-conditioned
examples, and wrong for ill-conditioned ones: a LayerNorm row whose values nearly coincide divides
rounding noise by a tiny standard deviation, a long reduction that cancels to ~0 keeps the rounding of
its large terms. Scaling by array size (JAX's habit) guesses at this; here it is measured.

For every float32 example the harness also runs PyTorch in float64 on the same (float32-representable)
inputs: that is the example's true answer up to float64 rounding. PyTorch's own float32 distance from
it, per stage,

    noise_i = max over PyTorch32, JAX32 of |framework32_i - torch64_i|

is what correct float32 implementations actually lost to rounding on this example.
The atol in force becomes, element by element, max(table atol, FACTOR * noise_i, max noise): a
reference may be up to FACTOR times less accurate than PyTorch at each element, never more (the last term
floors elements PyTorch happened to round exactly at the stage's worst single-precision error). FACTOR = 10 leaves room for a different summation order
(observed: a reference within 1-3x of the frameworks' error) while a 0.1% gradient bug still exceeds it
on every example whose noise is below 1e-4 of the gradient's size, i.e. all but the worst-conditioned.
Each comparison records the noise it was given (`extra["float32_noise"]`) and the atol it used.

Two correct float32 implementations are sampled, because either may round exactly by luck where the
problem is ill-conditioned (measured: a BatchNorm2d over a near-constant channel inside a network, where
PyTorch float32 gave dgamma = 0 exactly, JAX -1.0e-5 and the reference 3.1e-5, true value ~0).
At a kink, where a framework differs on purpose (JAX's leaky_relu'(0) = 1), only PyTorch is sampled:
such a difference must never widen the budget. Generated networks leave out layers whose frameworks
disagree at a kink, since their inputs can land on it.
float64 keeps the table (there is no float128 truth to measure against).
"""
from __future__ import annotations

import numpy as np

from .names import FRAMEWORKS
from .spec import LayerSpec
from .strategies import Case
from .tolerances import Tol

FACTOR = 10.0


def float32_noise(spec: LayerSpec, case: Case, ct: np.ndarray, answers: dict,
                  frameworks: tuple[str, ...] = FRAMEWORKS) -> dict[str, np.ndarray]:
    """stage -> max over `frameworks` of |framework32 - torch64|, element by element, on this example
    (PyTorch is run in float32 here too when it was not among the oracles asked)."""
    from .backends import run_torch

    up = Case(case.layer, "float64", case.sizes,
              {a.name: upcast(case.inputs[a.name]) if a.kind != "index" else case.inputs[a.name] for a in spec.inputs},
              {k: upcast(v) for k, v in case.params.items()}, case.seed)
    run = getattr(spec, "truth_runner", None) or run_torch  # a custom function's: with its grad2 and jvp stages
    try:
        truth = run(spec, up, upcast(ct))
        t32 = None if any(k[0] == "torch" for k in answers) else run(spec, case, ct)
    except Exception:
        return {}
    truth, mine = truth.by_stage(), (t32.by_stage() if t32 is not None else {})
    found = {stage: ([mine[stage]] if stage in mine else [])
             + [answers[(o, stage)] for o in frameworks if (o, stage) in answers] for stage in truth}
    return measured_noise(truth, found)


def measured_noise(truth: dict, found: dict) -> dict:
    """key -> max over found[key] of |found - truth[key]|, element by element, in float64: the noise of
    the rule above, for any keying (a layer's stages; a network's (site path, stage) pairs).

    truth: key -> the float64 answer (None: nothing to measure). found: key -> the float32 answers of
    correct implementations; those that are None or not of the truth's shape are ignored. A key is left
    out when no answer remains or when its noise is not finite everywhere."""
    out = {}
    for key, t in truth.items():
        if t is None:
            continue
        answers = [f for f in found.get(key, ()) if f is not None and np.shape(f) == np.shape(t)]
        if not answers:
            continue
        with np.errstate(invalid="ignore"):
            noise = np.max([np.abs(np.asarray(f, dtype=np.float64) - np.asarray(t, dtype=np.float64)) for f in answers], axis=0)
        if np.isfinite(noise).all():
            out[key] = noise
    return out


def widen(tol: Tol, noise) -> Tol:
    """The tolerance for one float32 comparison: element by element, max(table atol, FACTOR x that
    element's noise, the stage's largest noise). The last term is a floor (FACTOR/10 x the largest)
    for elements where PyTorch happened to round exactly; an entry of a stage is never allowed more
    than FACTOR x its own noise unless the whole stage is that noisy."""
    if noise is None:
        return tol
    noise = np.asarray(noise, dtype=np.float64)
    if noise.size == 0 or FACTOR * float(noise.max()) <= tol.atol:
        return tol
    atol = np.maximum(np.maximum(tol.atol, FACTOR * noise), float(noise.max()))
    return Tol(atol=atol, rtol=tol.rtol)


def noise_summary(noise) -> float | None:
    return None if noise is None else float(np.max(noise, initial=0.0))


def upcast(a) -> np.ndarray:
    """Floating arrays to float64 (the truth's inputs); integer arrays (labels, indices) unchanged."""
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a
