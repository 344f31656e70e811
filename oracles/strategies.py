"""Hypothesis strategies, all in one place: sizes, values, whole cases.

Values are bounded, free of subnormals and NaN, drawn at the width of the dtype (width=32 for float32,
so Hypothesis never produces a float64 that float32 cannot hold), and kept a margin away from a layer's
kinks unless a test aims at the kink on purpose.
"""
from __future__ import annotations

import functools
import math
import os
import random
import sys
import weakref
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .relations import parse_relation, satisfying
from .spec import Arg, Convention, Domain, LayerSpec, resolve


@dataclass
class Case:
    """One drawn example: everything needed to replay a check, and a repr that is valid Python."""

    layer: str
    dtype: str
    sizes: dict[str, int]
    inputs: dict[str, np.ndarray]
    params: dict[str, np.ndarray]
    seed: int = 0  # seeds the cotangent
    note: str = field(default="", compare=False)
    layout: int = field(default=-1, compare=False)  # index in strategies.layouts(spec); -1: not from the set

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {k: tuple(np.shape(v)) for k, v in {**self.inputs, **self.params}.items()}

    def __repr__(self) -> str:
        def arrs(d):
            return "{" + ", ".join(f"{k!r}: {_array_repr(v)}" for k, v in d.items()) + "}"

        return (
            f"Case(layer={self.layer!r}, dtype={self.dtype!r}, sizes={self.sizes!r}, "
            f"inputs={arrs(self.inputs)}, params={arrs(self.params)}, seed={self.seed})"
        )

    def repro(self) -> str:
        """A standalone snippet that replays this example against every oracle."""
        return (
            "import numpy as np\n"
            "from oracles import Case, replay\n"
            f"case = {self!r}\n"
            "print(replay(case))  # a layer outside the registry: replay(case, spec=your_spec)"
        )


def _array_repr(a: np.ndarray) -> str:
    # Full precision, no '...' elision: the repr must round-trip.
    with np.printoptions(threshold=sys.maxsize, floatmode="unique", linewidth=10**6):
        r = np.array_repr(np.asarray(a))
    return "np." + r.replace("dtype=", "dtype=np.")


def floats(dtype: str, domain: Domain) -> st.SearchStrategy[float]:
    width = 32 if dtype == "float32" else 64
    cast = np.float32 if width == 32 else float
    return st.floats(
        float(cast(domain.low)), float(cast(domain.high)), width=width,
        allow_nan=False, allow_infinity=False, allow_subnormal=False,
    )


def keep_off_kinks(x: np.ndarray, domain: Domain) -> np.ndarray:
    """Move every value closer than `margin` to a kink out to exactly `margin` from it."""
    if not domain.kinks or domain.margin <= 0:
        return x
    x = x.copy()
    for k in domain.kinks:
        near = np.abs(x - k) < domain.margin
        side = np.where(x[near] >= k, 1.0, -1.0)
        x[near] = (k + side * domain.margin).astype(x.dtype)
    return x


def _reused(make):
    """One strategy object per set of arguments, not one per draw: Hypothesis validates every new strategy
    object it draws from (measured: a quarter of the time spent drawing a case), and a strategy is
    immutable, so drawing from the same object gives the same values. An unhashable argument (a Domain
    whose kinks are a list) gets a fresh strategy, as before."""
    made: dict = {}

    @functools.wraps(make)
    def get(*args):
        return _cached(made, _key(args), lambda: make(*args))
    return get


def _cached(store: dict | None, key, make):
    """store[key], made and kept the first time; made afresh where there is no store or no key."""
    hit = None if store is None or key is None else store.get(key)
    if hit is None:
        hit = make()
        if store is not None and key is not None:
            store[key] = hit
    return hit


def _key(args: tuple, kwargs: dict | None = None):
    """What makes two calls the same call: equal arguments with equal reprs, since equal is not enough
    (-0.0 == 0.0 but Hypothesis draws -0.0 only from a bound of -0.0; (2.0, 3) == (2, 3) but only one is a
    shape; np.str_("float64") == "float64" but a Case repr shows which). None: an unhashable argument."""
    key = (args, tuple(sorted((kwargs or {}).items())))
    try:
        hash(key)
    except TypeError:
        return None
    return key, repr(key)


class _Strategies(dict):
    """A spec's own strategies (_per_spec), kept on the spec: a cache beside it would keep every spec alive,
    since a strategy refers to its spec (the two refer to each other: the cycle collector frees them). Not
    carried by a copy or a pickle of the spec (its `owner` says whose they are: a shallow copy, which
    shares the entry, makes its own)."""

    def __init__(self, owner):
        super().__init__()
        self.owner = weakref.ref(owner)

    def __reduce__(self):  # a pickle and a deep copy alike: an empty dict
        return dict, ()


def _own_strategies(spec) -> dict | None:
    d = getattr(spec, "__dict__", None)
    if d is None:
        return None
    mine = d.get("_strategies")
    if not isinstance(mine, _Strategies) or mine.owner() is not spec:
        mine = d["_strategies"] = _Strategies(spec)
    return mine


def _per_spec(make):
    """_reused for a spec's own strategies, held as long as the spec is."""
    @functools.wraps(make)
    def get(spec, *args, **kwargs):
        key = _key((make.__name__, *args), kwargs)
        return _cached(_own_strategies(spec), key, lambda: make(spec, *args, **kwargs))
    return get


@_reused
def float_arrays(dtype: str, shape: tuple[int, ...], domain: Domain) -> st.SearchStrategy[np.ndarray]:
    if domain.spacing > 0:
        lo, hi = math.ceil(domain.low / domain.spacing), math.floor(domain.high / domain.spacing)
        if hi - lo + 1 < math.prod(shape):
            raise ValueError(f"domain {domain} has fewer than {math.prod(shape)} distinct multiples of its spacing")
        ints = hnp.arrays(np.int64, shape, elements=st.integers(lo, hi), unique=True)
        return ints.map(lambda k: keep_off_kinks((k * domain.spacing).astype(dtype), domain))
    return hnp.arrays(np.dtype(dtype), shape, elements=floats(dtype, domain)).map(
        lambda a: keep_off_kinks(a, domain)
    )


def layout_seed() -> int:
    """Seeds the layout set, read when layouts are made (not at import). The gate uses 0 (the same shapes
    every run); soak runs vary it (ORACLE_LAYOUT_SEED) so that different seeds also see different shapes."""
    return int(os.environ.get("ORACLE_LAYOUT_SEED", "0"))


@dataclass(frozen=True)
class Layout:
    """The shapes of one example: a size per size name, and which alternative shape each input takes."""

    sizes: tuple[tuple[str, int], ...]
    choice: tuple[tuple[str, int], ...]


def layouts(spec: LayerSpec, seed: int | None = None) -> list[Layout]:
    """The bounded, deterministic set of layouts a run of `spec` draws from.

    Layout 0 (where Hypothesis shrinks to) gives the size names distinct values > 1 where the pools allow,
    so a missing transpose or a wrong reduction axis changes a shape; layout 1 takes every pool's smallest
    value (batch of one, single feature: where broadcasting bugs hide); the rest are random, seeded by
    the layer's name and layout_seed() so every run of the gate sees the same ones.
    """
    rng = random.Random(f"{spec.name}:{layout_seed() if seed is None else seed}")
    names = spec.size_names()
    pools = {n: tuple(spec.size_pool(n)) for n in names}
    allowed = related_sizes(spec)
    multi = [a for a in spec.inputs if len(a.shapes()) > 1]
    out: list[Layout] = []

    def add(sizes: dict[str, int], choice: dict[str, int], fit=None) -> None:
        if allowed is not None and sizes not in allowed:  # a relation fails: the best assignment that holds
            sizes = fit(allowed) if fit else rng.choice(allowed)
        lay = Layout(tuple(sorted(sizes.items())), tuple(sorted(choice.items())))
        if lay not in out:
            out.append(lay)

    distinct, used = {}, set()
    for n in names:
        big = [v for v in pools[n] if v > 1] or list(pools[n])
        fresh = [v for v in big if v not in used] or big
        distinct[n] = fresh[0]
        used.add(fresh[0])
    def cycle(k: int) -> dict[str, int]:
        # layout k takes alternative k (mod count) of the first multi-shape input, and a different phase
        # for the others: every alternative shape of every input appears once there are enough layouts
        return {a.name: (k * (i + 1) + i) % len(a.shapes()) for i, a in enumerate(multi)}

    add(distinct, {a.name: 0 for a in multi}, lambda ok: max(ok, key=_spread))
    add({n: min(p) for n, p in pools.items()}, cycle(1), lambda ok: min(ok, key=lambda s: sorted(s.values())))
    for k in range(2, 50 * max(spec.layouts, 1)):
        if len(out) >= spec.layouts:
            break
        add({n: rng.choice(p) for n, p in pools.items()}, cycle(k))
    return out[: max(spec.layouts, 1)]


def _spread(sizes: dict[str, int]) -> tuple[int, int]:
    """How well an assignment separates its sizes (layout 0's aim): distinct values > 1, then values > 1."""
    big = [v for v in sizes.values() if v > 1]
    return len(set(big)), len(big)


def related_sizes(spec: LayerSpec) -> list[dict[str, int]] | None:
    """The size assignments under which every one of `spec.relations` holds (None: the spec has none)."""
    if not spec.relations:
        return None
    key = (spec.relations, tuple((n, tuple(spec.size_pool(n))) for n in spec.size_names()))
    hit = _related.get(spec)
    if hit is None or hit[0] != key:  # layouts() runs at every draw: enumerate once per spec
        names = spec.size_names()
        hit = (key, satisfying(names, dict(key[1]), [parse_relation(r) for r in spec.relations], seed=spec.name))
        _related[spec] = hit
    return hit[1]


_related: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@_per_spec
@st.composite
def layout_for(draw, spec: LayerSpec) -> tuple[dict[str, int], dict[str, int], int]:
    """(sizes, alternative choice per input, layout index): from the layout set, or freely (index -1)
    when spec.layouts == 0 or ORACLE_LAYOUTS=free."""
    if spec.layouts == 0 or os.environ.get("ORACLE_LAYOUTS") == "free":
        allowed = related_sizes(spec)
        if allowed is None:
            sizes = {name: draw(st.sampled_from(spec.size_pool(name))) for name in spec.size_names()}
        else:
            sizes = dict(draw(st.sampled_from(allowed)))
        choice = {a.name: draw(st.integers(0, len(a.shapes()) - 1)) for a in spec.inputs}
        return sizes, choice, -1
    index = draw(st.integers(0, len(layouts(spec)) - 1))
    lay = layouts(spec)[index]
    return dict(lay.sizes), dict(lay.choice), index


def arg_values(arg: Arg, spec: LayerSpec, dtype: str, sizes: dict[str, int], floats, integers, choice: int = 0) -> np.ndarray:
    """One input's values, from whatever source of randomness the caller has: `floats(shape, domain)`
    gives a float array of `dtype`, `integers(shape, high)` an int64 array in [0, high).

    Shared by the Hypothesis cases here (draws) and generated networks' constant inputs (a NumPy rng,
    oracles/networks/building.py): the shape, the domain choice, the class count and the one-hot
    construction are the same for both; only the sampling differs."""
    shape = resolve(arg.shapes()[choice], sizes)
    if arg.kind == "float":
        return floats(shape, spec.value_domain(arg, dtype))
    if arg.kind == "index":
        return integers(shape, sizes[arg.classes] if isinstance(arg.classes, str) else arg.classes)
    # onehot: the class axis is the last one
    return np.eye(shape[-1], dtype=dtype)[integers(shape[:-1], shape[-1])]


def _arg_values(draw, arg: Arg, spec: LayerSpec, dtype: str, sizes: dict[str, int], choice: int = 0) -> np.ndarray:
    return arg_values(arg, spec, dtype, sizes, choice=choice,
                      floats=lambda shape, domain: draw(float_arrays(dtype, shape, domain)),
                      integers=lambda shape, high: draw(int_arrays(shape, high)))


@_reused
def int_arrays(shape: tuple[int, ...], high: int) -> st.SearchStrategy[np.ndarray]:
    """int64 arrays of `shape` with values in [0, high)."""
    return hnp.arrays(np.int64, shape, elements=st.integers(0, high - 1))


@_per_spec
@st.composite
def cases(draw, spec: LayerSpec, dtype: str, sizes: dict[str, int] | None = None) -> Case:
    """A whole example for `spec`: a layout, then inputs and parameters, then the cotangent's seed."""
    index = -1
    if sizes is None:
        sizes, choice, index = draw(layout_for(spec))
    else:
        choice = {a.name: draw(st.integers(0, len(a.shapes()) - 1)) for a in spec.inputs}
    inputs = {a.name: _arg_values(draw, a, spec, dtype, sizes, choice.get(a.name, 0)) for a in spec.inputs}
    params = {
        name: draw(float_arrays(dtype, resolve(shape, sizes), spec.param_domain))
        for name, shape in spec.params.items()
    }
    seed = draw(st.integers(0, 2**32 - 1))
    return Case(spec.name, dtype, sizes, inputs, params, seed, layout=index)


@_per_spec
@st.composite
def kink_cases(draw, spec: LayerSpec, convention: Convention, dtype: str) -> Case:
    """An example with `convention.input` exactly on the layer's kink (or full of ties), on purpose.

    points: a random non-empty subset of the entries is set exactly to a kink value.
    grid: every entry is drawn from the small grid, so equal maxima (ties) are common.
    """
    case = draw(cases(spec, dtype))
    x = np.array(case.inputs[convention.input], copy=True)
    if convention.grid:
        x = draw(hnp.arrays(x.dtype, x.shape, elements=st.sampled_from(convention.grid)))
    elif x.size:
        on = draw(hnp.arrays(np.bool_, x.shape, elements=st.booleans()))
        on.flat[draw(st.integers(0, x.size - 1))] = True  # at least one entry on the kink
        vals = draw(hnp.arrays(x.dtype, x.shape, elements=st.sampled_from(convention.points)))
        x = np.where(on, vals, x).astype(x.dtype)
    return Case(case.layer, case.dtype, case.sizes, {**case.inputs, convention.input: x}, case.params, case.seed,
                note=f"on purpose at {convention.where}", layout=case.layout)


def cotangents(spec: LayerSpec, shapes: list[tuple[int, ...]], dtype: str, seed: int):
    """The cotangent of each output (`shapes`, in the order of spec.forward_stages()): for a one-output
    layer `cotangent(shapes[0], dtype, seed)` itself, for several a tuple, each drawn from its own seed, so
    a backward that mixes up dh and dc (or uses one for both) is caught."""
    if not spec.outputs:
        return cotangent(shapes[0], dtype, seed)
    return tuple(cotangent(s, dtype, (seed + 0x9E3779B9 * i) % 2**32) for i, s in enumerate(shapes))


def cotangent(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    """A random upstream gradient: magnitudes in [0.5, 1.5] with random signs.

    Never all-ones (a sum hides transposition and broadcasting bugs) and never zero (a zero cotangent
    makes every gradient zero and every check vacuous). Drawn from a seed rather than by Hypothesis,
    whose shrinking would otherwise drive it to zeros.
    """
    rng = np.random.default_rng(seed)
    mag = rng.uniform(0.5, 1.5, size=shape)
    sign = rng.choice([-1.0, 1.0], size=shape)
    return np.asarray(mag * sign, dtype=dtype)
