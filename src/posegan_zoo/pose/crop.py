"""The paper's person-centred crop: person scale, crop matrix, and the crop itself."""

import keras
import numpy as np

from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import InvalidImageError, InvalidPoseError
from posegan_zoo.pose.pose import Pose

# A person whose scale is 1 is 200 pixels tall (the MPII convention).
PERSON_SCALE_PIXELS = 200.0
# The paper scales each frame pair by OBJECT_SCALE_FACTOR / (largest person scale) for its
# 256-pixel crops; other crop sizes scale the factor with them.
OBJECT_SCALE_FACTOR = 1.14
PAPER_CROP_SIZE = 256

_HEAD, _HIPS = 0, (8, 11)
_CALVES = ((9, 10), (12, 13))


def person_scale(pose):
    """The size of a person in units of 200 pixels, `(...)` float64.

    It is `max(2.5 * upper-body height, 5 * mean calf length) / 200`, the upper-body height
    being the vertical distance from the head to the hips' mean. Terms whose joints are
    missing are left out; a pose with neither term raises `InvalidPoseError`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, person_scale
    >>> xy = np.zeros((14, 2)); xy[8:, 1] = 80.0; xy[[10, 13], 1] = 120.0
    >>> float(person_scale(Pose(xy)))  # max(2.5 * 80, 5 * 40) / 200
    1.0
    """
    pose = pose if isinstance(pose, Pose) else Pose(pose)
    joints, visible = pose.joints, pose.visible
    hips = list(_HIPS)
    hip_count = visible[..., hips].sum(axis=-1)
    hip_y = (joints[..., hips, 1] * visible[..., hips]).sum(axis=-1) / np.maximum(hip_count, 1)
    upper = np.abs(hip_y - joints[..., _HEAD, 1])
    upper_ok = visible[..., _HEAD] & (hip_count > 0)

    knees, ankles = [k for k, _ in _CALVES], [a for _, a in _CALVES]
    calf_ok = visible[..., knees] & visible[..., ankles]
    calf_len = np.linalg.norm(joints[..., knees, :] - joints[..., ankles, :], axis=-1)
    calf_count = calf_ok.sum(axis=-1)
    calf = (calf_len * calf_ok).sum(axis=-1) / np.maximum(calf_count, 1)

    if not np.all(upper_ok | (calf_count > 0)):
        raise InvalidPoseError(
            "person_scale needs the head and a hip, or a knee with its ankle; a pose has neither."
        )
    size = np.maximum(
        np.where(upper_ok, 2.5 * upper, 0.0), np.where(calf_count > 0, 5.0 * calf, 0.0)
    )
    return size / PERSON_SCALE_PIXELS


def crop_scale(person_scales, output_size, factor=OBJECT_SCALE_FACTOR):
    """The paper's zoom for a crop that must hold people of the given `person_scale`s.

    It is `factor / max(person_scales)` for a 256-pixel crop, and proportionally more or less
    for other sizes (the smaller side of `output_size` counts), so that the person fills the
    same share of the crop at any size. Pass both frames of a pair to crop them alike.

    Example:

    >>> from posegan_zoo.pose import crop_scale
    >>> crop_scale([1.0, 1.14], 256), crop_scale([1.14], 128)
    (1.0, 0.5)
    """
    height, width = as_image_size(output_size, name="output_size")
    largest = float(np.max(person_scales))
    if not largest > 0:
        raise InvalidPoseError(f"`person_scales` must hold a positive scale, got {person_scales}.")
    return factor * (min(height, width) / PAPER_CROP_SIZE) / largest


def crop_matrix(center, scale, output_size):
    """The 2x3 affine map from frame pixels to crop pixels (`(..., 2, 3)` float64).

    The frame is scaled by `scale` and shifted so that `center` (x, y) lands on the centre
    of an `output_size` (height, width) crop.

    Example:

    >>> from posegan_zoo.pose import crop_matrix
    >>> crop_matrix((100.0, 50.0), 0.5, 256).tolist()
    [[0.5, 0.0, 77.5], [0.0, 0.5, 102.5]]
    """
    height, width = as_image_size(output_size, name="output_size")
    center = np.asarray(center, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if center.shape[-1:] != (2,):
        raise InvalidPoseError(f"`center` must have shape (..., 2) as (x, y), got {center.shape}.")
    zeros = np.zeros_like(scale)
    tx = (width - 1) / 2.0 - scale * center[..., 0]
    ty = (height - 1) / 2.0 - scale * center[..., 1]
    return np.stack(
        [np.stack([scale, zeros, tx], axis=-1), np.stack([zeros, scale, ty], axis=-1)], axis=-2
    )


def warp_image(image, matrix, output_size):
    """Resamples `image` (`(H, W, C)` or `(N, H, W, C)`) so that output = matrix @ input.

    Bilinear, zero outside the frame; returns float32 of shape `(..., *output_size, C)`.
    """
    array = np.asarray(image)
    batched = array.ndim == 4
    if array.ndim not in (3, 4):
        raise InvalidImageError(
            f"`image` must have shape (H, W, C) or (N, H, W, C), got {array.shape}."
        )
    height, width = as_image_size(output_size, name="output_size")
    images = array if batched else array[None]
    matrix = np.broadcast_to(np.asarray(matrix, dtype=np.float64), (len(images), 2, 3))
    # keras' affine_transform maps *output* pixels to input pixels: invert the 2x3 matrix.
    linear_inv = np.linalg.inv(matrix[:, :, :2])
    offset_inv = -np.einsum("nij,nj->ni", linear_inv, matrix[:, :, 2])
    canvas = np.zeros(
        (len(images), max(height, images.shape[1]), max(width, images.shape[2]), images.shape[3]),
        np.float32,
    )
    canvas[:, : images.shape[1], : images.shape[2]] = images
    params = np.concatenate(
        [
            linear_inv[:, 0],
            offset_inv[:, :1],
            linear_inv[:, 1],
            offset_inv[:, 1:],
            np.zeros((len(images), 2)),
        ],
        axis=1,
    ).astype(np.float32)
    warped = keras.ops.image.affine_transform(
        canvas, params, interpolation="bilinear", fill_mode="constant"
    )
    warped = keras.ops.convert_to_numpy(warped)[:, :height, :width]
    return warped if batched else warped[0]


def centre_and_scale(image, pose, center, scale, output_size):
    """Crops `image` around `center` at `scale` and moves `pose` into the crop.

    Returns the float32 crop `(*output_size, C)` (same value range as `image`) and the
    moved `Pose`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.pose import Pose, centre_and_scale
    >>> frame = np.ones((100, 200, 3), np.uint8)
    >>> crop, moved = centre_and_scale(frame, Pose(np.full((14, 2), 50.0)), (50, 50), 1.0, 64)
    >>> crop.shape, moved.joints[0].tolist()
    ((64, 64, 3), [31.5, 31.5])
    """
    matrix = crop_matrix(center, scale, output_size)
    pose = pose if isinstance(pose, Pose) else Pose(pose)
    return warp_image(image, matrix, output_size), pose.transform(matrix)
