"""LayerSpec: one registry entry ties a reference layer to its math under the oracles."""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal

from .names import FRAMEWORKS
from .tolerances import Tol

#: A symbolic shape: each entry is an int, a size name ("n"), or a product of size names and integer
#: literals ("c*h*w", "4*h": four times h).
Shape = tuple[int | str, ...]

#: Sizes drawn for a size name unless the spec says otherwise. Small on purpose. 1 is in (batch of one,
#: single feature: where broadcasting and reshape bugs hide) and the rest are distinct primes-or-close so
#: that no two axes are accidentally equal and a missing transpose changes the shape.
DEFAULT_SIZES: tuple[int, ...] = (1, 2, 3, 5)

#: How many distinct layouts (an assignment of sizes, plus a choice among each input's alternative
#: shapes) one Hypothesis run of one layer draws from. JAX compiles once per new shape (~0.1-0.5 s), so
#: values vary freely but shapes come from a bounded, deterministic set (see strategies.layouts).
DEFAULT_LAYOUTS = 4

#: JAX is asked on the first this-many layouts only (layout 0: distinct sizes; layout 1: the smallest):
#: each (layer, dtype, shape) costs JAX a 0.1-1 s compile, against ~1 ms for PyTorch, so PyTorch and the
#: numerical oracle cover every layout and JAX two of them. Examples on other layouts record no JAX
#: comparison at all (nothing is counted as passed that was not compared).
DEFAULT_JAX_LAYOUTS = 2


@dataclass(frozen=True)
class Domain:
    """Where input values are drawn: [low, high], kept `margin` away from each point in `kinks`.

    spacing > 0: the values of one array are distinct multiples of `spacing` (exact in float32 for a
    power-of-two spacing), so no two entries tie or sit within a finite-difference step of each other:
    for layers whose gradient jumps at ties (max pooling), whose ties are tested on purpose instead.
    """

    low: float = -4.0
    high: float = 4.0
    kinks: tuple[float, ...] = ()
    margin: float = 0.0
    spacing: float = 0.0


@dataclass(frozen=True)
class Arg:
    """One input of `forward`, in order.

    kind "float": a float array drawn from the domain, differentiable unless diff=False.
    kind "index": integers in [0, size of `classes`), never differentiated (labels, indices).
    kind "onehot": one-hot rows over the last axis, float, never differentiated.
    `alternatives`: several shapes to draw from (e.g. the broadcastable shapes of a bias), instead of `shape`.
    """

    name: str
    shape: Shape = ()
    kind: Literal["float", "index", "onehot"] = "float"
    diff: bool = True
    classes: str | int | None = None
    alternatives: tuple[Shape, ...] = ()
    domain: Domain | None = None

    def __post_init__(self):  # NumPy integers and lists become ints and tuples; the rest is validated later
        object.__setattr__(self, "shape", _as_shape(self.shape))
        if isinstance(self.alternatives, (tuple, list)):
            object.__setattr__(self, "alternatives", tuple(_as_shape(s) for s in self.alternatives))
        object.__setattr__(self, "classes", _as_int(self.classes))

    @property
    def differentiable(self) -> bool:
        return self.kind == "float" and self.diff

    def shapes(self) -> tuple[Shape, ...]:
        return self.alternatives or (self.shape,)


def Float(name: str, shape: Shape = (), **kw) -> Arg:
    return Arg(name, shape, "float", **kw)


def Index(name: str, shape: Shape, classes: str | int) -> Arg:
    return Arg(name, shape, "index", diff=False, classes=classes)


def OneHot(name: str, shape: Shape) -> Arg:
    return Arg(name, shape, "onehot", diff=False)


def _as_int(v):
    """A NumPy (or other integral) number as an int; anything else, bools included, unchanged."""
    return int(v) if isinstance(v, numbers.Integral) and not isinstance(v, (bool, int)) else v


def _as_shape(shape):
    return tuple(_as_int(d) for d in shape) if isinstance(shape, (tuple, list)) else shape


def _as_pool(pool):
    return tuple(_as_int(v) for v in pool) if isinstance(pool, (tuple, list, range)) else pool


def factors(dim: str) -> tuple[int | str, ...]:
    """The factors of one symbolic dimension: "c*h*w" -> ("c", "h", "w"); "4*h" -> (4, "h"): integer
    literals are numbers, everything else a size name. A malformed product is a ValueError naming it."""
    out: list[int | str] = []
    for p in (p.strip() for p in dim.split("*")):
        if p.isascii() and p.isdigit() and int(p) >= 1:
            out.append(int(p))
        elif p.isidentifier():
            out.append(p)
        else:
            raise ValueError(f"shape entry {dim!r}: expected size names and integers >= 1 joined by '*' "
                             f"(like 'n', 'c*h*w' or '4*h'), not {repr(p) if p else 'an empty factor'}")
    return tuple(out)


def resolve(shape: Shape, sizes: dict[str, int]) -> tuple[int, ...]:
    """("n", "c*h*w", "2*n", 3) with sizes n=2, c=1, h=2, w=3 -> (2, 6, 4, 3)."""
    out = []
    for d in shape:
        if isinstance(d, int):
            out.append(d)
        else:
            out.append(math.prod(f if isinstance(f, int) else sizes[f] for f in factors(d)))
    return tuple(out)


def size_names(shape: Shape) -> list[str]:
    """The size names a shape uses (integer literals are not names): ("n", "4*h") -> ["n", "h"]."""
    return [f for d in shape if isinstance(d, str) for f in factors(d) if isinstance(f, str)]


@dataclass(frozen=True)
class Convention:
    """What a layer does at one of its non-differentiable points (a kink or a tie), and what each
    framework does there.

    where: the point, in words ("x = 0"). reference / torch / jax: the derivative each takes there.
    agree: the oracles whose derivative there equals the reference's. The gate puts inputs exactly on
      the point and checks those oracles as usual; for the others it requires the documented difference
      to show up, and records it as a convention difference (not a failure, not a skip).
    input: which input is put on the point.
    points: elementwise kinks: a random non-empty subset of the entries is set exactly to these values.
    grid: ties: every entry of `input` is drawn from this small set instead, so maxima repeat.
    margin: random draws (everywhere but on purpose at the kink) keep at least this far from `points`, so
      no finite difference straddles a kink (a central step is ~1e-6 * max(1, |x|)).
    spacing: for ties: random draws are distinct multiples of this, so no window ties by chance.

    This is the one declaration of a kink: the input's drawing domain (LayerSpec.value_domain) and the
    words in reports (LayerSpec.kinks) both derive from it.
    """

    where: str
    reference: str
    torch: str
    jax: str
    agree: tuple[str, ...] = FRAMEWORKS
    input: str = "x"
    points: tuple[float, ...] = (0.0,)
    grid: tuple[float, ...] = ()
    margin: float = 1e-3
    spacing: float = 0.0

    def describe(self) -> str:
        return f"{self.where}: reference {self.reference}; PyTorch {self.torch}; JAX {self.jax}"

    def draws(self) -> str:
        """How random draws stay clear of this point, in words."""
        if self.grid:
            return f"random draws are tie-free (distinct multiples of {self.spacing:g})" if self.spacing else "random draws may tie"
        return f"random draws keep |{self.input} - p| >= {self.margin:g} for p in {list(self.points)}"


@dataclass(eq=False)  # identity: a spec is a registry entry, and caches (JAX's) are keyed by it
class LayerSpec:
    """Everything the harness needs to check one layer.

    make: `make(params: dict[str, ndarray], **config)` -> a reference layer (forward/backward protocol).
    inputs: the arguments of forward, in order. params: parameter name -> symbolic shape.
    torch_fn / jax_fn: `fn(*inputs, **params, **config)` in each framework. Or `fn(xp, *inputs, ...)`
      written once against an array namespace, used for whichever framework has no function of its own.
    sizes: size name -> values to draw from (default DEFAULT_SIZES).
    domain: value domain of float inputs and params (Arg.domain overrides per input).
    dtype_domains: per-dtype domain of float inputs, overriding `domain` (e.g. logits up to +-1e3 in
      float64 but +-80 in float32, where exp overflows sooner). Arg.domain still wins.
    conventions: one Convention per kink or tie: what each side does there, exercised on purpose by the
      gate; the drawing domain keeps away from it and the report's words come from it (`kinks`).
    layouts: how many distinct shape layouts a run draws from (DEFAULT_LAYOUTS; 0 = draw freely).
    jax_layouts: on how many of them JAX is asked too (default: DEFAULT_JAX_LAYOUTS, or every layout
      when an input has alternative shapes: there the shapes are what is being tested).
    tolerances: overrides of the tolerance table, keyed (dtype, oracle kind, stage kind); say why in
      tolerance_reason.

    The layer's calling protocol (oracles/protocol.py), for layers written in other styles:
    outputs: names of forward's outputs when it returns several (a tuple, or a dict keyed by these names),
      e.g. ("h", "c"): one stage "forward_<name>" each, one random cotangent each, and backward is called
      with them (`backward(dh, dc)`, or `backward((dh, dc))` when backward takes one argument); torch_fn /
      jax_fn / fn return a tuple in the same order. Empty: one output, stage "forward".
    forward_kwargs: keyword flags given to every forward call, e.g. {"train_flg": True}.
    keyword_inputs: call forward (and the math) with the inputs by keyword, forward(x=..., h=...), so the
      order of `inputs` need not be forward's.
    relations: rules between sizes, e.g. ("k <= h", "T >= w") (oracles/relations.py): only layouts where
      all hold are drawn.
    A layer's parameter gradients are read from `d<name>` attributes or, when it has none, from its
    `grads` list, in the order of `params` (book 2's `self.params = [W, b]; self.grads = [dW, db]`).
    """

    name: str
    make: Callable[..., Any]
    inputs: tuple[Arg, ...]
    params: dict[str, Shape] = field(default_factory=dict)
    torch_fn: Callable | None = None
    jax_fn: Callable | None = None
    fn: Callable | None = None
    config: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    domain: Domain = Domain()
    dtype_domains: dict[str, Domain] = field(default_factory=dict)
    param_domain: Domain = Domain(-2.0, 2.0)
    conventions: tuple[Convention, ...] = ()
    layouts: int = DEFAULT_LAYOUTS
    jax_layouts: int | None = None
    tolerances: dict[tuple[str, str, str], Tol] = field(default_factory=dict)
    tolerance_reason: str = ""
    doc: str = ""
    outputs: tuple[str, ...] = ()
    forward_kwargs: dict[str, Any] = field(default_factory=dict)
    keyword_inputs: bool = False
    relations: tuple[str, ...] = ()

    def __post_init__(self):
        # NumPy integers and lists become ints and tuples; oracles/validate.py checks the rest before drawing
        if isinstance(self.inputs, list):
            self.inputs = tuple(self.inputs)
        if not isinstance(self.inputs, tuple) or not all(isinstance(a, Arg) for a in self.inputs):
            raise TypeError(f"{self.name}: inputs={self.inputs!r}: give a tuple of Arg (Float, Index, OneHot)")
        if isinstance(self.params, dict):
            self.params = {k: _as_shape(v) for k, v in self.params.items()}
        if isinstance(self.sizes, dict):
            self.sizes = {k: _as_pool(v) for k, v in self.sizes.items()}
        for key in ("outputs", "relations"):  # a list is a tuple; a lone string is one entry
            v = getattr(self, key)
            setattr(self, key, (v,) if isinstance(v, str) else tuple(v) if isinstance(v, list) else v)
        if self.torch_fn is None and self.fn is None:
            raise ValueError(f"{self.name}: give torch_fn or fn(xp, ...)")
        if self.jax_fn is None and self.fn is None:
            raise ValueError(f"{self.name}: give jax_fn or fn(xp, ...)")
        if self.tolerances and not self.tolerance_reason:
            raise ValueError(f"{self.name}: tolerance overrides need a tolerance_reason")
        names = [a.name for a in self.inputs] + list(self.params)
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: input and parameter names must be distinct: {names}")
        for c in self.conventions:
            if c.input not in [a.name for a in self.inputs if a.kind == "float"]:
                raise ValueError(f"{self.name}: convention at {c.where!r} names no float input {c.input!r}")

    @property
    def jax_layout_count(self) -> int:
        if self.jax_layouts is not None:
            return self.jax_layouts
        return self.layouts if any(len(a.shapes()) > 1 for a in self.inputs) else DEFAULT_JAX_LAYOUTS

    @property
    def diff_inputs(self) -> list[str]:
        return [a.name for a in self.inputs if a.differentiable]

    def forward_stages(self) -> list[str]:
        """'forward' for one output; 'forward_<name>' per output when `outputs` names several."""
        return [f"forward_{o}" for o in self.outputs] if self.outputs else ["forward"]

    def stages(self) -> list[str]:
        """The forward stage(s), then 'grad_<input>' per differentiable input, then 'grad_<param>' per parameter."""
        return self.forward_stages() + [f"grad_{n}" for n in self.diff_inputs] + [f"grad_{p}" for p in self.params]

    def call_math(self, f: Callable, inputs: dict, params: dict):
        """`f(*inputs, **params, **config)` in the order of `inputs` (by keyword with keyword_inputs)."""
        if self.keyword_inputs:
            return f(**{a.name: inputs[a.name] for a in self.inputs}, **params, **self.config)
        return f(*[inputs[a.name] for a in self.inputs], **params, **self.config)

    def size_names(self) -> list[str]:
        seen: list[str] = []
        for a in self.inputs:
            for s in a.shapes():
                seen += size_names(s)
            if isinstance(a.classes, str):
                seen.append(a.classes)
        for s in self.params.values():
            seen += size_names(s)
        return list(dict.fromkeys(seen))

    def size_pool(self, name: str) -> tuple[int, ...]:
        return self.sizes.get(name, DEFAULT_SIZES)

    def value_domain(self, arg: Arg, dtype: str) -> Domain:
        """Where `arg`'s values are drawn in `dtype`: its own domain, else the dtype's, else the layer's;
        kept clear of the kinks and ties its conventions declare."""
        base = arg.domain or self.dtype_domains.get(dtype, self.domain)
        convs = [c for c in self.conventions if c.input == arg.name]
        points = tuple(p for c in convs if not c.grid for p in c.points)
        if not convs:
            return base
        return replace(base, kinks=tuple(dict.fromkeys(base.kinks + points)),
                       margin=max([base.margin] + [c.margin for c in convs if not c.grid]),
                       spacing=max([base.spacing] + [c.spacing for c in convs if c.grid]))

    @property
    def family(self) -> str:
        """The family the report groups this layer under: the `oracles/zoo` module that declares its math
        or its `make` ("seeds", "conv", ...), else "custom" (a researcher's layer, a broken twin whose math
        is a framework's own function).

        >>> from oracles import REGISTRY
        >>> REGISTRY["conv2d"].family, REGISTRY["affine"].family
        ('conv', 'seeds')
        """
        for f in (self.fn, self.torch_fn, self.jax_fn, self.make):
            module = getattr(f, "__module__", None) or ""
            if module.startswith("oracles.zoo."):
                return module.rsplit(".", 1)[1]
        return "custom"

    @property
    def kinks(self) -> str:
        """The layer's conventions at its non-differentiable points, in words (derived, for reports)."""
        return "; ".join(f"{c.describe()}; {c.draws()}" for c in self.conventions) or "none declared"
