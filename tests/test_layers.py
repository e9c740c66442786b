"""The registered layers: 2x upsampling in both arithmetics, the UNet block, pose geometry."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from model_checks import assert_config_round_trip, assert_saved_model_round_trip
from reference_impl import upsample_reference

from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.layers import LayerWarp, PoseGeometry, UNet, Upsample2x
from posegan_zoo.pose import Pose, joint_heatmaps, limb_transforms, mask_log_prior


def test_standard_upsampling_is_half_pixel_bilinear():
    x = np.random.default_rng(0).random((2, 5, 7, 3)).astype("float32")
    expected = tf.image.resize(x, (10, 14), method="bilinear")
    np.testing.assert_allclose(Upsample2x("standard")(x), expected, atol=1e-6)


def test_reference_upsampling_matches_the_gather_sampler():
    x = np.random.default_rng(1).normal(size=(2, 4, 6, 5)).astype("float32")
    np.testing.assert_allclose(Upsample2x("reference")(x), upsample_reference(x), atol=1e-6)


def test_reference_upsampling_copies_even_pixels_and_reflects_at_the_edge():
    x = np.arange(12, dtype="float32").reshape(1, 3, 4, 1)
    up = np.asarray(Upsample2x("reference")(x))[0, :, :, 0]
    np.testing.assert_array_equal(up[::2, ::2], x[0, :, :, 0])
    # The last column averages the last input column with its reflection (column 2).
    np.testing.assert_allclose(up[0, 7], (x[0, 0, 3, 0] + x[0, 0, 2, 0]) / 2)


@pytest.mark.parametrize("layer", [Upsample2x("reference"), LayerWarp("reference")])
def test_layer_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.resampling == "reference"


def test_bad_resampling_mode_is_named():
    with pytest.raises(ValueError, match="resampling"):
        Upsample2x("nearest")


def test_unet_shapes_and_round_trip(tmp_path):
    unet = UNet(
        (64, 32),
        5,
        7,
        [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
        [6, 5, 4, 3, 2],
        resampling="reference",
    )
    rng = np.random.default_rng(2)
    inputs = {
        "image": rng.random((2, 64, 32, 5), dtype="float32"),
        "pose": rng.random((2, 32, 16, 7), dtype="float32"),
    }
    assert tuple(unet(inputs).shape) == (2, 64, 32, 2)
    assert [conv.filters for conv in unet.convs] == [*range(3, 14), 6, 5, 4, 3, 2]
    assert_config_round_trip(unet)
    restored = assert_saved_model_round_trip(unet, inputs, str(tmp_path))
    assert isinstance(restored.upsamplers[0], Upsample2x)
    assert restored.upsamplers[0].resampling == "reference"


def test_unet_leaky_relu_slope_is_0_2():
    unet = UNet(32, 1, 1, [1] * 11, [1] * 5)
    assert unet.convs[0].activation(keras.ops.convert_to_tensor([-1.0])).numpy()[0] == (
        pytest.approx(-0.2)
    )


# -- PoseGeometry --------------------------------------------------------------------------


def _geometry_case(batch=3, size=48, seed=0):
    rng = np.random.default_rng(seed)
    source = rng.uniform(-4, size + 4, (batch, 14, 2))
    target = rng.uniform(0, size, (batch, 14, 2))
    source[rng.random((batch, 14)) < 0.2] = np.nan
    # float32 joints, as the pipeline gives them; the numpy calls get the same values.
    source, target = source.astype("float32"), target.astype("float32")
    inputs = {
        "source_image": np.zeros((batch, size, size, 3), "float32"),
        "source_keypoints": source,
        "target_keypoints": target,
    }
    return inputs, Pose(source.astype("float64")), Pose(target.astype("float64"))


def test_pose_geometry_in_a_graph_matches_the_numpy_entry_points():
    inputs, source, target = _geometry_case()
    size = inputs["source_image"].shape[1:3]
    expected = {
        "source_pose": joint_heatmaps(source, size),
        "target_pose": joint_heatmaps(target, size),
        "mask_prior": mask_log_prior(source, size),
        "transforms": limb_transforms(source, target),
        "target_mask_prior": mask_log_prior(target, size),
        "reverse_transforms": limb_transforms(target, source),
    }
    layer = PoseGeometry(reverse=True)
    in_graph = tf.function(layer)(inputs)
    # Inside a tf.data map too: the training pipeline computes the maps there.
    mapped = next(iter(tf.data.Dataset.from_tensors(inputs).map(layer)))
    for outputs in (in_graph, mapped):
        assert set(outputs) == set(inputs) | set(expected)
        for key, value in expected.items():
            assert outputs[key].dtype == tf.float32, key
            np.testing.assert_allclose(outputs[key], value, atol=1e-5, rtol=0, err_msg=key)
    assert "target_mask_prior" not in PoseGeometry()(inputs)


def test_pose_geometry_keeps_maps_given_with_the_inputs():
    inputs, _, _ = _geometry_case(batch=2)
    given = np.full((2, 2, 3, 11), 7.0, "float32")
    outputs = PoseGeometry()({**inputs, "transforms": given})
    np.testing.assert_array_equal(outputs["transforms"], given)
    assert outputs["mask_prior"].shape == (2, 48, 48, 11)


def test_pose_geometry_feeds_a_generator_and_round_trips():
    from posegan_zoo.models import PoseWarpGenerator

    inputs, _, _ = _geometry_case(batch=2, size=32)
    layer = PoseGeometry(reverse=True, sigma=2.0)
    clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(clone, PoseGeometry) and clone.get_config() == layer.get_config()
    generator = PoseWarpGenerator.tiny(32, width=4)
    assert generator(layer(inputs)).shape == (2, 32, 32, 3)
    with pytest.raises(InvalidConfigError, match="downsample"):
        PoseGeometry(downsample=0)
    with pytest.raises(InvalidConfigError, match="sigma"):
        PoseGeometry(sigma=-1.0)
