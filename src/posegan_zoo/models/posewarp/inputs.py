"""Builds the inputs of the PoseWarp networks from images and poses."""

import numpy as np

from posegan_zoo.errors import InvalidImageError, InvalidPoseError
from posegan_zoo.pose import (
    DEFAULT_DOWNSAMPLE,
    DEFAULT_SIGMA,
    Pose,
    joint_heatmaps,
    limb_transforms,
    mask_log_prior,
)


def posewarp_inputs(source_image, source_pose, target_pose, sigma=DEFAULT_SIGMA, source_mask=None):
    """The generator's input dict for a source image (or batch) and two poses.

    `source_image` is `(H, W, 3)` or `(batch, H, W, 3)`, already cropped around the person
    (see `posegan_zoo.pose.centre_and_scale`) and scaled to [-1, 1]; poses are `Pose`
    objects (or `(…, 14, 2)` arrays) in the image's pixel coordinates. Unbatched inputs get
    a batch axis of 1. Returns float32 arrays keyed like `PoseWarpGenerator`'s inputs; the
    UNet baseline and the discriminator read the keys they need from the same dict.

    `source_mask`, optional, is the person's segmentation in [0, 1] (1 on the person),
    already in the crop's pixels and size: `(H, W)` or `(H, W, 1)` for one image,
    `(batch, H, W, 1)` for a batch. It is neither cropped nor resized here (crop it with
    the image's matrix, e.g. `posegan_zoo.pose.crop.warp_image`); it becomes the key
    `"source_mask"`, `(batch, H, W, 1)` float32, which `WarpOnlyGenerator` uses and the
    other models ignore.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.models import posewarp_inputs
    >>> pose = np.full((14, 2), 32.0)
    >>> inputs = posewarp_inputs(np.zeros((64, 64, 3)), pose, pose)
    >>> {key: value.shape for key, value in inputs.items()}["transforms"]
    (1, 2, 3, 11)
    >>> posewarp_inputs(np.zeros((64, 64, 3)), pose, pose, source_mask=np.ones((64, 64)))[
    ...     "source_mask"].shape
    (1, 64, 64, 1)
    """
    image = np.asarray(source_image, dtype=np.float32)
    unbatched = image.ndim == 3
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or image.shape[-1] != 3:
        raise InvalidImageError(
            f"`source_image` must have shape (H, W, 3) or (batch, H, W, 3), got {image.shape}."
        )
    source = source_pose if isinstance(source_pose, Pose) else Pose(source_pose)
    target = target_pose if isinstance(target_pose, Pose) else Pose(target_pose)
    batch = image.shape[0]
    source, target = _batched(source, batch, "source_pose"), _batched(target, batch, "target_pose")
    size = image.shape[1:3]
    inputs = {
        "source_image": image,
        "source_pose": joint_heatmaps(source, size, DEFAULT_DOWNSAMPLE, sigma),
        "target_pose": joint_heatmaps(target, size, DEFAULT_DOWNSAMPLE, sigma),
        "mask_prior": mask_log_prior(source, size),
        "transforms": limb_transforms(source, target),
    }
    if source_mask is not None:
        inputs["source_mask"] = _person_mask(source_mask, image.shape[:3], unbatched)
    return inputs


def _person_mask(mask, batch_size, unbatched):
    """`mask` as `(batch, H, W, 1)` float32 in [0, 1], for images of `batch_size`."""
    batch, height, width = batch_size
    try:
        array = np.asarray(mask, dtype=np.float32)
    except (TypeError, ValueError):
        raise InvalidImageError(
            f"`source_mask` must be a numeric array, got {type(mask).__name__}."
        ) from None
    if unbatched and array.ndim == 2:
        array = array[..., None]
    if unbatched and array.ndim == 3:
        array = array[None]
    if array.shape != (batch, height, width, 1):
        single = "(H, W) or (H, W, 1) or " if unbatched else ""
        raise InvalidImageError(
            f"`source_mask` must have shape {single}(batch, H, W, 1) matching the image, "
            f"here ({batch}, {height}, {width}, 1); got {np.shape(mask)}."
        )
    if not np.isfinite(array).all() or array.min() < 0.0 or array.max() > 1.0:
        raise InvalidImageError("`source_mask` must hold values in [0, 1] (1 on the person).")
    return array


def _batched(pose, batch, name):
    if pose.batch_shape == ():
        return Pose(
            np.broadcast_to(pose.joints, (batch, *pose.joints.shape)),
            np.broadcast_to(pose.visible, (batch, *pose.visible.shape)),
        )
    if pose.batch_shape != (batch,):
        raise InvalidPoseError(
            f"`{name}` has batch shape {pose.batch_shape} but the image batch holds {batch}."
        )
    return pose
