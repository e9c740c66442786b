"""`PoseGeometry`: the PoseWarp networks' pose inputs computed from joints, in the graph."""

import keras

from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.pose.graph import (
    DEFAULT_DOWNSAMPLE,
    DEFAULT_SIGMA,
    joint_heatmaps,
    limb_transforms,
    mask_log_prior,
)
from posegan_zoo.pose.skeleton import NUM_JOINTS, NUM_LIMBS


@keras.saving.register_keras_serializable(package="posegan_zoo")
class PoseGeometry(keras.layers.Layer):
    """Adds the PoseWarp networks' pose inputs to a dict of images and joints.

    Reads "source_image" `(batch, H, W, 3)` (for the size only), "source_keypoints" and
    "target_keypoints" `(batch, 14, 2)` (NaN = missing joint) and returns the dict with
    "source_pose" and "target_pose" (joint heatmaps at half resolution), "mask_prior" (the
    source's log limb prior) and "transforms" (target -> source limb maps) added; with
    `reverse=True` also "target_mask_prior" and "reverse_transforms", the inputs of the way
    back (target pose -> source pose) that cycle training needs. Keys already present are
    kept as given, so precomputed maps pass through. It has no weights.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.layers import PoseGeometry
    >>> joints = np.random.default_rng(0).uniform(8, 56, (2, 14, 2))
    >>> inputs = {"source_image": np.zeros((2, 64, 64, 3), "float32"),
    ...           "source_keypoints": joints, "target_keypoints": joints[::-1]}
    >>> maps = PoseGeometry()(inputs)
    >>> tuple(maps["source_pose"].shape), tuple(maps["mask_prior"].shape)
    ((2, 32, 32, 14), (2, 64, 64, 11))
    """

    def __init__(self, reverse=False, sigma=DEFAULT_SIGMA, downsample=DEFAULT_DOWNSAMPLE, **kwargs):
        super().__init__(**kwargs)
        if not (isinstance(downsample, int) and downsample >= 1):
            raise InvalidConfigError(f"`downsample` must be a positive int, got {downsample!r}.")
        if not sigma > 0:
            raise InvalidConfigError(f"`sigma` must be positive, got {sigma!r}.")
        self.reverse = bool(reverse)
        self.sigma = float(sigma)
        self.downsample = downsample

    def call(self, inputs):
        height, width = inputs["source_image"].shape[1:3]
        source = inputs["source_keypoints"]
        target = inputs["target_keypoints"]
        maps = {
            "source_pose": lambda: joint_heatmaps(
                source, height, width, self.downsample, self.sigma
            ),
            "target_pose": lambda: joint_heatmaps(
                target, height, width, self.downsample, self.sigma
            ),
            "mask_prior": lambda: mask_log_prior(source, height, width),
            "transforms": lambda: limb_transforms(source, target),
        }
        if self.reverse:
            maps["target_mask_prior"] = lambda: mask_log_prior(target, height, width)
            maps["reverse_transforms"] = lambda: limb_transforms(target, source)
        outputs = dict(inputs)
        for key, compute in maps.items():
            if key not in outputs:
                outputs[key] = compute()
        return outputs

    def compute_output_spec(self, inputs):
        batch, height, width = inputs["source_image"].shape[:3]
        pose = (batch, height // self.downsample, width // self.downsample, NUM_JOINTS)
        prior = (batch, height, width, NUM_LIMBS + 1)
        transforms = (batch, 2, 3, NUM_LIMBS + 1)
        shapes = {
            "source_pose": pose,
            "target_pose": pose,
            "mask_prior": prior,
            "transforms": transforms,
        }
        if self.reverse:
            shapes.update(target_mask_prior=prior, reverse_transforms=transforms)
        outputs = dict(inputs)
        for key, shape in shapes.items():
            outputs.setdefault(key, keras.KerasTensor(shape, "float32"))
        return outputs

    def get_config(self):
        return {
            **super().get_config(),
            "reverse": self.reverse,
            "sigma": self.sigma,
            "downsample": self.downsample,
        }
