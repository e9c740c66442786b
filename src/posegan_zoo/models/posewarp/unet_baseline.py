"""The paper's UNet baseline: one UNet from the source image and both poses to the target."""

import keras

from posegan_zoo._functional import KeyedFunctionalModel
from posegan_zoo._validation import as_image_size
from posegan_zoo.layers import UNet
from posegan_zoo.layers.unet import SIZE_MULTIPLE
from posegan_zoo.models.posewarp._config import pose_input
from posegan_zoo.pose import NUM_JOINTS

BASELINE_ENCODER_WIDTHS = (64,) + (128,) * 3 + (256,) * 7
BASELINE_DECODER_WIDTHS = (256, 256, 256, 128, 64)


@keras.saving.register_keras_serializable(package="posegan_zoo")
class UNetBaseline(KeyedFunctionalModel):
    """Maps a source image and the source and target pose maps straight to the target image.

    Inputs (a dict, the same keys as the generator's): "source_image" `(batch, H, W, 3)` in
    [-1, 1]; "source_pose", "target_pose" `(batch, H/2, W/2, 14)`. Other keys are ignored.
    Output: `(batch, H, W, 3)` float32 in [-1, 1].

    Args:
        image_size: int or (height, width), divisible by 32.
        encoder_widths, decoder_widths: the UNet's widths (11 and 5 ints).
        resampling: "standard" or "reference".

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import UNetBaseline
    >>> model = UNetBaseline(64, encoder_widths=[8] * 11, decoder_widths=[8] * 5)
    >>> poses = np.zeros((1, 32, 32, 14))
    >>> tuple(model({"source_image": np.zeros((1, 64, 64, 3)), "source_pose": poses,
    ...              "target_pose": poses}).shape)
    (1, 64, 64, 3)
    """

    def __init__(
        self,
        image_size=256,
        encoder_widths=BASELINE_ENCODER_WIDTHS,
        decoder_widths=BASELINE_DECODER_WIDTHS,
        resampling="standard",
        name="unet_baseline",
        **kwargs,
    ):
        height, width = as_image_size(image_size, multiple_of=SIZE_MULTIPLE)
        dtype = kwargs.pop("dtype", None)
        self.unet = UNet(
            (height, width),
            3,
            2 * NUM_JOINTS,
            encoder_widths,
            decoder_widths,
            resampling=resampling,
            dtype=dtype,
            name="unet",
        )
        self.image_head = keras.layers.Conv2D(
            3, 3, padding="same", activation="tanh", dtype="float32", name="image_head"
        )
        image = keras.Input((height, width, 3), name="source_image")
        source_pose = pose_input(height, width, "source_pose")
        target_pose = pose_input(height, width, "target_pose")
        poses = keras.layers.Concatenate(dtype=dtype, name="concat_poses")(
            [source_pose, target_pose]
        )
        output = self.image_head(self.unet({"image": image, "pose": poses}))
        self._init_functional(
            {"source_image": image, "source_pose": source_pose, "target_pose": target_pose},
            output,
            name,
            dtype,
            kwargs,
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
