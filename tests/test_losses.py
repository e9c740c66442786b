"""Losses: perceptual (against a hand computation), L1, SSIM, adversarial, WGAN-GP."""

import os
import pathlib
import subprocess
import sys
import textwrap

import h5py
import keras
import numpy as np
import pytest
import scipy.io
import tensorflow as tf
from keras import ops

from posegan_zoo import losses
from posegan_zoo.errors import (
    CheckpointError,
    InvalidConfigError,
    InvalidImageError,
    InvalidStatisticsError,
    WeightsUnavailableError,
)
from posegan_zoo.losses import (
    VGG_LAYER_CHANNELS,
    VGG_LAYER_NAMES,
    L1Loss,
    PerceptualLoss,
    SSIMLoss,
    adversarial_losses,
    gradient_penalty,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
REAL_STATISTICS = ROOT.parent / "shared" / "data" / "posewarp_tennis"
REAL_STATISTICS = REAL_STATISTICS / "vgg_activation_distribution_train.mat"

# VGG19 up to block4_conv4: (conv widths of each block); a 2x2/2 pool follows each block.
VGG_BLOCKS = ((64, 64), (128, 128), (256,) * 4, (512,) * 4)


def random_statistics(seed):
    rng = np.random.default_rng(seed)
    return {
        str(i): np.stack([rng.normal(size=c), rng.uniform(0.05, 3.0, size=c)])
        for i, c in enumerate(VGG_LAYER_CHANNELS)
    }


@pytest.fixture(scope="module")
def vgg_setup(tmp_path_factory):
    """A random-weight VGG19 saved to a file, and a statistics file with random stds."""
    directory = tmp_path_factory.mktemp("vgg")
    keras.utils.set_random_seed(7)
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    weights_path = directory / "vgg19_random.weights.h5"
    vgg.save_weights(weights_path)
    statistics = random_statistics(0)
    statistics_path = directory / "statistics.mat"
    scipy.io.savemat(statistics_path, statistics)
    kernels = {  # all 16 conv layers, block5 included
        layer.name: layer.get_weights()
        for layer in vgg.layers
        if isinstance(layer, keras.layers.Conv2D)
    }
    return {
        "weights": str(weights_path),
        "statistics": str(statistics_path),
        "stds": [statistics[str(i)][1] for i in range(12)],
        "kernels": kernels,
    }


def hand_features(images_rgb, kernels):
    """VGG19 features straight from tf.nn ops: BGR caffe input, conv+ReLU, 2x2 avg-pool."""
    pixels = (np.asarray(images_rgb, np.float64) + 1.0) * 127.5
    x = tf.constant(pixels[..., ::-1] - np.array([103.939, 116.779, 123.68]), tf.float32)
    features = []
    names = iter(VGG_LAYER_NAMES)
    for block_index, block in enumerate(VGG_BLOCKS):
        if block_index > 0:
            x = tf.nn.avg_pool2d(x, ksize=2, strides=2, padding="VALID")
        for _ in block:
            kernel, bias = kernels[next(names)]
            x = tf.nn.relu(tf.nn.conv2d(x, kernel, strides=1, padding="SAME") + bias)
            features.append(x.numpy().astype(np.float64))
    return features


def hand_perceptual_loss(y_true, y_pred, kernels, stds):
    """Per sample: mean over the 12 layers of mean(|f(y) - f(y_hat)| / (std + 0.1))."""
    per_layer = []
    for a, b, std in zip(
        hand_features(y_true, kernels), hand_features(y_pred, kernels), stds, strict=True
    ):
        per_layer.append(np.mean(np.abs(a - b) / (std + 0.1), axis=(1, 2, 3)))
    return np.mean(per_layer, axis=0)


def images(seed, shape=(3, 32, 32, 3)):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


# --------------------------------------------------------------------------- perceptual


def test_perceptual_loss_matches_hand_computation(vgg_setup):
    loss = PerceptualLoss(vgg_setup["statistics"], weights=vgg_setup["weights"])
    y_true, y_pred = images(1), images(2)
    expected = hand_perceptual_loss(y_true, y_pred, vgg_setup["kernels"], vgg_setup["stds"])
    np.testing.assert_allclose(float(loss(y_true, y_pred)), expected.mean(), rtol=1e-4)
    per_sample = PerceptualLoss(
        vgg_setup["statistics"], weights=vgg_setup["weights"], reduction="none"
    )(y_true, y_pred)
    assert tuple(per_sample.shape) == (3,)
    np.testing.assert_allclose(np.asarray(per_sample), expected, rtol=1e-4)


def test_perceptual_loss_reverses_rgb_to_bgr(vgg_setup):
    rgb = PerceptualLoss(vgg_setup["statistics"], weights=vgg_setup["weights"])
    bgr = PerceptualLoss(vgg_setup["statistics"], weights=vgg_setup["weights"], channel_order="bgr")
    y_true, y_pred = images(3, (2, 32, 32, 3)), images(4, (2, 32, 32, 3))
    from_rgb = float(rgb(y_true, y_pred))
    np.testing.assert_allclose(float(bgr(y_true[..., ::-1], y_pred[..., ::-1])), from_rgb, 1e-5)
    assert abs(float(bgr(y_true, y_pred)) - from_rgb) > 1e-3 * from_rgb
    red = np.array([[[[1.0, -1.0, -1.0]]]], np.float32)
    np.testing.assert_allclose(
        np.asarray(losses.vgg19_preprocess(red)).ravel(), [-103.939, -116.779, 131.32], 1e-5
    )


def test_feature_extractor_average_pools_and_12_layers_in_order(vgg_setup):
    loss = PerceptualLoss(vgg_setup["statistics"], weights=vgg_setup["weights"])
    model = loss.feature_extractor
    layers = model.layers
    assert not any(isinstance(layer, keras.layers.MaxPooling2D) for layer in layers)
    pools = [layer for layer in layers if isinstance(layer, keras.layers.AveragePooling2D)]
    assert [pool.name for pool in pools] == ["block1_pool", "block2_pool", "block3_pool"]
    assert all(pool.pool_size == (2, 2) and pool.strides == (2, 2) for pool in pools)
    assert [output._keras_history[0].name for output in model.outputs] == list(VGG_LAYER_NAMES)
    features = model(np.zeros((1, 64, 64, 3), np.float32))
    assert [f.shape[-1] for f in features] == list(VGG_LAYER_CHANNELS)
    assert [f.shape[1] for f in features] == [64] * 2 + [32] * 2 + [16] * 4 + [8] * 4
    assert model.trainable is False and not model.trainable_weights
    for name in VGG_LAYER_NAMES:  # weights copied from the file
        for actual, expected in zip(
            model.get_layer(name).get_weights(), vgg_setup["kernels"][name], strict=True
        ):
            np.testing.assert_array_equal(actual, expected)


def test_perceptual_loss_zero_for_identical_images_and_shares_one_vgg(vgg_setup):
    first = PerceptualLoss(vgg_setup["statistics"], weights=vgg_setup["weights"])
    second = PerceptualLoss(vgg_setup["statistics"], weights=vgg_setup["weights"], name="other")
    assert first.feature_extractor is second.feature_extractor
    y = images(5)
    assert float(first(y, y)) == 0.0
    assert float(first(y, -y)) > 0.0


def test_perceptual_loss_in_a_tf_function_train_step(vgg_setup):
    loss = PerceptualLoss(vgg_setup["statistics"], weights=vgg_setup["weights"])
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(3, 3, padding="same")])
    optimizer = keras.optimizers.Adam(1e-3)
    vgg_before = [w.copy() for w in loss.feature_extractor.get_weights()[:2]]

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            value = loss(y, model(x, training=True)) + 0.1 * L1Loss()(y, model(x))
        gradients = tape.gradient(value, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return value, gradients

    x, y = images(6, (2, 32, 32, 3)), images(7, (2, 32, 32, 3))
    values = [float(train_step(x, y)[0]) for _ in range(3)]
    _, gradients = train_step(x, y)
    assert all(np.isfinite(values))
    assert all(g is not None and np.any(np.asarray(g) != 0) for g in gradients)
    for before, after in zip(vgg_before, loss.feature_extractor.get_weights()[:2], strict=True):
        np.testing.assert_array_equal(before, after)


def test_perceptual_loss_config_round_trip(vgg_setup):
    loss = PerceptualLoss(
        vgg_setup["statistics"], weights=vgg_setup["weights"], std_offset=0.2, reduction="sum"
    )
    config = loss.get_config()
    assert config["weights"] == vgg_setup["weights"] and config["std_offset"] == 0.2
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(clone) is PerceptualLoss and clone.get_config() == config
    y_true, y_pred = images(8, (2, 32, 32, 3)), images(9, (2, 32, 32, 3))
    np.testing.assert_allclose(float(clone(y_true, y_pred)), float(loss(y_true, y_pred)), 1e-6)


def test_perceptual_loss_rejects_non_image_batches(vgg_setup):
    loss = PerceptualLoss(vgg_setup["statistics"], weights=vgg_setup["weights"])
    with pytest.raises(InvalidImageError, match="y_pred"):
        loss(np.zeros((1, 32, 32, 3)), np.zeros((1, 32, 32, 4)))


@pytest.mark.skipif(not REAL_STATISTICS.is_file(), reason=f"{REAL_STATISTICS} is absent")
def test_real_statistics_file_loads():
    statistics = losses.load_vgg19_statistics(REAL_STATISTICS)
    assert [stds.shape[0] for _, stds in statistics] == [64, 64, 128, 128] + [256] * 4 + [512] * 4
    assert [means.shape[0] for means, _ in statistics] == list(VGG_LAYER_CHANNELS)
    assert all(np.all(stds > 0) for _, stds in statistics)


def test_imagenet_weights_offline_give_a_clear_error(monkeypatch):
    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("keras.src.utils.file_utils.get_file", offline)
    monkeypatch.setattr("keras.utils.get_file", offline)
    monkeypatch.setattr(losses, "_FEATURE_MODELS", {})
    with pytest.raises(WeightsUnavailableError) as info:
        losses.vgg19_features("imagenet")
    message = str(info.value)
    assert "weights='imagenet'" in message and "offline" in message
    assert "weights=<path to" in message and "name resolution" in message
    assert not losses._FEATURE_MODELS  # nothing cached, no random fallback


def test_weights_from_a_keras2_style_h5_file(vgg_setup, tmp_path):
    # The layout of keras' own "notop" download: one group per layer, named weights.
    path = tmp_path / "vgg19_notop.h5"
    with h5py.File(path, "w") as file:
        file.attrs["layer_names"] = [name.encode() for name in vgg_setup["kernels"]]
        for name in vgg_setup["kernels"]:
            group = file.create_group(name)
            weight_names = [f"{name}/kernel:0", f"{name}/bias:0"]
            group.attrs["weight_names"] = [n.encode() for n in weight_names]
            for weight_name, value in zip(weight_names, vgg_setup["kernels"][name], strict=True):
                group.create_dataset(weight_name, data=value)
    model = losses.vgg19_features(path)
    for name in VGG_LAYER_NAMES:
        np.testing.assert_array_equal(
            model.get_layer(name).get_weights()[0], vgg_setup["kernels"][name][0]
        )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_weights_argument_errors(vgg_setup, tmp_path):
    statistics = vgg_setup["statistics"]
    # Without `statistics`, the paper's file shipped in the package is used.
    default = PerceptualLoss(weights=vgg_setup["weights"])
    assert pathlib.Path(default.statistics).name == "vgg_activation_distribution_train.mat"
    assert [len(s) for _, s in losses.load_vgg19_statistics(default.statistics)] == list(
        VGG_LAYER_CHANNELS
    )
    with pytest.raises(InvalidConfigError, match="allow_random_weights=True"):
        PerceptualLoss(statistics, weights=None)
    with pytest.raises(WeightsUnavailableError, match=r"missing\.weights\.h5"):
        PerceptualLoss(statistics, weights=tmp_path / "missing.weights.h5")
    with pytest.raises(InvalidConfigError, match="`weights`"):
        PerceptualLoss(statistics, weights=3)
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    other.save_weights(tmp_path / "dense.weights.h5")
    with pytest.raises(CheckpointError, match=r"dense\.weights\.h5"):
        PerceptualLoss(statistics, weights=tmp_path / "dense.weights.h5")
    with pytest.raises(InvalidConfigError, match="channel_order"):
        PerceptualLoss(statistics, weights=vgg_setup["weights"], channel_order="hsv")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda s: s.pop("5"), "no key '5'"),
        (lambda s: s.update({"3": np.ones((2, 64))}), r"key '3' \(block2_conv2\).*\(2, 128\)"),
        (lambda s: s.update({"0": -np.ones((2, 64))}), "key '0'.*non-negative"),
    ],
)
def test_bad_statistics_file_names_file_and_key(tmp_path, edit, expected):
    statistics = random_statistics(1)
    edit(statistics)
    path = tmp_path / "bad_statistics.mat"
    scipy.io.savemat(path, statistics)
    with pytest.raises(InvalidStatisticsError, match=expected) as info:
        PerceptualLoss(path, weights=None, allow_random_weights=True)
    assert str(path) in str(info.value)


def test_unreadable_or_missing_statistics_file(tmp_path):
    path = tmp_path / "not_a.mat"
    path.write_text("hello")
    with pytest.raises(InvalidStatisticsError, match=r"not_a\.mat"):
        losses.load_vgg19_statistics(path)
    with pytest.raises(FileNotFoundError, match=r"absent\.mat"):
        losses.load_vgg19_statistics(tmp_path / "absent.mat")


# --------------------------------------------------------------------------- L1, SSIM


def test_l1_loss_known_values():
    y_true = np.zeros((2, 4, 4, 3), np.float32)
    y_pred = np.concatenate([np.full((1, 4, 4, 3), 0.5), np.full((1, 4, 4, 3), -2.0)])
    np.testing.assert_allclose(np.asarray(losses.l1_loss(y_true, y_pred)), [0.5, 2.0])
    assert float(L1Loss()(y_true, y_pred)) == pytest.approx(1.25)
    assert float(L1Loss()(y_pred, y_pred)) == 0.0
    assert float(L1Loss(reduction="sum")(y_true, y_pred)) == pytest.approx(2.5)


def test_ssim_loss_values_and_agreement_with_tf_image_ssim():
    y = images(10, (2, 32, 32, 3))
    np.testing.assert_allclose(np.asarray(losses.ssim_loss(y, y)), 0.0, atol=1e-6)
    assert np.all(np.asarray(losses.ssim_loss(y, -y)) > 0.1)
    other = np.clip(y + images(11, (2, 32, 32, 3)) * 0.3, -1, 1)
    expected = 1.0 - tf.image.ssim(y, other, max_val=2.0).numpy()
    np.testing.assert_allclose(np.asarray(losses.ssim_loss(y, other)), expected, atol=1e-5)
    assert float(SSIMLoss()(y, other)) == pytest.approx(expected.mean(), abs=1e-5)
    config = SSIMLoss(filter_size=7).get_config()
    assert keras.losses.deserialize(keras.losses.serialize(SSIMLoss(filter_size=7))).get_config()
    assert config["filter_size"] == 7 and config["max_val"] == 2.0


def test_ssim_loss_falls_back_to_tf_image_ssim(monkeypatch):
    y, other = images(12, (2, 32, 32, 3)), images(13, (2, 32, 32, 3))
    with_keras = np.asarray(losses.ssim_loss(y, other))
    monkeypatch.delattr(ops.image, "ssim")
    np.testing.assert_allclose(np.asarray(losses.ssim_loss(y, other)), with_keras, atol=1e-5)


# --------------------------------------------------------------------------- adversarial


def softplus(x):
    return np.log1p(np.exp(x))


def test_bce_and_lsgan_values_on_known_logits():
    real = np.array([[2.0], [-1.0], [0.5]], np.float32)
    fake = np.array([[0.5], [-3.0], [1.0]], np.float32)
    d_bce, g_bce = adversarial_losses("bce")
    expected_d = 0.5 * (np.mean(softplus(-real)) + np.mean(softplus(fake)))
    assert float(d_bce(real, fake)) == pytest.approx(expected_d, rel=1e-6)
    # = Keras' binary cross-entropy from logits on the stacked batch, as in the reference.
    keras_bce = keras.losses.BinaryCrossentropy(from_logits=True)(
        np.concatenate([np.ones_like(real), np.zeros_like(fake)]), np.concatenate([real, fake])
    )
    assert float(d_bce(real, fake)) == pytest.approx(float(keras_bce), rel=1e-5)
    assert float(g_bce(fake)) == pytest.approx(np.mean(softplus(-fake)), rel=1e-6)
    d_ls, g_ls = adversarial_losses("LSGAN")
    expected_d = 0.5 * (np.mean((real - 1) ** 2) + np.mean(fake**2))
    assert float(d_ls(real, fake)) == pytest.approx(expected_d, rel=1e-6)
    assert float(g_ls(fake)) == pytest.approx(0.5 * np.mean((fake - 1) ** 2), rel=1e-6)
    # Patch outputs: per-sample mean over the non-batch axes; reductions "none" and "sum".
    patches = np.arange(8, dtype=np.float32).reshape(2, 2, 2, 1)
    np.testing.assert_allclose(np.asarray(g_ls(patches, reduction="none")), [0.75, 10.75])
    assert float(g_ls(patches, reduction="sum")) == pytest.approx(11.5)


def test_wgan_values_and_registry():
    real, fake = np.array([3.0, 1.0]), np.array([0.5, -0.5])
    d_w, g_w = adversarial_losses("wgan_gp")
    assert float(d_w(real, fake)) == pytest.approx(-2.0)
    assert float(g_w(fake)) == pytest.approx(0.0)
    assert adversarial_losses("wgan-gp").uses_gradient_penalty
    assert not adversarial_losses("bce").uses_gradient_penalty
    assert losses.ADVERSARIAL_LOSS_NAMES == ("bce", "lsgan", "wgan-gp")
    with pytest.raises(InvalidConfigError, match=r"'hinge'.*\['bce', 'lsgan', 'wgan-gp'\]"):
        adversarial_losses("hinge")
    with pytest.raises(InvalidConfigError, match="reduction"):
        losses.bce_generator_loss(fake, reduction="max")


@pytest.mark.parametrize("norm", [0.5, 1.0, 2.5])
def test_gradient_penalty_of_linear_critic_is_exact(norm):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(1, 8, 8, 3)).astype(np.float32)
    w *= norm / np.linalg.norm(w)

    def critic(x):
        return ops.sum(x * w, axis=(1, 2, 3))

    real, fake = images(14, (4, 8, 8, 3)), images(15, (4, 8, 8, 3))
    penalty = gradient_penalty(critic, real, fake)
    assert float(penalty) == pytest.approx((np.linalg.norm(w) - 1.0) ** 2, rel=1e-5, abs=1e-9)
    per_sample = gradient_penalty(critic, real, fake, reduction="none")
    assert tuple(per_sample.shape) == (4,)


def test_gradient_penalty_draws_one_interpolation_factor_per_sample():
    # critic(x) = |x|^2 / 2 has gradient x. With real = 0 and |fake_i| = 1 the gradient norm
    # at the interpolate is alpha_i, so each per-sample penalty (alpha_i - 1)^2 reveals alpha_i.
    def critic(x):
        return 0.5 * ops.sum(ops.square(x), axis=(1, 2, 3))

    batch = 16
    real = np.zeros((batch, 4, 4, 3), np.float32)
    fake = np.full((batch, 4, 4, 3), 1.0 / np.sqrt(48), np.float32)
    penalties = np.asarray(gradient_penalty(critic, real, fake, reduction="none"))
    alphas = 1.0 - np.sqrt(penalties)
    assert alphas.shape == (batch,)
    assert np.all((alphas >= -1e-5) & (alphas <= 1.0 + 1e-5))
    assert len(np.unique(np.round(alphas, 5))) > batch // 2  # not one factor for the batch
    # A fresh draw on every call of a traced function.
    traced = tf.function(lambda r, f: gradient_penalty(critic, r, f, reduction="none"))
    assert not np.allclose(traced(real, fake), traced(real, fake))
    # An int seed makes the draw reproducible.
    np.testing.assert_array_equal(
        gradient_penalty(critic, real, fake, seed=3, reduction="none"),
        gradient_penalty(critic, real, fake, seed=3, reduction="none"),
    )


def test_gradient_penalty_with_dict_critic_interpolates_only_the_image():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(1, 8, 8, 3)).astype(np.float32)
    batch = 3
    source_pose = rng.uniform(0, 1, (batch, 4, 4, 14)).astype(np.float32)
    target_pose = rng.uniform(0, 1, (batch, 4, 4, 14)).astype(np.float32)

    def critic(inputs):
        assert set(inputs) == {"image", "source_pose", "target_pose"}
        scale = 1.0 + ops.mean(inputs["source_pose"], axis=(1, 2, 3))
        return ops.sum(inputs["image"] * w, axis=(1, 2, 3)) * scale + ops.sum(
            inputs["target_pose"], axis=(1, 2, 3)
        )

    conditions = {"source_pose": source_pose, "target_pose": target_pose}
    real, fake = images(16, (batch, 8, 8, 3)), images(17, (batch, 8, 8, 3))
    penalties = gradient_penalty(critic, real, fake, conditions=conditions, reduction="none")
    norms = np.linalg.norm(w) * (1.0 + source_pose.mean(axis=(1, 2, 3)))
    np.testing.assert_allclose(np.asarray(penalties), (norms - 1.0) ** 2, rtol=1e-5)
    with pytest.raises(InvalidConfigError, match="image_key"):
        gradient_penalty(critic, real, fake, conditions={**conditions, "image": real})


def test_gradient_penalty_trains_the_pose_discriminator():
    from posegan_zoo.models import PoseDiscriminator

    critic = PoseDiscriminator(64, conv_widths=[4] * 6, dense_widths=[8, 8])
    poses = np.random.default_rng(2).uniform(0, 1, (2, 32, 32, 14)).astype(np.float32)
    conditions = {"source_pose": poses, "target_pose": poses[::-1]}
    real, fake = images(18, (2, 64, 64, 3)), images(19, (2, 64, 64, 3))
    d_loss, _ = adversarial_losses("wgan-gp")
    with tf.GradientTape() as tape:
        scores_real = critic({"image": real, **conditions})
        scores_fake = critic({"image": fake, **conditions})
        penalty = gradient_penalty(critic, real, fake, conditions=conditions)
        value = d_loss(scores_real, scores_fake) + 10.0 * penalty
    gradients = tape.gradient(penalty, critic.trainable_variables)
    assert np.isfinite(float(value)) and float(penalty) >= 0.0
    assert any(np.any(np.asarray(g) != 0) for g in gradients if g is not None)
    with pytest.raises(InvalidImageError, match="same shape"):
        gradient_penalty(critic, real, fake[:1], conditions=conditions)


# --------------------------------------------------------------------------- distribution

MIRRORED_SCRIPT = textwrap.dedent(
    """
    import sys

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    from keras import ops

    from posegan_zoo.losses import L1Loss, PerceptualLoss, bce_generator_loss, gradient_penalty

    statistics, weights = sys.argv[1:3]
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    y = rng.uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    logits = rng.normal(size=(4, 1)).astype("float32")
    w = rng.normal(size=(1, 32, 32, 3)).astype("float32")
    w *= 1.5 / np.linalg.norm(w)  # a penalty of 0.25, not dominating the sum


    def critic(images):
        return ops.sum(images * w, axis=(1, 2, 3))


    def build():
        keras.utils.set_random_seed(1)
        conv = keras.layers.Conv2D(3, 3, padding="same")
        model = keras.Sequential([keras.Input((32, 32, 3)), conv])
        return model, keras.optimizers.SGD(0.01), PerceptualLoss(statistics, weights=weights)


    def step(model, optimizer, perceptual, x, y, logits):
        with tf.GradientTape() as tape:
            y_hat = model(x)
            loss = perceptual(y, y_hat) + L1Loss()(y, y_hat)
            loss = loss + 0.1 * bce_generator_loss(logits) + gradient_penalty(critic, x, y)
        optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
        return loss


    model, optimizer, perceptual = build()
    single = float(tf.function(step)(model, optimizer, perceptual, x, y, logits))
    single_weights = model.get_weights()

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        m_model, m_optimizer, m_perceptual = build()
    dataset = tf.data.Dataset.from_tensor_slices((x, y, logits)).batch(4)
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))


    @tf.function
    def distributed(batch):
        per_replica = strategy.run(lambda *b: step(m_model, m_optimizer, m_perceptual, *b), batch)
        return strategy.reduce("SUM", per_replica, axis=None)


    mirrored = float(distributed(batch))
    # GP has a random factor per sample but a linear critic makes it constant: compare all.
    np.testing.assert_allclose(mirrored, single, rtol=1e-5)
    for a, b in zip(m_model.get_weights(), single_weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    print("OK", strategy.num_replicas_in_sync, single, mirrored)
    """
)


def test_losses_under_mirrored_strategy_give_the_global_batch_mean(vgg_setup, tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED_SCRIPT)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [sys.executable, str(script), vgg_setup["statistics"], vgg_setup["weights"]],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "OK 2" in result.stdout
