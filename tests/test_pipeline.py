"""The training-pair pipeline: element layout, seeding and resumption, crops that agree with
an independent full-frame warp, images that agree with their keypoints under augmentation,
the frame cache, and named errors.

Synthetic clips are written by the tests (noise frames, or black frames with a white dot
on every joint); one test runs on the bundled tennis clip.
"""

import numpy as np
import pytest
from PIL import Image

from posegan_zoo.data import Augmentation, Clip, pair_dataset, read_posewarp_dataset
from posegan_zoo.data.pipeline import FrameCache, _read_window
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.models.posewarp.generator import GENERATOR_INPUTS
from posegan_zoo.pose import Pose, crop_matrix, crop_scale, person_scale, warp_image

FRAME_HEIGHT, FRAME_WIDTH = 120, 160
SIZE = 64


def upright_pose(rng, centre, height):
    """A plausible standing pose of `height` pixels centred on `centre`, jittered."""
    # Head, neck, right arm (3), left arm (3), right leg (3), left leg (3): (x, y) in units
    # of the person's height, origin at the centre.
    layout = np.array(
        [
            [0.0, -0.45], [0.0, -0.35],
            [-0.12, -0.33], [-0.18, -0.15], [-0.2, 0.0],
            [0.12, -0.33], [0.18, -0.15], [0.2, 0.0],
            [-0.08, 0.02], [-0.09, 0.25], [-0.1, 0.47],
            [0.08, 0.02], [0.09, 0.25], [0.1, 0.47],
        ]
    )  # fmt: skip
    return np.asarray(centre) + height * layout + rng.normal(0.0, 1.0, (14, 2))


def write_clip(folder, poses, boxes, frames):
    paths = []
    for k, frame in enumerate(frames):
        path = folder / f"{k}.png"
        Image.fromarray(frame).save(path)
        paths.append(path)
    return Clip("synthetic", paths, Pose(np.asarray(poses, np.float64)), np.asarray(boxes))


def person_box(pose):
    low, high = pose.min(axis=0), pose.max(axis=0)
    return np.concatenate([low, high - low])


@pytest.fixture(scope="module")
def noise_clip(tmp_path_factory):
    """Noise frames; people near a corner, mid-frame, and wholly outside the frame."""
    rng = np.random.default_rng(0)
    centres = [(20, 25), (30, 20), (80, 60), (90, 55), (150, 110), (-300, -300)]
    poses = [upright_pose(rng, centre, 60) for centre in centres]
    frames = rng.integers(0, 256, (len(centres), FRAME_HEIGHT, FRAME_WIDTH, 3), np.uint8)
    folder = tmp_path_factory.mktemp("noise")
    return write_clip(folder, poses, [person_box(p) for p in poses], frames)


@pytest.fixture(scope="module")
def dot_clip(tmp_path_factory):
    """Black frames with a white 7 x 7 dot on every joint; the right hand is raised."""
    rng = np.random.default_rng(1)
    poses, frames = [], []
    for _ in range(8):
        height = rng.uniform(55, 75)
        pose = upright_pose(rng, rng.uniform((60, 50), (100, 70)), height)
        pose[4] = pose[2] + np.array([-0.05, -0.25]) * height  # right wrist above the head
        frame = np.zeros((FRAME_HEIGHT, FRAME_WIDTH, 3), np.uint8)
        for x, y in np.round(pose).astype(int):
            frame[max(y - 3, 0) : y + 4, max(x - 3, 0) : x + 4] = 255
        poses.append(pose)
        frames.append(frame)
    folder = tmp_path_factory.mktemp("dots")
    return write_clip(folder, poses, [person_box(p) for p in poses], frames)


def batches(dataset, count):
    return [
        ({name: value.numpy() for name, value in inputs.items()}, target.numpy())
        for inputs, target in dataset.take(count)
    ]


def test_elements_hold_the_generator_inputs_and_keypoints(noise_clip):
    inputs, target = batches(pair_dataset([noise_clip], SIZE, batch_size=3), 1)[0]
    assert set(inputs) == set(GENERATOR_INPUTS) | {"source_keypoints", "target_keypoints"}
    assert inputs["source_image"].shape == target.shape == (3, SIZE, SIZE, 3)
    assert inputs["source_pose"].shape == (3, SIZE // 2, SIZE // 2, 14)
    assert inputs["mask_prior"].shape == (3, SIZE, SIZE, 11)
    assert inputs["transforms"].shape == (3, 2, 3, 11)
    assert inputs["source_keypoints"].shape == (3, 14, 2)
    assert all(value.dtype == np.float32 for value in inputs.values())
    assert -1.0 <= target.min() and target.max() <= 1.0


def test_a_seed_fixes_the_stream_and_start_resumes_it(noise_clip):
    first = batches(pair_dataset([noise_clip], SIZE, batch_size=2, seed=5), 3)
    again = batches(pair_dataset([noise_clip], SIZE, batch_size=2, seed=5), 3)
    other = batches(pair_dataset([noise_clip], SIZE, batch_size=2, seed=6), 3)
    resumed = batches(pair_dataset([noise_clip], SIZE, batch_size=2, seed=5, start=4), 1)
    for (inputs, target), (inputs_again, target_again) in zip(first, again, strict=True):
        np.testing.assert_array_equal(target, target_again)
        for name in inputs:
            np.testing.assert_array_equal(inputs[name], inputs_again[name], err_msg=name)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, other, strict=True))
    # Examples 4 and 5 of the stream make the third batch of 2.
    np.testing.assert_array_equal(resumed[0][1], first[2][1])
    np.testing.assert_array_equal(resumed[0][0]["mask_prior"], first[2][0]["mask_prior"])


def test_crops_equal_a_full_frame_warp_even_where_the_crop_leaves_the_frame(noise_clip):
    # Pairs near the frame's corners read windows clipped by the frame; the last person is
    # wholly outside it, so its crop reads no pixel at all.
    pairs = [(0, 0, 1), (0, 2, 3), (0, 4, 2), (0, 5, 5)]
    dataset = pair_dataset(
        [noise_clip], SIZE, batch_size=len(pairs), pairs=pairs, augmentation=None, min_gap=0.0
    )
    inputs, target = batches(dataset, 1)[0]
    frames = [np.asarray(Image.open(path)) for path in noise_clip.frame_paths]
    scales = [crop_scale([s], SIZE) for s in person_scale(noise_clip.poses)]
    centres = noise_clip.box_centres()
    for k, (_, first, second) in enumerate(pairs):
        matrix = crop_matrix(
            (centres[first] + centres[second]) / 2.0, min(scales[first], scales[second]), SIZE
        )
        for image, frame in ((inputs["source_image"][k], first), (target[k], second)):
            expected = warp_image(frames[frame], matrix, SIZE) / 127.5 - 1.0
            np.testing.assert_allclose(image, expected, atol=2e-4, err_msg=f"pair {k}")
    assert (target[3] == -1.0).all()  # black: the fill of a crop outside the frame
    assert 0.05 < (target[0] == -1.0).mean() < 0.95  # partly outside


def test_augmented_images_agree_with_their_keypoints(dot_clip):
    # Flips, rotations, zooms and shifts move image and keypoints alike: every keypoint in
    # the crop lands on its (white) dot, in both images of every pair.
    augmentation = Augmentation(max_rotation=20.0, max_shift=6.0, scale_range=(0.9, 1.2))
    dataset = pair_dataset([dot_clip], SIZE, batch_size=8, seed=3, augmentation=augmentation)
    checked = 0
    flipped = 0
    for inputs, target in batches(dataset, 2):
        for images, keypoints in (
            (inputs["source_image"], inputs["source_keypoints"]),
            (target, inputs["target_keypoints"]),
        ):
            for image, joints in zip(images, keypoints, strict=True):
                inside = (joints > 1).all(axis=-1) & (joints < SIZE - 2).all(axis=-1)
                x, y = np.round(joints[inside]).astype(int).T
                assert (image[y, x].mean(axis=-1) > 0.3).all()
                checked += int(inside.sum())
                # A flip mirrors the raised right hand into a raised *left* hand.
                flipped += int(joints[7, 1] < joints[5, 1])
    assert checked > 300
    assert 0 < flipped < 32


def test_both_images_of_a_pair_get_the_same_draw(dot_clip, tmp_path):
    still = Clip("still", [dot_clip.frame_paths[0]] * 4, dot_clip.poses[[0, 0, 0, 0]],
                 dot_clip.boxes[[0, 0, 0, 0]])  # fmt: skip
    inputs, target = batches(pair_dataset([still], SIZE, batch_size=6, seed=2), 1)[0]
    np.testing.assert_array_equal(inputs["source_image"], target)
    np.testing.assert_array_equal(inputs["source_keypoints"], inputs["target_keypoints"])
    assert not np.array_equal(target[0], target[1])  # different examples, different draws


def test_read_window_clips_to_the_frame():
    frame = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    crop, origin = _read_window(frame, (-2, 1, 3, 9))
    np.testing.assert_array_equal(crop, frame[1:5, 0:3])
    assert origin == (0.0, 1.0)
    crop, origin = _read_window(frame, (7, 0, 12, 3))  # wholly to the right
    assert crop.shape == (1, 1, 3) and not crop.any()


def test_frames_are_decoded_once_and_the_cache_is_bounded(noise_clip):
    cache = FrameCache(noise_clip.frame_paths)
    for index in (0, 1, 0, 2, 1):
        cache(index)
    assert (cache.misses, cache.hits) == (3, 2)
    frame_bytes = FRAME_HEIGHT * FRAME_WIDTH * 3
    small = FrameCache(noise_clip.frame_paths, max_bytes=2 * frame_bytes)
    for index in (0, 1, 2, 0):
        small(index)
    assert small.misses == 4  # frame 0 was evicted by frame 2


def test_pipeline_errors_are_named(noise_clip):
    with pytest.raises(InvalidConfigError, match="clip index 3"):
        pair_dataset([noise_clip], SIZE, pairs=[(3, 0, 1)])
    with pytest.raises(InvalidConfigError, match=r"frames \(0, 9\)"):
        pair_dataset([noise_clip], SIZE, pairs=[(0, 0, 9)])
    with pytest.raises(InvalidConfigError, match="far enough apart"):
        pair_dataset([noise_clip], SIZE, min_gap=0.9)
    with pytest.raises(InvalidConfigError, match="Clip"):
        pair_dataset(["not a clip"], SIZE)


def test_tennis_pairs_are_cropped_on_the_person(tennis_dir):
    clips = read_posewarp_dataset(tennis_dir)
    inputs, target = batches(pair_dataset(clips, SIZE, batch_size=4, seed=0), 1)[0]
    keypoints = np.concatenate([inputs["source_keypoints"], inputs["target_keypoints"]])
    visible = np.isfinite(keypoints).all(axis=-1)
    # The paper's crop keeps the whole person inside the frame.
    assert ((keypoints[visible] > 0) & (keypoints[visible] < SIZE)).all()
    assert target.std() > 0.1


def test_holdout_keeps_short_clips_for_training_and_masks_with_their_frames():
    from posegan_zoo.data import Clip, holdout_split
    from posegan_zoo.pose import Pose

    def clip(name, count, masks=False):
        paths = [f"{name}/{k}.png" for k in range(count)]
        return Clip(
            name,
            [f"{name}/{k}.jpg" for k in range(count)],
            Pose(np.zeros((count, 14, 2))),
            np.ones((count, 4)),
            mask_paths=paths if masks else None,
        )

    train, pairs = holdout_split([clip("short", 2), clip("long", 8, masks=True)])
    assert [len(c) for c in train] == [2, 6]
    assert {index for index, _, _ in pairs} == {1}
    assert [p.name for p in train[1].mask_paths] == [f"{k}.png" for k in range(6)]


def with_masks(clip, folder, masks):
    """`clip` with one grey mask PNG per frame (`masks`: uint8 `(H, W)` arrays)."""
    paths = []
    for k, mask in enumerate(masks):
        paths.append(folder / f"mask_{k}.png")
        Image.fromarray(mask, mode="L").save(paths[-1])
    return Clip(clip.name, clip.frame_paths, clip.poses, clip.boxes, mask_paths=paths)


def test_masks_are_warped_exactly_as_their_frames_under_augmentation(dot_clip, tmp_path):
    # Each mask is its frame's red channel, so after the same warp (flip, rotation, zoom,
    # shift; no intensity change) the mask and the frame's red channel must agree.
    frames = [np.asarray(Image.open(path)) for path in dot_clip.frame_paths]
    masked = with_masks(dot_clip, tmp_path, [frame[..., 0] for frame in frames])
    augmentation = Augmentation(max_rotation=20.0, max_shift=6.0, intensity_range=(1.0, 1.0))
    dataset = pair_dataset([masked], SIZE, batch_size=8, seed=3, augmentation=augmentation)
    for inputs, target in batches(dataset, 2):
        for mask, image in ((inputs["source_mask"], inputs["source_image"]),
                            (inputs["target_mask"], target)):  # fmt: skip
            assert mask.shape == (8, SIZE, SIZE, 1) and mask.dtype == np.float32
            assert mask.min() >= 0.0 and mask.max() <= 1.0 and mask.max() > 0.5
            np.testing.assert_allclose(mask[..., 0], (image[..., 0] + 1.0) / 2.0, atol=1e-5)
    # The masks change nothing else, and the stream stays deterministic.
    plain = batches(pair_dataset([dot_clip], SIZE, batch_size=8, seed=3,
                                 augmentation=augmentation), 1)[0]  # fmt: skip
    again = batches(dataset, 1)[0]
    np.testing.assert_array_equal(plain[1], again[1])
    assert set(again[0]) == set(plain[0]) | {"source_mask", "target_mask"}
    for name in plain[0]:
        np.testing.assert_array_equal(plain[0][name], again[0][name], err_msg=name)


def test_a_mask_of_another_size_than_its_frame_is_named(dot_clip, tmp_path):
    masked = with_masks(dot_clip, tmp_path, [np.zeros((10, 10), np.uint8)] * len(dot_clip))
    with pytest.raises(Exception, match=r"mask_0\.png is 10 x 10 pixels but its frame"):
        batches(pair_dataset([masked], SIZE, batch_size=2, pairs=[(0, 0, 5)]), 1)


def test_the_masks_extra_keys_do_not_disturb_models_and_trainers(dot_clip, tmp_path):
    from posegan_zoo.models import (
        PoseCycleTrainer,
        PoseWarpGenerator,
        PoseWarpTrainer,
        UNetBaseline,
    )

    frames = [np.asarray(Image.open(path)) for path in dot_clip.frame_paths]
    masked = with_masks(dot_clip, tmp_path, [frame[..., 0] for frame in frames])
    dataset = pair_dataset([masked], SIZE, batch_size=2, seed=0, reverse_inputs=True)
    inputs, _ = next(iter(dataset))
    assert {"source_mask", "target_mask", "target_mask_prior"} <= set(inputs)
    generators = [
        (PoseWarpTrainer, PoseWarpGenerator.tiny(SIZE, width=4)),
        (PoseWarpTrainer, UNetBaseline(SIZE, encoder_widths=[4] * 11, decoder_widths=[4] * 5)),
        (PoseCycleTrainer, PoseWarpGenerator.tiny(SIZE, width=4)),
    ]
    for trainer_class, generator in generators:
        assert generator(inputs).shape == (2, SIZE, SIZE, 3)
        trainer = trainer_class(generator)
        trainer.compile(reconstruction_loss="l1")
        history = trainer.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0).history
        assert all(np.isfinite(values).all() for values in history.values()), trainer_class
