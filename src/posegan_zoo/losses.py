"""Losses for pose-guided image synthesis: perceptual, L1, SSIM and adversarial.

The perceptual loss compares features of VGG19 (the paper's; ImageNet weights are a keras
download) or of an ImageNet MobileNetV2 whose weights ship with the package (offline).

Image losses are registered `keras.losses.Loss` classes (`PerceptualLoss`, `L1Loss`,
`SSIMLoss`); `l1_loss` and `ssim_loss` are their per-sample functions, in the manner of
`keras.losses.mean_absolute_error`. Adversarial losses are functions of the
discriminator's raw outputs (logits); `adversarial_losses(name)` picks a pair of them.

Reduction. Every loss first computes one value per sample (images: mean over the pixels;
logits of any shape: mean over the non-batch axes), then reduces the batch with the
`reduction` argument, with the meaning Keras gives it:

- `"sum_over_batch_size"` (the default; `"mean"` is a synonym): the mean over the samples
  this replica sees, divided by the number of replicas when it runs under a
  `tf.distribute` strategy (Keras' own losses do the same). Summing the gradients across
  replicas, as Keras' optimizers do, then gives the gradient of the mean over the global
  batch. To log the global value, multiply by `num_replicas_in_sync` (or sum the
  per-replica values with `strategy.reduce("SUM", ...)`). Without a strategy it is
  simply the batch mean.
- `"sum"`: the sum over the samples, never rescaled.
- `"none"` / `None`: the per-sample values, shape `(batch,)`.

So `perceptual(y, y_hat) + 0.1 * generator_loss(fake_logits)` in a custom `train_step`
combines values of the same scale, inside or outside `tf.function` and a strategy.
"""

import dataclasses
import os
import pathlib
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from posegan_zoo.backbones import mobilenet_v2 as _mobilenet_v2
from posegan_zoo.errors import (
    CheckpointError,
    InvalidConfigError,
    InvalidImageError,
    InvalidStatisticsError,
    WeightsUnavailableError,
)

#: The 12 conv layers of VGG19 whose outputs the perceptual loss compares, in order.
VGG_LAYER_NAMES = (
    "block1_conv1",
    "block1_conv2",
    "block2_conv1",
    "block2_conv2",
    "block3_conv1",
    "block3_conv2",
    "block3_conv3",
    "block3_conv4",
    "block4_conv1",
    "block4_conv2",
    "block4_conv3",
    "block4_conv4",
)
#: Channel count of each layer in `VGG_LAYER_NAMES`.
VGG_LAYER_CHANNELS = (64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512)
#: The paper's activation statistics (PoseWarp training images), shipped with the package.
PAPER_VGG_STATISTICS = str(
    pathlib.Path(__file__).parent / "assets" / "vgg_activation_distribution_train.mat"
)
#: Caffe ImageNet means of the blue, green and red channels, on the 0..255 scale.
CAFFE_BGR_MEANS = (103.939, 116.779, 123.68)

#: Per-channel MobileNetV2 statistics (203 frames of the open-licence videos), shipped.
MOBILENET_V2_STATISTICS = str(
    pathlib.Path(__file__).parent / "assets" / "mobilenet_v2_statistics.npz"
)
#: The networks `PerceptualLoss` can compare features of.
PERCEPTUAL_BACKBONES = ("vgg19", "mobilenet_v2")

_REDUCTIONS = ("sum_over_batch_size", "mean", "sum", "none", None)
_CHANNEL_ORDERS = ("rgb", "bgr")


# --------------------------------------------------------------------------- reduction


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise InvalidConfigError(
            f"`reduction` must be one of {list(_REDUCTIONS)}, got {reduction!r}."
        )
    return reduction


def _per_sample_mean(values):
    """Mean over every axis but the first (the batch axis)."""
    values = ops.convert_to_tensor(values)
    if len(values.shape) <= 1:
        return values
    return ops.mean(values, axis=tuple(range(1, len(values.shape))))


def _reduce(per_sample, reduction):
    reduction = _check_reduction(reduction)
    if reduction in ("none", None):
        return per_sample
    total = ops.sum(per_sample)
    if reduction == "sum":
        return total
    count = ops.cast(ops.shape(per_sample)[0], total.dtype)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return ops.divide_no_nan(total, count * replicas)


def _as_float32(values):
    return ops.cast(ops.convert_to_tensor(values), "float32")


# --------------------------------------------------------------------------- VGG19


def load_vgg19_statistics(path):
    """Reads and checks per-channel VGG19 activation statistics from a MATLAB `.mat` file.

    The file holds keys `'0'` .. `'11'`, one per layer of `VGG_LAYER_NAMES`, each a
    `2 x C` array: row 0 the channel means, row 1 the channel standard deviations.

    Returns:
        A list of 12 `(means, stds)` pairs of float32 arrays of shape `(C,)`.

    Raises:
        FileNotFoundError: `path` does not exist.
        InvalidStatisticsError: unreadable file, missing key, wrong shape, or a standard
            deviation that is negative or not finite; the message names the file and key.

    Example:

    >>> import os, tempfile
    >>> import numpy as np, scipy.io
    >>> from posegan_zoo.losses import VGG_LAYER_CHANNELS, load_vgg19_statistics
    >>> path = os.path.join(tempfile.mkdtemp(), "stats.mat")
    >>> scipy.io.savemat(path, {str(i): np.ones((2, c)) for i, c in
    ...                         enumerate(VGG_LAYER_CHANNELS)})
    >>> [stds.shape[0] for _, stds in load_vgg19_statistics(path)][:3]
    [64, 64, 128]
    """
    import scipy.io

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"VGG statistics file `{path}` (`statistics`) does not exist.")
    try:
        contents = scipy.io.loadmat(path)
    except Exception as err:
        raise InvalidStatisticsError(
            f"VGG statistics file `{path}` is not a readable MATLAB .mat file: {err}"
        ) from err
    layers = []
    for index, (layer, channels) in enumerate(
        zip(VGG_LAYER_NAMES, VGG_LAYER_CHANNELS, strict=True)
    ):
        key = str(index)
        if key not in contents:
            raise InvalidStatisticsError(
                f"VGG statistics file `{path}` has no key '{key}' (statistics of {layer}); "
                "expected keys '0'..'11'."
            )
        try:
            array = np.asarray(contents[key], dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise InvalidStatisticsError(
                f"VGG statistics file `{path}`, key '{key}': not a numeric array ({err})."
            ) from err
        if array.shape != (2, channels):
            raise InvalidStatisticsError(
                f"VGG statistics file `{path}`, key '{key}' ({layer}): expected shape "
                f"(2, {channels}) (row 0 means, row 1 stds), got {array.shape}."
            )
        means, stds = array
        if not np.all(np.isfinite(array)) or np.any(stds < 0):
            raise InvalidStatisticsError(
                f"VGG statistics file `{path}`, key '{key}' ({layer}): means and stds must "
                "be finite and stds non-negative."
            )
        layers.append((means.astype(np.float32), stds.astype(np.float32)))
    return layers


def vgg19_preprocess(images, channel_order="rgb"):
    """Maps images in [-1, 1] to the input keras' VGG19 expects: BGR, 0..255, Caffe means off.

    `channel_order` is the order of `images`' channels: `"rgb"` (posegan_zoo's data
    pipeline, Pillow) is reversed to BGR first; `"bgr"` (frames read with OpenCV) is kept.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import vgg19_preprocess
    >>> red = np.array([[[[1.0, -1.0, -1.0]]]], "float32")  # one pure red RGB pixel
    >>> np.asarray(vgg19_preprocess(red), "float64").round(3).ravel().tolist()  # B, G, R
    [-103.939, -116.779, 131.32]
    """
    if channel_order not in _CHANNEL_ORDERS:
        raise InvalidConfigError(
            f"`channel_order` must be one of {list(_CHANNEL_ORDERS)}, got {channel_order!r}."
        )
    images = ops.convert_to_tensor(images)
    pixels = (images + 1.0) * 127.5
    if channel_order == "rgb":
        # The paper's reference read frames with OpenCV, i.e. in BGR order, and subtracted
        # 103.939 (the blue mean) from channel 0 without reordering: its VGG saw BGR
        # input, as keras' ImageNet VGG19 expects, and its statistics file was computed on
        # BGR input. Our images are RGB, so we reverse the channels to feed the same thing.
        pixels = ops.flip(pixels, axis=-1)
    return pixels - ops.convert_to_tensor(np.array(CAFFE_BGR_MEANS, "float32"), pixels.dtype)


_FEATURE_MODELS = {}


def _normalize_weights(weights):
    """`weights` as None, "imagenet" or a path string; anything else is an error."""
    if weights is None or (isinstance(weights, str) and weights == "imagenet"):
        return weights
    if not isinstance(weights, str | os.PathLike):
        raise InvalidConfigError(
            "`weights` must be 'imagenet', a path to a VGG19 .h5 / .weights.h5 file, or "
            f"None (with `allow_random_weights=True`), got {weights!r}."
        )
    return os.fspath(weights)


def _weights_source(weights, allow_random_weights):
    """A hashable key naming where the VGG19 weights come from."""
    weights = _normalize_weights(weights)
    if weights is None:
        if not allow_random_weights:
            raise InvalidConfigError(
                "`weights=None` gives VGG19 random weights, which makes the perceptual loss "
                "meaningless for training; pass `allow_random_weights=True` to ask for "
                "that on purpose (tests, experiments), or `weights='imagenet'` or a path."
            )
        return ("random",)
    if weights == "imagenet":
        return ("imagenet",)
    path = os.path.abspath(weights)
    if not os.path.isfile(path):
        raise WeightsUnavailableError(f"VGG19 weights file `{path}` (`weights`) does not exist.")
    stat = os.stat(path)
    return ("file", path, stat.st_mtime_ns, stat.st_size)


def _load_vgg19(source):
    kind = source[0]
    if kind == "imagenet":
        try:
            return keras.applications.VGG19(include_top=False, weights="imagenet")
        except Exception as err:
            raise WeightsUnavailableError(
                "Could not get VGG19 ImageNet weights (`weights='imagenet'`): keras "
                "downloads them on first use and keeps them in ~/.keras/models, and the "
                f"download or the cached file failed ({type(err).__name__}: {err}). If this "
                "machine is offline, copy the file 'vgg19_weights_tf_dim_ordering_tf_kernels_"
                "notop.h5' here and pass `weights=<path to that local VGG19 .h5 or "
                ".weights.h5 file>`."
            ) from err
    vgg = keras.applications.VGG19(include_top=False, weights=None)
    if kind == "file":
        path = source[1]
        try:
            vgg.load_weights(path)
        except Exception as err:
            raise CheckpointError(
                f"VGG19 weights file `{path}` (`weights`) does not fit keras' VGG19 without "
                f"its top (include_top=False): {type(err).__name__}: {err}"
            ) from err
    return vgg


def _average_pooling_features(vgg):
    """Rebuilds VGG19 up to block4_conv4 with average pooling, sharing no variables."""
    inputs = keras.Input((None, None, 3), name="vgg_input")
    x = inputs
    outputs = []
    for layer in vgg.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.MaxPooling2D):
            x = keras.layers.AveragePooling2D(
                pool_size=layer.pool_size,
                strides=layer.strides,
                padding=layer.padding,
                dtype=layer.dtype_policy,
                name=layer.name,
            )(x)
        elif isinstance(layer, keras.layers.Conv2D):
            conv = keras.layers.Conv2D.from_config(layer.get_config())
            x = conv(x)
            conv.set_weights(layer.get_weights())
            outputs.append(x)
        else:
            raise CheckpointError(f"Unexpected layer {layer.name!r} in keras' VGG19.")
        if layer.name == VGG_LAYER_NAMES[-1]:
            break
    names = tuple(output._keras_history[0].name for output in outputs)
    if names != VGG_LAYER_NAMES:
        raise CheckpointError(f"keras' VGG19 conv layers are {names}, not {VGG_LAYER_NAMES}.")
    model = keras.Model(inputs, outputs, name="vgg19_average_pooling_features")
    model.trainable = False
    return model


def vgg19_features(weights="imagenet", *, allow_random_weights=False):
    """The frozen VGG19 feature extractor of the perceptual loss, built once per process.

    Keras' VGG19 (`include_top=False`) with every max-pool replaced by an average pool of
    the same size and strides, cut after block4_conv4. It maps `vgg19_preprocess`'ed
    images of any size to the outputs of the 12 layers of `VGG_LAYER_NAMES` (after ReLU).
    Models are cached per weights source (and dtype policy and distribution strategy), so
    losses built with the same `weights` share one.

    Args:
        weights: `"imagenet"` (keras' download; a clear `WeightsUnavailableError` when
            offline), a path to a local VGG19 `.h5` / `.weights.h5` file (keras' "notop"
            file, or `save_weights` of `keras.applications.VGG19(include_top=False)`), or
            `None` for random weights, which needs `allow_random_weights=True`.
        allow_random_weights: must be True for `weights=None`; random weights never
            replace failed pretrained ones.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import vgg19_features
    >>> model = vgg19_features(weights=None, allow_random_weights=True)
    >>> [tuple(f.shape) for f in model(np.zeros((1, 32, 32, 3)))][::4]
    [(1, 32, 32, 64), (1, 8, 8, 256), (1, 4, 4, 512)]
    >>> model.trainable
    False
    """
    source = _weights_source(weights, allow_random_weights)
    strategy = tf.distribute.get_strategy()
    key = (source, keras.config.dtype_policy().name, id(strategy))
    cached = _FEATURE_MODELS.get(key)
    if cached is not None and cached[0] is strategy:
        return cached[1]
    model = _average_pooling_features(_load_vgg19(source))
    _FEATURE_MODELS[key] = (strategy, model)
    return model


# --------------------------------------------------------------------------- MobileNetV2


def load_mobilenet_v2_statistics(path):
    """Reads and checks per-channel MobileNetV2 activation statistics from an `.npz` file.

    The file (written by `examples/mobilenet_statistics.py`) holds `<layer>/mean` and
    `<layer>/std` for each layer of `posegan_zoo.backbones.FEATURE_LAYER_NAMES`, one value
    per channel; other keys are ignored. The shipped file is `MOBILENET_V2_STATISTICS`.

    Returns:
        A list of 5 `(means, stds)` pairs of float32 arrays of shape `(C,)`.

    Raises:
        FileNotFoundError: `path` does not exist.
        InvalidStatisticsError: unreadable file, missing key, wrong shape, or a value
            that is not finite or a negative std; the message names the file and key.

    Example:

    >>> from posegan_zoo.losses import MOBILENET_V2_STATISTICS, load_mobilenet_v2_statistics
    >>> [stds.shape[0] for _, stds in load_mobilenet_v2_statistics(MOBILENET_V2_STATISTICS)]
    [96, 144, 192, 576, 1280]
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"MobileNetV2 statistics file `{path}` (`statistics`) does not exist."
        )
    try:
        with np.load(path, allow_pickle=False) as contents:
            arrays = {key: contents[key] for key in contents.files}
    except Exception as err:
        raise InvalidStatisticsError(
            f"MobileNetV2 statistics file `{path}` is not a readable .npz file: {err}"
        ) from err
    layers = []
    for layer, channels in zip(
        _mobilenet_v2.FEATURE_LAYER_NAMES, _mobilenet_v2.FEATURE_LAYER_CHANNELS, strict=True
    ):
        pair = []
        for kind in ("mean", "std"):
            key = f"{layer}/{kind}"
            if key not in arrays:
                raise InvalidStatisticsError(
                    f"MobileNetV2 statistics file `{path}` has no key '{key}'."
                )
            try:
                array = np.asarray(arrays[key], dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise InvalidStatisticsError(
                    f"MobileNetV2 statistics file `{path}`, key '{key}': not numeric ({err})."
                ) from err
            if array.shape != (channels,):
                raise InvalidStatisticsError(
                    f"MobileNetV2 statistics file `{path}`, key '{key}': expected shape "
                    f"({channels},), got {array.shape}."
                )
            if not np.all(np.isfinite(array)) or (kind == "std" and np.any(array < 0)):
                raise InvalidStatisticsError(
                    f"MobileNetV2 statistics file `{path}`, key '{key}': values must be "
                    "finite and stds non-negative."
                )
            pair.append(array.astype(np.float32))
        layers.append(tuple(pair))
    return layers


def _mobilenet_weights(weights, allow_random_weights):
    """PerceptualLoss' `weights` for MobileNetV2 as `mobilenet_v2_features` takes them."""
    if weights is None:
        if not allow_random_weights:
            raise InvalidConfigError(
                "`weights=None` gives MobileNetV2 random weights, which makes the perceptual "
                "loss meaningless for training; pass `allow_random_weights=True` to ask for "
                "that on purpose (tests), or keep `weights='imagenet'` (shipped, offline)."
            )
        return "random"
    if isinstance(weights, str) and weights == "imagenet":
        return weights
    if isinstance(weights, str) and weights == "random":  # a name, not a file
        return _mobilenet_weights(None, allow_random_weights)
    if not isinstance(weights, str | os.PathLike):
        raise InvalidConfigError(
            "`weights` must be 'imagenet' (the shipped MobileNetV2 weights), a path to an "
            ".npz file of `posegan_zoo.backbones.save_mobilenet_v2_weights`, or None (with "
            f"`allow_random_weights=True`), got {weights!r}."
        )
    return os.fspath(weights)


def _check_images(images, argument):
    shape = tuple(images.shape)
    if len(shape) != 4 or shape[-1] != 3:
        raise InvalidImageError(
            f"`{argument}` must be a batch of RGB images (batch, height, width, 3), "
            f"got shape {shape}."
        )


@keras.saving.register_keras_serializable(package="posegan_zoo")
class PerceptualLoss(keras.losses.Loss):
    """The PoseWarp paper's perceptual loss: normalized feature distances of a frozen net.

    With `backbone="vgg19"` (the default, the paper's), both images go through
    `vgg19_features` (VGG19 with average pooling); for each of the 12 layers
    block1_conv1 .. block4_conv4 the loss takes the mean over positions and channels of
    `|f(y_true) - f(y_pred)| / (std + std_offset)`, with the per-channel std of the layer
    from the statistics file, and averages the 12 layers.

    With `backbone="mobilenet_v2"` the same is done on the five layers of
    `posegan_zoo.backbones.mobilenet_v2_features` (output strides 2 to 32) of an ImageNet
    MobileNetV2 whose weights ship with the package, so it works offline; the stds are
    those of `MOBILENET_V2_STATISTICS`, measured on 203 frames of the open-licence videos
    (`examples/mobilenet_statistics.py`). Its input is the images themselves (RGB in
    [-1, 1], MobileNetV2's convention).

    `call` returns one value per sample; the batch is reduced by `reduction` (module
    docstring: the default is the batch mean, scaled for `tf.distribute` like Keras' own
    losses). The network is frozen: gradients flow to `y_pred` only.

    Args:
        statistics: path to a file of per-channel activation statistics: for VGG19 a
            `.mat` file (see `load_vgg19_statistics`), e.g. the paper's
            `vgg_activation_distribution_train.mat`; for MobileNetV2 an `.npz` file (see
            `load_mobilenet_v2_statistics`). None (the default) is the file shipped for
            the backbone (`PAPER_VGG_STATISTICS`, `MOBILENET_V2_STATISTICS`).
        weights: `"imagenet"`, a local weights file, or `None` (random; requires
            `allow_random_weights=True`). For VGG19 see `vgg19_features` (`"imagenet"` is
            keras' download); for MobileNetV2 `"imagenet"` is the shipped asset and a file
            is an `.npz` of `posegan_zoo.backbones.save_mobilenet_v2_weights`.
        backbone: `"vgg19"` (default) or `"mobilenet_v2"`.
        allow_random_weights: explicit consent to random weights.
        channel_order: channel order of the images, `"rgb"` (default) or `"bgr"`; each
            backbone reorders them to what it expects. Images are in [-1, 1].
        std_offset: added to every std (0.1 in the paper).
        reduction, name, dtype: as for `keras.losses.Loss`.

    Example:

    >>> import os, tempfile
    >>> import numpy as np, scipy.io
    >>> from posegan_zoo.losses import PerceptualLoss, VGG_LAYER_CHANNELS
    >>> stats = os.path.join(tempfile.mkdtemp(), "stats.mat")
    >>> scipy.io.savemat(stats, {str(i): np.ones((2, c)) for i, c in
    ...                          enumerate(VGG_LAYER_CHANNELS)})
    >>> # For training use weights="imagenet" (or a local file); random weights: tests only.
    >>> loss = PerceptualLoss(stats, weights=None, allow_random_weights=True)
    >>> y = np.random.default_rng(0).uniform(-1, 1, (2, 32, 32, 3)).astype("float32")
    >>> float(loss(y, y)), bool(loss(y, -y) > 0)
    (0.0, True)
    >>> offline = PerceptualLoss(backbone="mobilenet_v2")  # ImageNet weights, shipped
    >>> float(offline(y, y)), bool(offline(y, -y) > 0)
    (0.0, True)
    """

    def __init__(
        self,
        statistics=None,
        weights="imagenet",
        *,
        backbone="vgg19",
        allow_random_weights=False,
        channel_order="rgb",
        std_offset=0.1,
        reduction="sum_over_batch_size",
        name="perceptual_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(backbone, str) or backbone not in PERCEPTUAL_BACKBONES:
            raise InvalidConfigError(
                f"`backbone` must be one of {list(PERCEPTUAL_BACKBONES)}, got {backbone!r}."
            )
        if statistics is None:
            statistics = PAPER_VGG_STATISTICS if backbone == "vgg19" else MOBILENET_V2_STATISTICS
        if channel_order not in _CHANNEL_ORDERS:
            raise InvalidConfigError(
                f"`channel_order` must be one of {list(_CHANNEL_ORDERS)}, got {channel_order!r}."
            )
        if not float(std_offset) > 0:
            raise InvalidConfigError(f"`std_offset` must be positive, got {std_offset!r}.")
        self.backbone = backbone
        self.statistics = os.fspath(statistics)
        self.allow_random_weights = bool(allow_random_weights)
        self.channel_order = channel_order
        self.std_offset = float(std_offset)
        if backbone == "vgg19":
            self.weights = _normalize_weights(weights)
            layer_statistics = load_vgg19_statistics(self.statistics)
            self.feature_extractor = vgg19_features(
                self.weights, allow_random_weights=self.allow_random_weights
            )
        else:
            source = _mobilenet_weights(weights, self.allow_random_weights)
            self.weights = None if source == "random" else source
            layer_statistics = load_mobilenet_v2_statistics(self.statistics)
            self.feature_extractor = _mobilenet_v2.mobilenet_v2_features(source)
        self._inverse_scales = [
            (1.0 / (stds.astype(np.float64) + self.std_offset)).astype(np.float32)
            for _, stds in layer_statistics
        ]

    def _preprocess(self, images):
        if self.backbone == "vgg19":
            return vgg19_preprocess(images, self.channel_order)
        images = ops.convert_to_tensor(images)
        return ops.flip(images, axis=-1) if self.channel_order == "bgr" else images

    def call(self, y_true, y_pred):
        _check_images(y_true, "y_true")
        _check_images(y_pred, "y_pred")
        batch = ops.shape(y_true)[0]
        # One pass of the network over both batches.
        images = ops.concatenate([y_true, y_pred], axis=0)
        features = self.feature_extractor(self._preprocess(images), training=False)
        per_layer = []
        for feature, inverse_scale in zip(features, self._inverse_scales, strict=True):
            feature = ops.cast(feature, "float32")
            distance = ops.abs(feature[:batch] - feature[batch:]) * inverse_scale
            per_layer.append(ops.mean(distance, axis=(1, 2, 3)))
        return ops.cast(ops.mean(ops.stack(per_layer, axis=0), axis=0), self.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            statistics=self.statistics,
            weights=self.weights,
            backbone=self.backbone,
            allow_random_weights=self.allow_random_weights,
            channel_order=self.channel_order,
            std_offset=self.std_offset,
        )
        return config


# --------------------------------------------------------------------------- L1, SSIM


def l1_loss(y_true, y_pred):
    """Mean absolute difference per sample, shape `(batch,)`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import l1_loss
    >>> np.asarray(l1_loss(np.zeros((2, 4, 4, 3)), np.full((2, 4, 4, 3), 0.5))).tolist()
    [0.5, 0.5]
    """
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), y_true.dtype)
    return _per_sample_mean(ops.abs(y_pred - y_true))


def ssim_loss(y_true, y_pred, max_val=2.0, filter_size=11, filter_sigma=1.5):
    """`1 - SSIM` per sample, shape `(batch,)`, for images in [-1, 1].

    `max_val` is the dynamic range of the pixel values: 2 for [-1, 1]. Uses
    `keras.ops.image.ssim` where the installed Keras has it, else `tf.image.ssim`; both
    use a Gaussian window (`filter_size`, `filter_sigma`) and need images at least
    `filter_size` pixels on a side.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import ssim_loss
    >>> y = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    >>> np.round(np.asarray(ssim_loss(y, y)), 6).tolist()
    [0.0, 0.0]
    """
    y_true = _as_float32(y_true)
    y_pred = _as_float32(y_pred)
    _check_images(y_true, "y_true")
    _check_images(y_pred, "y_pred")
    if hasattr(ops.image, "ssim"):
        similarity = ops.image.ssim(
            y_true,
            y_pred,
            max_val=max_val,
            filter_size=filter_size,
            filter_sigma=filter_sigma,
            data_format="channels_last",
        )
    else:  # Keras older than ssim in ops.image.
        similarity = tf.image.ssim(
            y_true, y_pred, max_val=max_val, filter_size=filter_size, filter_sigma=filter_sigma
        )
    return 1.0 - similarity


@keras.saving.register_keras_serializable(package="posegan_zoo")
class L1Loss(keras.losses.Loss):
    """Mean absolute error of images, reduced over the batch (see the module docstring).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import L1Loss
    >>> float(L1Loss()(np.zeros((2, 4, 4, 3)), np.ones((2, 4, 4, 3))))
    1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="l1_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        return l1_loss(y_true, y_pred)


@keras.saving.register_keras_serializable(package="posegan_zoo")
class SSIMLoss(keras.losses.Loss):
    """`1 - SSIM` of images in [-1, 1], reduced over the batch (see `ssim_loss`).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import SSIMLoss
    >>> y = np.random.default_rng(0).uniform(-1, 1, (2, 16, 16, 3)).astype("float32")
    >>> round(float(SSIMLoss()(y, y)), 6), round(float(SSIMLoss()(y, 0 * y)), 2)
    (0.0, 1.0)
    """

    def __init__(
        self,
        max_val=2.0,
        filter_size=11,
        filter_sigma=1.5,
        reduction="sum_over_batch_size",
        name="ssim_loss",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.max_val = float(max_val)
        self.filter_size = int(filter_size)
        self.filter_sigma = float(filter_sigma)

    def call(self, y_true, y_pred):
        return ssim_loss(y_true, y_pred, self.max_val, self.filter_size, self.filter_sigma)

    def get_config(self):
        config = super().get_config()
        config.update(
            max_val=self.max_val, filter_size=self.filter_size, filter_sigma=self.filter_sigma
        )
        return config


# --------------------------------------------------------------------------- adversarial


def bce_discriminator_loss(real_logits, fake_logits, reduction="sum_over_batch_size"):
    """Binary cross-entropy of a discriminator (the paper's): real -> 1, fake -> 0.

    The mean of the two terms, `0.5 * (BCE(1, real) + BCE(0, fake))`: the value the
    reference gets by training on one batch of reals and fakes together. Logits in, any
    shape with the batch first.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import bce_discriminator_loss
    >>> round(float(bce_discriminator_loss(np.zeros((4, 1)), np.zeros((4, 1)))), 6)  # log 2
    0.693147
    """
    real = _per_sample_mean(ops.softplus(-_as_float32(real_logits)))
    fake = _per_sample_mean(ops.softplus(_as_float32(fake_logits)))
    return 0.5 * (_reduce(real, reduction) + _reduce(fake, reduction))


def bce_generator_loss(fake_logits, reduction="sum_over_batch_size"):
    """Non-saturating binary cross-entropy of a generator: `BCE(1, fake)`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import bce_generator_loss
    >>> round(float(bce_generator_loss(np.zeros((4, 1)))), 6)
    0.693147
    """
    return _reduce(_per_sample_mean(ops.softplus(-_as_float32(fake_logits))), reduction)


def lsgan_discriminator_loss(real_logits, fake_logits, reduction="sum_over_batch_size"):
    """Least-squares GAN discriminator loss: `0.5 * ((real - 1)^2 + fake^2)`.

    The raw outputs are used directly (no sigmoid).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import lsgan_discriminator_loss
    >>> float(lsgan_discriminator_loss(np.full((2, 1), 1.0), np.full((2, 1), 1.0)))
    0.5
    """
    real = _per_sample_mean(ops.square(_as_float32(real_logits) - 1.0))
    fake = _per_sample_mean(ops.square(_as_float32(fake_logits)))
    return 0.5 * (_reduce(real, reduction) + _reduce(fake, reduction))


def lsgan_generator_loss(fake_logits, reduction="sum_over_batch_size"):
    """Least-squares GAN generator loss: `0.5 * (fake - 1)^2`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import lsgan_generator_loss
    >>> float(lsgan_generator_loss(np.full((2, 1), -1.0)))
    2.0
    """
    return _reduce(_per_sample_mean(0.5 * ops.square(_as_float32(fake_logits) - 1.0)), reduction)


def wgan_critic_loss(real_scores, fake_scores, reduction="sum_over_batch_size"):
    """Wasserstein critic loss: `fake - real` (add `gradient_penalty` for WGAN-GP).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import wgan_critic_loss
    >>> float(wgan_critic_loss(np.array([[3.0], [1.0]]), np.array([[0.5], [0.5]])))
    -1.5
    """
    real = _per_sample_mean(_as_float32(real_scores))
    fake = _per_sample_mean(_as_float32(fake_scores))
    return _reduce(fake, reduction) - _reduce(real, reduction)


def wgan_generator_loss(fake_scores, reduction="sum_over_batch_size"):
    """Wasserstein generator loss: `-fake`.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import wgan_generator_loss
    >>> float(wgan_generator_loss(np.array([[2.0], [4.0]])))
    -3.0
    """
    return _reduce(-_per_sample_mean(_as_float32(fake_scores)), reduction)


def gradient_penalty(
    critic,
    real,
    fake,
    *,
    conditions=None,
    image_key="image",
    target_norm=1.0,
    seed=None,
    training=True,
    reduction="sum_over_batch_size",
):
    """WGAN-GP's penalty `(||grad_x critic(x)|| - target_norm)^2` at random interpolates.

    For each sample `i`, `x_i = real_i + alpha_i * (fake_i - real_i)` with `alpha_i`
    drawn uniformly in [0, 1) (one draw per sample, shared by all its pixels); the norm is
    over all of the sample's entries. Multiply the result by the penalty weight (10 in
    Gulrajani et al.) and add it to `wgan_critic_loss`. The critic must not mix samples
    (no batch normalization), as WGAN-GP requires.

    Args:
        critic: a callable (e.g. a `keras.Model`) returning one score per sample (any
            shape with the batch first; scores are summed per sample).
        real, fake: image batches of the same shape.
        conditions: for a critic taking a dict, its other inputs (e.g. PoseWarp's
            `{"source_pose": ..., "target_pose": ...}`), passed unchanged; the critic is
            then called with `{**conditions, image_key: x}`. Only the image is interpolated.
        image_key: the critic's image input when `conditions` is given.
        target_norm: the gradient norm the penalty pulls towards.
        seed: None (default: TensorFlow's stateful random op, a fresh draw on every call,
            also inside `tf.function` and `tf.distribute`), or an int or a
            `keras.random.SeedGenerator` for `keras.random.uniform` (an int seed repeats
            the same draws in every call of a traced `tf.function`).
        training: passed to a Keras critic.
        reduction: see the module docstring.

    Example:

    >>> import numpy as np
    >>> from keras import ops
    >>> from posegan_zoo.losses import gradient_penalty
    >>> w = np.full((1, 2, 2, 1), 0.25, "float32")  # ||w|| = 0.5
    >>> def linear_critic(x):
    ...     return ops.sum(x * w, axis=(1, 2, 3))
    >>> real, fake = np.zeros((3, 2, 2, 1), "float32"), np.ones((3, 2, 2, 1), "float32")
    >>> round(float(gradient_penalty(linear_critic, real, fake)), 6)  # (0.5 - 1)^2
    0.25
    """
    real = ops.convert_to_tensor(real)
    if not real.dtype.is_floating:
        real = ops.cast(real, "float32")
    fake = ops.cast(ops.convert_to_tensor(fake), real.dtype)
    if tuple(real.shape) != tuple(fake.shape):
        raise InvalidImageError(
            f"`real` and `fake` must have the same shape, got {tuple(real.shape)} and "
            f"{tuple(fake.shape)}."
        )
    if conditions is not None:
        if not isinstance(conditions, dict):
            raise InvalidConfigError(
                f"`conditions` must be a dict of the critic's other inputs, got "
                f"{type(conditions).__name__}."
            )
        if image_key in conditions:
            raise InvalidConfigError(
                f"`conditions` must not hold the image input `image_key`={image_key!r}; "
                "pass the images as `real` and `fake`."
            )
        conditions = {key: ops.convert_to_tensor(value) for key, value in conditions.items()}
    rank = len(real.shape)
    alpha_shape = [ops.shape(real)[0]] + [1] * (rank - 1)
    if seed is None:
        # Not keras.random with seed=None: its global seed generator is a variable that
        # a tf.function (or each replica of a strategy) may try to create while tracing.
        alpha = tf.random.uniform(alpha_shape, dtype=real.dtype)
    else:
        alpha = keras.random.uniform(alpha_shape, dtype=real.dtype, seed=seed)
    interpolates = real + alpha * (fake - real)
    with tf.GradientTape() as tape:
        tape.watch(interpolates)
        inputs = interpolates if conditions is None else {**conditions, image_key: interpolates}
        if isinstance(critic, keras.Layer):
            scores = critic(inputs, training=training)
        else:
            scores = critic(inputs)
        total = ops.sum(ops.cast(scores, "float32"))
    gradients = ops.cast(tape.gradient(total, interpolates), "float32")
    squared = ops.sum(ops.square(gradients), axis=tuple(range(1, rank)))
    norms = ops.sqrt(squared + 1e-12)
    return _reduce(ops.square(norms - target_norm), reduction)


@dataclasses.dataclass(frozen=True)
class AdversarialLosses:
    """A discriminator loss and a generator loss that belong together.

    Unpacks as `(discriminator, generator)`: `discriminator(real_logits, fake_logits)`,
    `generator(fake_logits)`. When `uses_gradient_penalty` is True (WGAN-GP), add
    `weight * gradient_penalty(critic, real, fake, ...)` to the discriminator loss.

    Example:

    >>> from posegan_zoo.losses import adversarial_losses
    >>> losses = adversarial_losses("lsgan")
    >>> losses.name, losses.uses_gradient_penalty
    ('lsgan', False)
    """

    name: str
    discriminator: Callable
    generator: Callable
    uses_gradient_penalty: bool = False

    def __iter__(self):
        yield self.discriminator
        yield self.generator


_ADVERSARIAL = {
    "bce": AdversarialLosses("bce", bce_discriminator_loss, bce_generator_loss),
    "lsgan": AdversarialLosses("lsgan", lsgan_discriminator_loss, lsgan_generator_loss),
    "wgan-gp": AdversarialLosses("wgan-gp", wgan_critic_loss, wgan_generator_loss, True),
}
#: Names `adversarial_losses` accepts.
ADVERSARIAL_LOSS_NAMES = tuple(_ADVERSARIAL)


def adversarial_losses(name):
    """The `(discriminator_loss, generator_loss)` pair named `name`.

    Names: `"bce"` (binary cross-entropy from logits, the paper's), `"lsgan"` (least
    squares), `"wgan-gp"` (Wasserstein; add `gradient_penalty` to the critic loss).
    Case and `_` / `-` do not matter.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.losses import adversarial_losses
    >>> d_loss, g_loss = adversarial_losses("wgan-gp")
    >>> float(g_loss(np.ones((2, 1))))
    -1.0
    """
    key = name.strip().lower().replace("_", "-") if isinstance(name, str) else None
    if key not in _ADVERSARIAL:
        raise InvalidConfigError(
            f"Unknown adversarial loss `name`={name!r}; expected one of "
            f"{list(ADVERSARIAL_LOSS_NAMES)}."
        )
    return _ADVERSARIAL[key]
