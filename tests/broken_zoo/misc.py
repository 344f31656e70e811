"""Deliberately broken misc layers (format: see tests/broken_layers.py)."""
import reference as R
from broken_layers import broken


class EmbeddingAssigned(R.Embedding):
    """dW[idx] = dout: a repeated index keeps only its last occurrence's gradient instead of the sum."""

    def backward(self, dout):
        self.dW = self.W * 0
        self.dW[self.idx] = dout
        return None


class DropoutMaskNotInBackward(R.Dropout):
    """The mask is applied in forward but forgotten in backward: dropped units get a gradient."""

    def backward(self, dout):
        return dout / (1.0 - self.p)


class DropoutBackwardNoScale(R.Dropout):
    """Backward applies the mask but not the 1 / (1 - p) scale of inverted dropout."""

    def backward(self, dout):
        return dout * self.mask


BROKEN = {
    "embedding_grad_assigned": broken("embedding", "embedding_grad_assigned", lambda p: EmbeddingAssigned(p["W"]), by=["grad_W"]),
    "embedding_2d_grad_assigned": broken("embedding_2d", "embedding_2d_grad_assigned",
                                         lambda p: EmbeddingAssigned(p["W"]), by=["grad_W"], dtype="float32"),
    "dropout_mask_not_in_backward": broken("dropout_train", "dropout_mask_not_in_backward",
                                           lambda params, p: DropoutMaskNotInBackward(p), by=["grad_x"]),
    "dropout_backward_no_scale": broken("dropout_train", "dropout_backward_no_scale", lambda params, p: DropoutBackwardNoScale(p), by=["grad_x"]),
}
