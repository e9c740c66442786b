"""The preset folder format: write, validate and load.

A preset is a folder of four files:

- `config.json`: the Keras-serialized model (`keras.saving.serialize_keras_object`);
- `metadata.json`: the format version, model class, package and Keras versions, parameter
  count, image size, joint layout, training data and steps, licence, metrics, and the
  sha256 and size of each weights file;
- `model.weights.h5`: the weights (`model.save_weights`);
- `README.md`: a model card (generated from the metadata unless one is given). It is not
  needed to load the preset.

`save_preset` writes the folder atomically; `validate_preset` checks a folder without building
the model (files, JSON, metadata schema, sha256); `load_preset` validates, checks the model
class, rebuilds the model and only then loads the verified weights.
"""

import contextlib
import hashlib
import importlib
import json
import os
import pathlib
import re
import shutil
import tempfile

# keras (and with it TensorFlow) is imported by the functions that build or inspect models,
# so that reading and listing presets (`posegan-zoo presets`) answers without it.
from posegan_zoo._json import read_json
from posegan_zoo.errors import InvalidConfigError, PresetError, PresetNotFoundError

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
METADATA_FILE = "metadata.json"
WEIGHTS_FILE = "model.weights.h5"
MODEL_CARD_FILE = "README.md"
REQUIRED_FILES = (CONFIG_FILE, METADATA_FILE, WEIGHTS_FILE)
PRESET_FILES = (*REQUIRED_FILES, MODEL_CARD_FILE)
DEFAULT_JOINT_LAYOUT = "posewarp14"

# Written by `save_preset` from the model itself; a caller's metadata may not set them.
COMPUTED_FIELDS = (
    "format_version",
    "class",
    "package_version",
    "keras_version",
    "parameter_count",
    "weights",
)
# Documented optional fields, with their types (None is always allowed).
OPTIONAL_FIELDS = {
    "description": str,
    "image_size": list,
    "joint_layout": str,
    "training_data": str,
    "training_steps": int,
    "license": str,
    "metrics": dict,
    "training": dict,
    "evaluation": dict,
}
# The order of the model card's Training rows (metadata.json sorts its keys); others follow.
_TRAINING_ORDER = (
    "data",
    "model",
    "fine_tuned_from",
    "steps",
    "batch_size",
    "optimizer",
    "loss",
    "augmentation",
    "holdout_fraction",
    "final_losses",
)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


def sha256_of(path):
    """The sha256 hex digest of the file at `path`."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_preset(model, folder, metadata=None, model_card=None):
    """Writes `model` as a preset folder and returns the folder's path.

    The files are written into a temporary folder beside `folder`, then renamed into place:
    an interrupted save leaves either the previous preset or the new one, never a mix. An
    existing preset folder (or an empty folder) is replaced; any other existing folder or file
    raises `PresetError`, so that a typo cannot wipe a folder of other files.

    Args:
        model: a built Keras model whose class is registered with Keras (as every posegan_zoo
            model is) and implements `get_config`.
        folder: the preset folder to write.
        metadata: optional dict of JSON values merged into `metadata.json`, e.g.
            "description" (one line, shown by `list_presets`), "training_data",
            "training_steps", "license" (an SPDX id such as "mit"), "metrics" (name ->
            number), "joint_layout" (default "posewarp14"), "image_size". The computed fields
            (`COMPUTED_FIELDS`) cannot be set.
        model_card: the text of `README.md`; by default one is generated from the metadata.

    Example:

    >>> import pathlib, tempfile
    >>> from posegan_zoo.models import PoseDiscriminator
    >>> from posegan_zoo.presets import load_preset, save_preset
    >>> model = PoseDiscriminator(64, conv_widths=[4] * 6, dense_widths=[8, 8])
    >>> folder = save_preset(model, pathlib.Path(tempfile.mkdtemp()) / "tiny-disc",
    ...                      metadata={"description": "A tiny discriminator.", "license": "mit"})
    >>> sorted(path.name for path in folder.iterdir())
    ['README.md', 'config.json', 'metadata.json', 'model.weights.h5']
    >>> type(load_preset(folder)).__name__
    'PoseDiscriminator'
    """
    import keras

    folder = pathlib.Path(folder)
    _check_target(folder)
    fields = _user_metadata(metadata)
    try:
        config = keras.saving.serialize_keras_object(model)
        # A preset is an architecture and its weights, not a training state.
        config.pop("compile_config", None)
        config_text = json.dumps(config, indent=2, sort_keys=True) + "\n"
    except (NotImplementedError, TypeError, ValueError) as error:
        raise PresetError(
            f"cannot serialize the {type(model).__name__} to {folder / CONFIG_FILE}: {error}"
        ) from error
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        weights_path = staging / WEIGHTS_FILE
        model.save_weights(weights_path)
        record = {
            "format_version": FORMAT_VERSION,
            "class": config.get("registered_name") or config["class_name"],
            "package_version": _package_version(),
            "keras_version": keras.__version__,
            "parameter_count": int(model.count_params()),
            "image_size": _image_size_of(model),
            "joint_layout": DEFAULT_JOINT_LAYOUT,
            "description": "",
            "training_data": None,
            "training_steps": None,
            "license": None,
            "metrics": {},
            **fields,
            "weights": {
                WEIGHTS_FILE: {
                    "sha256": sha256_of(weights_path),
                    "size": weights_path.stat().st_size,
                }
            },
        }
        _check_metadata(record, folder / METADATA_FILE)
        _write_text(staging / CONFIG_FILE, config_text)
        _write_text(staging / METADATA_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")
        card = model_card if model_card is not None else render_model_card(record, folder.name)
        _write_text(staging / MODEL_CARD_FILE, card)
        _fsync(weights_path)
        _replace_folder(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def validate_preset(folder):
    """Checks a preset folder without building its model and returns its metadata (a dict).

    Checks: the folder and the required files exist, `config.json` and `metadata.json` are
    JSON objects of the expected shape, the metadata follows the schema, and each weights
    file has the size and sha256 that the metadata records. Raises `PresetNotFoundError` for
    a missing folder, `PresetError` for anything else.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        raise PresetNotFoundError(f"preset folder {folder} does not exist or is not a folder.")
    missing = [name for name in REQUIRED_FILES if not (folder / name).is_file()]
    if missing:
        raise PresetError(
            f"preset folder {folder} lacks {', '.join(missing)} (a preset holds "
            f"{', '.join(PRESET_FILES)})."
        )
    config = _read_json(folder / CONFIG_FILE)
    _check_config(config, folder / CONFIG_FILE)
    metadata = _read_json(folder / METADATA_FILE)
    _check_metadata(metadata, folder / METADATA_FILE)
    preset_class = _class_key(config)
    if metadata["class"] != preset_class:
        raise PresetError(
            f"{folder / METADATA_FILE} names the class {metadata['class']!r} but "
            f"{folder / CONFIG_FILE} holds {preset_class!r}."
        )
    for name, record in metadata["weights"].items():
        _verify_file(folder / name, record, folder / METADATA_FILE)
    return metadata


def read_metadata(folder):
    """The parsed `metadata.json` of a preset folder, schema-checked (weights not hashed)."""
    path = pathlib.Path(folder) / METADATA_FILE
    if not path.is_file():
        raise PresetError(f"{path} is missing.")
    metadata = _read_json(path)
    _check_metadata(metadata, path)
    return metadata


def load_preset(folder, expected_class=None):
    """Loads the model of a preset folder, after `validate_preset` passed.

    The weights are hashed and compared with the metadata before they are loaded. With
    `expected_class`, the preset must hold that class or a subclass of it (a subclass of the
    preset's class, such as a user's own subclass of a posegan_zoo model, is built with its
    own `from_config`); otherwise `PresetError` names both classes.
    """
    import keras
    import numpy as np

    folder = pathlib.Path(folder)
    metadata = validate_preset(folder)
    config = _read_json(folder / CONFIG_FILE)
    _check_safe_config(config, folder / CONFIG_FILE)
    target = _target_class(config, expected_class, folder)
    key = _class_key(config)
    try:
        with keras.saving.custom_object_scope({key: target}):
            model = keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as error:
        raise PresetError(
            f"cannot rebuild the {target.__name__} from {folder / CONFIG_FILE}: {error}"
        ) from error
    if metadata["parameter_count"] != model.count_params():
        raise PresetError(
            f"{folder / METADATA_FILE} records {metadata['parameter_count']} parameters but "
            f"the {target.__name__} of {folder / CONFIG_FILE} has {model.count_params()}."
        )
    try:
        model.load_weights(folder / WEIGHTS_FILE)
    except (ValueError, OSError, KeyError) as error:
        raise PresetError(
            f"cannot load {folder / WEIGHTS_FILE} into the {target.__name__}: {error}"
        ) from error
    for variable in model.weights:
        if not np.isfinite(keras.ops.convert_to_numpy(variable)).all():
            raise PresetError(
                f"{folder / WEIGHTS_FILE}: the weight {variable.path} holds NaN or infinite "
                "values; the preset was saved from a diverged training run."
            )
    return model


# The `--precision` names of the command line, and the dtype policies they stand for.
PRECISIONS = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def with_dtype(model, dtype):
    """`model` rebuilt under the dtype policy `dtype`, with the same weights.

    `dtype` is a policy name (`"mixed_bfloat16"`, `"mixed_float16"`, `"float32"`, ...) or
    one of `PRECISIONS`' short names; None, or the model's own policy, returns `model`
    itself. Mixed policies keep float32 weights and compute in 16 bits; the models return
    float32 images either way.

    Example:

    >>> from posegan_zoo.models import PoseWarpGenerator
    >>> from posegan_zoo.presets.format import with_dtype
    >>> model = with_dtype(PoseWarpGenerator.tiny(64), "bf16")
    >>> model.dtype_policy.name, model.weights[0].dtype
    ('mixed_bfloat16', 'float32')
    """
    if dtype is None:
        return model
    policy = PRECISIONS.get(dtype, dtype)
    if policy not in DTYPE_POLICIES:
        raise InvalidConfigError(
            f"`dtype` must be one of {[*PRECISIONS, *DTYPE_POLICIES]}, got {dtype!r}."
        )
    if model.dtype_policy.name == policy:
        return model
    clone = type(model).from_config({**model.get_config(), "dtype": policy})
    if not clone.built:
        clone.build(None)
    clone.set_weights(model.get_weights())
    return clone


def render_model_card(metadata, title, handle=None):
    """A Markdown model card (README.md) for a preset with `metadata`.

    `handle` is the handle shown in the usage snippet (default: `title`).
    """
    class_name = metadata["class"].rsplit(">", 1)[-1]
    handle = handle or title
    front = ["---", "library_name: posegan-zoo", "tags:", "- keras", "- posegan-zoo"]
    if metadata.get("license"):
        front.append(f"license: {metadata['license']}")
    front.append("---")
    rows = [
        ("Model class", f"`{class_name}`"),
        ("Parameters", f"{metadata['parameter_count']:,}"),
        ("Image size", _format_size(metadata.get("image_size"))),
        ("Joint layout", metadata.get("joint_layout") or "n/a"),
        ("Training data", metadata.get("training_data") or "n/a"),
        ("Training steps", _format_optional(metadata.get("training_steps"))),
        ("Licence", metadata.get("license") or "n/a"),
        ("posegan_zoo version", metadata["package_version"]),
        ("Keras version", metadata.get("keras_version", "n/a")),
    ]
    lines = [*front, "", f"# {title}", ""]
    if metadata.get("description"):
        lines += [metadata["description"], ""]
    lines += ["| | |", "|---|---|", *(f"| {key} | {value} |" for key, value in rows), ""]
    metrics = metadata.get("metrics") or {}
    if metrics:
        lines += ["## Metrics", "", "| Metric | Value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in sorted(metrics.items())]
        lines.append("")
    evaluation = metadata.get("evaluation") or {}
    if evaluation.get("pairs"):
        kind = "held-out" if evaluation.get("held_out") else "evaluation"
        lines += [
            f"Measured by `posegan-zoo evaluate` on {evaluation['pairs']} {kind} frame pairs "
            f"of {evaluation.get('data') or 'the data'} ({evaluation.get('selection') or 'pairs'}"
            "); `identity_*` is the copy-source baseline, `warp_only_*` the warp-only one.",
            "",
        ]
    training = metadata.get("training") or {}
    if training:
        lines += ["## Training", "", "| | |", "|---|---|"]
        keys = sorted(training, key=_training_rank)
        lines += [f"| {key} | {_format_value(training[key])} |" for key in keys]
        lines.append("")
    lines += [
        "## Usage",
        "",
        "```python",
        f"from {_public_module(metadata['class'])} import {class_name}",
        "",
        f'model = {class_name}.from_preset("{handle}")',
        "```",
        "",
        "## Files",
        "",
        f"- `{CONFIG_FILE}`: the Keras-serialized model.",
        f"- `{METADATA_FILE}`: versions, sizes, training record, checksums.",
    ]
    for name, record in sorted(metadata["weights"].items()):
        lines.append(f"- `{name}`: weights, sha256 `{record['sha256']}`.")
    return "\n".join(lines) + "\n"


# -- checks -------------------------------------------------------------------------------


def _check_target(folder):
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise PresetError(f"cannot write a preset to {folder}: it exists and is not a folder.")
    if folder.is_dir():
        others = sorted(path.name for path in folder.iterdir() if path.name not in PRESET_FILES)
        if others:
            raise PresetError(
                f"refusing to overwrite {folder}: it is not a preset folder (it holds "
                f"{', '.join(others[:5])}{', ...' if len(others) > 5 else ''}); choose a new "
                "or empty folder."
            )


def _user_metadata(metadata):
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise PresetError(f"`metadata` must be a dict, got {type(metadata).__name__}.")
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise PresetError(f"`metadata` keys must be strings, got {key!r}.")
        if key in COMPUTED_FIELDS:
            raise PresetError(
                f"`metadata[{key!r}]` is computed from the model and cannot be set; the "
                f"computed fields are {', '.join(COMPUTED_FIELDS)}."
            )
        try:
            json.dumps(value)
        except (TypeError, ValueError) as error:
            raise PresetError(f"`metadata[{key!r}]` is not a JSON value: {error}") from None
    fields = dict(metadata)
    if isinstance(fields.get("image_size"), (tuple, int)):
        fields["image_size"] = _as_size_list(fields["image_size"])
    return fields


def _check_config(config, path):
    if (
        not isinstance(config, dict)
        or not isinstance(config.get("class_name"), str)
        or not isinstance(config.get("config"), dict)
    ):
        raise PresetError(
            f"{path} is not a Keras-serialized object: expected a JSON object with a string "
            '"class_name" and an object "config".'
        )


# The dtype policies a preset may name (a policy is looked up by name, never imported).
DTYPE_POLICIES = ("float16", "bfloat16", "float32", "float64", "mixed_float16", "mixed_bfloat16")
_PLAIN_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "bool")
_TRUSTED_MODULES = ("keras", "posegan_zoo")


def _check_safe_config(config, path, where="config"):
    """Refuses a config that would import code from outside Keras and posegan_zoo (a class
    or function of `os`, `subprocess`, ...), or names a dtype that is not a known policy.

    Keras' safe mode already refuses lambdas; this also covers objects a Keras release
    might import by module name. Registered user classes (`registered_name`) stay allowed.
    """
    import keras

    if isinstance(config, list):
        for k, item in enumerate(config):
            _check_safe_config(item, path, f"{where}[{k}]")
        return
    if not isinstance(config, dict):
        return
    module = config.get("module")
    if isinstance(module, str) and module.split(".")[0] not in _TRUSTED_MODULES:
        registered = config.get("registered_name")
        if not (isinstance(registered, str) and keras.saving.get_registered_object(registered)):
            raise PresetError(
                f"{path}: {where} names {module}.{config.get('class_name')}, which is neither "
                "part of Keras or posegan_zoo nor a registered Keras class; refusing to import it."
            )
    for key, value in config.items():
        if key == "dtype":
            _check_dtype(value, path, f"{where}.dtype")
        else:
            _check_safe_config(value, path, f"{where}.{key}")


def _check_dtype(value, path, where):
    name = value
    if isinstance(value, dict):
        inner = value.get("config")
        name = inner.get("name") if isinstance(inner, dict) else None
        if value.get("class_name") not in ("DTypePolicy", "FloatDTypePolicy") or (
            value.get("module") not in (None, "keras", "keras.dtype_policies")
        ):
            name = None
    if value is not None and name not in DTYPE_POLICIES + _PLAIN_DTYPES:
        raise PresetError(
            f"{path}: {where} must name one of the dtype policies {list(DTYPE_POLICIES)}, "
            f"got {value!r}."
        )


def _check_metadata(metadata, path):
    def fail(message):
        raise PresetError(f"{path}: {message}")

    if not isinstance(metadata, dict):
        fail(f"expected a JSON object, got {type(metadata).__name__}.")
    missing = [key for key in COMPUTED_FIELDS if key not in metadata]
    if missing:
        fail(f"missing field(s) {', '.join(missing)}.")
    version = metadata["format_version"]
    if not _is_int(version) or version < 1:
        fail(f'"format_version" must be a positive integer, got {version!r}.')
    if version > FORMAT_VERSION:
        fail(
            f"preset format {version} is newer than this posegan_zoo reads "
            f"({FORMAT_VERSION}); upgrade posegan_zoo."
        )
    for key in ("class", "package_version", "keras_version"):
        if not isinstance(metadata[key], str) or not metadata[key]:
            fail(f'"{key}" must be a non-empty string, got {metadata[key]!r}.')
    if not _is_int(metadata["parameter_count"]) or metadata["parameter_count"] < 0:
        count = metadata["parameter_count"]
        fail(f'"parameter_count" must be a non-negative integer, got {count!r}.')
    weights = metadata["weights"]
    if not isinstance(weights, dict) or WEIGHTS_FILE not in weights:
        fail(f'"weights" must be an object with an entry for {WEIGHTS_FILE}.')
    for name, record in weights.items():
        if not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name:
            fail(f'"weights" names {name!r}, which is not a file name of the preset folder.')
        if (
            not isinstance(record, dict)
            or not isinstance(record.get("sha256"), str)
            or not _SHA256.fullmatch(record["sha256"])
            or not _is_int(record.get("size"))
            or record["size"] < 0
        ):
            fail(
                f'"weights"["{name}"] must be {{"sha256": <64 lowercase hex digits>, '
                f'"size": <bytes>}}, got {record!r}.'
            )
    for key, kind in OPTIONAL_FIELDS.items():
        value = metadata.get(key)
        if value is None:
            continue
        if not (_is_int(value) if kind is int else isinstance(value, kind)):
            fail(f'"{key}" must be a {kind.__name__} or null, got {value!r}.')
    size = metadata.get("image_size")
    if size is not None and (len(size) != 2 or not all(_is_int(n) and n > 0 for n in size)):
        fail(f'"image_size" must be [height, width] (positive integers), got {size!r}.')
    if metadata.get("training_steps") is not None and metadata["training_steps"] < 0:
        fail(f'"training_steps" must be non-negative, got {metadata["training_steps"]!r}.')
    for name, value in (metadata.get("metrics") or {}).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            fail(f'"metrics"["{name}"] must be a number, got {value!r}.')


def _verify_file(path, record, metadata_path):
    if not path.is_file():
        raise PresetError(f"{path} is missing (listed in {metadata_path}).")
    size = path.stat().st_size
    if size != record["size"]:
        raise PresetError(
            f"{path} has {size} bytes but {metadata_path} records {record['size']}: the file "
            "is truncated or corrupted."
        )
    digest = sha256_of(path)
    if digest != record["sha256"]:
        raise PresetError(
            f"{path} fails its sha256 check (expected {record['sha256']}, got {digest}): the "
            "file is corrupted or was modified."
        )


def _target_class(config, expected_class, folder):
    """The class to build: the preset's, or `expected_class` when it subclasses it."""
    import keras

    _import_models()
    key = _class_key(config)
    preset_class = keras.saving.get_registered_object(key)
    if expected_class is None:
        if preset_class is None:
            raise PresetError(
                f"{folder / CONFIG_FILE} holds the class {key!r}, which is not registered with "
                "Keras: import the module that defines it, or call `from_preset` on that class."
            )
        return preset_class
    if preset_class is not None and issubclass(preset_class, expected_class):
        return preset_class
    if preset_class is None and key == keras.saving.get_registered_name(expected_class):
        return expected_class
    if (
        preset_class is not None
        and issubclass(expected_class, preset_class)
        and not (preset_class.__module__ or "").startswith("keras")
    ):
        return expected_class
    expected = keras.saving.get_registered_name(expected_class)
    raise PresetError(
        f"preset {folder} holds a {key.rsplit('>', 1)[-1]} ({key}), not a "
        f"{expected_class.__name__} ({expected}): load it with "
        f"{key.rsplit('>', 1)[-1]}.from_preset(...)."
    )


def preset_class_compatible(metadata_class, model_class):
    """Whether a preset whose metadata names `metadata_class` loads as `model_class`."""
    import keras

    _import_models()
    preset_class = keras.saving.get_registered_object(metadata_class)
    if preset_class is None:
        return metadata_class == keras.saving.get_registered_name(model_class)
    return issubclass(preset_class, model_class) or (
        issubclass(model_class, preset_class)
        and not (preset_class.__module__ or "").startswith("keras")
    )


def _public_module(class_key):
    """The module a user imports the preset's class from (for the model card)."""
    import keras

    name = class_key.rsplit(">", 1)[-1]
    for module in ("posegan_zoo", "posegan_zoo.models"):
        if hasattr(importlib.import_module(module), name):
            return module
    preset_class = keras.saving.get_registered_object(class_key)
    return getattr(preset_class, "__module__", None) or "posegan_zoo.models"


def _class_key(config):
    return config.get("registered_name") or config["class_name"]


# -- helpers ------------------------------------------------------------------------------


def _import_models():
    # Registers every posegan_zoo model with Keras; imported late to avoid an import cycle
    # (the models import the preset mixin).
    importlib.import_module("posegan_zoo.models")


def _package_version():
    return importlib.import_module("posegan_zoo").__version__


def _image_size_of(model):
    size = getattr(model, "image_size", None)
    if size is None:
        return None
    try:
        return _as_size_list(size)
    except PresetError:
        return None


def _as_size_list(size):
    if _is_int(size):
        return [int(size), int(size)]
    try:
        height, width = size
        return [int(height), int(width)]
    except (TypeError, ValueError):
        raise PresetError(f"image size must be an int or (height, width), got {size!r}.") from None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _format_size(size):
    return f"{size[0]} x {size[1]}" if size else "n/a"


def _training_rank(key):
    known = key in _TRAINING_ORDER
    return (_TRAINING_ORDER.index(key) if known else len(_TRAINING_ORDER), "" if known else key)


def _format_value(value):
    """A metadata value in one table cell: dicts as `name value` pairs, numbers short."""
    if isinstance(value, dict):
        items = sorted(value.items())
        return ", ".join(f"{key} {_format_value(item)}" for key, item in items) or "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|")


def _format_optional(value):
    return "n/a" if value is None else f"{value:,}"


def _read_json(path):
    return read_json(path, PresetError)


def _write_text(path, text):
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())


def _fsync(path):
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _replace_folder(staging, folder):
    """Renames the complete `staging` folder to `folder`, replacing a previous preset."""
    if not folder.exists():
        os.rename(staging, folder)
        _fsync_directory(folder.parent)
        return
    # Move the old preset aside, put the new one in place, then delete the old one.
    backup = pathlib.Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
    os.rmdir(backup)
    os.rename(folder, backup)
    try:
        os.rename(staging, folder)
    except OSError:
        os.rename(backup, folder)
        raise
    _fsync_directory(folder.parent)
    shutil.rmtree(backup, ignore_errors=True)


def _fsync_directory(directory):
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
