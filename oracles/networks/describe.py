"""Network descriptions and how Hypothesis draws them: the vocabulary of registry entries a network may
use (`Block`, `VOCABULARY`), the families (`FAMILIES`), `NetDesc`, the `networks` strategy, and how a
researcher's layer joins them (`register_network_layer`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

from ..spec import LayerSpec


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


def _registry():
    """The populated registry module (REGISTRY, register), imported on first use: it loads torch, JAX and
    the zoo. The one place the networks package names where the registry lives."""
    from .. import zoo  # the populated registry (oracles.registry alone is empty until the zoo loads)

    return zoo


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
    registry = _registry()
    if registry.REGISTRY.get(spec.name) is not spec:
        registry.register(spec)
    register_block(spec.name, Block(spec.name, rank, free=dict(free or {})), families)


def unregister_network_layer(name: str) -> None:
    """Undo register_network_layer (the registry entry and the vocabulary block)."""
    _registry().REGISTRY.pop(name, None)
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
