"""`WarpOnlyGenerator`: learning-free pose transfer with PoseWarp's own geometry."""

import inspect

import keras
import numpy as np
from keras import ops

from posegan_zoo._functional import base_config, select_inputs
from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import InvalidConfigError, InvalidImageError
from posegan_zoo.layers import Inpaint, LayerWarp
from posegan_zoo.models.posewarp.generator import GENERATOR_INPUTS
from posegan_zoo.pose import LIMBS, NUM_JOINTS
from posegan_zoo.presets.mixin import PresetMixin

# Inputs read when present; without them the model falls back on the pose prior.
OPTIONAL_INPUTS = ("source_mask",)


def reads_person_mask(generator):
    """Whether `generator` reads a "source_mask" and returns its fake's "foreground_mask".

    For those (`WarpOnlyGenerator`, `RefinedWarpGenerator`) the way back from a fake should
    get the fake's person mask as its source mask.

    >>> from posegan_zoo.models import PoseWarpGenerator, WarpOnlyGenerator
    >>> reads_person_mask(WarpOnlyGenerator(64)), reads_person_mask(PoseWarpGenerator.tiny(64))
    (True, False)
    """
    call = getattr(generator, "call", None)
    returns_intermediates = call is not None and (
        "return_intermediates" in inspect.signature(call).parameters
    )
    return returns_intermediates and "source_mask" in getattr(generator, "optional_input_keys", ())


# Default growth of the person mask into the hole to fill, in pixels of a 256 crop.
DEFAULT_MASK_DILATION = 3.0
# A person-mask pixel above this is part of the hole (before the dilation).
PERSON_THRESHOLD = 0.25
# The share of a person pixel among the limbs is softmax(sharpness * log limb prior): the
# prior ratio cubed, so that overlapping limbs split their pixels less evenly (an even split
# leaves faint copies of a limb wherever its neighbours go).
LIMB_SHARPNESS = 3.0
# A person pixel is warped in full where the strongest limb prior reaches this (beyond it
# fades out): pixels far from every limb (a racket, a flying coat) are not moved anywhere.
LIMB_SUPPORT = 0.02
# Without a person mask: a source pixel whose background prior is above this is known
# background; the rest is the hole.
KNOWN_BACKGROUND = 0.9
# The person's alpha is gain * (warped layer sum - floor), clipped to [0, 1]. Without a
# person mask the soft prior layers sum to less than 1 on the person; with one, the floor
# drops the faint remains of small shares.
ALPHA_GAIN = 2.0
MASK_ALPHA_GAIN = 1.4
MASK_ALPHA_FLOOR = 0.1
# `_LIMB_JOINTS[j, k]` is 1 when joint j belongs to limb k.
_LIMB_JOINTS = np.array([[j in limb for limb in LIMBS] for j in range(NUM_JOINTS)], "float32")


@keras.saving.register_keras_serializable(package="posegan_zoo")
class WarpOnlyGenerator(PresetMixin, keras.Model):
    """A baseline with no weights: person layers, limb warps, composite, inpainted background.

    The source is split into one layer per limb plus the background, each limb layer is
    warped to the target pose by its similarity transform (as in `SpatialTransformer`),
    and the warped limbs are laid over the source background, inpainted (`Inpaint`) where
    the person stood.

    With the optional input `"source_mask"` (`(batch, H, W, 1)` in [0, 1], 1 on the
    person, in crop pixels: the detector's segmentation) the layers come from the real
    silhouette: each limb layer is the person mask times that limb's share of the pose
    prior among the limbs, the background layer is `1 - mask`, and the hole to fill is the
    mask, slightly dilated. Without it the layers are the normalized pose prior and the
    hole is wherever the prior's background is below 0.9 (the fallback; it knows the
    person only as Gaussians around the bones, so some of the source person may remain).

    A limb with a joint missing from the target pose has no transform; it is not drawn
    (with a person mask its pixels go to the neighbouring limbs), rather than left where
    the source person stood. Intermediates (`return_intermediates=True`) include the
    person's alpha "foreground_mask" (the person mask of the fake, for the way back) and
    the filled "hole".

    It takes the same input dict as `PoseWarpGenerator` (extra keys are ignored), works
    on any image, and is the reference a learned model must beat.

    Args:
        image_size: int or (height, width).
        mask_dilation: growth of the person mask into the hole, in pixels of a 256-pixel
            crop (scaled with the crop size).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import WarpOnlyGenerator, posewarp_inputs
    >>> pose = np.random.default_rng(0).uniform(16, 48, (14, 2))
    >>> mask = np.zeros((64, 64, 1)); mask[12:52, 14:50] = 1.0
    >>> inputs = posewarp_inputs(np.zeros((64, 64, 3)), pose, pose, source_mask=mask)
    >>> out = WarpOnlyGenerator(64)(inputs, return_intermediates=True)
    >>> tuple(out["image"].shape), tuple(out["hole"].shape), WarpOnlyGenerator(64).count_params()
    ((1, 64, 64, 3), (1, 64, 64, 1), 0)
    """

    optional_input_keys = OPTIONAL_INPUTS

    def __init__(
        self,
        image_size=256,
        mask_dilation=DEFAULT_MASK_DILATION,
        name="warp_only_generator",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.image_size = as_image_size(image_size)
        if isinstance(mask_dilation, bool) or not isinstance(mask_dilation, (int, float)):
            raise InvalidConfigError(f"`mask_dilation` must be a number, got {mask_dilation!r}.")
        if not 0 <= mask_dilation <= 64:
            raise InvalidConfigError(f"`mask_dilation` must be in [0, 64], got {mask_dilation}.")
        self.mask_dilation = float(mask_dilation)
        self.warp = LayerWarp("standard", dtype="float32", name="layer_warp")
        self.inpaint = Inpaint(dtype="float32", name="inpaint")
        self.built = True

    @classmethod
    def from_config(cls, config):
        # Presets saved before the inpainting filled the hole with blurs of these widths.
        config = {key: value for key, value in config.items() if key != "fill_sigmas"}
        return super().from_config(config)

    def _person_mask(self, mask):
        mask = ops.cast(mask, "float32")
        expected = (*self.image_size, 1)
        if len(mask.shape) != 4 or tuple(mask.shape[1:]) != expected:
            raise InvalidImageError(
                f"`source_mask` must have shape (batch, {expected[0]}, {expected[1]}, 1), "
                f"got {tuple(mask.shape)}."
            )
        return ops.clip(mask, 0.0, 1.0)

    def _dilate(self, mask):
        radius = round(self.mask_dilation * min(self.image_size) / 256.0)
        if radius == 0:
            return mask
        size = 2 * radius + 1
        return ops.max_pool(mask, pool_size=size, strides=1, padding="same")

    @staticmethod
    def movable_limbs(target_pose, transforms):
        """`(batch, 1, 1, 10)`: 0 for the limbs that have nowhere to go, 1 for the others.

        A limb with a joint missing from the target pose (an all-zero target heatmap) gets
        the identity transform from `limb_transforms`; warped by it, it would stay where
        the source person was. Such limbs are left out: their pixels go to the limbs
        around them (with a person mask) or nowhere, and the fill covers their place.
        """
        present = ops.cast(ops.max(target_pose, axis=(1, 2)) > 0.5, "float32")
        incomplete = ops.matmul(1.0 - present, ops.convert_to_tensor(_LIMB_JOINTS)) > 0
        identity = ops.reshape(ops.convert_to_tensor(np.eye(2, 3, dtype="float32")), (1, 2, 3, 1))
        unmoved = ops.all(ops.abs(transforms[..., 1:] - identity) < 1e-6, axis=(1, 2))
        stuck = ops.logical_and(incomplete, unmoved)
        return ops.reshape(1.0 - ops.cast(stuck, "float32"), (-1, 1, 1, len(LIMBS)))

    def person_layers(self, log_prior, person, movable):
        """Layer masks `(batch, H, W, 11)` and the hole `(batch, H, W, 1)` from a person mask.

        `movable` (`(batch, 1, 1, 10)`, see `movable_limbs`) weights the limbs.
        """
        limbs = log_prior[..., 1:]
        # softmax(sharpness * log prior) over the movable limbs, in a stable form.
        peak = ops.max(limbs + (movable - 1.0) * 1e4, axis=-1, keepdims=True)
        weights = movable * ops.exp(LIMB_SHARPNESS * ops.minimum(limbs - peak, 0.0))
        share = weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), 1e-30)
        strongest = ops.max(movable * ops.exp(limbs), axis=-1, keepdims=True)
        support = ops.clip(strongest / LIMB_SUPPORT, 0.0, 1.0)
        masks = ops.concatenate([1.0 - person, person * support * share], axis=-1)
        hole = self._dilate(ops.cast(person > PERSON_THRESHOLD, "float32"))
        return masks, hole

    def prior_layers(self, log_prior, movable):
        """Layer masks and the hole from the pose prior alone (no person mask)."""
        masks = ops.softmax(log_prior, axis=-1)
        hole = ops.cast(masks[..., :1] <= KNOWN_BACKGROUND, "float32")
        return ops.concatenate([masks[..., :1], masks[..., 1:] * movable], axis=-1), hole

    def call(self, inputs, return_intermediates=False):
        keys = GENERATOR_INPUTS + tuple(key for key in OPTIONAL_INPUTS if key in inputs)
        inputs = select_inputs(self, inputs, keys)
        source = ops.cast(inputs["source_image"], "float32")
        log_prior = ops.cast(inputs["mask_prior"], "float32")
        transforms = ops.cast(inputs["transforms"], "float32")
        movable = self.movable_limbs(ops.cast(inputs["target_pose"], "float32"), transforms)
        if "source_mask" in inputs:
            person = self._person_mask(inputs["source_mask"])
            masks, hole = self.person_layers(log_prior, person, movable)
            gain, floor = MASK_ALPHA_GAIN, MASK_ALPHA_FLOOR
        else:
            masks, hole = self.prior_layers(log_prior, movable)
            gain, floor = ALPHA_GAIN, 0.0
        # One warp for the colours and the layer masks (a fourth channel of ones).
        rgba = ops.concatenate([source, ops.ones_like(source[..., :1])], axis=-1)
        layers = self.warp({"image": rgba, "masks": masks, "transforms": transforms})
        height, width = self.image_size
        limbs = ops.reshape(layers["limbs"], (-1, height, width, masks.shape[-1] - 1, 4))
        # The limb layers are premultiplied by their masks: divide by the warped mask sum
        # for their colour, and turn that sum into the person's alpha.
        coverage = ops.sum(limbs[..., 3:], axis=3)
        foreground = ops.sum(limbs[..., :3], axis=3) / ops.maximum(coverage, 1e-3)
        foreground_mask = ops.clip(gain * (coverage - floor), 0.0, 1.0)
        background = self.inpaint(source, hole)
        image = foreground_mask * foreground + (1.0 - foreground_mask) * background
        image = ops.clip(image, -1.0, 1.0)
        if not return_intermediates:
            return image
        return {
            "image": image,
            "source_masks": masks,
            "warped_background": layers["background"][..., :3],
            "warped_limbs": ops.reshape(limbs[..., :3], (-1, height, width, 3 * limbs.shape[3])),
            "foreground": foreground,
            "foreground_mask": foreground_mask,
            "background": background,
            "hole": hole,
        }

    def get_config(self):
        return {
            **base_config(self),
            "image_size": self.image_size,
            "mask_dilation": self.mask_dilation,
        }
