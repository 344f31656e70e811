"""A torch.autograd.Function and a jax.custom_vjp rule checked with check_function, each with a broken twin.

    python examples/custom_function.py

Cube: right at first order. CubeDetached: the same backward on a detached saved input, so its first order
is still right and its double backward silently misses d(3x^2)/dx. softplus_vjp: a stable custom_vjp.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import torch

from oracles import check_function


class Cube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * g


class CubeDetached(Cube):
    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x.detach() ** 2 * g  # first order right; double backward loses the x-dependence


@jax.custom_vjp
def softplus_vjp(x):
    return jnp.logaddexp(x, 0.0)


softplus_vjp.defvjp(lambda x: (softplus_vjp(x), x), lambda x, g: (jax.nn.sigmoid(x) * g,))


def main() -> None:
    cube = lambda xp, x: x ** 3  # noqa: E731  the plain math, once, for PyTorch and JAX
    print(check_function(Cube, math=cube, inputs={"x": ("n", "m")}, dtypes=("float64",), record=False))
    broken = check_function(CubeDetached, math=cube, inputs={"x": ("n", "m")}, dtypes=("float64",), record=False)
    print(broken)
    print(broken.message().split("\n\n")[0])
    print(check_function(softplus_vjp, math=lambda xp, x: xp.log(1 + xp.exp(x)), inputs={"x": ("n",)},
                         dtypes=("float64",), record=False))


if __name__ == "__main__":
    main()
