"""Deliberately broken structure layers (format: see tests/broken_layers.py)."""
import numpy as np

import reference as R
from broken_layers import broken


class ConcatSplitAtSizes(R.Concat):
    def backward(self, dout):
        # splits at the sizes [a, b] instead of the running offsets [a, a + b]: right for two inputs,
        # wrong from the third on (y gets [a, b), z gets [b, end))
        return tuple(np.split(dout, self.sizes[:-1], axis=self.axis))


class ConcatSplitWrongAxis(R.Concat):
    def backward(self, dout):
        offsets = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(dout, offsets, axis=-1))  # the last axis, whatever axis forward used


class FlattenNotReshapedBack(R.Flatten):
    def backward(self, dout):
        return dout  # still (N, C*H*W): the input's shape is never restored


class AddBiasNotSummed(R.AddLayer):
    def backward(self, dout):
        return dout, dout  # the bias's gradient keeps the full (N, C, H, W) shape: right only for a full-size b


BROKEN = {
    "concat3_split_at_sizes": broken("concat3_axis1", "concat3_split_at_sizes", lambda p, axis: ConcatSplitAtSizes(axis), by=["grad_y", "grad_z"]),
    "concat2_axis0_split_wrong_axis": broken("concat2_axis0", "concat2_axis0_split_wrong_axis", lambda p, axis: ConcatSplitWrongAxis(axis),
                                             by=["grad_x", "grad_y"]),
    "flatten_not_reshaped_back": broken("flatten", "flatten_not_reshaped_back", lambda p: FlattenNotReshapedBack(), by=["grad_x"]),
    "add_bias_nchw_not_summed": broken("add_bias_nchw", "add_bias_nchw_not_summed", lambda p: AddBiasNotSummed(), by=["grad_b"]),
}
