"""An O(1) numerical oracle: directional derivatives along a few random directions.

The full central-difference oracle (`backends.run_numerical`) perturbs every entry of every input and
parameter: 2 forwards per entry, so its cost grows with the number of parameters (41 parameters: 82
forwards; 1e5 parameters: 2e5 forwards). This one perturbs *all* of them at once along k random unit
directions v in the space theta = (every differentiable input, every parameter), and compares

    fd(v)   = (L(theta + h v) - L(theta - h v)) / 2h,    L(theta) = sum(ct * forward(theta)), in float64

with the projection of the reference's own gradient, <g_reference, v>. A correct gradient satisfies
fd(v) = <g, v> up to the finite-difference error; a wrong one (a missing transpose, a wrong axis, a
factor 1.001, swapped gradients, a broadcast not summed back) differs along almost every direction, so a
handful of directions catches it with probability 1 (up to the tolerance). Cost: 4 forwards per direction
(steps h and 2h, see below), whatever the number of parameters.

Tolerance (|fd(v) - <g, v>| <= tol), derived term by term, every term recorded with the probe:

- rounding of the finite difference. The output entries are differenced before weighting (as in
  `run_numerical`), so the rounding is that of the forward itself: each output entry carries an error of
  at most ~c * eps * |out_i| (eps = 2.2e-16, c a small multiple for the sums inside a layer); after
  division by 2h that is  c * eps * S / h  with  S = sum(|ct| * |out|)  (|L| without its cancellation).
  c = 64 (ROUNDING_FACTOR): the same "sum of <= 64 terms" bound as the tolerance table.
- truncation: fd(h) = L'(v) + h^2/6 L'''(v) + O(h^4). The h^2 term is *measured*, not guessed: with
  fd(2h) = L'(v) + 4 h^2/6 L'''(v) + ..., the truncation error of fd(h) is (fd(2h) - fd(h)) / 3
  (Richardson). It is counted twice (TRUNCATION_FACTOR = 2) for the O(h^4) rest and rounding in fd(2h).
- rounding of the reference's gradient itself, projected on v: the tolerance table's elementwise
  allowance for an exact oracle in that dtype, sum_i |v_i| * (atol + rtol * |g_i|) (float64: 1e-12,
  1e-9; float32: 1e-5, 1e-5). With |v| = 1, sum |v_i| <= sqrt(D), so relative to ||g|| * ||v|| this is
  ~1e-9 in float64: far below the 1e-3 relative error of a gradient off by 0.1% along a random direction
  (~1e-3 * ||g|| / sqrt(D) for a bug spread over D entries, so the check keeps its power up to D ~ 1e10).

The step is h = 6e-6 * max(1, max |theta|) (~eps^(1/3), the usual optimum for central differences,
scaled like run_numerical's step), so no entry moves by more than 2h ~ 1.2e-5 * scale: well inside the
1e-3 margin the strategies keep from a kink.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .backends import Answer
from .names import JOINT, Stage
from . import stencil
from .rounding import RATIO, _r
from .reference_run import forward_outputs, reference_pass
from .spec import LayerSpec
from .strategies import Case
from .tolerances import Tol

EPS64 = float(np.finfo(np.float64).eps)
#: h = STEP * max(1, max |theta|)
STEP = 6e-6
#: c in c * eps * S / h: a forward's entries each round like a sum of up to 64 terms
ROUNDING_FACTOR = 64.0
#: the Richardson estimate of the h^2 term, counted this many times
TRUNCATION_FACTOR = 2.0
#: the reference gradient's own rounding, per dtype: (atol, rtol) of an exact oracle (tolerances.py)
GRAD_ROUNDING = {"float64": (1e-12, 1e-9), "float32": (1e-5, 1e-5)}
DEFAULT_K = 3


class Probe(tuple):
    """One direction: unpacks as (direction, fd, projection, passed); the tolerance and its terms ride
    along as attributes (tol, h, rounding, truncation, grad_rounding, note)."""

    _DEFAULTS = dict(tol=float("nan"), h=float("nan"), rounding=float("nan"), truncation=float("nan"),
                     grad_rounding=float("nan"), grad_norm=float("nan"), note="")

    def __new__(cls, direction, fd, projection, passed, **info):
        self = tuple.__new__(cls, (direction, fd, projection, passed))
        self.info = {**cls._DEFAULTS, **info}
        return self

    def __getattr__(self, name: str):  # tol, h, rounding, truncation, grad_rounding, grad_norm, note
        try:
            return self.__dict__["info"][name]
        except KeyError:
            raise AttributeError(name) from None

    direction = property(lambda self: self[0])
    fd = property(lambda self: self[1])
    projection = property(lambda self: self[2])
    passed = property(lambda self: self[3])

    @property
    def error(self) -> float:
        return abs(self.fd - self.projection)

    def describe(self) -> str:
        status = "ok  " if self.passed else "FAIL"
        text = (f"{status} fd={self.fd:.12g} <g,v>={self.projection:.12g} |diff|={self.error:.3g} tol={self.tol:.3g} "
                f"(rounding {self.rounding:.2g}, truncation {self.truncation:.2g}, grad rounding {self.grad_rounding:.2g}; "
                f"h={self.h:.2g}, ||g||={self.grad_norm:.3g})")
        return text + (f"  {self.note}" if self.note else "")


def random_directions(shapes: dict[str, tuple[int, ...]], k: int, seed: int) -> list[dict[str, np.ndarray]]:
    """k independent directions, each a unit vector (Gaussian, normalized) over all the arrays together."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        parts = {n: rng.standard_normal(s) for n, s in shapes.items()}
        norm = np.sqrt(sum(float(np.sum(p * p)) for p in parts.values()))
        out.append({n: p / norm for n, p in parts.items()})
    return out


def directional_probes(
    forward: Callable[[dict[str, np.ndarray]], np.ndarray],
    values: dict[str, np.ndarray],
    grads: dict[str, np.ndarray | None],
    ct=1.0,
    *,
    k: int = DEFAULT_K,
    seed: int = 0,
    dtype: str = "float64",
    directions: list[dict[str, np.ndarray]] | None = None,
) -> list[Probe]:
    """The core, for any function: `forward(values) -> output` (values: name -> float64 array, every one
    of them differentiated), `grads` the claimed gradient of sum(ct * output) for each name.

    Works for a single layer and for a whole network (output a scalar loss, ct = 1) alike."""
    vals = {n: np.array(v, dtype=np.float64) for n, v in values.items()}
    ct64 = np.asarray(ct, dtype=np.float64)
    shapes = {n: v.shape for n, v in vals.items()}
    scale = max([1.0] + [float(np.max(np.abs(v))) for v in vals.values() if v.size])
    h = STEP * scale
    atol_g, rtol_g = GRAD_ROUNDING.get(dtype, GRAD_ROUNDING["float32"])
    bad_shapes = {n: (None if grads.get(n) is None else tuple(np.shape(grads[n]))) for n in vals
                  if grads.get(n) is None or tuple(np.shape(grads[n])) != shapes[n]}
    g64 = {n: (np.asarray(grads[n], dtype=np.float64) if n not in bad_shapes else np.zeros(shapes[n])) for n in vals}
    gnorm = float(np.sqrt(sum(float(np.sum(g * g)) for g in g64.values())))
    base_note = "; ".join(f"gradient of {n} has shape {s}, expected {shapes[n]}" if s is not None
                          else f"no gradient for {n}" for n, s in bad_shapes.items())
    if directions is None:
        directions = random_directions(shapes, k, seed)

    def out_at(v: dict[str, np.ndarray], t: float) -> np.ndarray:
        return np.asarray(forward({n: vals[n] + t * v[n] for n in vals}), dtype=np.float64)

    # what the reference's own float rounding may contribute to <g, v>, per element (fixed across directions)
    allowed_g = {n: atol_g + rtol_g * np.abs(g) for n, g in g64.items()}

    probes = []
    for v in directions:
        up, down = out_at(v, h), out_at(v, -h)
        up2, down2 = out_at(v, 2 * h), out_at(v, -2 * h)
        fd = float(np.sum(ct64 * (up - down))) / (2 * h)
        fd2 = float(np.sum(ct64 * (up2 - down2))) / (4 * h)
        S = float(np.sum(np.abs(ct64) * np.maximum(np.abs(up), np.abs(down))))
        rounding = ROUNDING_FACTOR * EPS64 * S / h
        truncation = TRUNCATION_FACTOR * abs(fd2 - fd) / 3.0
        proj = float(sum(float(np.vdot(g64[n], v[n])) for n in vals))
        grad_rounding = float(sum(float(np.vdot(np.abs(v[n]), allowed_g[n])) for n in vals))
        tol = rounding + truncation + grad_rounding
        finite = np.isfinite(fd) and np.isfinite(proj)
        passed = bool(finite and abs(fd - proj) <= tol and not bad_shapes)
        note = base_note or ("" if finite else "non-finite finite difference or projection")
        probes.append(Probe(v, fd, proj, passed, tol=tol, h=h, rounding=rounding, truncation=truncation,
                            grad_rounding=grad_rounding, grad_norm=gnorm, note=note))
    return probes


# --- one registry layer --------------------------------------------------------------------------------
def _layer_forward(spec: LayerSpec, case: Case) -> tuple[Callable, dict[str, np.ndarray]]:
    """forward(values) for the reference layer in float64 over its differentiable inputs and parameters,
    and the point to differentiate at."""
    fixed = {a.name: np.asarray(case.inputs[a.name]) for a in spec.inputs if not a.differentiable}
    fixed = {n: (v.astype(np.float64) if v.dtype.kind == "f" else v) for n, v in fixed.items()}
    values = {n: np.asarray(case.inputs[n], dtype=np.float64) for n in spec.diff_inputs}
    values.update({n: np.asarray(v, dtype=np.float64) for n, v in case.params.items()})

    def forward(vals: dict[str, np.ndarray]) -> np.ndarray:
        # no copies needed: directional_probes hands every call freshly computed arrays
        layer = spec.make({p: vals[p] for p in spec.params}, **spec.config)
        outs = forward_outputs(spec, layer, {**fixed, **{n: vals[n] for n in spec.diff_inputs}})
        return _flat(outs) if spec.outputs else outs[0]  # several outputs: one vector, cotangents alike

    return forward, values


def _flat(arrays) -> np.ndarray:
    """Several outputs (or their cotangents) as one float64 vector: sum(ct * out) is then one dot product."""
    return np.concatenate([np.asarray(a, dtype=np.float64).reshape(-1) for a in arrays])


def _layer_ct(spec: LayerSpec, ct):
    return _flat(ct) if spec.outputs else ct


def directional_check(spec: LayerSpec, case: Case, ct, reference_grads: dict, k: int = DEFAULT_K,
                      seed: int | None = None) -> list[Probe]:
    """Check `reference_grads` (name -> the reference's gradient of sum(ct * forward) for each
    differentiable input and parameter) along k random unit directions. Returns one Probe per direction:
    (direction, fd, projection, passed), with the tolerance and its terms as attributes."""
    forward, values = _layer_forward(spec, case)
    return directional_probes(forward, values, reference_grads, _layer_ct(spec, ct), k=k,
                              seed=case.seed if seed is None else seed, dtype=case.dtype)


def reference_grads(spec: LayerSpec, case: Case, ct) -> dict[str, np.ndarray | None]:
    """The reference layer's own gradients (forward then backward on copies), name -> array (None where
    it gave none)."""
    layer = spec.make({k: np.array(v, copy=True) for k, v in case.params.items()}, **spec.config)
    vals = reference_pass(spec, layer, case.inputs, ct)
    return {n: vals.get(Stage.grad(n)) for n in [*spec.diff_inputs, *spec.params]}


@dataclass
class DirectionalAnswer(Answer):
    """The directional oracle's answer. Its question is the joint stage ("grad"): along each probed
    direction v, the finite difference fd(v) (its answer) against <g_reference, v> (`reference`), each
    within the probe's own derived bound (`bounds`: an element-wise atol, rtol 0)."""

    probes: list[Probe] = field(default_factory=list)

    def by_stage(self) -> dict[str, np.ndarray]:
        return {JOINT: np.array([p.fd for p in self.probes], dtype=np.float64)}


DirectionalOutcome = DirectionalAnswer  # the name before Answer


def _orthonormal(shapes: dict[str, tuple[int, ...]], k: int, seed: int) -> list[dict[str, np.ndarray]]:
    """k random directions, orthonormalized (Gram-Schmidt), so the corrections along each do not interfere."""
    dirs = random_directions(shapes, k, seed)
    flat = np.stack([np.concatenate([d[n].reshape(-1) for n in shapes]) for d in dirs]) if dirs else np.zeros((0, 0))
    if flat.size:
        q, _ = np.linalg.qr(flat.T)
        flat = q.T[: len(dirs)]
    out = []
    for row in flat:
        d, i = {}, 0
        for n, s in shapes.items():
            size = int(np.prod(s, dtype=np.int64))
            d[n] = row[i: i + size].reshape(s)
            i += size
        out.append(d)
    return out


def run_directional(spec: LayerSpec, case: Case, ct: np.ndarray, k: int = DEFAULT_K) -> DirectionalAnswer:
    """Same signature as backends.run_numerical. It cannot know the whole gradient (that is what makes it
    O(1)): its verdict is the probes (the joint stage), and its `grads` are the reference's gradient
    *corrected* on the probed directions: for orthonormal directions v_j, g = g_ref + sum_j (fd_j -
    <g_ref, v_j>) v_j. Where the reference is right the correction is within the finite-difference error;
    where it is wrong the correction is the error's projection, which an elementwise comparison sees."""
    t0 = time.perf_counter()
    forward, values = _layer_forward(spec, case)
    shapes = {n: v.shape for n, v in values.items()}
    ref = reference_grads(spec, case, ct)
    probes = directional_probes(forward, values, ref, _layer_ct(spec, ct), directions=_orthonormal(shapes, k, case.seed), dtype=case.dtype)
    grads = {}
    for n, s in shapes.items():
        g = ref.get(n)
        g = np.asarray(g, dtype=np.float64) if g is not None and np.shape(g) == s else np.zeros(s)
        for p in probes:
            g = g + (p.fd - p.projection) * p.direction[n]
        grads[n] = g
    notes = sorted({p.note for p in probes if p.note})
    return DirectionalAnswer(
        None, grads, time.perf_counter() - t0,
        bounds={JOINT: Tol(atol=np.array([p.tol for p in probes]), rtol=0.0)},
        reference={JOINT: np.array([p.projection for p in probes], dtype=np.float64)},
        notes={JOINT: "; ".join(notes)} if notes else {}, probes=probes)


def __getattr__(name: str):
    """check_layer_directional and DirectionalResult moved to oracles.api (the check path imports this
    module, so the check of a layer with this oracle lives beside the other checks): still importable from
    here, with a DeprecationWarning. A lazy import, so no import cycle."""
    if name in ("check_layer_directional", "DirectionalResult"):
        import importlib
        import warnings

        warnings.warn(f"oracles.directional.{name} is now oracles.{name}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module("oracles.api"), name)
    raise AttributeError(f"module 'oracles.directional' has no attribute {name!r}")


def derivative_along(along, h: float, precision: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    """The derivative of a vector-valued function along one direction, entry by entry, with its bound:
    `along(s)` evaluates the output at (inputs + s * tangent). Central differences at h and RATIO h, the
    bound as for one entry of numerical.estimate (truncation by Richardson, the rounding of the entries)."""
    u = stencil.UNIT[precision]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        up1, dn1, up2, dn2 = (np.asarray(along(s), dtype=np.float64) for s in (h, -h, RATIO * h, -RATIO * h))
        d1, d2 = (up1 - dn1) / (2 * h), (up2 - dn2) / (2 * RATIO * h)
        bound = stencil.TRUNCATION_FACTOR * np.abs(d1 - d2) + (_r(up1, u, None) + _r(dn1, u, None)) / (2 * h)
    return d1, np.where(np.isfinite(bound), bound, np.inf)
