"""Training throughput: the input pipeline (package vs reference approach) and train steps.

Usage: python benchmarks/bench_training.py [--size 256] [--batch 4] [--examples 32]
       [--package-examples 256] [--repeats 5] [--steps 2] [--warmup 0]
       [--train-sizes 128,256] [--perceptual-step] [--skip-pipeline]

The defaults take about 6-9 minutes on a busy 2-core CPU (about 5 CPU-minutes, so about
3 on two idle cores). More steps or examples give steadier figures;
`--train-sizes ''` skips part 2.

Measured side by side in the same run, on the bundled real clip
`examples/data/posewarp_tennis` (8 frames of 1280 x 676 JPEG):

1. Input pipeline, examples/s at `--size` with the paper's augmentation:
   - the package's `pair_dataset(clips, size, batch_size=batch)`: a cold pass (a fresh
     dataset, its frame cache empty: construction, first decodes and `--examples`
     examples) and the warm steady state (every frame cached: per round a fresh iterator,
     a few untimed batches, then `--package-examples` examples);
   - the reference's approach, re-implemented here (see `ReferencePairs`): one example at
     a time in numpy / Pillow, both frames decoded from disk for every example, the crop
     as resize + translate, the augmentation as separate warps in the reference's order,
     and the geometry with `tests/reference_impl.py` one example at a time;
   - the same with decoded frames cached, which separates the decode cost from the rest.
   `--repeats` rounds of each, interleaved (reference, reference cached, package, then
   again), medians. Then the reference's time split by stage, and the package's parts
   timed alone.
2. Train-step seconds per example (batch `--batch`, paper-size models, `train_on_batch`
   on one real batch, the first call (tracing) and `--warmup` more calls excluded, median
   of `--steps` calls): `PoseWarpGenerator` stage 1 with L1 reconstruction, stage 2 with
   the `PoseDiscriminator` and BCE, and `UNetBaseline` stage 1 with L1. The paper's
   perceptual loss needs ImageNet VGG19 weights, which cannot be downloaded here; its cost
   is estimated with random VGG19 weights (same architecture, same FLOPs): the loss's
   forward + backward alone, and with `--perceptual-step` a whole stage-1 step.

Wall times use time.perf_counter; CPU times (time.process_time over all threads of the
process, time.thread_time for the reference's stages) measure the work done, which the
load of other processes disturbs much less. The header gives the machine and the load
average before and after the run: on a busy machine examples/s fall, CPU times barely.
"""

import argparse
import functools
import gc
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import PIL  # noqa: E402
import reference_impl as ref  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from posegan_zoo.data import Augmentation, pair_dataset, read_posewarp_dataset  # noqa: E402
from posegan_zoo.losses import PerceptualLoss, l1_loss  # noqa: E402
from posegan_zoo.models import (  # noqa: E402
    PoseDiscriminator,
    PoseWarpGenerator,
    PoseWarpTrainer,
    UNetBaseline,
)
from posegan_zoo.pose import (  # noqa: E402
    FLIP_PERMUTATION,
    Pose,
    crop_matrix,
    crop_scale,
    joint_heatmaps,
    limb_transforms,
    mask_log_prior,
    person_scale,
)

TENNIS = ROOT / "examples" / "data" / "posewarp_tennis"
PAPER = Augmentation()  # the ranges the reference re-implementation draws from too
PACKAGE_WARMUP_BATCHES = 5  # a fresh iterator's parallel maps are up to speed after 2-3


# --------------------------------------------------------------------------- the reference


def reference_person_scale(joints):
    """The reference's formula: max(2.5 x upper-body height, 5 x mean calf length) / 200."""
    upper = -joints[0, 1] + (joints[8, 1] + joints[11, 1]) / 2.0
    right_calf = np.hypot(*(joints[9] - joints[10]))
    left_calf = np.hypot(*(joints[12] - joints[13]))
    return max(2.5 * upper, 5.0 * (right_calf + left_calf) / 2.0) / 200.0


def pil_affine(image, matrix, size):
    """cv2.warpAffine with Pillow: output pixel p = matrix @ input pixel (bilinear, zero fill).

    `matrix` is 2x3 in the integer-pixel-centre convention (cv2's); Pillow's AFFINE takes the
    inverse map in a convention whose pixel centres sit at +0.5, hence the adjustment.
    """
    forward = np.vstack([matrix, [0.0, 0.0, 1.0]])
    inverse = np.linalg.inv(forward)[:2]
    linear, offset = inverse[:, :2], inverse[:, 2]
    offset = offset + 0.5 - linear @ np.array([0.5, 0.5])
    data = (linear[0, 0], linear[0, 1], offset[0], linear[1, 0], linear[1, 1], offset[1])
    return image.transform(size, Image.Transform.AFFINE, data, Image.Resampling.BILINEAR)


def pil_resize(image, factor):
    """cv2.resize(image, (0, 0), fx=factor, fy=factor): plain bilinear, no antialiasing."""
    width, height = image.size
    size = (round(width * factor), round(height * factor))
    data = (1.0 / factor, 0.0, 0.0, 0.0, 1.0 / factor, 0.0)  # half-pixel centres, as cv2's
    return image.transform(size, Image.Transform.AFFINE, data, Image.Resampling.BILINEAR)


class ReferencePairs:
    """The reference's batch generator (`warp_example_generator`), example by example.

    For each example: a random clip, two frames more than `min_gap` of its length apart,
    both read from disk (`cache_frames=False`, as the reference did) or from a dict of
    decoded frames; the crop (resize the whole frame by 1.14 / max person scale, then
    translate the mean box centre to the crop's centre); the augmentation, the same draw
    for both frames: flip, scale-resize, shift, rotation about the centre (three separate
    warps) and intensity; then joint heatmaps, mask log prior and limb transforms with
    `tests/reference_impl.py`, one example at a time.

    Warps run on uint8 Pillow images (the reference warped float64 arrays with cv2), and
    the batch arrays are float32 (the reference filled float64 ones): both choices make
    this baseline faster, not slower, than the reference was.
    """

    STAGES = ("decode", "crop", "augment", "geometry", "assemble")

    def __init__(self, clips, size, batch, *, cache_frames, augment=True, min_gap=0.02, seed=0):
        self.clips = clips
        self.size = size
        self.batch = batch
        self.cache = {} if cache_frames else None
        self.augment = augment
        self.min_gap = min_gap
        self.rng = np.random.default_rng(seed)
        self.reset_stages()

    def reset_stages(self):
        """Per-stage (wall, CPU) seconds, accumulated over examples."""
        self.stage_seconds = {stage: np.zeros(2) for stage in self.STAGES}

    def _clock(self, stage, since):
        now = np.array([time.perf_counter(), time.thread_time()])
        self.stage_seconds[stage] += now - since
        return now

    def read_frame(self, clip, index):
        path = clip.frame_paths[index]
        image = self.cache.get(path) if self.cache is not None else None
        if image is None:
            image = Image.open(path)
            image = image.convert("RGB") if image.mode != "RGB" else image
            image.load()
            if self.cache is not None:
                self.cache[path] = image
        joints = clip.poses.joints[index].copy()
        centre = clip.box_centres()[index]
        return image, joints, reference_person_scale(joints), centre

    def centre_and_scale(self, image, joints, centre, scale):
        resized = pil_resize(image, scale)
        offset = (self.size - 1.0) / 2.0 - np.asarray(centre) * scale
        matrix = np.array([[1.0, 0.0, offset[0]], [0.0, 1.0, offset[1]]])
        return pil_affine(resized, matrix, (self.size, self.size)), joints * scale + offset

    def draw(self):
        rng = self.rng
        return {
            "flip": rng.random() < PAPER.flip_probability,
            "scale": rng.uniform(*PAPER.scale_range),
            "shift": np.trunc(2 * PAPER.max_shift * (rng.random(2) - 0.5)),  # whole pixels
            "angle": (rng.random() - 0.5) * 2 * PAPER.max_rotation,
            "intensity": rng.uniform(*PAPER.intensity_range),
        }

    def augment_image(self, image, joints, draw):
        """Flip, scale-resize, shift, rotate (separate warps); intensity after."""
        size = self.size
        if draw["flip"]:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            joints = joints.copy()
            joints[:, 0] = image.size[0] - 1 - joints[:, 0]
            joints = joints[list(FLIP_PERMUTATION)]
        image, joints = pil_resize(image, draw["scale"]), joints * draw["scale"]
        shift = np.array([[1.0, 0.0, draw["shift"][0]], [0.0, 1.0, draw["shift"][1]]])
        image, joints = pil_affine(image, shift, (size, size)), joints + draw["shift"]
        # cv2.getRotationMatrix2D(centre, angle, 1): counter-clockwise on the screen.
        radians = np.deg2rad(draw["angle"])
        cos, sin = np.cos(radians), np.sin(radians)
        centre = (size - 1.0) / 2.0
        rotation = np.array(
            [
                [cos, sin, (1 - cos) * centre - sin * centre],
                [-sin, cos, sin * centre + (1 - cos) * centre],
            ]
        )
        image = pil_affine(image, rotation, (size, size))
        return image, joints @ rotation[:, :2].T + rotation[:, 2]

    def to_float(self, image, intensity):
        array = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
        if intensity is not None:
            array *= intensity
            np.minimum(array, 1.0, out=array)
        return array

    def example(self):
        tick = np.array([time.perf_counter(), time.thread_time()])
        clip = self.clips[self.rng.integers(len(self.clips))]
        count = len(clip)
        while True:
            first, second = self.rng.choice(count, 2, replace=False)
            if abs(int(first) - int(second)) / count > self.min_gap:
                break
        image0, joints0, scale0, centre0 = self.read_frame(clip, first)
        image1, joints1, scale1, centre1 = self.read_frame(clip, second)
        tick = self._clock("decode", tick)

        scale = 1.14 * (self.size / 256) / max(scale0, scale1)
        centre = (centre0 + centre1) / 2.0
        image0, joints0 = self.centre_and_scale(image0, joints0, centre, scale)
        image1, joints1 = self.centre_and_scale(image1, joints1, centre, scale)
        tick = self._clock("crop", tick)

        intensity = None
        if self.augment:
            draw = self.draw()
            image0, joints0 = self.augment_image(image0, joints0, draw)
            image1, joints1 = self.augment_image(image1, joints1, draw)
            intensity = draw["intensity"]
        image0, image1 = self.to_float(image0, intensity), self.to_float(image1, intensity)
        tick = self._clock("augment", tick)

        size = self.size
        visible0, visible1 = np.isfinite(joints0).all(1), np.isfinite(joints1).all(1)
        geometry = (
            ref.joint_heatmaps(joints0, visible0, size, size),
            ref.joint_heatmaps(joints1, visible1, size, size),
            ref.mask_log_prior(joints0, visible0, size, size),
            ref.limb_transforms(joints0, joints1),
        )
        self._clock("geometry", tick)
        return image0, image1, joints0, joints1, geometry

    def next_batch(self):
        size, batch = self.size, self.batch
        half = size // 2
        inputs = {
            "source_image": np.zeros((batch, size, size, 3), np.float32),
            "source_pose": np.zeros((batch, half, half, 14), np.float32),
            "target_pose": np.zeros((batch, half, half, 14), np.float32),
            "mask_prior": np.zeros((batch, size, size, 11), np.float32),
            "transforms": np.zeros((batch, 2, 3, 11), np.float32),
            "source_keypoints": np.zeros((batch, 14, 2), np.float32),
            "target_keypoints": np.zeros((batch, 14, 2), np.float32),
        }
        target = np.zeros((batch, size, size, 3), np.float32)
        for i in range(batch):
            image0, image1, joints0, joints1, geometry = self.example()
            tick = np.array([time.perf_counter(), time.thread_time()])
            inputs["source_image"][i], target[i] = image0, image1
            inputs["source_keypoints"][i], inputs["target_keypoints"][i] = joints0, joints1
            inputs["source_pose"][i], inputs["target_pose"][i] = geometry[:2]
            inputs["mask_prior"][i], inputs["transforms"][i] = geometry[2:]
            self._clock("assemble", tick)
        return inputs, target


# --------------------------------------------------------------------------- 1. pipeline


def time_round(next_batch, batches):
    """(wall, process CPU) seconds of `batches` calls of `next_batch`.

    Process CPU time counts every thread of the process (the `tf.data` workers too), so it
    measures the work done, which other processes' load disturbs much less than wall time.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(batches):
        next_batch()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_pipeline(clips, size, batch, batches, package_batches, repeats):
    """Rows `(name, wall s / example, CPU s / example, round walls)`, the reference's stages.

    The rounds interleave: each repeat times one round of each reference variant and one
    round of the package, so that a change of machine load during the run touches all of
    them alike. A package round opens a fresh iterator of the same dataset (its frame cache
    stays warm), reads `PACKAGE_WARMUP_BATCHES` untimed while the parallel maps ramp up,
    times `package_batches` and deletes the iterator, so that no prefetching runs while
    the reference is timed. Package rounds are longer (more examples) than the
    reference's, to last about as long.
    """
    references = {
        "reference approach (both frames decoded from disk per example)": ReferencePairs(
            clips, size, batch, cache_frames=False
        ),
        "reference approach, decoded frames cached": ReferencePairs(
            clips, size, batch, cache_frames=True
        ),
    }
    for pairs in references.values():
        pairs.next_batch()  # warm-up (and, cached, the first decodes)
        pairs.reset_stages()

    # Package, cold: a fresh dataset (empty frame cache). It is the process's first tf.data
    # pipeline: the cold pass includes TF's start-up too.
    wall, cpu = time.perf_counter(), time.process_time()
    dataset = pair_dataset(clips, size, batch_size=batch, seed=0)
    iterator = iter(dataset)
    next(iterator)
    first_batch = time.perf_counter() - wall
    for _ in range(batches - 1):
        next(iterator)
    cold = (time.perf_counter() - wall, time.process_time() - cpu)
    del iterator

    def package_round():
        iterator = iter(dataset)
        for _ in range(PACKAGE_WARMUP_BATCHES):
            next(iterator)
        step = functools.partial(next, iterator)
        timed = time_round(step, package_batches)
        del step, iterator  # stops its prefetching before the next reference round
        return timed

    rounds = {name: [] for name in references}
    rounds["package"] = []
    for _ in range(repeats):
        for name, pairs in references.items():
            rounds[name].append(time_round(pairs.next_batch, batches))
        rounds["package"].append(package_round())

    def row(name, timed, examples):
        walls = [wall for wall, _ in timed]
        return (
            name,
            statistics.median(walls) / examples,
            statistics.median(cpu for _, cpu in timed) / examples,
            walls,
        )

    rows = [row(name, rounds[name], batches * batch) for name in references]
    rows.append(
        (
            "package pair_dataset, cold (fresh process: construct, TF start-up, first "
            "decodes, first examples)",
            cold[0] / (batches * batch),
            cold[1] / (batches * batch),
            [cold[0]],
        )
    )
    rows.append(
        row("package pair_dataset, warm steady state", rounds["package"], package_batches * batch)
    )
    breakdown = {}
    for pairs in references.values():
        cached = pairs.cache is not None
        count = repeats * batches * batch
        breakdown[cached] = {
            stage: 1e3 * value / count for stage, value in pairs.stage_seconds.items()
        }
        breakdown[cached]["total"] = sum(breakdown[cached].values())
    return rows, breakdown, first_batch


def package_parts(clips, size, batch, repeats):
    """The package pipeline's work for one batch, part by part, each timed alone.

    Mirrors `pair_dataset`: per example two `ImageProjectiveTransformV3` warps (crop and
    augmentation in one map) of the frame window the crop reads, cast to float32, then per
    batch the vectorized numpy geometry. Returns `{part: (wall ms, CPU ms, calls per batch)}`.
    """
    clip = clips[0]
    frame = np.asarray(Image.open(clip.frame_paths[0]).convert("RGB"))
    frame_tensor = tf.constant(frame)
    # The paper's crop of frames 0 and 4, rotated by 3 degrees about the crop's centre.
    scale = crop_scale(person_scale(clip.poses[[0, 4]]), size)
    crop = np.vstack([crop_matrix(clip.box_centres()[[0, 4]].mean(0), scale, size), [0, 0, 1]])
    angle, centre = np.deg2rad(3.0), (size - 1) / 2.0
    cos, sin = np.cos(angle), np.sin(angle)
    rotate = np.array(
        [
            [cos, -sin, centre - cos * centre + sin * centre],
            [sin, cos, centre - sin * centre - cos * centre],
            [0, 0, 1],
        ]
    )
    matrix = rotate @ crop  # frame pixels -> crop pixels
    inverse = np.linalg.inv(matrix)[:2]  # crop pixels -> frame pixels, as the op takes it
    params = tf.constant([[*inverse.ravel(), 0.0, 0.0]], tf.float32)
    # The window of the frame the crop reads (its corners mapped back, +-1 pixel).
    corners = inverse @ np.array([[0, size - 1, 0, size - 1], [0, 0, size - 1, size - 1], [1] * 4])
    low = np.clip(np.floor(corners.min(axis=1)).astype(int) - 1, 0, None)
    high = np.minimum(np.ceil(corners.max(axis=1)).astype(int) + 2, frame.shape[1::-1])
    shifted = inverse.copy()
    shifted[:, 2] -= low
    window_params = tf.constant([[*shifted.ravel(), 0.0, 0.0]], tf.float32)

    def warp(images, params=params):
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=images,
            transforms=params,
            output_shape=[size, size],
            fill_value=0.0,
            interpolation="BILINEAR",
        )

    def decode():
        with Image.open(clip.frame_paths[0]) as image:
            return np.asarray(image.convert("RGB"))

    def pillow_warp():
        linear, offset = inverse[:, :2], inverse[:, 2] + 0.5 - inverse[:, :2] @ [0.5, 0.5]
        data = (*linear[0], offset[0], *linear[1], offset[1])
        image = Image.fromarray(frame).transform(
            (size, size), Image.Transform.AFFINE, tuple(data), Image.Resampling.BILINEAR
        )
        return np.asarray(image, np.float32)

    cast = tf.function(lambda f: tf.cast(f[None], tf.float32))
    cast_warp = tf.function(lambda f: warp(tf.cast(f[None], tf.float32)))
    window_warp = tf.function(
        lambda f: warp(
            tf.cast(f[None, low[1] : high[1], low[0] : high[0]], tf.float32), window_params
        )
    )
    np.testing.assert_allclose(window_warp(frame_tensor), cast_warp(frame_tensor), atol=1e-2)
    frame_float = cast(frame_tensor)
    float_warp = tf.function(warp)
    # Poses of the tennis clip moved into the crop, jittered so that they all differ.
    rng = np.random.default_rng(1)
    moved = clip.poses.transform(matrix[:2]).joints  # (frames, 14, 2)
    frames = np.arange(batch)
    source = Pose(moved[frames % len(clip)] + rng.normal(0.0, 2.0, (batch, 14, 2)))
    target = Pose(moved[(frames + 3) % len(clip)] + rng.normal(0.0, 2.0, (batch, 14, 2)))
    images = 2 * batch
    parts = {
        "decode one frame, Pillow (cold pass only)": (decode, images),
        "warp one frame: its crop window cast to float32 + ImageProjectiveTransformV3 "
        "(as pair_dataset)": (lambda: window_warp(frame_tensor), images),
        "  of which ImageProjectiveTransformV3 alone": (lambda: float_warp(frame_float), images),
        "  before: the whole frame cast to float32 + ImageProjectiveTransformV3": (
            lambda: cast_warp(frame_tensor),
            images,
        ),
        "  alternative: Pillow AFFINE bilinear on the uint8 frame, to float32": (
            pillow_warp,
            images,
        ),
        "joint heatmaps x2 (vectorized, per batch)": (
            lambda: (joint_heatmaps(source, size), joint_heatmaps(target, size)),
            1,
        ),
        "mask log prior (vectorized, per batch)": (lambda: mask_log_prior(source, size), 1),
        "limb transforms (vectorized, per batch)": (lambda: limb_transforms(source, target), 1),
    }
    results = {}
    for name, (function, per_batch) in parts.items():
        for _ in range(2):
            function()
        walls, cpus = [], []
        for _ in range(max(5, repeats)):
            wall, cpu = time.perf_counter(), time.process_time()
            function()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        results[name] = (1e3 * statistics.median(walls), 1e3 * statistics.median(cpus), per_batch)
    return results


def check_reference_crop(clips, size):
    """The re-implemented crop puts the joints where the package's crop does."""
    pairs = ReferencePairs(clips, size, 1, cache_frames=True, augment=False)
    clip = clips[0]
    image0, joints0, scale0, centre0 = pairs.read_frame(clip, 1)
    _, _, scale1, centre1 = pairs.read_frame(clip, 5)
    scale = 1.14 * (size / 256) / max(scale0, scale1)
    crop, joints = pairs.centre_and_scale(image0, joints0, (centre0 + centre1) / 2.0, scale)
    dataset = pair_dataset(clips, size, batch_size=1, pairs=[(0, 1, 5)], augmentation=None)
    inputs, _ = next(iter(dataset))
    np.testing.assert_allclose(inputs["source_keypoints"][0], joints, atol=1e-3)
    difference = np.abs(inputs["source_image"][0].numpy() - pairs.to_float(crop, None))
    return float(np.median(difference)), float(np.mean(difference))


# --------------------------------------------------------------------------- 2. train steps


def real_batch(clips, size, batch):
    inputs, target = next(iter(pair_dataset(clips, size, batch_size=batch, seed=1)))
    return inputs, target


def time_train_step(make_trainer, loss, x, y, steps, warmup):
    """(seconds of the first call: tracing + one step, median seconds per step, all)."""
    trainer = make_trainer()
    trainer.compile(reconstruction_loss=loss)
    start = time.perf_counter()
    trainer.train_on_batch(x, y)
    first = time.perf_counter() - start
    for _ in range(warmup):
        trainer.train_on_batch(x, y)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        trainer.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    jit = trainer.jit_compile
    del trainer
    keras.backend.clear_session()
    gc.collect()
    return first, statistics.median(times), times, jit


def time_loss(loss, y, steps):
    """Median seconds of the loss's forward + gradient w.r.t. the prediction (tf.function)."""
    y_true = tf.constant(y)
    y_pred = tf.constant(np.clip(y[::-1] * 0.9, -1, 1))

    @tf.function
    def step(y_true, y_pred):
        with tf.GradientTape() as tape:
            tape.watch(y_pred)
            value = loss(y_true, y_pred)
        return value, tape.gradient(value, y_pred)

    step(y_true, y_pred)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        _, grad = step(y_true, y_pred)
        grad.numpy()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_training(clips, sizes, batch, steps, warmup, perceptual_step):
    rows, jit = [], None
    perceptual = PerceptualLoss(weights=None, allow_random_weights=True)
    loss_rows = []
    for size in sizes:
        x, y = real_batch(clips, size, batch)
        configs = [
            (
                "PoseWarpGenerator stage 1, L1",
                lambda s=size: PoseWarpTrainer(PoseWarpGenerator(s)),
                "l1",
            ),
            (
                "PoseWarpGenerator stage 2, L1 + 0.1 BCE (PoseDiscriminator)",
                lambda s=size: PoseWarpTrainer(PoseWarpGenerator(s), PoseDiscriminator(s)),
                "l1",
            ),
            ("UNetBaseline stage 1, L1", lambda s=size: PoseWarpTrainer(UNetBaseline(s)), "l1"),
        ]
        if perceptual_step:
            configs.insert(
                1,
                (
                    "PoseWarpGenerator stage 1, perceptual (RANDOM VGG19: cost proxy)",
                    lambda s=size: PoseWarpTrainer(PoseWarpGenerator(s)),
                    perceptual,
                ),
            )
        for name, make, loss in configs:
            first, median, times, jit = time_train_step(make, loss, x, y, steps, warmup)
            rows.append((size, name, first, median, times))
        y_np = y.numpy()
        loss_rows.append(
            (
                size,
                time_loss(perceptual, y_np, steps),
                time_loss(lambda a, b: tf.reduce_mean(l1_loss(a, b)), y_np, steps),
            )
        )
    return rows, loss_rows, jit


# --------------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=256, help="pipeline crop size")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument(
        "--examples", type=int, default=32, help="reference examples per timed round"
    )
    parser.add_argument(
        "--package-examples", type=int, default=256, help="package examples per timed round"
    )
    parser.add_argument("--repeats", type=int, default=5, help="pipeline rounds (median)")
    parser.add_argument("--steps", type=int, default=2, help="timed train steps (median)")
    parser.add_argument(
        "--warmup", type=int, default=0, help="untimed train steps after the tracing call"
    )
    parser.add_argument("--train-sizes", default="128,256", help="comma-separated; '' skips")
    parser.add_argument(
        "--perceptual-step",
        action="store_true",
        help="also time a whole stage-1 step with the perceptual loss (random VGG19)",
    )
    parser.add_argument("--skip-pipeline", action="store_true")
    args = parser.parse_args(argv)
    tf.get_logger().setLevel("ERROR")  # each new trainer traces anew: no retracing warnings
    batch, size = args.batch, args.size
    batches = max(1, -(-args.examples // batch))
    package_batches = max(1, -(-args.package_examples // batch))
    train_sizes = [int(s) for s in args.train_sizes.split(",") if s.strip()]
    clips = read_posewarp_dataset(TENNIS)
    load_before = os.getloadavg()[0]
    wall = time.perf_counter()

    if not args.skip_pipeline:
        pipeline_rows, breakdown, first_batch = bench_pipeline(
            clips, size, batch, batches, package_batches, args.repeats
        )
        gc.collect()  # the package's iterator and its worker threads end here
        parts = package_parts(clips, size, batch, args.repeats)
        crop_median, crop_mean = check_reference_crop(clips, size)
    if train_sizes:
        train_rows, loss_rows, jit = bench_training(
            clips, train_sizes, batch, args.steps, args.warmup, args.perceptual_step
        )

    print(
        f"TF {tf.__version__}, Keras {keras.__version__}, numpy {np.__version__}, "
        f"Pillow {PIL.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
        f"GPUs: {len(tf.config.list_physical_devices('GPU'))}, "
        f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}, "
        f"wall {time.perf_counter() - wall:.0f} s"
    )
    if not args.skip_pipeline:
        examples = batches * batch
        print()
        print(
            f"## 1. Input pipeline: {size}x{size}, paper augmentation, batch {batch}, "
            f"tennis clip ({len(clips[0])} frames of "
            f"{'x'.join(map(str, Image.open(clips[0].frame_paths[0]).size))}); "
            f"median of {args.repeats} interleaved rounds of {examples} examples "
            f"(package warm: {package_batches * batch})"
        )
        print()
        print(
            "| pipeline | examples/s | ms / example | CPU ms / example | rounds (s) | "
            "package warm / this |"
        )
        print("|---|---:|---:|---:|---|---:|")
        warm_wall = pipeline_rows[-1][1]
        for name, wall, cpu, walls in pipeline_rows:
            print(
                f"| {name} | {1 / wall:.1f} | {1e3 * wall:.1f} | {1e3 * cpu:.1f} | "
                f"{', '.join(f'{w:.2f}' for w in walls)} | {wall / warm_wall:.1f}x |"
            )
        (_, ref_wall, ref_cpu, _), (_, cached_wall, cached_cpu, _) = pipeline_rows[:2]
        cold_wall, (_, _, warm_cpu, _) = pipeline_rows[2][1], pipeline_rows[3]
        print()
        print(
            f"package / reference, examples/s (target >= 10x): warm {ref_wall / warm_wall:.1f}x, "
            f"cold {ref_wall / cold_wall:.1f}x; vs the reference with cached frames: warm "
            f"{cached_wall / warm_wall:.1f}x. CPU time per example, reference / package warm: "
            f"{ref_cpu / warm_cpu:.1f}x (cached frames: {cached_cpu / warm_cpu:.1f}x). "
            f"Package time to first batch: {first_batch:.2f} s. The package's maps run in "
            f"parallel on the {os.cpu_count()} cores (AUTOTUNE); the reference generator is "
            "one Python thread."
        )
        print()
        print("Reference approach, ms per example by stage (wall / CPU of its thread):")
        print()
        print("| stage | decoding per example | frames cached |")
        print("|---|---:|---:|")
        for stage, (wall, cpu) in breakdown[False].items():
            cached_wall, cached_cpu = breakdown[True][stage]
            print(f"| {stage} | {wall:.1f} / {cpu:.1f} | {cached_wall:.1f} / {cached_cpu:.1f} |")
        print()
        print(
            f"Package pipeline, its parts timed alone ({size}x{size}, batch {batch}; median "
            "of 5; CPU = process CPU time, all threads):"
        )
        print()
        print("| part | wall ms / call | CPU ms / call | calls / batch | CPU ms / example |")
        print("|---|---:|---:|---:|---:|")
        for name, (wall, cpu, per_batch) in parts.items():
            print(
                f"| {name} | {wall:.2f} | {cpu:.2f} | {per_batch} | {cpu * per_batch / batch:.2f} |"
            )
        used = [name for name in parts if not name.startswith(("  ", "decode"))]
        total = sum(parts[name][1] * parts[name][2] for name in used) / batch
        print()
        print(
            f"Sum of the parts pair_dataset runs warm: {total:.1f} CPU ms / example, each "
            f"timed alone on the main thread; measured in the pipeline: {1e3 * warm_cpu:.1f}, "
            "which adds tf.data's own work and loses or gains by running the maps side by "
            "side (the figures differ most on a loaded machine)."
        )
        print()
        print(
            "Check: the re-implemented crop puts the joints where pair_dataset's does "
            f"(atol 1e-3); pixels differ by median {crop_median:.3f}, mean {crop_mean:.3f} "
            "(of 2): resize-then-translate samples twice, the package once."
        )
    if train_sizes:
        print()
        print(
            f"## 2. Train step: batch {batch}, train_on_batch on one real batch, "
            f"median of {args.steps} steps after the first (tracing) call"
            f"{f' and {args.warmup} more' if args.warmup else ''}; "
            f"jit_compile={jit}, CPU float32"
        )
        print()
        print(
            "| size | model / stage | first call (s) | s / step | s / example | steps (s) | "
            "vs PoseWarp stage 1 |"
        )
        print("|---:|---|---:|---:|---:|---|---:|")
        stage1 = {s: m for s, n, _, m, _ in train_rows if n == "PoseWarpGenerator stage 1, L1"}
        for size_, name, first, median, times in train_rows:
            print(
                f"| {size_} | {name} | {first:.1f} | {median:.2f} | {median / batch:.2f} | "
                f"{', '.join(f'{t:.2f}' for t in times)} | {median / stage1[size_]:.2f}x |"
            )
        print()
        print(
            "The paper's stage 1 uses the perceptual loss, which needs ImageNet VGG19 weights: "
            "they cannot be downloaded here, so no row above uses them. Cost proxy with RANDOM "
            "VGG19 weights (same layers and FLOPs, meaningless values): the loss's forward + "
            "gradient w.r.t. the generated batch, alone (tf.function):"
        )
        print()
        print(
            "| size | perceptual loss fwd+bwd (s / batch) | L1 fwd+bwd (s / batch) | "
            "estimated perceptual stage-1 step (s / example) |"
        )
        print("|---:|---:|---:|---:|")
        for size_, seconds, l1_seconds in loss_rows:
            estimate = (stage1[size_] + seconds - l1_seconds) / batch
            print(f"| {size_} | {seconds:.2f} | {l1_seconds:.4f} | {estimate:.2f} |")


if __name__ == "__main__":
    main()
