"""The numerical oracle: central differences of the reference layer's own forward, with an error bound of
its own on every entry.

It shares no code with the frameworks, so it checks backward against forward even where a spec's math is
wrong. For each entry v_i of every differentiable input and parameter, of L(v) = sum(ct * forward(v)) in
float64 (the outputs are differenced before weighting, so entries a step does not move cancel exactly),
with five evaluations (v - t h, v - h, v, v + h, v + t h, t = RATIO = 2.5; the centre is shared by every
entry):

    value = D(h) = (L(v + h) - L(v - h)) / 2h = L'(v) + c h^p + rounding
    bound = TRUNCATION_FACTOR * |D(h) - D(t h)|      the truncation, measured (Richardson): it bounds
                                                     c h^p for any order p >= 1 (a seam is first order)
          + rho(h) / 2h                              rounding from the magnitudes the step moved
          + NOISE_FACTOR * |sum_k w_k L(v_k)| / h    the rounding as measured on this layer
          + 2 u |v_i| / h * |value|                  the step as the layer sees it (inputs it rounds)

rho(h) = ROUNDING_FACTOR * u * sum(|ct| * (|up| + |down|)) over the output entries the step moved, u the
unit roundoff of the precision the layer computes in. w is the fourth divided difference on the five
nodes, scaled to sum |w| = 1: ~h^4 L^(4) (negligible) plus a sample of one evaluation's rounding, which
for a layer whose large intermediate values cancel (a LayerNorm of 1e3 + O(1) values) is far above
u |out|. The ratio t = 2.5 (not 2) keeps rounding that grows with the step (a coarse quantum, as in
(x + 1e7) - 1e7) from repeating at both steps and hiding from Richardson. A step that moves no output
at all says nothing (infinite bound); it is retried 8 times larger, and if that moves nothing
either, the output is constant at the entry's scale (a dead unit: derivative 0, bound the output's
rounding at that step). Measured on the zoo and the tricky corpus (scripts/numerical_bound_audit.py) the
bound covers the true error |D(h) - PyTorch float64| on 99.9+% of entries with a median of ~50-100x it;
a bound far looser would make the oracle useless.

The step is h = STEP[precision] * scale_i (~(2u)^(1/3), the central difference's optimum), scale_i the
entry's magnitude (at least the array's mean), but at most the array's spread: values of 1e-4 are not
stepped by 1e-6, nor values of 1e3 + O(1) by 6e-3. Where the bound is above the resolution the judge
needs (tolerances.resolution_needed at the example's scale, as the judge reads it; never below the 1e-12
every comparison allows), the entry is probed again at steps moved toward the optimum of truncation
(~h^2) and rounding (~1/h) as measured, and on the unit scale, until one meets the need (an entry
that no step can bring to it is tried once, at the step predicted best: _hopeless; in a check, only
after the judging without it did not pass, and where it could decide: _sharpen); the tightest estimate
that another one corroborates is kept (a step beyond the function's own scale can fool Richardson; two
steps are unlikely to be fooled into the same answer). A step that moves no output bounds the
derivative by the output's rounding over that step; a constant output is tried at the largest step
first and left there if that too moves nothing. 4 forwards an entry, 3 an example: stencil.py.

Careful look (`estimate`'s fifth result, Answer.careful): rounding that is odd in the step (e(-h) = -e(h):
the float64 sum of 999 + 999 + 999 +- h rounds on a grid symmetric about 2997) cancels out of the fourth
difference and reaches Richardson only by chance. One more forward per entry, at SIXTH h, gives a fifth
difference that sees it; the check (looks.second_looks) asks for it only where a numerical comparison
did not pass, since it only widens the bound (a pass stands either way), and only on the stages where
a wider bound can still change the verdict (looks._careful).

Precision: two extra forwards (`rounding.computes_in`; three to five for a layer that rounds to float32)
tell whether the layer computes in float32 whatever it is given: moved by a quarter of a float32 spacing
from a point of the float32 grid, its output does not move at all (while a larger move shows): in a
float64 check a finding on every stage ("computes in float32"); in a float32 check the bound uses
float32's unit roundoff instead of crying wolf. Kinks: kinks_found.py.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from .answer import Answer
from .kinks_found import _kinks
from .names import Stage
from .protocol import as_tuple, outputs_of
from .spec import LayerSpec
from .strategies import Case
from .rounding import RATIO, computes_in, sixth_noise
from .stencil import NOISE_FACTOR, _At, _nothing, _pair, _unmoved, probes, still_rounding
from .tolerances import TOLERANCES, resolution_needed
from .work import one_forward_each

#: relative step per precision the layer computes in: ~(2u)^(1/3), the central difference's optimum
STEP = {"float64": 6e-6, "float32": 5e-3}
#: a refinement moves a step by REFINE^2 where rounding dominates, and never by more than MAX_MOVE
REFINE = 8.0
MAX_MOVE = 4096.0
#: nor beyond FARTHEST of the entry's scale (or of 1): the outer node, RATIO h, within it. Farther, Richardson
#: can be fooled (a float32 sigmoid stepped by 20: D(h) ~ 1/h at both steps, far from L'). Binds in float32
FARTHEST = 1 / RATIO
#: a corroborated estimate is dropped when one at most this many times looser contradicts it: REFINE^2/4, so
#: refined steps can overrule each other but a first estimate that rounding made ~REFINE^2 looser cannot
CONTRADICTS = REFINE ** 2 / 4
#: a bound this small decides whatever the need: the judge allows at least this much in every comparison
#: (float64: the table's atol is the floor of every tolerance, budget.widen; float32: the budget's floor,
#: eps32 x a cotangent entry >= 0.5, is far above it). Where the example's gradient is exactly zero the
#: need is zero, and refining past this would buy nothing
ALWAYS_ALLOWED = TOLERANCES[("float64", "numerical", "grad")].atol


@dataclass
class _Estimate:
    value: np.ndarray
    bound: np.ndarray
    jump_h: np.ndarray
    jump_2h: np.ndarray  # at RATIO times the step
    left: np.ndarray
    right: np.ndarray
    rounding: np.ndarray  # the a-priori rounding part of the bound
    step: np.ndarray  # the step h of the estimate kept (NaN: none moved an output)
    noise: np.ndarray  # the fourth difference's noise sample at that step
    sums: np.ndarray  # sum(ct * (f - c)) at -RATIO h, -h, h, RATIO h: for the careful sixth node


def run_numerical(spec: LayerSpec, case: Case, ct: np.ndarray) -> Answer:
    """Central differences of sum(ct * layer.forward(...)) in float64, with a bound per entry (module
    docstring): `Answer.grads` the central differences D(h), `uncertainty` their bounds, `kinks` where the
    forward is not differentiable, `notes` a layer that computes in float32 in a float64 check."""
    t0 = time.perf_counter()
    inputs = {a.name: (np.array(case.inputs[a.name], dtype=np.float64) if a.kind != "index"
                       else np.array(case.inputs[a.name])) for a in spec.inputs}
    params = {k: np.array(v, dtype=np.float64) for k, v in case.params.items()}
    ct64 = _joined(as_tuple(ct))

    (make, tick), outputs = one_forward_each(spec.make), outputs_of(spec, inputs)

    def forward() -> np.ndarray:  # copies: a layer may return a view of its input (Flatten), which a step moves
        tick()
        return _joined(outputs(make(dict(params), **spec.config)))  # several outputs: one vector, cts alike

    targets = [*((n, inputs[n]) for n in spec.diff_inputs), *params.items()]
    grads, uncertainty, kinks, precision, careful, sharpen = estimate(forward, targets, ct64, defer=True)
    notes = {}
    if precision == "float32" and case.dtype == "float64":
        notes = {s: COMPUTES_IN_FLOAT32 for s in [*spec.forward_stages(), *uncertainty]}
    return Answer(None, grads, time.perf_counter() - t0, uncertainty=uncertainty, kinks=kinks, notes=notes,
                  careful=careful, sharpen=sharpen)


COMPUTES_IN_FLOAT32 = ("the layer computes in float32 whatever it is given: its float64 output does not move when "
                       "its inputs and parameters move by a quarter of a float32 spacing (float64 values, float32 "
                       "accuracy)")


def estimate(forward, targets: list[tuple[str, np.ndarray]], ct: np.ndarray, defer: bool = False) -> tuple:
    """The core, for any function: `forward()` evaluates the output (float64) of the arrays in `targets`
    (name, array), which are perturbed in place and restored. Returns (name -> D(h), stage -> its bound,
    stage -> Kinks, the precision the function computes in, `careful`: stage -> the bound widened by the
    sixth node's noise, `sharpen`: with `defer`, sharpen({stage: base}) -> (grads, uncertainty, kinks) of
    those stages after the tries _refine held back (_sharpen))."""
    center = forward()
    grads, uncertainty, kinks, held = {}, {}, {}, {}
    # a non-finite output or an overflowing difference gives an infinite bound (inconclusive), not a warning
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        at = _At(forward, ct, center, computes_in(forward, center, [a for _, a in targets]))
        first = [_estimate(at, arr) for _, arr in targets]
        # resolved as the judge resolves them: against the example's largest gradient entry, every stage
        scale = max((float(np.max(np.abs(e.value[np.isfinite(e.value)]), initial=0.0)) for e in first), default=0.0)
        for (name, arr), est in zip(targets, first):
            held[name] = _refine(at, arr, est, scale, defer)
            grads[name], uncertainty[Stage.grad(name)], kinks[Stage.grad(name)] = _said(est, defer)

    def careful(stages=None) -> dict:  # every stage, or those named
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return {Stage.grad(name): _careful(at, arr, est) for (name, arr), est in zip(targets, first)
                    if stages is None or Stage.grad(name) in stages}

    def sharpen(base: dict) -> tuple[dict, dict, dict]:
        out: tuple[dict, dict, dict] = ({}, {}, {})
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            for (name, arr), est in zip(targets, first):
                if Stage.grad(name) in base:
                    _sharpen(at, arr, est, *held[name], base[Stage.grad(name)])
                    out[0][name], out[1][Stage.grad(name)], out[2][Stage.grad(name)] = _said(est, True)
        return out

    return grads, uncertainty, kinks, at.precision, careful, sharpen if defer else None


def _said(est: _Estimate, copy: bool) -> tuple:
    """(value, bound, kinks) of an estimate; copies where a later look may still refine it in place."""
    return (est.value.copy(), est.bound.copy(), _kinks(est)) if copy else (est.value, est.bound, _kinks(est))


def _careful(at: _At, arr: np.ndarray, est: _Estimate) -> np.ndarray:
    """Each entry's bound with the noise term taken from the larger of the fourth difference and the fifth
    difference on six nodes (rounding.sixth_noise): one more forward, at SIXTH times the entry's step."""
    flat, bound = arr.reshape(-1), est.bound.copy()
    for i in np.flatnonzero(np.isfinite(est.step.reshape(-1)) & np.isfinite(bound.reshape(-1))):
        h, noise = est.step.flat[i], est.noise.flat[i]
        odd = sixth_noise(at.forward, flat, i, h, at.ct, at.center, est.sums.reshape(-1, 4)[i])
        bound.flat[i] += NOISE_FACTOR * max(0.0, abs(odd) - abs(noise)) / h
    return bound


def _joined(arrays: tuple) -> np.ndarray:
    """One output as it is (a wrong shape still broadcasts and is judged elsewhere); several as one vector."""
    if len(arrays) == 1:
        return np.asarray(arrays[0], dtype=np.float64)
    return np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])


def _estimate(at: _At, arr: np.ndarray) -> _Estimate:
    """Every entry of `arr` at its first step (perturbed in place through a flat view, restored after each
    entry); an entry whose step moved nothing, once more at a larger one (_constants)."""
    flat = arr.reshape(-1)
    steps = STEP[at.precision] * _scale(flat)
    got = probes(at, flat, range(flat.size), steps)
    rows = [fields for fields, _ in got]  # the _Estimate fields of each entry
    still = [i for i, (_, moved) in enumerate(got) if not moved]  # entries whose step moved no output at all
    for i, fields in zip(still, _constants(at, flat, still, steps[still])):
        rows[i] = fields
    cols = [np.array(c, dtype=np.float64) for c in zip(*rows)] or [np.empty(0) for _ in range(9)] + [np.empty((0, 4))]
    return _Estimate(*(c.reshape(arr.shape) for c in cols[:-1]), cols[-1].reshape(*arr.shape, 4))


def _fields(est: _Estimate) -> tuple:
    return (est.value, est.bound, est.jump_h, est.jump_2h, est.left, est.right, est.rounding, est.step, est.noise,
            est.sums.reshape(-1, 4))


def _refine(at: _At, arr: np.ndarray, est: _Estimate, scale: float, defer: bool = False) -> tuple[dict, np.ndarray]:
    """Where an entry's bound is above the resolution the judge needs (tolerances.resolution_needed, at
    the example's scale), probe it again at steps moved toward the measured optimum and on the unit
    scale, until one meets the need (_tried); keep the tightest corroborated estimate (in place). With
    `defer`, an entry no step can bring to its need (_hopeless) is held: returns (entry -> step, need)."""
    flat, fields = arr.reshape(-1), _fields(est)
    need = np.maximum(resolution_needed(est.value, scale), ALWAYS_ALLOWED).reshape(-1)
    todo = np.flatnonzero(~(est.bound.reshape(-1) <= need))
    dead = np.isnan(est.left.reshape(-1)) & (est.value.reshape(-1) == 0)  # no step moved it (_constants)
    held: dict[int, float] = {}
    _tried(at, flat, fields, _plans(at.precision, flat, est, todo, dead, need, held if defer else None), need, dead)
    return held, need


def _tried(at: _At, flat: np.ndarray, fields, plans: dict, need: np.ndarray, dead: np.ndarray) -> None:
    """Each entry of `plans` probed at its steps in turn, a round at a time, until one meets its need (a dead
    entry: until one moves nothing); its tightest corroborated estimate set in `fields`."""
    tries = {i: [_get(fields, i)] for i in plans}
    best, going = {}, list(plans)
    for r in range(max((len(p) for p in plans.values()), default=0)):
        now = [i for i in going if r < len(plans[i])]
        going = []
        for i, got in zip(now, _refined(at, flat, now, [plans[i][r] for i in now])):
            tries[i].append(got)
            best[i] = _corroborated(tries[i])
            if not (best[i][1] <= need[i] or dead[i] and _flat(got)):
                going.append(i)
    for i in best:
        _set(fields, i, best[i])


def _sharpen(at: _At, arr: np.ndarray, est: _Estimate, held: dict[int, float], need: np.ndarray, base) -> None:
    """The held tries (_refine), in place, each once. `base`: the judge's allowance per entry without own
    bound (None: try all). An entry decides at own <= max(need, base) (undecided_reason, allowed = base +
    own). Where the first step measured a derivative above its bound, a try at a larger step s moves the
    same outputs or more: rounding part >= ~rounding h / s (_hopeless), the rest adds; tried only if loose
    and that could decide. Else (smaller step; outputs moved by rounding, sdpa_causal's zeros): tried."""
    flat, go = arr.reshape(-1), list(held)
    if base is not None:
        b = np.broadcast_to(np.asarray(base, dtype=np.float64), est.bound.shape).reshape(-1)
        bound, r, h, v = (a.reshape(-1) for a in (est.bound, est.rounding, est.step, est.value))
        sure = {i for i in held if held[i] >= h[i] and abs(v[i]) > bound[i]}  # where the prediction holds
        go = [i for i in held if not bound[i] <= max(need[i], b[i]) and (i not in sure or r[i] * h[i] / held[i] <= b[i])]
    _tried(at, flat, _fields(est), {i: [held.pop(i)] for i in go}, need, np.zeros(flat.size, dtype=bool))


def _plans(precision: str, flat: np.ndarray, est: _Estimate, todo: np.ndarray, dead: np.ndarray,
           need: np.ndarray, held: dict | None = None) -> dict[int, list[float]]:
    """The steps each entry in `todo` is refined at, in order: moved toward the measured optimum (twice
    as far, then once), then the unit scale; none beyond FARTHEST of the entry's scale; a dead entry's
    largest first (constant there too, it is constant at the smaller ones, with more rounding). An entry
    that no step can bring to its need (_hopeless) is tried once, at the step predicted best; with
    `held`, it goes there (entry -> that step) instead, for a later look (_sharpen)."""
    steps = STEP[precision] * _scale(flat)
    ratio = _better_step(est.bound.reshape(-1) - est.rounding.reshape(-1), est.rounding.reshape(-1))
    unit = STEP[precision] * np.maximum(np.abs(flat), 1.0)
    far = FARTHEST * np.maximum(steps, unit) / STEP[precision]
    plans = {}
    for i in todo:
        tried = [steps[i] * ratio[i] ** 2, steps[i] * ratio[i]] + ([unit[i]] if unit[i] != steps[i] else [])
        plans[i] = list(dict.fromkeys(min(h, far[i]) for h in tried))
        if dead[i]:
            plans[i].sort(reverse=True)
        elif held is not None and _out_of_reach(plans[i], est, i, need[i]):
            held[i] = _hopeless(plans.pop(i), est, i, need[i])[0]
        else:
            plans[i] = _hopeless(plans[i], est, i, need[i])
    return plans


def _hopeless(plan: list[float], est: _Estimate, i: int, need: float) -> list[float]:
    """`plan` as it is, or only its step predicted best where no step of it can meet `need`. The a-priori
    rounding part of a bound is u x the magnitudes the step moved, over the step: it scales as 1/h (the
    magnitudes move little with the step), and the rest of the bound only adds to it. Where even the
    largest step's predicted rounding is above the need, the bound is what decides (the judge also takes
    a bound within its own allowance), so the entry is tried once, at the step predicted best, as
    _better_step reads the bound: where the rest (truncation) dominates, the step that minimises
    rest x (s/h)^2 + rounding x h/s; where it does not, it is mostly rounding noise and the truncation
    unknown but small: the largest step. Measured on a float32 projection over 1,024 terms (the tricky
    corpus's proj_1024_f32): 2 of 3 refinement forwards went to such entries; tried once, the same
    verdicts and conclusive counts on 11 seeds, with a third of the refinement forwards."""
    if not _out_of_reach(plan, est, i, need):
        return plan
    h, rounding = float(est.step.flat[i]), float(est.rounding.flat[i])
    rest = float(est.bound.flat[i]) - rounding
    if rest > rounding:
        return [min(plan, key=lambda s: rest * (s / h) ** 2 + rounding * h / s)]
    return [max(plan)]


def _out_of_reach(plan: list[float], est: _Estimate, i: int, need: float) -> bool:
    """Whether even the largest step of `plan` leaves entry i's predicted rounding above `need` (_hopeless)."""
    h, rounding = float(est.step.flat[i]), float(est.rounding.flat[i])
    return bool(math.isfinite(h) and h > 0 and math.isfinite(rounding) and rounding * h / max(plan) > need)


def _flat(estimate: tuple) -> bool:
    """An estimate from a step that moved no output (_refined, _constants)."""
    return estimate[0] == 0 and np.isnan(estimate[4])


def _refined(at: _At, flat, idx: list, hs: list) -> list[tuple]:
    """The estimates of entries idx at other steps hs. Where a step moves no output, the output is flat
    at h to within its own rounding: L(v + h) = L(v) = L(v - h) as computed means |2 h L'(v)| is below
    what rounding hides, so the estimate is 0 with that rounding (over 2h) as its bound. That matters
    where a derivative is real but far below what the first step could show: an affine layer whose
    weight is 1e-45 and whose input is 1e-218 is stepped by 6e-224 and bounded by ~1e207; stepped on
    the unit scale, the output still does not move and the bound is ~2e-10."""
    return [fields if moved else _nothing(fields[6]) for fields, moved in probes(at, flat, idx, hs)]


def _set(fields, i: int, numbers) -> None:
    for f, v in zip(fields[:-1], numbers):
        f.flat[i] = v
    fields[-1][i] = numbers[-1]  # sums, four wide


def _get(fields, i: int) -> tuple:
    return (*(f.flat[i] for f in fields[:-1]), fields[-1][i])


def _constants(at: _At, flat, idx: list, hs) -> list[tuple]:
    """Entries whose step moved no output: a locally constant output (a dead unit, a pooled entry that is
    not its window's maximum), or a step the layer's own rounding swallowed. Tried once more, REFINE
    times larger (no further: a larger step would cross into a neighbouring regime, e.g. past the next
    value of a tie-free pooling window), one pair of forwards first: if that moves nothing either, the
    output is constant there and the derivative 0 to within what the output's rounding could hide at that
    step; if it moves, the full estimate at that step, its bound also covering 0 (the step before it saw
    nothing). A dead entry costs 4 forwards in all."""
    got, moving = [None] * len(idx), []
    still = still_rounding(at) if len(idx) else 0.0
    for j, (i, h) in enumerate(zip(idx, hs)):
        first = _pair(at.forward, flat, i, h * REFINE)
        if first is not None and _unmoved(first, at.center):
            got[j] = _nothing(still / (2 * h * REFINE))
        else:
            moving.append((j, first))
    rows = probes(at, flat, [idx[j] for j, _ in moving], [hs[j] * REFINE for j, _ in moving], [f for _, f in moving])
    for (j, _), (p, _) in zip(moving, rows):
        got[j] = (p[0], max(p[1], abs(p[0])), *p[2:])
    return got


def _corroborated(tries: list[tuple]) -> tuple:
    """Of several estimates of one entry (value, bound, ...) at different steps, the tightest one that
    another estimate agrees with (|difference| <= the sum of their bounds; an infinite bound agrees with
    nothing) and that agrees with every other corroborated one. A step beyond the function's own scale can
    fool Richardson into a tight but wrong bound (a sigmoid stepped by 20: D(h) and D(2.5 h) both ~1/h,
    close to each other and far from L'); two steps are unlikely to be fooled into the same answer, but a
    loose first estimate agrees with anything: an estimate that one at most CONTRADICTS times looser
    contradicts is not kept. None kept: the tightest, its bound widened to cover every estimate."""
    finite = [t for t in tries if math.isfinite(t[1])]
    agree = lambda t, o: abs(t[0] - o[0]) <= t[1] + o[1]  # noqa: E731
    ok = [t for t in finite if any(o is not t and agree(t, o) for o in finite)]
    consistent = [t for t in ok if all(agree(t, o) for o in ok if o is not t and o[1] <= CONTRADICTS * t[1])]
    if consistent:
        return min(consistent, key=lambda t: t[1])
    best = min(tries, key=lambda t: t[1])
    spread = max((abs(t[0] - best[0]) + t[1] for t in finite), default=np.inf)
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
