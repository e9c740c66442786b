"""Limb geometry: soft limb masks, the log mask prior, and per-limb similarity transforms.

The numpy entry points (any batch shape, `Pose` objects) to `posegan_zoo.pose.graph`.
"""

import numpy as np

from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import InvalidPoseError
from posegan_zoo.pose import graph
from posegan_zoo.pose.heatmaps import as_pose, flat_keypoints


def _unflatten(values, pose):
    values = np.asarray(values)
    return values.reshape(*pose.batch_shape, *values.shape[1:])


def limb_axes(pose):
    """Returns each limb's start point, end point and validity.

    Shapes: `(..., 10, 2)`, `(..., 10, 2)`, `(..., 10)`. The torso runs from the midpoint
    of the shoulders to the midpoint of the hips. A limb is valid when all its joints are.
    """
    pose = as_pose(pose)
    return tuple(_unflatten(part, pose) for part in graph.limb_axes(flat_keypoints(pose)))


def limb_masks(pose, image_size):
    """Soft masks of the 10 limbs, `(..., H, W, 10)` float32 in [0, 1].

    Each mask is a Gaussian centred on the limb's midpoint and oriented along it: variance
    `max(5, length^2 / 1.5)` along the limb, 11^2 across it (13^2 for the torso). It is
    divided by (its largest value on the pixel grid + 1e-6), so it peaks at 1 when the
    limb's centre is inside the image. A limb with a missing joint has an all-zero mask.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, limb_masks
    >>> xy = np.stack([np.full(14, 32.0), np.linspace(8, 56, 14)], axis=-1)
    >>> masks = limb_masks(Pose(xy), image_size=64)
    >>> masks.shape, round(float(masks.max()), 3)
    ((64, 64, 10), 1.0)
    """
    pose = as_pose(pose)
    height, width = as_image_size(image_size)
    return _unflatten(graph.limb_masks(flat_keypoints(pose), height, width), pose)


def mask_log_prior(pose, image_size):
    """The source segmentation's prior, `(..., H, W, 11)` float32.

    Channel 0 is the background `1 - max(limb masks)`, channels 1..10 the limb masks; the
    result is `log(masks + 1e-10)`, ready to be added to the segmentation logits.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, mask_log_prior
    >>> prior = mask_log_prior(Pose(np.full((14, 2), np.nan)), image_size=32)
    >>> prior.shape, round(float(prior[..., 0].max()), 6), float(prior[..., 1:].max()) < -23
    ((32, 32, 11), 0.0, True)
    """
    pose = as_pose(pose)
    height, width = as_image_size(image_size)
    return _unflatten(graph.mask_log_prior(flat_keypoints(pose), height, width), pose)


def limb_transforms(source, target):
    """Per-layer affine maps from target pixels to source pixels, `(..., 2, 3, 11)` float32.

    Layer 0 (background) is the identity. Layer `l` (1..10) is the least-squares similarity
    transform (scale, rotation, translation; no reflection) that carries limb `l - 1`'s
    joints in `target` onto the same joints in `source`; the torso uses its four joints.
    Joints missing in either pose are left out of the fit; a limb with fewer than two joints
    in common, or whose target joints coincide, gets the identity.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, limb_transforms
    >>> rng = np.random.default_rng(0)
    >>> target = Pose(rng.uniform(0, 64, (14, 2)))
    >>> source = target.transform([[1, 0, 5.0], [0, 1, -3.0]])  # shift by (5, -3)
    >>> (limb_transforms(source, target)[:, :, 4].round(4) + 0.0).tolist()
    [[1.0, 0.0, 5.0], [0.0, 1.0, -3.0]]
    """
    source, target = as_pose(source), as_pose(target)
    if source.batch_shape != target.batch_shape:
        raise InvalidPoseError(
            f"`source` and `target` must have the same batch shape, got {source.batch_shape} "
            f"and {target.batch_shape}."
        )
    return _unflatten(graph.limb_transforms(flat_keypoints(source), flat_keypoints(target)), source)
