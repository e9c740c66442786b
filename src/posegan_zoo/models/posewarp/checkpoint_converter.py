"""Converts the PoseWarp authors' Keras 2 generator checkpoints into a `PoseWarpGenerator`.

The authors' files (`vgg_100000.h5`, `vgg+gan_5000.h5`) use Keras 2's legacy HDF5 layout:
the weights sit under a `model_weights` group (full-model save) or at the top level
(`save_weights`), one group per layer, `<layer>/<layer>/kernel:0` and `bias:0`. The convs
were unnamed, so Keras 2 numbered them `conv2d_<n>` in creation order: the segmentation
UNet (11 encoder, 5 decoder convs) and its 11-channel head, the background UNet and its RGB
head, the foreground UNet, its RGB head and its mask head; 52 convs in all. The converter
maps them by that order and checks every shape before it assigns anything.
"""

import itertools
import os
import re
import zipfile

import h5py
import numpy as np

from posegan_zoo.errors import CheckpointError
from posegan_zoo.models.posewarp.generator import PoseWarpGenerator

# Module attribute and head attributes, in the creation order of the authors' graph.
_MODULES = (
    ("source_segmentation", ("mask_logits",)),
    ("background_synthesis", ("image_head",)),
    ("foreground_synthesis", ("image_head", "mask_head")),
)
_CONV_NAME = re.compile(r"conv2d(?:_(\d+))?")
_PARAMS = {"kernel:0": "kernel", "kernel": "kernel", "bias:0": "bias", "bias": "bias"}
NUM_CHECKPOINT_CONVS = 52


def convert_posewarp_checkpoint(path, image_size=256):
    """Loads the authors' Keras 2 generator weights into a new `PoseWarpGenerator`.

    The generator has the paper's widths and `resampling="reference"`, the arithmetic of
    the authors' graph, so it reproduces their outputs. Its convs are fully convolutional:
    the same file serves any `image_size` divisible by 32 (the paper's files were trained
    at 256). Every conv of the file is checked (kernel and bias shapes, finite values)
    against its counterpart before any weight is assigned.

    With the authors' file: `generator = convert_posewarp_checkpoint("vgg_100000.h5")`.
    They trained on frames read by OpenCV, that is BGR: feed `image[..., ::-1]` and flip
    the output back.

    Args:
        path: path of the legacy Keras 2 HDF5 file (full-model save or `save_weights`).
        image_size: int or (height, width) of the generator, divisible by 32.

    Returns:
        A `PoseWarpGenerator` holding the file's weights.

    Raises:
        posegan_zoo.errors.CheckpointError: the file is missing, not HDF5, a Keras 3
            weights file, holds other weighted layers (e.g. a discriminator's dense
            layers), not 52 convs, or a shape that does not fit.

    Example (a stand-in for the authors' file: 52 convs numbered in creation order):

    >>> import os, tempfile
    >>> import h5py
    >>> import numpy as np
    >>> from posegan_zoo.models import PoseWarpGenerator, convert_posewarp_checkpoint
    >>> rng = np.random.default_rng(0)
    >>> shapes = [tuple(w.shape) for w in PoseWarpGenerator(64).weights]  # kernel, bias, ...
    >>> path = os.path.join(tempfile.mkdtemp(), "vgg_100000.h5")
    >>> with h5py.File(path, "w") as file:
    ...     for n in range(52):
    ...         layer = file.create_group(f"model_weights/conv2d_{n + 1}/conv2d_{n + 1}")
    ...         layer["kernel:0"] = rng.normal(0, 0.01, shapes[2 * n]).astype("float32")
    ...         layer["bias:0"] = np.zeros(shapes[2 * n + 1], "float32")
    >>> generator = convert_posewarp_checkpoint(path, image_size=64)
    >>> generator.resampling, generator.count_params()
    ('reference', 7863314)
    >>> with h5py.File(path) as file:
    ...     first_kernel = np.asarray(file["model_weights/conv2d_1/conv2d_1/kernel:0"])
    >>> bool(np.array_equal(generator.source_segmentation.unet.convs[0].kernel, first_kernel))
    True
    """
    path = _check_path(path)
    convs = _read_convs(path)
    generator = PoseWarpGenerator(image_size, resampling="reference")
    targets = _generator_convs(generator)
    pairs = []
    for (name, kernel, bias), (target_path, layer) in zip(convs, targets, strict=True):
        for param, value in (("kernel", kernel), ("bias", bias)):
            expected = tuple(getattr(layer, param).shape)
            if value.shape != expected:
                raise CheckpointError(
                    f"{path}: the {param} of Keras 2 layer '{name}' has shape {value.shape}, "
                    f"but it maps to generator.{target_path}, whose {param} has shape "
                    f"{expected}. The file is not the PoseWarp generator at the paper's widths."
                )
        pairs.append((layer, kernel, bias))
    # Every check passed: assign.
    for layer, kernel, bias in pairs:
        layer.kernel.assign(kernel)
        layer.bias.assign(bias)
    return generator


def _generator_convs(generator):
    """`(attribute path, Conv2D)` of a `PoseWarpGenerator`'s 52 convs, in creation order."""
    layers = []
    for module_name, heads in _MODULES:
        module = getattr(generator, module_name)
        for kind in ("encoder_convs", "decoder_convs"):
            for i, conv in enumerate(getattr(module.unet, kind)):
                layers.append((f"{module_name}.unet.{kind}[{i}]", conv))
        for head in heads:
            layers.append((f"{module_name}.{head}", getattr(module, head)))
    return layers


def _check_path(path):
    try:
        path = os.fspath(path)
    except TypeError:
        raise CheckpointError(
            f"The checkpoint path must be a string or path-like, got {type(path).__name__}."
        ) from None
    if not os.path.exists(path):
        raise CheckpointError(f"{path}: no such file (expected the authors' Keras 2 .h5 file).")
    if os.path.isdir(path):
        raise CheckpointError(f"{path}: is a directory, expected the authors' Keras 2 .h5 file.")
    if not h5py.is_hdf5(path):
        hint = ""
        if zipfile.is_zipfile(path):
            hint = " It is a zip archive (a Keras 3 `.keras` file?): use keras.saving.load_model."
        raise CheckpointError(
            f"{path}: not an HDF5 file; expected the authors' Keras 2 generator weights "
            f"(legacy .h5).{hint}"
        )
    return path


def _read_convs(path):
    """The file's convs as `(name, kernel, bias)` numpy triples, sorted by creation order."""
    try:
        file = h5py.File(path, "r")
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read as HDF5 ({error}).") from None
    with file:
        root = file["model_weights"] if "model_weights" in file else file
        about = _describe(file, root)
        if "model_weights" not in file and _is_keras3_weights(file):
            raise CheckpointError(
                f"{path}: a Keras 3 weights file (`.weights.h5`, written by "
                "`model.save_weights`), not the authors' Keras 2 checkpoint. Load it into a "
                "model of the same architecture with `model.load_weights(path)`."
            )
        listed = _string_list(root.attrs.get("layer_names"))
        convs, others = {}, []
        for name, item in root.items():
            if not isinstance(item, h5py.Group):
                raise CheckpointError(
                    f"{path}: unexpected dataset '{item.name}' where the legacy Keras 2 "
                    f"layout has one group per layer.{about}"
                )
            weights = _layer_datasets(path, name, item)
            if not weights:
                continue  # input, activation, lambda, concatenate... layers
            if listed is not None and name not in listed:
                raise CheckpointError(
                    f"{path}: weighted layer '{name}' is missing from the file's "
                    f"`layer_names` attribute; the file is inconsistent.{about}"
                )
            match = _CONV_NAME.fullmatch(name)
            if match is None:
                others.append(name)
                continue
            convs[name] = (int(match.group(1) or 0), _conv_params(path, name, weights))
        if others:
            raise CheckpointError(
                f"{path}: weighted layers {_short_list(others)} are not convs; the PoseWarp "
                "generator has only unnamed convs (`conv2d_<n>`). Is this another model's "
                f"file, e.g. the discriminator's?{about}"
            )
        if listed is not None:
            absent = [name for name in listed if name not in root]
            if absent:
                raise CheckpointError(
                    f"{path}: the `layer_names` attribute lists {_short_list(absent)}, "
                    f"which the file does not hold.{about}"
                )
    ordered = sorted(convs.items(), key=lambda item: item[1][0])
    if len(ordered) != NUM_CHECKPOINT_CONVS:
        found = f" ({ordered[0][0]} .. {ordered[-1][0]})" if ordered else ""
        raise CheckpointError(
            f"{path}: found {len(ordered)} conv layers{found}, expected "
            f"{NUM_CHECKPOINT_CONVS} (the PoseWarp generator: 3 UNets of 16 convs and 4 "
            f"heads).{about}"
        )
    for (name, (number, _)), (next_name, (next_number, _)) in itertools.pairwise(ordered):
        if next_number != number + 1:
            raise CheckpointError(
                f"{path}: conv layer numbers are not consecutive ('{name}' is followed by "
                f"'{next_name}'), so their creation order is unknown."
            )
    return [(name, kernel, bias) for name, (_, (kernel, bias)) in ordered]


def _layer_datasets(path, name, group):
    """`{path relative to the layer group: dataset}`, checked against `weight_names`."""
    datasets = {}

    def visit(relative, item):
        if isinstance(item, h5py.Dataset):
            datasets[relative] = item

    group.visititems(visit)
    listed = _string_list(group.attrs.get("weight_names"))
    if listed is not None and sorted(listed) != sorted(datasets):
        raise CheckpointError(
            f"{path}: layer '{name}' lists weights {sorted(listed)} in its `weight_names` "
            f"attribute but holds {sorted(datasets)}; the file is inconsistent."
        )
    return datasets


def _conv_params(path, name, datasets):
    params = {}
    for relative, dataset in datasets.items():
        param = _PARAMS.get(relative.rsplit("/", 1)[-1])
        if param is None or param in params:
            raise CheckpointError(
                f"{path}: conv layer '{name}' holds {sorted(datasets)}; expected exactly a "
                "kernel and a bias ('kernel:0', 'bias:0')."
            )
        if dataset.dtype.kind != "f":
            raise CheckpointError(
                f"{path}: weight '{dataset.name}' has dtype {dataset.dtype}, expected floats."
            )
        value = np.asarray(dataset[()], dtype=np.float32)
        if not np.isfinite(value).all():
            raise CheckpointError(f"{path}: weight '{dataset.name}' holds NaN or inf values.")
        params[param] = value
    if set(params) != {"kernel", "bias"}:
        raise CheckpointError(
            f"{path}: conv layer '{name}' holds {sorted(datasets)}; expected a kernel and a "
            "bias ('kernel:0', 'bias:0')."
        )
    return params["kernel"], params["bias"]


def _is_keras3_weights(file):
    """Keras 3's `.weights.h5` stores variables as `.../vars/<i>` under `layers/...`."""
    return isinstance(file.get("vars"), h5py.Group) or (
        isinstance(file.get("layers"), h5py.Group) and "layer_names" not in file.attrs
    )


def _describe(file, root):
    """A hint on what the file is, from its Keras version attribute."""
    version = root.attrs.get("keras_version", file.attrs.get("keras_version"))
    if isinstance(version, bytes):
        version = version.decode("utf-8", "replace")
    if isinstance(version, str) and version.startswith("3"):
        return (
            f" (The file was written by Keras {version}; a Keras 3 model file loads with "
            "`keras.saving.load_model`, not with this converter.)"
        )
    return ""


def _string_list(value):
    if value is None:
        return None
    return [item.decode("utf-8") if isinstance(item, bytes) else str(item) for item in value]


def _short_list(names, limit=5):
    shown = ", ".join(f"'{name}'" for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
