"""Deliberately broken misc layers (format: see tests/broken_layers.py)."""
import reference as R
from broken_layers import broken_spec

ALL = ("torch", "jax", "numerical")


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
    "embedding_grad_assigned": (
        broken_spec("embedding", "embedding_grad_assigned", lambda p: EmbeddingAssigned(p["W"])),
        "float64", [(o, "grad_W") for o in ALL],
    ),
    "embedding_2d_grad_assigned": (
        broken_spec("embedding_2d", "embedding_2d_grad_assigned", lambda p: EmbeddingAssigned(p["W"])),
        "float32", [(o, "grad_W") for o in ALL],
    ),
    "dropout_mask_not_in_backward": (
        broken_spec("dropout_train", "dropout_mask_not_in_backward", lambda params, p: DropoutMaskNotInBackward(p)),
        "float64", [(o, "grad_x") for o in ALL],
    ),
    "dropout_backward_no_scale": (
        broken_spec("dropout_train", "dropout_backward_no_scale", lambda params, p: DropoutBackwardNoScale(p)),
        "float64", [(o, "grad_x") for o in ALL],
    ),
}
