"""The PoseWarp generator: segmentation, spatial transformation, and the two syntheses."""

import keras
from keras import ops

from posegan_zoo._functional import base_config, select_inputs
from posegan_zoo._validation import as_image_size
from posegan_zoo.layers import RESAMPLING_MODES
from posegan_zoo.layers.unet import SIZE_MULTIPLE
from posegan_zoo.models.posewarp._config import (
    MODULE_ENCODER_WIDTHS,
    SEGMENTATION_DECODER_WIDTHS,
    SYNTHESIS_DECODER_WIDTHS,
)
from posegan_zoo.models.posewarp.source_segmentation import SourceSegmentation
from posegan_zoo.models.posewarp.spatial_transformer import SpatialTransformer
from posegan_zoo.models.posewarp.synthesis import BackgroundSynthesis, ForegroundSynthesis
from posegan_zoo.presets.mixin import PresetMixin

GENERATOR_INPUTS = ("source_image", "source_pose", "target_pose", "mask_prior", "transforms")
INTERMEDIATES = (
    "image",
    "source_masks",
    "warped_background",
    "warped_limbs",
    "foreground",
    "foreground_mask",
    "background",
)


@keras.saving.register_keras_serializable(package="posegan_zoo")
class PoseWarpGenerator(PresetMixin, keras.Model):
    """Synthesizes the person of a source image in a target pose (Balakrishnan et al. 2018).

    The four modules are attributes, each a `keras.Model` usable alone:
    `source_segmentation`, `spatial_transformer`, `foreground_synthesis`,
    `background_synthesis`. The output is `mask * foreground + (1 - mask) * background`.

    Inputs (a dict; `posegan_zoo.models.posewarp_inputs` builds it from images and poses):
    "source_image" `(batch, H, W, 3)` in [-1, 1]; "source_pose" and "target_pose"
    `(batch, H/2, W/2, 14)` joint heatmaps; "mask_prior" `(batch, H, W, 11)`;
    "transforms" `(batch, 2, 3, 11)` (target pixel -> source pixel, per layer).

    Output: the image `(batch, H, W, 3)` float32 in [-1, 1]. With
    `return_intermediates=True` a dict holding the image and the intermediates named in
    `INTERMEDIATES`: "source_masks" (11 channels), "warped_background", "warped_limbs"
    (30 channels), "foreground", "foreground_mask" and "background".

    Args:
        image_size: int or (height, width), divisible by 32. Default: the paper's 256.
        segmentation_encoder_widths, segmentation_decoder_widths: widths of module 1's UNet.
        synthesis_encoder_widths, synthesis_decoder_widths: widths of the UNets of modules 3
            and 4.
        resampling: "standard" (Keras' bilinear upsampling, zero-filled warps) or
            "reference" (the arithmetic of the authors' graph; use it for their weights).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import PoseWarpGenerator, posewarp_inputs
    >>> from posegan_zoo.pose import Pose
    >>> generator = PoseWarpGenerator.tiny(image_size=64)
    >>> rng = np.random.default_rng(0)
    >>> source, target = Pose(rng.uniform(8, 56, (14, 2))), Pose(rng.uniform(8, 56, (14, 2)))
    >>> inputs = posewarp_inputs(np.zeros((64, 64, 3), "float32"), source, target)
    >>> out = generator(inputs, return_intermediates=True)
    >>> tuple(out["image"].shape), tuple(out["warped_limbs"].shape)
    ((1, 64, 64, 3), (1, 64, 64, 30))
    """

    def __init__(
        self,
        image_size=256,
        segmentation_encoder_widths=MODULE_ENCODER_WIDTHS,
        segmentation_decoder_widths=SEGMENTATION_DECODER_WIDTHS,
        synthesis_encoder_widths=MODULE_ENCODER_WIDTHS,
        synthesis_decoder_widths=SYNTHESIS_DECODER_WIDTHS,
        resampling="standard",
        name="posewarp_generator",
        **kwargs,
    ):
        if resampling not in RESAMPLING_MODES:
            raise ValueError(f"`resampling` must be one of {RESAMPLING_MODES}, got {resampling!r}.")
        super().__init__(name=name, **kwargs)
        size = as_image_size(image_size, multiple_of=SIZE_MULTIPLE)
        common = {"image_size": size, "resampling": resampling, "dtype": self.dtype_policy}
        # Creation order matters: it is the order of the authors' Keras 2 layers, which
        # `convert_posewarp_checkpoint` relies on (segmentation, background, foreground).
        self.source_segmentation = SourceSegmentation(
            encoder_widths=segmentation_encoder_widths,
            decoder_widths=segmentation_decoder_widths,
            **common,
        )
        self.spatial_transformer = SpatialTransformer(**common)
        self.background_synthesis = BackgroundSynthesis(
            encoder_widths=synthesis_encoder_widths,
            decoder_widths=synthesis_decoder_widths,
            **common,
        )
        self.foreground_synthesis = ForegroundSynthesis(
            encoder_widths=synthesis_encoder_widths,
            decoder_widths=synthesis_decoder_widths,
            **common,
        )
        self.image_size = size
        self.resampling = resampling
        # Every weight lives in the four modules, which build themselves on construction.
        self.built = True

    @classmethod
    def tiny(cls, image_size=64, width=8, **kwargs):
        """A small generator with every conv `width` wide: for tests and quick experiments."""
        return cls(
            image_size,
            segmentation_encoder_widths=[width] * 11,
            segmentation_decoder_widths=[width] * 5,
            synthesis_encoder_widths=[width] * 11,
            synthesis_decoder_widths=[width] * 5,
            **kwargs,
        )

    def call(self, inputs, return_intermediates=False):
        inputs = select_inputs(self, inputs, GENERATOR_INPUTS)
        source = inputs["source_image"]
        masks = self.source_segmentation(
            {"image": source, "pose": inputs["source_pose"], "mask_prior": inputs["mask_prior"]}
        )
        warped = self.spatial_transformer(
            {"image": source, "masks": masks, "transforms": inputs["transforms"]}
        )
        background = self.background_synthesis(
            {
                "background": warped["background"],
                "background_mask": masks[..., :1],
                "pose": inputs["source_pose"],
            }
        )
        foreground = self.foreground_synthesis(
            {"limbs": warped["limbs"], "pose": inputs["target_pose"]}
        )
        fg_image = ops.cast(foreground["image"], "float32")
        fg_mask = ops.cast(foreground["mask"], "float32")
        image = fg_mask * fg_image + (1.0 - fg_mask) * ops.cast(background, "float32")
        if not return_intermediates:
            return image
        return {
            "image": image,
            "source_masks": masks,
            "warped_background": warped["background"],
            "warped_limbs": warped["limbs"],
            "foreground": fg_image,
            "foreground_mask": fg_mask,
            "background": background,
        }

    def get_config(self):
        seg, synth = self.source_segmentation, self.foreground_synthesis
        return {
            **base_config(self),
            "image_size": self.image_size,
            "segmentation_encoder_widths": seg.encoder_widths,
            "segmentation_decoder_widths": seg.decoder_widths,
            "synthesis_encoder_widths": synth.encoder_widths,
            "synthesis_decoder_widths": synth.decoder_widths,
            "resampling": self.resampling,
        }
