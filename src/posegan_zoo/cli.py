"""The `posegan-zoo` command line.

    posegan-zoo regenerate IMAGE [--pose P.json] (--target-pose T.json | --target-image PHOTO)
                           [--preset P] [--save-intermediates] --out DIR
    posegan-zoo animate PHOTO --poses POSES_OR_VIDEO --out OUT.mp4 [--preset P] [--batch-size N]
                        [--fps F] [--frames DIR]
    posegan-zoo detect IMAGE... --out DIR
    posegan-zoo evaluate DATA [--preset P] [--all | --holdout-fraction F] [--clips A,B]
                         [--max-pairs-per-clip N] [--gallery N] [--no-perceptual] --out DIR
    posegan-zoo presets
    posegan-zoo download HANDLE [--revision R] [--cache-dir DIR]
    posegan-zoo convert CHECKPOINT.h5 --out FOLDER
    posegan-zoo train DATA --out RUN [--steps N ...] [--config FILE]
    posegan-zoo finetune DATA --preset GENERATOR --out RUN [--steps N ...] [--config FILE]
    posegan-zoo export RUN --out PRESET_DIR [--evaluation EVALUATION_JSON] [--license L]
    posegan-zoo push PRESET_DIR --repo OWNER/NAME [--revision BRANCH] [--private]
    posegan-zoo prepare VIDEO_OR_FOLDER... --out DATASET [--every N] [--max-frames M] [...]

Every `TrainingConfig` field is a flag (`--batch-size`, `--adversarial bce`, ...); a JSON or
TOML `--config` file gives defaults that flags override. A run folder that already holds
checkpoints resumes. `--steps N` trains exactly N updates.

A `--preset` is any generator handle: an embedded preset name, a preset folder,
`hf://owner/name[@revision]`, a training run folder or a `.keras` file. The chain:
`train` -> `evaluate DATA --preset RUN --out RUN/evaluation` -> `export RUN --out PRESET` ->
`regenerate` / `animate` / `finetune --preset PRESET` -> `push PRESET --repo owner/name`.

Arguments are parsed before TensorFlow is imported; TensorFlow's C++ log lines are silenced
unless `TF_CPP_MIN_LOG_LEVEL` is set.
"""

import argparse
import ast
import contextlib
import functools
import itertools
import json
import math
import operator
import os
import pathlib
import re
import sys
import threading
import warnings

from posegan_zoo.errors import (
    InvalidConfigError,
    InvalidPoseError,
    PoseGanZooError,
    PresetUnavailableError,
)

# TensorFlow's C++ log lines (oneDNN, CUDA probing, XLA, grappler) say nothing a user can act
# on; the level is set before TensorFlow is first imported, unless the user chose one.
_QUIET_TENSORFLOW = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
if _QUIET_TENSORFLOW:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

# Training flags that are not offered: positionals, and the generator `finetune` starts from.
_SKIP = {"data", "output", "init_from"}
# What `finetune` takes from its --preset instead.
_FINETUNE_SKIP = {"model", "width", "image_size"}
# `posegan_zoo.models.posewarp.trainer.ADVERSARIAL_LOSSES` (importing it imports TensorFlow).
_ADVERSARIAL_LOSSES = ("bce", "lsgan", "wgan-gp")
_TRAINING_SOURCE = pathlib.Path(__file__).resolve().parent / "training" / "run.py"
_TRAINING_CHOICES = {
    "model": "MODELS",
    "reconstruction_loss": "RECONSTRUCTION_LOSSES",
    "perceptual_backbone": "PERCEPTUAL_BACKBONES",
    "precision": "PRECISIONS",
    "strategy": "STRATEGIES",
}
_TRAINING_HELP = {
    "model": "the generator to train: posewarp (the paper's), unet (the UNet baseline) or "
    "refined-warp (warp-only plus a learned correction)",
    "image_size": "side of the square person crops, in pixels",
    "width": "one width for every conv layer, for small fast models (default: the paper's widths)",
    "batch_size": "frame pairs per update",
    "steps": "generator updates in all: exactly this many",
    "steps_per_epoch": "updates per epoch, the period of checkpoints, sample grids and log lines "
    "(the last epoch is shorter when it does not divide --steps)",
    "learning_rate": "Adam learning rate of the generator (and the discriminator)",
    "reconstruction_loss": "perceptual: the paper's normalized feature distances (network: "
    "--perceptual-backbone); l1; or ssim",
    "vgg_weights": "local VGG19 ImageNet weights (.h5) for the vgg19 perceptual loss "
    "(default: Keras downloads them)",
    "vgg_statistics": "per-channel VGG19 activation statistics (.mat, keys '0'..'11') that "
    "normalize the vgg19 perceptual loss",
    "perceptual_backbone": "network of the perceptual loss: mobilenet_v2 ships with the package "
    "(works offline); vgg19 downloads ImageNet weights unless --vgg-weights is given; auto: "
    "vgg19 when --vgg-weights or --vgg-statistics is given, else mobilenet_v2",
    "l1_weight": "weight of a pixel L1 term beside the reconstruction loss (0: none)",
    "cycle_weight": "weight of the way back: the L1 distance between the source and the fake "
    "moved back to the source pose (0: none)",
    "adversarial": "stage 2: this adversarial loss against a pose discriminator (default: none, "
    "stage 1, reconstruction only)",
    "adversarial_weight": "weight of the adversarial term (with --adversarial)",
    "augment": "the paper's augmentation: flip, scale, shift, rotation, intensity",
    "holdout_fraction": "share of each clip's last frames held out for validation (0: none)",
    "seed": "random seed of the weights, the pair draw and the augmentation",
    "keep_checkpoints": "how many of the newest checkpoints RUN/checkpoints keeps",
    "deterministic": "deterministic TensorFlow ops: slower, for exact resumes",
    "precision": "compute precision: fp32, bf16 (mixed_bfloat16) or fp16 (mixed_float16, "
    "with loss scaling); weights and losses stay float32. 16 bits pay on GPUs and on CPUs "
    "with AVX512_BF16 or AMX",
    "strategy": "none (one device) or mirrored (every local GPU; --batch-size is then the "
    "global batch); a run may resume under another strategy",
}
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}
_OPERATORS[ast.Pow] = operator.pow


def _literal(node):
    """The value of a literal, where numbers may be combined with +, -, * and **."""
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_literal(node.left), _literal(node.right))
    if isinstance(node, ast.Dict):
        pairs = zip(node.keys, node.values, strict=True)
        return {_literal(key): _literal(value) for key, value in pairs}
    if isinstance(node, ast.Tuple):
        return tuple(_literal(item) for item in node.elts)
    return ast.literal_eval(node)


@functools.cache
def training_fields():
    """`(fields, choices, bounds)` of `TrainingConfig`, read from the source of its module.

    `posegan_zoo.training.run` imports TensorFlow, so `--help` and argument errors read the
    dataclass' fields with `ast` instead: `fields` lists `(name, type, default)` in order (the
    default is `dataclasses.MISSING` when there is none or it is not a literal), `choices`
    maps a field to its allowed values and `bounds` to its inclusive `(low, high)`
    (`FIELD_BOUNDS`). `tests/test_cli.py` checks them against the module.
    """
    from dataclasses import MISSING

    tree = ast.parse(_TRAINING_SOURCE.read_text(encoding="utf-8"))
    constants, fields = {}, []
    for node in tree.body:
        if isinstance(node, ast.Assign) and [type(t) for t in node.targets] == [ast.Name]:
            try:
                constants[node.targets[0].id] = _literal(node.value)
            except (ValueError, TypeError):
                continue
        if isinstance(node, ast.ClassDef) and node.name == "TrainingConfig":
            for item in node.body:
                if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                    continue
                names = [part.strip() for part in ast.unparse(item.annotation).split("|")]
                kind = _TYPES.get(next((n for n in names if n != "None"), "str"), str)
                try:
                    default = MISSING if item.value is None else _literal(item.value)
                except (ValueError, TypeError):
                    default = MISSING
                fields.append((item.target.id, kind, default))
    choices = {name: tuple(constants[key]) for name, key in _TRAINING_CHOICES.items()}
    choices["adversarial"] = _ADVERSARIAL_LOSSES
    return tuple(fields), choices, dict(constants.get("FIELD_BOUNDS", {}))


def _bounded(kind, low, high):
    """An argparse type: `kind` of the text, finite and within [low, high]."""

    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite, got {text!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            expected = f">= {low}" if high is None else f"in [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be {expected}, got {text}")
        return value

    convert.__name__ = kind.__name__
    return convert


def _add_training_flags(parser, skip=()):
    parser.add_argument(
        "data", help="dataset folder in the paper's format (frames/, info/), as `prepare` writes"
    )
    parser.add_argument(
        "--out",
        dest="output",
        required=True,
        metavar="RUN",
        help="run folder (checkpoints/, samples/, logs/, model/); one holding checkpoints resumes",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="JSON or TOML file of TrainingConfig fields; flags override its values",
    )
    fields, choices, bounds = training_fields()
    for name, kind, default in fields:
        if name in _SKIP or name in skip:
            continue
        flag = "--" + name.replace("_", "-")
        text = _TRAINING_HELP.get(name, f"TrainingConfig.{name}")
        shown = "none" if default is None else str(default).lower() if kind is bool else default
        text += f" (default: {shown})" if "(default:" not in text else ""
        if kind is bool:
            parser.add_argument(
                flag, dest=name, action=argparse.BooleanOptionalAction, default=None, help=text
            )
        else:
            if kind in (int, float):
                kind = _bounded(kind, *bounds.get(name, (None, None)))
            parser.add_argument(
                flag, dest=name, type=kind, choices=choices.get(name), default=None, help=text
            )


def _config_from_args(args, init_from=None):
    import dataclasses

    from posegan_zoo.training import TrainingConfig

    names = {f.name for f in dataclasses.fields(TrainingConfig)}
    values = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if init_from is not None:
        values["init_from"] = init_from
    try:
        if args.config:
            return TrainingConfig.from_file(args.config, **values)
        return TrainingConfig(**values)
    except PoseGanZooError as error:
        # A setting given as a flag is named as the flag.
        message = str(error)
        for name in values:
            flag = "--preset" if name == "init_from" else "--" + name.replace("_", "-")
            message = message.replace(f"`{name}`", flag)
        raise type(error)(message) from None


# What a --preset names; see `posegan_zoo.presets.load_generator`.
GENERATOR_HANDLES = (
    "an embedded preset name (see `posegan-zoo presets`), a preset folder, "
    "hf://owner/name[@revision], a training run folder or a .keras file"
)


def _preset_help(default=None):
    text = f"the generator: {GENERATOR_HANDLES}"
    return text + (f" (default: {default})" if default else "")


def _add_hub_flags(parser):
    parser.add_argument(
        "--revision", help="Hub revision of an hf:// handle: branch, tag or commit (default: main)"
    )
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="Hugging Face cache folder (default: HF_HUB_CACHE)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="use the Hugging Face cache only, no download"
    )


def _add_precision_flag(parser):
    parser.add_argument(
        "--precision",
        choices=training_fields()[1]["precision"],
        default="fp32",
        help="the generator's compute precision: fp32, bf16 (mixed_bfloat16: for CPUs with "
        "AVX512_BF16 or AMX, and GPUs) or fp16 (mixed_float16: for GPUs); the weights stay "
        "float32 (default: fp32)",
    )


def _hub_kwargs(args):
    return {
        "revision": args.revision,
        "cache_dir": args.cache_dir,
        "local_files_only": True if args.offline else None,
    }


def build_parser():
    from posegan_zoo.presets.defaults import DEFAULT_PRESET

    parser = argparse.ArgumentParser(
        prog="posegan-zoo", description="Pose-guided human image generation (Keras 3)."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    regenerate = commands.add_parser(
        "regenerate", help="move a person to a target pose and regenerate the original"
    )
    regenerate.add_argument("image", help="photo of the person")
    regenerate.add_argument(
        "--pose", help="keypoint JSON of the person (default: detect the person in IMAGE)"
    )
    regenerate.add_argument(
        "--target-pose", help="keypoint JSON of the target pose (or use --target-image)"
    )
    regenerate.add_argument(
        "--target-image",
        help="real photo in the target pose: its person's pose is the target unless "
        "--target-pose is given, and the fake is compared with it",
    )
    regenerate.add_argument(
        "--person",
        type=int,
        default=0,
        help="which detected person to use, 0 being the largest (default: 0)",
    )
    regenerate.add_argument("--preset", default=DEFAULT_PRESET, help=_preset_help(DEFAULT_PRESET))
    regenerate.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="output folder: fake.png, recovered.png, comparison.png, metrics.json",
    )
    regenerate.add_argument(
        "--save-intermediates",
        action="store_true",
        help="also write the generator's intermediates as PNGs under OUT/intermediates/: the "
        "source segmentation coloured by limb, the warped limbs, the foreground, its mask "
        "and the background (PoseWarp, warp-only and refined-warp models)",
    )
    _add_precision_flag(regenerate)
    _add_hub_flags(regenerate)
    _add_animate_parser(commands, DEFAULT_PRESET)

    evaluate = commands.add_parser(
        "evaluate",
        help="SSIM, masked SSIM, perceptual distance and the way back over frame pairs of a "
        "dataset, beside the copy-source and warp-only baselines",
    )
    evaluate.add_argument("data", help="dataset folder in the paper's format")
    evaluate.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        help=_preset_help(DEFAULT_PRESET),
    )
    which = evaluate.add_mutually_exclusive_group()
    which.add_argument(
        "--holdout-fraction",
        type=float,
        default=0.25,
        help="pairs whose target is among each clip's last F frames, as `train` holds them "
        "out (default: 0.25)",
    )
    which.add_argument(
        "--all",
        dest="holdout_fraction",
        action="store_const",
        const=None,
        help="every ordered pair of frames of each clip (for clips never trained on)",
    )
    evaluate.add_argument(
        "--clips", help="comma-separated clip (video) names to evaluate (default: all)"
    )
    evaluate.add_argument(
        "--max-pairs-per-clip",
        type=int,
        default=None,
        help="at most N pairs per clip, drawn with --seed (default: all)",
    )
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the pair draw (default: 0)")
    evaluate.add_argument(
        "--gallery", type=int, default=8, help="pairs shown in gallery.png (0: none; default 8)"
    )
    evaluate.add_argument(
        "--no-perceptual",
        dest="perceptual",
        action="store_false",
        help="skip the MobileNetV2 perceptual distance",
    )
    evaluate.add_argument(
        "--batch-size", type=int, default=8, help="pairs per generator call (default: 8)"
    )
    evaluate.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="folder for evaluation.json, evaluation.md, gallery.png (RUN/evaluation for a "
        "run that `export` is to record them)",
    )
    _add_precision_flag(evaluate)
    _add_hub_flags(evaluate)

    detect = commands.add_parser(
        "detect", help="find the people in photos: keypoint JSON and a skeleton PNG per photo"
    )
    detect.add_argument("images", nargs="+", metavar="IMAGE", help="photos to read")
    detect.add_argument("--out", required=True, help="folder for <name>.json and <name>.png")
    detect.add_argument(
        "--min-visibility",
        type=float,
        default=0.5,
        help="joints less visible than this are written as missing (default: 0.5)",
    )

    commands.add_parser("presets", help="list the embedded presets (the default is marked)")

    download = commands.add_parser(
        "download", help="fetch a preset into the local cache and print its folder"
    )
    download.add_argument(
        "handle", help="preset handle: an embedded name, a folder or hf://owner/name[@revision]"
    )
    _add_hub_flags(download)

    convert = commands.add_parser(
        "convert", help="the authors' Keras 2 generator checkpoint -> a preset folder"
    )
    convert.add_argument(
        "checkpoint", metavar="CHECKPOINT.h5", help="the authors' Keras 2 generator weights file"
    )
    convert.add_argument("--out", required=True, metavar="FOLDER", help="preset folder to write")
    convert.add_argument(
        "--image-size", type=int, default=256, help="image size of the generator (default: 256)"
    )
    train = commands.add_parser(
        "train",
        help="train a generator on a dataset",
        description="Trains a generator; every TrainingConfig field is a flag. A run folder "
        "that already holds checkpoints resumes.",
    )
    _add_training_flags(train)
    finetune = commands.add_parser(
        "finetune",
        help="fine-tune a generator on a dataset",
        description="Trains further the generator of --preset (its model and image size come "
        "from it); the other training flags are those of `train`.",
    )
    _add_training_flags(finetune, skip=_FINETUNE_SKIP)
    finetune.add_argument(
        "--preset", required=True, help=f"the generator to start from: {GENERATOR_HANDLES}"
    )
    _add_export_parser(commands)
    _add_push_parser(commands)

    prepare = commands.add_parser(
        "prepare", help="videos -> a dataset in the paper's format (frames, joints, masks)"
    )
    prepare.add_argument(
        "inputs",
        nargs="+",
        metavar="VIDEO_OR_FOLDER",
        help="video files, or folders searched recursively for videos",
    )
    prepare.add_argument(
        "--out", required=True, metavar="DATASET", help="dataset folder to write (or resume)"
    )
    prepare.add_argument(
        "--every", type=int, default=1, help="read every Nth frame (default: 1, every frame)"
    )
    prepare.add_argument(
        "--max-frames", type=int, default=None, help="frames read per video at most (default: all)"
    )
    prepare.add_argument(
        "--min-score",
        type=float,
        default=0.5,
        help="least person score to keep a frame (default: 0.5)",
    )
    prepare.add_argument(
        "--min-visibility",
        type=float,
        default=0.5,
        help="least visibility for a joint to count as visible (default: 0.5)",
    )
    prepare.add_argument(
        "--min-visible-joints",
        type=int,
        default=14,
        help="joints of 14 that must be visible and inside the frame (default: 14)",
    )
    prepare.add_argument(
        "--overwrite",
        action="store_true",
        help="prepare again videos that already have a report (default: skip them)",
    )
    return parser


def _train(args):
    from posegan_zoo.presets import locate_generator
    from posegan_zoo.training import run_training

    init_from = args.preset if args.command == "finetune" else None
    if init_from is not None:
        try:
            locate_generator(init_from)
        except PoseGanZooError as error:
            raise type(error)(f"--preset: {error}") from None
    config = _config_from_args(args, init_from=init_from)
    with _in_flag_terms(*_VGG_FLAG_TERMS):
        summary = run_training(config)
    record = {
        "steps": summary["steps"],
        "replicas": summary["replicas"],
        "evaluation": summary["evaluation"],
        "model": f"{config.output}/model/generator.keras",
    }
    print(json.dumps(record, indent=2))


def _add_export_parser(commands):
    export = commands.add_parser(
        "export",
        help="a training run -> a preset folder with a model card of the run",
        description="Writes the final generator of RUN as a preset folder (config.json, "
        "metadata.json, model.weights.h5, README.md) whose model card records the run's data, "
        "steps, losses and held-out figures. The figures of `posegan-zoo evaluate DATA "
        "--preset RUN --out RUN/evaluation` are included when that file exists. The folder is "
        "written whole or not at all.",
    )
    export.add_argument("run", metavar="RUN", help="run folder of `train` or `finetune`")
    export.add_argument(
        "--out", required=True, metavar="PRESET_DIR", help="preset folder to write (or replace)"
    )
    export.add_argument(
        "--evaluation",
        metavar="EVALUATION_JSON",
        help="evaluation.json of `posegan-zoo evaluate` for this run, or its folder "
        "(default: RUN/evaluation/evaluation.json when it exists)",
    )
    export.add_argument(
        "--description", help="one line for the model card and `presets` (default: from the run)"
    )
    export.add_argument("--license", help="licence of the weights, an SPDX id such as mit")


def _export(args):
    from posegan_zoo.presets import export_run, read_metadata

    with _in_flag_terms(("`run`", "RUN"), ("`evaluation`", "--evaluation")):
        folder = export_run(
            args.run,
            args.out,
            evaluation=args.evaluation,
            description=args.description,
            license=args.license,
        )
    metadata = read_metadata(folder)
    record = {
        "preset": str(folder),
        "class": metadata["class"],
        "training_steps": metadata.get("training_steps"),
        "metrics": metadata.get("metrics"),
    }
    print(json.dumps(record, indent=2))


def _add_push_parser(commands):
    push = commands.add_parser(
        "push",
        help="upload a preset folder to the Hugging Face Hub",
        description="Checks a preset folder (files, sha256) and uploads it to a Hub model "
        "repo, created if needed. Log in first (`hf auth login`) or set HF_TOKEN; HF_ENDPOINT "
        "names another Hub.",
    )
    push.add_argument("folder", metavar="PRESET_DIR", help="preset folder, e.g. from `export`")
    push.add_argument(
        "--repo", required=True, metavar="OWNER/NAME", help="Hub model repo (or hf://owner/name)"
    )
    push.add_argument(
        "--revision", help="branch to commit to, created if needed (default: the main branch)"
    )
    push.add_argument(
        "--private", action="store_true", help="make a repo that this push creates private"
    )
    push.add_argument("--message", help="commit message (default: names the class and version)")


def _push(args):
    import shutil
    import tempfile

    from posegan_zoo.presets import format as preset_format
    from posegan_zoo.presets import push_to_hub
    from posegan_zoo.presets.hub import _hub_target

    repo_id, revision = _hub_target(args.repo, args.revision)
    handle = f"hf://{repo_id}" + (f"@{revision}" if revision else "")
    folder = pathlib.Path(args.folder)
    metadata = preset_format.validate_preset(folder)
    with tempfile.TemporaryDirectory(prefix="posegan_zoo-push-") as tmp:
        # The generated model card shows how to load the preset from where it goes.
        card = folder / preset_format.MODEL_CARD_FILE
        generated = preset_format.render_model_card(metadata, folder.name)
        if card.is_file() and card.read_text(encoding="utf-8") == generated:
            staged = pathlib.Path(tmp) / folder.name
            shutil.copytree(folder, staged)
            title = repo_id.split("/")[1]
            (staged / card.name).write_text(
                preset_format.render_model_card(metadata, title, handle=handle), encoding="utf-8"
            )
            folder = staged
        try:
            commit = push_to_hub(
                folder,
                repo_id,
                revision=revision,
                commit_message=args.message,
                private=True if args.private else None,
            )
        except PoseGanZooError:
            raise
        except Exception as error:
            from huggingface_hub.errors import HfHubHTTPError

            if not isinstance(error, (HfHubHTTPError, OSError)):
                raise
            first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise PresetUnavailableError(
                f"--repo {repo_id}: the upload failed: {first} (log in with `hf auth login` or "
                "set HF_TOKEN; HF_ENDPOINT names the Hub)."
            ) from None
    record = {
        "repo": repo_id,
        "handle": handle,
        "commit": getattr(commit, "commit_url", str(commit)),
    }
    print(json.dumps(record, indent=2))


def _regenerate(args):
    from posegan_zoo.regenerator import PoseRegenerator
    from posegan_zoo.reporting import write_regeneration

    _check_output_folder(args.out)
    if args.target_pose is None and args.target_image is None:
        raise InvalidPoseError("give --target-pose (keypoint JSON) or --target-image (a photo).")
    regenerator = PoseRegenerator.from_preset(args.preset, args.precision, **_hub_kwargs(args))
    if args.save_intermediates and not regenerator.has_intermediates:
        raise InvalidConfigError(
            f"--save-intermediates: the preset {args.preset}'s "
            f"{type(regenerator.generator).__name__} returns no intermediates (PoseWarp, "
            "warp-only and refined-warp generators do)."
        )
    result = regenerator(
        args.image, args.pose, args.target_pose, args.target_image, person=args.person
    )
    for image, count in result.people_found.items():
        if count > 1:
            print(
                f"posegan-zoo regenerate: {count} people in the {image} image; used person "
                f"{args.person} (the largest is 0; --person K picks another).",
                file=sys.stderr,
            )
    written = write_regeneration(result, args.out, intermediates=args.save_intermediates)
    record = {
        "preset": args.preset,
        "precision": args.precision,
        "people_found": result.people_found,
        "metrics": result.metrics,
        "fake_metrics": result.fake_metrics,
        "files": [str(path) for path in written],
    }
    print(json.dumps(record, indent=2))


def _add_animate_parser(commands, default_preset):
    animate = commands.add_parser(
        "animate",
        help="the person in a photo follows a pose sequence: an MP4 or GIF (and PNG frames)",
        description="Renders the person in PHOTO in every pose of a sequence, in batches, and "
        "writes the frames as an H.264 MP4 or an animated GIF (by the extension of --out).",
    )
    animate.add_argument("image", metavar="PHOTO", help="photo of the person")
    animate.add_argument(
        "--poses",
        required=True,
        metavar="POSES_OR_VIDEO",
        help="the pose sequence: a folder of keypoint JSON (one per frame, as `detect` writes), "
        "a dataset folder in the paper's format (frames/, info/; see --clip) or its .mat, or a "
        "video whose person the detector follows",
    )
    animate.add_argument(
        "--out", required=True, metavar="OUT.mp4", help="video to write: .mp4 (H.264) or .gif"
    )
    animate.add_argument(
        "--pose", help="keypoint JSON of the person in PHOTO (default: detect the person)"
    )
    animate.add_argument(
        "--person",
        type=int,
        default=0,
        help="which person, 0 being the largest: in PHOTO when detecting, and in each keypoint "
        "file of --poses (default: 0)",
    )
    animate.add_argument(
        "--preset", default=default_preset, help=f"preset handle (default: {default_preset})"
    )
    animate.add_argument(
        "--batch-size", type=int, default=8, help="poses per generator call (default: 8)"
    )
    animate.add_argument(
        "--fps",
        type=float,
        default=None,
        help="frames per second (default: the video's, divided by --every; else 10)",
    )
    animate.add_argument("--frames", metavar="DIR", help="also write frame-0000.png, ... in DIR")
    animate.add_argument(
        "--align",
        choices=("person", "none"),
        default="person",
        help="person: move and scale the sequence onto the photo's person (default); none: "
        "the poses are already in the photo's pixels",
    )
    animate.add_argument("--clip", help="the video of a --poses dataset that holds several")
    animate.add_argument(
        "--every", type=int, default=1, help="use every Nth pose of the sequence (default: 1)"
    )
    animate.add_argument(
        "--max-frames", type=int, default=None, help="at most N frames (default: all)"
    )
    _add_precision_flag(animate)
    _add_hub_flags(animate)
    return animate


def _animate(args):
    from posegan_zoo.animation import OUTPUT_SUFFIXES, animate
    from posegan_zoo.regenerator import PoseRegenerator

    suffix = pathlib.Path(args.out).suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise InvalidConfigError(
            f"--out {args.out}: write the animation as {' or '.join(OUTPUT_SUFFIXES)} "
            f"(got {suffix or 'no extension'})."
        )
    if pathlib.Path(args.out).is_dir():
        raise InvalidConfigError(f"--out {args.out}: is a folder; give a file name.")
    if args.frames is not None and pathlib.Path(args.frames).exists():
        if not pathlib.Path(args.frames).is_dir():
            raise InvalidConfigError(f"--frames {args.frames}: exists and is not a folder.")
    for flag, value in (
        ("--batch-size", args.batch_size),
        ("--every", args.every),
        ("--max-frames", args.max_frames),
    ):
        if value is not None and value < 1:
            raise InvalidConfigError(f"{flag} must be >= 1, got {value}.")
    if args.fps is not None and not args.fps > 0:
        raise InvalidConfigError(f"--fps must be > 0, got {args.fps}.")
    if args.person < 0:
        raise InvalidConfigError(f"--person must be >= 0, got {args.person}.")
    regenerator = PoseRegenerator.from_preset(args.preset, args.precision, **_hub_kwargs(args))
    regenerator.batch_size = args.batch_size
    renames = (("`poses`", "--poses"), ("`clip`", "--clip"), ("`source_pose`", "--pose"))
    with _in_flag_terms(*renames, ("`image`", "PHOTO")):
        result = animate(
            regenerator,
            args.image,
            args.poses,
            args.out,
            source_pose=args.pose,
            person=args.person,
            fps=args.fps,
            frames_dir=args.frames,
            align=args.align,
            clip=args.clip,
            every=args.every,
            max_frames=args.max_frames,
        )
    if result.missing:
        print(
            f"posegan-zoo animate: {result.missing} of {result.frame_count} frames had no usable "
            "pose and repeat the previous one.",
            file=sys.stderr,
        )
    record = {
        "preset": args.preset,
        "video": str(result.path),
        "frames": result.frame_count,
        "fps": result.fps,
        "size": list(result.size),
        "frames_without_pose": result.missing,
        "frame_files": len(result.frame_paths),
    }
    print(json.dumps(record, indent=2))


def _evaluate(args):
    from posegan_zoo.evaluation import evaluate_preset, write_evaluation
    from posegan_zoo.reporting import format_table

    _check_output_folder(args.out)
    if args.gallery < 0:
        raise InvalidConfigError(f"--gallery must be >= 0, got {args.gallery}.")
    if args.batch_size < 1:
        raise InvalidConfigError(f"--batch-size must be >= 1, got {args.batch_size}.")
    clips = None
    if args.clips is not None:
        clips = [name.strip() for name in args.clips.split(",") if name.strip()]
    evaluation = evaluate_preset(
        args.data,
        args.preset,
        clips=clips,
        holdout_fraction=args.holdout_fraction,
        max_pairs_per_clip=args.max_pairs_per_clip,
        seed=args.seed,
        perceptual=args.perceptual,
        gallery=args.gallery,
        batch_size=args.batch_size,
        dtype=args.precision,
        **_hub_kwargs(args),
    )
    print(format_table(evaluation.rows()))
    for path in write_evaluation(evaluation, args.out):
        print(f"wrote {path}", file=sys.stderr)


def _check_output_folder(path):
    """Refuses an output folder that is a file, before any model runs."""
    if pathlib.Path(path).exists() and not pathlib.Path(path).is_dir():
        raise InvalidConfigError(f"--out {path}: exists and is not a folder.")


def _detect(args):
    from posegan_zoo.detection import PoseDetector
    from posegan_zoo.reporting import write_detections

    _check_output_folder(args.out)
    detector = PoseDetector(min_visibility=args.min_visibility)
    summary, names = [], set()
    for image in args.images:
        people = detector.detect(image)
        name = pathlib.Path(image).stem
        for k in itertools.count(2):
            if name not in names:
                break
            name = f"{pathlib.Path(image).stem}_{k}"
        names.add(name)
        json_path, png_path = write_detections(image, people, args.out, name=name)
        summary.append(
            {"image": image, "people": len(people), "files": [str(json_path), str(png_path)]}
        )
        if not people:
            print(f"posegan-zoo detect: no person found in {image}", file=sys.stderr)
    print(json.dumps(summary, indent=2))


def _presets(args):
    from posegan_zoo.presets import list_presets
    from posegan_zoo.presets.defaults import DEFAULT_PRESET

    for name, description in list_presets().items():
        marker = " (default)" if name == DEFAULT_PRESET else ""
        print(f"{name}{marker}: {description}")


def _download(args):
    from posegan_zoo.presets import resolve

    print(resolve(args.handle, **_hub_kwargs(args)))


def _convert(args):
    from posegan_zoo.models import convert_posewarp_checkpoint
    from posegan_zoo.presets import save_preset

    generator = convert_posewarp_checkpoint(args.checkpoint, image_size=args.image_size)
    metadata = {
        "description": "The PoseWarp authors' generator, converted from their Keras 2 "
        "checkpoint; it expects BGR images (the authors read frames with OpenCV).",
        "training_data": f"converted from {pathlib.Path(args.checkpoint).name}",
    }
    print(save_preset(generator, args.out, metadata=metadata))


def _prepare(args):
    from posegan_zoo.data import prepare_videos

    reports = prepare_videos(
        args.inputs,
        args.out,
        every=args.every,
        max_frames=args.max_frames,
        min_score=args.min_score,
        min_visibility=args.min_visibility,
        min_visible_joints=args.min_visible_joints,
        overwrite=args.overwrite,
    )
    drops = {
        "no person": "no person",
        "low score": "low score",
        "not visible": "joints not visible",
        "outside": "joints outside the frame",
    }
    columns = ("video", "read", "kept", *drops, "camera motion", "status")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for report in reports:
        motion = report["camera_motion"]
        motion = "-" if motion is None else f"{motion:.2f}"
        if report["camera_motion_warning"]:
            motion += " (moves)"
        cells = (
            report["video"],
            report["frames_read"],
            report["frames_kept"],
            *(report["dropped"].get(reason, 0) for reason in drops.values()),
            motion,
            report["status"],
        )
        print("| " + " | ".join(str(cell) for cell in cells) + " |")
    record = {
        "dataset": str(args.out),
        "videos": len(reports),
        "frames_kept": sum(report["frames_kept"] for report in reports),
        "reports": [{k: v for k, v in report.items() if k != "kept_frames"} for report in reports],
    }
    print(json.dumps(record, indent=2))


_COMMANDS = {
    "train": _train,
    "finetune": _train,
    "regenerate": _regenerate,
    "animate": _animate,
    "export": _export,
    "push": _push,
    "detect": _detect,
    "evaluate": _evaluate,
    "presets": _presets,
    "download": _download,
    "convert": _convert,
    "prepare": _prepare,
}


# Warnings a user of the command line cannot act on.
_IGNORED_WARNINGS = (
    # Keras, when a tf.data pipeline (shuffled by posegan_zoo) meets `fit(shuffle=True)`.
    r"`shuffle=True` was passed, but will be ignored",
)
# Log records of TensorFlow (absl, printed before it reads TF_CPP_MIN_LOG_LEVEL: oneDNN, CUDA
# drivers) and of TensorFlow Lite (the pose detector's XNNPACK delegate) at INFO or WARNING.
_NOISE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IW]\d{4} [\d:.]+\s+\d+ \S+:\d+\] "
    r"|INFO: (Created TensorFlow Lite|Initialized TensorFlow Lite)"
)


def _relay(source, target):
    """Copies the lines read from the fd `source` to the fd `target`, less `_NOISE` lines."""
    pending = b""
    try:
        while chunk := os.read(source, 1 << 16):
            *lines, pending = re.split(rb"(?<=[\n\r])", pending + chunk)
            kept = [line for line in lines if not _NOISE.match(line.decode("utf-8", "replace"))]
            if kept:
                os.write(target, b"".join(kept))
        if pending:
            os.write(target, pending)
    finally:
        os.close(source)


@contextlib.contextmanager
def _quiet_stderr():
    """For the time of a command, what is written to stderr (fd 2, the C++ libraries' too)
    goes through `_relay`: passed on at once, less TensorFlow's start-up INFO lines."""
    sys.stderr.flush()
    original = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    relay = threading.Thread(target=_relay, args=(read_end, original), daemon=True)
    relay.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(original, 2)  # closes the pipe's last write end: the relay ends
        relay.join(timeout=10)
        os.close(original)


# How `vgg19_features` / `PerceptualLoss` name their arguments, and the flags that set them.
_VGG_FLAG_TERMS = (
    (
        "pass `weights=<path to that local VGG19 .h5 or .weights.h5 file>`",
        "pass --vgg-weights PATH (or train with --perceptual-backbone mobilenet_v2, which needs "
        "no download)",
    ),
    ("`weights='imagenet'`", "--perceptual-backbone vgg19"),
    ("(`weights`)", "(--vgg-weights)"),
    ("(`statistics`)", "(--vgg-statistics)"),
)


@contextlib.contextmanager
def _in_flag_terms(*renames):
    """Re-raises a package error with the library's argument names replaced by the flags."""
    try:
        yield
    except PoseGanZooError as error:
        message = str(error)
        for name, flag in renames:
            message = message.replace(name, flag)
        raise type(error)(message) from None


def main(argv=None):
    """Runs one `posegan-zoo` command; returns its exit status (2 for a named error).

    The arguments are parsed before TensorFlow is imported, so `--help` and argument errors
    answer at once.
    """
    args = build_parser().parse_args(argv)
    for message in _IGNORED_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    with _quiet_stderr() if _QUIET_TENSORFLOW else contextlib.nullcontext():
        try:
            _COMMANDS[args.command](args)
        except PoseGanZooError as error:
            print(f"posegan-zoo {args.command}: {error}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
