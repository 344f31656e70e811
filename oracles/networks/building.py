"""Building a network from its description: every block a registry entry with sizes bound to the running
shape, parameter and constant-input values drawn from the description's seed (`build`)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..backends import configure, forward_shape
from ..spec import Arg, LayerSpec, resolve
from ..strategies import arg_values, cotangent
from .describe import VOCABULARY, NetDesc, _registry


@dataclass
class Node:
    """One layer of a built network: a registry entry with its sizes, parameters and constant inputs."""

    path: str  # "3" or "2.r1" (inside a residual block)
    spec: LayerSpec
    params: dict[str, np.ndarray]
    extras: dict[str, np.ndarray]  # inputs other than the chained one (labels, masks): constants
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    inner: list["Node"] | None = None  # a residual block: out = x + inner(x)

    @property
    def name(self) -> str:
        return f"{self.path}:{'residual' if self.inner is not None else self.spec.name}"


@dataclass
class Network:
    desc: NetDesc
    x: np.ndarray
    nodes: list[Node]
    head: Node
    ct: np.ndarray
    skipped: list[str] = field(default_factory=list)  # blocks of the description that did not fit

    def sites(self) -> list[Node]:
        """Every layer in execution order, residual blocks' inner layers included."""
        out = []
        for n in self.nodes:
            if n.inner is not None:
                out += n.inner
            out.append(n)
        return out + [self.head]


def _bind(spec: LayerSpec, shape: tuple[int, ...], fixed: dict[str, int]) -> dict[str, int] | None:
    """Sizes that make the spec's first input exactly `shape` (None if no alternative fits)."""
    for alt in spec.inputs[0].shapes():
        if len(alt) != len(shape):
            continue
        sizes = dict(fixed)
        ok = True
        for d, v in zip(alt, shape):
            if isinstance(d, int):
                ok = ok and d == v
            elif not d.strip().isidentifier():  # a product ("c*h", "4*h") or a literal ("3"): fits only as a number
                ok = ok and d.strip().isdigit() and int(d) == v
            elif sizes.setdefault(d, v) != v:
                ok = False
        if ok:
            return sizes
    return None


def _draw_arg(arg: Arg, spec: LayerSpec, sizes: dict[str, int], dtype: str, rng) -> np.ndarray:
    """A constant input's values from the network's rng: oracles.strategies.arg_values (the one-input logic
    the Hypothesis cases use too) with NumPy samplers; floats from the input's domain clipped to [-2, 2]."""
    return arg_values(arg, spec, dtype, sizes,
                      floats=lambda shape, dom: rng.uniform(max(dom.low, -2.0), min(dom.high, 2.0), size=shape).astype(dtype),
                      integers=lambda shape, high: rng.integers(0, high, size=shape).astype(np.int64))


def _draw_param(name: str, shape: tuple[int, ...], dtype: str, rng) -> np.ndarray:
    """Uniform in [-1, 1], matrices scaled by 1/sqrt(fan-in) so that deep stacks neither blow up nor
    vanish on the first layers (the seeds' Xavier remark); vectors (biases, gains) unscaled."""
    v = rng.uniform(-1.0, 1.0, size=shape)
    if len(shape) == 2:
        v /= math.sqrt(shape[0])
    elif len(shape) == 4:
        v /= math.sqrt(math.prod(shape[1:]))
    return v.astype(dtype)


def _make_node(path: str, name: str, free: dict, shape: tuple, x: np.ndarray, dtype: str, rng, registry) -> Node | None:
    block = VOCABULARY[name]
    spec = registry[block.spec]
    if block.min_batch > shape[0]:
        return None
    if block.rank and (len(shape) != block.rank or (block.rank == 4 and min(shape[2:]) < block.min_spatial)):
        return None
    fixed = dict(free)
    for s in block.same:
        fixed[s] = shape[-1]
    if block.rank == 0:
        sizes = _bind(spec, shape, fixed) or {}
    else:
        sizes = _bind(spec, shape, fixed)
        if sizes is None:
            return None
    extras = {}
    for a in spec.inputs[1:]:
        try:
            extras[a.name] = _draw_arg(a, spec, sizes, dtype, rng)
        except KeyError:
            return None
    try:
        params = {k: _draw_param(k, resolve(s, sizes), dtype, rng) for k, s in spec.params.items()}
    except KeyError:
        return None
    out = forward_shape(spec, {spec.inputs[0].name: x, **extras}, params, lenient=True)
    if out is None:  # the call raised, or its output is not finite: the block does not fit here
        return None
    return Node(path, spec, params, extras, tuple(shape), out[0])


def build(desc: NetDesc, registry: dict[str, LayerSpec] | None = None) -> Network:
    """The network a description stands for: blocks that do not fit the running shape are skipped (and
    listed), so every description builds."""
    configure()
    registry = registry or _registry().REGISTRY
    rng = np.random.default_rng(desc.seed)
    x = rng.uniform(-2.0, 2.0, size=desc.input_shape).astype(desc.dtype)
    a = x
    nodes, skipped = [], []
    for i, (name, arg) in enumerate(desc.blocks):
        if name == "residual":
            inner, b = [], a
            for j, inner_name in enumerate(arg):
                node = _make_node(f"{i}.r{j}", inner_name, {}, b.shape, b, desc.dtype, rng, registry)
                if node is None:
                    break
                inner.append(node)
                b = np.zeros(node.out_shape, dtype=desc.dtype)
            if len(inner) != len(arg) or b.shape != a.shape:
                skipped.append(f"{i}:residual{arg}")
                continue
            nodes.append(Node(str(i), registry["add"], {}, {}, a.shape, a.shape, inner=inner))
            continue
        node = _make_node(str(i), name, arg, a.shape, a, desc.dtype, rng, registry)
        if node is None:
            skipped.append(f"{i}:{name}")
            continue
        nodes.append(node)
        a = np.zeros(node.out_shape, dtype=desc.dtype)
    head_spec = registry[desc.head]
    sizes = _bind(head_spec, a.shape, {})
    if a.ndim != 2 or sizes is None:
        raise ValueError(f"network {desc}: head {desc.head} does not fit shape {a.shape}")
    extras = {arg.name: _draw_arg(arg, head_spec, sizes, desc.dtype, rng) for arg in head_spec.inputs[1:]}
    head = Node("head", head_spec, {}, extras, a.shape, ())
    ct = cotangent((), desc.dtype, desc.seed)
    return Network(desc, x, nodes, head, ct, skipped)
