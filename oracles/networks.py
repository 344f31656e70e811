"""Whole networks drawn by Hypothesis from the registry, checked layer by layer.

One network *description* (a list of blocks, each naming a registry entry, plus a seed for the values)
builds the same network three times: from the reference layers, from the registry's PyTorch functions
(one autograd graph over the whole network) and from the registry's JAX functions (each layer's jitted
`jax.vjp`, chained; compiled once per layer and shape, so networks that reuse shapes reuse compiles).
No model is written twice by hand: every layer's math comes from its registry entry.

Every layer of the network is compared: its output, the gradient with respect to its input (the
deltas of the seeds' matrix formulation) and its parameter gradients. When something diverges, errors
propagate (forward errors to every later layer, gradient errors to every earlier one), so the layer
blamed is where the divergence *begins*: the first layer whose output diverges, else the last layer
(the first one backward) whose gradients diverge.

>>> from hypothesis import given, settings
>>> from oracles.networks import check_network, networks
>>> @settings(max_examples=3, deadline=None, database=None)
... @given(networks("mlp", "float64"))
... def test(net):
...     check_network(net).assert_passed()
>>> test()
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from . import budget
from .backends import _jax_vjp, _torch_fn, configure
from .comparison import Comparison, compare
from .spec import Arg, LayerSpec, resolve
from .strategies import cotangent
from .tolerances import tolerance_for


# --- the vocabulary: which registry entries a network may use, and how they chain -------------------------
@dataclass(frozen=True)
class Block:
    """A registry entry usable inside a network.

    rank: rank of the input it takes (2: (n, features); 3: (n, time, features); 4: NCHW). 0: any rank
      (elementwise, flatten: nothing to bind). free: size names the input does not fix, with the values
      a description may choose (an Affine's output width). same: free names set to the input's last
      dimension (the inner Affine of a residual block). min_batch: 2 for batch statistics.
    """

    spec: str
    rank: int = 2
    free: dict[str, tuple[int, ...]] = field(default_factory=dict)
    same: tuple[str, ...] = ()
    min_batch: int = 1
    min_spatial: int = 1


# Not leaky_relu: its frameworks disagree at 0 (documented at the layer), and inside a network exact
# zeros reach it (ReLU, dropout, max-pooled zeros). Its own gate entry checks it on and off the kink.
ACTS = ("relu", "sigmoid", "tanh", "elu", "gelu", "gelu_tanh", "softplus")

VOCABULARY: dict[str, Block] = {
    "affine": Block("affine", 2, free={"o": (2, 3, 5)}),
    "affine_same": Block("affine", 2, same=("o",)),
    **{a: Block(a, 0) for a in ACTS},
    "layernorm": Block("layernorm", 0),
    "rmsnorm": Block("rmsnorm", 0),
    "batchnorm": Block("batchnorm_train", 2, min_batch=2),
    "dropout": Block("dropout_train", 2),
    "flatten": Block("flatten", 0),
    "conv": Block("conv2d", 4, free={"o": (2, 3)}, min_spatial=3),
    "conv_s2": Block("conv2d_stride2_pad1", 4, free={"o": (2, 3)}, min_spatial=2),
    "maxpool": Block("maxpool2d", 4, min_spatial=2),
    "avgpool": Block("avgpool2d", 4, min_spatial=2),
    "batchnorm2d": Block("batchnorm2d_train", 4, min_batch=2),
    "global_avg_pool": Block("global_avg_pool", 4),
    "mha": Block("mha", 3),
}

#: Loss heads (2-d input): the last block's width becomes the head's class count or target width.
HEADS = ("softmax_with_loss", "softmax_with_loss_onehot", "mean_squared_error", "mse_loss_mean",
         "bce_with_logits", "huber_loss", "nll_loss")


def register_block(name: str, block: Block, families: tuple[str, ...] = ("mlp",)) -> None:
    """Let generated networks use a registry entry (a researcher's own layer included, once it is in
    the registry with `oracles.register`). `families`: which network families may draw it."""
    VOCABULARY[name] = block
    for f in families:
        FAMILIES[f].blocks = tuple(dict.fromkeys(FAMILIES[f].blocks + (name,)))


def register_network_layer(spec: LayerSpec, *, rank: int = 0, free: dict[str, tuple[int, ...]] | None = None,
                           families: tuple[str, ...] = ("mlp",)) -> None:
    """Put a (researcher's) layer into the registry if it is not there, and into generated networks.

    rank 0: the layer takes any shape its first input's symbolic shape can bind (elementwise, norms over
    the last axis); rank 2/3/4: only inputs of that rank. free: output sizes a network may choose.

    >>> from oracles import layer_spec
    >>> from oracles.networks import register_network_layer, unregister_network_layer
    >>> class Scale2:
    ...     def forward(self, x): return 2 * x
    ...     def backward(self, dout): return 2 * dout
    >>> spec = layer_spec(lambda p: Scale2(), inputs={"x": ("n", "m")}, fn=lambda xp, x: 2 * x, name="scale2")
    >>> register_network_layer(spec)
    >>> "scale2" in FAMILIES["mlp"].blocks
    True
    >>> unregister_network_layer("scale2")
    """
    from .registry import REGISTRY, register

    if REGISTRY.get(spec.name) is not spec:
        register(spec)
    register_block(spec.name, Block(spec.name, rank, free=dict(free or {})), families)


def unregister_network_layer(name: str) -> None:
    """Undo register_network_layer (the registry entry and the vocabulary block)."""
    from .registry import REGISTRY

    REGISTRY.pop(name, None)
    VOCABULARY.pop(name, None)
    for f in FAMILIES.values():
        f.blocks = tuple(b for b in f.blocks if b != name)


# --- descriptions --------------------------------------------------------------------------------------
@dataclass
class Family:
    """How a family of networks starts and what it may contain."""

    input_rank: int
    blocks: tuple[str, ...]
    residual: tuple[tuple[str, ...], ...] = ()  # inner block lists usable as x + f(x)
    bridge: tuple[str, ...] = ()  # blocks that end the family's own part (to 2-d) before the dense tail


FAMILIES: dict[str, Family] = {
    "mlp": Family(2, ("affine", *ACTS, "layernorm", "rmsnorm", "batchnorm", "dropout"),
                  residual=(("affine_same", "tanh"), ("layernorm", "affine_same", "relu"), ("affine_same",))),
    "conv": Family(4, ("conv", "conv_s2", "relu", "tanh", "maxpool", "avgpool", "batchnorm2d"),
                   bridge=("flatten", "global_avg_pool")),
    "attention": Family(3, ("mha", "layernorm", "gelu", "rmsnorm"), residual=(("mha",), ("layernorm", "mha")),
                        bridge=("flatten",)),
}


@dataclass(frozen=True)
class NetDesc:
    """A network, as data: small enough to print as a repro. Values come from `seed`."""

    family: str
    dtype: str
    input_shape: tuple[int, ...]
    blocks: tuple  # each: (vocabulary name, {free size: value}) or ("residual", (inner blocks...))
    head: str
    seed: int = 0
    name: str = ""  # records are filed under network_<name or family>

    def repro(self) -> str:
        return ("from oracles.networks import NetDesc, check_network\n"
                f"net = {self!r}\n"
                "print(check_network(net).summary())")


@st.composite
def networks(draw, family: str = "mlp", dtype: str = "float64", max_blocks: int = 8) -> NetDesc:
    """A network description: input shape, 1 to max_blocks blocks (residual ones included), a loss head.

    Shrinks towards fewer, simpler blocks: every block's input width comes from the block before it at
    build time, so removing a block keeps the description valid."""
    fam = FAMILIES[family]
    n = draw(st.sampled_from((2, 3, 1)), label="batch")
    if fam.input_rank == 2:
        shape = (n, draw(st.sampled_from((3, 2, 5)), label="width"))
    elif fam.input_rank == 3:
        shape = (n, draw(st.sampled_from((2, 3)), label="time"), draw(st.sampled_from((4, 2)), label="embed"))
    else:
        shape = (n, draw(st.sampled_from((1, 2)), label="channels"), draw(st.sampled_from((6, 5, 7)), label="h"),
                 draw(st.sampled_from((6, 7, 5)), label="w"))

    def block():
        choices = [st.sampled_from(fam.blocks)]
        if fam.residual:
            choices.append(st.sampled_from(range(len(fam.residual))).map(lambda i: ("residual", fam.residual[i])))
        return st.one_of(*choices).flatmap(_with_free)

    body = draw(st.lists(block(), min_size=1, max_size=max_blocks), label="blocks")
    tail = []
    if fam.bridge:
        tail.append(draw(st.sampled_from(fam.bridge), label="bridge"))
        tail.append(("affine", {"o": draw(st.sampled_from((2, 3, 5)), label="classes")}))
    else:
        tail.append(("affine", {"o": draw(st.sampled_from((2, 3, 5)), label="classes")}))
    head = draw(st.sampled_from(HEADS), label="head")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    blocks = tuple(b if isinstance(b, tuple) else (b, {}) for b in body + tail)
    return NetDesc(family, dtype, shape, blocks, head, seed)


def _with_free(b):
    if isinstance(b, tuple):  # residual
        return st.just(b)
    free = VOCABULARY[b].free
    if not free:
        return st.just((b, {}))
    return st.fixed_dictionaries({k: st.sampled_from(v) for k, v in free.items()}).map(lambda d: (b, d))


# --- building ----------------------------------------------------------------------------------------------
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
            elif "*" in d:
                ok = False
            elif sizes.setdefault(d, v) != v:
                ok = False
        if ok:
            return sizes
    return None


def _draw_arg(arg: Arg, spec: LayerSpec, sizes: dict[str, int], dtype: str, rng) -> np.ndarray:
    shape = resolve(arg.shapes()[0], sizes)
    if arg.kind == "index":
        classes = sizes[arg.classes] if isinstance(arg.classes, str) else arg.classes
        return rng.integers(0, classes, size=shape).astype(np.int64)
    if arg.kind == "onehot":
        return np.eye(shape[-1], dtype=dtype)[rng.integers(0, shape[-1], size=shape[:-1])]
    dom = arg.domain or spec.dtype_domains.get(dtype, spec.domain)
    return rng.uniform(max(dom.low, -2.0), min(dom.high, 2.0), size=shape).astype(dtype)


def _draw_param(name: str, shape: tuple[int, ...], dtype: str, rng) -> np.ndarray:
    """Uniform in [-1, 1], matrices scaled by 1/sqrt(fan-in) so that deep stacks neither blow up nor
    vanish on the first layers (the seeds' Xavier remark); vectors (biases, gains) unscaled."""
    v = rng.uniform(-1.0, 1.0, size=shape)
    if len(shape) == 2:
        v /= math.sqrt(shape[0])
    elif len(shape) == 4:
        v /= math.sqrt(math.prod(shape[1:]))
    return v.astype(dtype)


def _out_shape(spec: LayerSpec, x: np.ndarray, extras: dict, params: dict) -> tuple[int, ...] | None:
    import torch

    args = {spec.inputs[0].name: x, **extras}
    try:
        with torch.no_grad():
            out = _torch_fn(spec)(*[torch.from_numpy(np.array(args[a.name])) for a in spec.inputs],
                                  **{k: torch.from_numpy(np.array(v)) for k, v in params.items()}, **spec.config)
    except Exception:
        return None
    return tuple(out.shape) if torch.isfinite(out).all() else None


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
    out = _out_shape(spec, x, extras, params)
    if out is None:
        return None
    return Node(path, spec, params, extras, tuple(shape), out)


def build(desc: NetDesc, registry: dict[str, LayerSpec] | None = None) -> Network:
    """The network a description stands for: blocks that do not fit the running shape are skipped (and
    listed), so every description builds."""
    from .registry import REGISTRY

    configure()
    registry = registry or REGISTRY
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


# --- running it three ways ----------------------------------------------------------------------------------
def _first(g):
    return g[0] if isinstance(g, (tuple, list)) else g


def _chain(net: Network, leaf_forward, leaf_backward, keep) -> dict[str, dict[str, Any]]:
    """Run a network by hand, layer after layer, the way the reference and the per-layer JAX oracle do.

    leaf_forward(node, a) -> output; leaf_backward(node, dout) -> (input gradient, {param: gradient}).
    A residual block outputs a + branch(a); its input gradient is dout + the branch's. `keep(value)` is
    what gets recorded (a copy for the reference, whose layers may reuse their arrays).
    Returns site path -> {"forward", "grad_in", "grad_<param>"...}.
    """
    res: dict[str, dict[str, Any]] = {}

    def fwd(node: Node, a):
        if node.inner is not None:
            b = a
            for n in node.inner:
                b = fwd(n, b)
            out = a + b
        else:
            out = leaf_forward(node, a)
        res[node.path] = {"forward": keep(out)}
        return out

    def bwd(node: Node, d):
        if node.inner is not None:
            e = d
            for n in reversed(node.inner):
                e = bwd(n, e)
            g = d + e
        else:
            g, grads = leaf_backward(node, d)
            res[node.path].update({f"grad_{k}": None if v is None else keep(v) for k, v in grads.items()})
        res[node.path]["grad_in"] = keep(g)
        return g

    a = net.x
    for n in net.nodes:
        a = fwd(n, a)
    fwd(net.head, a)
    d = bwd(net.head, np.array(net.ct))
    for n in reversed(net.nodes):
        d = bwd(n, d)
    return res


def run_reference(net: Network) -> dict[str, dict[str, np.ndarray]]:
    """Each site's output, input gradient and parameter gradients, from the reference layers."""
    layers: dict[str, Any] = {}

    def forward(node: Node, a):
        layer = node.spec.make({k: v.copy() for k, v in node.params.items()}, **node.spec.config)
        layers[node.path] = layer
        return layer.forward(a, *[node.extras[arg.name] for arg in node.spec.inputs[1:]])

    def backward(node: Node, d):
        layer = layers[node.path]
        g = _first(layer.backward(d))
        return g, {p: getattr(layer, "d" + p, None) for p in node.spec.params}

    # copies: a neighbour that mutates its input or dout in place must not rewrite this site's record
    return _chain(net, forward, backward, keep=lambda v: np.array(v, copy=True))


def run_torch(net: Network, leaves: dict | None = None) -> dict[str, dict[str, np.ndarray]]:
    """One autograd graph over the whole network; intermediate gradients via retain_grad.

    leaves: site path -> {param: tensor} to use as the parameters (a training loop's, whose
    torch.optim optimizer steps them); by default fresh tensors from the network's arrays."""
    import torch

    res: dict[str, dict[str, Any]] = {}
    tensors: dict[str, Any] = {}

    def fwd(node: Node, a):
        tensors[node.path + ":in"] = a
        if node.inner is not None:
            # the inner branch gets its own handle on x, so its first layer's input gradient is the
            # branch's share only (the residual's own input gradient adds the skip path)
            b = a.clone()
            if b.requires_grad:
                b.retain_grad()
            for n in node.inner:
                b = fwd(n, b)
            out = a + b
        else:
            ps = (leaves or {}).get(node.path) or {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in node.params.items()}
            tensors[node.path + ":params"] = ps
            ex = [torch.from_numpy(np.array(node.extras[arg.name])) for arg in node.spec.inputs[1:]]
            out = _torch_fn(node.spec)(a, *ex, **ps, **node.spec.config)
        if out.requires_grad:
            out.retain_grad()
        tensors[node.path + ":out"] = out
        return out

    x = torch.from_numpy(net.x.copy()).requires_grad_(True)
    a = x
    for n in net.nodes:
        a = fwd(n, a)
    a.retain_grad() if a.requires_grad else None
    loss = fwd(net.head, a)
    loss.backward(torch.from_numpy(np.array(net.ct)))
    for node in net.sites():
        inp = tensors[node.path + ":in"]
        r = {"forward": tensors[node.path + ":out"].detach().numpy(),
             "grad_in": inp.grad.numpy() if inp.grad is not None else np.zeros(inp.shape, dtype=net.desc.dtype)}
        for k, p in tensors.get(node.path + ":params", {}).items():
            r[f"grad_{k}"] = p.grad.numpy() if p.grad is not None else np.zeros(p.shape, dtype=net.desc.dtype)
        res[node.path] = r
    return res


def run_jax(net: Network) -> dict[str, dict[str, np.ndarray]]:
    """Each layer's own jitted jax.vjp (cached per layer, shape and dtype), chained: forward with a zero
    cotangent to get the output, then backward with the cotangent JAX's own chain produced."""
    import jax

    ins: dict[str, Any] = {}

    def call(node: Node, a, ct):
        fn = _jax_vjp(node.spec)
        first = node.spec.inputs[0].name
        diff = {first: a, **{k: v for k, v in node.extras.items() if k in node.spec.diff_inputs}}
        other = {k: v for k, v in node.extras.items() if k not in node.spec.diff_inputs}
        return jax.block_until_ready(fn(diff, other, dict(node.params), ct))

    def forward(node: Node, a):
        ins[node.path] = a
        out, _, _ = call(node, a, np.zeros(node.out_shape, dtype=net.desc.dtype))
        return out

    def backward(node: Node, d):
        _, g_in, g_par = call(node, ins[node.path], d)
        return g_in[node.spec.inputs[0].name], g_par

    return _chain(net, forward, backward, keep=np.asarray)


NET_RUNNERS = {"torch": run_torch, "jax": run_jax}


# --- comparing and blaming ---------------------------------------------------------------------------------
@dataclass
class NetworkResult:
    net: Network
    comparisons: list[Comparison]
    culprit: dict[str, str] = field(default_factory=dict)  # oracle -> "site stage"
    reference: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons)

    def summary(self) -> str:
        d = self.net.desc
        lines = [f"network {d.family} [{d.dtype}] input {d.input_shape}: "
                 + " -> ".join(n.name for n in self.net.sites())]
        if self.net.skipped:
            lines.append(f"  (blocks that did not fit and were left out: {', '.join(self.net.skipped)})")
        for oracle in NET_RUNNERS:
            bad = [c for c in self.comparisons if c.oracle == oracle and not c.passed]
            if not bad:
                lines.append(f"  vs {oracle}: every layer agrees ({sum(c.oracle == oracle for c in self.comparisons)} comparisons)")
                continue
            lines.append(f"  vs {oracle}: divergence begins at {self.culprit[oracle]}; "
                         f"{len(bad)} comparison(s) diverge in all (errors propagate from there)")
        return "\n".join(lines)

    def message(self) -> str:
        first = {o: next(c for c in self.comparisons if c.oracle == o and not c.passed and _site_stage(c) == self.culprit[o])
                 for o in self.culprit}
        return (self.summary() + "\n" + "\n".join(c.message() for c in first.values())
                + "\n  reproduce with:\n    " + self.net.desc.repro().replace("\n", "\n    "))

    def assert_passed(self) -> None:
        if not self.passed:
            raise NetworkMismatch(self.message())

    def grad_norms(self) -> list[dict]:
        """Per parameterized layer: ||dW|| of every parameter gradient, from the reference."""
        out = []
        for node in self.net.sites():
            g = self.reference.get(node.path, {})
            norms = {k[5:]: float(np.linalg.norm(np.asarray(v, dtype=np.float64))) for k, v in g.items()
                     if k.startswith("grad_") and k != "grad_in" and v is not None}
            if norms:
                out.append({"site": node.name, "norms": norms})
        return out


class NetworkMismatch(AssertionError):
    """A generated network's layer disagreed with an oracle."""


def _site_stage(c: Comparison) -> str:
    return f"{c.extra['site']} {c.extra['stage']}"


def check_network(net: NetDesc | Network, oracles=("torch", "jax"), registry=None) -> NetworkResult:
    """Build the network, run it three ways, compare every layer's output, input gradient and parameter
    gradients, and name where a divergence begins."""
    if isinstance(net, NetDesc):
        net = build(net, registry)
    dtype = net.desc.dtype
    try:
        ref = run_reference(net)
        ref_error = None
    except Exception as e:  # a layer that raises inside a network is blamed like any other divergence
        ref, ref_error = {}, e
    comps: list[Comparison] = []
    culprit: dict[str, str] = {}
    sites = net.sites()
    got = {oracle: NET_RUNNERS[oracle](net) for oracle in oracles}
    noise = _float32_noise(net, got) if dtype == "float32" else {}
    for oracle in oracles:
        mine = []
        for node in sites:
            exp = got[oracle][node.path]
            for stage in ["forward", "grad_in", *[f"grad_{p}" for p in (node.spec.params if node.inner is None else ())]]:
                tol = budget.widen(tolerance_for(dtype, oracle, stage, node.spec.tolerances), noise.get((node.path, stage)))
                c = compare(ref.get(node.path, {}).get(stage), exp.get(stage), tol,
                            layer=f"network_{net.desc.name or net.desc.family}", dtype=dtype, stage=f"{node.name}.{stage}",
                            oracle=oracle, shapes={"in": list(node.in_shape), "out": list(node.out_shape)})
                if ref_error is not None:
                    c.note = f"the reference network raised {type(ref_error).__name__}: {ref_error}"
                c.extra["site"] = node.name
                c.extra["stage"] = stage
                if (node.path, stage) in noise:
                    c.extra["float32_noise"] = budget.noise_summary(noise[(node.path, stage)])
                if stage.startswith("grad_") and stage != "grad_in":  # the report's per-layer gradient norms
                    c.extra["norms"] = {k: _norm(v) for k, v in (("reference", ref.get(node.path, {}).get(stage)), (oracle, exp.get(stage)))}
                mine.append(c)
        comps += mine
        blame = _blame(mine, sites)
        if blame:
            culprit[oracle] = blame
    return NetworkResult(net, comps, culprit, ref)


def _float32_noise(net: Network, got: dict) -> dict[tuple[str, str], np.ndarray]:
    """(site, stage) -> max over PyTorch32, JAX32 of |framework32 - torch64|, element by element, on the same
    network (see oracles/budget.py); PyTorch runs here in float32 too when it was not asked."""
    up = lambda a: np.asarray(a).astype(np.float64) if np.asarray(a).dtype.kind == "f" else np.asarray(a)  # noqa: E731
    nodes64 = [_up_node(n, up) for n in net.nodes]
    net64 = Network(net.desc, up(net.x), nodes64, _up_node(net.head, up), up(net.ct))
    try:
        truth = run_torch(net64)
        t32 = got["torch"] if "torch" in got else run_torch(net)
    except Exception:
        return {}
    out = {}
    for path, stages in truth.items():
        for stage, t in stages.items():
            found = [g[path][stage] for g in (t32, *got.values()) if stage in g.get(path, {})]
            found = [f for f in found if np.shape(f) == np.shape(t)]
            if found:
                noise = np.max([np.abs(np.asarray(f, dtype=np.float64) - np.asarray(t, dtype=np.float64)) for f in found], axis=0)
                if np.isfinite(noise).all():
                    out[(path, stage)] = noise
    return out


def _up_node(n: Node, up) -> Node:
    return Node(n.path, n.spec, {k: up(v) for k, v in n.params.items()}, {k: up(v) for k, v in n.extras.items()},
                n.in_shape, n.out_shape, None if n.inner is None else [_up_node(m, up) for m in n.inner])


def _norm(v) -> float | None:
    try:
        return float(np.linalg.norm(np.asarray(v, dtype=np.float64)))
    except (TypeError, ValueError):
        return None


def _blame(comps: list[Comparison], sites: list[Node]) -> str | None:
    """Where divergence begins: the first site (forward order) whose output diverges; else the last
    site (the first backward) whose input or parameter gradients diverge."""
    order = {n.name: i for i, n in enumerate(sites)}
    bad = [c for c in comps if not c.passed]
    if not bad:
        return None
    fwd = [c for c in bad if c.extra["stage"] == "forward"]
    if fwd:
        c = min(fwd, key=lambda c: order[c.extra["site"]])
    else:
        # a residual block's own gradient is d + (its branch's): harness arithmetic, wrong only when
        # something inside or above it is; blame a reference layer whenever one diverges
        layers = [c for c in bad if not c.extra["site"].endswith(":residual")] or bad
        c = max(layers, key=lambda c: (order[c.extra["site"]], c.extra["stage"] != "grad_in"))
    return f"{c.extra['site']} {c.extra['stage']}"


# --- the randomized check ----------------------------------------------------------------------------------
@dataclass
class NetworkCheck:
    """Every network one Hypothesis run drew, and the smallest failing one (after shrinking) if any."""

    family: str
    dtype: str
    examples: int = 0
    comparisons: dict = field(default_factory=dict)  # oracle -> count
    failure: NetworkResult | None = None
    records: list[Comparison] = field(default_factory=list)

    def passed(self, oracle: str) -> bool:
        return self.comparisons.get(oracle, 0) > 0 and not (self.failure and oracle in self.failure.culprit)

    def assert_passed(self, oracle: str | None = None) -> None:
        oracles = [oracle] if oracle else list(self.comparisons)
        bad = [o for o in oracles if not self.passed(o)]
        if bad:
            if self.failure is None:
                raise NetworkMismatch(f"network {self.family} [{self.dtype}] vs {bad}: no network was compared")
            raise NetworkMismatch(
                f"network {self.family} [{self.dtype}] vs {', '.join(bad)}: failed after {self.examples} network(s); "
                f"the smallest failing network found:\n" + self.failure.message())


def run_network_check(family: str, dtype: str, *, max_examples: int | None = None, registry=None,
                      strategy=None, record: bool = True, oracles=("torch", "jax")) -> NetworkCheck:
    """Draw networks of one family with Hypothesis and check each layer by layer; Hypothesis shrinks a
    failing network to a minimal one."""
    from hypothesis import HealthCheck, given, settings

    from . import records as rec

    result = NetworkCheck(family, dtype)
    kw = dict(deadline=None, report_multiple_bugs=False, suppress_health_check=list(HealthCheck))
    # A network holds 5-20 layers, each checked at every stage: 2/5 of the profile's examples per family
    # and dtype (ci: 10 networks, ~150 layer checks) keeps the network gate within its time budget.
    kw["max_examples"] = max_examples if max_examples is not None else max(3, settings.default.max_examples * 2 // 5)

    @settings(settings.default, **kw)
    @given(desc=strategy if strategy is not None else networks(family, dtype))
    def check(desc: NetDesc) -> None:
        # once a failure is known Hypothesis is shrinking: ask only the oracle(s) that failed (PyTorch alone
        # spares JAX a compile per new shape); the minimal network is re-checked by every oracle at the end
        shrink_with = tuple(o for o in oracles if result.failure is not None and o in result.failure.culprit)
        r = check_network(desc, shrink_with or oracles, registry)
        result.examples += 1
        for c in r.comparisons:
            c.example = result.examples - 1
            result.comparisons[c.oracle] = result.comparisons.get(c.oracle, 0) + 1
        if r.passed:
            result.records += r.comparisons
        else:
            result.failure = r  # the last failure Hypothesis reports is the shrunk one
            r.assert_passed()

    try:
        check()
    except Exception:  # NetworkMismatch, or Hypothesis's own error if a failure did not replay
        if result.failure is None:
            raise
        result.failure = check_network(result.failure.net.desc, oracles, registry)
    if record:
        out = list(result.records)
        if result.failure is not None:
            for c in result.failure.comparisons:
                if not c.passed:
                    c.repro = result.failure.net.desc.repro()
                out.append(c)
        rec.emit(out)
    return result



# --- training equivalence ------------------------------------------------------------------------------------
def train_network(desc: NetDesc, optimizer: str = "sgd", steps: int = 5, lr: float = 0.05, momentum: float = 0.9,
                  registry=None, reference_optimizer=None) -> list[dict[str, float]]:
    """K steps of one network's training three ways, from the same initial weights: the reference
    (reference.optimizers), PyTorch (torch.optim on one autograd graph), JAX (the per-layer chain and a
    hand-written jnp update). Returns, per step, the largest |reference - framework| over all parameters
    and, for the assertion, `passed` under the tolerance table's gradient row.

    optimizer: "sgd" (w <- w - lr * grad, the seeds' rule) or "momentum" (the book's v <- mu v - lr g,
    w <- w + v, which equals torch's SGD(momentum=mu) for a constant lr). Adaptive optimizers are checked on
    fixed networks in tests/test_optimizers.py: they divide by sqrt(v), which turns a gradient that is 0 in
    one framework and 1e-17 in another (a dead unit) into steps of size lr.
    reference_optimizer: an optimizer object to use in the reference instead (a user's own, or a broken one).
    """
    import jax.numpy as jnp
    import torch

    from reference.optimizers import SGD, Momentum

    nets = {k: build(desc, registry) for k in ("reference", "torch", "jax")}

    def leaf_nodes(net):
        return [n for n in net.sites() if n.inner is None and n.params]

    def flat(net):
        return {f"{n.path}.{k}": v for n in leaf_nodes(net) for k, v in n.params.items()}

    ref_opt = reference_optimizer or (SGD(lr) if optimizer == "sgd" else Momentum(lr, momentum))
    leaves = {n.path: {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in n.params.items()}
              for n in leaf_nodes(nets["torch"])}
    torch_opt = torch.optim.SGD([t for d in leaves.values() for t in d.values()], lr=lr,
                                momentum=0.0 if optimizer == "sgd" else momentum)
    velocity: dict[str, Any] = {}
    tol = tolerance_for(desc.dtype, "torch", "grad_W")
    drift = []
    for _ in range(steps):
        r = run_reference(nets["reference"])
        ref_opt.update(flat(nets["reference"]), {f"{n.path}.{k}": r[n.path][f"grad_{k}"] for n in leaf_nodes(nets["reference"]) for k in n.params})

        torch_opt.zero_grad()
        run_torch(nets["torch"], leaves)
        torch_opt.step()

        rj = run_jax(nets["jax"])
        for n in leaf_nodes(nets["jax"]):
            for k in n.params:
                g = jnp.asarray(rj[n.path][f"grad_{k}"])
                key = f"{n.path}.{k}"
                if optimizer == "sgd":
                    n.params[k] = np.asarray(jnp.asarray(n.params[k]) - lr * g)
                else:
                    velocity[key] = momentum * velocity.get(key, jnp.zeros_like(g)) - lr * g
                    n.params[k] = np.asarray(jnp.asarray(n.params[k]) + velocity[key])

        ref = flat(nets["reference"])
        got = {"torch": {f"{p}.{k}": t.detach().numpy() for p, d in leaves.items() for k, t in d.items()},
               "jax": flat(nets["jax"])}
        row = {}
        ok = True
        for oracle, params in got.items():
            row[oracle] = max(float(np.max(np.abs(ref[k] - params[k]), initial=0.0)) for k in ref)
            ok = ok and all(np.allclose(ref[k], params[k], atol=tol.atol, rtol=tol.rtol) for k in ref)
        row["passed"] = ok
        drift.append(row)
    return drift
