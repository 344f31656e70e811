"""Training equivalence: K optimizer steps of one network, the reference against torch.optim and a
hand-written JAX update (`train_network`)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..tolerances import tolerance_for
from .building import build
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
    import jax.numpy as jnp
    import torch

    from reference.optimizers import SGD, Momentum

    nets = {k: build(desc, registry) for k in ("reference", "torch", "jax")}

    def leaf_nodes(net):
        return [n for n in net.sites() if n.inner is None and n.params]

    def flat(net):
        return {f"{n.path}.{k}": v for n in leaf_nodes(net) for k, v in n.params.items()}

    ref_opt = reference_optimizer or (SGD(lr) if optimizer == "sgd" else Momentum(lr, momentum))
    leaves = {n.path: {k: torch.from_numpy(v.copy()).requires_grad_(True) for k, v in n.params.items()}
              for n in leaf_nodes(nets["torch"])}
    torch_opt = torch.optim.SGD([t for d in leaves.values() for t in d.values()], lr=lr,
                                momentum=0.0 if optimizer == "sgd" else momentum)
    velocity: dict[str, Any] = {}
    tol = tolerance_for(desc.dtype, "torch", "grad_W")
    drift = []
    for _ in range(steps):
        r = net_reference(nets["reference"])
        ref_opt.update(flat(nets["reference"]), {f"{n.path}.{k}": r[n.path][f"grad_{k}"] for n in leaf_nodes(nets["reference"]) for k in n.params})

        torch_opt.zero_grad()
        net_torch(nets["torch"], leaves)
        torch_opt.step()

        rj = net_jax(nets["jax"])
        for n in leaf_nodes(nets["jax"]):
            for k in n.params:
                g = jnp.asarray(rj[n.path][f"grad_{k}"])
                key = f"{n.path}.{k}"
                if optimizer == "sgd":
                    n.params[k] = np.asarray(jnp.asarray(n.params[k]) - lr * g)
                else:
                    velocity[key] = momentum * velocity.get(key, jnp.zeros_like(g)) - lr * g
                    n.params[k] = np.asarray(jnp.asarray(n.params[k]) + velocity[key])

        ref = flat(nets["reference"])
        got = {"torch": {f"{p}.{k}": t.detach().numpy() for p, d in leaves.items() for k, t in d.items()},
               "jax": flat(nets["jax"])}
        row = {}
        ok = True
        for oracle, params in got.items():
            row[oracle] = max(float(np.max(np.abs(ref[k] - params[k]), initial=0.0)) for k in ref)
            ok = ok and all(np.allclose(ref[k], params[k], atol=tol.atol, rtol=tol.rtol) for k in ref)
        row["passed"] = ok
        drift.append(row)
    return drift
