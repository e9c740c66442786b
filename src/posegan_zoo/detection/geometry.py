"""The geometry around the BlazePose models: anchors, box decoding, NMS, rotated crops.

Coordinates here are *continuous* pixel coordinates: pixel `i` covers `[i, i + 1)`, so its
centre is at `i + 0.5` (the convention of normalized model outputs times the image size).
`PoseDetector` converts to the package's convention (centres at integers) at the end.

The detector sees the whole frame letterboxed into a 224 x 224 square; it predicts, per
anchor, a box and four keypoints: the hips' midpoint, a point whose distance from it is the
radius of a circle around the whole body and whose direction gives the body's tilt, and the
same pair for the upper body. The landmark model then sees a square region of interest
(ROI) centred on the hips, rotated so that the body stands upright, 1.25 times the body
circle's diameter, resampled to 256 x 256.
"""

import dataclasses
import math

import numpy as np
from PIL import Image

DETECTOR_SIZE = 224
LANDMARK_SIZE = 256
# The detector's SSD anchors: feature maps of strides 8, 16 and 32 over the 224 input, with
# 2, 2 and 6 anchors per cell (the last three layers share stride 32); every anchor has unit
# size, so only its centre matters.
_ANCHOR_LAYOUT = ((8, 2), (16, 2), (32, 6))
NUM_ANCHORS = 2254
ROI_SCALE = 1.25
# Detections whose boxes overlap more than this are merged into their score-weighted mean.
NMS_IOU = 0.3


def detector_anchors():
    """`(2254, 2)` anchor centres (x, y) in [0, 1], in the order of the detector's outputs.

    Example:

    >>> from posegan_zoo.detection.geometry import detector_anchors
    >>> anchors = detector_anchors()
    >>> anchors.shape, (anchors[0] * 28).tolist(), (anchors[2] * 28).tolist()
    ((2254, 2), [0.5, 0.5], [1.5, 0.5])
    """
    centres = []
    for stride, per_cell in _ANCHOR_LAYOUT:
        cells = math.ceil(DETECTOR_SIZE / stride)
        grid = (np.arange(cells) + 0.5) / cells
        ys, xs = np.meshgrid(grid, grid, indexing="ij")
        cell_centres = np.stack([xs.ravel(), ys.ravel()], axis=-1)
        centres.append(np.repeat(cell_centres, per_cell, axis=0))
    anchors = np.concatenate(centres)
    assert len(anchors) == NUM_ANCHORS
    return anchors


@dataclasses.dataclass(frozen=True)
class RotatedRect:
    """A square region of a frame: centre (x, y) and side in pixels, rotation in radians.

    A rotation of 0 is upright; positive angles turn the region clockwise on screen
    (y points down).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.detection.geometry import RotatedRect
    >>> rect = RotatedRect(centre=(50.0, 40.0), side=20.0, angle=0.0)
    >>> rect.to_frame(np.array([[0.0, 0.0], [1.0, 1.0]])).tolist()
    [[40.0, 30.0], [60.0, 50.0]]
    """

    centre: tuple
    side: float
    angle: float

    def _rotation(self):
        cos, sin = math.cos(self.angle), math.sin(self.angle)
        return np.array([[cos, -sin], [sin, cos]])

    def to_frame(self, points):
        """Maps points in [0, 1] region coordinates `(..., 2)` to frame pixels."""
        offsets = (np.asarray(points, np.float64) - 0.5) * self.side
        return offsets @ self._rotation().T + np.asarray(self.centre, np.float64)

    def crop_affine(self, size):
        """The 2x3 matrix from `size` x `size` crop pixels to frame pixels."""
        linear = self._rotation() * (self.side / size)
        offset = np.asarray(self.centre, np.float64) - linear @ np.array([size / 2, size / 2])
        return np.concatenate([linear, offset[:, None]], axis=1)

    def scaled(self, factor):
        return dataclasses.replace(self, side=self.side * factor)


def rect_from_keypoints(centre, rim):
    """The ROI of the landmark model from the body-centre and body-rim keypoints (pixels).

    The region is centred on `centre`, its side is 1.25 x the circle through `rim`'s
    diameter, and it is rotated so that the direction centre -> rim points up.
    """
    centre, rim = np.asarray(centre, np.float64), np.asarray(rim, np.float64)
    dx, dy = rim - centre
    radius = math.hypot(dx, dy)
    # An upright person has the rim straight above the centre (dy < 0): angle 0.
    angle = math.pi / 2 - math.atan2(-dy, dx)
    angle = (angle + math.pi) % (2 * math.pi) - math.pi
    return RotatedRect((float(centre[0]), float(centre[1])), 2.0 * radius * ROI_SCALE, angle)


def frame_rect(height, width):
    """The axis-aligned square around the whole frame: the detector's letterbox."""
    return RotatedRect((width / 2.0, height / 2.0), float(max(height, width)), 0.0)


def _window(rect, height, width):
    """The frame's pixel window `(x0, y0, x1, y1)` that holds all of `rect` inside the frame."""
    corners = rect.to_frame(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]))
    x0, y0 = np.clip(np.floor(corners.min(axis=0)) - 1, 0, [width, height]).astype(int)
    x1, y1 = np.clip(np.ceil(corners.max(axis=0)) + 1, 0, [width, height]).astype(int)
    return x0, y0, x1, y1


def crop(image, rect, size):
    """Resamples `rect` of an RGB uint8 `image` to `size` x `size` (bilinear, zeros outside).

    Only the frame window under `rect` is handed to Pillow, so the cost does not grow
    with the frame.
    """
    x0, y0, x1, y1 = _window(rect, *image.shape[:2])
    if x1 <= x0 or y1 <= y0:
        return np.zeros((size, size, 3), np.uint8)
    affine = rect.crop_affine(size)
    affine[:, 2] -= (x0, y0)
    picture = Image.fromarray(np.ascontiguousarray(image[y0:y1, x0:x1]))
    return np.asarray(
        picture.transform(
            (size, size), Image.Transform.AFFINE, affine.ravel(), Image.Resampling.BILINEAR
        )
    )


def uncrop_mask(mask, rect, height, width):
    """Maps a square float mask on `rect` back to the `(height, width)` frame (0 outside).

    Only the frame window under `rect` is resampled; the rest of the frame is zero.
    """
    size = mask.shape[0]
    out = np.zeros((height, width), np.float32)
    x0, y0, x1, y1 = _window(rect, height, width)
    if x1 <= x0 or y1 <= y0:
        return out
    forward = np.vstack([rect.crop_affine(size), [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(forward)[:2]
    inverse[:, 2] += inverse[:, :2] @ np.array([x0, y0], np.float64)
    picture = Image.fromarray(np.ascontiguousarray(mask, np.float32), mode="F")
    window = picture.transform(
        (x1 - x0, y1 - y0), Image.Transform.AFFINE, inverse.ravel(), Image.Resampling.BILINEAR
    )
    out[y0:y1, x0:x1] = np.clip(np.asarray(window), 0.0, 1.0)
    return out


def decode_detections(boxes, scores, anchors, min_score):
    """Raw detector outputs -> `(scores (n,), boxes (n, 4), keypoints (n, 4, 2))` in [0, 1].

    Boxes are (x_min, y_min, x_max, y_max) of the letterboxed input; scores pass a sigmoid
    of the logits clipped to +-100 and must reach `min_score`.
    """
    logits = np.clip(np.asarray(scores, np.float64).reshape(-1), -100.0, 100.0)
    probability = 1.0 / (1.0 + np.exp(-logits))
    keep = np.flatnonzero(probability >= min_score)
    raw = np.asarray(boxes, np.float64).reshape(-1, 12)[keep] / DETECTOR_SIZE
    centres = raw[:, :2] + anchors[keep]
    half = raw[:, 2:4] / 2.0
    corners = np.concatenate([centres - half, centres + half], axis=-1)
    keypoints = raw[:, 4:].reshape(-1, 4, 2) + anchors[keep][:, None, :]
    return probability[keep], corners, keypoints


def _iou(box, others):
    top_left = np.maximum(box[:2], others[:, :2])
    bottom_right = np.minimum(box[2:], others[:, 2:])
    overlap = np.prod(np.clip(bottom_right - top_left, 0.0, None), axis=-1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(others[:, 2:] - others[:, :2], axis=-1)
    union = area + areas - overlap
    return np.where(union > 0, overlap / np.where(union > 0, union, 1.0), 0.0)


def weighted_nms(scores, boxes, keypoints, iou_threshold=NMS_IOU):
    """Merges overlapping detections into their score-weighted mean, best first.

    Each cluster (the best remaining detection and every one overlapping it by more than
    `iou_threshold`) becomes one detection with the best score and the score-weighted mean
    box and keypoints.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.detection.geometry import weighted_nms
    >>> boxes = np.array([[0, 0, 1, 1], [0, 0, 1, 1.2], [2, 2, 3, 3]], float)
    >>> s, b, k = weighted_nms(np.array([0.9, 0.6, 0.8]), boxes, np.zeros((3, 4, 2)))
    >>> s.tolist(), b[0].round(2).tolist()
    ([0.9, 0.8], [0.0, 0.0, 1.0, 1.08])
    """
    order = np.argsort(-scores, kind="stable")
    scores, boxes, keypoints = scores[order], boxes[order], keypoints[order]
    remaining = np.ones(len(scores), bool)
    merged_scores, merged_boxes, merged_keypoints = [], [], []
    for best in range(len(scores)):
        if not remaining[best]:
            continue
        candidates = np.flatnonzero(remaining)
        cluster = candidates[_iou(boxes[best], boxes[candidates]) > iou_threshold]
        cluster = np.union1d(cluster, [best])
        remaining[cluster] = False
        weights = scores[cluster] / scores[cluster].sum()
        merged_scores.append(scores[best])
        merged_boxes.append(weights @ boxes[cluster])
        merged_keypoints.append(np.tensordot(weights, keypoints[cluster], axes=1))
    if not merged_scores:
        return np.zeros(0), np.zeros((0, 4)), np.zeros((0, 4, 2))
    return np.array(merged_scores), np.array(merged_boxes), np.array(merged_keypoints)


def refine_from_heatmaps(points, heatmaps, kernel=7, min_confidence=0.5):
    """Moves each landmark (in [0, 1] crop coordinates) to the mean of its heatmap window.

    `heatmaps` are the landmark model's `(h, w, n)` logits. A landmark moves only when the
    sigmoid of its heatmap peaks at `min_confidence` or more within the `kernel` window
    around it; landmarks outside the heatmap stay where they are.
    """
    height, width, count = heatmaps.shape
    confidence = 1.0 / (1.0 + np.exp(-np.asarray(heatmaps, np.float64)))
    refined = np.array(points, np.float64)
    reach = (kernel - 1) // 2
    for k in range(min(count, len(refined))):
        col, row = int(refined[k, 0] * width), int(refined[k, 1] * height)
        if not (0 <= col < width and 0 <= row < height):
            continue
        rows = slice(max(0, row - reach), min(height, row + reach + 1))
        cols = slice(max(0, col - reach), min(width, col + reach + 1))
        window = confidence[rows, cols, k]
        total = window.sum()
        if window.max() < min_confidence or total <= 0:
            continue
        grid_rows, grid_cols = np.mgrid[rows, cols]
        refined[k, 0] = (window * grid_cols).sum() / total / width
        refined[k, 1] = (window * grid_rows).sum() / total / height
    return refined
