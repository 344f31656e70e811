"""The float32 error budget: how much rounding a correct float32 implementation shows on *this* example.

The fixed float32 row of the tolerance table (atol = rtol = 1e-5) is right for well-conditioned
examples, and wrong for ill-conditioned ones: a LayerNorm row whose values nearly coincide divides
rounding noise by a tiny standard deviation, a long reduction that cancels to ~0 keeps the rounding of
its large terms. Scaling by array size (JAX's habit) guesses at this; here it is measured.

For every float32 example the harness also runs PyTorch in float64 on the same (float32-representable)
inputs: that is the example's true answer up to float64 rounding. PyTorch's own float32 distance from
it, per stage,

    noise_i = max over PyTorch32, JAX32 of |framework32_i - torch64_i|,
              and |torch64(inputs moved by one float32 unit roundoff)_i - torch64_i|

the second term (`perturbed`) being what any backward-stable float32 implementation is entitled to lose:
a framework that accumulates in float64 (PyTorch's CPU LayerNorm) shows far less than a correct plain
float32 reference whose centring of 1e3 + O(1) values rounds at the scale of 1e3. float64 examples get
the same measurement at one float64 unit roundoff (`float64_noise`), the table's atol as the floor.

is what correct float32 implementations actually lost to rounding on this example. The atol in force is,
element by element,

    atol_i = max(FLOOR * M, FACTOR * envelope_i, max_j noise_j)

- envelope_i: the largest noise among the entries of comparable size (|truth| within the same or an
  adjacent octave as entry i's). Location-robust: two correct float32 implementations that sum in
  different orders lose comparable accuracy on entries of comparable size, but not at the same entries
  (measured: a LayerNorm over 1e3 + O(1) values whose reference dgamma had 4.6x PyTorch's error at the
  entry where PyTorch happened to round well), while entries 1e-3 the size of the largest keep their
  own, far smaller, noise: a 1e-3 relative error there stays caught (tests/test_canaries.py).
- FACTOR = 10: a reference may be up to ten times less accurate than the frameworks (observed: within
  1-5x), while a 0.1% gradient bug still exceeds it on every example whose noise is below 1e-4 of the
  entry's size, i.e. all but the worst-conditioned.
- max_j noise_j: the stage's worst float32 error, once (not ten times): an entry whose result cancels
  to far below its terms rounds at the terms' size, which its own magnitude does not tell; where a
  framework happened to compute such an entry exactly, the stage's worst error stands in. Once, so a
  1e-3 error on entries 1e-3 the size of the largest still fails wherever the frameworks' worst error is
  below 1e-6 of the largest (measured ~1e-7 on the canary layers).
- FLOOR * M, FLOOR = eps32 = 2 u32: the reference and the framework each rounding once at M, the
  largest magnitude the example's backward carries: the cotangent's largest entry (a backward starts from
  it: a softmax loss at extreme logits rounds 1 - 1e-17 to 1 and leaves a ~1e-16 gradient where the truth
  is ~1e-17) and every gradient's largest true entry (a gradient that is exactly zero, the queries' of an
  attention whose keys all coincide, is a cancellation of terms that size: measured 9.6e-7 in a correct
  float32 reference where both frameworks computed 0 exactly). Where both frameworks happen to compute an entry exactly, that one rounding is still
  allowed. Scaled by the example, never a fixed number: a fixed float32 atol (the table's 1e-5) assumes
  O(1) values and lets a 0.1% error on entries of size 1e-3 through.
Each comparison records the noise it was given (`extra["float32_noise"]`) and the largest atol it used.

Two correct float32 implementations are sampled, because either may round exactly by luck where the
problem is ill-conditioned (measured: a BatchNorm2d over a near-constant channel inside a network, where
PyTorch float32 gave dgamma = 0 exactly, JAX -1.0e-5 and the reference 3.1e-5, true value ~0).
At a kink, where a framework differs on purpose (JAX's leaky_relu'(0) = 1), only PyTorch is sampled:
such a difference must never widen the budget. Generated networks leave out layers whose frameworks
disagree at a kink, since their inputs can land on it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .names import FRAMEWORKS, Stage
from .spec import LayerSpec
from .strategies import Case
from .tolerances import Tol

FACTOR = 10.0
FLOOR = float(np.finfo(np.float32).eps)  # 2 u32: both sides rounding once
TINY32 = float(np.finfo(np.float32).tiny)


def float32_noise(spec: LayerSpec, case: Case, ct: np.ndarray, answers: dict,
                  frameworks: tuple[str, ...] = FRAMEWORKS, perturb: bool = True) -> dict[str, np.ndarray]:
    """stage -> max over `frameworks` of |framework32 - torch64|, element by element, on this example
    (PyTorch is run in float32 here too when it was not among the oracles asked). perturb=False on a kink
    or tie: a move of one ulp there changes sides, which is a convention, not rounding."""
    from .backends import run_torch

    up = Case(case.layer, "float64", case.sizes,
              {a.name: upcast(case.inputs[a.name]) if a.kind != "index" else case.inputs[a.name] for a in spec.inputs},
              {k: upcast(v) for k, v in case.params.items()}, case.seed)
    run = getattr(spec, "truth_runner", None) or run_torch  # a custom function's: with its grad2 and jvp stages
    try:
        truth = run(spec, up, tuple(upcast(c) for c in ct) if spec.outputs else upcast(ct))
        t32 = None if any(k[0] == "torch" for k in answers) else run(spec, case, ct)
    except Exception:
        return {}
    truth, mine = truth.by_stage(), (t32.by_stage() if t32 is not None else {})
    moved = smooth_only(perturbed(spec, up, ct, float(np.finfo(np.float32).eps) / 2, run), truth) if perturb else {}
    found = {stage: ([mine[stage]] if stage in mine else []) + ([moved[stage]] if stage in moved else [])
             + [answers[(o, stage)] for o in frameworks if (o, stage) in answers] for stage in truth}
    # the example's scale: the cotangent and every gradient's largest true entry (a backward carries them)
    carried = [*(ct if isinstance(ct, (tuple, list)) else (ct,)), *(t for s, t in truth.items() if not Stage(s).is_forward)]
    top = max((float(np.max(np.abs(c[np.isfinite(c)]), initial=0.0)) for c in map(np.asarray, carried)), default=0.0)
    return measured_noise(truth, found, at_least=top)


@dataclass(frozen=True)
class Noise:
    """What the budget measured on one stage: the frameworks' float32 error per entry (`entries`), its
    location-robust envelope (`envelope`), and the stage's largest true magnitude (`scale`)."""

    entries: np.ndarray
    envelope: np.ndarray
    scale: float


def measured_noise(truth: dict, found: dict, at_least: float = 0.0) -> dict:
    """key -> Noise: max over found[key] of |found - truth[key]|, element by element, in float64 (the
    noise of the rule above), for any keying (a layer's stages; a network's (site path, stage) pairs).

    truth: key -> the float64 answer (None: nothing to measure). found: key -> the float32 answers of
    correct implementations; those that are None or not of the truth's shape are ignored. A key is left
    out when no answer remains or when its noise is not finite everywhere. `at_least`: the floor's scale
    is at least this (the cotangent's largest entry: every backward starts from it)."""
    out = {}
    for key, t in truth.items():
        if t is None:
            continue
        answers = [f for f in found.get(key, ()) if f is not None and np.shape(f) == np.shape(t)]
        if not answers:
            continue
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            noise = np.max([np.abs(np.asarray(f, dtype=np.float64) - t) for f in answers], axis=0)
        if np.isfinite(noise).all() and np.isfinite(t).all():
            scale = max(float(np.max(np.abs(t), initial=0.0)), at_least)
            out[key] = Noise(noise, envelope(noise, t, scale), scale)
    return out


def envelope(noise: np.ndarray, truth: np.ndarray, scale: float) -> np.ndarray:
    """Per entry, the largest noise among entries whose |truth| lies in the same or an adjacent octave
    (entries below FLOOR * scale share the lowest one)."""
    if noise.size == 0:
        return noise
    mag = np.maximum(np.abs(truth), max(FLOOR * scale, np.finfo(np.float64).tiny))
    octave = np.floor(np.log2(mag)).astype(np.int64)
    octave -= octave.min()
    top = np.zeros(int(octave.max()) + 3)
    np.maximum.at(top, octave + 1, noise)
    return np.maximum(np.maximum(top[octave], top[octave + 1]), top[octave + 2])


def widen(tol: Tol, noise: Noise | None, dtype: str = "float32") -> Tol:
    """The tolerance for one comparison under the budget: element by element, max(floor, FACTOR x the
    noise envelope, the stage's largest noise); the table's rtol. The floor: float32, FLOOR x the scale
    the backward carries; float64, the table's atol (float64_noise). No measurement: the table."""
    if noise is None:
        return tol
    floor = FLOOR * noise.scale + TINY32 if dtype == "float32" else tol.atol
    atol = np.maximum(np.maximum(floor, FACTOR * noise.envelope), float(np.max(noise.entries, initial=0.0)))
    return Tol(atol=atol, rtol=tol.rtol)


def noise_summary(noise: Noise | None) -> float | None:
    return None if noise is None else float(np.max(noise.entries, initial=0.0))


def float64_noise(spec: LayerSpec, case: Case, ct, answers: dict) -> dict:
    """stage -> Noise for a float64 example: the example's own conditioning, measured. There is no
    float128 truth; what a backward-stable float64 implementation may lose is what one unit roundoff on
    every input and parameter moves the answer by (`perturbed`), which is measured here with PyTorch
    (a LayerNorm of 1e3 + O(1) values: ~1e3 / std ulps; measured 1.9e-12 between two correct float64
    implementations where the table allows 1e-12). Only widens: the table's atol stays the floor, and on
    well-conditioned examples 10 x the measurement is far below it."""
    from .backends import run_torch

    # the truth and the moved answer from one runner (a custom function's own: its grad_math, grad2, jvp);
    # two different runners would measure their disagreement, not rounding, and excuse a wrong gradient
    run = getattr(spec, "truth_runner", None) or run_torch
    try:
        truth = run(spec, case, ct).by_stage()
    except Exception:
        return {}
    moved = smooth_only(perturbed(spec, case, ct, float(np.finfo(np.float64).eps) / 2, run), truth)
    return measured_noise(truth, {s: [v] for s, v in moved.items()})


#: the largest move of an entry, relative to max(|truth|, 1e-3 x the stage's largest), that counts as
#: rounding: 10 x it stays a tenth of the 0.1% error the harness promises to catch. A larger move under a
#: one-ulp perturbation is a jump (a tie broken, a kink crossed), not rounding, and is left out.
PERTURB_CAP = 1e-5


def smooth_only(moved: dict, truth: dict) -> dict:
    """`moved` with every entry that jumped (see PERTURB_CAP) put back to the truth."""
    out = {}
    for s, m in moved.items():
        t = truth.get(s)
        if t is None or np.shape(t) != np.shape(m):
            continue
        t, m = np.asarray(t, dtype=np.float64), np.asarray(m, dtype=np.float64)
        top = float(np.max(np.abs(t[np.isfinite(t)]), initial=0.0))
        with np.errstate(invalid="ignore"):
            ok = np.abs(m - t) <= PERTURB_CAP * np.maximum(np.abs(t), 1e-3 * top)
        out[s] = np.where(ok, m, t)
    return out


def perturbed(spec: LayerSpec, case: Case, ct, unit: float, run) -> dict:
    """stage -> the float64 answer (`run`, PyTorch by default) with every float input and parameter moved
    by one unit roundoff `unit` of the example's precision, each entry in a random direction: the answer's
    sensitivity to the rounding of its own inputs, which any backward-stable implementation in that
    precision is entitled to (a float32 LayerNorm of 1e3 + O(1) values rounds its centring at the scale
    of 1e3: the frameworks, accumulating in float64, do not show it; the perturbation does)."""
    rng = np.random.default_rng(case.seed)

    def move(a):
        a = upcast(a)
        return a * (1.0 + unit * rng.choice([-1.0, 1.0], size=a.shape)) if a.dtype.kind == "f" else a

    moved = Case(case.layer, "float64", case.sizes,
                 {a.name: move(case.inputs[a.name]) if a.kind == "float" else case.inputs[a.name] for a in spec.inputs},
                 {k: move(v) for k, v in case.params.items()}, case.seed)
    cts = tuple(upcast(c) for c in ct) if isinstance(ct, (tuple, list)) else upcast(ct)
    try:
        return run(spec, moved, cts).by_stage()
    except Exception:
        return {}


def upcast(a) -> np.ndarray:
    """Floating arrays to float64 (the truth's inputs); integer arrays (labels, indices) unchanged."""
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a
