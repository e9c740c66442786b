"""The converter of the PoseWarp authors' Keras 2 generator checkpoints.

The key check builds a replica of the authors' generator graph here, independently of the
package's layers (plain unnamed `keras.layers.Conv2D` created in the reference's order, the
gather-based samplers of `reference_impl`, eager code), writes its weights in Keras 2's
legacy HDF5 layout, converts the file, and compares the two networks' outputs.
"""

import json
import zipfile

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
from reference_impl import affine_warp_reference, upsample_reference

import posegan_zoo
from posegan_zoo.errors import CheckpointError
from posegan_zoo.models import PoseWarpGenerator, convert_posewarp_checkpoint, posewarp_inputs
from posegan_zoo.models.posewarp import checkpoint_converter
from posegan_zoo.pose import Pose

SIZE = 64  # small images keep the paper-width networks fast
ENCODER_WIDTHS = [64, 64] + [128] * 9
SEGMENTATION_DECODER_WIDTHS = [128] * 4 + [32]
SYNTHESIS_DECODER_WIDTHS = [128] * 4 + [64]
NUM_CONVS = 52
PAPER_PARAMS = 7_863_314
# Index (in creation order) of each module's first conv in the authors' graph.
SEGMENTATION, BACKGROUND, FOREGROUND = 0, 17, 34


# === The replica of the reference generator (no posegan_zoo code) ===


def _conv(filters, in_channels, kernel_size=3, strides=1):
    conv = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same")
    conv.build((None, None, None, in_channels))
    return conv


def _unet_convs(in_channels, pose_channels, encoder_widths, decoder_widths):
    """The 16 convs of one reference UNet, created in the reference's order."""
    convs, channels = [], in_channels
    for i, filters in enumerate(encoder_widths):
        convs.append(_conv(filters, channels, 7 if i == 0 else 3, 2 if i in (1, 3, 5, 7, 9) else 1))
        channels = filters + (pose_channels if i == 1 else 0)
    skip_channels = [encoder_widths[i] for i in (8, 6, 4, 2, 0)]
    for filters, skip in zip(decoder_widths, skip_channels, strict=True):
        convs.append(_conv(filters, channels + skip))
        channels = filters
    return convs


def _run_unet(convs, x, pose):
    def leaky(t):
        return tf.nn.leaky_relu(t, alpha=0.2)

    encoded = []
    for i, conv in enumerate(convs[:11]):
        x = leaky(conv(x))
        if i == 1:
            x = tf.concat([x, pose], axis=-1)
        encoded.append(x)
    for conv, skip in zip(convs[11:], (8, 6, 4, 2, 0), strict=True):
        x = leaky(conv(tf.concat([upsample_reference(x), encoded[skip]], axis=-1)))
    return x


class ReferenceReplica:
    """The authors' generator: its 52 convs in `self.convs`, in their creation order."""

    def __init__(self, seed=0):
        self.convs = []
        self.segmentation_unet = self._add(
            _unet_convs(3, 14, ENCODER_WIDTHS, SEGMENTATION_DECODER_WIDTHS)
        )
        self.segmentation_head = self._add([_conv(11, 32)])[0]
        self.background_unet = self._add(
            _unet_convs(4, 14, ENCODER_WIDTHS, SYNTHESIS_DECODER_WIDTHS)
        )
        self.background_head = self._add([_conv(3, 64)])[0]
        self.foreground_unet = self._add(
            _unet_convs(30, 14, ENCODER_WIDTHS, SYNTHESIS_DECODER_WIDTHS)
        )
        self.foreground_head = self._add([_conv(3, 64)])[0]
        self.foreground_mask_head = self._add([_conv(1, 64)])[0]
        # Random weights, scaled so that no activation saturates; random biases too, so that
        # a bias left unassigned changes the outputs.
        rng = np.random.default_rng(seed)
        for conv in self.convs:
            kernel_height, kernel_width, in_channels, _ = conv.kernel.shape
            std = 1.1 * np.sqrt(2.0 / (kernel_height * kernel_width * in_channels))
            conv.kernel.assign(rng.normal(0, std, conv.kernel.shape).astype("float32"))
            conv.bias.assign(rng.normal(0, 0.05, conv.bias.shape).astype("float32"))

    def _add(self, convs):
        self.convs.extend(convs)
        return convs

    def weights(self):
        """`(kernel, bias)` numpy pairs in creation order."""
        return [(conv.kernel.numpy(), conv.bias.numpy()) for conv in self.convs]

    def __call__(self, inputs):
        source = tf.constant(inputs["source_image"])
        source_pose, target_pose = inputs["source_pose"], inputs["target_pose"]
        transforms = inputs["transforms"]
        features = _run_unet(self.segmentation_unet, source, source_pose)
        masks = tf.nn.softmax(self.segmentation_head(features) + inputs["mask_prior"], axis=-1)
        background_layer = source * masks[..., :1]
        limbs = tf.concat(
            [
                affine_warp_reference(source * masks[..., i : i + 1], transforms[..., i])
                for i in range(1, 11)
            ],
            axis=-1,
        )
        background_input = tf.concat([background_layer, masks[..., :1]], axis=-1)
        background = tf.tanh(
            self.background_head(_run_unet(self.background_unet, background_input, source_pose))
        )
        features = _run_unet(self.foreground_unet, limbs, target_pose)
        foreground = tf.tanh(self.foreground_head(features))
        mask = tf.sigmoid(self.foreground_mask_head(features))
        outputs = {
            "image": mask * foreground + (1 - mask) * background,
            "source_masks": masks,
            "warped_background": background_layer,
            "warped_limbs": limbs,
            "foreground": foreground,
            "foreground_mask": mask,
            "background": background,
        }
        return {key: np.asarray(value) for key, value in outputs.items()}


# === Keras 2 legacy HDF5 files ===

_WEIGHTLESS = ("input_1", "input_2", "input_3", "lambda_1", "concatenate_1", "leaky_re_lu_1")


def _strings(names):
    return np.array([name.encode("utf-8") for name in names], dtype="S")


def write_keras2_file(
    path, weights, full_model=True, first_number=1, extra_layers=None, layer_names=None
):
    """Writes `(kernel, bias)` pairs as Keras 2 did: `conv2d_<n>` numbered in creation order.

    `extra_layers` maps more layer names to `{weight name: array}`; `layer_names` overrides
    the root's `layer_names` attribute (default: weightless layers first, then the rest).
    """
    layers = {}
    for n, (kernel, bias) in enumerate(weights, start=first_number):
        name = "conv2d" if n == 0 else f"conv2d_{n}"
        layers[name] = {"kernel:0": kernel, "bias:0": bias}
    layers.update(extra_layers or {})
    with h5py.File(path, "w") as file:
        if full_model:
            file.attrs["keras_version"] = b"2.1.6"
            file.attrs["backend"] = b"tensorflow"
            file.attrs["model_config"] = json.dumps({"class_name": "Model"}).encode()
            root = file.create_group("model_weights")
            # The optimizer's state sits beside the model's weights; it is not a layer.
            adam = file.create_group("optimizer_weights/training/Adam")
            adam["iterations:0"] = np.array(100000, "int64")
            adam["Variable:0"] = np.zeros((7, 7, 3, 64), "float32")
        else:
            root = file
        root.attrs["keras_version"] = b"2.1.6"
        root.attrs["backend"] = b"tensorflow"
        root.attrs["layer_names"] = _strings(
            layer_names if layer_names is not None else [*_WEIGHTLESS, *layers]
        )
        for name in _WEIGHTLESS:
            root.create_group(name).attrs["weight_names"] = _strings([])
        for name, params in layers.items():
            group = root.create_group(name)
            group.attrs["weight_names"] = _strings([f"{name}/{param}" for param in params])
            for param, value in params.items():
                group.create_dataset(f"{name}/{param}", data=value)
    return path


def our_convs(generator):
    """The generator's convs, by the attribute paths of the brief, in creation order."""
    convs = []
    for module, heads in (
        (generator.source_segmentation, ["mask_logits"]),
        (generator.background_synthesis, ["image_head"]),
        (generator.foreground_synthesis, ["image_head", "mask_head"]),
    ):
        convs += module.unet.convs + [getattr(module, head) for head in heads]
    return convs


def assert_holds_weights(generator, weights):
    convs = our_convs(generator)
    assert len(convs) == len(weights) == NUM_CONVS
    for n, (conv, (kernel, bias)) in enumerate(zip(convs, weights, strict=True)):
        np.testing.assert_array_equal(conv.kernel.numpy(), kernel, err_msg=f"conv {n} kernel")
        np.testing.assert_array_equal(conv.bias.numpy(), bias, err_msg=f"conv {n} bias")


@pytest.fixture(scope="module")
def replica():
    return ReferenceReplica(seed=0)


@pytest.fixture(scope="module")
def weights(replica):
    return replica.weights()


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(1)
    source = Pose(rng.uniform(8, SIZE - 8, (2, 14, 2)))
    target = Pose(rng.uniform(8, SIZE - 8, (2, 14, 2)))
    image = rng.uniform(-1, 1, (2, SIZE, SIZE, 3)).astype("float32")
    return posewarp_inputs(image, source, target)


# === Conversion ===


def test_converted_generator_reproduces_the_reference_replica(tmp_path, replica, inputs):
    path = write_keras2_file(tmp_path / "vgg_100000.h5", replica.weights())
    generator = convert_posewarp_checkpoint(path, image_size=SIZE)

    assert isinstance(generator, PoseWarpGenerator)
    assert generator.resampling == "reference"
    assert generator.image_size == (SIZE, SIZE)
    assert generator.count_params() == PAPER_PARAMS
    expected = replica(inputs)
    # The replica's outputs are far from saturation, so a wrong weight would show.
    assert 0.1 < expected["image"].std() < 0.9
    assert 0.1 < expected["foreground_mask"].mean() < 0.9
    actual = generator(inputs, return_intermediates=True)
    assert actual.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_allclose(np.asarray(actual[key]), value, atol=1e-4, err_msg=key)


@pytest.mark.parametrize(
    ("full_model", "first_number"),
    [(False, 1), (False, 0), (True, 0), (True, 53)],
    ids=["save_weights-conv2d_1", "save_weights-conv2d", "model-conv2d", "model-conv2d_53"],
)
def test_layouts_and_numberings_map_by_creation_order(tmp_path, weights, full_model, first_number):
    # A misleading `layer_names` listing (reversed): the numbers decide, not the listing.
    names = ["conv2d" if n == 0 else f"conv2d_{n}" for n in range(first_number, first_number + 52)]
    path = write_keras2_file(
        tmp_path / "weights.h5",
        weights,
        full_model=full_model,
        first_number=first_number,
        layer_names=[*_WEIGHTLESS, *reversed(names)],
    )
    with h5py.File(path) as file:
        assert ("model_weights" in file) == full_model
        # h5py lists groups by name (conv2d_10 before conv2d_2): not the creation order.
        stored = [
            name for name in (file["model_weights"] if full_model else file) if "conv" in name
        ]
    assert sorted(stored) == stored != names
    assert_holds_weights(convert_posewarp_checkpoint(str(path), image_size=SIZE), weights)


def test_the_file_serves_any_image_size(tmp_path, weights):
    path = write_keras2_file(tmp_path / "vgg_100000.h5", weights)
    generator = convert_posewarp_checkpoint(path, image_size=(32, 96))
    assert generator.image_size == (32, 96)
    assert_holds_weights(generator, weights)


def test_the_converter_is_exported():
    assert posegan_zoo.convert_posewarp_checkpoint is convert_posewarp_checkpoint
    assert "convert_posewarp_checkpoint" in posegan_zoo.__all__
    assert "convert_posewarp_checkpoint" in posegan_zoo.models.__all__


# === Files that are not the generator's checkpoint ===


@pytest.fixture
def recorded_generators(monkeypatch):
    """Records every generator the converter builds, with a copy of its initial weights."""
    records = []

    class Recording(PoseWarpGenerator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            records.append((self, [weight.numpy().copy() for weight in self.weights]))

    monkeypatch.setattr(checkpoint_converter, "PoseWarpGenerator", Recording)
    return records


@pytest.mark.parametrize("count", [51, 53])
def test_a_wrong_number_of_convs_is_named(tmp_path, weights, count):
    layers = weights[:51] if count == 51 else [*weights, weights[20]]
    path = write_keras2_file(tmp_path / "short.h5", layers)
    with pytest.raises(CheckpointError, match=rf"short\.h5.*found {count} conv layers.*52"):
        convert_posewarp_checkpoint(path, image_size=SIZE)


@pytest.mark.parametrize(
    ("index", "param", "shape", "our_path", "our_shape"),
    [
        # The last conv: a converter that assigned as it went would have assigned 51 convs.
        (51, "kernel", (3, 3, 64, 2), "foreground_synthesis.mask_head", (3, 3, 64, 1)),
        (BACKGROUND + 2, "bias", (64,), "background_synthesis.unet.encoder_convs[2]", (128,)),
        (SEGMENTATION, "kernel", (7, 7, 4, 64), "source_segmentation.unet.encoder_convs[0]", None),
    ],
)
def test_a_wrong_shape_is_named_and_nothing_is_assigned(
    tmp_path, weights, recorded_generators, index, param, shape, our_path, our_shape
):
    layers = list(weights)
    kernel, bias = layers[index]
    our_shape = our_shape or (kernel if param == "kernel" else bias).shape
    wrong = np.zeros(shape, "float32")
    layers[index] = (wrong, bias) if param == "kernel" else (kernel, wrong)
    path = write_keras2_file(tmp_path / "vgg_100000.h5", layers)
    name = f"conv2d_{index + 1}"
    with pytest.raises(CheckpointError) as error:
        convert_posewarp_checkpoint(path, image_size=SIZE)
    message = str(error.value)
    for part in ("vgg_100000.h5", f"'{name}'", our_path, str(shape), str(tuple(our_shape))):
        assert part in message
    for generator, initial in recorded_generators:
        for weight, value in zip(generator.weights, initial, strict=True):
            np.testing.assert_array_equal(weight.numpy(), value)


def test_a_discriminator_file_is_rejected(tmp_path):
    rng = np.random.default_rng(0)
    convs = [
        (rng.normal(size=(5, 5, 3, 64)), np.zeros(64)),
        (rng.normal(size=(5, 5, 92, 128)), np.zeros(128)),
    ] + [(rng.normal(size=(3, 3, 128 if i == 0 else 256, 256)), np.zeros(256)) for i in range(5)]
    dense = {
        "dense_1": {"kernel:0": np.zeros((1024, 256)), "bias:0": np.zeros(256)},
        "dense_2": {"kernel:0": np.zeros((256, 256)), "bias:0": np.zeros(256)},
        "dense_3": {"kernel:0": np.zeros((256, 1)), "bias:0": np.zeros(1)},
    }
    path = write_keras2_file(tmp_path / "disc.h5", convs, extra_layers=dense)
    with pytest.raises(CheckpointError, match=r"disc\.h5.*'dense_1'.*not convs.*discriminator"):
        convert_posewarp_checkpoint(path, image_size=SIZE)


def test_a_weighted_layer_beside_the_52_convs_is_rejected(tmp_path, weights):
    extra = {"batch_normalization_1": {"gamma:0": np.ones(64), "beta:0": np.zeros(64)}}
    path = write_keras2_file(tmp_path / "bn.h5", weights, extra_layers=extra)
    with pytest.raises(CheckpointError, match="'batch_normalization_1' are not convs"):
        convert_posewarp_checkpoint(path, image_size=SIZE)


def test_a_keras3_weights_file_points_to_load_weights(tmp_path):
    path = tmp_path / "generator.weights.h5"
    PoseWarpGenerator(SIZE, resampling="reference").save_weights(path)
    with pytest.raises(CheckpointError, match=r"generator\.weights\.h5: a Keras 3.*load_weights"):
        convert_posewarp_checkpoint(path, image_size=SIZE)


def test_a_non_hdf5_file_is_rejected(tmp_path):
    path = tmp_path / "notes.h5"
    path.write_text("not weights")
    with pytest.raises(CheckpointError, match=r"notes\.h5: not an HDF5 file"):
        convert_posewarp_checkpoint(path, image_size=SIZE)


def test_a_keras_archive_is_rejected_with_a_hint(tmp_path):
    path = tmp_path / "generator.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
    with pytest.raises(CheckpointError, match=r"not an HDF5 file.*keras\.saving\.load_model"):
        convert_posewarp_checkpoint(path, image_size=SIZE)


def test_a_missing_file_or_a_directory_is_rejected(tmp_path):
    with pytest.raises(CheckpointError, match=r"absent\.h5: no such file"):
        convert_posewarp_checkpoint(tmp_path / "absent.h5", image_size=SIZE)
    with pytest.raises(CheckpointError, match="is a directory"):
        convert_posewarp_checkpoint(tmp_path, image_size=SIZE)


def test_malformed_conv_layers_are_named(tmp_path, weights):
    # A conv without its bias.
    layers = {"conv2d_1": {"kernel:0": weights[0][0]}}
    path = write_keras2_file(tmp_path / "a.h5", weights[1:], first_number=2, extra_layers=layers)
    with pytest.raises(CheckpointError, match=r"'conv2d_1' holds.*expected a kernel and a bias"):
        convert_posewarp_checkpoint(path, image_size=SIZE)
    # A gap in the numbering: the creation order is unknown.
    layers = {"conv2d_60": {"kernel:0": weights[-1][0], "bias:0": weights[-1][1]}}
    path = write_keras2_file(tmp_path / "b.h5", weights[:-1], extra_layers=layers)
    with pytest.raises(CheckpointError, match=r"not consecutive.*'conv2d_51'.*'conv2d_60'"):
        convert_posewarp_checkpoint(path, image_size=SIZE)
    # Non-finite weights.
    layers = list(weights)
    layers[3] = (np.full_like(weights[3][0], np.nan), weights[3][1])
    path = write_keras2_file(tmp_path / "c.h5", layers)
    with pytest.raises(CheckpointError, match="conv2d_4/kernel:0' holds NaN"):
        convert_posewarp_checkpoint(path, image_size=SIZE)


def test_inconsistent_listings_are_rejected(tmp_path, weights):
    path = write_keras2_file(tmp_path / "a.h5", weights)
    with h5py.File(path, "a") as file:
        file["model_weights/conv2d_5"].attrs["weight_names"] = _strings(["conv2d_5/kernel:0"])
    with pytest.raises(CheckpointError, match="'conv2d_5' lists weights"):
        convert_posewarp_checkpoint(path, image_size=SIZE)
    path = write_keras2_file(tmp_path / "b.h5", weights, layer_names=["input_1", "conv2d_1"])
    with pytest.raises(
        CheckpointError,
        match=r"weighted layer 'conv2d_\d+' is missing from the file's `layer_names`",
    ):
        convert_posewarp_checkpoint(path, image_size=SIZE)
