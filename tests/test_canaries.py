"""Canaries that a loose rule cannot pass: three planted errors at every size the gate and the
float32-at-scale tests use, each of which must fail conclusively (outcome fail, never inconclusive).

- every: the input gradient of an Affine off by 0.1% on every entry;
- one:   off by 0.1% on one entry only (the median-sized one of those at least 1e-3 of the largest);
- small: a 1e-3 relative error confined to the entries 1e-3 the size of the largest (a layer whose
         input columns are scaled by 1 and 1e-3 in turn, so half of its input gradient is 1e-3 the size
         of the other half).

float64: every oracle must fail. float32: every oracle must fail too, since the planted error is far more
than ten times the frameworks' own float32 error on those entries (the layers here have no long sums on
the planted entries; at the 4096-long reductions the measured noise is ~1e-7 of the largest entry against
a planted 1e-3). At the float32-at-scale sizes only the frameworks are asked (see oracles_at).
"""
from dataclasses import replace

import numpy as np
import pytest

from catching import assert_caught
from oracles import REGISTRY
from oracles.names import DTYPES, FRAMEWORKS, ORACLES
from oracles.spec import Float, LayerSpec
from reference.layers import Affine

INNER = (256, 1024, 4096)


def plant(kind: str, dx: np.ndarray, small: np.ndarray | None = None) -> np.ndarray:
    dx = np.array(dx, copy=True)
    if kind == "every":
        dx *= 1.001
    elif kind == "one":  # the median-sized entry among those at least 1e-3 of the largest
        mag = np.abs(dx).reshape(-1)
        sizable = np.flatnonzero(mag >= 1e-3 * mag.max())
        dx.flat[sizable[np.argsort(mag[sizable])[sizable.size // 2]]] *= 1.001
    else:  # "small": the entries 1e-3 the size of the others
        dx[..., small] *= 1.001
    return dx


class CanaryAffine(Affine):
    kind = "every"

    def backward(self, dout):
        return plant(self.kind, super().backward(dout))


def _column_scale(d: int) -> np.ndarray:
    return np.where(np.arange(d) % 2 == 1, 1e-3, 1.0)


class ScaledColumns:
    """out = (x * c) @ W with c = 1, 1e-3, 1, 1e-3, ...: dx's odd columns are 1e-3 the size of the rest."""

    param_names = ("W",)

    def __init__(self, W, planted: bool):
        self.W, self.planted = W, planted

    def forward(self, x):
        self.c = _column_scale(x.shape[-1]).astype(x.dtype)
        self.xc = x * self.c
        return self.xc @ self.W

    def backward(self, dout):
        self.dW = self.xc.T @ dout
        dx = (dout @ self.W.T) * self.c
        return plant("small", dx, self.c < 1) if self.planted else dx


def scaled_columns(planted: bool, sizes: dict | None = None, name: str = "") -> LayerSpec:
    def math(xp, x, W):
        return (x * xp.asarray(_column_scale(x.shape[-1]), dtype=x.dtype)) @ W

    return LayerSpec(name=name or ("scaled_columns_small_canary" if planted else "scaled_columns"),
                     make=lambda p: ScaledColumns(p["W"], planted), inputs=(Float("x", ("n", "i")),),
                     params={"W": ("i", "o")}, fn=math, sizes=sizes or {"n": (2, 3), "i": (4, 6), "o": (3, 5)})


def canary_affine(kind: str, sizes: dict | None = None) -> LayerSpec:
    cls = type(f"CanaryAffine_{kind}", (CanaryAffine,), {"kind": kind})
    spec = replace(REGISTRY["affine"], name=f"affine_{kind}_canary", make=lambda p: cls(p["W"], p["b"]))
    return replace(spec, sizes=sizes, layouts=1) if sizes else spec


def wide(k: int) -> dict:
    return {"n": (4,), "i": (k,), "o": (6,)}


def oracles_at(k: int | None) -> tuple[str, ...]:
    # at the float32-at-scale sizes the frameworks only: the numerical oracle (4 forwards per entry, 2,566
    # entries at k = 256) would spend minutes while Hypothesis shrinks each failure; it meets every
    # canary at the gate's sizes above
    return ORACLES if k is None else FRAMEWORKS


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["every", "one"])
def test_affine_canary_at_gate_sizes(kind, dtype):
    assert_caught(canary_affine(kind), dtype, by=["grad_x"], max_examples=10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_entries_canary_at_gate_sizes(dtype):
    r = assert_caught(scaled_columns(True), dtype, by=["grad_x"], max_examples=10)
    assert not any(r.stage_failed(o, "grad_W") for o in ORACLES)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", INNER)
@pytest.mark.parametrize("kind", ["every", "one", "small"])
def test_canaries_at_float32_scale_sizes(kind, k, dtype):
    spec = scaled_columns(True, wide(k), f"scaled_columns_small_canary_{k}") if kind == "small" else canary_affine(kind, wide(k))
    assert_caught(spec, dtype, by=["grad_x"], oracles=oracles_at(k), max_examples=3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_unplanted_canary_layer_passes(dtype):
    # the control: the scaled-columns layer itself is correct, so what the canary catches is the planted error
    from oracles import run_check

    run_check(scaled_columns(False), dtype, max_examples=10, record=False).assert_passed()
