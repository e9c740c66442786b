"""The `posegan-zoo` command line.

    posegan-zoo regenerate IMAGE [--pose P.json] (--target-pose T.json | --target-image PHOTO)
                           [--preset P] --out DIR
    posegan-zoo detect IMAGE... --out DIR
    posegan-zoo evaluate DATA [--preset P] [--all | --holdout-fraction F] [--clips A,B]
                         [--max-pairs-per-clip N] [--gallery N] [--no-perceptual] --out DIR
    posegan-zoo presets
    posegan-zoo download HANDLE [--revision R] [--cache-dir DIR]
    posegan-zoo convert CHECKPOINT.h5 --out FOLDER
    posegan-zoo train DATA --out RUN [--steps N ...] [--config FILE]
    posegan-zoo finetune DATA --preset GENERATOR --out RUN [...]
    posegan-zoo prepare VIDEO_OR_FOLDER... --out DATASET [--every N] [--max-frames M] [...]

Every `TrainingConfig` field is a flag (`--batch-size`, `--adversarial bce`, ...); a JSON or
TOML `--config` file gives defaults that flags override. A run folder that already holds
checkpoints resumes.
"""

import argparse
import dataclasses
import itertools
import json
import pathlib
import sys
import types

from posegan_zoo.errors import InvalidConfigError, InvalidPoseError, PoseGanZooError

_SKIP = {"data", "output", "init_from"}


def _flag_type(field):
    kinds = {int, float, str, bool}
    annotation = field.type
    if isinstance(annotation, types.UnionType):
        annotation = next(a for a in annotation.__args__ if a is not type(None))
    return annotation if annotation in kinds else str


def _add_training_flags(parser):
    from posegan_zoo.training import TrainingConfig

    parser.add_argument("data", help="dataset folder in the paper's format (frames/, info/)")
    parser.add_argument("--out", dest="output", required=True, help="run folder")
    parser.add_argument("--config", help="JSON or TOML file of TrainingConfig fields")
    for field in dataclasses.fields(TrainingConfig):
        if field.name in _SKIP:
            continue
        flag = "--" + field.name.replace("_", "-")
        kind = _flag_type(field)
        if kind is bool:
            parser.add_argument(
                flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None
            )
        else:
            parser.add_argument(
                flag, dest=field.name, type=kind, default=None, help=f"default: {field.default}"
            )


def _config_from_args(args, init_from=None):
    from posegan_zoo.training import TrainingConfig

    names = {f.name for f in dataclasses.fields(TrainingConfig)}
    values = {k: v for k, v in vars(args).items() if k in names and v is not None}
    if init_from is not None:
        values["init_from"] = init_from
    if args.config:
        return TrainingConfig.from_file(args.config, **values)
    return TrainingConfig(**values)


def _add_hub_flags(parser):
    parser.add_argument("--revision", help="Hub revision (branch, tag or commit)")
    parser.add_argument("--cache-dir", help="Hugging Face cache folder")
    parser.add_argument("--offline", action="store_true", help="use the local cache only")


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
    regenerate.add_argument(
        "--preset", default=DEFAULT_PRESET, help=f"preset handle (default: {DEFAULT_PRESET})"
    )
    regenerate.add_argument("--out", required=True, help="output folder")
    _add_hub_flags(regenerate)

    evaluate = commands.add_parser(
        "evaluate",
        help="SSIM, masked SSIM, perceptual distance and the way back over frame pairs of a "
        "dataset, beside the copy-source and warp-only baselines",
    )
    evaluate.add_argument("data", help="dataset folder in the paper's format")
    evaluate.add_argument(
        "--preset",
        default=DEFAULT_PRESET,
        help=f"preset name, folder or hf:// handle (default: {DEFAULT_PRESET})",
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
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the pair draw")
    evaluate.add_argument(
        "--gallery", type=int, default=8, help="pairs shown in gallery.png (0: none; default 8)"
    )
    evaluate.add_argument(
        "--no-perceptual",
        dest="perceptual",
        action="store_false",
        help="skip the MobileNetV2 perceptual distance",
    )
    evaluate.add_argument("--batch-size", type=int, default=8)
    evaluate.add_argument(
        "--out", required=True, help="folder for evaluation.json, evaluation.md, gallery.png"
    )
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

    commands.add_parser("presets", help="list the embedded presets")

    download = commands.add_parser("download", help="fetch a preset into the local cache")
    download.add_argument("handle")
    _add_hub_flags(download)

    convert = commands.add_parser(
        "convert", help="the authors' Keras 2 generator checkpoint -> a preset folder"
    )
    convert.add_argument("checkpoint")
    convert.add_argument("--out", required=True, help="preset folder to write")
    convert.add_argument("--image-size", type=int, default=256)
    train = commands.add_parser("train", help="train a generator on a dataset")
    _add_training_flags(train)
    finetune = commands.add_parser("finetune", help="fine-tune a trained generator")
    _add_training_flags(finetune)
    finetune.add_argument(
        "--preset", required=True, help="the generator to start from: a .keras file or a run folder"
    )

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
    from posegan_zoo.training import run_training

    init_from = args.preset if args.command == "finetune" else None
    config = _config_from_args(args, init_from=init_from)
    summary = run_training(config)
    record = {
        "steps": summary["steps"],
        "evaluation": summary["evaluation"],
        "model": f"{config.output}/model/generator.keras",
    }
    print(json.dumps(record, indent=2))


def _regenerate(args):
    from posegan_zoo.regenerator import PoseRegenerator
    from posegan_zoo.reporting import write_regeneration

    _check_output_folder(args.out)
    if args.target_pose is None and args.target_image is None:
        raise InvalidPoseError("give --target-pose (keypoint JSON) or --target-image (a photo).")
    regenerator = PoseRegenerator.from_preset(args.preset, **_hub_kwargs(args))
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
    written = write_regeneration(result, args.out)
    record = {
        "preset": args.preset,
        "people_found": result.people_found,
        "metrics": result.metrics,
        "fake_metrics": result.fake_metrics,
        "files": [str(path) for path in written],
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
    "detect": _detect,
    "evaluate": _evaluate,
    "presets": _presets,
    "download": _download,
    "convert": _convert,
    "prepare": _prepare,
}


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        _COMMANDS[args.command](args)
    except PoseGanZooError as error:
        print(f"posegan-zoo {args.command}: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
