"""The offline ImageNet MobileNetV2: TFLite conversion, shipped asset, perceptual loss."""

import importlib.util
import pathlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from posegan_zoo import losses
from posegan_zoo.backbones import (
    FEATURE_LAYER_CHANNELS,
    FEATURE_LAYER_NAMES,
    MOBILENET_V2_WEIGHTS,
    build_mobilenet_v2,
    convert_mobilenet_v2_tflite,
    load_mobilenet_v2_weights,
    mobilenet_v2_classifier,
    mobilenet_v2_features,
)
from posegan_zoo.backbones.mobilenet_v2 import _layer_plan, _read_tflite_graph
from posegan_zoo.errors import (
    CheckpointError,
    InvalidConfigError,
    InvalidStatisticsError,
    WeightsUnavailableError,
)
from posegan_zoo.losses import MOBILENET_V2_STATISTICS, PerceptualLoss

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"  # beside the repository, as tests/test_losses.py has it
MODELS = SHARED / "models" / "imagenet_mobilenet"
QUANT = MODELS / "mobilenet_v2_1.0_224_quant.tflite"  # the file the asset comes from
PTQ = MODELS / "tf2_mobilenet_v2_1.0_224_ptq.tflite"
# Top-1 of the TFLite classifiers (1001 classes, 0 = background; ImageNet index + 1).
EXPECTED = {"grace_hopper.bmp": 653, "cat.bmp": 286}  # military uniform, Egyptian cat


def needs_shared(*paths):
    missing = [p for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"{missing[0]} is absent (../shared is not beside this checkout)")


def load_224(name):
    """The image as the TFLite classifier takes it: RGB uint8, Lanczos-resized to 224."""
    from PIL import Image

    with Image.open(MODELS / name) as image:
        return np.asarray(image.convert("RGB").resize((224, 224), Image.Resampling.LANCZOS))


def run_tflite(path, image):
    """The TFLite interpreter on one image: (top-1, probabilities, interpreter)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], image[None])
    interpreter.invoke()
    output = interpreter.get_output_details()[0]
    scale, zero_point = output["quantization"]
    probabilities = interpreter.get_tensor(output["index"]).astype(np.float64) - zero_point
    probabilities = probabilities[0] * scale
    return int(np.argmax(probabilities)), probabilities, interpreter


def keras_input(path, image):
    """The float input the TFLite file's quantized input stands for, `(q - zp) * scale`."""
    from ai_edge_litert.interpreter import Interpreter

    scale, zero_point = Interpreter(model_path=str(path)).get_input_details()[0]["quantization"]
    return ((image.astype(np.float32) - zero_point) * scale)[None]


@pytest.fixture(scope="module")
def images():
    needs_shared(*(MODELS / name for name in EXPECTED))
    return {name: load_224(name) for name in EXPECTED}


@pytest.fixture(scope="module")
def converted():
    needs_shared(QUANT)
    return convert_mobilenet_v2_tflite(QUANT)


# --------------------------------------------------------------------------- conversion


def test_converted_classifier_agrees_with_tflite(converted, images):
    for name, image in images.items():
        top1, reference, _ = run_tflite(QUANT, image)
        probabilities = np.asarray(converted(keras_input(QUANT, image)))[0]
        assert top1 == EXPECTED[name]
        assert int(np.argmax(probabilities)) == top1, name
        assert np.abs(probabilities - reference).max() < 0.03, name
        top5 = set(np.argsort(-probabilities)[:5])
        assert len(top5 & set(np.argsort(-reference)[:5])) >= 4, name


def test_every_layer_is_within_one_quantization_step_of_tflite(converted, images):
    # Each Keras layer, fed the TFLite layer's own (dequantized) input, reproduces the
    # TFLite output to within one step: kernel layout, SAME padding, strides, biases and
    # activations all match; the end-to-end gap is the TFLite activations' rounding.
    _, _, interpreter = run_tflite(QUANT, images["cat.bmp"])
    _, nodes, _ = _read_tflite_graph(QUANT)

    def dequantized(detail):
        scale, zero_point = detail["quantization"]
        value = interpreter.get_tensor(detail["index"]).astype(np.float32)
        return (value - zero_point) * scale, scale

    for node, (name, kind, _, _) in zip(nodes, _layer_plan(), strict=True):
        if kind == "add":
            continue
        x, _ = dequantized(node["input_detail"])
        reference, step = dequantized(node["output_detail"])
        x = x.reshape(1, -1) if kind == "dense" else x
        y = np.asarray(converted.get_layer(name)(x)).reshape(reference.shape)
        assert np.abs(y - reference).max() <= step, name


def test_the_per_channel_tflite_file_converts_too(images):
    needs_shared(PTQ)
    model = convert_mobilenet_v2_tflite(PTQ)
    for name, image in images.items():
        top1, _, _ = run_tflite(PTQ, image)
        assert top1 == EXPECTED[name]
        assert int(np.argmax(model(keras_input(PTQ, image))[0])) == top1


def test_conversion_errors(tmp_path):
    with pytest.raises(WeightsUnavailableError, match=r"absent\.tflite"):
        convert_mobilenet_v2_tflite(tmp_path / "absent.tflite")
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a flatbuffer")
    with pytest.raises(CheckpointError, match=r"junk\.tflite"):
        convert_mobilenet_v2_tflite(junk)
    needs_shared(SHARED / "models" / "blazepose" / "pose_detection.tflite")
    with pytest.raises(CheckpointError, match="pose_detection"):
        convert_mobilenet_v2_tflite(SHARED / "models" / "blazepose" / "pose_detection.tflite")


# --------------------------------------------------------------------------- shipped asset


def test_shipped_asset_is_the_float16_conversion(converted, images):
    stored = np.load(MOBILENET_V2_WEIGHTS)
    assert stored["block_1_expand/kernel"].dtype == np.float16
    shipped = mobilenet_v2_classifier()
    assert shipped.get_layer("top_conv").kernel.dtype == "float32"
    for ours, theirs in zip(shipped.weights, converted.weights, strict=True):
        expected = np.asarray(theirs).astype(np.float16).astype(np.float32)
        np.testing.assert_array_equal(np.asarray(ours), expected)
    for name, image in images.items():
        top1, reference, _ = run_tflite(QUANT, image)
        probabilities = np.asarray(shipped(keras_input(QUANT, image)))[0]
        assert int(np.argmax(probabilities)) == top1 == EXPECTED[name]
        assert np.abs(probabilities - reference).max() < 0.03


def test_features_model_is_frozen_and_shared():
    model = mobilenet_v2_features()
    assert model is mobilenet_v2_features("imagenet")
    assert not model.trainable and not model.trainable_weights
    shapes = [tuple(f.shape) for f in model(np.zeros((2, 64, 96, 3), np.float32))]
    assert shapes == [
        (2, 64 // s, 96 // s, c)
        for s, c in zip((2, 4, 8, 16, 32), FEATURE_LAYER_CHANNELS, strict=True)
    ]
    head = build_mobilenet_v2()
    np.testing.assert_array_equal(
        load_mobilenet_v2_weights(head, MOBILENET_V2_WEIGHTS).get_layer("stem_conv").kernel,
        model.get_layer("stem_conv").kernel,
    )


def test_weight_file_errors(tmp_path):
    with pytest.raises(WeightsUnavailableError, match=r"absent\.npz"):
        mobilenet_v2_features(tmp_path / "absent.npz")
    with pytest.raises(InvalidConfigError, match="`weights`"):
        mobilenet_v2_features(3)
    partial = tmp_path / "partial.npz"
    np.savez(partial, **{"stem_conv/kernel": np.zeros((3, 3, 3, 32), np.float16)})
    with pytest.raises(CheckpointError, match=r"partial\.npz.*stem_conv/bias"):
        load_mobilenet_v2_weights(build_mobilenet_v2(), partial)


# --------------------------------------------------------------------------- loss


def sample_images(seed, shape=(2, 64, 64, 3)):
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def test_mobilenet_perceptual_loss_values_against_a_hand_computation():
    loss = PerceptualLoss(backbone="mobilenet_v2")
    y, other = sample_images(0), sample_images(1)
    per_sample = np.asarray(PerceptualLoss(backbone="mobilenet_v2", reduction="none")(y, other))
    assert per_sample.shape == (2,) and np.all(per_sample > 0)
    np.testing.assert_allclose(float(loss(y, other)), per_sample.mean(), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(loss.call(y, y)), [0.0, 0.0], atol=1e-7)

    features = mobilenet_v2_features()
    statistics = losses.load_mobilenet_v2_statistics(MOBILENET_V2_STATISTICS)
    expected = np.mean(
        [
            np.mean(np.abs(np.asarray(a) - np.asarray(b)) / (stds + 0.1), axis=(1, 2, 3))
            for a, b, (_, stds) in zip(features(y), features(other), statistics, strict=True)
        ],
        axis=0,
    )
    np.testing.assert_allclose(per_sample, expected, rtol=1e-4)
    # BGR images are turned to RGB first.
    bgr = PerceptualLoss(backbone="mobilenet_v2", channel_order="bgr", reduction="none")
    np.testing.assert_allclose(np.asarray(bgr(y[..., ::-1], other[..., ::-1])), per_sample, 1e-5)


def test_mobilenet_perceptual_loss_gradients_flow_to_y_pred_only():
    loss = PerceptualLoss(backbone="mobilenet_v2")
    y = tf.constant(sample_images(2))
    y_hat = tf.Variable(sample_images(3))
    with tf.GradientTape() as tape:
        value = loss(y, y_hat)
    gradient = tape.gradient(value, y_hat).numpy()
    assert np.all(np.isfinite(gradient)) and np.abs(gradient).max() > 0
    assert not loss.feature_extractor.trainable_weights


def test_mobilenet_perceptual_loss_config_round_trip_and_arguments(tmp_path):
    loss = PerceptualLoss(backbone="mobilenet_v2", std_offset=0.2, reduction="sum")
    config = loss.get_config()
    assert config["backbone"] == "mobilenet_v2" and config["weights"] == "imagenet"
    assert pathlib.Path(config["statistics"]).name == "mobilenet_v2_statistics.npz"
    clone = keras.losses.deserialize(keras.losses.serialize(loss))
    assert type(clone) is PerceptualLoss and clone.get_config() == config
    assert clone.feature_extractor is loss.feature_extractor
    y, other = sample_images(4), sample_images(5)
    assert float(clone(y, other)) == pytest.approx(float(loss(y, other)), rel=1e-6)

    with pytest.raises(InvalidConfigError, match=r"`backbone`.*'resnet'"):
        PerceptualLoss(backbone="resnet")
    with pytest.raises(InvalidConfigError, match="allow_random_weights=True"):
        PerceptualLoss(backbone="mobilenet_v2", weights=None)
    random = PerceptualLoss(backbone="mobilenet_v2", weights=None, allow_random_weights=True)
    assert random.feature_extractor is not loss.feature_extractor
    assert keras.losses.deserialize(keras.losses.serialize(random)).get_config()["weights"] is None
    with pytest.raises(WeightsUnavailableError, match=r"absent\.npz"):
        PerceptualLoss(backbone="mobilenet_v2", weights=tmp_path / "absent.npz")
    # The VGG19 loss is still the default, with its own statistics file.
    assert PerceptualLoss.__init__.__kwdefaults__["backbone"] == "vgg19"


def test_bad_mobilenet_statistics_name_file_and_key(tmp_path):
    contents = dict(np.load(MOBILENET_V2_STATISTICS))
    contents.pop("block_6_expand/std")
    path = tmp_path / "bad.npz"
    np.savez(path, **contents)
    with pytest.raises(InvalidStatisticsError, match=r"bad\.npz.*'block_6_expand/std'"):
        PerceptualLoss(path, backbone="mobilenet_v2")
    contents["block_6_expand/std"] = -np.ones(192, np.float32)
    np.savez(path, **contents)
    with pytest.raises(InvalidStatisticsError, match=r"block_6_expand/std.*non-negative"):
        losses.load_mobilenet_v2_statistics(path)
    with pytest.raises(FileNotFoundError, match=r"absent\.npz"):
        losses.load_mobilenet_v2_statistics(tmp_path / "absent.npz")


def test_statistics_script_writes_what_the_loss_reads(tmp_path):
    videos = SHARED / "data" / "videos" / "open" / "tfjs"
    needs_shared(videos / "pose_1.mp4")
    spec = importlib.util.spec_from_file_location(
        "mobilenet_statistics", ROOT / "examples" / "mobilenet_statistics.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "statistics.npz"
    script.main(["--videos", str(videos), "--frames", "4", "--size", "64", "--out", str(out)])
    written = losses.load_mobilenet_v2_statistics(out)
    shipped = losses.load_mobilenet_v2_statistics(MOBILENET_V2_STATISTICS)
    assert [s.shape for _, s in written] == [s.shape for _, s in shipped]
    assert int(np.load(out)["frames"]) == 4
    assert list(np.load(MOBILENET_V2_STATISTICS)["layers"]) == list(FEATURE_LAYER_NAMES)
    assert int(np.load(MOBILENET_V2_STATISTICS)["frames"]) >= 200


# --------------------------------------------------------------------------- training


def test_training_config_picks_the_perceptual_backbone(tmp_path):
    from posegan_zoo.models import UNetBaseline
    from posegan_zoo.training import TrainingConfig
    from posegan_zoo.training.run import _build_trainer, resolve_perceptual_backbone

    def config(**kwargs):
        return TrainingConfig(data="d", output=str(tmp_path), **kwargs)

    assert resolve_perceptual_backbone(config()) == "mobilenet_v2"
    assert resolve_perceptual_backbone(config(vgg_weights="vgg.h5")) == "vgg19"
    assert resolve_perceptual_backbone(config(perceptual_backbone="vgg19")) == "vgg19"
    with pytest.raises(InvalidConfigError, match=r"`perceptual_backbone`.*'vgg16'"):
        config(perceptual_backbone="vgg16")
    with pytest.raises(InvalidConfigError, match="vgg_weights"):
        config(perceptual_backbone="mobilenet_v2", vgg_weights="vgg.h5")
    generator = UNetBaseline(32, encoder_widths=[4] * 11, decoder_widths=[4] * 5)
    trainer = _build_trainer(config(model="unet", width=4), generator)
    assert isinstance(trainer.reconstruction_loss, PerceptualLoss)
    assert trainer.reconstruction_loss.backbone == "mobilenet_v2"
