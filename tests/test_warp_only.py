"""The learning-free baseline: the `Inpaint` layer, the person mask input, `WarpOnlyGenerator`."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from model_checks import (
    assert_config_round_trip,
    assert_outputs_equal,
    assert_saved_model_round_trip,
)

from posegan_zoo.errors import InvalidConfigError, InvalidImageError
from posegan_zoo.layers import Inpaint
from posegan_zoo.models import PoseWarpGenerator, WarpOnlyGenerator, posewarp_inputs
from posegan_zoo.pose import Pose
from posegan_zoo.presets import load_preset, read_metadata, resolve

SIZE = 64


def _hole(size=SIZE, box=(16, 48, 20, 44), batch=1):
    hole = np.zeros((batch, size, size, 1), "float32")
    top, bottom, left, right = box
    hole[:, top:bottom, left:right] = 1.0
    return hole


# -- Inpaint ------------------------------------------------------------------------------


def test_inpaint_fills_a_smooth_gradient_closely_and_keeps_known_pixels():
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype("float32") / (SIZE - 1)
    image = np.stack([2 * x - 1, 1 - 2 * y, x * y + 0.5 * x - 0.3], -1)[None].astype("float32")
    hole = _hole()
    filled = np.asarray(Inpaint()(image, hole))
    inside, outside = hole[..., 0] > 0, hole[..., 0] == 0
    # Harmonic interpolation reproduces a linear ramp; the bilinear channel is close too.
    assert np.abs(filled - image)[inside].max() < 0.03
    assert np.abs(filled - image)[inside].mean() < 0.01
    np.testing.assert_array_equal(filled[outside], image[outside])


def test_inpaint_constant_images_are_filled_exactly_and_extreme_masks_are_finite():
    constant = np.full((2, 40, 56, 3), 0.375, "float32")
    holes = np.ones((2, 40, 56, 1), "float32")
    holes[0, :5] = holes[0, 35:] = holes[0, :, :10] = 0.0  # reaches the right border
    filled = np.asarray(Inpaint()(constant, holes))
    # First image: a hole touching the border is filled with the constant.
    np.testing.assert_allclose(filled[0], 0.375, atol=1e-6)
    # Second image: all hole, nothing known: finite zeros.
    assert np.isfinite(filled).all() and np.abs(filled[1]).max() == 0.0
    image = np.random.default_rng(0).uniform(-1, 1, (1, 33, 47, 3)).astype("float32")
    np.testing.assert_array_equal(Inpaint()(image, np.zeros((1, 33, 47, 1))), image)


def test_inpaint_soft_holes_blend_and_odd_sizes_work_in_a_graph():
    image = np.random.default_rng(1).uniform(-1, 1, (2, 37, 51, 3)).astype("float32")
    hole = np.zeros((2, 37, 51, 1), "float32")
    hole[:, 10:30, 5:40] = 1.0
    hole[:, 5:8] = 0.5
    layer = Inpaint(level_iterations=2, final_iterations=3)
    eager = np.asarray(layer(image, hole))
    signature = [tf.TensorSpec((None, 37, 51, 3)), tf.TensorSpec((None, 37, 51, 1))]
    graph = tf.function(layer, input_signature=signature)
    np.testing.assert_allclose(graph(image, hole), eager, atol=1e-6)
    # The fill is an average of known colours: it stays within their range (per channel).
    fill = (eager - (1.0 - hole) * image) / np.maximum(hole, 1e-6)
    inside = hole[..., 0] > 0
    low, high = image.min(axis=(1, 2)), image.max(axis=(1, 2))
    for k in range(2):
        assert (fill[k][inside[k]] >= low[k] - 1e-5).all()
        assert (fill[k][inside[k]] <= high[k] + 1e-5).all()
    # A soft hole over a constant image keeps the constant.
    constant = np.full_like(image, -0.25)
    np.testing.assert_allclose(layer(constant, np.full_like(hole, 0.5)), constant, atol=1e-6)
    clone = Inpaint.from_config(layer.get_config())
    assert (clone.level_iterations, clone.final_iterations) == (2, 3)
    with pytest.raises(InvalidConfigError, match="final_iterations"):
        Inpaint(final_iterations=-1)


# -- posewarp_inputs(source_mask=...) -----------------------------------------------------


def test_posewarp_inputs_take_a_person_mask_at_crop_size():
    pose = np.random.default_rng(0).uniform(16, 48, (14, 2))
    image = np.zeros((SIZE, SIZE, 3))
    assert "source_mask" not in posewarp_inputs(image, pose, pose)
    for mask in (np.ones((SIZE, SIZE)), np.ones((SIZE, SIZE, 1)), np.ones((1, SIZE, SIZE, 1))):
        inputs = posewarp_inputs(image, pose, pose, source_mask=mask)
        assert inputs["source_mask"].shape == (1, SIZE, SIZE, 1)
        assert inputs["source_mask"].dtype == np.float32
    batch = posewarp_inputs(np.zeros((2, SIZE, SIZE, 3)), pose, pose, source_mask=_hole(batch=2))
    assert batch["source_mask"].shape == (2, SIZE, SIZE, 1)
    for bad in (np.ones((SIZE, SIZE, 3)), np.ones((32, 32)), np.ones((2, SIZE, SIZE, 1))):
        with pytest.raises(InvalidImageError, match="`source_mask` must have shape"):
            posewarp_inputs(image, pose, pose, source_mask=bad)
    with pytest.raises(InvalidImageError, match="`source_mask` must have shape"):
        posewarp_inputs(np.zeros((2, SIZE, SIZE, 3)), pose, pose, source_mask=np.ones((SIZE, SIZE)))
    with pytest.raises(InvalidImageError, match=r"`source_mask` must hold values in \[0, 1\]"):
        posewarp_inputs(image, pose, pose, source_mask=np.full((SIZE, SIZE), 255.0))


# -- WarpOnlyGenerator --------------------------------------------------------------------


def _scene(size=SIZE, shift=22.0):
    """A red 'person' on a green-blue gradient, its skeleton, and the pose moved right.

    Drawn on a 64-pixel grid scaled to `size`; `shift` is in pixels of that grid.
    """
    scale = size / 64
    x = np.linspace(-1, 1, size, dtype="float32")
    image = np.stack(np.broadcast_arrays(-0.6, 0.4 + 0.2 * x[None, :], 0.2 * x[:, None]), -1)
    image = np.array(image, "float32")
    mask = np.zeros((size, size, 1), "float32")
    # A standing person, 16 (grid) pixels wide, with hair above the head joint.
    mask[round(2 * scale) : round(60 * scale), round(14 * scale) : round(30 * scale)] = 1.0
    image = np.where(mask > 0, np.array([0.9, -0.8, -0.8], "float32"), image)
    joints = np.array(
        [[22, 12], [22, 18], [18, 20], [17, 28], [17, 35], [26, 20], [27, 28], [27, 35],
         [19, 34], [19, 44], [19, 54], [25, 34], [25, 44], [25, 54]],
        "float32",
    ) * scale  # fmt: skip
    return image, mask, Pose(joints), Pose(joints + np.array([shift * scale, 0.0], "float32"))


def test_the_person_mask_leaves_no_halo_where_the_person_stood():
    size = 256  # the limb prior's widths are in pixels of a 256 crop
    image, mask, source, target = _scene(size)
    model = WarpOnlyGenerator(size)
    with_mask = model(
        posewarp_inputs(image, source, target, source_mask=mask), return_intermediates=True
    )
    fallback = model(posewarp_inputs(image, source, target), return_intermediates=True)
    old_place = (mask[..., 0] > 0) & (np.asarray(with_mask["foreground_mask"])[0, ..., 0] == 0)
    assert old_place.sum() > 2000
    red = np.asarray(with_mask["image"])[0, ..., 0][old_place]
    # The old place is filled with the background (red channel -0.6), not with the person.
    assert np.abs(red + 0.6).max() < 0.05, red.max()
    # The prior alone knows the person only near the bones: the hair stays behind.
    assert np.asarray(fallback["image"])[0, ..., 0][old_place].max() > 0.5
    # The moved person is drawn from its own colours, opaque at its core.
    moved = np.asarray(with_mask["image"])[0, 80:200, 160:192]
    np.testing.assert_allclose(moved, np.broadcast_to([0.9, -0.8, -0.8], moved.shape), atol=0.02)
    # Layers: the background excludes the person, the limbs share the silhouette.
    masks = np.asarray(with_mask["source_masks"])[0]
    np.testing.assert_allclose(masks[..., 0], 1.0 - mask[..., 0], atol=1e-6)
    assert np.all(masks[..., 1:].sum(-1) <= mask[..., 0] + 1e-5)
    np.testing.assert_allclose(masks[80:200, 72:104, 1:].sum(-1), 1.0, atol=1e-4)
    hole = np.asarray(with_mask["hole"])[0, ..., 0]
    assert hole[mask[..., 0] > 0].all() and hole[mask[..., 0] == 0].mean() < 0.05


def test_without_motion_the_person_comes_back_and_the_background_is_untouched():
    image, mask, source, _ = _scene()
    out = WarpOnlyGenerator(SIZE)(
        posewarp_inputs(image, source, source, source_mask=mask), return_intermediates=True
    )
    alpha, hole = np.asarray(out["foreground_mask"])[0, ..., 0], np.asarray(out["hole"])[0, ..., 0]
    result = np.asarray(out["image"])[0]
    keep = (alpha == 1.0) | ((hole == 0) & (alpha == 0))
    assert keep.mean() > 0.9
    np.testing.assert_allclose(result[keep], image[keep], atol=1e-5)


def test_limbs_without_a_target_joint_are_not_left_in_place():
    image, mask, source, target = _scene()
    joints = target.joints.copy()
    joints[[3, 4]] = np.nan  # the right elbow and wrist are not seen in the target
    inputs = posewarp_inputs(image, source, Pose(joints), source_mask=mask)
    movable = np.asarray(
        WarpOnlyGenerator.movable_limbs(inputs["target_pose"], inputs["transforms"])
    )
    assert movable[0, 0, 0].tolist() == [1, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    for given in (inputs, {k: v for k, v in inputs.items() if k != "source_mask"}):
        out = WarpOnlyGenerator(SIZE)(given, return_intermediates=True)
        limbs = np.asarray(out["warped_limbs"]).reshape(1, SIZE, SIZE, 10, 3)
        assert np.abs(limbs[..., 1:3, :]).max() == 0.0
        assert np.isfinite(np.asarray(out["image"])).all()
    # The same pose both ways keeps every limb (their identity transforms are real ones).
    same = posewarp_inputs(image, source, source)
    assert np.asarray(
        WarpOnlyGenerator.movable_limbs(same["target_pose"], same["transforms"])
    ).all()


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_empty_and_full_person_masks_give_finite_images(fill):
    image, _, source, target = _scene()
    mask = np.full((SIZE, SIZE, 1), fill, "float32")
    out = WarpOnlyGenerator(SIZE)(
        posewarp_inputs(image, source, target, source_mask=mask), return_intermediates=True
    )
    for key, value in out.items():
        assert np.isfinite(np.asarray(value)).all(), key
    if fill == 0.0:  # nobody to move: the source comes back unchanged
        np.testing.assert_allclose(out["image"], image[None], atol=1e-6)


def test_a_wrong_mask_shape_in_the_model_is_named():
    image, _, source, target = _scene()
    inputs = posewarp_inputs(image, source, target)
    inputs["source_mask"] = np.ones((1, SIZE, SIZE, 3), "float32")
    with pytest.raises(InvalidImageError, match="`source_mask` must have shape"):
        WarpOnlyGenerator(SIZE)(inputs)


def test_config_saving_graph_mode_and_legacy_presets(tmp_path):
    image, mask, source, target = _scene()
    inputs = posewarp_inputs(image, source, target, source_mask=mask)
    model = WarpOnlyGenerator(SIZE, mask_dilation=5.0, name="wo")
    assert_config_round_trip(model)
    assert_saved_model_round_trip(model, inputs, str(tmp_path))
    traced = tf.function(model)
    assert_outputs_equal(traced(inputs), model(inputs), atol=1e-5)
    assert_outputs_equal(
        traced({k: v for k, v in inputs.items() if k != "source_mask"}),
        model({k: v for k, v in inputs.items() if k != "source_mask"}),
        atol=1e-5,
    )
    # Presets saved when the hole was blurred still load.
    legacy = {**model.get_config(), "fill_sigmas": [4.0, 16.0, 48.0]}
    del legacy["mask_dilation"]
    assert WarpOnlyGenerator.from_config(legacy).mask_dilation == 3.0
    for bad in (-1.0, "3", True):
        with pytest.raises(InvalidConfigError, match="mask_dilation"):
            WarpOnlyGenerator(SIZE, mask_dilation=bad)


def test_mixed_precision_policy_gives_float32_outputs():
    image, mask, source, target = _scene()
    inputs = posewarp_inputs(image, source, target, source_mask=mask)
    reference = WarpOnlyGenerator(SIZE)(inputs)
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        out = WarpOnlyGenerator(SIZE)({k: v.astype("float16") for k, v in inputs.items()})
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out.dtype == "float32" and np.isfinite(np.asarray(out)).all()
    np.testing.assert_allclose(out, reference, atol=0.02)


def test_other_generators_ignore_the_person_mask():
    keras.utils.set_random_seed(0)
    generator = PoseWarpGenerator.tiny(SIZE, width=4)
    image, mask, source, target = _scene()
    inputs = posewarp_inputs(image, source, target, source_mask=mask)
    plain = {k: v for k, v in inputs.items() if k != "source_mask"}
    assert_outputs_equal(generator(inputs), generator(plain))


def test_the_embedded_preset_is_the_256_inpainting_baseline():
    folder = resolve("warp-only")
    model = load_preset(folder)
    assert isinstance(model, WarpOnlyGenerator) and model.image_size == (256, 256)
    metadata = read_metadata(folder)
    assert metadata["image_size"] == [256, 256] and metadata["parameter_count"] == 0
    assert "fill_sigmas" not in json.loads((folder / "config.json").read_text())["config"]
    assert "inpaint" in metadata["description"]
