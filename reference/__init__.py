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

# The layer zoo, one module per family (each module lists its layers in __all__).
from . import activations, attention, conv, losses, misc, norm, recurrent, structure  # noqa: E402
from .activations import *  # noqa: E402,F401,F403
from .attention import *  # noqa: E402,F401,F403
from .conv import *  # noqa: E402,F401,F403
from .losses import *  # noqa: E402,F401,F403
from .misc import *  # noqa: E402,F401,F403
from .norm import *  # noqa: E402,F401,F403
from .recurrent import *  # noqa: E402,F401,F403
from .structure import *  # noqa: E402,F401,F403

for _m in (activations, attention, conv, losses, misc, norm, recurrent, structure):
    __all__ += _m.__all__
