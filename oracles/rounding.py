"""The rounding side of the numerical oracle (numerical.py): what one evaluation of a layer's output
may be off by, and the precision the layer computes in.

    rho_many / _r / granularity the a-priori rounding of a step's difference: ROUNDING_FACTOR unit roundoffs
                              of each moved output, or the value's granularity where it carries fewer bits
    _noise_weights            the fourth divided difference on the stencil: a sample of the rounding as it
                              is on this layer
    sixth_noise               the careful look's fifth difference, with a sixth node: rounding odd in the step
    hidden_many               what a float32 layer's outputs that a step did not move can hide
    computes_in               "float32" for a layer that rounds what it is given to float32
"""
from __future__ import annotations

import numpy as np

#: each entry of a forward rounds like a chain of up to 16 roundings of its own size; more than that (large
#: intermediate values that cancel) is measured on the example by the noise term of _probe
ROUNDING_FACTOR = 16.0


def computes_in(forward, center: np.ndarray, arrays: list[np.ndarray]) -> str:
    """"float32" when the layer rounds what it is given to float32: its output at a point a of the
    float32 grid and at a + a quarter of a float32 spacing (which rounds back to a) is identical, while a
    move 1e4 times larger changes some entry by far more than 1e4 of that entry's float64 spacings (so
    in float64 the small move would have shown), and every output value is one float32 can hold. Else
    "float64".
    Two forwards where the small move shows (a float64 layer); else the large move, every entry up by
    2,500 of its float32 spacings. Where that shows nothing either, both moves once more along a fixed
    random direction (a random sign and a size of 0.8 to 1.2 spacings per entry; the small move stays
    below half a spacing): moves of the same relative size can cancel (x all 3.5 and W all -0.22, each
    moved up, or down, by 2,500 of its own spacings, leave x @ W where it was; so can random signs alone
    when all entries are alike, 8 of 1.5 against 8 of -0.75), random sizes do not. The small move is made
    again along that direction, since a function can be blind to one direction and not to another (a
    LayerNorm of rows all 999 to moving every entry alike). The arrays are restored."""
    moved = [a for a in arrays if a.size and np.any(a != 0) and np.all(np.isfinite(a))]
    if not moved or center.size == 0:
        return "float64"
    saved = [a.copy() for a in moved]
    grids = [s.astype(np.float32).astype(np.float64) for s in saved]
    steps = [np.spacing(np.abs(g).astype(np.float32)).astype(np.float64) * (g != 0) for g in grids]
    signed = _random_direction(grids)

    def at(k: float, signs=None) -> np.ndarray:
        for a, g, st, sg in zip(moved, grids, steps, signs or [1.0] * len(moved)):
            a[...] = g + k * sg * st
        return forward()

    try:
        grid = at(0.0)
        for signs in (None, signed):
            if not np.array_equal(grid, at(0.25, signs), equal_nan=True):
                return "float64"  # the small move shows: no float32 layer shows it, in any direction
            if _visible(grid, at(2500.0, signs)):
                break
        else:
            return "float64"
    finally:
        for a, s in zip(moved, saved):
            a[...] = s
    # what a float32 computation returns is float32 values: a float64 layer whose move is swallowed by an
    # intermediate larger than its output (log(1 + 2.8e-10) of a logsumexp at [-22, 0]: the move changes
    # 1 + 2.8e-10 by half an ulp of 1) returns values no float32 can hold
    finite = np.isfinite(grid)
    return "float32" if np.array_equal(grid[finite].astype(np.float32).astype(np.float64), grid[finite]) else "float64"


def _random_direction(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """A fixed random direction, per entry a random sign and a size of 0.8 to 1.2 (a quarter of it stays
    below half a spacing, so a float32 layer rounds the small move away)."""
    rng = np.random.default_rng(0)
    return [np.where(rng.random(a.shape) < 0.5, -1.0, 1.0) * rng.uniform(0.8, 1.2, a.shape) for a in arrays]


def _visible(grid: np.ndarray, big: np.ndarray) -> bool:
    """The small move is 1e-4 of the large one: in float64 it would show wherever the large move changed
    an entry by 1e4 x 8 of that entry's own spacing (a float64 layer whose inputs barely matter does not
    count as float32)."""
    if grid.shape != big.shape:
        return False
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.any(np.abs(big - grid) >= 8e4 * np.spacing(np.abs(grid))))


def _noise_weights(ratio: float, *extra: float) -> np.ndarray:
    """The fourth divided difference on the nodes (-ratio, -1, 0, 1, ratio), scaled to sum |w| = 1: it is
    ~h^4 L^(4) / 24 of a smooth function (negligible) plus a weighted sum of the five evaluations' rounding,
    so |sum w f| is a sample of one evaluation's rounding as it is on this layer. With `extra` nodes, the
    divided difference of the next orders on all of them (the careful probe's sixth node, numerical.py)."""
    nodes = np.array([-ratio, -1.0, 0.0, 1.0, ratio, *extra])
    w = np.array([1.0 / np.prod([a - b for b in nodes if b != a]) for a in nodes])
    return w / np.abs(w).sum()


#: the second step is RATIO h: 2.5, not 2, so that rounding which grows in proportion to the step (a
#: quantum much coarser than the output's own: (x + 1e7) - 1e7) does not repeat at both steps
RATIO = 2.5
#: the careful probe's sixth node, at SIXTH times the step: on the symmetric stencil (-RATIO, -1, 0, 1, RATIO) x h
#: rounding that is odd in the step (e(-h) = -e(h): a large intermediate's grid, 2997 + h and 2997 - h, is
#: symmetric about it) cancels out of the fourth difference; an unpaired node breaks the symmetry. Not a
#: simple ratio of the others (measured on 300 rows of 1e3 + O(1) LayerNorm: 2 and 3 repeat the grid's
#: pattern and miss, 1.3-1.9 cover every entry)
SIXTH = 1.6
_SIXTH_WEIGHTS = _noise_weights(RATIO, SIXTH)


def sixth_noise(forward, flat: np.ndarray, i: int, h: float, ct: np.ndarray, center: np.ndarray,
                sums: np.ndarray) -> float:
    """The fifth divided difference on the nodes (-RATIO, -1, 0, 1, RATIO, SIXTH) x h, scaled to sum |w| = 1,
    of sum(ct * (f - c)): `sums` holds it at the first four (the centre's is 0), one forward at SIXTH h
    (entry i restored) gives the sixth. Zero on any polynomial of degree <= 4 (its truncation, ~h^5 L^(5),
    is negligible): a sample of the rounding, odd and even alike."""
    orig = flat[i]
    try:
        flat[i] = orig + SIXTH * h
        sixth = forward()
    finally:
        flat[i] = orig
    if np.shape(sixth) != np.shape(center):
        return np.inf
    s6 = float(np.sum(ct * (np.asarray(sixth, dtype=np.float64) - center)))
    w = _SIXTH_WEIGHTS
    return float(w[0] * sums[0] + w[1] * sums[1] + w[3] * sums[2] + w[4] * sums[3] + w[5] * s6)


def _rho(ct: np.ndarray, up: np.ndarray, down: np.ndarray, u: float, center: np.ndarray | None = None) -> float:
    """rho_many of one pair, on the common shape of its arrays."""
    arrays = [ct, up, down] + ([] if center is None else [center])
    shape = np.broadcast_shapes(*(np.shape(a) for a in arrays))
    b = [np.broadcast_to(a, shape).reshape(-1) for a in arrays]
    return float(rho_many(b[0], b[1][None], b[2][None], u, None if center is None else b[3])[0])


def rho_many(ct: np.ndarray, up: np.ndarray, down: np.ndarray, u: float, center: np.ndarray | None = None) -> np.ndarray:
    """Rounding of sum(ct * (up - down)) for each row of up and down ((k, M); ct and center (M,)):
    sum |ct| (r(up) + r(down)) over the entries the step moved (every entry, without granularity, when it
    moved none), r(y) = max(ROUNDING_FACTOR * u * |y|, the granularity of y). An entry's granularity is
    the value of its last significant bit: about one ulp for a value computed at full precision, but the
    quantum for a value that carries fewer bits than its format ((x + 1e7) - 1e7 is a multiple of
    2^-29), whose rounding no magnitude reveals; granularity says nothing of values the step did not
    touch (0.5 is one bit)."""
    act = np.abs(ct)
    rows, cols = np.nonzero(up != down)  # a step of one entry often moves few outputs: only those
    c = None if center is None else center[cols]
    terms = act[cols] * (_r(up[rows, cols], u, c) + _r(down[rows, cols], u, c))
    rho = np.bincount(rows, weights=terms, minlength=up.shape[0]).astype(np.float64)  # int when none moved
    still = np.bincount(rows, minlength=up.shape[0]) == 0
    if still.any():
        rho[still] = ROUNDING_FACTOR * u * np.sum(act * (np.abs(up[still]) + np.abs(down[still])), axis=-1)
    return rho


def hidden_many(ct: np.ndarray, up: np.ndarray, down: np.ndarray, precision: str) -> np.ndarray:
    """What the output entries a step did not move can hide, for each row of up and down ((k, M); ct
    (M,)), in a layer that computes in float32: a move below half a float32 spacing each way rounds to
    nothing (a weight whose input is 1e-4 moves an output of 3.7 by 1.7e-8 at its step: none of it shows,
    while the outputs it moved were 1e-37). 0 in float64, where a step of 6e-6 relative moves every output
    that depends on it by far more than its rounding."""
    if precision != "float32":
        return np.zeros(up.shape[:-1])
    spacing = np.spacing(np.abs(up).astype(np.float32)).astype(np.float64)
    return np.sum(np.where(up == down, np.abs(ct) * spacing, 0.0), axis=-1)


def _r(y: np.ndarray, u: float, center: np.ndarray | None) -> np.ndarray:
    """ROUNDING_FACTOR * u * |y|, or y's granularity where y is a value the step produced (not the
    centre's own: an input passed through unchanged, 1.25, has two bits and no rounding)."""
    fresh = np.ones(np.shape(y), dtype=bool) if center is None or np.shape(center) != np.shape(y) else y != center
    return np.maximum(ROUNDING_FACTOR * u * np.abs(y), np.where(fresh, granularity(y), 0.0))


def granularity(y: np.ndarray) -> np.ndarray:
    """The value of the last nonzero bit of each float64 entry (0 for 0, inf for inf/NaN).

    >>> granularity(np.array([1.0, 0.75, 1e7 + 2.0**-29 - 1e7, 0.1])).tolist()[:3]
    [1.0, 0.25, 1.862645149230957e-09]
    """
    y = np.asarray(y, dtype=np.float64)
    finite = np.isfinite(y)
    m, e = np.frexp(np.where(finite, y, 0.0))
    mant = np.abs(m * 2.0 ** 53).astype(np.int64)
    low = (mant & -mant).astype(np.float64)
    return np.where(finite, np.ldexp(low, e - 53), np.inf)
