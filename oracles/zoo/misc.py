"""Registry entries for the misc family (see oracles/registry.py for the conventions of an entry).

Dropout: the keep-mask is a drawn, non-differentiable 0/1 input (Index with 2 classes) that the reference
and both oracles receive, so all three drop the same units without sharing a random generator.
Embedding: index pools are chosen so that every layout has more indices than vocabulary rows
(pigeonhole): every example repeats an index, so the gradient's accumulation over duplicates is checked
in every example (tests/test_zoo_misc.py asserts it).
"""
from __future__ import annotations

import jax.numpy as jnp
import torch
import torch.nn.functional as F

import reference as R

from ..registry import register
from ..spec import Float, Index, LayerSpec

P = 0.25  # 1 / (1 - p) = 4/3: a missing scale changes every kept unit's gradient by 33%


class _DropoutEval(R.Dropout):
    """Harness glue: the gate calls forward with the drawn inputs only; evaluation mode is forward(x, train_flg=False)."""

    def forward(self, x):
        return super().forward(x, train_flg=False)


# --- Dropout ----------------------------------------------------------------------------------------------
register(LayerSpec(
    name="dropout_train",
    make=lambda params, p: R.Dropout(p),
    inputs=(Float("x", ("n", "m")), Index("mask", ("n", "m"), classes=2)),
    config={"p": P},
    torch_fn=lambda x, mask, p: torch.where(mask.bool(), x / (1 - p), torch.zeros_like(x)),
    jax_fn=lambda x, mask, p: jnp.where(mask.astype(bool), x / (1 - p), jnp.zeros_like(x)),
    doc="inverted dropout, training mode: x * mask / (1 - p) with a drawn keep-mask (1 = kept) shared by all oracles",
))

register(LayerSpec(
    name="dropout_eval",
    make=lambda params, p: _DropoutEval(p),
    inputs=(Float("x", ("n", "m")),),
    config={"p": P},
    torch_fn=lambda x, p: F.dropout(x, p, training=False),
    jax_fn=lambda x, p: jnp.asarray(x),
    layouts=2,  # the identity: two shapes (distinct sizes, and n = m = 1) say all there is; saves JAX compiles
    doc="inverted dropout, evaluation mode: the identity",
))

# --- Embedding --------------------------------------------------------------------------------------------
register(LayerSpec(
    name="embedding",
    make=lambda params: R.Embedding(params["W"]),
    inputs=(Index("idx", ("n",), classes="v"),),
    params={"W": ("v", "d")},
    sizes={"n": (4, 5, 7), "v": (2, 3), "d": (1, 2, 3)},  # n >= 4 > 3 >= v: some index always repeats
    torch_fn=lambda idx, W: F.embedding(idx, W),
    jax_fn=lambda idx, W: jnp.take(W, idx, axis=0),
    layouts=3,  # every layout repeats indices; 3 shapes are enough for a lookup (saves a JAX compile per dtype)
    doc="W[idx] for a vector of indices; repeated indices accumulate into dW",
))

register(LayerSpec(
    name="embedding_2d",
    make=lambda params: R.Embedding(params["W"]),
    inputs=(Index("idx", ("n", "t"), classes="v"),),
    params={"W": ("v", "d")},
    sizes={"n": (2, 3), "t": (2, 3), "v": (2, 3), "d": (1, 2, 3)},  # n * t >= 4 > 3 >= v: repeats
    torch_fn=lambda idx, W: F.embedding(idx, W),
    jax_fn=lambda idx, W: W[idx],
    layouts=3,
    doc="W[idx] for a (N, T) batch of index sequences; repeated indices accumulate into dW",
))
