"""Straightforward re-implementations of the PoseWarp reference approach.

They follow the paper's recipe the plain way: one numpy meshgrid Gaussian per joint and
per limb, one least-squares solve per limb, and a gather-based bilinear sampler. The tests
use them as an independent check of the package's vectorized code, and the benchmarks as
the baseline it is timed against. They are deliberately simple; do not optimize them.
"""

import numpy as np
import tensorflow as tf

LIMBS = [[0, 1], [2, 3], [3, 4], [5, 6], [6, 7], [8, 9], [9, 10], [11, 12], [12, 13], [2, 5, 8, 11]]


def gaussian_map(width, height, centre, var_along, var_across, direction):
    """Unnormalized oriented Gaussian on a full meshgrid (float64)."""
    xs, ys = np.meshgrid(np.arange(width), np.arange(height))
    dx, dy = xs - centre[0], ys - centre[1]
    along = dx * direction[0] + dy * direction[1]
    across = -dx * direction[1] + dy * direction[0]
    return np.exp(-(along**2) / (2 * var_along) - across**2 / (2 * var_across))


def joint_heatmaps(joints, visible, height, width, downsample=2, sigma=7 / 4):
    """One (H/d, W/d, 14) heatmap, joint by joint."""
    h, w = height // downsample, width // downsample
    out = np.zeros((h, w, len(joints)))
    for j, (x, y) in enumerate(np.asarray(joints) / downsample):
        if not visible[j] or x <= 0 or y <= 0 or x >= w - 1 or y >= h - 1:
            continue
        out[:, :, j] = gaussian_map(w, h, (x, y), sigma**2, sigma**2, (1.0, 0.0))
    return out


def limb_masks(joints, visible, height, width):
    """One (H, W, 10) stack of limb masks, limb by limb."""
    out = np.zeros((height, width, len(LIMBS)))
    for i, limb in enumerate(LIMBS):
        if not all(visible[j] for j in limb):
            continue
        points = np.array([joints[j] for j in limb], dtype=np.float64)
        if len(limb) == 4:
            points = np.array([points[:2].mean(axis=0), points[2:].mean(axis=0)])
        delta = points[1] - points[0]
        length = np.linalg.norm(delta)
        direction = delta / length if length > 0 else np.array([1.0, 0.0])
        var_along = max(5.0, length**2 / 1.5)
        var_across = 13.0**2 if len(limb) == 4 else 11.0**2
        mask = gaussian_map(width, height, points.mean(axis=0), var_along, var_across, direction)
        out[:, :, i] = mask / (mask.max() + 1e-6)
    return out


def mask_log_prior(joints, visible, height, width):
    masks = limb_masks(joints, visible, height, width)
    background = 1.0 - masks.max(axis=2, keepdims=True)
    return np.log(np.concatenate([background, masks], axis=2) + 1e-10)


def similarity_lstsq(target_points, source_points):
    """Least-squares [[a, -b, tx], [b, a, ty]] mapping target points onto source points."""
    rows, rhs = [], []
    for (qx, qy), (px, py) in zip(target_points, source_points, strict=True):
        rows += [[qx, -qy, 1, 0], [qy, qx, 0, 1]]
        rhs += [px, py]
    a, b, tx, ty = np.linalg.lstsq(np.array(rows), np.array(rhs), rcond=None)[0]
    return np.array([[a, -b, tx], [b, a, ty]])


def limb_transforms(source_joints, target_joints):
    """(2, 3, 11): identity, then one least-squares fit per limb (all joints visible)."""
    out = np.zeros((2, 3, len(LIMBS) + 1))
    out[:, :, 0] = np.eye(2, 3)
    for i, limb in enumerate(LIMBS):
        out[:, :, i + 1] = similarity_lstsq(
            [target_joints[j] for j in limb], [source_joints[j] for j in limb]
        )
    return out


def sample_bilinear_reference(image, x, y):
    """Bilinear gather-sampling of `image` (B, H, W, C) at pixel coordinates x, y (B, h, w).

    Reads a one-pixel reflect-padded copy of the image, clamping indices to its border,
    which is how the authors' graph samples both its warps and its upsampling.
    """
    image = tf.pad(
        tf.convert_to_tensor(image, tf.float32), [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT"
    )
    batch, height, width = image.shape[0], image.shape[1], image.shape[2]
    x = tf.convert_to_tensor(x, tf.float32) + 1.0
    y = tf.convert_to_tensor(y, tf.float32) + 1.0
    x0 = tf.floor(x)
    y0 = tf.floor(y)
    x0i = tf.clip_by_value(tf.cast(x0, tf.int32), 0, width - 1)
    x1i = tf.clip_by_value(tf.cast(x0, tf.int32) + 1, 0, width - 1)
    y0i = tf.clip_by_value(tf.cast(y0, tf.int32), 0, height - 1)
    y1i = tf.clip_by_value(tf.cast(y0, tf.int32) + 1, 0, height - 1)
    # Weights use the clipped upper neighbour, as the reference does.
    wx = tf.cast(x1i, tf.float32) - x
    wy = tf.cast(y1i, tf.float32) - y
    batch_index = tf.broadcast_to(tf.range(batch)[:, None, None], x.shape)

    def read(yi, xi):
        return tf.gather_nd(image, tf.stack([batch_index, yi, xi], axis=-1))

    top = wx[..., None] * read(y0i, x0i) + (1 - wx[..., None]) * read(y0i, x1i)
    bottom = wx[..., None] * read(y1i, x0i) + (1 - wx[..., None]) * read(y1i, x1i)
    return wy[..., None] * top + (1 - wy[..., None]) * bottom


def affine_warp_reference(image, matrix):
    """Warps (B, H, W, C) by (B, 2, 3) target->source matrices with the reference sampler."""
    batch, height, width = image.shape[0], image.shape[1], image.shape[2]
    ys, xs = np.meshgrid(
        np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij"
    )
    grid = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size, np.float32)])  # (3, H*W)
    source = np.einsum("bij,jn->bin", np.asarray(matrix, np.float32), grid)
    x = source[:, 0].reshape(batch, height, width)
    y = source[:, 1].reshape(batch, height, width)
    return sample_bilinear_reference(image, x, y)


def upsample_reference(features):
    """2x upsampling: output pixel (i, j) samples input position (i / 2, j / 2)."""
    batch, height, width = features.shape[0], features.shape[1], features.shape[2]
    ys, xs = np.meshgrid(
        np.arange(2 * height, dtype=np.float32) / 2,
        np.arange(2 * width, dtype=np.float32) / 2,
        indexing="ij",
    )
    x = np.broadcast_to(xs, (batch, *xs.shape))
    y = np.broadcast_to(ys, (batch, *ys.shape))
    return sample_bilinear_reference(features, x, y)
