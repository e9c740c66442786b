"""Training pairs as a `tf.data` pipeline: sampling, the paper's crop, augmentation, geometry.

Each element is `(inputs, target_image)`: `inputs` holds the PoseWarp generator's inputs
(`posegan_zoo.models.posewarp.generator.GENERATOR_INPUTS`) plus "source_keypoints" and
"target_keypoints" `(batch, 14, 2)` (NaN = missing joint) for visualisation; `target_image`
is the real target frame, cropped and augmented like the source.

Person masks: when *every* clip has them (`Clip.mask_paths`, as `posegan-zoo prepare`
writes them), `inputs` also holds "source_mask" and "target_mask", float32
`(batch, H, W, 1)` in [0, 1] (1 = person; 0 outside the frame), each warped by exactly the
crop and augmentation of its frame (the intensity change aside). When any clip has none,
neither key is there, so that every batch has the same keys. Models take the keys they
need from the dict and ignore the others.

How it runs: pair indices come from a counter and a stateless RNG, so a seed fixes the whole
stream however many workers run; frames are decoded once and kept in a shared in-memory
cache, of which each example reads only the window its crop covers; crop and augmentation
are one affine warp per image in TensorFlow; the pose geometry (heatmaps, mask prior, limb
transforms) is computed per batch by `posegan_zoo.layers.PoseGeometry`, in the graph.
"""

import collections
import threading

import numpy as np
import tensorflow as tf
from PIL import Image

from posegan_zoo._exit_safe_callbacks import exit_safe
from posegan_zoo._validation import as_image_size
from posegan_zoo.data.augment import Augmentation, augmentation_matrix
from posegan_zoo.data.clip import Clip
from posegan_zoo.errors import InvalidConfigError, InvalidImageError
from posegan_zoo.layers.pose_geometry import PoseGeometry
from posegan_zoo.pose import (
    FLIP_PERMUTATION,
    OBJECT_SCALE_FACTOR,
    crop_scale,
    person_scale,
)

# The paper pairs frames at least 2% of the video's length apart.
DEFAULT_MIN_GAP = 0.02
DEFAULT_CACHE_BYTES = 2 * 1024**3
PAPER_AUGMENTATION = Augmentation()


class FrameCache:
    """Decodes frames on first use and keeps them (uint8 `(H, W, C)`) up to `max_bytes`, LRU.

    `mode` is the PIL mode the images are converted to: "RGB" (frames, C = 3) or "L"
    (person masks, C = 1). Thread-safe: `tf.data` workers share one cache.

    Example:

    >>> import pathlib, tempfile
    >>> from PIL import Image
    >>> from posegan_zoo.data.pipeline import FrameCache
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "f.png"
    >>> Image.new("RGB", (4, 2)).save(path)
    >>> cache = FrameCache([path])
    >>> cache(0).shape, cache.hits, cache.misses
    ((2, 4, 3), 0, 1)
    >>> FrameCache([path], mode="L")(0).shape
    (2, 4, 1)
    """

    def __init__(self, paths, max_bytes=DEFAULT_CACHE_BYTES, mode="RGB"):
        if mode not in ("RGB", "L"):
            raise InvalidConfigError(f"`mode` must be 'RGB' or 'L', got {mode!r}.")
        self.paths = [str(p) for p in paths]
        self.max_bytes = int(max_bytes)
        self.mode = mode
        self._frames = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def __call__(self, index):
        index = int(index)
        with self._lock:
            frame = self._frames.get(index)
            if frame is not None:
                self._frames.move_to_end(index)
                self.hits += 1
                return frame
        frame = self._decode(self.paths[index], self.mode)
        with self._lock:
            self.misses += 1
            if index not in self._frames:
                self._frames[index] = frame
                self._bytes += frame.nbytes
            while self._bytes > self.max_bytes and len(self._frames) > 1:
                _, evicted = self._frames.popitem(last=False)
                self._bytes -= evicted.nbytes
        return frame

    @staticmethod
    def _decode(path, mode="RGB"):
        try:
            with Image.open(path) as image:
                pixels = np.asarray(image.convert(mode))
        except (OSError, ValueError) as error:
            raise InvalidImageError(f"cannot read frame {path}: {error}") from None
        return pixels if pixels.ndim == 3 else pixels[..., None]


def _frame_table(clips, min_gap, image_size, scale_factor):
    """Flattens the clips into per-frame arrays the graph can index."""
    if not clips or not all(isinstance(clip, Clip) for clip in clips):
        raise InvalidConfigError("`clips` must be a non-empty sequence of `Clip` objects.")
    paths, keypoints, centres, scales, offsets, lengths, gaps = [], [], [], [], [], [], []
    for clip in clips:
        try:
            clip_scales = person_scale(clip.poses)
        except ValueError as error:
            raise InvalidConfigError(f"clip {clip.name!r}: {error}") from None
        if np.any(clip_scales <= 0):
            frame = int(np.argmin(clip_scales))
            raise InvalidConfigError(
                f"clip {clip.name!r}, frame {clip.frame_paths[frame]}: the person has zero "
                "size (head, hips, knees and ankles coincide)."
            )
        offsets.append(len(paths))
        lengths.append(len(clip))
        # |a - b| / n > min_gap, as a whole number of frames.
        gaps.append(int(np.floor(min_gap * len(clip))) + 1)
        paths.extend(clip.frame_paths)
        keypoints.append(clip.poses.to_array())
        centres.append(clip.box_centres())
        # Each frame's own zoom; a pair takes the smaller of its two (the larger person).
        scales.append([crop_scale([s], image_size, scale_factor) for s in clip_scales])
    lengths, gaps = np.array(lengths), np.array(gaps)
    usable = np.nonzero(lengths >= 2 * gaps)[0]
    with_masks = all(clip.mask_paths is not None for clip in clips)
    return {
        "paths": paths,
        "mask_paths": [p for clip in clips for p in clip.mask_paths] if with_masks else None,
        "keypoints": np.concatenate(keypoints).astype(np.float32),
        "centres": np.concatenate(centres).astype(np.float32),
        "scales": np.concatenate(scales).astype(np.float32),
        "offsets": np.array(offsets, np.int64),
        "lengths": lengths.astype(np.int64),
        "gaps": gaps.astype(np.int64),
        "usable_clips": usable.astype(np.int64),
    }


def _as_matrix3(rows):
    return tf.concat([rows, tf.constant([[0.0, 0.0, 1.0]])], axis=0)


def pair_dataset(
    clips,
    image_size=256,
    *,
    batch_size=4,
    seed=0,
    augmentation=PAPER_AUGMENTATION,
    pairs=None,
    min_gap=DEFAULT_MIN_GAP,
    scale_factor=OBJECT_SCALE_FACTOR,
    cache_bytes=DEFAULT_CACHE_BYTES,
    drop_remainder=True,
    start=0,
    reverse_inputs=False,
):
    """Batches of training pairs from `clips` (see the module docstring for the elements).

    Args:
        clips: `Clip`s (from `read_posewarp_dataset` or the keypoint readers).
        image_size: crop size, int or (height, width).
        batch_size: pairs per batch.
        seed: fixes the pairs and the augmentation draws.
        augmentation: an `Augmentation`, or None for plain crops.
        pairs: None for an endless random stream (a random clip, then two frames more
            than `min_gap` x its length apart, as in the paper); or a list of
            `(clip_index, source_frame, target_frame)` for a fixed, finite set (evaluation).
        min_gap: the smallest frame distance, as a fraction of the clip's length.
        scale_factor: the paper's zoom factor (see `posegan_zoo.pose.crop_scale`).
        cache_bytes: memory for decoded frames.
        drop_remainder: drop a last, smaller batch (finite `pairs` only).
        reverse_inputs: also give "target_mask_prior" and "reverse_transforms" (target ->
            source), the inputs of the way back from the target pose (`PoseCycleTrainer`).
        start: index of the first example of the random stream; a run resumed after `k`
            steps of batch `b` passes `k * b` to continue exactly where it stopped.

    With person masks in every clip the inputs also hold "source_mask" and "target_mask"
    (see the module docstring); otherwise neither.

    Example:

    >>> from posegan_zoo.data import pair_dataset, read_posewarp_dataset
    >>> clips = read_posewarp_dataset("examples/data/posewarp_tennis")
    >>> inputs, target = next(iter(pair_dataset(clips, 64, batch_size=2)))
    >>> tuple(inputs["mask_prior"].shape), tuple(target.shape)
    ((2, 64, 64, 11), (2, 64, 64, 3))
    """
    height, width = as_image_size(image_size)
    table = _frame_table(list(clips), min_gap, (height, width), scale_factor)
    if len(table["usable_clips"]) == 0:
        raise InvalidConfigError(
            "no clip has two frames far enough apart to form a pair "
            f"(min_gap={min_gap} of the clip's length)."
        )
    cache = FrameCache(table["paths"], cache_bytes)
    with_masks = table["mask_paths"] is not None
    # Masks are kept grey: a third of a frame's bytes.
    mask_cache = FrameCache(table["mask_paths"], cache_bytes // 3, "L") if with_masks else None
    offsets = tf.constant(table["offsets"])
    keypoints = tf.constant(table["keypoints"])
    centres = tf.constant(table["centres"])
    scales = tf.constant(table["scales"])
    seed = tf.constant(int(seed), tf.int64)

    def sample_pair(index):
        seeds = tf.random.experimental.stateless_split(tf.stack([seed, index]), 4)
        choice = tf.random.stateless_uniform(
            [], seeds[0], 0, len(table["usable_clips"]), dtype=tf.int64
        )
        clip = tf.gather(table["usable_clips"], choice)
        length, gap = tf.gather(table["lengths"], clip), tf.gather(table["gaps"], clip)
        first = tf.random.stateless_uniform([], seeds[1], 0, length, dtype=tf.int64)
        before = tf.maximum(first - gap + 1, 0)  # frames 0 .. first - gap
        after = tf.maximum(length - first - gap, 0)  # frames first + gap .. length - 1
        pick = tf.random.stateless_uniform([], seeds[2], 0, before + after, dtype=tf.int64)
        second = tf.where(pick < before, pick, first + gap + pick - before)
        offset = tf.gather(offsets, clip)
        return offset + first, offset + second, seeds[3]

    def fixed_pair(pair):
        clip, first, second = pair[0], pair[1], pair[2]
        offset = tf.gather(offsets, clip)
        return offset + first, offset + second, tf.stack([seed, pair[0] * 100003 + pair[1]])

    def fetch(first, second, window):
        """The two frames' pixels inside `window` (x0, y0, x1, y1), and each crop's origin."""

        @exit_safe
        def read(a, b, box):
            frames = [cache(a), cache(b)]
            (source, source_origin), (target, target_origin) = (
                _read_window(frame, box) for frame in frames
            )
            crops = [source, target]
            if with_masks:
                # A mask has its frame's size, so its window starts where the frame's does.
                for index, frame in zip((a, b), frames, strict=True):
                    crops.append(_read_window(_mask_of(mask_cache, index, frame), box)[0])
            return *crops, np.array([source_origin, target_origin], np.float32)

        count = 4 if with_masks else 2
        *crops, origins = tf.numpy_function(
            read, [first, second, window], [tf.uint8] * count + [tf.float32], stateful=False
        )
        channels = [3, 3, 1, 1][:count]
        return [
            tf.ensure_shape(crop, [None, None, c]) for crop, c in zip(crops, channels, strict=True)
        ], origins

    def load_pair(first, second, draw_seed):
        scale = tf.minimum(tf.gather(scales, first), tf.gather(scales, second))
        centre = (tf.gather(centres, first) + tf.gather(centres, second)) / 2.0
        crop = _as_matrix3(
            tf.stack(
                [
                    tf.stack([scale, 0.0, (width - 1) / 2.0 - scale * centre[0]]),
                    tf.stack([0.0, scale, (height - 1) / 2.0 - scale * centre[1]]),
                ]
            )
        )
        if augmentation is not None:
            draw = augmentation.draw(draw_seed)
            matrix = augmentation_matrix(draw, height, width) @ crop
        else:
            draw, matrix = None, crop
        inverse = tf.linalg.inv(matrix)
        # Only the frame pixels the warp reads are fetched (and cast to float): the box that
        # the output grid's corners map to, plus one pixel for the bilinear neighbours.
        corners = tf.constant(
            [
                [0.0, 0.0, 1.0],
                [width - 1.0, 0.0, 1.0],
                [0.0, height - 1.0, 1.0],
                [width - 1.0, height - 1.0, 1.0],
            ]
        )
        reads = corners @ tf.transpose(inverse[:2])  # (4, 2) frame (x, y)
        low = tf.math.floor(tf.reduce_min(reads, axis=0)) - 1.0
        high = tf.math.ceil(tf.reduce_max(reads, axis=0)) + 2.0
        window = tf.cast(tf.concat([low, high], axis=0), tf.int64)
        frames, origins = fetch(first, second, window)

        def resample(frame, origin):
            # Frame pixel (x, y) is pixel (x, y) - origin of the fetched window.
            params = tf.concat([inverse[:2, :2], (inverse[:2, 2] - origin)[:, None]], axis=1)
            params = tf.concat([tf.reshape(params, [6]), [0.0, 0.0]], axis=0)[None]
            return tf.raw_ops.ImageProjectiveTransformV3(
                images=tf.cast(frame[None], tf.float32),
                transforms=params,
                output_shape=[height, width],
                fill_value=0.0,
                interpolation="BILINEAR",
            )[0]

        def warp(frame, origin):
            image = resample(frame, origin) / 127.5 - 1.0
            if draw is not None:
                image = tf.clip_by_value(image * draw["intensity"], -1.0, 1.0)
            return image

        def move(joints):
            moved = joints @ tf.transpose(matrix[:2, :2]) + matrix[:2, 2]
            if draw is not None:
                moved = tf.where(draw["flip"], tf.gather(moved, FLIP_PERMUTATION), moved)
            return moved

        example = {
            "source_image": warp(frames[0], origins[0]),
            "target_image": warp(frames[1], origins[1]),
            "source_keypoints": move(tf.gather(keypoints, first)),
            "target_keypoints": move(tf.gather(keypoints, second)),
        }
        if with_masks:
            # The same warp as the frame's, without the intensity change.
            example["source_mask"] = resample(frames[2], origins[0]) / 255.0
            example["target_mask"] = resample(frames[3], origins[1]) / 255.0
        return example

    geometry = PoseGeometry(reverse=reverse_inputs)

    def add_geometry(batch):
        target = batch.pop("target_image")
        return geometry(batch), target

    autotune = tf.data.AUTOTUNE
    if pairs is None:
        indices = tf.data.Dataset.counter(start=int(start)).map(sample_pair)
    else:
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 3)
        _check_pairs(pairs, table, clips)
        indices = tf.data.Dataset.from_tensor_slices(pairs).map(fixed_pair)
        drop_remainder = drop_remainder and len(pairs) >= batch_size
    dataset = indices.map(load_pair, num_parallel_calls=autotune, deterministic=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(add_geometry, num_parallel_calls=autotune, deterministic=True)
    return dataset.prefetch(autotune)


def _read_window(frame, box):
    """`frame[y0:y1, x0:x1]` for `box` = (x0, y0, x1, y1) clipped to the frame, and (x0, y0).

    A box wholly outside the frame gives one black pixel: every sample is then fill (black).
    """
    height, width = frame.shape[:2]
    x0, y0 = min(max(int(box[0]), 0), width), min(max(int(box[1]), 0), height)
    x1, y1 = max(min(int(box[2]), width), x0), max(min(int(box[3]), height), y0)
    if x1 == x0 or y1 == y0:
        return np.zeros((1, 1, frame.shape[2]), np.uint8), (0.0, 0.0)
    return frame[y0:y1, x0:x1], (float(x0), float(y0))


def _mask_of(mask_cache, index, frame):
    """The person mask of frame `index`, which must have the frame's size."""
    mask = mask_cache(index)
    if mask.shape[:2] != frame.shape[:2]:
        raise InvalidImageError(
            f"person mask {mask_cache.paths[int(index)]} is {mask.shape[1]} x {mask.shape[0]} "
            f"pixels but its frame is {frame.shape[1]} x {frame.shape[0]}; a mask must have "
            "its frame's size."
        )
    return mask


def _check_pairs(pairs, table, clips):
    for clip, first, second in pairs:
        if not 0 <= clip < len(table["lengths"]):
            raise InvalidConfigError(f"`pairs`: clip index {clip} is not in [0, {len(clips)}).")
        length = table["lengths"][clip]
        if not (0 <= first < length and 0 <= second < length):
            raise InvalidConfigError(
                f"`pairs`: frames ({first}, {second}) are not in [0, {length}) for clip "
                f"{clips[clip].name!r}."
            )


def holdout_split(clips, holdout_fraction=0.25, min_gap=DEFAULT_MIN_GAP):
    """Splits every clip into training frames and held-out evaluation pairs.

    The last `holdout_fraction` of each clip's frames (at least one) are held out. A clip
    too short for that (fewer than 3 frames, as a prepared video that kept few frames can
    be) goes to training whole and gives no evaluation pair. Returns
    `(train_clips, eval_pairs)`: `train_clips` hold the other frames; `eval_pairs` lists
    `(clip_index, source_frame, target_frame)` into the *original* clips, every target a
    held-out frame and every source a training frame at least `min_gap` away, for
    `pair_dataset(clips, pairs=eval_pairs, augmentation=None)`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.data import Clip, holdout_split
    >>> from posegan_zoo.pose import Pose
    >>> clip = Clip("c", [f"{k}.jpg" for k in range(8)], Pose(np.zeros((8, 14, 2))),
    ...             np.ones((8, 4)))
    >>> train, pairs = holdout_split([clip])
    >>> len(train[0]), pairs[:3]
    (6, [(0, 0, 6), (0, 1, 6), (0, 2, 6)])
    """
    train_clips, pairs = [], []
    for index, clip in enumerate(clips):
        count = len(clip)
        held = max(1, round(count * holdout_fraction))
        kept = count - held
        if kept < 2:
            train_clips.append(clip)
            continue
        masks = None if clip.mask_paths is None else clip.mask_paths[:kept]
        train_clips.append(
            Clip(
                clip.name,
                clip.frame_paths[:kept],
                clip.poses[:kept],
                clip.boxes[:kept],
                mask_paths=masks,
            )
        )
        gap = int(np.floor(min_gap * count)) + 1
        pairs += [
            (index, source, target)
            for target in range(kept, count)
            for source in range(kept)
            if target - source >= gap
        ]
    return train_clips, pairs
