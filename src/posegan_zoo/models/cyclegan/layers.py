"""The two building blocks CycleGAN needs beyond Keras: reflection padding, instance norm."""

import keras
import tensorflow as tf
from keras import ops

from posegan_zoo.errors import InvalidConfigError


def _as_padding(padding):
    if isinstance(padding, int) and not isinstance(padding, bool):
        padding = (padding, padding)
    try:
        rows, columns = (int(p) for p in padding)
    except (TypeError, ValueError):
        raise InvalidConfigError(
            f"`padding` must be an int or a (rows, columns) pair of ints, got {padding!r}."
        ) from None
    if rows < 0 or columns < 0:
        raise InvalidConfigError(f"`padding` must be non-negative, got {(rows, columns)}.")
    return rows, columns


@keras.saving.register_keras_serializable(package="posegan_zoo")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads `(batch, H, W, C)` maps by mirroring them at the border (edge not repeated).

    `padding` rows are added above and below, `padding` columns left and right, as
    PyTorch's `ReflectionPad2d`; each padding must be smaller than the map's side.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.cyclegan import ReflectionPadding2D
    >>> x = np.arange(3, dtype="float32").reshape(1, 1, 3, 1)
    >>> np.asarray(ReflectionPadding2D((0, 2))(x))[0, 0, :, 0].tolist()
    [2.0, 1.0, 0.0, 1.0, 2.0, 1.0, 0.0]
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = _as_padding(padding)

    def call(self, x):
        rows, columns = self.padding
        return ops.pad(x, [[0, 0], [rows, rows], [columns, columns], [0, 0]], mode="reflect")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        rows, columns = self.padding
        return (
            batch,
            None if height is None else height + 2 * rows,
            None if width is None else width + 2 * columns,
            channels,
        )

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package="posegan_zoo")
class InstanceNormalization(keras.layers.Layer):
    """Normalizes each channel of each image over its height and width.

    `y = (x - mean) / sqrt(var + epsilon)` with the mean and (biased) variance of every
    `(sample, channel)` pair over the spatial axes; then `* gamma + beta` when `scale` /
    `center`. The defaults are CycleGAN's: PyTorch's `InstanceNorm2d` (epsilon 1e-5, no
    affine parameters, no running statistics: training and inference agree).

    This equals `keras.layers.GroupNormalization(groups=-1)` (one group per channel) with
    the same epsilon, center and scale. This layer computes in float32 (also under mixed
    precision) with TensorFlow's fused batch normalization, applied to the batch seen as
    one image of `batch x channels` channels: on CPU its forward and backward passes take
    a third to two thirds of the time of the same statistics as separate reductions.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.cyclegan import InstanceNormalization
    >>> x = np.random.default_rng(0).normal(3.0, 2.0, (2, 8, 8, 4)).astype("float32")
    >>> y = np.asarray(InstanceNormalization()(x))
    >>> bool(np.allclose(y.mean(axis=(1, 2)), 0, atol=1e-5)), bool(
    ...     np.allclose(y.std(axis=(1, 2)), 1, atol=1e-3))
    (True, True)
    """

    def __init__(self, epsilon=1e-5, center=False, scale=False, **kwargs):
        super().__init__(**kwargs)
        if not float(epsilon) > 0:
            raise InvalidConfigError(f"`epsilon` must be positive, got {epsilon!r}.")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.supports_masking = True

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise InvalidConfigError("InstanceNormalization needs a known channel count.")
        self.gamma = (
            self.add_weight(shape=(channels,), initializer="ones", name="gamma")
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight(shape=(channels,), initializer="zeros", name="beta")
            if self.center
            else None
        )

    def call(self, x):
        dtype = x.dtype
        x = tf.cast(x, "float32")
        height, width, channels = tf.shape(x)[1], tf.shape(x)[2], x.shape[-1]
        # Instance norm of (N, H, W, C) = batch norm (training mode) of one image with N x C
        # channels: one fused op (and one for its gradient) instead of a chain of
        # reductions and element-wise ops. For N = 1 no transpose is needed.
        single = x.shape[0] == 1
        y = x if single else tf.transpose(x, [1, 2, 0, 3])
        y = tf.reshape(y, [1, height, width, -1])
        ones = tf.ones(tf.shape(y)[-1:], "float32")
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(
            y, ones, tf.zeros_like(ones), epsilon=self.epsilon, is_training=True
        )
        if single:
            y = tf.reshape(y, tf.shape(x))
        else:
            y = tf.reshape(y, [height, width, -1, channels])
            y = tf.transpose(y, [2, 0, 1, 3])
        if self.gamma is not None:
            y = y * tf.cast(self.gamma, "float32")
        if self.beta is not None:
            y = y + tf.cast(self.beta, "float32")
        return tf.cast(y, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }


@keras.saving.register_keras_serializable(package="posegan_zoo")
class PaddedConv2DTranspose(keras.layers.Layer):
    """A transposed conv with PyTorch's `padding` and `output_padding` (ConvTranspose2d).

    Input pixel `i` contributes to outputs `strides * i - padding + k` for the kernel taps
    `k = 0 .. kernel_size - 1`; the output has `(n - 1) * strides + kernel_size - 2 *
    padding + output_padding` pixels per side (2n for CycleGAN's 3x3, stride 2, padding 1,
    output padding 1). Keras' `Conv2DTranspose` places taps at `strides * i + k` ("valid")
    or as TensorFlow's asymmetric "same" does; this layer is one `conv2d_transpose` with
    explicit padding. Weights as `Conv2DTranspose`'s: "kernel" `(k, k, filters, in)`
    (Glorot uniform) and "bias" `(filters,)` (zeros).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.cyclegan import PaddedConv2DTranspose
    >>> layer = PaddedConv2DTranspose(1, 3, strides=2, padding=1, output_padding=1)
    >>> layer.build((None, 2, 2, 1))
    >>> layer.set_weights([np.arange(9.0).reshape(3, 3, 1, 1), np.zeros(1)])
    >>> x = np.zeros((1, 2, 2, 1), "float32"); x[0, 0, 0, 0] = 1.0
    >>> np.asarray(layer(x))[0, :, :, 0].tolist()  # taps 1.. of the kernel at rows 0..
    [[4.0, 5.0, 0.0, 0.0], [7.0, 8.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """

    def __init__(
        self,
        filters,
        kernel_size=3,
        strides=2,
        padding=1,
        output_padding=1,
        use_bias=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        for value, argument, smallest in (
            (filters, "filters", 1),
            (kernel_size, "kernel_size", 1),
            (strides, "strides", 1),
            (padding, "padding", 0),
            (output_padding, "output_padding", 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
                raise InvalidConfigError(
                    f"`{argument}` must be an int >= {smallest}, got {value!r}."
                )
        if output_padding > padding or output_padding >= strides:
            raise InvalidConfigError(
                f"`output_padding` ({output_padding}) must be at most `padding` ({padding}) "
                f"and smaller than `strides` ({strides})."
            )
        self.filters = filters
        self.kernel_size = kernel_size
        self.strides = strides
        self.padding = padding
        self.output_padding = output_padding
        self.use_bias = bool(use_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        size = self.kernel_size
        self.kernel = self.add_weight(
            shape=(size, size, self.filters, input_shape[-1]),
            initializer=self.kernel_initializer,
            name="kernel",
        )
        self.bias = (
            self.add_weight(shape=(self.filters,), initializer=self.bias_initializer, name="bias")
            if self.use_bias
            else None
        )

    def _output_size(self, size):
        return (size - 1) * self.strides + self.kernel_size - 2 * self.padding + self.output_padding

    def call(self, x):
        shape = tf.shape(x)
        output_shape = tf.stack(
            [shape[0], self._output_size(shape[1]), self._output_size(shape[2]), self.filters]
        )
        before, after = self.padding, self.padding - self.output_padding
        y = tf.nn.conv2d_transpose(
            x,
            tf.cast(self.kernel, x.dtype),
            output_shape,
            self.strides,
            padding=[[0, 0], [before, after], [before, after], [0, 0]],
        )
        if self.bias is not None:
            y = tf.nn.bias_add(y, tf.cast(self.bias, y.dtype))
        return y

    def compute_output_shape(self, input_shape):
        batch, height, width, _ = input_shape
        return (
            batch,
            None if height is None else self._output_size(height),
            None if width is None else self._output_size(width),
            self.filters,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": self.kernel_size,
            "strides": self.strides,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
