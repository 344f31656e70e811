"""Registry entries for the attention family (see oracles/registry.py for the conventions of an entry).

PyTorch oracles use F.scaled_dot_product_attention (its own CPU kernel, float64 included) and F.linear;
JAX oracles are written with einsum, jnp.where and jax.nn.softmax (jax.nn.dot_product_attention needs
the value width to equal the key width, which these specs do not assume).
"""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import torch
import torch.nn.functional as F

import reference as R

from ..registry import register
from ..spec import Domain, Float, LayerSpec

# Modest values keep the float32 checks within the default table (scores |q.k|/sqrt(d) <= 4*sqrt(d)).
_DOMAIN = Domain(-2.0, 2.0)


def _jax_sdpa(q, k, v, causal=False):
    s = jnp.einsum("bqd,bkd->bqk", q, k) / math.sqrt(q.shape[-1])
    if causal:
        s = jnp.where(jnp.tril(jnp.ones((q.shape[1], k.shape[1]), dtype=bool)), s, -jnp.inf)
    return jnp.einsum("bqk,bkv->bqv", jax.nn.softmax(s, axis=-1), v)


_SDPA_DOC = "softmax(q k^T / sqrt(d)) v per batch entry; backward gives dq, dk, dv"

register(LayerSpec(
    name="sdpa",
    make=lambda p, causal: R.ScaledDotProductAttention(causal=causal),
    inputs=(Float("q", ("b", "tq", "d")), Float("k", ("b", "tk", "d")), Float("v", ("b", "tk", "dv"))),
    config={"causal": False},
    sizes={"b": (1, 2), "tq": (1, 2, 3), "tk": (1, 2, 3), "d": (1, 2, 4), "dv": (1, 2, 3)},
    torch_fn=lambda q, k, v, causal: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
    jax_fn=_jax_sdpa,
    domain=_DOMAIN,
    doc=_SDPA_DOC,
))

register(LayerSpec(
    name="sdpa_causal",
    make=lambda p, causal: R.ScaledDotProductAttention(causal=causal),
    inputs=(Float("q", ("b", "t", "d")), Float("k", ("b", "t", "d")), Float("v", ("b", "t", "dv"))),
    config={"causal": True},
    sizes={"b": (1, 2), "t": (1, 2, 3), "d": (1, 2, 4), "dv": (1, 2, 3)},
    torch_fn=lambda q, k, v, causal: F.scaled_dot_product_attention(q, k, v, is_causal=causal),
    jax_fn=_jax_sdpa,
    domain=_DOMAIN,
    doc=_SDPA_DOC + "; query i sees keys j <= i (scores of j > i set to -inf before the softmax)",
))


def _torch_mha(x, Wq, Wk, Wv, Wo, bq, bk, bv, bo, heads, causal):
    def heads_first(y):  # (b, t, e) -> (b, heads, t, e/heads)
        return y.unflatten(-1, (heads, -1)).transpose(1, 2)

    q, k, v = (heads_first(F.linear(x, W.T, bias)) for W, bias in ((Wq, bq), (Wk, bk), (Wv, bv)))
    a = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    return F.linear(a.transpose(1, 2).flatten(2), Wo.T, bo)


def _jax_mha(x, Wq, Wk, Wv, Wo, bq, bk, bv, bo, heads, causal):
    b, t, e = x.shape
    q, k, v = ((jnp.einsum("bte,ef->btf", x, W) + bias).reshape(b, t, heads, e // heads)
               for W, bias in ((Wq, bq), (Wk, bk), (Wv, bv)))
    s = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(e // heads)
    if causal:
        s = jnp.where(jnp.tril(jnp.ones((t, t), dtype=bool)), s, -jnp.inf)
    a = jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(s, axis=-1), v).reshape(b, t, e)
    return jnp.einsum("bte,ef->btf", a, Wo) + bo


_MHA_PARAMS = {**{w: ("e", "e") for w in ("Wq", "Wk", "Wv", "Wo")}, **{b: ("e",) for b in ("bq", "bk", "bv", "bo")}}


# Weights at about the usual initial scale (1/sqrt(e) = 0.41 for e = 6). With weights in [-1, 1] the
# projected queries and keys reach ~|12| and float32 gradients lose up to ~2e-5 to cancellation
# (measured: dWq, dWk, and dbk, which is exactly 0 since softmax ignores a shift of a whole row of
# scores), past the default table; in [-0.5, 0.5] the gate's worst float32 headroom is 4x.
_MHA_PARAM_DOMAIN = Domain(-0.5, 0.5)


def _make_mha(p, heads, causal):
    return R.MultiHeadAttention(p["Wq"], p["Wk"], p["Wv"], p["Wo"], p["bq"], p["bk"], p["bv"], p["bo"],
                                heads=heads, causal=causal)


register(LayerSpec(
    name="mha",
    make=_make_mha,
    inputs=(Float("x", ("b", "t", "e")),),
    params=_MHA_PARAMS,
    config={"heads": 2, "causal": False},
    sizes={"b": (1, 2), "t": (1, 2, 3), "e": (2, 4)},  # multiples of heads (e = 6 is in mha_causal)
    torch_fn=_torch_mha,
    jax_fn=_jax_mha,
    domain=_DOMAIN,
    param_domain=_MHA_PARAM_DOMAIN,
    doc="multi-head self-attention, 2 heads: (x Wq + bq, x Wk + bk, x Wv + bv) split per head, "
        "attention per head, heads concatenated, then @ Wo + bo (all W (e, e))",
))

register(LayerSpec(
    name="mha_causal",
    make=_make_mha,
    inputs=(Float("x", ("b", "t", "e")),),
    params=_MHA_PARAMS,
    config={"heads": 3, "causal": True},
    sizes={"b": (1, 2), "t": (1, 2, 3), "e": (3, 6)},  # multiples of heads
    # a configuration of `mha` (causal, 3 heads), whose shapes `mha` already varies: one layout (b=2, t=3,
    # e=6, all distinct) is the one where the mask and the head split can go wrong, at a quarter of the
    # JAX compiles
    layouts=1,
    torch_fn=_torch_mha,
    jax_fn=_jax_mha,
    domain=_DOMAIN,
    param_domain=_MHA_PARAM_DOMAIN,
    doc="multi-head self-attention, 3 heads, causal (position i attends to positions <= i)",
))
