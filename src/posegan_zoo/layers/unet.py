"""The UNet shared by every PoseWarp module and the UNet baseline."""

import keras

from posegan_zoo._functional import KeyedFunctionalModel
from posegan_zoo._validation import as_image_size, as_widths
from posegan_zoo.layers.resampling import Upsample2x

NUM_ENCODER_CONVS = 11
NUM_DECODER_CONVS = 5
# Encoder convs with stride 2; the pose maps join after the first of them (half size).
_STRIDED = (1, 3, 5, 7, 9)
# Decoder conv i concatenates the upsampled features with this encoder output.
_SKIPS = (8, 6, 4, 2, 0)
# The input must halve five times.
SIZE_MULTIPLE = 32


@keras.saving.register_keras_serializable(package="posegan_zoo")
class UNet(KeyedFunctionalModel):
    """Encoder-decoder with skips, conditioned on pose maps at half resolution.

    Encoder: conv 0 (7x7) at full size, conv 1 (stride 2), then the pose maps are
    concatenated, then convs 2..10 (3x3, stride 2 at 3, 5, 7, 9). Decoder: five times
    {2x bilinear upsampling, concatenate encoder output 8, 6, 4, 2, 0, 3x3 conv}. Every
    conv is "same"-padded and followed by LeakyReLU(0.2); there is no normalization.

    Inputs (a dict): "image" `(batch, H, W, image_channels)` and "pose"
    `(batch, H/2, W/2, pose_channels)`. Output: `(batch, H, W, decoder_widths[-1])`.

    Args:
        image_size: int or (height, width), divisible by 32.
        image_channels, pose_channels: channels of the two inputs.
        encoder_widths: 11 conv widths. decoder_widths: 5 conv widths.
        resampling: "standard" or "reference" upsampling (see `Upsample2x`).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.layers import UNet
    >>> unet = UNet(64, 3, 14, encoder_widths=[8] * 11, decoder_widths=[8] * 5)
    >>> features = unet({"image": np.zeros((2, 64, 64, 3)), "pose": np.zeros((2, 32, 32, 14))})
    >>> tuple(features.shape)
    (2, 64, 64, 8)
    """

    def __init__(
        self,
        image_size,
        image_channels,
        pose_channels,
        encoder_widths,
        decoder_widths,
        resampling="standard",
        name="unet",
        **kwargs,
    ):
        height, width = as_image_size(image_size, multiple_of=SIZE_MULTIPLE)
        encoder_widths = as_widths(encoder_widths, "encoder_widths", NUM_ENCODER_CONVS)
        decoder_widths = as_widths(decoder_widths, "decoder_widths", NUM_DECODER_CONVS)
        dtype = kwargs.pop("dtype", None)

        # === Layers ===
        self.encoder_convs = [
            keras.layers.Conv2D(
                filters,
                kernel_size=7 if i == 0 else 3,
                strides=2 if i in _STRIDED else 1,
                padding="same",
                activation="leaky_relu",
                dtype=dtype,
                name=f"encoder_conv_{i}",
            )
            for i, filters in enumerate(encoder_widths)
        ]
        self.decoder_convs = [
            keras.layers.Conv2D(
                filters,
                3,
                padding="same",
                activation="leaky_relu",
                dtype=dtype,
                name=f"decoder_conv_{i}",
            )
            for i, filters in enumerate(decoder_widths)
        ]
        self.upsamplers = [
            Upsample2x(resampling, dtype=dtype, name=f"upsample_{i}")
            for i in range(NUM_DECODER_CONVS)
        ]

        # === Functional model ===
        image = keras.Input((height, width, image_channels), name="image")
        pose = keras.Input((height // 2, width // 2, pose_channels), name="pose")
        encoded = []
        x = image
        for i, conv in enumerate(self.encoder_convs):
            x = conv(x)
            if i == 1:
                x = keras.layers.Concatenate(dtype=dtype, name="concat_pose")([x, pose])
            encoded.append(x if i != 1 else None)
        for i, (conv, upsample) in enumerate(zip(self.decoder_convs, self.upsamplers, strict=True)):
            skip = encoded[_SKIPS[i]]
            x = keras.layers.Concatenate(dtype=dtype, name=f"concat_skip_{i}")([upsample(x), skip])
            x = conv(x)
        self._init_functional({"image": image, "pose": pose}, x, name, dtype, kwargs)

        # === Config ===
        self.image_size = (height, width)
        self.image_channels = int(image_channels)
        self.pose_channels = int(pose_channels)
        self.encoder_widths = encoder_widths
        self.decoder_widths = decoder_widths
        self.resampling = resampling

    @property
    def convs(self):
        """All convs in creation order (encoder, then decoder)."""
        return self.encoder_convs + self.decoder_convs

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "image_size": self.image_size,
            "image_channels": self.image_channels,
            "pose_channels": self.pose_channels,
            "encoder_widths": self.encoder_widths,
            "decoder_widths": self.decoder_widths,
            "resampling": self.resampling,
        }
