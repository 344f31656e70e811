"""Registry entries for the structure family (see oracles/registry.py for the conventions of an entry).

Small NCHW shapes: c, h, w from (1, 2, 3) so that a size of 1 (where broadcasting bugs hide) and two
distinct sizes > 1 (where a transposed or misrouted gradient changes a shape or a value) are both drawn.
"""
from __future__ import annotations

import jax.numpy as jnp
import torch

import reference as R

from ..registry import register
from ..spec import Float, LayerSpec

_NCHW_SIZES = {"n": (1, 2, 3), "c": (1, 2, 3), "h": (1, 2, 3), "w": (1, 2, 3)}

# --- Reshaping ------------------------------------------------------------------------------------------
register(LayerSpec(
    name="flatten",
    make=lambda p: R.Flatten(),
    inputs=(Float("x", ("n", "c", "h", "w")),),
    sizes=_NCHW_SIZES,
    torch_fn=lambda x: torch.flatten(x, start_dim=1),
    jax_fn=lambda x: jnp.reshape(x, (x.shape[0], -1)),
    doc="(N, C, H, W) -> (N, C*H*W), batch axis kept; gradient reshaped back",
))

register(LayerSpec(
    name="reshape",
    make=lambda p, shape: R.Reshape(shape),
    # 6*n*h elements regrouped as (n*h, 2, 3): entries move across the original axes, not only merge
    inputs=(Float("x", ("n", 3, "h", 2)),),
    config={"shape": (-1, 2, 3)},
    sizes={"n": (1, 2, 3), "h": (1, 2, 5)},
    torch_fn=lambda x, shape: torch.reshape(x, shape),
    jax_fn=lambda x, shape: jnp.reshape(x, shape),
    doc="(N, 3, H, 2) -> (-1, 2, 3) in C order; gradient reshaped back",
))

# --- Concatenation --------------------------------------------------------------------------------------
# The inputs differ in size along the concatenation axis only (a, b, c drawn independently).
register(LayerSpec(
    name="concat2_axis0",
    make=lambda p, axis: R.Concat(axis),
    inputs=(Float("x", ("a", "m")), Float("y", ("b", "m"))),
    config={"axis": 0},
    sizes={"a": (1, 2, 3), "b": (1, 2, 3), "m": (1, 2, 3)},
    torch_fn=lambda x, y, axis: torch.cat([x, y], dim=axis),
    jax_fn=lambda x, y, axis: jnp.concatenate([x, y], axis=axis),
    doc="two inputs stacked along the first axis; gradient split at the first input's size",
))

register(LayerSpec(
    name="concat3_axis1",
    make=lambda p, axis: R.Concat(axis),
    inputs=(Float("x", ("n", "a", "h", "w")), Float("y", ("n", "b", "h", "w")), Float("z", ("n", "c", "h", "w"))),
    config={"axis": 1},
    sizes={"n": (1, 2), "a": (1, 2, 3), "b": (1, 2, 3), "c": (1, 2, 3), "h": (1, 2), "w": (1, 3)},
    torch_fn=lambda x, y, z, axis: torch.cat([x, y, z], dim=axis),
    jax_fn=lambda x, y, z, axis: jnp.concatenate([x, y, z], axis=axis),
    doc="three NCHW inputs concatenated along channels (a non-last axis); gradient split at a and a + b",
))

register(LayerSpec(
    name="concat2_last",
    make=lambda p, axis: R.Concat(axis),
    inputs=(Float("x", ("n", "a")), Float("y", ("n", "b"))),
    config={"axis": -1},
    sizes={"n": (1, 2, 3), "a": (1, 2, 3), "b": (1, 2, 3)},
    torch_fn=lambda x, y, axis: torch.cat([x, y], dim=axis),
    jax_fn=lambda x, y, axis: jnp.concatenate([x, y], axis=axis),
    doc="two inputs concatenated along the last axis (axis=-1)",
))

# --- Broadcasting on NCHW data --------------------------------------------------------------------------
# The second operand takes a bias-like shape. Layout 0 (where Hypothesis starts and shrinks) takes the
# first alternative; the others come from the seeded layout set, whose size is chosen so that every
# alternative is drawn (tests/test_zoo_structure.py checks that it is, for the gate's layout seed).
register(LayerSpec(
    name="add_bias_nchw",
    make=lambda p: R.AddLayer(),
    inputs=(
        Float("x", ("n", "c", "h", "w")),
        # per channel, twice (with and without the leading 1), per column, per row, and the full shape
        # (a residual connection)
        Float("b", alternatives=(("c", 1, 1), (1, "c", 1, 1), ("w",), ("h", 1), ("n", "c", "h", "w"))),
    ),
    sizes=_NCHW_SIZES,
    torch_fn=lambda x, b: torch.add(x, b),
    jax_fn=lambda x, b: jnp.add(x, b),
    layouts=8,
    doc="x (N, C, H, W) + a bias-like or residual operand; db summed over the broadcast axes",
))

register(LayerSpec(
    name="mul_nchw",
    make=lambda p: R.MulLayer(),
    inputs=(
        Float("x", ("n", "c", "h", "w")),
        # per-channel scale, per-sample spatial mask, full-size gate, per-column scale
        Float("y", alternatives=(("c", 1, 1), ("n", 1, "h", "w"), ("n", "c", "h", "w"), ("w",))),
    ),
    sizes=_NCHW_SIZES,
    torch_fn=lambda x, y: torch.mul(x, y),
    jax_fn=lambda x, y: jnp.multiply(x, y),
    layouts=6,
    doc="x (N, C, H, W) * a per-channel / spatial / full-size / per-column operand; dy summed back",
))
