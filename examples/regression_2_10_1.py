"""The seeds' 2-10-1 ReLU regression: Affine(2, 10) - Relu - Affine(10, 1) (2*10 + 10 + 10*1 + 1 = 41
parameters) learns y = 3*x0 + 2*x1 by full-batch SGD (lr 0.07) on MeanSquaredError
(0.5 * sum((y - t)**2) / N), and the same training run in PyTorch from the same initial weights and data.

    python examples/regression_2_10_1.py [--steps 300] [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np

import reference as R
from reference.optimizers import SGD

LR = 0.07


def make_data(n: int = 64, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x uniform in [-1, 1]^2, t = 3*x0 + 2*x1 (shape (n, 1)), float64."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(n, 2))
    return x, (3.0 * x[:, 0] + 2.0 * x[:, 1]).reshape(-1, 1)


def init_params(seed: int = 0) -> dict[str, np.ndarray]:
    """He-normal weights (std sqrt(2 / fan_in)), zero biases, keyed like Sequential.params()."""
    rng = np.random.default_rng(seed + 1000)
    return {"0.W": rng.normal(0.0, np.sqrt(2 / 2), size=(2, 10)), "0.b": np.zeros(10),
            "2.W": rng.normal(0.0, np.sqrt(2 / 10), size=(10, 1)), "2.b": np.zeros(1)}


def build(params: dict[str, np.ndarray]) -> R.Sequential:
    p = {k: v.copy() for k, v in params.items()}
    return R.Sequential([R.Affine(p["0.W"], p["0.b"]), R.Relu(), R.Affine(p["2.W"], p["2.b"])], R.MeanSquaredError())


def train_reference(params, x, t, steps: int, lr: float = LR):
    """(losses before each step, final parameters), full-batch SGD with the reference."""
    net, opt = build(params), SGD(lr)
    losses = []
    for _ in range(steps):
        losses.append(float(net.forward(x, t)))
        net.backward()
        opt.update(net.params(), net.grads())
    return np.array(losses), {k: v.copy() for k, v in net.params().items()}


def train_torch(params, x, t, steps: int, lr: float = LR):
    """The same run in PyTorch: the same 41 starting weights, torch.optim.SGD, the same loss definition."""
    import torch

    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    opt = torch.optim.SGD(list(p.values()), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        y = torch.relu(xt @ p["0.W"] + p["0.b"]) @ p["2.W"] + p["2.b"]
        loss = 0.5 * ((y - tt) ** 2).sum() / y.shape[0]
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses), {k: v.detach().numpy().copy() for k, v in p.items()}


def run(steps: int = 300, seed: int = 0) -> dict:
    x, t = make_data(seed=seed)
    params = init_params(seed)
    ref_losses, ref_final = train_reference(params, x, t, steps)
    torch_losses, torch_final = train_torch(params, x, t, steps)
    return {
        "n_params": sum(v.size for v in params.values()),
        "ref_losses": ref_losses, "torch_losses": torch_losses,
        "ref_final": ref_final, "torch_final": torch_final,
        "loss_max_rel_diff": float(np.max(np.abs(ref_losses - torch_losses) / np.abs(torch_losses))),
        "weight_max_abs_diff": max(float(np.abs(ref_final[k] - torch_final[k]).max()) for k in ref_final),
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = run(args.steps, args.seed)
    print(f"2-10-1 ReLU net, {out['n_params']} parameters, SGD lr {LR}, {args.steps} full-batch steps")
    for i in sorted({0, 1, 10, 50, 100, args.steps // 2, args.steps - 1} & set(range(args.steps))):
        print(f"  step {i:4d}: loss ref {out['ref_losses'][i]:.6e}  torch {out['torch_losses'][i]:.6e}")
    print(f"loss fell by {out['ref_losses'][0] / out['ref_losses'][-1]:.3g}x")
    print(f"reference vs torch: max rel loss diff {out['loss_max_rel_diff']:.2e}, "
          f"max abs final weight diff {out['weight_max_abs_diff']:.2e}")
