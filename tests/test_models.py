"""The PoseWarp models: parameter counts, configs, saving, composition, tracing, precision."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from model_checks import (
    assert_config_round_trip,
    assert_outputs_equal,
    assert_saved_model_round_trip,
    outputs_as_numpy,
)

from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.models import (
    BackgroundSynthesis,
    ForegroundSynthesis,
    PoseDiscriminator,
    PoseWarpGenerator,
    SourceSegmentation,
    SpatialTransformer,
    UNetBaseline,
    posewarp_inputs,
)
from posegan_zoo.pose import Pose

SIZE = 64
TINY_UNET = {"encoder_widths": [4] * 11, "decoder_widths": [4] * 5}


def _random_inputs(batch=2, size=SIZE, seed=0):
    rng = np.random.default_rng(seed)
    source = Pose(rng.uniform(6, size - 6, (batch, 14, 2)))
    target = Pose(rng.uniform(6, size - 6, (batch, 14, 2)))
    image = rng.uniform(-1, 1, (batch, size, size, 3)).astype("float32")
    return posewarp_inputs(image, source, target)


@pytest.fixture(scope="module")
def inputs():
    return _random_inputs()


def _module_inputs(name, inputs):
    rng = np.random.default_rng(1)
    batch = inputs["source_image"].shape[0]
    if name == "SpatialTransformer":
        masks = rng.dirichlet(np.ones(11), size=(batch, SIZE, SIZE)).astype("float32")
        return {"image": inputs["source_image"], "masks": masks, "transforms": inputs["transforms"]}
    if name == "SourceSegmentation":
        return {
            "image": inputs["source_image"],
            "pose": inputs["source_pose"],
            "mask_prior": inputs["mask_prior"],
        }
    if name == "ForegroundSynthesis":
        limbs = rng.uniform(-1, 1, (batch, SIZE, SIZE, 30)).astype("float32")
        return {"limbs": limbs, "pose": inputs["target_pose"]}
    if name == "BackgroundSynthesis":
        mask = rng.uniform(0, 1, (batch, SIZE, SIZE, 1)).astype("float32")
        return {
            "background": inputs["source_image"] * mask,
            "background_mask": mask,
            "pose": inputs["source_pose"],
        }
    if name == "PoseDiscriminator":
        return {
            "image": inputs["source_image"],
            "source_pose": inputs["source_pose"],
            "target_pose": inputs["target_pose"],
        }
    return inputs


# Non-default arguments everywhere, so that a config that fell back to defaults would show.
MODEL_FACTORIES = {
    "SourceSegmentation": lambda: SourceSegmentation(
        SIZE, resampling="reference", name="seg", **TINY_UNET
    ),
    "SpatialTransformer": lambda: SpatialTransformer(SIZE, resampling="reference"),
    "ForegroundSynthesis": lambda: ForegroundSynthesis(SIZE, **TINY_UNET),
    "BackgroundSynthesis": lambda: BackgroundSynthesis(SIZE, resampling="reference", **TINY_UNET),
    "PoseWarpGenerator": lambda: PoseWarpGenerator.tiny(SIZE, width=4, resampling="reference"),
    "PoseDiscriminator": lambda: PoseDiscriminator(
        SIZE, conv_widths=[4, 6, 8, 8, 8, 8], dense_widths=[8, 4]
    ),
    "UNetBaseline": lambda: UNetBaseline(SIZE, **TINY_UNET),
}


def test_paper_parameter_counts():
    assert PoseWarpGenerator().count_params() == 7_863_314
    assert PoseDiscriminator().count_params() == 6_625_409
    assert UNetBaseline().count_params() == 8_340_995


def test_generator_parameters_live_in_the_four_modules():
    generator = PoseWarpGenerator()
    parts = [
        generator.source_segmentation,
        generator.spatial_transformer,
        generator.foreground_synthesis,
        generator.background_synthesis,
    ]
    assert sum(part.count_params() for part in parts) == generator.count_params()
    assert generator.spatial_transformer.count_params() == 0
    assert [p.count_params() for p in parts] == [2_555_723, 0, 2_694_852, 2_612_739]


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
def test_config_round_trip_keeps_non_default_arguments(name):
    model = MODEL_FACTORIES[name]()
    clone = assert_config_round_trip(model)
    assert clone.get_config()["image_size"] == (SIZE, SIZE)
    if "resampling" in model.get_config():
        assert clone.resampling == model.resampling


@pytest.mark.parametrize("name", sorted(MODEL_FACTORIES))
def test_keras_file_round_trip_gives_identical_outputs(name, inputs, tmp_path):
    model = MODEL_FACTORIES[name]()
    assert_saved_model_round_trip(model, _module_inputs(name, inputs), str(tmp_path))


def test_weights_file_round_trip(inputs, tmp_path):
    generator = PoseWarpGenerator.tiny(SIZE, width=4)
    path = str(tmp_path / "generator.weights.h5")
    generator.save_weights(path)
    other = PoseWarpGenerator.tiny(SIZE, width=4)
    assert not np.allclose(outputs_as_numpy(other(inputs)), outputs_as_numpy(generator(inputs)))
    other.load_weights(path)
    assert_outputs_equal(other(inputs), generator(inputs))


def test_generator_intermediates_compose_the_image(inputs):
    generator = PoseWarpGenerator.tiny(SIZE, width=4)
    out = outputs_as_numpy(generator(inputs, return_intermediates=True))
    assert set(out) == {
        "image",
        "source_masks",
        "warped_background",
        "warped_limbs",
        "foreground",
        "foreground_mask",
        "background",
    }
    np.testing.assert_allclose(out["source_masks"].sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(
        out["warped_background"], inputs["source_image"] * out["source_masks"][..., :1], atol=1e-6
    )
    mask = out["foreground_mask"]
    np.testing.assert_allclose(
        out["image"], mask * out["foreground"] + (1 - mask) * out["background"], atol=1e-6
    )
    np.testing.assert_allclose(outputs_as_numpy(generator(inputs)), out["image"], atol=1e-6)
    assert out["warped_limbs"].shape == (2, SIZE, SIZE, 30)


def test_generator_modules_are_the_ones_it_runs(inputs):
    generator = PoseWarpGenerator.tiny(SIZE, width=4)
    out = outputs_as_numpy(generator(inputs, return_intermediates=True))
    masks = outputs_as_numpy(
        generator.source_segmentation(
            {
                "image": inputs["source_image"],
                "pose": inputs["source_pose"],
                "mask_prior": inputs["mask_prior"],
            }
        )
    )
    np.testing.assert_allclose(masks, out["source_masks"], atol=1e-6)
    foreground = outputs_as_numpy(
        generator.foreground_synthesis(
            {"limbs": out["warped_limbs"], "pose": inputs["target_pose"]}
        )
    )
    np.testing.assert_allclose(foreground["mask"], out["foreground_mask"], atol=1e-6)


def test_segmentation_follows_the_prior_when_logits_vanish(inputs):
    model = SourceSegmentation(SIZE, **TINY_UNET)
    for layer in [model.mask_logits]:
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    masks = outputs_as_numpy(model(_module_inputs("SourceSegmentation", inputs)))
    prior = np.exp(inputs["mask_prior"])
    np.testing.assert_allclose(masks, prior / prior.sum(-1, keepdims=True), atol=1e-5)


def test_models_run_inside_tf_function(inputs):
    generator = PoseWarpGenerator.tiny(SIZE, width=4)
    traced = tf.function(lambda x: generator(x, return_intermediates=True), jit_compile=False)
    assert_outputs_equal(traced(inputs), generator(inputs, return_intermediates=True), atol=1e-5)
    baseline = UNetBaseline(SIZE, **TINY_UNET)
    assert_outputs_equal(tf.function(baseline)(inputs), baseline(inputs), atol=1e-5)


def test_gradients_reach_every_generator_weight(inputs):
    generator = PoseWarpGenerator.tiny(SIZE, width=4)
    target = tf.constant(inputs["source_image"][::-1])

    @tf.function
    def step(batch):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.abs(generator(batch, training=True) - target))
        return loss, tape.gradient(loss, generator.trainable_variables)

    loss, grads = step(inputs)
    assert np.isfinite(float(loss))
    # 52 convs (3 UNets of 16, 4 heads), a kernel and a bias each.
    assert len(grads) == len(generator.trainable_variables) == 2 * 52
    missing = [
        v.path
        for v, g in zip(generator.trainable_variables, grads, strict=True)
        if g is None or not np.any(g.numpy())
    ]
    assert not missing


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("name", ["PoseWarpGenerator", "UNetBaseline", "PoseDiscriminator"])
def test_mixed_float16_gives_finite_float32_outputs(name, inputs, mixed_precision):
    model = MODEL_FACTORIES[name]()
    assert model.dtype_policy.name == "mixed_float16"
    out = model(_module_inputs(name, inputs))
    assert out.dtype == tf.float32
    assert np.isfinite(outputs_as_numpy(out)).all()
    # Big inputs must not overflow float16 inside the network either.
    loud = {k: v * 50 if k != "transforms" else v for k, v in _module_inputs(name, inputs).items()}
    assert np.isfinite(outputs_as_numpy(model(loud))).all()


def test_mixed_float16_generator_intermediates_are_finite(inputs, mixed_precision):
    generator = PoseWarpGenerator.tiny(SIZE, width=4)
    out = outputs_as_numpy(generator(inputs, return_intermediates=True))
    assert all(np.isfinite(value.astype("float32")).all() for value in out.values())
    np.testing.assert_allclose(out["source_masks"].sum(-1), 1.0, atol=1e-3)


def test_extra_input_keys_are_ignored_and_missing_ones_named(inputs):
    baseline = UNetBaseline(SIZE, **TINY_UNET)
    narrow = {k: inputs[k] for k in ("source_image", "source_pose", "target_pose")}
    assert_outputs_equal(baseline(inputs), baseline(narrow))
    with pytest.raises(ValueError, match="target_pose"):
        baseline({"source_image": inputs["source_image"], "source_pose": inputs["source_pose"]})
    with pytest.raises(ValueError, match="mask_prior"):
        PoseWarpGenerator.tiny(SIZE)({k: v for k, v in inputs.items() if k != "mask_prior"})


@pytest.mark.parametrize(
    ("factory", "match"),
    [
        (lambda: PoseWarpGenerator(image_size=100), "divisible by 32"),
        (lambda: UNetBaseline(image_size=(64, 0)), "image_size"),
        (lambda: UNetBaseline(SIZE, encoder_widths=[8] * 10), "encoder_widths"),
        (lambda: SourceSegmentation(SIZE, decoder_widths=[8, 8, 8, 8, -1]), "decoder_widths"),
        (lambda: PoseDiscriminator(SIZE, dense_widths=[8]), "dense_widths"),
        (lambda: PoseDiscriminator(image_size="big"), "image_size"),
    ],
)
def test_bad_constructor_arguments_are_named(factory, match):
    with pytest.raises(InvalidConfigError, match=match):
        factory()


def test_bad_resampling_is_named():
    with pytest.raises(ValueError, match="resampling"):
        PoseWarpGenerator.tiny(SIZE, resampling="cubic")


def test_generator_accepts_rectangular_images():
    rng = np.random.default_rng(3)
    pose = Pose(rng.uniform(4, 60, (14, 2)))
    inputs = posewarp_inputs(np.zeros((96, 64, 3), "float32"), pose, pose)
    assert inputs["source_pose"].shape == (1, 48, 32, 14)
    out = PoseWarpGenerator.tiny((96, 64), width=4)(inputs)
    assert tuple(out.shape) == (1, 96, 64, 3)
