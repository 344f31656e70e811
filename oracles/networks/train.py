"""Training equivalence: K optimizer steps of one network, the reference against torch.optim and a
hand-written JAX update (`train_network`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..comparison import Comparison
from ..judge import compare
from ..names import Stage
from ..tolerances import tolerance_for
from .building import Network, Node, build
from .describe import NetDesc
from .run import net_jax, net_reference, net_torch


def train_network(desc: NetDesc, optimizer: str = "sgd", steps: int = 5, lr: float = 0.05, momentum: float = 0.9,
                  registry=None, reference_optimizer=None) -> list[dict[str, float]]:
    """K steps of one network's training three ways, from the same initial weights: the reference
    (reference.optimizers), PyTorch (torch.optim on one autograd graph), JAX (the per-layer chain and a
    hand-written jnp update). Returns, per step, the largest |reference - framework| over all parameters
    and, for the assertion, `passed` under the tolerance table's gradient row.

    optimizer: "sgd" (w <- w - lr * grad, the seeds' rule) or "momentum" (the book's v <- mu v - lr g,
    w <- w + v, which equals torch's SGD(momentum=mu) for a constant lr). Adaptive optimizers are checked on
    fixed networks in tests/test_optimizers.py: they divide by sqrt(v), which turns a gradient that is 0 in
    one framework and 1e-17 in another (a dead unit) into steps of size lr.
    reference_optimizer: an optimizer object to use in the reference instead (a user's own, or a broken one).
    """
    import torch

    from reference.optimizers import SGD, Momentum

    nets = {k: build(desc, registry) for k in ("reference", "torch", "jax")}
    ref_opt = reference_optimizer or (SGD(lr) if optimizer == "sgd" else Momentum(lr, momentum))
    leaves = {n.path: {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in n.params.items()}
              for n in _leaf_nodes(nets["torch"])}
    torch_opt = torch.optim.SGD([t for d in leaves.values() for t in d.values()], lr=lr,
                                momentum=0.0 if optimizer == "sgd" else momentum)
    velocity: dict[str, Any] = {}
    drift = []
    for step in range(steps):
        r = net_reference(nets["reference"])
        ref_opt.update(_flat(nets["reference"]), _flat(nets["reference"], lambda n, k: r[n.path][Stage.grad(k)]))

        torch_opt.zero_grad()
        net_torch(nets["torch"], leaves)
        torch_opt.step()

        _jax_step(nets["jax"], net_jax(nets["jax"]), optimizer, lr, momentum, velocity)

        got = {"torch": _flat(nets["torch"], lambda n, k: leaves[n.path][k].detach().numpy()), "jax": _flat(nets["jax"])}
        drift.append(_drift_row(desc, step, _flat(nets["reference"]), got))
    return drift


def _leaf_nodes(net: Network) -> list[Node]:
    return [n for n in net.sites() if n.inner is None and n.params]


def _flat(net: Network, value=None) -> dict[str, Any]:
    """"<site path>.<param>" -> value(node, param), by default the parameter's array (the optimizers' keys)."""
    return {f"{n.path}.{k}": v if value is None else value(n, k) for n in _leaf_nodes(net) for k, v in n.params.items()}


def _jax_step(net: Network, grads: dict, optimizer: str, lr: float, momentum: float, velocity: dict) -> None:
    """The hand-written JAX update of every parameter: w <- w - lr g, or v <- mu v - lr g; w <- w + v."""
    import jax.numpy as jnp

    for n in _leaf_nodes(net):
        for k in n.params:
            g = jnp.asarray(grads[n.path][Stage.grad(k)])
            key = f"{n.path}.{k}"
            if optimizer == "sgd":
                n.params[k] = np.asarray(jnp.asarray(n.params[k]) - lr * g)
            else:
                velocity[key] = momentum * velocity.get(key, jnp.zeros_like(g)) - lr * g
                n.params[k] = np.asarray(jnp.asarray(n.params[k]) + velocity[key])


def _drift_row(desc: NetDesc, step: int, ref: dict[str, np.ndarray], got: dict[str, dict[str, np.ndarray]]) -> dict:
    """One step's row: per oracle the largest |reference - framework| over every parameter, and `passed`:
    every parameter of both agrees under the tolerance for its gradient stage."""
    row: dict[str, Any] = {}
    passed = True
    for oracle, params in got.items():
        comps = [_compare_param(desc, step, oracle, key, ref[key], params[key]) for key in ref]
        row[oracle] = max((c.max_abs for c in comps), default=0.0)
        passed = passed and all(c.passed for c in comps)
    row["passed"] = passed
    return row


def _compare_param(desc: NetDesc, step: int, oracle: str, key: str, ref: np.ndarray, theirs: np.ndarray) -> Comparison:
    name = key.rsplit(".", 1)[1]  # "<site path>.<param>"; site paths hold dots ("2.r1"), parameter names none
    return compare(ref, theirs, tolerance_for(desc.dtype, oracle, Stage.grad(name)),
                   layer=f"network_{desc.name or desc.family}", dtype=desc.dtype, stage=f"{key} after step {step + 1}",
                   oracle=oracle, shapes={name: list(np.shape(ref))})
