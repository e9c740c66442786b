"""Modules 3 and 4 of PoseWarp: foreground and background synthesis."""

import keras

from posegan_zoo._functional import KeyedFunctionalModel
from posegan_zoo._validation import as_image_size
from posegan_zoo.layers import UNet
from posegan_zoo.layers.unet import SIZE_MULTIPLE
from posegan_zoo.models.posewarp._config import (
    MODULE_ENCODER_WIDTHS,
    NUM_LAYERS,
    SYNTHESIS_DECODER_WIDTHS,
    pose_input,
)
from posegan_zoo.pose import NUM_JOINTS


class _SynthesisBase(KeyedFunctionalModel):
    """A UNet and its heads; subclasses say what goes in and what comes out."""

    def _init_unet(
        self, image_size, input_channels, encoder_widths, decoder_widths, resampling, dtype
    ):
        height, width = as_image_size(image_size, multiple_of=SIZE_MULTIPLE)
        self.unet = UNet(
            (height, width),
            input_channels,
            NUM_JOINTS,
            encoder_widths,
            decoder_widths,
            resampling=resampling,
            dtype=dtype,
            name="unet",
        )
        self.image_size = (height, width)
        self.resampling = resampling
        return height, width

    def _finish(self, inputs, outputs, name, dtype, kwargs):
        encoder_widths, decoder_widths = self.unet.encoder_widths, self.unet.decoder_widths
        self._init_functional(inputs, outputs, name, dtype, kwargs)
        self.encoder_widths, self.decoder_widths = encoder_widths, decoder_widths

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "encoder_widths": self.encoder_widths,
            "decoder_widths": self.decoder_widths,
            "resampling": self.resampling,
        }


@keras.saving.register_keras_serializable(package="posegan_zoo")
class ForegroundSynthesis(_SynthesisBase):
    """Fuses the warped limb layers into the person in the target pose, with a soft mask.

    Inputs (a dict): "limbs" `(batch, H, W, 30)` (from `SpatialTransformer`); "pose"
    `(batch, H/2, W/2, 14)` target joint heatmaps.
    Outputs (a dict): "image" `(batch, H, W, 3)` in [-1, 1] (tanh); "mask" `(batch, H, W, 1)`
    in [0, 1] (sigmoid), where the person is.

    Args:
        image_size: int or (height, width), divisible by 32.
        encoder_widths, decoder_widths: the UNet's widths (11 and 5 ints).
        resampling: "standard" or "reference".

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import ForegroundSynthesis
    >>> model = ForegroundSynthesis(64, encoder_widths=[8] * 11, decoder_widths=[8] * 5)
    >>> out = model({"limbs": np.zeros((1, 64, 64, 30)), "pose": np.zeros((1, 32, 32, 14))})
    >>> tuple(out["image"].shape), tuple(out["mask"].shape)
    ((1, 64, 64, 3), (1, 64, 64, 1))
    """

    def __init__(
        self,
        image_size=256,
        encoder_widths=MODULE_ENCODER_WIDTHS,
        decoder_widths=SYNTHESIS_DECODER_WIDTHS,
        resampling="standard",
        name="foreground_synthesis",
        **kwargs,
    ):
        dtype = kwargs.pop("dtype", None)
        limb_channels = 3 * (NUM_LAYERS - 1)
        height, width = self._init_unet(
            image_size, limb_channels, encoder_widths, decoder_widths, resampling, dtype
        )
        self.image_head = keras.layers.Conv2D(
            3, 3, padding="same", activation="tanh", dtype=dtype, name="image_head"
        )
        self.mask_head = keras.layers.Conv2D(
            1, 3, padding="same", activation="sigmoid", dtype=dtype, name="mask_head"
        )
        limbs = keras.Input((height, width, limb_channels), name="limbs")
        pose = pose_input(height, width, "pose")
        features = self.unet({"image": limbs, "pose": pose})
        outputs = {"image": self.image_head(features), "mask": self.mask_head(features)}
        self._finish({"limbs": limbs, "pose": pose}, outputs, name, dtype, kwargs)


@keras.saving.register_keras_serializable(package="posegan_zoo")
class BackgroundSynthesis(_SynthesisBase):
    """Fills in the background where the person stood in the source image.

    Inputs (a dict): "background" `(batch, H, W, 3)`, the source times its background mask;
    "background_mask" `(batch, H, W, 1)`; "pose" `(batch, H/2, W/2, 14)` source heatmaps.
    Output: `(batch, H, W, 3)` in [-1, 1] (tanh).

    Args:
        image_size: int or (height, width), divisible by 32.
        encoder_widths, decoder_widths: the UNet's widths (11 and 5 ints).
        resampling: "standard" or "reference".

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import BackgroundSynthesis
    >>> model = BackgroundSynthesis(64, encoder_widths=[8] * 11, decoder_widths=[8] * 5)
    >>> out = model({"background": np.zeros((1, 64, 64, 3)),
    ...              "background_mask": np.ones((1, 64, 64, 1)), "pose": np.zeros((1, 32, 32, 14))})
    >>> tuple(out.shape)
    (1, 64, 64, 3)
    """

    def __init__(
        self,
        image_size=256,
        encoder_widths=MODULE_ENCODER_WIDTHS,
        decoder_widths=SYNTHESIS_DECODER_WIDTHS,
        resampling="standard",
        name="background_synthesis",
        **kwargs,
    ):
        dtype = kwargs.pop("dtype", None)
        height, width = self._init_unet(
            image_size, 4, encoder_widths, decoder_widths, resampling, dtype
        )
        self.image_head = keras.layers.Conv2D(
            3, 3, padding="same", activation="tanh", dtype=dtype, name="image_head"
        )
        background = keras.Input((height, width, 3), name="background")
        mask = keras.Input((height, width, 1), name="background_mask")
        pose = pose_input(height, width, "pose")
        stacked = keras.layers.Concatenate(dtype=dtype, name="concat_mask")([background, mask])
        image = self.image_head(self.unet({"image": stacked, "pose": pose}))
        self._finish(
            {"background": background, "background_mask": mask, "pose": pose},
            image,
            name,
            dtype,
            kwargs,
        )
