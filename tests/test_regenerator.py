"""PoseRegenerator and the metrics: inputs of every kind, full-frame results, animation."""

import json
import pathlib
import types

import keras
import numpy as np
import pytest
import scipy.io
import tensorflow as tf
from PIL import Image

from posegan_zoo import PoseRegenerator, PoseWarpGenerator, UNetBaseline, WarpOnlyGenerator
from posegan_zoo.data import Clip, pair_dataset, read_posewarp_dataset
from posegan_zoo.errors import (
    InvalidConfigError,
    InvalidImageError,
    InvalidPoseError,
    NoPersonError,
)
from posegan_zoo.images import load_image
from posegan_zoo.metrics import image_metrics, l1, masked_ssim, psnr, ssim, ssim_map
from posegan_zoo.pose import Pose
from posegan_zoo.pose.crop import warp_image

VIDEO = "Flavia Pennetta in 4k"


@pytest.fixture(scope="module")
def tennis(tennis_dir):
    info = scipy.io.loadmat(tennis_dir / "info" / f"{VIDEO}.mat")["data"]
    joints = np.moveaxis(info["X"][0, 0] - 1.0, 2, 0)
    frames = [tennis_dir / "frames" / VIDEO / f"{k}.jpg" for k in range(1, 9)]
    return frames, joints


@pytest.fixture(scope="module")
def regenerator():
    return PoseRegenerator(WarpOnlyGenerator(64))


def test_metrics_agree_with_tensorflow_and_known_values():
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (2, 48, 48, 3)).astype("float32")
    b = np.clip(a + rng.normal(0, 0.2, a.shape), -1, 1).astype("float32")
    np.testing.assert_allclose(ssim(a, b), tf.image.ssim(a, b, max_val=2.0), rtol=1e-5)
    inner = np.asarray(ssim_map(a, b))[:, 5:-5, 5:-5].mean(axis=(1, 2))
    np.testing.assert_allclose(inner, ssim(a, b), rtol=1e-3)
    np.testing.assert_allclose(l1(a, b), np.abs(a - b).mean(axis=(1, 2, 3)), rtol=1e-6)
    assert psnr(a, a[...]).tolist() == [np.inf, np.inf] or np.isinf(psnr(a, a)).all()
    assert float(psnr(np.zeros((8, 8, 3)), np.full((8, 8, 3), 0.2))) == pytest.approx(20.0)
    mask = np.zeros((2, 48, 48))
    mask[:, 10:30, 10:30] = 1
    c = a.copy()
    c[:, :, 40:] = 0  # differs only far from the mask
    np.testing.assert_allclose(masked_ssim(a, c, mask), 1.0, atol=1e-6)
    assert set(image_metrics(a, b, mask)) == {"ssim", "psnr", "l1", "masked_ssim"}
    with pytest.raises(InvalidImageError, match="same shape"):
        ssim(a, b[:, :40])


def test_tennis_regeneration_full_frames_crops_and_metrics(tennis, regenerator):
    frames, joints = tennis
    result = regenerator(frames[0], joints[0], joints[4], target_image=frames[4])
    original = np.asarray(Image.open(frames[0]).convert("RGB"))
    assert result.fake.shape == result.recovered.shape == original.shape
    assert result.fake.dtype == np.uint8
    assert result.fake_crop.shape == result.recovered_crop.shape == (64, 64, 3)
    # Outside the crop window the frame is untouched.
    np.testing.assert_array_equal(result.fake[:, -100:], original[:, -100:])
    assert not np.array_equal(result.fake, original)
    assert set(result.metrics) == set(result.fake_metrics) == {"ssim", "masked_ssim", "psnr", "l1"}
    assert 0.3 < result.metrics["ssim"] <= 1.0 and result.metrics["l1"] < 0.3
    assert {"source_masks", "warped_limbs", "foreground_mask"} <= set(result.intermediates)
    # The poses were moved into the crop: the source crop shows the person at its joints.
    assert result.source_pose.joints.min() > -5 and result.source_pose.joints.max() < 69


def test_identity_regeneration_recovers_the_source(tennis, regenerator):
    frames, joints = tennis
    result = regenerator(frames[2], joints[2], joints[2])
    # Same pose both ways: the way back is a warp by the identity.
    assert result.metrics["ssim"] > 0.6


def test_inputs_of_every_kind_give_the_same_result(tennis, regenerator, tmp_path):
    frames, joints = tennis
    image = Image.open(frames[1]).convert("RGB")
    array = np.asarray(image)
    reference = regenerator(frames[1], joints[1], joints[6]).fake_crop
    record = {
        "image": "x.jpg",
        "layout": "posewarp14",
        "people": [{"keypoints": joints[6].tolist()}],
    }
    (tmp_path / "target.json").write_text(json.dumps(record))
    variants = [
        (image, joints[1], tmp_path / "target.json"),
        (array.astype(np.float32) / 255.0, Pose(joints[1]), joints[6]),
        (array, np.concatenate([joints[1], np.ones((14, 1))], 1), joints[6]),
        (image.convert("RGBA"), joints[1], joints[6]),
    ]
    for image_in, source, target in variants:
        np.testing.assert_allclose(
            regenerator(image_in, source, target).fake_crop, reference, atol=2e-2
        )
    grey = regenerator(image.convert("L"), joints[1], joints[6])
    assert grey.fake.shape == array.shape
    batch = regenerator([frames[1], frames[2]], [joints[1], joints[2]], [joints[6], joints[5]])
    assert len(batch) == 2
    np.testing.assert_allclose(batch[0].fake_crop, reference, atol=1e-5)


def test_missing_joints_are_fine(tennis, regenerator):
    frames, joints = tennis
    source = joints[0].copy()
    source[[4, 7]] = np.nan  # both wrists unannotated
    result = regenerator(frames[0], source, joints[3])
    assert np.isfinite(result.fake_crop).all()


@pytest.mark.parametrize("model", ["unet", "posewarp"])
def test_learned_generators_plug_in(tennis, model):
    frames, joints = tennis
    generator = (
        UNetBaseline(64, encoder_widths=[4] * 11, decoder_widths=[4] * 5)
        if model == "unet"
        else PoseWarpGenerator.tiny(64, width=4)
    )
    result = PoseRegenerator(generator)(frames[0], joints[0], joints[3])
    assert np.isfinite(result.recovered_crop).all()
    assert bool(result.intermediates) == (model == "posewarp")


def test_animate_writes_frames_and_a_gif(tennis, regenerator, tmp_path):
    frames, joints = tennis
    animation = regenerator.animate(
        frames[0],
        joints[1:4],
        tmp_path / "anim.gif",
        source_pose=joints[0],
        fps=4,
        frames_dir=tmp_path / "anim",
    )
    assert animation.path == tmp_path / "anim.gif" and animation.frame_count == 3
    assert sorted(p.name for p in (tmp_path / "anim").glob("frame-*.png")) == [
        "frame-0000.png",
        "frame-0001.png",
        "frame-0002.png",
    ]
    with Image.open(animation.path) as gif:
        assert gif.n_frames == 3


@pytest.mark.parametrize("model", ["warp-only", "posewarp"])
def test_batches_compiled_match_eager_single_calls(tennis, model):
    """One compiled call per batch gives what the eager model gives one image at a time."""
    from posegan_zoo.models.posewarp.inputs import posewarp_inputs

    frames, joints = tennis
    keras.utils.set_random_seed(1)
    generator = WarpOnlyGenerator(64) if model == "warp-only" else PoseWarpGenerator.tiny(64, 4)
    regenerator = PoseRegenerator(generator, batch_size=2)
    images, sources, targets = (
        [frames[k] for k in (0, 1, 2, 3, 5)],
        joints[[0, 1, 2, 3, 5]],
        [joints[k] for k in (4, 6, 7, 0, 2)],
    )
    batch = regenerator(images, list(sources), targets)  # batches of 2, 2 and 1
    for k, result in enumerate(batch):
        single = regenerator(images[k], sources[k], targets[k])
        np.testing.assert_allclose(result.fake_crop, single.fake_crop, atol=1e-5)
        np.testing.assert_allclose(result.recovered_crop, single.recovered_crop, atol=1e-5)
        assert result.metrics == pytest.approx(single.metrics, abs=1e-4)
        # The eager model, called alone, on the same crops.
        inputs = posewarp_inputs(result.source_crop, result.source_pose, result.target_pose)
        eager = {
            key: np.asarray(v)[0] for key, v in generator(inputs, return_intermediates=True).items()
        }
        np.testing.assert_allclose(result.fake_crop, eager["image"], atol=1e-5)
        assert set(result.intermediates) == set(eager) - {"image"}
        for key, value in result.intermediates.items():
            np.testing.assert_allclose(value, eager[key], atol=1e-5, err_msg=key)
        back = posewarp_inputs(eager["image"], result.target_pose, result.source_pose)
        np.testing.assert_allclose(result.recovered_crop, np.asarray(generator(back))[0], atol=1e-5)
    # An animation's frames, in batches: frame k is the single call's fake for pose k.
    poses = [joints[k] for k in (4, 6, 7)]
    animated = list(regenerator.generate_frames(frames[0], poses, joints[0], batch_size=2))
    for pose, frame in zip(poses, animated, strict=True):
        np.testing.assert_allclose(frame, regenerator(frames[0], joints[0], pose).fake, atol=1)
    with pytest.raises(InvalidConfigError, match="`batch_size`"):
        PoseRegenerator(generator, batch_size=0)


def test_crops_and_pastes_read_only_the_crop_s_window(tennis, regenerator):
    """The crop and the paste touch the crop's window only, as if done on the whole frame."""
    from posegan_zoo.regenerator import _crop, _paste

    frames, joints = tennis
    frame = np.asarray(Image.open(frames[0]).convert("RGB"))
    result = regenerator(frames[0], joints[0], joints[4])
    whole = warp_image(frame, result.crop, (64, 64))
    np.testing.assert_allclose(_crop(frame, result.crop, (64, 64)), whole, atol=1e-2)
    inverse = np.linalg.inv(np.vstack([result.crop, [0, 0, 1]]))[:2]
    alpha = np.ones((64, 64, 1), np.float32)
    alpha[:2], alpha[-2:], alpha[:, :2], alpha[:, -2:] = 0.0, 0.0, 0.0, 0.0
    layer = np.concatenate([(result.fake_crop + 1) * 127.5, alpha], -1)
    pasted = warp_image(layer, inverse, frame.shape[:2])
    weight = np.clip(pasted[..., 3:], 0, 1)
    expected = np.uint8(np.clip(weight * pasted[..., :3] + (1 - weight) * frame, 0, 255).round())
    fake = _paste(frame, result.fake_crop, result.crop)
    np.testing.assert_allclose(fake, expected, atol=1)
    assert np.mean(fake != expected) < 1e-3
    # A crop wholly outside the frame: zeros, and nothing pasted.
    away = result.crop.copy()
    away[:, 2] -= 5000
    assert not _crop(frame, away, (64, 64)).any()
    np.testing.assert_array_equal(_paste(frame, result.fake_crop, away), frame)


def test_comparison_panels_are_at_least_256_pixels(tennis, regenerator):
    from posegan_zoo.reporting import comparison_grid
    from posegan_zoo.visualize import to_uint8

    frames, joints = tennis
    result = regenerator(frames[0], joints[0], joints[4])  # a 64-pixel model
    grid = comparison_grid(result)
    assert grid.shape == (256, 3 * 256, 3)
    # Each model pixel is a 4 x 4 block (where no skeleton is drawn over it).
    source = to_uint8(result.source_crop)
    blocks = grid[:, :256].reshape(64, 4, 64, 4, 3)
    same = (blocks == source[:, None, :, None]).all(axis=(1, 3, 4))
    assert same.mean() > 0.8
    assert comparison_grid(result, min_side=64).shape == (64, 3 * 64, 3)


def test_regenerate_saves_the_intermediates_as_pictures(tmp_path, capsys):
    from posegan_zoo.cli import main
    from posegan_zoo.presets import save_preset
    from posegan_zoo.reporting import colour_layers, intermediate_images

    root = pathlib.Path(__file__).resolve().parents[1] / "examples" / "data"
    photo = root / "posewarp_tennis" / "frames" / "Flavia Pennetta in 4k" / "1.jpg"
    pose, target = root / "poses" / "tennis_1.json", root / "poses" / "tennis_5.json"
    out = tmp_path / "out"
    args = ["regenerate", str(photo), "--pose", str(pose), "--target-pose", str(target)]
    code = main([*args, "--preset", "warp-only", "--out", str(out), "--save-intermediates"])
    assert code == 0
    written = json.loads(capsys.readouterr().out)["files"]
    folder = out / "intermediates"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "background.png",
        "foreground.png",
        "foreground_mask.png",
        "hole.png",
        "source_masks.png",
        "warped_background.png",
        "warped_limbs.png",
    ]
    assert {str(folder / name) for name in names} <= set(written)
    # The same pictures as the Python call, at the model's size (256).
    result = PoseRegenerator.from_preset("warp-only")(photo, pose, target)
    pictures = intermediate_images(result)
    for name in names:
        with Image.open(folder / name) as png:
            np.testing.assert_array_equal(np.asarray(png), pictures[name[:-4]], err_msg=name)
    assert pictures["source_masks"].shape == (256, 256, 3)
    assert pictures["foreground_mask"].shape == (256, 256)
    assert pictures["warped_limbs"].shape == (2 * 256 + 2, 5 * 256 + 8, 3)
    np.testing.assert_array_equal(
        pictures["source_masks"], colour_layers(result.intermediates["source_masks"])
    )
    # Coloured by limb: the person's pixels are not the background's colour.
    person = result.intermediates["source_masks"][..., 0] < 0.5
    assert person.mean() > 0.02
    assert (pictures["source_masks"][person] != (40, 40, 40)).any(axis=-1).all()
    with Image.open(out / "comparison.png") as grid:
        assert grid.size == (3 * 256, 256)
    # A model without intermediates: an error naming the flag, before it runs.
    unet = save_preset(
        UNetBaseline(64, encoder_widths=[4] * 11, decoder_widths=[4] * 5), tmp_path / "unet"
    )
    again = tmp_path / "again"
    code = main([*args, "--preset", str(unet), "--out", str(again), "--save-intermediates"])
    assert code == 2 and "--save-intermediates" in capsys.readouterr().err
    assert not again.exists()


def test_fine_tune_updates_the_generator(tennis_dir):
    generator = PoseWarpGenerator.tiny(64, width=4)
    before = [w.copy() for w in generator.get_weights()]
    history = PoseRegenerator(generator).fine_tune(tennis_dir, steps=2, batch_size=2)
    assert len(history["loss"]) == 1
    assert any(
        not np.array_equal(a, b) for a, b in zip(before, generator.get_weights(), strict=True)
    )


def _bad_inputs(frames, joints, tmp_path):
    good_image, good_pose = frames[0], joints[0]
    broken_json = tmp_path / "broken.json"
    broken_json.write_text("{")
    two_people = tmp_path / "two.json"
    two_people.write_text(
        json.dumps(
            {
                "image": "a.jpg",
                "layout": "posewarp14",
                "people": [{"keypoints": good_pose.tolist()}, {"keypoints": good_pose.tolist()}],
            }
        )
    )
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("not a picture")
    nan_pose = np.full((14, 2), np.nan)
    tiny_person = np.zeros((14, 2))
    thirteen = good_pose[:13]
    return [
        (
            "missing file",
            (tmp_path / "nope.jpg", good_pose, good_pose),
            InvalidImageError,
            "nope.jpg",
        ),
        ("not an image", (not_image, good_pose, good_pose), InvalidImageError, "notes.jpg"),
        ("1-d array", (np.zeros(10, np.uint8), good_pose, good_pose), InvalidImageError, "image"),
        (
            "5 channels",
            (np.zeros((64, 64, 5), np.uint8), good_pose, good_pose),
            InvalidImageError,
            "image",
        ),
        (
            "too small",
            (np.zeros((4, 4, 3), np.uint8), good_pose, good_pose),
            InvalidImageError,
            "at least 8 x 8",
        ),
        (
            "float out of range",
            (np.full((64, 64, 3), 2.0), good_pose, good_pose),
            InvalidImageError,
            r"\[0, 1\]",
        ),
        (
            "NaN pixels",
            (np.full((64, 64, 3), np.nan), good_pose, good_pose),
            InvalidImageError,
            "finite",
        ),
        (
            "int16 image",
            (np.zeros((64, 64, 3), np.int16), good_pose, good_pose),
            InvalidImageError,
            "uint8",
        ),
        ("13 joints", (good_image, thirteen, good_pose), InvalidPoseError, "source_pose"),
        (
            "(14, 4) joints",
            (good_image, np.zeros((14, 4)), good_pose),
            InvalidPoseError,
            "source_pose",
        ),
        ("all missing", (good_image, nan_pose, good_pose), InvalidPoseError, "no visible"),
        ("target all missing", (good_image, good_pose, nan_pose), InvalidPoseError, "target_pose"),
        ("zero-size person", (good_image, tiny_person, tiny_person), InvalidPoseError, "span"),
        ("string pose", (good_image, "nope.json", good_pose), Exception, "nope.json"),
        ("broken JSON", (good_image, broken_json, good_pose), Exception, "broken.json"),
        ("two people", (good_image, two_people, good_pose), InvalidPoseError, "2 people"),
        (
            "batched pose",
            (good_image, np.stack([good_pose] * 2), good_pose),
            InvalidPoseError,
            "one pose",
        ),
        (
            "inf joint",
            (good_image, np.where(np.eye(14, 2, dtype=bool), np.inf, good_pose), good_pose),
            InvalidPoseError,
            "source_pose",
        ),
        (
            "ragged batch",
            ([good_image, good_image], [good_pose], [good_pose, good_pose]),
            InvalidImageError,
            "batch",
        ),
        (
            "text pose",
            (good_image, [["a", "b"]] * 14, good_pose),
            InvalidPoseError,
            "source_pose.*numeric",
        ),
    ]


def _bad_files_and_handles(tmp_path):
    """Bad inputs outside a regeneration call: data files, preset handles, preset folders."""
    import shutil

    from posegan_zoo import PoseDiscriminator
    from posegan_zoo.data import read_posewarp_dataset
    from posegan_zoo.errors import DataFormatError, PresetError
    from posegan_zoo.presets import resolve

    def dataset_with_mat(content):
        root = tmp_path / f"dataset{len(list(tmp_path.iterdir()))}"
        (root / "frames" / "clip").mkdir(parents=True)
        (root / "info").mkdir()
        Image.new("RGB", (16, 16)).save(root / "frames" / "clip" / "1.jpg")
        (root / "info" / "clip.mat").write_bytes(content)
        return root

    def corrupted_preset():
        folder = tmp_path / "corrupted"
        shutil.copytree(resolve("posewarp-tennis"), folder)
        weights = folder / "model.weights.h5"
        data = bytearray(weights.read_bytes())
        data[len(data) // 2] ^= 0xFF
        weights.write_bytes(bytes(data))
        return folder

    return [
        (
            "garbage .mat",
            lambda: read_posewarp_dataset(dataset_with_mat(b"not matlab")),
            DataFormatError,
            "clip.mat",
        ),
        (
            "empty .mat",
            lambda: read_posewarp_dataset(dataset_with_mat(b"")),
            DataFormatError,
            "clip.mat",
        ),
        (
            "missing dataset",
            lambda: read_posewarp_dataset(tmp_path / "absent"),
            DataFormatError,
            "absent",
        ),
        (
            "path traversal",
            lambda: PoseRegenerator.from_preset("../../etc/passwd"),
            PresetError,
            "passwd",
        ),
        (
            "malformed repo id",
            lambda: PoseRegenerator.from_preset("hf://not/a/repo"),
            PresetError,
            "not/a/repo",
        ),
        (
            "empty revision",
            lambda: PoseRegenerator.from_preset("hf://owner/name@"),
            PresetError,
            "revision",
        ),
        (
            "unknown preset",
            lambda: PoseRegenerator.from_preset("no-such-preset"),
            PresetError,
            "no-such-preset",
        ),
        (
            "wrong model class",
            lambda: PoseDiscriminator.from_preset("posewarp-tennis"),
            PresetError,
            "PoseDiscriminator",
        ),
        (
            "corrupted weights",
            lambda: PoseRegenerator.from_preset(corrupted_preset()),
            PresetError,
            "sha256",
        ),
    ]


def test_bad_inputs_get_named_errors(tennis, regenerator, tmp_path):
    """Each bad input raises a typed error naming its culprit; none crashes or hangs."""
    frames, joints = tennis
    cases = [
        (label, lambda args=args: regenerator(*args), error, match)
        for label, args, error, match in _bad_inputs(frames, joints, tmp_path)
    ] + _bad_files_and_handles(tmp_path)
    assert len(cases) >= 25
    for label, call, error, match in cases:
        with pytest.raises(error, match=match):
            call()
            pytest.fail(f"no error for {label}")


def test_joints_a_little_outside_the_frame_work_and_far_outside_are_named(tennis, regenerator):
    frames, joints = tennis
    height = load_image(frames[0]).shape[0]
    outside = joints[0].copy()
    outside[[10, 13], 1] = height + 0.3 * height  # ankles below the frame, as detectors place them
    result = regenerator(frames[0], outside, joints[3])
    assert np.isfinite(result.fake_crop).all() and np.isfinite(result.recovered_crop).all()
    outside[[10, 13], 1] += 2000.0 + height
    with pytest.raises(InvalidPoseError, match="right_ankle"):
        regenerator(frames[0], outside, joints[3])


def test_poses_can_be_detected_and_targets_given_as_photos(tennis, regenerator):
    frames, joints = tennis
    given = regenerator(frames[0], joints[0], joints[4], target_image=frames[4])
    assert given.people_found == {}
    detected = regenerator(frames[0], target_pose=frames[4])
    assert detected.people_found == {"source": 1, "target": 1}
    # The photo given as the target pose is also the real target of the fake.
    assert set(detected.fake_metrics) == {"ssim", "masked_ssim", "psnr", "l1"}
    same = regenerator(frames[0], target_image=frames[4])
    np.testing.assert_array_equal(same.fake, detected.fake)
    # Detected joints frame the person like the hand-labelled ones: the crops nearly agree.
    size = 64
    shift = np.abs(detected.source_pose.joints[2:] - given.source_pose.joints[2:])
    assert np.median(shift) < 0.05 * size
    assert detected.metrics["ssim"] > given.metrics["ssim"] - 0.1, (detected.metrics, given.metrics)
    # A given source pose with a detected target, and a batch of detected poses.
    mixed = regenerator(frames[0], joints[0], target_image=frames[4])
    assert mixed.people_found == {"target": 1}
    batch = regenerator([frames[0], frames[2]], target_pose=[frames[4], frames[5]])
    assert [r.people_found for r in batch] == [{"source": 1, "target": 1}] * 2


def test_detection_failures_name_the_image(tennis, regenerator, tmp_path):
    frames, joints = tennis
    empty = tmp_path / "grass.png"
    Image.new("RGB", (200, 150), (40, 140, 40)).save(empty)
    with pytest.raises(NoPersonError, match=r"`image` .*grass\.png: no person"):
        regenerator(empty, target_pose=frames[4])
    with pytest.raises(NoPersonError, match=r"`target_image` .*grass\.png"):
        regenerator(frames[0], joints[0], target_image=empty)
    with pytest.raises(NoPersonError, match="person 2 asked for, but 1 found"):
        regenerator(frames[0], target_pose=frames[4], person=2)
    with pytest.raises(InvalidPoseError, match="give `target_pose`"):
        regenerator(frames[0], joints[0])


def _record_calls(regenerator):
    """Keeps the input dicts and outputs of `regenerator`'s (compiled) generator calls."""
    seen = []
    compiled = regenerator._function

    def function(intermediates):
        forward = compiled(intermediates)

        def record(inputs):
            out = forward(inputs)
            seen.append(({k: np.asarray(v) for k, v in inputs.items()}, out))
            return out

        return record

    regenerator._function = function
    return seen


def test_detected_people_bring_their_mask_both_ways(tennis):
    frames, joints = tennis
    regenerator = PoseRegenerator(WarpOnlyGenerator(64))
    seen = _record_calls(regenerator)
    result = regenerator(frames[0], target_image=frames[4])
    (there, forward), (back, _) = seen
    # The detector's segmentation, cropped like the image: the person's pixels in the crop.
    mask = there["source_mask"]
    assert mask.shape == (1, 64, 64, 1) and 0.03 < mask.mean() < 0.5 and mask.max() > 0.9
    person = regenerator.detector.detect(frames[0])[0].mask
    crop = warp_image(person[..., None], result.crop, (64, 64))
    # (The regenerator crops the window the crop reads: the same up to float rounding.)
    np.testing.assert_allclose(mask[0], np.clip(crop, 0, 1), atol=1e-4)
    # The way back: the fake's person is where the forward pass drew it.
    np.testing.assert_array_equal(back["source_mask"], np.asarray(forward["foreground_mask"]))
    assert "hole" in result.intermediates
    # Poses given as joints: no mask, the prior fallback.
    seen.clear()
    regenerator(frames[0], joints[0], joints[4])
    assert len(seen) == 2 and all("source_mask" not in inputs for inputs, _ in seen)


def test_generators_without_the_mask_input_never_get_one(tennis):
    frames, _ = tennis
    seen = []

    class Recording(UNetBaseline):
        def call(self, inputs, **kwargs):
            seen.append(sorted(inputs))
            return super().call(inputs, **kwargs)

    keras.utils.set_random_seed(0)
    generator = Recording(64, encoder_widths=[4] * 11, decoder_widths=[4] * 5)
    PoseRegenerator(generator)(frames[0], target_image=frames[4])
    assert seen and all("source_mask" not in keys for keys in seen)


def test_detected_people_are_framed_as_training_frames_a_pair(tennis_dir):
    # `prepare` stores the detector's box with each frame, and the training pipeline (and
    # evaluation) centre a pair's crop between the two boxes: the regenerator does the same
    # with the boxes the detector gives it, so a model sees people framed as in training.
    [labelled] = read_posewarp_dataset(tennis_dir)
    # Boxes taller than the joints (a detector's reach the feet and hands): the hand boxes
    # of the bundled clip hug the joints, which would not tell the two framings apart.
    boxes = labelled.boxes * [1.0, 1.0, 1.1, 1.3]
    clip = Clip(labelled.name, labelled.frame_paths, labelled.poses, boxes)
    first, second = 1, 5

    class LabelDetector:
        """Answers with the dataset's own labels: source first, then the target."""

        def __init__(self):
            self.frames = [first, second]

        def detect(self, frame):
            k = self.frames.pop(0)
            mask = np.ones(frame.shape[:2], np.float32)
            return [types.SimpleNamespace(pose=clip.poses[k], box=clip.boxes[k], mask=mask)]

    regenerator = PoseRegenerator(WarpOnlyGenerator(64), detector=LabelDetector())
    result = regenerator(clip.frame_paths[first], target_image=clip.frame_paths[second])
    inputs, _ = next(
        iter(pair_dataset([clip], 64, batch_size=1, augmentation=None, pairs=[(0, first, second)]))
    )
    frame = load_image(clip.frame_paths[first]).astype(np.float32)
    ours = warp_image(frame, result.crop, (64, 64)) / 127.5 - 1.0
    np.testing.assert_allclose(ours, inputs["source_image"][0], atol=0.02)
    # Centring on the joints' extent instead (what a pose without a box gets) frames it
    # visibly elsewhere, so the comparison above can tell the two apart.
    joints = [clip.poses[k].joints for k in (first, second)]
    centre = np.mean([(j.min(axis=0) + j.max(axis=0)) / 2 for j in joints], axis=0)
    box_centre = np.mean([b[:2] + b[2:] / 2 for b in clip.boxes[[first, second]]], axis=0)
    assert np.abs(centre - box_centre).max() * result.crop[0, 0] > 1.0
