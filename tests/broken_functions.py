"""Custom gradients as researchers write them, each broken in one way, and correct twins.

Every entry of BROKEN says where check_function must catch it: `stage` (a stage name, or "error" for a
one-line BadFunction raised before anything is drawn), its order, the dtype it shows in, and a word the
message must contain. CORRECT entries must pass in float64 and float32.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import jax.numpy as jnp
import torch
from torch.autograd.function import once_differentiable

from oracles import Domain, Float, Index


@dataclass
class Entry:
    name: str
    fn: Any
    math: Callable
    inputs: dict
    stage: str = ""        # where it is caught ("error": raised before drawing)
    order: int = 1
    dtype: str = "float64"
    says: str = ""         # a word of the message
    kw: dict = field(default_factory=dict)


# --- torch ------------------------------------------------------------------------------------------------
class SavedInPlace(torch.autograd.Function):
    """out = exp(x) + 1 computed in place on the tensor kept for backward: backward reads exp(x) + 1."""
    @staticmethod
    def forward(ctx, x):
        y = torch.exp(x)
        ctx.y = y
        return y.add_(1)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.y


class MissingTranspose(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W):
        ctx.save_for_backward(x, W)
        return x @ W

    @staticmethod
    def backward(ctx, g):
        x, W = ctx.saved_tensors
        return g @ W, x.T @ g  # dx needs W.T


class CubeDetached(torch.autograd.Function):
    """First order right; the saved input is detached, so double backward misses d(3x^2)/dx."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x.detach() ** 2 * g


class TanhScaleSavedIntermediate(torch.autograd.Function):
    """out = tanh(x) * b; saves the intermediate tanh(x), which has no graph: double backward is wrong."""
    @staticmethod
    def forward(ctx, x, b):
        y = torch.tanh(x)
        ctx.save_for_backward(y, b)
        return y * b

    @staticmethod
    def backward(ctx, g):
        y, b = ctx.saved_tensors
        return (1 - y * y) * g * b, (g * y).sum(0)


class SinBadJvp(torch.autograd.Function):
    """backward right, jvp with the wrong sign: forward mode disagrees with reverse mode."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return torch.cos(x) * g

    @staticmethod
    def jvp(ctx, t):
        x, = ctx.saved_tensors
        return -torch.cos(x) * t


class BiasNotUnbroadcast(torch.autograd.Function):
    """x + b with b broadcast over rows; backward returns the (n, m) gradient for b (PyTorch would sum it
    silently)."""
    @staticmethod
    def forward(ctx, x, b):
        return x + b

    @staticmethod
    def backward(ctx, g):
        return g, g


class TanhFloat32Overflow(torch.autograd.Function):
    """tanh'(x) = 1 - tanh^2 written via exp(2x): overflows float32 for x > 44 (inf / inf = NaN). First
    order only (once_differentiable): its double backward would also show its float32 rounding near
    saturation (4 ulps at x = 40), a second finding that would race the first for Hypothesis's attention."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.tanh(x)

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, = ctx.saved_tensors
        e = torch.exp(2 * x)
        y = (e - 1) / (e + 1)
        return (1 - y * y) * g


class Float64Gradient(torch.autograd.Function):
    """backward computes in float64 and returns that for a float32 input (PyTorch would cast it silently)."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return torch.cos(x.double()) * g.double()


class MutatesInput(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return x.mul_(2).mul_(g)  # 2 x g, computed in the caller's x


class IgnoresNeedsInputGrad(torch.autograd.Function):
    """x * b: computes db from dx, which it skips when x needs no grad, and then crashes."""
    @staticmethod
    def forward(ctx, x, b):
        ctx.save_for_backward(x, b)
        return x * b

    @staticmethod
    def backward(ctx, g):
        x, b = ctx.saved_tensors
        gx = g * b if ctx.needs_input_grad[0] else None
        return gx, gx / b * x


class BackwardChangesSaved(torch.autograd.Function):
    """backward scales a tensor it keeps on ctx in place: a second backward on the same graph differs."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.k = torch.ones((), dtype=x.dtype)
        return x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        out = (2 * x + ctx.k - 1) * g
        ctx.k.mul_(1.5)
        return out


class NonDeterministic(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return torch.cos(x) * g * (1 + 1e-3 * torch.rand(()))


class TwoOutputs(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        return 2 * g1 + 3 * g2


class OneGradForTwo(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y):
        return x * y

    @staticmethod
    def backward(ctx, g):
        return g


# --- JAX --------------------------------------------------------------------------------------------------
@jax.custom_vjp
def jax_bias_not_unbroadcast(x, b):
    return x + b


jax_bias_not_unbroadcast.defvjp(lambda x, b: (x + b, None), lambda res, g: (g, g))


@jax.custom_vjp
def jax_wrong_structure(x, b):
    return x * b


jax_wrong_structure.defvjp(lambda x, b: (x * b, (x, b)), lambda res, g: (g * res[1],))


@jax.custom_vjp
def jax_square_wrong_second(x):
    return x * x


jax_square_wrong_second.defvjp(lambda x: (x * x, x), lambda x, g: (2 * jax.lax.stop_gradient(x) * g,))


@jax.custom_jvp
def jax_sin_bad_rule(x):
    return jnp.sin(x)


jax_sin_bad_rule.defjvp(lambda p, t: (jnp.sin(p[0]), jnp.cos(p[0]) * t[0] * 1.001))


@jax.custom_vjp
def jax_matmul_missing_transpose(x, W):
    return x @ W


jax_matmul_missing_transpose.defvjp(lambda x, W: (x @ W, (x, W)), lambda r, g: (g @ r[1].T.T, r[0].T @ g))

XW = {"x": ("n", "i"), "W": ("i", "o")}
XB = {"x": ("n", "m"), "b": ("m",)}
X = {"x": ("n", "m")}

BROKEN = [
    Entry("saved_inplace", SavedInPlace, lambda xp, x: xp.exp(x) + 1, X, "grad_x", 1),
    Entry("missing_transpose", MissingTranspose, lambda xp, x, W: x @ W, XW, "grad_x", 1),
    Entry("wrong_second_derivative", CubeDetached, lambda xp, x: x ** 3, X, "grad2_x", 2),
    Entry("saved_intermediate_double_backward", TanhScaleSavedIntermediate, lambda xp, x, b: xp.tanh(x) * b, XB,
          "grad2_x", 2),
    Entry("jvp_inconsistent_with_vjp", SinBadJvp, lambda xp, x: xp.sin(x), X, "jvp", 1),
    Entry("reduction_not_unbroadcast", BiasNotUnbroadcast, lambda xp, x, b: x + b, XB, "grad_b", 1, says="shape"),
    Entry("gradient_only_right_in_float64", TanhFloat32Overflow, lambda xp, x: xp.tanh(x), X, "grad_x", 1,
          dtype="float32", says="non-finite", kw={"domain": Domain(45.0, 60.0)}),  # every x past float32 exp(2x)'s overflow (8 draws on [-60, 60] could miss it)
    Entry("gradient_of_wrong_dtype", Float64Gradient, lambda xp, x: xp.sin(x), X, "grad_x", 1, dtype="float32",
          says="dtype float64 != float32"),
    Entry("backward_mutates_input", MutatesInput, lambda xp, x: x * x, X, "grad_x", 1, says="in place"),
    Entry("needs_input_grad_ignored", IgnoresNeedsInputGrad, lambda xp, x, b: x * b, XB, "grad_b", 1,
          says="needs_input_grad"),
    Entry("backward_changes_saved_tensor", BackwardChangesSaved, lambda xp, x: x * x, X, "grad_x", 1,
          says="second time"),
    Entry("nondeterministic_backward", NonDeterministic, lambda xp, x: xp.sin(x), X, "grad_x", 1),
    Entry("pytree_output", TwoOutputs, lambda xp, x: x * 2, X, "error", 0, says="tuple"),
    Entry("wrong_number_of_gradients", OneGradForTwo, lambda xp, x, y: x * y, {"x": ("n",), "y": ("n",)},
          "error", 1, says="gradient(s) for"),
    Entry("jax_reduction_not_unbroadcast", jax_bias_not_unbroadcast, lambda xp, x, b: x + b, XB, "grad_b", 1,
          says="shape"),
    Entry("jax_rule_wrong_structure", jax_wrong_structure, lambda xp, x, b: x * b, XB, "error", 1,
          says="tuple of 1"),
    Entry("jax_wrong_second_derivative", jax_square_wrong_second, lambda xp, x: x * x, X, "grad2_x", 2),
    Entry("jax_custom_jvp_wrong_rule", jax_sin_bad_rule, lambda xp, x: xp.sin(x), X, "jvp", 1),
    Entry("jax_missing_transpose", jax_matmul_missing_transpose, lambda xp, x, W: x @ W, XW, "grad_x", 1),
]


# --- correct ----------------------------------------------------------------------------------------------
class TanhScale(torch.autograd.Function):
    """out = tanh(x) * b, with backward differentiable twice and a jvp."""
    @staticmethod
    def forward(ctx, x, b):
        ctx.save_for_backward(x, b)
        ctx.save_for_forward(x, b)
        return torch.tanh(x) * b

    @staticmethod
    def backward(ctx, g):
        x, b = ctx.saved_tensors
        y = torch.tanh(x)
        return (1 - y * y) * g * b, (g * y).sum(0)

    @staticmethod
    def jvp(ctx, tx, tb):
        x, b = ctx.saved_tensors
        y = torch.tanh(x)
        return (1 - y * y) * tx * b + y * tb


class OnceSquare(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 2 * x * g


class StableSoftplus(torch.autograd.Function):
    """softplus computed stably: finite where log(1 + exp(x)) overflows."""
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.clamp(x, min=0) + torch.log1p(torch.exp(-torch.abs(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return torch.sigmoid(x) * g


class StraightThroughRound(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        return g


class GradReverse(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)  # an output aliasing its input, as gradient reversal is usually written

    @staticmethod
    def backward(ctx, g):
        return -g


@jax.custom_vjp
def jax_tanh_scale(x, b):
    return jnp.tanh(x) * b


def _fwd(x, b):
    y = jnp.tanh(x)
    return y * b, (y, b)


jax_tanh_scale.defvjp(_fwd, lambda r, g: ((1 - r[0] ** 2) * g * r[1], (g * r[0]).sum(0)))


@jax.custom_jvp
def jax_sin(x):
    return jnp.sin(x)


jax_sin.defjvp(lambda p, t: (jnp.sin(p[0]), jnp.cos(p[0]) * t[0]))

class Gather(torch.autograd.Function):
    """x[k] * 2 with integer indices k (repeated: the backward must accumulate)."""
    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(k)
        ctx.n = x.shape[0]
        return x[k] * 2

    @staticmethod
    def backward(ctx, g):
        k, = ctx.saved_tensors
        return torch.zeros(ctx.n, dtype=g.dtype).index_add_(0, k, 2 * g), None


@jax.custom_vjp
def jax_gather(x, k):
    return x[k] * 2.0


jax_gather.defvjp(lambda x, k: (x[k] * 2.0, (x, k)),
                  lambda r, g: (jnp.zeros_like(r[0]).at[r[1]].add(2.0 * g), None))

GATHER = (Float("x", ("n",)), Index("k", ("m",), "n"))

CORRECT = [
    Entry("tanh_scale", TanhScale, lambda xp, x, b: xp.tanh(x) * b, XB),
    Entry("tanh_scale_apply", TanhScale.apply, lambda xp, x, b: xp.tanh(x) * b, XB),
    Entry("once_differentiable", OnceSquare, lambda xp, x: x * x, X),
    Entry("grad_reverse", GradReverse, lambda xp, x: x, X, kw={"grad_math": lambda xp, ct, x: -ct}),
    Entry("straight_through_round", StraightThroughRound, lambda xp, x: xp.round(x), X,
          kw={"grad_math": lambda xp, ct, x: ct}),
    Entry("jax_tanh_scale", jax_tanh_scale, lambda xp, x, b: xp.tanh(x) * b, XB),
    Entry("jax_custom_jvp_sin", jax_sin, lambda xp, x: xp.sin(x), X),
    Entry("gather_integer_indices", Gather, lambda xp, x, k: x[k] * 2, GATHER),
    Entry("jax_gather_integer_indices", jax_gather, lambda xp, x, k: x[k] * 2, GATHER),
]
