"""The numerical oracle's probe (numerical.py): five evaluations of sum(ct * forward) around an entry,
(v - RATIO h, v - h, v, v + h, v + RATIO h), and the fields of the estimate they give, with its bound
(numerical.py's docstring has the formula and its derivation).

The forwards are the layer's and cannot be shared, but what is made of them can: `probes` takes many
entries at once, evaluates each one's stencil (perturbed one at a time, restored after each), then forms
every entry's differences, rounding and bound in whole-array operations. What an entry gets is what it
would get alone; on the tricky corpus's 4,096-entry examples the per-entry bookkeeping had cost more than
the layer's own forwards.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .rounding import RATIO, _noise_weights, _rho, hidden_many, rho_many

UNIT = {"float64": float(np.finfo(np.float64).eps) / 2, "float32": float(np.finfo(np.float32).eps) / 2}
#: with err(h) = c h^p, |D(h) - D(RATIO h)| = (RATIO^p - 1) err(h) >= (RATIO - 1) err(h) for any order
#: p >= 1 (a seam where the second derivative jumps, as in Huber, is first order; smooth is p = 2): so
#: err(h) <= |D(h) - D(RATIO h)| / 1.5, counted 1.5 times for the higher-order rest and the rounding
TRUNCATION_FACTOR = 1.5 / (RATIO - 1.0)
#: the noise sample (|sum w f| with sum |w| = 1, about one evaluation's rounding) counted as 16 evaluations'
#: worth (D(h) carries ~0.7 of one, over h): a single sample can be small by chance
NOISE_FACTOR = 16.0
#: entries probed together keep at most this many output values per evaluation (512 kB of float64 each: larger
#: temporaries are fresh pages on every chunk, and cost more in the kernel than they save, measured on 30,000 outputs)
CHUNK = 1 << 16


@dataclass(frozen=True)
class _At:
    """What every probe of one function shares: forward, cotangent, output at the centre, precision."""
    forward: object
    ct: np.ndarray
    center: np.ndarray
    precision: str


def _nothing(bound: float, rounding: float | None = None) -> tuple:
    """The fields of an estimate of 0 that no moved output supports, with its bound."""
    return (0.0, bound, 0.0, 0.0, np.nan, np.nan, bound if rounding is None else rounding, np.nan, 0.0,
            np.full(4, np.nan))


def _pair(forward, flat: np.ndarray, i: int, step: float):
    """(output at v_i + step, output at v_i - step, the steps actually taken up and down), entry i restored;
    None where a step is below the entry's own resolution (it moved nothing at all)."""
    orig = flat[i]
    hi, lo = orig + step, orig - step  # divide by the step actually taken, not the intended 2h
    try:
        flat[i] = hi
        up = forward()
        flat[i] = lo
        down = forward()
    finally:
        flat[i] = orig
    taken = (hi - orig, orig - lo)
    return None if min(taken) <= 0 else (up, down, taken)


def _unmoved(pair, center: np.ndarray) -> bool:
    """Both evaluations equal the centre, entry by entry (np.array_equal's rule: a NaN always moved)."""
    up, down = np.asarray(pair[0]), np.asarray(pair[1])
    c = np.asarray(center)
    return up.shape == down.shape == c.shape and bool((up == c).all() and (down == c).all())


def _probe(at: _At, flat: np.ndarray, i: int, h: float, first=False) -> tuple[tuple, bool]:
    """(the fields of entry i at step h, whether any output moved): `probes` of one entry."""
    return probes(at, flat, [i], [h], [first])[0]


def probes(at: _At, flat: np.ndarray, idx, hs, firsts=None) -> list[tuple[tuple, bool]]:
    """For each entry idx[j] at step hs[j]: (its fields, whether any output moved). 4 forwards an entry, 2
    where the first pair moved no output (no information at this step; what the output's rounding could
    hide rides along). `firsts[j]`: the pair at hs[j] where the caller has it (False where not)."""
    idx, hs = list(idx), [float(h) for h in hs]
    firsts = [False] * len(idx) if firsts is None else list(firsts)
    per = max(1, CHUNK // max(1, at.center.size))
    return [r for s in range(0, len(idx), per) for r in _chunk(at, flat, idx[s:s + per], hs[s:s + per], firsts[s:s + per])]


def still_rounding(at: _At) -> float:
    """_rho of a pair that moved no output: both evaluations are the centre, whatever the entry or step."""
    return _rho(at.ct, at.center, at.center, UNIT[at.precision])


def _chunk(at: _At, flat, idx: list, hs: list, firsts: list) -> list[tuple[tuple, bool]]:
    got: list = [None] * len(idx)
    still = None  # still_rounding(at), once it is needed
    full = []  # (j, first pair, second pair): the entries whose first pair moved an output
    for j, (i, h, one) in enumerate(zip(idx, hs, firsts)):
        one = _pair(at.forward, flat, i, h) if one is False else one
        if one is None:  # a step below the entry's own resolution moved nothing at all
            got[j] = (_nothing(np.inf), True)
        elif _unmoved(one, at.center):
            still = still_rounding(at) if still is None else still
            got[j] = (_nothing(np.inf, still / (2 * h)), False)
        else:
            two = _pair(at.forward, flat, i, RATIO * h)
            if two is None:
                got[j] = (_nothing(np.inf), True)
            else:
                full.append((j, one, two))
    alike = []
    for j, one, two in full:
        if _alike(at, one, two):
            alike.append((j, one, two))
        else:
            got[j] = (_fields(*_common(at, one, two, hs[j]), flat, [idx[j]], [hs[j]])[0], True)
    if alike:
        rows = _fields(at, [f[1] for f in alike], [f[2] for f in alike], flat, [idx[f[0]] for f in alike],
                       [hs[f[0]] for f in alike])
        for f, row in zip(alike, rows):
            got[f[0]] = (row, True)
    return got


def _alike(at: _At, one, two) -> bool:
    shape = at.center.shape  # the evaluations are arrays as the centre is (the same forward)
    return np.shape(at.ct) == shape and one[0].shape == one[1].shape == two[0].shape == two[1].shape == shape


def _common(at: _At, one, two, h: float) -> tuple:
    """One entry's evaluations, cotangent and centre on their common shape (outputs that only broadcast
    are differenced as they broadcast); a ValueError naming the shapes where they do not broadcast."""
    arrays = (at.ct, at.center, *one[:2], *two[:2])
    try:
        shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    except ValueError:
        raise ValueError(f"the forward returned shapes {sorted({np.shape(a) for a in arrays[2:]})} when one entry "
                         f"moved by {h:.3g}, {at.center.shape} at the centre: the numerical oracle cannot "
                         f"difference them") from None
    b = [np.broadcast_to(a, shape) for a in arrays]
    return replace(at, ct=b[0], center=b[1]), [(b[2], b[3], one[2])], [(b[4], b[5], two[2])]


def _fields(at: _At, ones: list, twos: list, flat: np.ndarray, idx: list, hs: list) -> list[tuple]:
    """The fields of each entry from its two pairs, in whole-array operations over the entries."""
    u, k = UNIT[at.precision], len(idx)
    ct, center = np.reshape(at.ct, -1), np.reshape(at.center, -1)
    up1, dn1, up2, dn2 = (np.array([p[n] for p in ps]).reshape(k, -1) for ps, n in
                          ((ones, 0), (ones, 1), (twos, 0), (twos, 1)))
    (t1u, t1d), (t2u, t2d) = (np.array([p[2] for p in ps]).reshape(k, 2).T for ps in (ones, twos))
    w1, w2, r1, l1, r2, l2, noise = _weighted(ct, (dn2, dn1, center, up1, up2)).T
    h, orig = np.array(hs), flat[np.array(idx)]
    d1, d2 = w1 / (t1u + t1d), w2 / (t2u + t2d)
    rounding = (rho_many(ct, up1, dn1, u, center) + hidden_many(ct, up1, dn1, at.precision)) / (t1u + t1d)
    bound = (TRUNCATION_FACTOR * np.abs(d1 - d2) + rounding + NOISE_FACTOR * np.abs(noise) / h
             + 2.0 * u * np.abs(orig) / h * np.abs(d1))
    bound = np.where(np.isfinite(bound), bound, np.inf)
    right, left = r1 / t1u, l1 / t1d
    jump_t = np.abs(r2 / t2u - l2 / t2d)
    sums = np.stack([-l2, -l1, r1, r2], axis=1)
    cols = (d1, bound, np.abs(right - left), jump_t, left, right, rounding, h, noise)
    return list(zip(*cols, sums))


def _weighted(ct: np.ndarray, nodes: tuple) -> np.ndarray:
    """sum(ct * row) over the last axis for the rows up1 - dn1, up2 - dn2, up1 - c, c - dn1, up2 - c,
    c - dn2 and the noise sample sum_k w_k f_k, of the evaluations (dn2, dn1, c, up1, up2) (each (k, M)
    for k entries, or (M,)): (k, 7). Each row is differenced entry by entry before it is weighted
    (entries a step did not move cancel exactly), and a node whose coefficient is 0 is left out (an
    infinite evaluation spoils only the rows it is in)."""
    return np.stack([np.sum(ct * sum(c * f for c, f in zip(row, nodes) if c), axis=-1) for row in _ROWS], axis=-1)


_NOISE_WEIGHTS = _noise_weights(RATIO)
#: the rows _weighted forms from (dn2, dn1, c, up1, up2)
_ROWS = np.array([[0, -1, 0, 1, 0], [-1, 0, 0, 0, 1], [0, 0, -1, 1, 0], [0, -1, 1, 0, 0], [0, 0, -1, 0, 1],
                  [-1, 0, 1, 0, 0], list(_NOISE_WEIGHTS)], dtype=np.float64)
