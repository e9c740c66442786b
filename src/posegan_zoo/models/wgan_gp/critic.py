"""WGAN-GP's critic: the DCGAN discriminator's layout without batch normalization."""

import keras

from posegan_zoo._functional import base_config
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.models.dcgan.models import (
    DEFAULT_BASE_WIDTH,
    build_conv_critic,
    check_image_size,
    check_positive_int,
    resolve_widths,
)

#: Normalizations a critic may use: none of them mixes the samples of a batch.
CRITIC_NORMALIZATIONS = ("layer", "none")


@keras.saving.register_keras_serializable(package="posegan_zoo")
class WGANGPCritic(keras.Model):
    """The critic of WGAN-GP (Gulrajani et al. 2017): one unbounded score per image.

    The `DCGANDiscriminator` layout (kernel-4 stride-2 convolutions down to 4 x 4,
    LeakyReLU 0.2, widths doubling per stage, N(0, 0.02) weights, a dense layer to one
    float32 output) without batch normalization, which would make each score depend on
    the rest of the batch and so invalidate the per-sample gradient penalty. Instead,
    the paper's recommendation: layer normalization (per sample, over height, width and
    channels, with a per-channel scale and offset) after every conv but the first;
    `normalization="none"` leaves it out.

    Input: `(batch, image_size, image_size, channels)` in [-1, 1]. Output: `(batch, 1)`
    scores (not probabilities).

    Args:
        image_size: 32, 64 or 128.
        channels: image channels.
        base_width: channels of the first convolution; each later one has twice as many.
        widths: or all the conv widths (`log2(image_size) - 2` ints).
        normalization: "layer" (default) or "none".

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models.wgan_gp import WGANGPCritic
    >>> critic = WGANGPCritic(image_size=32, base_width=4)
    >>> tuple(critic(np.zeros((2, 32, 32, 3), "float32")).shape)
    (2, 1)
    >>> [layer.name for layer in critic.norms]
    ['layer_norm_1', 'layer_norm_2']
    """

    def __init__(
        self,
        image_size=64,
        channels=3,
        base_width=DEFAULT_BASE_WIDTH,
        widths=None,
        normalization="layer",
        name="wgan_gp_critic",
        **kwargs,
    ):
        image_size = check_image_size(image_size)
        channels = check_positive_int(channels, "channels")
        widths = resolve_widths(image_size, base_width, widths, largest_first=False)
        if normalization not in CRITIC_NORMALIZATIONS:
            raise InvalidConfigError(
                f"`normalization` must be one of {list(CRITIC_NORMALIZATIONS)} (batch norm "
                f"would break the per-sample gradient penalty), got {normalization!r}."
            )
        dtype = kwargs.pop("dtype", None)
        image, score = build_conv_critic(self, image_size, channels, widths, normalization, dtype)
        super().__init__(inputs=image, outputs=score, name=name, dtype=dtype, **kwargs)
        self.image_size = image_size
        self.channels = channels
        self.base_width = base_width
        self.widths = widths
        self.normalization = normalization

    def get_config(self):
        return {
            **base_config(self),
            "image_size": self.image_size,
            "channels": self.channels,
            "base_width": self.base_width,
            "widths": self.widths,
            "normalization": self.normalization,
        }
