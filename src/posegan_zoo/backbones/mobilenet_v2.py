"""MobileNetV2 1.0 with ImageNet weights that work offline, for a perceptual loss.

The weights come from an int8 TFLite ImageNet classifier (google-coral/test_data,
Apache-2.0; see `assets/NOTICE-mobilenet_v2.md`): `convert_mobilenet_v2_tflite` reads the
TFLite graph, checks it op by op against the architecture below, dequantizes every conv
(`(q - zero_point) * scale`, per output channel where the file quantizes per channel;
int32 biases with their own scale, `input_scale * weight_scale`) and returns a float
Keras classifier. The package ships that conversion in float16
(`assets/mobilenet_v2_imagenet.npz`), loaded as float32.

Architecture (MobileNetV2, width 1.0), with batch normalization already folded into the
convs, so every conv has a bias and there is no BatchNorm layer. All convs use "same"
padding, as the TFLite graph does (TensorFlow's SAME: for a stride-2 3x3 conv on an even
size, one row and column of zeros after, none before; there is no PAD op):

- `stem_conv`: 3x3 conv, 32, stride 2, ReLU6;
- `block_0`: 3x3 depthwise + ReLU6, 1x1 projection to 16 (linear);
- `block_1` .. `block_16`: 1x1 expansion x6 + ReLU6 (`block_i_expand`), 3x3 depthwise
  + ReLU6 (`block_i_depthwise`, stride 2 in blocks 1, 3, 6, 13), 1x1 linear projection
  (`block_i_project`), and a residual `block_i_add` where the shape allows; output widths
  24 x2, 32 x3, 64 x4, 96 x3, 160 x3, 320;
- `top_conv`: 1x1 conv to 1280, ReLU6;
- head: `global_pool` (mean over positions), `logits` (dense, 1001 classes; class 0 is
  TFLite's "background", so ImageNet class k of the usual 1000 is index k + 1) and
  `predictions` (softmax).

Input: RGB images in [-1, 1] (`pixel / 127.5 - 1`), the MobileNetV2 convention; the
TFLite file's uint8 input maps `q` to `(q - 128) / 128`, the same range.
"""

import os
import pathlib

import keras
import numpy as np
import tensorflow as tf

from posegan_zoo.errors import CheckpointError, InvalidConfigError, WeightsUnavailableError

_ASSETS = pathlib.Path(__file__).resolve().parents[1] / "assets"
#: The shipped float16 conversion of the ImageNet MobileNetV2 (classifier included).
MOBILENET_V2_WEIGHTS = str(_ASSETS / "mobilenet_v2_imagenet.npz")

#: (expansion, output channels, repeats, first stride) of blocks 1..16, as in the paper.
_BLOCK_SETTINGS = ((6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1))
_BLOCK_SETTINGS += ((6, 160, 3, 2), (6, 320, 1, 1))
_BLOCK_LAYERS = ("expand", "depthwise", "project")
NUM_CLASSES = 1001

#: The layers `mobilenet_v2_features` returns (after their ReLU6), in order: the last
#: activation at each resolution, i.e. the expansions whose depthwise conv then halves the
#: size, and `top_conv`. Output strides 2, 4, 8, 16, 32.
FEATURE_LAYER_NAMES = (
    "block_1_expand",
    "block_3_expand",
    "block_6_expand",
    "block_13_expand",
    "top_conv",
)
#: Channel count of each layer of `FEATURE_LAYER_NAMES`.
FEATURE_LAYER_CHANNELS = (96, 144, 192, 576, 1280)
#: Output stride (input size / feature size) of each layer of `FEATURE_LAYER_NAMES`.
FEATURE_LAYER_STRIDES = (2, 4, 8, 16, 32)

_CONV_OPS = {"conv": "CONV_2D", "depthwise": "DEPTHWISE_CONV_2D", "add": "ADD"}
# Ops that pass a tensor on unchanged for our float model (requantization, the head's
# squeeze), or that the head reproduces (pooling, softmax).
_PASS_THROUGH_OPS = ("QUANTIZE", "DEQUANTIZE", "RESHAPE", "SOFTMAX")
_POOL_OPS = ("AVERAGE_POOL_2D", "MEAN")


def _layer_plan(include_top=True):
    """The architecture as a list of nodes `(name, kind, input names, options)`."""
    plan = [("stem_conv", "conv", ["input"], {"filters": 32, "kernel": 3, "strides": 2})]
    plan.append(("block_0_depthwise", "depthwise", ["stem_conv"], {"strides": 1}))
    plan.append(("block_0_project", "conv", ["block_0_depthwise"], {"filters": 16, "linear": 1}))
    previous, channels, block = "block_0_project", 16, 1
    for expansion, filters, repeats, first_stride in _BLOCK_SETTINGS:
        for repeat in range(repeats):
            strides = first_stride if repeat == 0 else 1
            expand, depthwise, output = (f"block_{block}_{n}" for n in _BLOCK_LAYERS)
            plan.append((expand, "conv", [previous], {"filters": channels * expansion}))
            plan.append((depthwise, "depthwise", [expand], {"strides": strides}))
            plan.append((output, "conv", [depthwise], {"filters": filters, "linear": 1}))
            if strides == 1 and channels == filters:
                plan.append((f"block_{block}_add", "add", [output, previous], {}))
                output = f"block_{block}_add"
            previous, channels, block = output, filters, block + 1
    plan.append(("top_conv", "conv", [previous], {"filters": 1280}))
    if include_top:
        plan.append(("logits", "dense", ["top_conv"], {"units": NUM_CLASSES}))
    return plan


def build_mobilenet_v2(include_top=True, name="mobilenet_v2"):
    """The MobileNetV2 1.0 architecture (folded batch norm) with fresh random weights.

    `include_top=True` gives the ImageNet classifier (softmax over 1001 classes, index 0
    "background"); `False` stops at `top_conv`. Any input size; images in [-1, 1].

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.backbones import build_mobilenet_v2
    >>> model = build_mobilenet_v2()
    >>> tuple(model(np.zeros((1, 64, 64, 3))).shape), model.count_params()
    ((1, 1001), 3489097)
    """
    inputs = keras.Input((None, None, 3), name="image")
    tensors = {"input": inputs}
    for layer_name, kind, input_names, options in _layer_plan(include_top):
        x = tensors[input_names[0]]
        activation = None if options.get("linear") else "relu6"
        if kind == "conv":
            kernel = options.get("kernel", 1)
            layer = keras.layers.Conv2D(
                options["filters"],
                kernel,
                strides=options.get("strides", 1),
                padding="same",
                activation=activation,
                name=layer_name,
            )
        elif kind == "depthwise":
            layer = keras.layers.DepthwiseConv2D(
                3, strides=options["strides"], padding="same", activation="relu6", name=layer_name
            )
        elif kind == "add":
            tensors[layer_name] = keras.layers.Add(name=layer_name)(
                [tensors[n] for n in input_names]
            )
            continue
        else:  # the head: pooling, logits, softmax
            x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
            layer = keras.layers.Dense(options["units"], name=layer_name)
        tensors[layer_name] = layer(x)
    output = tensors["top_conv"]
    if include_top:
        output = keras.layers.Activation("softmax", name="predictions")(tensors["logits"])
    return keras.Model(inputs, output, name=name)


# --------------------------------------------------------------------------- TFLite


def _dequantize(interpreter, detail):
    """A constant tensor of the TFLite file as float64: `(q - zero_point) * scale`."""
    values = interpreter.get_tensor(detail["index"]).astype(np.float64)
    params = detail["quantization_parameters"]
    scales = np.asarray(params["scales"], np.float64)
    zero_points = np.asarray(params["zero_points"], np.float64)
    if scales.size == 0:  # a float tensor
        return values
    if scales.size > 1:  # per channel, along `quantized_dimension`
        shape = [1] * values.ndim
        shape[params["quantized_dimension"]] = scales.size
        scales, zero_points = scales.reshape(shape), zero_points.reshape(shape)
    return (values - zero_points) * scales


def _output_range(detail):
    """(min, max) that a quantized activation tensor can hold."""
    params = detail["quantization_parameters"]
    scale, zero_point = float(params["scales"][0]), float(params["zero_points"][0])
    info = np.iinfo(detail["dtype"])
    return (info.min - zero_point) * scale, (info.max - zero_point) * scale


def _read_tflite_graph(path):
    """The TFLite ops that carry weights or join branches, with their tensors."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(
        model_path=os.fspath(path),
        experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )
    interpreter.allocate_tensors()
    details = {t["index"]: t for t in interpreter.get_tensor_details()}
    producer = {interpreter.get_input_details()[0]["index"]: "input"}
    nodes, pools = [], 0
    for op in interpreter._get_ops_details():
        kind, inputs = op["op_name"], [i for i in op["inputs"] if i >= 0]
        output = op["outputs"][0]
        if kind in _PASS_THROUGH_OPS or kind in _POOL_OPS:
            producer[output] = producer.get(inputs[0], "?")
            pools += kind in _POOL_OPS
            continue
        if kind not in _CONV_OPS.values():
            raise CheckpointError(f"`{path}`: unexpected TFLite op {kind} (op {op['index']}).")
        node = {
            "op": kind,
            "inputs": [producer.get(i, "?") for i in (inputs if kind == "ADD" else inputs[:1])],
            "input_detail": details[inputs[0]],
            "output_detail": details[output],
        }
        if kind != "ADD":
            node["weights"], node["bias"] = details[inputs[1]], details[inputs[2]]
        nodes.append(node)
        producer[output] = len(nodes) - 1
    return interpreter, nodes, pools


def _check_node(path, plan_name, kind, node, expected_inputs, node_names):
    where = f"`{path}`, TFLite {node['op']} for `{plan_name}`"
    if node["op"] != _CONV_OPS.get(kind, "CONV_2D"):
        raise CheckpointError(f"{where}: expected a {_CONV_OPS.get(kind, 'CONV_2D')}.")
    inputs = [node_names.get(i, i) for i in node["inputs"]]
    if sorted(inputs) != sorted(expected_inputs):
        raise CheckpointError(f"{where}: takes {inputs}, expected {expected_inputs}.")


def _tflite_weights(path, interpreter, node, layer, kind, linear):
    """Dequantized (kernel, bias) of one TFLite conv op, in Keras' layout."""
    where = f"`{path}`, layer `{layer.name}`"
    kernel = _dequantize(interpreter, node["weights"])
    bias_detail = node["bias"]
    bias = _dequantize(interpreter, bias_detail)
    # The int32 bias must carry the scale input_scale * weight_scale.
    weight_scales = np.asarray(node["weights"]["quantization_parameters"]["scales"])
    input_scale = node["input_detail"]["quantization_parameters"]["scales"][0]
    bias_scales = np.asarray(bias_detail["quantization_parameters"]["scales"])
    if not np.allclose(bias_scales, input_scale * weight_scales, rtol=1e-3):
        raise CheckpointError(f"{where}: bias scale is not input scale x weight scale.")
    if kind == "depthwise":  # TFLite 1 x H x W x (C * M) -> Keras H x W x C x M (M = 1)
        kernel = kernel[0][..., np.newaxis]
    elif kind == "dense":  # a 1x1 conv on the pooled 1x1 map: O x 1 x 1 x I -> I x O
        kernel = kernel[:, 0, 0, :].T
    else:  # TFLite O x H x W x I -> Keras H x W x I x O
        kernel = kernel.transpose(1, 2, 3, 0)
    low, high = _output_range(node["output_detail"])
    is_relu6 = abs(low) < 1e-6 and abs(high - 6.0) < 0.05
    if is_relu6 == bool(linear):
        raise CheckpointError(
            f"{where}: output range [{low:.3g}, {high:.3g}] does not fit "
            f"{'a linear output' if linear else 'ReLU6'}."
        )
    return kernel, bias


def convert_mobilenet_v2_tflite(tflite_path):
    """Rebuilds the float Keras MobileNetV2 ImageNet classifier from a TFLite file.

    Works with google-coral's `mobilenet_v2_1.0_224_quant.tflite` (uint8, per tensor) and
    `tf2_mobilenet_v2_1.0_224_ptq.tflite` (int8, per channel). Every op of the file is
    matched to a layer of `build_mobilenet_v2` (op type, wiring, kernel shape, stride,
    activation), so a different graph raises `CheckpointError` instead of converting
    wrongly. Save the result with `save_mobilenet_v2_weights` to rebuild the shipped asset.

    Returns:
        The classifier of `build_mobilenet_v2()`: images in [-1, 1] to 1001 softmax
        probabilities (index 0 "background").

    Raises:
        WeightsUnavailableError: `tflite_path` does not exist.
        CheckpointError: the file is not a MobileNetV2 1.0 classifier.

    Example:

    >>> from posegan_zoo.backbones import convert_mobilenet_v2_tflite
    >>> from posegan_zoo.errors import WeightsUnavailableError
    >>> # model = convert_mobilenet_v2_tflite("mobilenet_v2_1.0_224_quant.tflite")
    >>> try:
    ...     convert_mobilenet_v2_tflite("no_such_file.tflite")
    ... except WeightsUnavailableError as error:
    ...     print(str(error).split(" (")[0])
    TFLite file `no_such_file.tflite`
    """
    path = os.fspath(tflite_path)
    if not os.path.isfile(path):
        raise WeightsUnavailableError(f"TFLite file `{path}` (`tflite_path`) does not exist.")
    try:
        interpreter, nodes, pools = _read_tflite_graph(path)
    except CheckpointError:
        raise
    except Exception as err:
        raise CheckpointError(f"`{path}` is not a readable TFLite file: {err}") from err
    plan = _layer_plan(include_top=True)
    if len(nodes) != len(plan) or pools != 1:
        raise CheckpointError(
            f"`{path}` has {len(nodes)} conv/add ops and {pools} pooling ops; MobileNetV2 1.0 "
            f"has {len(plan)} and 1."
        )
    model = build_mobilenet_v2(include_top=True)
    node_names = {"input": "input"}
    for index, (node, (name, kind, inputs, options)) in enumerate(zip(nodes, plan, strict=True)):
        _check_node(path, name, kind, node, inputs, node_names)
        node_names[index] = name
        if kind == "add":
            continue
        in_shape = node["input_detail"]["shape"]
        out_shape = node["output_detail"]["shape"]
        strides = options.get("strides", 1)
        if kind != "dense" and out_shape[1] != -(-in_shape[1] // strides):
            raise CheckpointError(
                f"`{path}`, layer `{name}`: {in_shape[1]} -> {out_shape[1]} pixels is not "
                f"stride {strides} with SAME padding."
            )
        layer = model.get_layer(name)
        kernel, bias = _tflite_weights(
            path, interpreter, node, layer, kind, options.get("linear") or kind == "dense"
        )
        expected = [tuple(w.shape) for w in layer.weights]
        if [kernel.shape, bias.shape] != expected:
            raise CheckpointError(
                f"`{path}`, layer `{name}`: weights of shape {[kernel.shape, bias.shape]}, "
                f"expected {expected}."
            )
        layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return model


# --------------------------------------------------------------------------- weight files


def save_mobilenet_v2_weights(model, path, dtype="float16"):
    """Writes a `build_mobilenet_v2` model's weights to a compressed `.npz` (float16 default).

    Keys are `<layer>/<variable>` (e.g. `block_1_expand/kernel`), plus `format`. The
    shipped asset is `save_mobilenet_v2_weights(convert_mobilenet_v2_tflite(file), path)`.

    Example:

    >>> import os, tempfile
    >>> import numpy as np
    >>> from posegan_zoo.backbones import build_mobilenet_v2, save_mobilenet_v2_weights
    >>> path = os.path.join(tempfile.mkdtemp(), "random.npz")
    >>> save_mobilenet_v2_weights(build_mobilenet_v2(include_top=False), path)
    >>> np.load(path)["block_1_expand/kernel"].dtype, np.load(path)["block_1_expand/kernel"].shape
    (dtype('float16'), (1, 1, 16, 96))
    """
    arrays = {"format": np.array("posegan_zoo.mobilenet_v2/1")}
    for layer in model.layers:
        for variable in layer.weights:
            key = f"{layer.name}/{variable.name}"
            arrays[key] = keras.ops.convert_to_numpy(variable).astype(dtype)
    np.savez_compressed(path, **arrays)


def load_mobilenet_v2_weights(model, path):
    """Loads an `.npz` file of `save_mobilenet_v2_weights` into a `build_mobilenet_v2` model.

    Values are cast to float32 (the asset is float16). A model without its top ignores the
    file's head. Raises `WeightsUnavailableError` for a missing file and `CheckpointError`
    (naming the file and the layer) for a missing key or a wrong shape.

    Example:

    >>> from posegan_zoo.backbones import build_mobilenet_v2, load_mobilenet_v2_weights
    >>> from posegan_zoo.backbones.mobilenet_v2 import MOBILENET_V2_WEIGHTS
    >>> model = load_mobilenet_v2_weights(build_mobilenet_v2(), MOBILENET_V2_WEIGHTS)
    >>> str(model.get_layer("stem_conv").kernel.dtype)
    'float32'
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightsUnavailableError(f"MobileNetV2 weights file `{path}` does not exist.")
    try:
        contents = np.load(path, allow_pickle=False)
        arrays = {key: contents[key] for key in contents.files}
    except Exception as err:
        raise CheckpointError(f"`{path}` is not a readable .npz weights file: {err}") from err
    for layer in model.layers:
        values = []
        for variable in layer.weights:
            key = f"{layer.name}/{variable.name}"
            if key not in arrays:
                raise CheckpointError(f"MobileNetV2 weights file `{path}` has no `{key}`.")
            value = arrays[key]
            if tuple(value.shape) != tuple(variable.shape):
                raise CheckpointError(
                    f"MobileNetV2 weights file `{path}`, `{key}`: shape {value.shape}, "
                    f"expected {tuple(variable.shape)}."
                )
            values.append(value.astype(np.float32))
        if values:
            layer.set_weights(values)
    return model


def _file_source(path, argument):
    path = os.path.abspath(os.fspath(path))
    if not os.path.isfile(path):
        raise WeightsUnavailableError(
            f"MobileNetV2 weights file `{path}` (`{argument}`) does not exist."
        )
    stat = os.stat(path)
    return ("file", path, stat.st_mtime_ns, stat.st_size)


def _weights_source(weights):
    if weights is None or (isinstance(weights, str) and weights == "imagenet"):
        return _file_source(MOBILENET_V2_WEIGHTS, "weights")
    if isinstance(weights, str) and weights == "random":
        return ("random",)
    if not isinstance(weights, str | os.PathLike):
        raise InvalidConfigError(
            "`weights` must be None or 'imagenet' (the shipped ImageNet weights), a path to "
            f"an .npz file of `save_mobilenet_v2_weights`, or 'random', got {weights!r}."
        )
    return _file_source(weights, "weights")


def mobilenet_v2_classifier(weights=None):
    """The float ImageNet MobileNetV2 classifier, from the shipped weights by default.

    `weights`: None or `"imagenet"` (the shipped asset), a path to an `.npz` file of
    `save_mobilenet_v2_weights`, or `"random"`. Images in [-1, 1], RGB; softmax over 1001
    classes, index 0 "background" (ImageNet class k is index k + 1).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.backbones import mobilenet_v2_classifier
    >>> model = mobilenet_v2_classifier()
    >>> probabilities = model(np.zeros((1, 224, 224, 3)))
    >>> round(float(np.sum(probabilities)), 4)
    1.0
    """
    source = _weights_source(weights)
    model = build_mobilenet_v2(include_top=True)
    if source[0] == "file":
        load_mobilenet_v2_weights(model, source[1])
    return model


_FEATURE_MODELS = {}


def mobilenet_v2_features(weights=None):
    """A frozen MobileNetV2 feature extractor, built once per weights source.

    Maps RGB images in [-1, 1] of any size (a multiple of 32 keeps every stride exact) to
    the list of the five activations of `FEATURE_LAYER_NAMES` (after ReLU6), at output
    strides 2, 4, 8, 16 and 32 with 96, 144, 192, 576 and 1280 channels.

    Args:
        weights: None or `"imagenet"` for the shipped ImageNet weights (offline), a path
            to an `.npz` file of `save_mobilenet_v2_weights`, or `"random"`.

    Models are cached per weights source, dtype policy and distribution strategy.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.backbones import mobilenet_v2_features
    >>> model = mobilenet_v2_features()
    >>> tuple(tuple(f.shape) for f in model(np.zeros((1, 64, 64, 3))))
    ((1, 32, 32, 96), (1, 16, 16, 144), (1, 8, 8, 192), (1, 4, 4, 576), (1, 2, 2, 1280))
    >>> model.trainable
    False
    """
    source = _weights_source(weights)
    strategy = tf.distribute.get_strategy()
    key = (source, keras.config.dtype_policy().name, id(strategy))
    cached = _FEATURE_MODELS.get(key)
    if cached is not None and cached[0] is strategy:
        return cached[1]
    backbone = build_mobilenet_v2(include_top=False)
    if source[0] == "file":
        load_mobilenet_v2_weights(backbone, source[1])
    model = keras.Model(
        backbone.input,
        [backbone.get_layer(name).output for name in FEATURE_LAYER_NAMES],
        name="mobilenet_v2_features",
    )
    model.trainable = False
    _FEATURE_MODELS[key] = (strategy, model)
    return model
