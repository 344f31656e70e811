"""The numerical oracle: central differences of the reference layer's own forward, with an error bound of
its own on every entry.

It shares no code with the frameworks, so it checks backward against forward even where a spec's math is
wrong. For each entry v_i of every differentiable input and parameter, of L(v) = sum(ct * forward(v)) in
float64 (the outputs are differenced before weighting, so entries a step does not move cancel exactly),
with five evaluations (v - 2h, v - h, v, v + h, v + 2h; the centre is shared by every entry):

    value = D(h) = (L(v + h) - L(v - h)) / 2h = L'(v) + c h^2 + O(h^4) + rounding
    bound = TRUNCATION_FACTOR * |D(h) - D(2h)|       the truncation, measured (Richardson): it bounds c h^p
                                                     for any order p >= 1 (a seam is first order)
          + rho(h) / 2h                              rounding from the magnitudes the step moved
          + |L(v-2h) - 4L(v-h) + 6L(v) - 4L(v+h) + L(v+2h)| / h   the rounding as measured on this layer
          + 2 u |v_i| / h * |value|                  the step as the layer sees it (inputs it rounds)

rho(h) = ROUNDING_FACTOR * u * sum(|ct| * (|up| + |down|)) over the output entries the step moved (every
entry when it moved none), u the unit roundoff of the precision the layer computes in. The fourth
difference is h^4 L^(4) (negligible) plus ~8.4 times one evaluation's rounding: a sample of what this
layer really rounds (large intermediate values that cancel, as in a LayerNorm of 1e3 + O(1) values, round
far above u |out|), counted at ~12 times the rounding it implies for D(h). D(h) is reported rather than
the Richardson value (4 D(h) - D(2h)) / 3: the bound is D(h)'s, and measured on the zoo and the tricky
corpus it covers the true error (|D(h) - PyTorch float64|) on 99.8% of entries with a median bound of
~100x the error (scripts/numerical_bound_audit.py); a bound far looser would make the oracle useless.

The step is h = STEP[precision] * scale_i (~(2u)^(1/3), the central difference's optimum), scale_i the
entry's magnitude (at least the array's mean), but at most the array's spread: values of 1e-4 are not
stepped by 1e-6, nor values of 1e3 + O(1) by 6e-3. Where the bound is above the resolution the judge
needs (tolerances.resolution_needed), the entry is probed again at steps moved toward the optimum of
truncation (~h^2) and rounding (~1/h) as measured, and on the unit scale; the tightest estimate that
another one corroborates is kept (a step beyond the function's own scale can fool Richardson; two steps
are unlikely to be fooled into the same answer). Correct layers pay 4 forwards per entry (today's
central difference paid 2) plus 4 per example; refinement only where the first bound is too loose.

Precision: three extra forwards (`computes_in`) tell whether the layer computes in float32 whatever it is
given: moved by a quarter of a float32 spacing from a point of the float32 grid, its output does not
move at all. In a float64 check that is a finding on every stage ("computes in
float32"); in a float32 check the bound uses float32's unit roundoff instead of crying wolf.

Kinks: the one-sided slopes (L(v + h) - L(v)) / h and (L(v) - L(v - h)) / h of a smooth function differ
by h |L''| (2h |L''| at twice the step); at a kink they differ by the jump, whatever the step. Entries
whose slopes differ by KINK_JUMP of the gradient's scale at both steps and do not scale like curvature
are marked; the judge names them when a disagreement sits there.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .answer import Answer, Kinks
from .names import FORWARD, Stage
from .spec import LayerSpec
from .strategies import Case
from .tolerances import resolution_needed

UNIT = {"float64": float(np.finfo(np.float64).eps) / 2, "float32": float(np.finfo(np.float32).eps) / 2}
#: relative step per precision the layer computes in: ~(2u)^(1/3), the central difference's optimum
STEP = {"float64": 6e-6, "float32": 5e-3}
#: each entry of a forward rounds like a chain of up to 16 roundings of its own size; more than that (large
#: intermediate values that cancel) is measured on the example by the fourth-difference term of _probe
ROUNDING_FACTOR = 16.0
#: with err(h) = c h^p, |D(h) - D(2h)| = (2^p - 1) err(h): err(h) <= |D(h) - D(2h)| for any order p >= 1,
#: equal at p = 1 (a seam where the second derivative jumps, as in Huber: the error is first order), a
#: third of it at p = 2 (smooth). 1.5: half again for the higher-order rest and the rounding D(2h) carries.
TRUNCATION_FACTOR = 1.5
#: a refinement moves a step by REFINE^2 where rounding dominates, and never by more than MAX_MOVE
REFINE = 8.0
MAX_MOVE = 4096.0
#: one-sided slopes differing by this fraction of the gradient's scale (or more) mark a kink
KINK_JUMP = 1e-3


@dataclass
class _Estimate:
    value: np.ndarray
    bound: np.ndarray
    jump_h: np.ndarray
    jump_2h: np.ndarray
    left: np.ndarray
    right: np.ndarray
    rounding: np.ndarray  # the a-priori rounding part of the bound


def run_numerical(spec: LayerSpec, case: Case, ct: np.ndarray) -> Answer:
    """Central differences of sum(ct * layer.forward(...)) in float64, with a bound per entry (module
    docstring): `Answer.grads` the Richardson values, `uncertainty` their bounds, `kinks` where the
    forward is not differentiable, `notes` a layer that computes in float32 in a float64 check."""
    t0 = time.perf_counter()
    inputs = {a.name: (np.array(case.inputs[a.name], dtype=np.float64) if a.kind != "index"
                       else np.array(case.inputs[a.name])) for a in spec.inputs}
    params = {k: np.array(v, dtype=np.float64) for k, v in case.params.items()}
    ct64 = np.asarray(ct, dtype=np.float64)
    order = [a.name for a in spec.inputs]

    def forward() -> np.ndarray:
        layer = spec.make(dict(params), **spec.config)
        # a copy: a layer may return a view of its input (Flatten), which the next step would move
        return np.array(layer.forward(*[inputs[n] for n in order]), dtype=np.float64, copy=True)

    targets = [*((n, inputs[n]) for n in spec.diff_inputs), *params.items()]
    center = forward()
    grads, uncertainty, kinks = {}, {}, {}
    # a non-finite output or an overflowing difference gives an infinite bound (inconclusive), not a warning
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        precision = computes_in(forward, center, [a for _, a in targets])
        for name, arr in targets:
            est = _estimate(forward, arr, ct64, center, precision)
            stage = Stage.grad(name)
            grads[name], uncertainty[stage] = est.value, est.bound
            kinks[stage] = _kinks(est)
    notes = {}
    if precision == "float32" and case.dtype == "float64":
        text = ("the layer computes in float32 whatever it is given: its float64 output does not move when its "
                "inputs and parameters move by a quarter of a float32 spacing (float64 values, float32 accuracy)")
        notes = {s: text for s in [FORWARD, *uncertainty]}
    return Answer(None, grads, time.perf_counter() - t0, uncertainty=uncertainty, kinks=kinks, notes=notes)


def computes_in(forward, center: np.ndarray, arrays: list[np.ndarray]) -> str:
    """"float32" when the layer rounds what it is given to float32: its output at a point a of the
    float32 grid and at a + a quarter of a float32 spacing (which rounds back to a) is identical, while a
    move 1e4 times larger changes some entry by far more than 1e4 of that entry's float64 spacings (so
    in float64 the small move would have shown). Else "float64".
    Three forwards; the arrays are restored."""
    moved = [a for a in arrays if a.size and np.any(a != 0) and np.all(np.isfinite(a))]
    if not moved or center.size == 0:
        return "float64"
    saved = [a.copy() for a in moved]
    try:
        outs = []
        for k in (0.0, 0.25, 2500.0):
            for a, s in zip(moved, saved):
                grid = s.astype(np.float32).astype(np.float64)
                a[...] = grid + k * np.spacing(np.abs(grid).astype(np.float32)).astype(np.float64) * (grid != 0)
            outs.append(forward())
    finally:
        for a, s in zip(moved, saved):
            a[...] = s
    if not np.array_equal(outs[0], outs[1], equal_nan=True) or outs[0].shape != outs[2].shape:
        return "float64"
    # the small move is 1e-4 of the large one: in float64 it would show wherever the large move changed
    # an entry by 1e4 x 8 of that entry's own spacing (a float64 layer whose inputs barely matter does not
    # count as float32)
    with np.errstate(invalid="ignore"):
        visible = np.abs(outs[2] - outs[0]) >= 8e4 * np.spacing(np.abs(outs[0]))
    return "float32" if np.any(visible) else "float64"


def _estimate(forward, arr: np.ndarray, ct: np.ndarray, center: np.ndarray, precision: str) -> _Estimate:
    """Every entry of `arr` (perturbed in place through a flat view, restored after each entry)."""
    flat = arr.reshape(-1)
    scale = _scale(flat)
    steps = STEP[precision] * scale
    cols = [np.empty(flat.size) for _ in range(7)]  # the _Estimate fields
    for i in range(flat.size):
        _put(cols, i, _probe(forward, flat, i, steps[i], ct, center, precision))
    est = _Estimate(*(c.reshape(arr.shape) for c in cols))
    need = resolution_needed(est.value).reshape(-1)
    ratio = _better_step(est.bound.reshape(-1) - cols[6], cols[6])
    unit = STEP[precision] * np.maximum(np.abs(flat), 1.0)
    fields = (est.value, est.bound, est.jump_h, est.jump_2h, est.left, est.right, est.rounding)
    for i in np.flatnonzero(~(est.bound.reshape(-1) <= need)):
        tries = [tuple(f.flat[i] for f in fields)]
        tries += [_probe(forward, flat, i, steps[i] * r, ct, center, precision) for r in (ratio[i], ratio[i] ** 2)]
        best = _corroborated(tries)
        if not best[1] <= need[i] and unit[i] != steps[i]:
            best = _corroborated(tries + [_probe(forward, flat, i, unit[i], ct, center, precision)])
        for f, v in zip(fields, best):
            f.flat[i] = v
    return est


def _corroborated(tries: list[tuple]) -> tuple:
    """Of several estimates of one entry (value, bound, ...) at different steps, the tightest one that
    another estimate agrees with (|difference| <= the sum of their bounds). A step beyond the function's
    own scale can fool Richardson into a tight but wrong bound; two steps are unlikely to be fooled into
    the same answer. None corroborated: the tightest, its bound widened to cover every estimate."""
    ok = [t for t in tries if any(o is not t and abs(t[0] - o[0]) <= t[1] + o[1] for o in tries)]
    if ok:
        return min(ok, key=lambda t: t[1])
    best = min(tries, key=lambda t: t[1])
    spread = max(abs(t[0] - best[0]) + t[1] for t in tries)
    return (best[0], max(best[1], spread), *best[2:])


def _better_step(truncation: np.ndarray, rounding: np.ndarray) -> np.ndarray:
    """The factor that moves each step toward the optimum of truncation (~h^2) + rounding (~1/h):
    (rounding / (2 truncation))^(1/3) where the measured truncation dominates; where it does not, it is
    mostly rounding noise itself and the truncation unknown but small: a larger step, REFINE^2. Kept
    within MAX_MOVE either way."""
    with np.errstate(divide="ignore", invalid="ignore"):
        optimum = np.cbrt(rounding / (2.0 * truncation))
    ratio = np.where(truncation > rounding, optimum, REFINE ** 2)
    return np.clip(np.nan_to_num(ratio, nan=1.0), 1.0 / MAX_MOVE, MAX_MOVE)


def _scale(flat: np.ndarray) -> np.ndarray:
    """Per entry, the scale its step is a fraction of: its magnitude (at least the array's mean
    magnitude), but no more than the array's spread, which is the scale a function of values sharing a
    large common offset varies on (LayerNorm of 1e3 + O(1)). 1 where everything is 0."""
    if not flat.size:
        return np.ones(0)
    mag = np.maximum(np.abs(flat), float(np.mean(np.abs(flat))))
    spread = float(np.std(flat))
    scale = np.minimum(mag, spread) if spread > 0 else mag
    return np.where(scale > 0, scale, 1.0)


def _put(cols, i, numbers) -> None:
    for col, v in zip(cols, numbers):
        col[i] = v


def _probe(forward, flat: np.ndarray, i: int, h: float, ct: np.ndarray, center: np.ndarray, precision: str) -> tuple:
    """(value, bound, jump at h, jump at 2h, left slope, right slope, rounding part of the bound) of
    entry i at step h: 4 forwards."""
    orig = flat[i]
    outs, taken = [], []
    for step in (h, 2 * h):
        hi, lo = orig + step, orig - step  # divide by the step actually taken, not the intended 2h
        flat[i] = hi
        up = forward()
        flat[i] = lo
        down = forward()
        outs.append((up, down))
        taken.append((hi - orig, orig - lo))
    flat[i] = orig
    if min(min(t) for t in taken) <= 0:  # a step below the entry's own resolution moved nothing at all
        return 0.0, np.inf, 0.0, 0.0, np.nan, np.nan, np.inf
    (up1, dn1), (up2, dn2) = outs
    d1 = float(np.sum(ct * (up1 - dn1))) / (taken[0][0] + taken[0][1])
    d2 = float(np.sum(ct * (up2 - dn2))) / (taken[1][0] + taken[1][1])
    u = UNIT[precision]
    value = d1
    rounding = _rho(ct, up1, dn1, u) / (taken[0][0] + taken[0][1])
    bound = TRUNCATION_FACTOR * abs(d1 - d2) + rounding + 2.0 * u * abs(orig) / h * abs(value)
    right = float(np.sum(ct * (up1 - center))) / taken[0][0]
    left = float(np.sum(ct * (center - dn1))) / taken[0][1]
    jump_2h = abs(float(np.sum(ct * (up2 - center))) / taken[1][0] - float(np.sum(ct * (center - dn2))) / taken[1][1])
    # the fourth difference of the five points is ~h^4 L(4) (negligible) plus ~8.4x the rounding of one
    # evaluation: a sample of the rounding as it is on this layer (sums of large intermediate values
    # that cancel round far above u |out|), counted at ~12x the rounding it implies for D(h)
    bound += abs(float(np.sum(ct * (dn2 - 4 * dn1 + 6 * center - 4 * up1 + up2)))) / h
    if not np.isfinite(bound):
        bound = np.inf
    return value, bound, abs(right - left), jump_2h, left, right, rounding


def _rho(ct: np.ndarray, up: np.ndarray, down: np.ndarray, u: float) -> float:
    """Rounding of sum(ct * (up - down)): ROUNDING_FACTOR * u * sum |ct| (|up| + |down|) over the entries
    the step moved. A step that moved nothing (a locally constant output, or a step below the output's
    resolution) counts every entry: a change below their rounding can hide a gradient.""" 
    terms = np.abs(ct) * (np.abs(up) + np.abs(down))  # broadcast as the difference itself is
    moved = np.broadcast_to(up != down, terms.shape)
    return ROUNDING_FACTOR * u * float(np.sum(terms[moved] if moved.any() else terms))


def _kinks(est: _Estimate) -> Kinks:
    """Entries where the one-sided slopes jump by KINK_JUMP of the gradient's scale (and by more than four
    times what rounding could make of them) at both steps, and the jump does not grow with the step as
    curvature's would (2x at twice the step): the forward is not differentiable there."""
    scale = np.maximum(np.abs(est.value), float(np.max(np.abs(est.value), initial=0.0)) * 1e-3)
    floor = np.maximum(KINK_JUMP * scale, 4.0 * est.rounding)
    big = (est.jump_h > floor) & (est.jump_2h > floor)
    smooth = np.abs(est.jump_2h - 2.0 * est.jump_h) <= 0.25 * est.jump_h
    mask = big & ~smooth
    return Kinks(mask=mask, left=np.where(mask, est.left, np.nan), right=np.where(mask, est.right, np.nan))
