"""Pose geometry for the 14-joint MPII-style layout.

Everything here takes numpy arrays or `Pose` objects with leading batch axes. The per-pixel
maps come from the tensor ops of `posegan_zoo.pose.graph`, which also run in a graph.
"""

from posegan_zoo.pose.crop import (
    OBJECT_SCALE_FACTOR,
    centre_and_scale,
    crop_matrix,
    crop_scale,
    person_scale,
    warp_image,
)
from posegan_zoo.pose.heatmaps import DEFAULT_DOWNSAMPLE, DEFAULT_SIGMA, joint_heatmaps
from posegan_zoo.pose.layouts import LAYOUTS, Layout, get_layout, to_posewarp_pose
from posegan_zoo.pose.limbs import limb_axes, limb_masks, limb_transforms, mask_log_prior
from posegan_zoo.pose.pose import Pose
from posegan_zoo.pose.skeleton import (
    BONES,
    FLIP_PERMUTATION,
    JOINT_NAMES,
    LIMB_NAMES,
    LIMBS,
    NUM_JOINTS,
    NUM_LIMBS,
)

__all__ = [
    "BONES",
    "DEFAULT_DOWNSAMPLE",
    "DEFAULT_SIGMA",
    "FLIP_PERMUTATION",
    "JOINT_NAMES",
    "LAYOUTS",
    "LIMBS",
    "LIMB_NAMES",
    "NUM_JOINTS",
    "NUM_LIMBS",
    "OBJECT_SCALE_FACTOR",
    "Layout",
    "Pose",
    "centre_and_scale",
    "crop_matrix",
    "crop_scale",
    "get_layout",
    "joint_heatmaps",
    "limb_axes",
    "limb_masks",
    "limb_transforms",
    "mask_log_prior",
    "person_scale",
    "to_posewarp_pose",
    "warp_image",
]
