"""`WarpOnlyGenerator`: learning-free pose transfer with PoseWarp's own geometry."""

import keras
from keras import ops

from posegan_zoo._functional import base_config, select_inputs
from posegan_zoo._validation import as_image_size
from posegan_zoo.layers import LayerWarp
from posegan_zoo.models.posewarp.generator import GENERATOR_INPUTS
from posegan_zoo.presets.mixin import PresetMixin

# Widths (sigma, in pixels of a 256 crop) of the blurs that fill the background hole.
DEFAULT_FILL_SIGMAS = (4.0, 16.0, 48.0)
# Background probability above which a source pixel counts as known background.
KNOWN_BACKGROUND = 0.9
# The person's alpha is this times the warped mask sum, clipped to 1.
ALPHA_GAIN = 2.0


@keras.saving.register_keras_serializable(package="posegan_zoo")
class WarpOnlyGenerator(PresetMixin, keras.Model):
    """A baseline with no weights: prior masks, limb warps, composite, background fill.

    The source is split into layers by the normalized mask prior (instead of a learned
    segmentation), each limb layer is warped to the target pose as in
    `SpatialTransformer`, and the warped limbs are laid over the background. Where the
    person stood, the background is filled from its surroundings (normalized Gaussian
    blurs at several widths, the narrowest that has support wins). It takes the same
    input dict as `PoseWarpGenerator`, works on any image, and is the reference a learned
    model must beat.

    Args:
        image_size: int or (height, width).
        fill_sigmas: blur widths of the background fill, in pixels of a 256-pixel crop
            (scaled with the crop size).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import WarpOnlyGenerator, posewarp_inputs
    >>> pose = np.random.default_rng(0).uniform(16, 48, (14, 2))
    >>> inputs = posewarp_inputs(np.zeros((64, 64, 3)), pose, pose)
    >>> out = WarpOnlyGenerator(64)(inputs, return_intermediates=True)
    >>> tuple(out["image"].shape), WarpOnlyGenerator(64).count_params()
    ((1, 64, 64, 3), 0)
    """

    def __init__(
        self, image_size=256, fill_sigmas=DEFAULT_FILL_SIGMAS, name="warp_only_generator", **kwargs
    ):
        super().__init__(name=name, **kwargs)
        self.image_size = as_image_size(image_size)
        self.fill_sigmas = tuple(float(s) for s in fill_sigmas)
        self.warp = LayerWarp("standard", dtype="float32", name="layer_warp")
        self.built = True

    def _blur(self, images, sigma):
        sigma = sigma * min(self.image_size) / 256.0
        size = 2 * int(3 * sigma) + 1
        return ops.image.gaussian_blur(images, kernel_size=(size, size), sigma=(sigma, sigma))

    def fill_background(self, image, mask):
        """`image` where `mask` (1 = known background) is set, filled in elsewhere."""
        filled = image * mask
        known = mask
        result = filled
        # From the widest blur to the narrowest: each narrower one overrides where it has
        # enough support, so small holes get sharp fills and big holes still get some.
        for sigma in sorted(self.fill_sigmas, reverse=True):
            weight = self._blur(known, sigma)
            estimate = self._blur(filled, sigma) / ops.maximum(weight, 1e-6)
            confident = ops.clip(weight * 4.0, 0.0, 1.0)
            result = confident * estimate + (1.0 - confident) * result
        return mask * image + (1.0 - mask) * result

    def call(self, inputs, return_intermediates=False):
        inputs = select_inputs(self, inputs, GENERATOR_INPUTS)
        source = ops.cast(inputs["source_image"], "float32")
        prior = ops.exp(ops.cast(inputs["mask_prior"], "float32"))
        masks = prior / ops.sum(prior, axis=-1, keepdims=True)
        transforms = inputs["transforms"]
        layers = self.warp({"image": source, "masks": masks, "transforms": transforms})
        coverage = self.warp(
            {"image": ops.ones_like(source[..., :1]), "masks": masks, "transforms": transforms}
        )
        height, width = self.image_size
        limbs = ops.reshape(layers["limbs"], (-1, height, width, masks.shape[-1] - 1, 3))
        # The limb layers are premultiplied by their soft masks: divide by the warped mask
        # sum for their colour, and sharpen that sum into the person's alpha.
        coverage = ops.sum(coverage["limbs"], axis=-1, keepdims=True)
        foreground = ops.sum(limbs, axis=3) / ops.maximum(coverage, 1e-3)
        foreground_mask = ops.clip(ALPHA_GAIN * coverage, 0.0, 1.0)
        known = ops.cast(masks[..., :1] > KNOWN_BACKGROUND, "float32")
        background = self.fill_background(source, known)
        image = foreground_mask * foreground + (1.0 - foreground_mask) * background
        image = ops.clip(image, -1.0, 1.0)
        if not return_intermediates:
            return image
        return {
            "image": image,
            "source_masks": masks,
            "warped_background": layers["background"],
            "warped_limbs": layers["limbs"],
            "foreground": foreground,
            "foreground_mask": foreground_mask,
            "background": background,
        }

    def get_config(self):
        return {**base_config(self), "image_size": self.image_size, "fill_sigmas": self.fill_sigmas}
