"""A sequence of layers ending in a loss layer, which keeps every intermediate for layer-by-layer checks."""
from __future__ import annotations

import numpy as np


class Sequential:
    """layers[0] -> ... -> layers[-1] -> loss_layer(., t).

    After `forward`, `outputs[i]` is layer i's output (the U/Z of the seeds' matrix formulation);
    after `backward`, `deltas[i]` is the gradient of the loss with respect to layer i's *input*,
    and `deltas[len(layers)]` the gradient with respect to the loss layer's input.

    >>> from reference import Affine, Relu, SoftmaxWithLoss
    >>> rng = np.random.default_rng(0)
    >>> net = Sequential([Affine(rng.normal(size=(3, 4)), np.zeros(4)), Relu()], SoftmaxWithLoss())
    >>> loss = net.forward(rng.normal(size=(2, 3)), np.array([0, 3]))
    >>> [d.shape for d in net.backward()]
    [(2, 3), (2, 4), (2, 4)]
    """

    def __init__(self, layers: list, loss_layer):
        self.layers = list(layers)
        self.loss_layer = loss_layer
        self.outputs: list[np.ndarray] = []
        self.deltas: list[np.ndarray] = []

    def predict(self, x: np.ndarray) -> np.ndarray:
        self.outputs = []
        for layer in self.layers:
            x = layer.forward(x)
            self.outputs.append(x)
        return x

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        return self.loss_layer.forward(self.predict(x), t)

    def backward(self, dout: float = 1.0) -> list[np.ndarray]:
        d = self.loss_layer.backward(dout)
        if isinstance(d, tuple):  # a loss with a differentiable target returns (dy, dt)
            d = d[0]
        deltas = [d]
        for layer in reversed(self.layers):
            d = layer.backward(d)
            deltas.append(d)
        self.deltas = deltas[::-1]
        return self.deltas

    def params(self) -> dict[str, np.ndarray]:
        """Every parameter as "<layer index>.<name>", e.g. "0.W"."""
        return {f"{i}.{n}": getattr(l, n) for i, l in enumerate(self.layers) for n in getattr(l, "param_names", ())}

    def grads(self) -> dict[str, np.ndarray]:
        return {f"{i}.{n}": getattr(l, "d" + n) for i, l in enumerate(self.layers) for n in getattr(l, "param_names", ())}
