"""The seeds' two-layer network on scikit-learn's 8x8 digits: Affine(64, 50) - Relu - Affine(50, 10) -
SoftmaxWithLoss, trained with the reference SGD (lr 0.1, mini-batches of 100 drawn without replacement
each epoch), pixels scaled to [0, 1], a fixed stratified 80/20 train/test split; prints train and test
accuracy after every epoch.

    python examples/digits_two_layer.py [--epochs 100] [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np

import reference as R
from reference.datasets import load_digits_split
from reference.optimizers import SGD

LR, BATCH, HIDDEN = 0.1, 100, 50
EPOCHS = 100


def build(seed: int) -> R.Sequential:
    """He-normal weights (std sqrt(2 / fan_in)), zero biases."""
    rng = np.random.default_rng(seed)
    return R.Sequential([
        R.Affine(rng.normal(0, np.sqrt(2 / 64), size=(64, HIDDEN)), np.zeros(HIDDEN)), R.Relu(),
        R.Affine(rng.normal(0, np.sqrt(2 / HIDDEN), size=(HIDDEN, 10)), np.zeros(10)),
    ], R.SoftmaxWithLoss())


def accuracy(net: R.Sequential, x: np.ndarray, t: np.ndarray) -> float:
    return float(np.mean(net.predict(x).argmax(axis=1) == t))


def train(epochs: int = EPOCHS, seed: int = 0, split_seed: int = 0, verbose: bool = False) -> list[dict]:
    """One dict per epoch: epoch, mean training loss over its batches, train and test accuracy."""
    (x_tr, t_tr), (x_te, t_te) = load_digits_split(seed=split_seed)
    net, opt = build(seed), SGD(LR)
    rng = np.random.default_rng(seed + 1)
    history = []
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x_tr))
        losses = []
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            losses.append(net.forward(x_tr[idx], t_tr[idx]))
            net.backward()
            opt.update(net.params(), net.grads())
        row = {"epoch": epoch, "loss": float(np.mean(losses)),
               "train_acc": accuracy(net, x_tr, t_tr), "test_acc": accuracy(net, x_te, t_te)}
        history.append(row)
        if verbose:
            print(f"epoch {epoch:3d}  loss {row['loss']:.4f}  train acc {row['train_acc']:.4f}  "
                  f"test acc {row['test_acc']:.4f}")
    return history


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=EPOCHS)
    ap.add_argument("--seed", type=int, default=0, help="weights and batch order")
    ap.add_argument("--split-seed", type=int, default=0, help="train/test split")
    args = ap.parse_args()
    print(f"digits 8x8, Affine(64,{HIDDEN})-Relu-Affine({HIDDEN},10)-SoftmaxWithLoss, SGD lr {LR}, batch {BATCH}")
    hist = train(args.epochs, args.seed, args.split_seed, verbose=True)
    print(f"final test accuracy {hist[-1]['test_acc']:.4f}")
