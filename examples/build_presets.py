"""Builds the embedded presets: `warp-only`, and `posewarp-tennis` trained on the tennis clip.

Both are measured on the same held-out pairs of the clip (targets among its last quarter of
frames, never trained on), with the identity baseline beside them; the numbers go into each
preset's metadata. `posegan_zoo.presets.defaults.DEFAULT_PRESET` must name the one with the
best held-out SSIM (a test checks it against the metadata). `warp-only` has no weights and
is built at `--warp-only-size` (the paper's 256); `--only warp-only` rebuilds it alone,
without training.

    python examples/build_presets.py --out src/posegan_zoo/presets/embedded
    python examples/build_presets.py --out src/posegan_zoo/presets/embedded --only warp-only
    python examples/build_presets.py --out /tmp/presets --size 64 --width 4 --steps 2  # quick
"""

import argparse
import json
import pathlib

from posegan_zoo.data import holdout_split, read_posewarp_dataset
from posegan_zoo.evaluation import evaluate_generator
from posegan_zoo.models import WarpOnlyGenerator
from posegan_zoo.presets import read_metadata, render_model_card, save_preset
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

The metrics above are the fallback's: the held-out tennis pairs have hand-labelled joints
and no person masks.
""",
}
TRAINING_DATA = (
    "PoseWarp authors' tennis clip 'Flavia Pennetta in 4k' (8 frames, MIT licence): "
    "frames 1-6 for training, pairs with targets in frames 7-8 held out"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--size", type=int, default=128, help="posewarp-tennis crop size")
    parser.add_argument("--warp-only-size", type=int, default=256, help="warp-only crop size")
    parser.add_argument(
        "--only", choices=PRESETS, default=None, help="build this preset alone (default: both)"
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
    args = parser.parse_args()

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
    rows = []
    for name in [args.only] if args.only else PRESETS:
        generator, description, training = builders[name]()
        results = evaluate_generator(generator, clips, pairs)
        metadata = {
            "description": description,
            "license": "MIT",
            # Fake vs real target crops at the preset's size, mean over the held-out pairs.
            "metrics": {
                **{f"held_out_{key}": value for key, value in results["model"].items()},
                **{f"identity_{key}": value for key, value in results["identity"].items()},
                "held_out_pairs": len(pairs),
            },
        }
        if training:
            metadata.update(
                training_data=TRAINING_DATA, training_steps=training["steps"], training=training
            )
        folder = save_preset(generator, args.out / name, metadata=metadata)
        if name in MODEL_CARD_NOTES:
            card = render_model_card(read_metadata(folder), name) + MODEL_CARD_NOTES[name]
            (folder / "README.md").write_text(card)
        size = "x".join(str(s) for s in generator.image_size)
        rows += [
            {"preset": name, "size": size, **results["model"]},
            {"preset": f"identity (source image) at {size}", "size": size, **results["identity"]},
        ]
    print(format_table(rows))
    if not args.only:
        best = max(rows[::2], key=lambda row: row["ssim"])
        print(json.dumps({"best_held_out_ssim": best["preset"]}))


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
