"""CycleGAN's ResNet generator (Johnson et al.'s architecture, as CycleGAN uses it)."""

import keras

from posegan_zoo._functional import base_config
from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.models.cyclegan.layers import (
    InstanceNormalization,
    PaddedConv2DTranspose,
    ReflectionPadding2D,
)


def _positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidConfigError(f"`{name}` must be a positive int, got {value!r}.")
    return value


@keras.saving.register_keras_serializable(package="posegan_zoo")
class ResnetGenerator(keras.Model):
    """Translates an image of one domain into the other: CycleGAN's generator.

    The paper's layers (its appendix, 7.2), with `w = base_width`: c7s1-w (reflection pad 3,
    7x7 conv), d2w and d4w (3x3 convs of stride 2), `num_blocks` residual blocks R4w (two
    3x3 convs with reflection padding 1, the first followed by ReLU, added to the input),
    u2w and uw (3x3 transposed convs of stride 2), and c7s1-3 with tanh. Every conv but the
    last is followed by instance normalization (`InstanceNormalization`, without affine
    parameters) and, but for the second conv of each block, ReLU. The paper uses 6 blocks
    at 128 x 128 and 9 at 256 x 256.

    The geometry is the authors' PyTorch code's, so that weights map one to one: the strided
    convs pad one zero on every side and the transposed convs are PyTorch's (`padding=1,
    output_padding=1`: `PaddedConv2DTranspose`); every conv has a bias.

    Input: `(batch, H, W, channels)` in [-1, 1]. Output:
    `(batch, H, W, output_channels)` float32 in [-1, 1] (also under mixed precision).

    Args:
        image_size: int or (height, width), divisible by 4 and at least 8.
        channels: input channels. output_channels: defaults to `channels`.
        num_blocks: residual blocks, any positive int (the paper: 6 or 9).
        base_width: `w` above.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.cyclegan import ResnetGenerator
    >>> model = ResnetGenerator(32, num_blocks=2, base_width=8)
    >>> out = model(np.zeros((2, 32, 32, 3), "float32"))
    >>> tuple(out.shape), str(out.dtype)
    ((2, 32, 32, 3), "<dtype: 'float32'>")
    """

    def __init__(
        self,
        image_size=256,
        channels=3,
        num_blocks=9,
        base_width=64,
        output_channels=None,
        name="resnet_generator",
        **kwargs,
    ):
        height, width = as_image_size(image_size, multiple_of=4)
        if min(height, width) < 8:
            raise InvalidConfigError(
                f"`image_size` must be at least 8 (reflection padding 3 at full size and 1 "
                f"after two stride-2 convs), got {(height, width)}."
            )
        channels = _positive_int(channels, "channels")
        num_blocks = _positive_int(num_blocks, "num_blocks")
        base_width = _positive_int(base_width, "base_width")
        output_channels = (
            channels
            if output_channels is None
            else _positive_int(output_channels, "output_channels")
        )
        dtype = kwargs.pop("dtype", None)

        def conv(filters, kernel, name, strides=1, layer_dtype=dtype):
            return keras.layers.Conv2D(
                filters, kernel, strides=strides, dtype=layer_dtype, name=name
            )

        def norm_relu(x, name):
            x = InstanceNormalization(dtype=dtype, name=f"{name}_norm")(x)
            return keras.layers.ReLU(dtype=dtype, name=f"{name}_relu")(x)

        image = keras.Input((height, width, channels), name="image")
        x = ReflectionPadding2D(3, dtype=dtype, name="stem_pad")(image)
        x = norm_relu(conv(base_width, 7, "stem_conv")(x), "stem")
        for i in range(2):
            x = keras.layers.ZeroPadding2D(1, dtype=dtype, name=f"down_{i}_pad")(x)
            x = conv(base_width * 2 ** (i + 1), 3, f"down_{i}_conv", strides=2)(x)
            x = norm_relu(x, f"down_{i}")
        blocks_width = base_width * 4
        for i in range(num_blocks):
            y = ReflectionPadding2D(1, dtype=dtype, name=f"block_{i}_pad_0")(x)
            y = norm_relu(conv(blocks_width, 3, f"block_{i}_conv_0")(y), f"block_{i}_0")
            y = ReflectionPadding2D(1, dtype=dtype, name=f"block_{i}_pad_1")(y)
            y = conv(blocks_width, 3, f"block_{i}_conv_1")(y)
            y = InstanceNormalization(dtype=dtype, name=f"block_{i}_1_norm")(y)
            x = keras.layers.Add(dtype=dtype, name=f"block_{i}_add")([x, y])
        for i in range(2):
            x = PaddedConv2DTranspose(
                base_width * 2 ** (1 - i), 3, strides=2, dtype=dtype, name=f"up_{i}_conv"
            )(x)
            x = norm_relu(x, f"up_{i}")
        x = ReflectionPadding2D(3, dtype=dtype, name="head_pad")(x)
        x = conv(output_channels, 7, "head_conv")(x)
        output = keras.layers.Activation("tanh", dtype="float32", name="head_tanh")(x)
        super().__init__(inputs=image, outputs=output, name=name, dtype=dtype, **kwargs)
        self.image_size = (height, width)
        self.channels = channels
        self.num_blocks = num_blocks
        self.base_width = base_width
        self.output_channels = output_channels

    def get_config(self):
        return {
            **base_config(self),
            "image_size": self.image_size,
            "channels": self.channels,
            "num_blocks": self.num_blocks,
            "base_width": self.base_width,
            "output_channels": self.output_channels,
        }
