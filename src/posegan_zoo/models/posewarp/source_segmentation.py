"""Module 1 of PoseWarp: soft segmentation of the source image into body-part layers."""

import keras

from posegan_zoo._functional import KeyedFunctionalModel
from posegan_zoo._validation import as_image_size
from posegan_zoo.layers import UNet
from posegan_zoo.layers.unet import SIZE_MULTIPLE
from posegan_zoo.models.posewarp._config import (
    MODULE_ENCODER_WIDTHS,
    NUM_LAYERS,
    SEGMENTATION_DECODER_WIDTHS,
    pose_input,
)
from posegan_zoo.pose import NUM_JOINTS


@keras.saving.register_keras_serializable(package="posegan_zoo")
class SourceSegmentation(KeyedFunctionalModel):
    """Splits the source image into a background layer and 10 limb layers.

    A UNet of the image and its pose predicts 11 logits per pixel; they are added to the log
    mask prior (`posegan_zoo.pose.mask_log_prior`) and normalized with a softmax over the
    layers.

    Inputs (a dict): "image" `(batch, H, W, 3)` in [-1, 1]; "pose" `(batch, H/2, W/2, 14)`
    source joint heatmaps; "mask_prior" `(batch, H, W, 11)`.
    Output: `(batch, H, W, 11)` float32 layer masks summing to 1 (layer 0 is background).

    Args:
        image_size: int or (height, width), divisible by 32. Default: the paper's 256.
        encoder_widths, decoder_widths: the UNet's widths (11 and 5 ints).
        resampling: "standard" or "reference" (see `posegan_zoo.layers.Upsample2x`).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import SourceSegmentation
    >>> model = SourceSegmentation(64, encoder_widths=[8] * 11, decoder_widths=[8] * 5)
    >>> masks = model({"image": np.zeros((1, 64, 64, 3)), "pose": np.zeros((1, 32, 32, 14)),
    ...                "mask_prior": np.zeros((1, 64, 64, 11))})
    >>> tuple(masks.shape), round(float(np.sum(masks[0, 0, 0])), 4)
    ((1, 64, 64, 11), 1.0)
    """

    def __init__(
        self,
        image_size=256,
        encoder_widths=MODULE_ENCODER_WIDTHS,
        decoder_widths=SEGMENTATION_DECODER_WIDTHS,
        resampling="standard",
        name="source_segmentation",
        **kwargs,
    ):
        height, width = as_image_size(image_size, multiple_of=SIZE_MULTIPLE)
        dtype = kwargs.pop("dtype", None)
        self.unet = UNet(
            (height, width),
            3,
            NUM_JOINTS,
            encoder_widths,
            decoder_widths,
            resampling=resampling,
            dtype=dtype,
            name="unet",
        )
        self.mask_logits = keras.layers.Conv2D(
            NUM_LAYERS, 3, padding="same", dtype=dtype, name="mask_logits"
        )

        image = keras.Input((height, width, 3), name="image")
        pose = pose_input(height, width, "pose")
        prior = keras.Input((height, width, NUM_LAYERS), name="mask_prior")
        logits = self.mask_logits(self.unet({"image": image, "pose": pose}))
        logits = keras.layers.Add(dtype=dtype, name="add_prior")([logits, prior])
        masks = keras.layers.Softmax(axis=-1, dtype="float32", name="masks")(logits)
        self._init_functional(
            {"image": image, "pose": pose, "mask_prior": prior}, masks, name, dtype, kwargs
        )
        self.image_size = (height, width)
        self.encoder_widths = self.unet.encoder_widths
        self.decoder_widths = self.unet.decoder_widths
        self.resampling = resampling

    def get_config(self):
        return {
            **super().get_config(),
            "image_size": self.image_size,
            "encoder_widths": self.encoder_widths,
            "decoder_widths": self.decoder_widths,
            "resampling": self.resampling,
        }
