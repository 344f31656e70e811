"""Registry entries for the conv family (see oracles/registry.py for the conventions of an entry).

Shapes are NCHW and small. Size pools are chosen so that layout 0 (distinct sizes) has in_c != out_c and
H != W, and layout 1 (smallest sizes) has a batch of one: a transposed kernel, a channel mix-up or a
swapped spatial axis then changes values or shapes.

JAX compiles one jax.vjp per layout and dtype; measured here (CPU seconds per compile): conv 0.35-0.7,
max pool 0.25-0.45 (select_and_scatter_add), avg pool 0.15, global average 0.08. Hence few layouts: 3 for
`conv2d`, 2 for the other conv variants (layout 0 with batch > 1, in_c != out_c, H != W, and layout 1
with a batch of one), 3 for the pools.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import torch
import torch.nn.functional as F

import reference as R

from ..registry import register
from ..spec import Convention, Float, LayerSpec

# --- Conv2d ---------------------------------------------------------------------------------------------


def _torch_conv(x, W, b=None, *, stride, pad, dilation, groups):
    return F.conv2d(x, W, b, stride=stride, padding=pad, dilation=dilation, groups=groups)


def _jax_conv(x, W, b=None, *, stride, pad, dilation, groups):
    out = jax.lax.conv_general_dilated(
        x, W,
        window_strides=(stride, stride),
        padding=((pad, pad), (pad, pad)),
        rhs_dilation=(dilation, dilation),
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
        feature_group_count=groups,
        precision=jax.lax.Precision.HIGHEST,
    )
    return out if b is None else out + b[None, :, None, None]


def _make_conv(p, **cfg):
    return R.Conv2d(p["W"], p.get("b"), **cfg)


def _conv(name, *, stride=1, pad=0, dilation=1, groups=1, bias=True, kernel=(3, 3), sizes, doc,
          x=("n", "c", "h", "w"), o="o", cin="c", layouts=2):
    params = {"W": (o, cin, *kernel)}
    if bias:
        params["b"] = (o,)
    return register(LayerSpec(
        name=name,
        make=_make_conv,
        inputs=(Float("x", x),),
        params=params,
        torch_fn=_torch_conv,
        jax_fn=_jax_conv,
        config=dict(stride=stride, pad=pad, dilation=dilation, groups=groups),
        sizes=sizes,
        layouts=layouts,
        doc=doc,
    ))


# channels: c in (1, 2, 3) and o in (2, 3, 4): layout 0 gets c=3, o=4; layout 1 gets c=1, o=2.
_conv(
    "conv2d", layouts=3,
    sizes={"n": (1, 2, 3), "c": (1, 2, 3), "o": (2, 3, 4), "h": (3, 5, 6), "w": (4, 5, 7)},
    doc="Conv2d 3x3, stride 1, pad 0, with bias (im2col / col2im)",
)
_conv(
    "conv2d_stride2_pad1", stride=2, pad=1,
    sizes={"n": (1, 2), "c": (1, 3), "o": (2, 3), "h": (3, 5, 6), "w": (4, 5, 7)},
    doc="Conv2d 3x3, stride 2, zero padding 1 (odd and even H, W: the last rows/columns may be skipped)",
)
_conv(
    "conv2d_dilation2", dilation=2,
    sizes={"n": (1, 2), "c": (1, 3), "o": (2, 3), "h": (5, 6, 7), "w": (6, 7)},
    doc="Conv2d 3x3 with dilation 2 (a 5x5 receptive field), stride 1, pad 0",
)
_conv(
    "conv2d_groups2", groups=2,
    x=("n", "g*ci", "h", "w"), o="g*og", cin="ci",
    sizes={"n": (1, 2), "g": (2,), "ci": (1, 3), "og": (2, 3), "h": (3, 4), "w": (3, 4)},
    doc="Conv2d 3x3 with 2 groups: C = 2*ci input channels, O = 2*og filters of ci channels each",
)
_conv(
    "conv2d_nobias_kernel2x3", bias=False, kernel=(2, 3), pad=1,
    sizes={"n": (1, 2), "c": (1, 3), "o": (2, 3), "h": (3, 4, 6), "w": (3, 5)},
    doc="Conv2d without bias, non-square 2x3 kernel, pad 1 (a kh/kw mix-up changes values)",
)

# --- Pooling --------------------------------------------------------------------------------------------


def _torch_maxpool(x, *, kernel, stride, pad):
    return F.max_pool2d(x, kernel, stride, pad)


def _jax_maxpool(x, *, kernel, stride, pad):
    # the padding is -inf (never the max), as PyTorch does; the VJP is select_and_scatter_add
    return jax.lax.reduce_window(
        x, -jnp.inf, jax.lax.max, (1, 1, kernel, kernel), (1, 1, stride, stride),
        ((0, 0), (0, 0), (pad, pad), (pad, pad)),
    )


def _torch_avgpool(x, *, kernel, stride, pad):
    return F.avg_pool2d(x, kernel, stride, pad, count_include_pad=True)


def _jax_avgpool(x, *, kernel, stride, pad):
    s = jax.lax.reduce_window(
        x, 0.0, jax.lax.add, (1, 1, kernel, kernel), (1, 1, stride, stride),
        ((0, 0), (0, 0), (pad, pad), (pad, pad)),
    )
    return s / (kernel * kernel)  # zero padding counts in the window (count_include_pad=True)


_MAX_TIE = Convention(
    "tie in a pooling window",
    reference="the window's whole gradient to its first maximum in row-major order (np.argmax)",
    torch="the same (F.max_pool2d)",
    jax="the same (reduce_window max; VJP select_and_scatter_add)",
    agree=("torch", "jax"),
    input="x",
    grid=(-1.0, 0.0, 1.0),  # three values: ties in most windows, and all-negative border windows next to -inf padding
    # tie-free random draws: distinct multiples of 1/64 (exact in float32), so no window holds two equal
    # maxima and no two entries are within a finite-difference step (<= 4e-6) of each other
    spacing=1 / 64,
)

# w = 3 lets the all-minimal layout (1, 1, 3, 3) pool to one single window: an odd number of windows
# (mutation testing found AvgPool2d backward reshaping by pairs survived every even count).
_POOL_SIZES = {"n": (1, 2), "c": (1, 2, 3), "h": (3, 4, 5), "w": (3, 4, 5, 6)}


def _pool(name, cls, torch_fn, jax_fn, *, kernel, stride, pad, doc, tie=False, layouts=3):
    return register(LayerSpec(
        name=name,
        make=lambda p, **cfg: cls(**cfg),
        inputs=(Float("x", ("n", "c", "h", "w")),),
        torch_fn=torch_fn,
        jax_fn=jax_fn,
        config=dict(kernel=kernel, stride=stride, pad=pad),
        sizes=_POOL_SIZES,
        conventions=(_MAX_TIE,) if tie else (),
        layouts=layouts,
        doc=doc,
    ))


_pool("maxpool2d", R.MaxPool2d, _torch_maxpool, _jax_maxpool, kernel=2, stride=2, pad=0, tie=True,
      doc="MaxPool2d 2x2, stride 2 (odd H or W: the last row/column is dropped and gets no gradient)")
_pool("maxpool2d_k3_stride1_pad1", R.MaxPool2d, _torch_maxpool, _jax_maxpool, kernel=3, stride=1, pad=1, tie=True,
      doc="MaxPool2d 3x3, stride 1, -inf padding 1: overlapping windows, an input's gradients from several windows add up")
_pool("avgpool2d", R.AvgPool2d, _torch_avgpool, _jax_avgpool, kernel=2, stride=2, pad=0,
      doc="AvgPool2d 2x2, stride 2")
_pool("avgpool2d_k3_stride2_pad1", R.AvgPool2d, _torch_avgpool, _jax_avgpool, kernel=3, stride=2, pad=1,
      doc="AvgPool2d 3x3, stride 2, zero padding 1 counted in the mean (count_include_pad=True); windows overlap")

register(LayerSpec(
    name="global_avg_pool",
    make=lambda p: R.GlobalAvgPool(),
    inputs=(Float("x", ("n", "c", "h", "w")),),
    torch_fn=lambda x: torch.mean(x, dim=(2, 3)),
    jax_fn=lambda x: jnp.mean(x, axis=(2, 3)),
    sizes={"n": (1, 2, 3), "c": (1, 2, 3), "h": (1, 3, 4), "w": (2, 5)},
    layouts=3,
    doc="mean over H and W: (N, C, H, W) -> (N, C)",
))
