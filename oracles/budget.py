"""The float32 error budget: how much rounding a correct float32 implementation shows on *this* example.

The fixed float32 row of the tolerance table (atol = rtol = 1e-5) is right for well-conditioned
examples, and wrong for ill-conditioned ones: a LayerNorm row whose values nearly coincide divides
rounding noise by a tiny standard deviation, a long reduction that cancels to ~0 keeps the rounding of
its large terms. Scaling by array size (JAX's habit) guesses at this; here it is measured.

For every float32 example the harness also runs PyTorch in float64 on the same (float32-representable)
inputs: that is the example's true answer up to float64 rounding. PyTorch's own float32 distance from
it, per stage,

    noise_i = max over PyTorch32, JAX32 of |framework32_i - torch64_i|,
              and |torch64 rounded like float32 (`rounded`)_i - torch64_i|

is what correct float32 implementations lost to rounding on this example. The second term
(`rounding_moves`) is what any float32 implementation of the math is entitled to lose, which a framework
that computes better than the plain math does not show (PyTorch's float32 autograd of a saturated tanh
computes tanh(9.9) = 1 exactly and 1 - t^2 = 0; a reference whose float32 tanh is one ulp below 1 gets
1.2e-7 for the true 9.6e-9, then x.T @ (g * that): measured 6.7e-7 on a grad_W entry where both
frameworks erred by 5e-8). It is the float64 answer with every input and parameter moved by one float32
unit roundoff and every inexact PyTorch operation of the forward and the backward rounded by one (random
signs): the input perturbation alone measures the function's conditioning, not the cancellations of the
algorithm (1 - t^2; x - mean(x) of 1e3 + O(1) values, to which an input perturbation whose signs agree
along a row is invisible). Moves that do not scale like a smooth function's with the size of the
rounding are jumps (a tie broken, a kink crossed) and are left out (`rounding_moves`). float64 examples
get the same measurement at one float64 unit roundoff (`float64_noise`), the table's atol as the floor.

The atol in force is, element by element,

    atol_i = max(FLOOR * M, FACTOR * envelope_i, max_j noise_j)

- envelope_i: the largest noise among the entries of comparable size (|truth| within the same or an
  adjacent octave as entry i's). Location-robust: two correct float32 implementations that sum in
  different orders lose comparable accuracy on entries of comparable size, but not at the same entries
  (measured: a LayerNorm over 1e3 + O(1) values whose reference dgamma had 4.6x PyTorch's error at the
  entry where PyTorch happened to round well), while entries 1e-3 the size of the largest keep their
  own, far smaller, noise: a 1e-3 relative error there stays caught (tests/test_canaries.py).
- FACTOR = 10: a reference may be up to ten times less accurate than the frameworks (observed: within
  1-5x), while a 0.1% gradient bug still exceeds it on every example whose noise is below 1e-4 of the
  entry's size, i.e. all but the worst-conditioned. The closest observed: the textbook LayerNorm backward
  (tests/tricky layernorm_offset_1e3, float32, 1e3 + O(1) values) leaves the centring's rounding in dx as
  a common-mode error that autograd's backward projects out, so neither the frameworks nor the rounded
  operations show it at its size; it passes on the envelope and the stage's largest noise, with a
  headroom of 1.05 at worst over 20 seeds of 10 examples (grad_x).
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
    moved = rounding_moves(spec, up, ct, float(np.finfo(np.float32).eps) / 2, run, truth) if perturb else {}
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
    float128 truth; what a float64 implementation of the math may lose is what one float64 rounding of
    every input, parameter and inexact operation moves the answer by (`rounding_moves`: measured at 2^10
    and 2^11 unit roundoffs, where the measuring run's own rounding is small beside the move, and divided
    by the power law it follows), which is measured here with PyTorch (a LayerNorm of 1e3 + O(1) values:
    ~1e3 / std ulps; measured 1.9e-12 between two correct float64 implementations where the table allows
    1e-12, and 5.1e-12 (reference) and 7.7e-12 (JAX) on a row [999.35, 999.11, 999.11] whose gradient
    cancels to 8e-3: the moved inputs alone moved it by 3.6e-15, the rounded operations by 1.7e-11). Only widens: the table's atol stays the floor, and on
    well-conditioned examples 10 x the measurement is far below it."""
    from .backends import run_torch

    # the truth and the moved answer from one runner (a custom function's own: its grad_math, grad2, jvp);
    # two different runners would measure their disagreement, not rounding, and excuse a wrong gradient
    run = getattr(spec, "truth_runner", None) or run_torch
    try:
        truth = run(spec, case, ct).by_stage()
    except Exception:
        return {}
    moved = rounding_moves(spec, case, ct, float(np.finfo(np.float64).eps) / 2, run, truth)
    return measured_noise(truth, {s: [v] for s, v in moved.items()})


#: The move is measured at two sizes, k and 2k unit roundoffs (k: scale_for), with the same signs. A
#: smooth sensitivity moves like a power of the size, m(t) = c t^p: by the factor 2^p from one size to
#: the other. p = 1 where the first derivative moves the answer; p = 2 where it vanishes by symmetry (a
#: LayerNorm row of equal values: its gradient is even in the offset a rounded mean leaves; a float32
#: mean of 999.1, 999.1 and 999.1 rounds). A jump (a tie broken, a kink crossed, by the perturbation or
#: by the rounding it injects) is not a power law: crossed at both sizes it moves the same J (factor 1,
#: p = 0). So an entry counts as smooth where the factor is positive and its log2 lies in
#: [P_LOW, P_HIGH] = [0.5, 2.5]: the smooth orders p = 1..2 with a slack of 0.5 (a mix of first and
#: second order, m = a t + b t^2, gives log2 factors between 1 and 2; a jump's p = 0 lies outside by the
#: slack). What it counts is the move at the smaller size, m(k): a jump crossed only at the larger size
#: is not in it, and one crossed at the smaller size only (the larger undoing it) would have to grow
#: 1.4 to 5.7 times to pass. The measuring run's own rounding is below 2^-10 of the move (MEASURED_ABOVE,
#: scale_for), far inside the slack. The move per unit is m(k) / k^p (float32: k = 1, m(1) itself).
#: A jump is left out (the truth put back), never counted as rounding, whatever its size. This test
#: replaces a cap on the move's size (1e-5 of the entry), which also dropped the smooth moves of
#: ill-conditioned examples it was meant to measure (a float32 LayerNorm of 1e3 + O(1) values: 1e-4 to
#: 3e-4 of the entry under one ulp).
P_LOW, P_HIGH = 0.5, 2.5
MEASURED_ABOVE = 2.0 ** 10


def scale_for(unit: float) -> float:
    """k: how many unit roundoffs the smaller measurement moves by. The moved answer is computed in float64,
    whose own rounding (~u64 per operation, at the same operations that are perturbed) rides on the move;
    at k * unit >= MEASURED_ABOVE * u64 it is below 2^-10 of a first-order move. float32: k = 1
    (u32 = 2^29 u64); float64: k = 2^10, and the move is divided by k^p (a power law, which the test
    checks)."""
    return max(1.0, MEASURED_ABOVE * float(np.finfo(np.float64).eps) / 2 / unit)


def rounding_moves(spec: LayerSpec, case: Case, ct, unit: float, run, truth: dict) -> dict:
    """stage -> the truth moved by what one rounding of `unit` moves it by (`rounded`), element by element,
    where that move is smooth (P_LOW, P_HIGH above); the truth itself where it jumped."""
    k = scale_for(unit)
    small, large = (rounded(spec, case, ct, f * k * unit, run) for f in (1.0, 2.0))
    out = {}
    for s, t in truth.items():
        a, b = small.get(s), large.get(s)
        if t is None or a is None or b is None or not np.shape(a) == np.shape(b) == np.shape(t):
            continue
        t = np.asarray(t, dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            m1, m2 = np.asarray(a, dtype=np.float64) - t, np.asarray(b, dtype=np.float64) - t
            p = np.log2(m2 / m1)  # NaN where the factor is negative or 0/0
            smooth = (p >= P_LOW) & (p <= P_HIGH)
            per_unit = m1 / k ** np.where(smooth, p, 1.0)
        out[s] = t + np.where(smooth & np.isfinite(per_unit), per_unit, 0.0)
    return out


def rounded(spec: LayerSpec, case: Case, ct, unit: float, run) -> dict:
    """stage -> the float64 answer (`run`, PyTorch by default) computed as a `unit`-precision implementation of
    the math may compute it: every float input and parameter moved by one `unit` (`perturbed`) and, where the
    runner computes with PyTorch, the result of every inexact operation of the forward and the backward too
    (`Rounding`). Both with random signs. {} when the runner cannot run; inputs alone when the injection
    cannot run."""
    try:
        with Rounding(unit, case.seed):
            return perturbed(spec, case, ct, unit, run, quiet=False)
    except Exception:
        return perturbed(spec, case, ct, unit, run)


def perturbed(spec: LayerSpec, case: Case, ct, unit: float, run, quiet: bool = True) -> dict:
    """stage -> the float64 answer (`run`, PyTorch by default) with every float input and parameter moved
    by one unit roundoff `unit` of the example's precision, each entry in a random direction: the answer's
    sensitivity to the rounding of its own inputs, which any backward-stable implementation in that
    precision is entitled to. `quiet`: {} when the runner raises (else it raises)."""
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
        if quiet:
            return {}
        raise


#: aten operations whose result is exact in any precision (they move, select, compare or negate values, or
#: make constants): no rounding is injected there, which would be rounding no implementation does
EXACT_OPS = frozenset((
    "clone", "_to_copy", "copy", "lift_fresh", "lift_fresh_copy", "contiguous", "_unsafe_view", "alias",
    "zeros", "zeros_like", "ones", "ones_like", "empty", "empty_like", "empty_strided", "full", "full_like", "fill",
    "scalar_tensor", "new_zeros", "new_ones", "new_empty", "new_full", "new_empty_strided",
    "neg", "abs", "sign", "sgn", "relu", "max", "min", "amax", "amin", "maximum", "minimum", "clamp", "clamp_min",
    "clamp_max", "where", "masked_fill", "threshold_backward", "sort", "topk", "max_pool2d_with_indices",
    "max_pool2d_with_indices_backward", "cat", "stack", "index", "index_select", "gather", "scatter", "index_put",
    "masked_select", "embedding", "select_backward", "slice_backward", "constant_pad_nd", "flip", "roll", "repeat",
    "tril", "triu", "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "logical_and", "logical_or", "isnan", "isinf",
    "isfinite",
))


def _rounding_mode():
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    class _Rounding(TorchDispatchMode):
        """Multiplies the floating result of every inexact, non-aliasing PyTorch operation (forward and
        backward alike) by (1 + unit * s), s = +-1 at random per element: one rounding of the given unit
        at each operation, as an implementation in that precision does (each operation's result rounded
        to within one unit roundoff). Its signs come from a generator seeded by the example, so the sizes
        of `rounding_moves` inject the same signs at the same operations."""

        def __init__(self, unit: float, seed: int):
            super().__init__()
            self.unit, self.gen = unit, torch.Generator().manual_seed(int(seed) * 2 + 1)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            schema = func._schema
            if schema.is_mutable or func._opname in EXACT_OPS or any(r.alias_info is not None for r in schema.returns):
                return out
            if isinstance(out, (tuple, list)):
                return type(out)(self._round(t) for t in out)
            return self._round(out)

        def _round(self, t):
            if not isinstance(t, torch.Tensor) or not t.is_floating_point() or t.numel() == 0:
                return t
            s = torch.randint(0, 2, t.shape, generator=self.gen, dtype=t.dtype)  # the mode is off in here
            return t * (1.0 + self.unit * (2.0 * s - 1.0))

    return _Rounding

def Rounding(unit: float, seed: int):
    """The rounding-injection mode (a context manager): see `_rounding_mode`."""
    return _rounding_mode()(unit, seed)


def upcast(a) -> np.ndarray:
    """Floating arrays to float64 (the truth's inputs); integer arrays (labels, indices) unchanged."""
    a = np.asarray(a)
    return a.astype(np.float64) if a.dtype.kind == "f" else a
