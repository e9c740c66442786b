"""Builds the embedded presets: `warp-only`, and `posewarp-tennis` trained on the tennis clip.

Both are measured on the same held-out pairs of the clip (targets among its last quarter of
frames, never trained on), with the identity baseline beside them, and with `--unseen` on
a dataset of people neither ever saw (`examples/build_video_datasets.py` writes
`open/heldout`, whole clips kept out of every training set): every ordered pair, the fake
and the way back, beside copying the source and `warp-only`. The numbers go into each
preset's metadata (`held_out_*`, `unseen_*`). `posegan_zoo.presets.defaults.DEFAULT_PRESET`
must name the preset with the best person-masked SSIM of the fake on the unseen people (a
test checks it against the metadata). `warp-only` has no weights and is built at
`--warp-only-size` (the paper's 256); `--only warp-only` rebuilds it alone, without
training, and `--remeasure` measures the presets already in `--out` again, weights and
training record untouched.

    python examples/build_presets.py --out src/posegan_zoo/presets/embedded \
        --unseen datasets/open/heldout
    python examples/build_presets.py --out src/posegan_zoo/presets/embedded --remeasure \
        --unseen datasets/open/heldout
    python examples/build_presets.py --out /tmp/presets --size 64 --width 4 --steps 2  # quick
"""

import argparse
import json
import pathlib

from posegan_zoo.data import holdout_split, read_posewarp_dataset
from posegan_zoo.evaluation import evaluate_generator, evaluate_preset
from posegan_zoo.models import WarpOnlyGenerator
from posegan_zoo.presets import load_preset, read_metadata, render_model_card, save_preset
from posegan_zoo.reporting import format_table
from posegan_zoo.training import TrainingConfig, load_generator, run_training

DATA = pathlib.Path(__file__).parent / "data" / "posewarp_tennis"
PRESETS = ("warp-only", "posewarp-tennis")
WARP_ONLY_DESCRIPTION = (
    "Learning-free baseline: limb layers of the person (from the detector's person mask, "
    "or the pose prior without one), limb warps and an inpainted background; works on any "
    "image."
)
# Appended to the generated model card of a preset.
MODEL_CARD_NOTES = {
    "warp-only": """
## How it works

No weights: the source is split into ten limb layers and the background, each limb layer
is moved to the target pose by its least-squares similarity transform, and the moved
limbs are laid over the source background, whose hole (where the person stood) is
inpainted by `posegan_zoo.layers.Inpaint` (push-pull pyramid, then masked diffusion).

With the input `"source_mask"` (the person's segmentation at crop size, which
`PoseRegenerator` passes whenever it detects the source person), each limb layer is the
limb's part of the real silhouette and the hole is that silhouette, slightly dilated.
Without it (poses given as joints, datasets without masks) the layers are the Gaussian
limb prior and the hole is where the prior's background is below 0.9, so part of the
source person can remain around the new one.

The `held_out_*` metrics are the fallback's: the held-out tennis pairs have hand-labelled
joints and no person masks. The `unseen_*` ones use the detector's masks of the unseen
clips.
""",
    "posewarp-tennis": """
## What the figures say

`held_out_*` are pairs of the clip it trained on: the same player, court and camera. On
people it never saw (`unseen_*`) it does worse than copying the source image: it has only
ever seen six frames of one person and paints her over whoever it is given. Use it to see
the training recipe work, not as a model; the default preset is the one that measures
best on unseen people.
""",
}
TRAINING_DATA = (
    "PoseWarp authors' tennis clip 'Flavia Pennetta in 4k' (8 frames, MIT licence): "
    "frames 1-6 for training, pairs with targets in frames 7-8 held out"
)
# What `--unseen` records of `posegan-zoo evaluate`'s overall figures, by method.
UNSEEN_METRICS = {
    "model": ("ssim", "masked_ssim", "recovered_ssim", "recovered_masked_ssim", "perceptual"),
    "copy-source": ("masked_ssim",),
    "warp-only": ("masked_ssim", "recovered_masked_ssim"),
}
UNSEEN_PREFIXES = {
    "model": "unseen",
    "copy-source": "unseen_identity",
    "warp-only": "unseen_warp_only",
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--size", type=int, default=128, help="posewarp-tennis crop size")
    parser.add_argument("--warp-only-size", type=int, default=256, help="warp-only crop size")
    parser.add_argument(
        "--only",
        default=None,
        help=f"build this preset alone, one of {', '.join(PRESETS)} (default: both); with "
        "--remeasure any preset folder of --out",
    )
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--learning-rate", type=float, default=5e-4)
    parser.add_argument(
        "--run",
        type=pathlib.Path,
        default=None,
        help="training run folder (reused if it holds a finished run)",
    )
    parser.add_argument(
        "--unseen",
        type=pathlib.Path,
        default=None,
        help="dataset of people no preset trained on (open/heldout of build_video_datasets.py)",
    )
    parser.add_argument("--unseen-pairs-per-clip", type=int, default=16)
    parser.add_argument(
        "--remeasure",
        action="store_true",
        help="measure the presets already in --out again (weights and training kept)",
    )
    args = parser.parse_args()
    if args.only and not args.remeasure and args.only not in PRESETS:
        parser.error(f"--only {args.only}: builds one of {', '.join(PRESETS)}")

    clips = read_posewarp_dataset(DATA)
    _, pairs = holdout_split(clips)
    builders = {
        "warp-only": lambda: (
            WarpOnlyGenerator(args.warp_only_size),
            WARP_ONLY_DESCRIPTION,
            None,
        ),
        "posewarp-tennis": lambda: train_posewarp(args),
    }
    names = [args.only] if args.only else list(PRESETS)
    if args.remeasure and not args.only:  # every preset folder there, trained here or not
        names = sorted(path.parent.name for path in args.out.glob("*/metadata.json"))
    rows, unseen = [], {}
    for name in names:
        if args.remeasure:
            generator, kept = existing_preset(args.out / name)
        else:
            generator, description, training = builders[name]()
            kept = {"description": description, "license": "MIT"}
            if training:
                kept.update(
                    training_data=TRAINING_DATA, training_steps=training["steps"], training=training
                )
        results = evaluate_generator(generator, clips, pairs)
        metadata = {
            **kept,
            # Fake vs real target crops at the preset's size, mean over the held-out pairs.
            "metrics": {
                **{f"held_out_{key}": value for key, value in results["model"].items()},
                **{f"identity_{key}": value for key, value in results["identity"].items()},
                "held_out_pairs": len(pairs),
            },
        }
        folder = save_preset(generator, args.out / name, metadata=metadata)
        if args.unseen is not None:
            metadata["metrics"].update(measure_unseen(folder, args))
            metadata["evaluation"] = {
                "data": f"{args.unseen.name} (people no preset trained on)",
                "pairs": metadata["metrics"]["unseen_pairs"],
                "selection": f"every ordered pair, at most {args.unseen_pairs_per_clip} a clip",
                "held_out": True,
            }
            unseen[name] = metadata["metrics"]["unseen_masked_ssim"]
            folder = save_preset(generator, folder, metadata=metadata)
        if name in MODEL_CARD_NOTES:
            card = render_model_card(read_metadata(folder), name) + MODEL_CARD_NOTES[name]
            (folder / "README.md").write_text(card)
        size = "x".join(str(s) for s in generator.image_size)
        rows += [
            {"preset": name, "size": size, **results["model"]},
            {"preset": f"identity (source image) at {size}", "size": size, **results["identity"]},
        ]
    print(format_table(rows))
    if unseen:
        print(json.dumps({"best_unseen_masked_ssim": max(unseen, key=unseen.get)}))


def existing_preset(folder):
    """A preset of `--out` as it is: its generator, and the metadata that stays (description,
    licence, training record)."""
    metadata = read_metadata(folder)
    kept = ("description", "license", "training_data", "training_steps", "training")
    return load_preset(folder), {key: metadata[key] for key in kept if metadata.get(key)}


def measure_unseen(folder, args):
    """`unseen_*` metrics of the preset in `folder` on `--unseen`, beside both baselines."""
    evaluation = evaluate_preset(
        args.unseen,
        folder,
        holdout_fraction=None,
        max_pairs_per_clip=args.unseen_pairs_per_clip,
        seed=0,
        gallery=0,
    )
    overall = evaluation.summary()
    metrics = {"unseen_pairs": len(evaluation.pairs)}
    for method, names in UNSEEN_METRICS.items():
        for metric in names:
            value = overall[method][metric]
            if value is not None:
                metrics[f"{UNSEEN_PREFIXES[method]}_{metric}"] = float(value)
    return metrics


def train_posewarp(args):
    """Trains the posewarp-tennis generator; returns it, its description and its record."""
    run = args.run or args.out.parent / f"{args.out.name}-training-run"
    config = TrainingConfig(
        data=str(DATA),
        output=str(run),
        image_size=args.size,
        width=args.width,
        steps=args.steps,
        steps_per_epoch=min(200, args.steps),
        batch_size=4,
        learning_rate=args.learning_rate,
        reconstruction_loss="l1",
        seed=0,
    )
    summary = run_training(config, verbose=0)
    description = (
        f"PoseWarp generator (every conv {args.width} wide) trained on the bundled tennis "
        "clip; a demonstration of the recipe, not a general model."
    )
    training = {
        "data": TRAINING_DATA,
        "steps": summary["steps"],
        "batch_size": 4,
        "loss": "L1 (stage 1; the perceptual loss needs ImageNet VGG19 weights)",
        "optimizer": f"Adam {args.learning_rate}",
        "augmentation": "the paper's",
    }
    return load_generator(run), description, training


if __name__ == "__main__":
    main()
