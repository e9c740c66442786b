"""Builds the embedded presets: `warp-only`, and `posewarp-tennis` trained on the tennis clip.

Both are measured on the same held-out pairs of the clip (targets among its last quarter of
frames, never trained on), with the identity baseline beside them; the numbers go into each
preset's metadata. `posegan_zoo.presets.defaults.DEFAULT_PRESET` must name the one with the
best held-out SSIM (a test checks it against the metadata).

    python examples/build_presets.py --out src/posegan_zoo/presets/embedded
    python examples/build_presets.py --out /tmp/presets --size 64 --width 4 --steps 2  # quick
"""

import argparse
import json
import pathlib

from posegan_zoo.data import holdout_split, read_posewarp_dataset
from posegan_zoo.models import WarpOnlyGenerator
from posegan_zoo.presets import save_preset
from posegan_zoo.reporting import evaluate_generator, format_table
from posegan_zoo.training import TrainingConfig, load_generator, run_training

DATA = pathlib.Path(__file__).parent / "data" / "posewarp_tennis"
TRAINING_DATA = (
    "PoseWarp authors' tennis clip 'Flavia Pennetta in 4k' (8 frames, MIT licence): "
    "frames 1-6 for training, pairs with targets in frames 7-8 held out"
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--size", type=int, default=128)
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
    learned = load_generator(run)
    baseline = WarpOnlyGenerator(args.size)

    rows = []
    for name, generator, description, training in [
        (
            "warp-only",
            baseline,
            "Learning-free baseline: prior masks, limb warps and a blur-filled background; "
            "works on any image.",
            None,
        ),
        (
            "posewarp-tennis",
            learned,
            f"PoseWarp generator (every conv {args.width} wide) trained on the bundled tennis "
            "clip; a demonstration of the recipe, not a general model.",
            {
                "data": TRAINING_DATA,
                "steps": summary["steps"],
                "batch_size": 4,
                "loss": "L1 (stage 1; the perceptual loss needs ImageNet VGG19 weights)",
                "optimizer": f"Adam {args.learning_rate}",
                "augmentation": "the paper's",
            },
        ),
    ]:
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
                training_data=TRAINING_DATA, training_steps=summary["steps"], training=training
            )
        save_preset(generator, args.out / name, metadata=metadata)
        rows += [{"preset": name, **results["model"]}]
    rows.append({"preset": "identity (source image)", **results["identity"]})
    print(format_table(rows))
    best = max(rows[:-1], key=lambda row: row["ssim"])
    print(json.dumps({"best_held_out_ssim": best["preset"]}))


if __name__ == "__main__":
    main()
