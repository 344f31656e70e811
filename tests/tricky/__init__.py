"""A public corpus of TRICKY BUT CORRECT layers, written by this project outside reference/.

`TRICKY[name]` holds the keyword arguments of `oracles.check_layer` for one layer: `make`, `inputs`,
`params`, `fn` (the plain math, `fn(xp, *inputs, **params)`, xp = array-api-compat torch or jax.numpy),
`name`, `domain`, `sizes`, and where it matters `dtypes` (float32-only layers), `param_domain`.
Domains are what a researcher would naturally use for each layer; no kinks are declared and no
tolerance is touched. Each layer is proved correct independently of the harness by
tests/test_tricky_layers_are_correct.py; what today's harness says about them is in BASELINE.md
(scripts/tricky_baseline.py).
"""
from __future__ import annotations

from book_styles.maths import sigmoid as _sigmoid  # the frameworks' own sigmoid: why, there
from oracles import Domain
from oracles.spec import Float

from . import layers as L

FLOAT32_ONLY = ("float32",)


def _residual_tanh8(xp, x, W):
    for k in range(8):
        x = x + xp.tanh(x @ W[k])
    return x


def _poly7(xp, x, c):
    return sum(c[k] * x ** k for k in range(8))


def _batchnorm(xp, x, gamma, beta):
    mu = xp.mean(x, axis=0)
    var = xp.mean((x - mu) ** 2, axis=0)
    return (x - mu) / xp.sqrt(var + 1e-6) * gamma + beta


def _layernorm(xp, x, g, b):
    mu = xp.mean(x, axis=-1, keepdims=True)
    var = xp.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / xp.sqrt(var + 1e-5) * g + b


def _rnn(xp, x, h0, Wx, Wh, b):
    h, hs = h0, []
    for t in range(x.shape[1]):
        h = xp.tanh(x[:, t, :] @ Wx + h @ Wh + b)
        hs.append(h)
    return xp.stack(hs, axis=1)


def _gru(xp, x, h0, Wx, Wh, b):
    h, hs = h0, []
    for t in range(x.shape[1]):
        xt = x[:, t, :]
        z = _sigmoid(xp, xt @ Wx[0] + h @ Wh[0] + b[0])
        r = _sigmoid(xp, xt @ Wx[1] + h @ Wh[1] + b[1])
        n = xp.tanh(xt @ Wx[2] + b[2] + r * (h @ Wh[2]))
        h = (1 - z) * n + z * h
        hs.append(h)
    return xp.stack(hs, axis=1)


def _logsumexp(xp, x):
    m = xp.max(x, axis=-1, keepdims=True)
    return xp.log(xp.sum(xp.exp(x - m), axis=-1)) + m[..., 0]


def _softmax_weighted_mean(xp, x):
    e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
    p = e / xp.sum(e, axis=-1, keepdims=True)
    return xp.sum(p * x, axis=-1)


def _cosine(xp, a, b):
    s = xp.sum(a * b, axis=-1)
    return s / xp.sqrt((xp.sum(a * a, axis=-1) + 1e-8) * (xp.sum(b * b, axis=-1) + 1e-8))


def _rowprod(xp, x):
    p = x[..., 0]
    for k in range(1, x.shape[-1]):
        p = p * x[..., k]
    return p


def _l2normalize(xp, x):
    return x / xp.sqrt(xp.sum(x * x, axis=-1, keepdims=True) + 1e-12)


_RNN_SIZES = {"n": (1, 2), "T": (3, 4, 5), "i": (2, 3), "h": (2, 3, 4)}

TRICKY: dict[str, dict] = {
    # magnitudes up to 1e6: sensor-scale inputs in [1e4, 1e6] through an affine layer (params/grads lists)
    "affine_inputs_1e6": dict(
        make=lambda p: L.AffineLists(p["W"], p["b"]), inputs={"x": ("n", "i")},
        params={"W": ("i", "o"), "b": ("o",)}, fn=lambda xp, x, W, b: x @ W + b,
        name="affine_inputs_1e6", domain=Domain(1e4, 1e6), sizes=None),
    # high curvature: 8 residual steps x <- x + tanh(x @ W_k), weights up to 2 (closure style)
    "residual_tanh_8": dict(
        make=lambda p: L.ResidualTanh8(p["W"]), inputs={"x": ("n", "d")}, params={"W": (8, "d", "d")},
        fn=_residual_tanh8, name="residual_tanh_8", domain=Domain(-4.0, 4.0),
        sizes={"n": (1, 2, 3), "d": (2, 3, 4)}),
    # the book's BatchNormalization with eps 1e-6 on features whose std is ~1e-3 (eps ~ var)
    "batchnorm_std_1e-3": dict(
        make=lambda p: L.BatchNormBook(p["gamma"], p["beta"]), inputs={"x": ("n", "d")},
        params={"gamma": ("d",), "beta": ("d",)}, fn=_batchnorm, name="batchnorm_std_1e-3",
        domain=Domain(-2e-3, 2e-3), sizes={"n": (2, 3, 5, 8), "d": (1, 2, 3)}),
    # LayerNorm on 1e3 + O(1) values: the common offset cancels (in-place buffers)
    "layernorm_offset_1e3": dict(
        make=lambda p: L.LayerNormInplace(p["g"], p["b"]), inputs={"x": ("n", "d")},
        params={"g": ("d",), "b": ("d",)}, fn=_layernorm, name="layernorm_offset_1e3",
        domain=Domain(999.0, 1001.0), sizes={"n": (1, 2, 3), "d": (2, 3, 5, 8)}),
    # a 1024-long reduction computed in float32 (dtype='f' buffers), checked in float32 only
    "proj_1024_f32": dict(
        make=lambda p: L.Proj1024F32(p["W"]), inputs={"x": ("n", "i")}, params={"W": ("i", "o")},
        fn=lambda xp, x, W: x @ W, name="proj_1024_f32", domain=Domain(-4.0, 4.0),
        sizes={"n": (1, 2), "i": (1024,), "o": (1, 2)}, dtypes=FLOAT32_ONLY),
    # polynomial of degree 7 on [-4, 4]: values to ~4e4, derivatives to ~7e4 (Horner, closure style)
    "poly7": dict(
        make=lambda p: L.Poly7(p["c"]), inputs={"x": ("n", "d")}, params={"c": (8,)}, fn=_poly7,
        name="poly7", domain=Domain(-4.0, 4.0), sizes={"n": (1, 2, 3), "d": (1, 2, 3, 5)}),
    # a tanh RNN unrolled over T = 3..5 steps, gradient through time (params/grads lists)
    "rnn_T3_5": dict(
        make=lambda p: L.TimeRNNLists(p["Wx"], p["Wh"], p["b"]),
        inputs=(Float("x", ("n", "T", "i")), Float("h0", ("n", "h"), domain=Domain(-1.0, 1.0))),
        params={"Wx": ("i", "h"), "Wh": ("h", "h"), "b": ("h",)}, fn=_rnn, name="rnn_T3_5",
        domain=Domain(-4.0, 4.0), sizes=_RNN_SIZES),
    # a GRU unrolled over T = 3..4 steps (gates z, r, n; reset gate applied after h @ Wh)
    "gru_T3_4": dict(
        make=lambda p: L.GRUBook(p["Wx"], p["Wh"], p["b"]),
        inputs=(Float("x", ("n", "T", "i")), Float("h0", ("n", "h"), domain=Domain(-1.0, 1.0))),
        params={"Wx": (3, "i", "h"), "Wh": (3, "h", "h"), "b": (3, "h")}, fn=_gru, name="gru_T3_4",
        domain=Domain(-4.0, 4.0), sizes={"n": (1, 2), "T": (3, 4), "i": (2, 3), "h": (2, 3)}),
    # a sigmoid MLP computed entirely in float32 whatever it is given, checked in float32 only
    "sigmoid_mlp_f32": dict(
        make=lambda p: L.SigmoidMLPF32(p["W"], p["b"], p["V"]), inputs={"x": ("n", "i")},
        params={"W": ("i", "h"), "b": ("h",), "V": ("h", "o")},
        fn=lambda xp, x, W, b, V: _sigmoid(xp, x @ W + b) @ V, name="sigmoid_mlp_f32",
        domain=Domain(-4.0, 4.0), sizes={"n": (1, 2, 3), "i": (2, 3, 5), "h": (2, 4), "o": (1, 2, 3)},
        dtypes=FLOAT32_ONLY),
    # exact softplus for inputs up to +-1e2 (outputs ~1e2; exp(-|x|) underflows toward 0), in place
    "softplus_1e2": dict(
        make=lambda p: L.SoftplusInplace(), inputs={"x": ("n", "d")},
        fn=lambda xp, x: xp.logaddexp(x, xp.zeros_like(x)), name="softplus_1e2",
        domain=Domain(-100.0, 100.0), sizes=None),
    # log-sum-exp of logits up to +-1e2: one entry dominates, the rest underflow
    "logsumexp_dominant": dict(
        make=lambda p: L.LogSumExpBook(), inputs={"x": ("n", "c")}, fn=_logsumexp,
        name="logsumexp_dominant", domain=Domain(-100.0, 100.0), sizes={"n": (1, 2, 3), "c": (2, 3, 5, 8)}),
    # a product of three inputs at scales 1e3, 1e-3 and 1 (closure style)
    "product_mixed_scales": dict(
        make=lambda p: L.TripleProduct(),
        inputs=(Float("a", ("n", "d"), domain=Domain(-1e3, 1e3)), Float("b", ("n", "d"), domain=Domain(-1e-3, 1e-3)),
                Float("c", ("n", "d"))),
        fn=lambda xp, a, b, c: a * b * c, name="product_mixed_scales", domain=Domain(-4.0, 4.0), sizes=None),
    # cosine similarity of rows, eps 1e-8 under the sqrt (smooth, but curved where a row is small)
    "cosine_similarity": dict(
        make=lambda p: L.CosineSimilarity(), inputs={"a": ("n", "d"), "b": ("n", "d")}, fn=_cosine,
        name="cosine_similarity", domain=Domain(-4.0, 4.0), sizes={"n": (1, 2, 3), "d": (2, 3, 5)}),
    # row product of up to 7 factors on [-4, 4] (degree-7 growth), prefix/suffix products in backward
    "rowprod_7": dict(
        make=lambda p: L.RowProd(), inputs={"x": ("n", "d")}, fn=_rowprod, name="rowprod_7",
        domain=Domain(-4.0, 4.0), sizes={"n": (1, 2, 3), "d": (2, 3, 5, 7)}),
    # softmax-weighted mean over 1024 entries (attention-style pooling), both dtypes
    "softmax_pool_1024": dict(
        make=lambda p: L.SoftmaxWeightedMean(), inputs={"x": ("n", "i")}, fn=_softmax_weighted_mean,
        name="softmax_pool_1024", domain=Domain(-4.0, 4.0), sizes={"n": (1, 2), "i": (1024,)}),
    # L2-normalizing small embeddings (|x| <= 1e-4): the finite-difference step is ~1% of the values
    "l2normalize_small": dict(
        make=lambda p: L.L2Normalize(), inputs={"x": ("n", "d")}, fn=_l2normalize,
        name="l2normalize_small", domain=Domain(-1e-4, 1e-4), sizes={"n": (1, 2, 3), "d": (2, 3, 5)}),
}

# check_layer's `sizes=None` means the default pools; drop it so every entry is plain keyword arguments
for _e in TRICKY.values():
    if _e.get("sizes") is None:
        _e.pop("sizes", None)
