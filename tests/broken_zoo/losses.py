"""Deliberately broken losses layers (format: see tests/broken_layers.py)."""
import reference as R
from broken_layers import broken


class NLLNoBatchDivide(R.NLLLoss):
    def backward(self, dout=1):
        return super().backward(dout) * self.x_shape[0]  # forgot / N: the sum's gradient, not the mean's


class BCEWithLogitsNoMeanDivide(R.BCEWithLogitsLoss):
    def backward(self, dout=1):
        return dout * (R.sigmoid(self.x) - self.t)  # forgot / numel


class MSEMeanMissingTwo(R.MSELoss):
    def backward(self, dout=1):
        dy = dout * self.diff / self.diff.size  # d(d**2) = 2 d, the 2 dropped (as if the loss had a 0.5)
        return dy, -dy


class MSEMeanMissingNumel(R.MSELoss):
    def backward(self, dout=1):
        dy = dout * 2 * self.diff  # the "sum" gradient used for reduction="mean"
        return dy, -dy


class HuberWrongTail(R.HuberLoss):
    def backward(self, dout=1):
        d = self.diff
        dy = dout * d / d.size  # the quadratic branch's slope everywhere: d instead of delta*sign(d) for |d| > delta
        return dy, -dy


def _mse(make):
    return lambda p, reduction: make(reduction)


BROKEN = {
    "nll_loss_no_batch_divide": broken("nll_loss", "nll_loss_no_batch_divide", lambda p: NLLNoBatchDivide(), by=["grad_x"]),
    "bce_with_logits_no_mean_divide": broken("bce_with_logits", "bce_with_logits_no_mean_divide",
                                             lambda p: BCEWithLogitsNoMeanDivide(), by=["grad_x"]),
    "mse_loss_mean_missing_2": broken("mse_loss_mean", "mse_loss_mean_missing_2", _mse(MSEMeanMissingTwo), by=["grad_y", "grad_t"]),
    "mse_loss_mean_missing_numel": broken("mse_loss_mean", "mse_loss_mean_missing_numel", _mse(MSEMeanMissingNumel), by=["grad_y", "grad_t"]),
    "huber_loss_wrong_tail": broken("huber_loss", "huber_loss_wrong_tail", lambda p, delta: HuberWrongTail(delta), by=["grad_y", "grad_t"]),
    # the missing 1/N must also be caught in float32
    "nll_loss_no_batch_divide_float32": broken("nll_loss", "nll_loss_no_batch_divide_f32",
                                               lambda p: NLLNoBatchDivide(), by=["grad_x"], dtype="float32"),
}
