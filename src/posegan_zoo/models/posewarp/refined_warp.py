"""`RefinedWarpGenerator`: the learning-free warp, then a learned correction on top."""

import keras
from keras import ops

from posegan_zoo._functional import base_config, select_inputs
from posegan_zoo._validation import as_image_size, as_widths
from posegan_zoo.layers import UNet
from posegan_zoo.layers.unet import NUM_DECODER_CONVS, NUM_ENCODER_CONVS, SIZE_MULTIPLE
from posegan_zoo.models.posewarp.generator import GENERATOR_INPUTS
from posegan_zoo.models.posewarp.warp_only import OPTIONAL_INPUTS, WarpOnlyGenerator
from posegan_zoo.pose import NUM_JOINTS
from posegan_zoo.presets.mixin import PresetMixin

REFINER_ENCODER_WIDTHS = (16, 32, 48, 64, 64, 96, 96, 128, 128, 128, 128)
REFINER_DECODER_WIDTHS = (128, 96, 64, 32, 16)
# Refiner image channels: warped composite (3), person alpha (1), source image (3).
_REFINER_CHANNELS = 7


@keras.saving.register_keras_serializable(package="posegan_zoo")
class RefinedWarpGenerator(PresetMixin, keras.Model):
    """`WarpOnlyGenerator`'s composite plus a correction that a UNet learns.

    The learning-free warp does what geometry can (each limb moved by its similarity
    transform, the background hole inpainted); a UNet sees that composite, the person's
    alpha, the source image and both pose maps, and adds a residual image. Its last conv
    starts at zero, so an untrained model *is* `warp-only` and training only has to learn
    what the warp gets wrong (seams, occlusions, limbs that bend, the fill under the old
    pose). It takes the same inputs as `PoseWarpGenerator`, plus the optional
    `"source_mask"` that `WarpOnlyGenerator` uses.

    Args:
        image_size: int or (height, width), divisible by 32.
        encoder_widths, decoder_widths: the refiner UNet's widths (11 and 5 ints).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import RefinedWarpGenerator, WarpOnlyGenerator, posewarp_inputs
    >>> pose = np.random.default_rng(0).uniform(16, 48, (14, 2))
    >>> inputs = posewarp_inputs(np.zeros((64, 64, 3)), pose, pose[::-1])
    >>> model = RefinedWarpGenerator(64, encoder_widths=[8] * 11, decoder_widths=[8] * 5)
    >>> bool(np.allclose(model(inputs), WarpOnlyGenerator(64)(inputs)))  # untrained = warp
    True
    """

    optional_input_keys = OPTIONAL_INPUTS

    def __init__(
        self,
        image_size=256,
        encoder_widths=REFINER_ENCODER_WIDTHS,
        decoder_widths=REFINER_DECODER_WIDTHS,
        name="refined_warp_generator",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.image_size = as_image_size(image_size, multiple_of=SIZE_MULTIPLE)
        self.encoder_widths = as_widths(encoder_widths, "encoder_widths", NUM_ENCODER_CONVS)
        self.decoder_widths = as_widths(decoder_widths, "decoder_widths", NUM_DECODER_CONVS)
        self.warp_only = WarpOnlyGenerator(self.image_size, name="warp_only")
        self.refiner = UNet(
            self.image_size,
            _REFINER_CHANNELS,
            2 * NUM_JOINTS,
            self.encoder_widths,
            self.decoder_widths,
            dtype=self.dtype_policy,
            name="refiner",
        )
        self.to_residual = keras.layers.Conv2D(
            3,
            3,
            padding="same",
            kernel_initializer="zeros",
            dtype=self.dtype_policy,
            name="to_residual",
        )

    def build(self, input_shape=None):
        height, width = self.image_size
        self.refiner.build(None)
        self.to_residual.build((None, height, width, self.decoder_widths[-1]))
        self.built = True

    def call(self, inputs, return_intermediates=False):
        keys = GENERATOR_INPUTS + tuple(key for key in OPTIONAL_INPUTS if key in inputs)
        inputs = select_inputs(self, inputs, keys)
        warped = self.warp_only(inputs, return_intermediates=True)
        source = ops.cast(inputs["source_image"], "float32")
        features = self.refiner(
            {
                "image": ops.concatenate(
                    [warped["image"], warped["foreground_mask"], source], axis=-1
                ),
                "pose": ops.concatenate([inputs["source_pose"], inputs["target_pose"]], axis=-1),
            }
        )
        residual = ops.cast(self.to_residual(features), "float32")
        image = ops.clip(warped["image"] + residual, -1.0, 1.0)
        if not return_intermediates:
            return image
        return {**warped, "image": image, "warped_image": warped["image"], "residual": residual}

    def get_config(self):
        return {
            **base_config(self),
            "image_size": self.image_size,
            "encoder_widths": self.encoder_widths,
            "decoder_widths": self.decoder_widths,
        }
