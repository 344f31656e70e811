"""Deliberately broken activations layers (format: see tests/broken_layers.py)."""
import numpy as np

import reference as R
from broken_layers import broken
from catching import any_of
from oracles.names import FRAMEWORKS


class NaiveSoftmaxWithLoss(R.SoftmaxWithLoss):
    """softmax as exp(x) / sum(exp(x)) with no max subtracted, and the loss as log of it: exp overflows
    (inf / inf = NaN) above ~709 in float64 and ~88.7 in float32, and log(0) = -inf where a probability
    underflows."""

    def forward(self, x, t):
        n, c = x.shape
        if t.shape == x.shape:
            self.t_onehot = t.astype(x.dtype)
        else:
            self.t_onehot = np.zeros_like(x)
            self.t_onehot[np.arange(n), t.astype(np.intp)] = 1
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            e = np.exp(x)
            self.y = e / np.sum(e, axis=1, keepdims=True)
            return -np.sum(self.t_onehot * np.log(self.y)) / n


class TanhDerivFromInput(R.Tanh):
    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dout):
        return dout * (1.0 - self.x**2)  # 1 - y**2 evaluated at the input x instead of the output y


class GeluTanhNoInnerDerivative(R.Gelu):
    def backward(self, dout):
        x, t = self.x, self.t
        # chain rule stopped at tanh: the factor du/dx = sqrt(2/pi) * (1 + 3 * 0.044715 x**2) is missing
        return dout * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t**2))


class SoftmaxDiagonalOnly(R.Softmax):
    def backward(self, dout):
        y = self.out
        return y * (1.0 - y) * dout  # only the diagonal of the Jacobian diag(y) - y y^T


class LogSoftmaxNoSumTerm(R.LogSoftmax):
    def backward(self, dout):
        return np.array(dout, copy=True)  # forgot "- softmax * sum(dout, axis)"


class LeakyReluBackwardAsRelu(R.LeakyRelu):
    def backward(self, dout):
        return np.where(self.mask, dout, np.zeros_like(dout))  # slope 0: plain relu's backward


BROKEN = {
    # The forward itself is wrong (NaN or -inf on large logits), so the frameworks may catch it at the
    # forward or at grad_x (the reference's y is NaN too); the numerical oracle has no forward stage and
    # differentiates the NaN forward: it fails at grad_x. Float64 only: in float32 (logits +-80) the
    # gradient stays right and only torch and JAX see the bad forward (tests/test_zoo_activations.py).
    "softmax_with_loss_naive_exp": broken("softmax_with_loss_extreme", "softmax_with_loss_naive_exp", lambda p: NaiveSoftmaxWithLoss(),
                                          by={FRAMEWORKS: [any_of("forward", "grad_x")], "numerical": ["grad_x"]}),
    "tanh_deriv_from_input": broken("tanh", "tanh_deriv_from_input", lambda p: TanhDerivFromInput(), by=["grad_x"]),
    "gelu_tanh_no_inner_derivative": broken("gelu_tanh", "gelu_tanh_no_inner_derivative",
                                            lambda p, approximate: GeluTanhNoInnerDerivative(approximate), by=["grad_x"]),
    "softmax_backward_diagonal_only": broken("softmax", "softmax_backward_diagonal_only", lambda p, axis: SoftmaxDiagonalOnly(axis), by=["grad_x"]),
    "log_softmax_backward_no_sum_term": broken("log_softmax_axis1", "log_softmax_backward_no_sum_term",
                                               lambda p, axis: LogSoftmaxNoSumTerm(axis), by=["grad_x"]),
    "leaky_relu_backward_slope_0": broken("leaky_relu", "leaky_relu_backward_slope_0",
                                          lambda p, slope: LeakyReluBackwardAsRelu(slope), by=["grad_x"]),
}
