"""Hand-written NumPy backpropagation: the reference every oracle is compared with."""
from .functions import (
    cross_entropy_error,
    d_mean_squared_error,
    d_relu,
    d_sigmoid,
    log_softmax,
    mean_squared_error,
    numerical_gradient,
    relu,
    sigmoid,
    softmax,
)
from .layers import Affine, AddLayer, Layer, MeanSquaredError, MulLayer, Relu, Sigmoid, SoftmaxWithLoss, unbroadcast
from .network import Sequential

__all__ = [
    "Affine", "AddLayer", "Layer", "MeanSquaredError", "MulLayer", "Relu", "Sequential", "Sigmoid",
    "SoftmaxWithLoss", "cross_entropy_error", "d_mean_squared_error", "d_relu", "d_sigmoid", "log_softmax",
    "mean_squared_error", "numerical_gradient", "relu", "sigmoid", "softmax", "unbroadcast",
]
