"""Training equivalence: K steps of each reference optimizer on a small MLP against the same K steps in
PyTorch (torch.optim) and in JAX (jax.value_and_grad with the update rules written out by hand, in the
papers' form; optax is not installed and is not a dependency).

The network is Affine-Relu-Affine-Sigmoid-Affine with MeanSquaredError (0.5 * sum((y - t)**2) / N) or
SoftmaxWithLoss (mean cross-entropy); sizes, weights, inputs and targets are drawn by Hypothesis. After
every step every parameter is compared, element by element, with |ref - oracle| <= atol + rtol * |oracle|;
`trajectory_drift` returns the max |ref - oracle| over all parameters after each step (printed with -s).

Tolerances (per step, per element, not scaled by array size): the gate's gradient tolerances,
float64 atol 1e-12 / rtol 1e-9 and float32 atol 1e-5 / rtol 1e-5. Measured worst drift over the draws
(dev profile): float64 <= 2e-15, float32 <= 5e-7 (a few float32 ulps of weights of order 1), i.e. more
than 20x headroom; a real bug (a wrong bias correction, eps on the wrong side of the sqrt, a wrong
momentum sign) is off by 1e-4 or more in the first step.

Why the draws are "generic" (magnitudes 0.125..2, no zeros, distinct elements in each array): AdaGrad and
Adam divide by sqrt(h) + eps resp. sqrt(v_hat) + eps, so a gradient difference d between two frameworks
becomes an update difference of about lr * d / (|g| + eps). Where a gradient is *mathematically zero*
(2.W = 0 blocking the path, or a row of the last W with equal entries against softmax - onehot, whose
entries sum to zero) one framework computes exactly 0 and another 1e-17 of rounding noise, and
lr / eps = 1e6 per step turns that into 1e-11 after one step and 5e-7 after two (Hypothesis found exactly
this with 0.W = -1, 2.W = 0, 4.W = [[1.5, 1.5]]). That is a property of AdaGrad/Adam with a small eps, not
a disagreement about the algorithm; exact symmetries are kept out of the draws instead of loosening the
tolerance for everyone.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reference as R
from reference.optimizers import SGD, AdaGrad, Adam, Momentum

K = 5  # optimizer steps compared

# learning rates per optimizer (momentum MU); the same in the reference, torch and JAX
LR = {"sgd": 0.1, "momentum": 0.1, "adagrad": 0.1, "adam": 0.01}
MU = 0.9

TOL = {"float64": (1e-12, 1e-9), "float32": (1e-5, 1e-5)}  # (atol, rtol); see the module docstring

KEYS = ("0.W", "0.b", "2.W", "2.b", "4.W", "4.b")


# ----------------------------------------------------------------------------------------------- draws
def _weights(dtype):
    """Magnitudes in [0.125, 2], either sign: no exact zeros (see the module docstring)."""
    width = 32 if dtype == "float32" else 64
    mag = st.floats(0.125, 2.0, allow_nan=False, allow_infinity=False, allow_subnormal=False, width=width)
    return st.tuples(mag, st.booleans()).map(lambda mb: -mb[0] if mb[1] else mb[0])


# (n, d0, h1, h2, classes): a bounded set of layouts, so that JAX compiles its jitted step once per layout.
LAYOUTS = [(1, 2, 3, 2, 2), (4, 3, 4, 3, 3)]


@st.composite
def problems(draw, dtype: str, loss: str):
    """(params, x, t) for one of LAYOUTS: weights, inputs and MSE targets of magnitude 0.125..2, each array's
    elements distinct (no exact symmetries, which would make gradients mathematically zero)."""
    n, d0, h1, h2, c = draw(st.sampled_from(LAYOUTS))
    shapes = {"0.W": (d0, h1), "0.b": (h1,), "2.W": (h1, h2), "2.b": (h2,), "4.W": (h2, c), "4.b": (c,)}
    arrays = lambda shape: hnp.arrays(dtype, shape, elements=_weights(dtype), unique=True)  # noqa: E731
    params = {k: draw(arrays(s)) for k, s in shapes.items()}
    x = draw(arrays((n, d0)))
    if loss == "mse":
        t = draw(arrays((n, c)))
    else:
        t = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return params, x, t


# ------------------------------------------------------------------------------------------- reference
def reference_net(params: dict[str, np.ndarray], loss: str) -> R.Sequential:
    p = {k: v.copy() for k, v in params.items()}
    layers = [R.Affine(p["0.W"], p["0.b"]), R.Relu(), R.Affine(p["2.W"], p["2.b"]), R.Sigmoid(),
              R.Affine(p["4.W"], p["4.b"])]
    return R.Sequential(layers, R.MeanSquaredError() if loss == "mse" else R.SoftmaxWithLoss())


def reference_optimizer(name: str):
    return {"sgd": lambda: SGD(LR["sgd"]), "momentum": lambda: Momentum(LR["momentum"], MU),
            "adagrad": lambda: AdaGrad(LR["adagrad"]), "adam": lambda: Adam(LR["adam"])}[name]()


def reference_trajectory(params, x, t, loss, opt_name, k=K):
    """Losses before each step and parameters after each step."""
    net = reference_net(params, loss)
    opt = reference_optimizer(opt_name)
    losses, traj = [], []
    for _ in range(k):
        losses.append(float(net.forward(x, t)))
        net.backward()
        opt.update(net.params(), net.grads())
        traj.append({key: v.copy() for key, v in net.params().items()})
    return losses, traj


# ----------------------------------------------------------------------------------------------- torch
def torch_loss(p, x, t, loss):
    h = torch.relu(x @ p["0.W"] + p["0.b"])
    h = torch.sigmoid(h @ p["2.W"] + p["2.b"])
    y = h @ p["4.W"] + p["4.b"]
    if loss == "mse":
        return 0.5 * ((y - t) ** 2).sum() / y.shape[0]
    return F.cross_entropy(y, t)  # mean over the batch


def torch_optimizer(name: str, ps):
    if name == "sgd":
        return torch.optim.SGD(ps, lr=LR["sgd"])
    if name == "momentum":  # torch's convention: b = mu*b + g; w -= lr*b (the same weights, see below)
        return torch.optim.SGD(ps, lr=LR["momentum"], momentum=MU)
    if name == "adagrad":  # torch adds eps after the sqrt too; only its default eps (1e-10) differs
        return torch.optim.Adagrad(ps, lr=LR["adagrad"], eps=1e-7)
    return torch.optim.Adam(ps, lr=LR["adam"])  # defaults: betas (0.9, 0.999), eps 1e-8


def torch_trajectory(params, x, t, loss, opt_name, k=K):
    p = {key: torch.tensor(v, requires_grad=True) for key, v in params.items()}
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    opt = torch_optimizer(opt_name, list(p.values()))
    losses, traj = [], []
    for _ in range(k):
        opt.zero_grad()
        value = torch_loss(p, xt, tt, loss)
        value.backward()
        opt.step()
        losses.append(value.item())
        traj.append({key: v.detach().numpy().copy() for key, v in p.items()})
    return losses, traj


# ------------------------------------------------------------------------------------------------- JAX
def jax_loss(p, x, t, loss):
    h = jax.nn.relu(x @ p["0.W"] + p["0.b"])
    h = jax.nn.sigmoid(h @ p["2.W"] + p["2.b"])
    y = h @ p["4.W"] + p["4.b"]
    if loss == "mse":
        return 0.5 * jnp.sum((y - t) ** 2) / y.shape[0]
    logp = jax.nn.log_softmax(y, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1))


def jax_update(name: str):
    """(init(params) -> state, update(params, grads, state, t) -> (params, state)), written from the papers
    `c` is Adam's bias corrections (1 - b1**t, 1 - b2**t) for the 1-based step t, computed in Python and
    passed into the jitted step as Python floats, i.e. weakly typed: float32 stays float32."""
    tree = jax.tree_util.tree_map
    zeros = lambda p: tree(jnp.zeros_like, p)  # noqa: E731
    if name == "sgd":
        lr = LR["sgd"]
        return (lambda p: ()), (lambda p, g, s, c: (tree(lambda w, d: w - lr * d, p, g), s))
    if name == "momentum":  # heavy ball in torch's form (the book's v is -lr times this buffer)
        lr = LR["momentum"]

        def update(p, g, b, c):
            b = tree(lambda bi, d: MU * bi + d, b, g)
            return tree(lambda w, bi: w - lr * bi, p, b), b

        return zeros, update
    if name == "adagrad":
        lr, eps = LR["adagrad"], 1e-7

        def update(p, g, h, c):
            h = tree(lambda hi, d: hi + d * d, h, g)
            return tree(lambda w, d, hi: w - lr * d / (jnp.sqrt(hi) + eps), p, g, h), h

        return zeros, update
    lr, b1, b2, eps = LR["adam"], 0.9, 0.999, 1e-8  # Kingma & Ba, Algorithm 1, with eps on sqrt(v_hat)

    def update(p, g, s, c):
        m = tree(lambda mi, d: b1 * mi + (1 - b1) * d, s[0], g)
        v = tree(lambda vi, d: b2 * vi + (1 - b2) * d * d, s[1], g)
        c1, c2 = c
        return tree(lambda w, mi, vi: w - lr * (mi / c1) / (jnp.sqrt(vi / c2) + eps), p, m, v), (m, v)

    return (lambda p: (zeros(p), zeros(p))), update


@functools.lru_cache(maxsize=None)
def jax_step(opt_name: str, loss: str):
    """One jitted training step (loss and gradient by jax.value_and_grad, then the update), per optimizer
    and loss; JAX compiles it once per layout and dtype."""
    _, update = jax_update(opt_name)

    def step(p, state, x, t, c):
        value, g = jax.value_and_grad(jax_loss)(p, x, t, loss)
        p, state = update(p, g, state, c)
        return value, p, state

    return jax.jit(step)


def jax_trajectory(params, x, t, loss, opt_name, k=K):
    p = {key: jnp.asarray(v) for key, v in params.items()}
    xj, tj = jnp.asarray(x), jnp.asarray(t)
    init, _ = jax_update(opt_name)
    state = init(p)
    step = jax_step(opt_name, loss)
    losses, traj = [], []
    for i in range(1, k + 1):
        value, p, state = step(p, state, xj, tj, (1 - 0.9**i, 1 - 0.999**i))
        losses.append(float(value))
        traj.append({key: np.asarray(v) for key, v in p.items()})
    return losses, traj


# -------------------------------------------------------------------------------------------- compare
def trajectory_drift(ref: list[dict], oracle: list[dict], atol: float, rtol: float, label: str = "") -> list[float]:
    """Max |ref - oracle| over all parameters after each step; asserts every element of every step is
    within atol + rtol * |oracle|, and that dtypes and shapes agree."""
    drift = []
    assert len(ref) == len(oracle)
    for step, (a, b) in enumerate(zip(ref, oracle), start=1):
        assert a.keys() == b.keys()
        worst = 0.0
        for key in a:
            assert a[key].dtype == b[key].dtype, (label, step, key, a[key].dtype, b[key].dtype)
            assert a[key].shape == b[key].shape, (label, step, key)
            err = np.abs(a[key].astype(np.float64) - b[key].astype(np.float64))
            bound = atol + rtol * np.abs(b[key].astype(np.float64))
            bad = err > bound
            assert not bad.any(), (
                f"{label}: step {step}, {key}: |ref - oracle| = {err.max():.3e} > {bound[bad].min():.3e} "
                f"at {np.argwhere(bad)[0].tolist()}; ref {a[key][bad][0]!r}, oracle {b[key][bad][0]!r}")
            worst = max(worst, float(err.max(initial=0.0)))
        drift.append(worst)
    return drift


def check_equivalence(params, x, t, loss, opt_name, dtype):
    atol, rtol = TOL[dtype]
    ref_losses, ref = reference_trajectory(params, x, t, loss, opt_name)
    out = {}
    for oracle, run in (("torch", torch_trajectory), ("jax", jax_trajectory)):
        losses, traj = run(params, x, t, loss, opt_name)
        np.testing.assert_allclose(ref_losses, losses, rtol=rtol * 10, atol=atol * 10)
        out[oracle] = trajectory_drift(ref, traj, atol, rtol, label=f"{opt_name}/{loss}/{dtype}/{oracle}")
    return out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss", ["mse", "softmax"])
@pytest.mark.parametrize("opt_name", list(LR))
def test_k_steps_match_torch_and_jax(opt_name, loss, dtype):
    worst = {"torch": [0.0] * K, "jax": [0.0] * K}

    @given(problems(dtype, loss))
    def run(problem):
        params, x, t = problem
        drift = check_equivalence(params, x, t, loss, opt_name, dtype)
        for oracle, d in drift.items():
            assert len(d) == K and all(math.isfinite(v) for v in d)
            worst[oracle] = [max(a, b) for a, b in zip(worst[oracle], d)]

    run()
    print(f"\n{opt_name:8s} {loss:7s} {dtype}: max drift per step "
          + "  ".join(f"{o}=[{', '.join(f'{v:.1e}' for v in d)}]" for o, d in worst.items()))


def test_momentum_conventions_agree_for_constant_lr_and_part_when_lr_changes():
    """The book's v = mu*v - lr*g; w += v against torch's b = mu*b + g; w -= lr*b: v_t == -lr * b_t at
    every step with a constant lr (so the weights agree), and not once lr changes mid-run."""
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(3, 2))}
    grads_seq = [rng.normal(size=(3, 2)) for _ in range(K)]

    def run(lrs):
        ref_p = {"w": params["w"].copy()}
        ref = Momentum(lrs[0], MU)
        w = torch.tensor(params["w"], requires_grad=True)
        opt = torch.optim.SGD([w], lr=lrs[0], momentum=MU)
        for lr, g in zip(lrs, grads_seq):
            ref.lr = lr
            for group in opt.param_groups:
                group["lr"] = lr
            ref.update(ref_p, {"w": g})
            w.grad = torch.from_numpy(g.copy())
            opt.step()
            buf = opt.state[w]["momentum_buffer"].numpy()
            yield ref.v["w"], buf, lr, ref_p["w"], w.detach().numpy()

    for v, buf, lr, wr, wt in run([0.1] * K):
        np.testing.assert_allclose(v, -lr * buf, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(wr, wt, rtol=1e-12, atol=1e-15)
    *_, (_, _, _, wr, wt) = run([0.1, 0.1, 0.01, 0.01, 0.01])
    assert np.abs(wr - wt).max() > 1e-3  # the book's velocity still carries the old lr


def test_adam_differs_from_the_books_adam():
    """The reference follows torch (eps on sqrt(v_hat)); the book's eps sits on sqrt(v) with lr folded:
    with gradients of the size of eps the two differ visibly, and the reference equals torch."""
    g = np.full((4,), 1e-7)
    w0 = np.zeros(4)
    ref_p = {"w": w0.copy()}
    Adam().update(ref_p, {"w": g})
    w = torch.tensor(w0, requires_grad=True)
    w.grad = torch.from_numpy(g.copy())
    torch.optim.Adam([w]).step()
    np.testing.assert_allclose(ref_p["w"], w.detach().numpy(), rtol=1e-14)
    # the book's first step: m = 0.1 g, v = 0.001 g^2, lr_t = lr sqrt(0.001) / 0.1
    book = w0 - 1e-3 * math.sqrt(1 - 0.999) / (1 - 0.9) * (0.1 * g) / (np.sqrt(0.001 * g * g) + 1e-7)
    assert np.abs(book - ref_p["w"]).max() > 1e-5


@pytest.mark.parametrize("opt", [lambda: SGD(0.1), lambda: Momentum(0.1), lambda: AdaGrad(0.1), lambda: Adam()])
def test_updates_in_place_and_keep_float32(opt):
    rng = np.random.default_rng(1)
    layer = R.Affine(rng.normal(size=(3, 2)).astype(np.float32), np.zeros(2, np.float32))
    W_before = layer.W.copy()
    o = opt()
    for _ in range(3):
        layer.forward(rng.normal(size=(4, 3)).astype(np.float32))
        layer.backward(np.ones((4, 2), np.float32))
        o.update(layer.params(), layer.grads())
    assert layer.W.dtype == np.float32 and layer.b.dtype == np.float32
    assert not np.array_equal(layer.W, W_before)  # the layer's own arrays moved
    for state in ("v", "h", "m"):
        for arr in (getattr(o, state, None) or {}).values():
            assert arr.dtype == np.float32
