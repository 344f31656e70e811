"""Validate your own layer in a few lines: RMSNorm, written in the seeds' style, and a broken twin.

Run: .venv/bin/python examples/custom_layer.py
"""
import numpy as np

from oracles import check_layer

EPS = 1e-6


class RMSNorm:
    """y = x / sqrt(mean(x**2, last axis) + eps) * g."""

    param_names = ("g",)

    def __init__(self, g):
        self.g = g
        self.dg = None

    def forward(self, x):
        self.r = 1.0 / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS)
        self.xhat = x * self.r
        return self.xhat * self.g

    def backward(self, dout):
        self.dg = np.sum(dout * self.xhat, axis=0)
        dxhat = dout * self.g
        return self.r * (dxhat - self.xhat * np.mean(dxhat * self.xhat, axis=-1, keepdims=True))


class RMSNormNormConstant(RMSNorm):
    """A classic bug: the normalizer treated as a constant in backward."""

    def backward(self, dout):
        self.dg = np.sum(dout * self.xhat, axis=0)
        return self.r * dout * self.g


def rmsnorm_math(xp, x, g):
    # written once; runs under PyTorch (array-api-compat) and JAX (jax.numpy)
    return x / xp.sqrt(xp.mean(x * x, axis=-1, keepdims=True) + EPS) * g


def check(layer_cls, name, max_examples=None, record=True):
    return check_layer(
        lambda p: layer_cls(p["g"]), name=name, max_examples=max_examples, record=record,
        inputs={"x": ("n", "d")}, params={"g": ("d",)}, fn=rmsnorm_math,
        sizes={"d": (2, 3, 5)},  # d = 1 makes x / rms(x) = sign(x): a constant with zero gradient
    )


if __name__ == "__main__":
    good = check(RMSNorm, "my_rmsnorm")
    print(good, "\n")
    bad = check(RMSNormNormConstant, "my_rmsnorm_broken")
    print(bad, "\n")
    dtype, result = next((d, r) for d, r in bad.results.items() if not r.passed)
    print(result.message(*result.failing()[0]))
