"""Trains a DCGAN on a folder of images, or on synthetic discs, writing sample grids.

Usage:
    python examples/train_dcgan.py [--data FOLDER] [--size 64] [--steps 2000] [--out DIR]

Without `--data` it trains on `disc_images` (one bright disc on a dark background), a
distribution small enough to learn in a few hundred steps on a CPU. Writes
`OUT/samples/step-<step>.png` (16 images from fixed latent vectors) every
`--sample-every` steps and the trainer, optimizers included, as `OUT/dcgan.keras`
(resume with `keras.saving.load_model`). A quick check: `--size 32 --steps 4 --width 4`.
"""

import argparse
import math
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras

from posegan_zoo.models.dcgan import (
    DCGANDiscriminator,
    DCGANGenerator,
    DCGANTrainer,
    GeneratedImagesCallback,
    disc_images,
    image_dataset,
    read_image_folder,
)
from posegan_zoo.training import atomic_path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="folder of images (default: synthetic discs)")
    parser.add_argument("--size", type=int, default=64, help="image size: 32, 64 or 128")
    parser.add_argument("--steps", type=int, default=2000, help="generator updates")
    parser.add_argument("--out", default="runs/dcgan", help="output folder")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--width", type=int, default=64, help="base width of both networks")
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--sample-every", type=int, default=200, help="steps between grids")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = pathlib.Path(args.out)
    keras.utils.set_random_seed(args.seed)
    if args.data:
        images = read_image_folder(args.data, args.size)
        source = f"{len(images)} images from {args.data}"
    else:
        images = disc_images(max(1024, 4 * args.batch_size), args.size, seed=args.seed)
        source = f"{len(images)} synthetic disc images"
    dataset = image_dataset(images, args.batch_size, seed=args.seed)

    trainer = DCGANTrainer(
        DCGANGenerator(args.latent_dim, args.size, base_width=args.width),
        DCGANDiscriminator(args.size, base_width=args.width),
        seed=args.seed,
    )
    trainer.compile()  # Adam(2e-4, beta_1=0.5) for both networks, as in the paper
    steps_per_epoch = max(1, min(args.sample_every, args.steps))
    samples = GeneratedImagesCallback(out / "samples", num_images=16, seed=args.seed)
    history = trainer.fit(
        dataset,
        epochs=math.ceil(args.steps / steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        callbacks=[samples],
        shuffle=False,  # the dataset shuffles
        verbose=2,
    ).history

    path = out / "dcgan.keras"
    with atomic_path(path) as tmp:
        trainer.save(tmp)
    metrics = ", ".join(f"{name} {values[-1]:.3f}" for name, values in history.items())
    print(f"trained on {source} for {int(trainer.step_counter.numpy())} steps: {metrics}")
    print(f"sample grids: {len(samples.paths)} in {out / 'samples'}; trainer: {path}")


if __name__ == "__main__":
    main()
