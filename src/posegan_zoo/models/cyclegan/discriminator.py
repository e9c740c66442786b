"""CycleGAN's 70 x 70 PatchGAN discriminator."""

import keras

from posegan_zoo._functional import base_config
from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.models.cyclegan.generator import _positive_int
from posegan_zoo.models.cyclegan.layers import InstanceNormalization


@keras.saving.register_keras_serializable(package="posegan_zoo")
class PatchDiscriminator(keras.Model):
    """Scores every 70 x 70 patch of an image as real or fake: CycleGAN's discriminator.

    The paper's C64-C128-C256-C512 (with `base_width` 64): 4x4 convs, the first three of
    stride 2 and the fourth of stride 1, each padded by one zero on every side and followed
    by LeakyReLU 0.2; instance normalization (no affine parameters) after all but the
    first. A last 4x4 conv (stride 1, padding 1) maps to one channel: a grid of raw scores
    (no sigmoid: least-squares GAN), each seeing a 70 x 70 patch of the input.

    Input: `(batch, H, W, channels)` in [-1, 1]. Output: `(batch, H/8 - 2, W/8 - 2, 1)`
    float32 (30 x 30 at 256 x 256, 14 x 14 at 128 x 128).

    Args:
        image_size: int or (height, width), divisible by 8 and at least 24.
        channels: input channels.
        base_width: the first conv's width; the others are 2, 4 and 8 times it.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.cyclegan import PatchDiscriminator
    >>> model = PatchDiscriminator(32, base_width=8)
    >>> tuple(model(np.zeros((2, 32, 32, 3), "float32")).shape)
    (2, 2, 2, 1)
    """

    def __init__(
        self, image_size=256, channels=3, base_width=64, name="patch_discriminator", **kwargs
    ):
        height, width = as_image_size(image_size, multiple_of=8)
        if min(height, width) < 24:
            raise InvalidConfigError(
                "`image_size` must be at least 24 (the score map is H/8 - 2 by W/8 - 2), "
                f"got {(height, width)}."
            )
        channels = _positive_int(channels, "channels")
        base_width = _positive_int(base_width, "base_width")
        dtype = kwargs.pop("dtype", None)

        image = keras.Input((height, width, channels), name="image")
        x = image
        for i, (multiple, strides) in enumerate(((1, 2), (2, 2), (4, 2), (8, 1))):
            x = keras.layers.ZeroPadding2D(1, dtype=dtype, name=f"conv_{i}_pad")(x)
            x = keras.layers.Conv2D(
                base_width * multiple, 4, strides=strides, dtype=dtype, name=f"conv_{i}"
            )(x)
            if i > 0:
                x = InstanceNormalization(dtype=dtype, name=f"conv_{i}_norm")(x)
            x = keras.layers.LeakyReLU(0.2, dtype=dtype, name=f"conv_{i}_relu")(x)
        x = keras.layers.ZeroPadding2D(1, dtype=dtype, name="score_pad")(x)
        scores = keras.layers.Conv2D(1, 4, dtype="float32", name="score")(x)
        super().__init__(inputs=image, outputs=scores, name=name, dtype=dtype, **kwargs)
        self.image_size = (height, width)
        self.channels = channels
        self.base_width = base_width

    def get_config(self):
        return {
            **base_config(self),
            "image_size": self.image_size,
            "channels": self.channels,
            "base_width": self.base_width,
        }
