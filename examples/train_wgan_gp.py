"""Trains a WGAN-GP on a folder of images, or on synthetic discs, writing sample grids.

Usage:
    python examples/train_wgan_gp.py [--data FOLDER] [--size 64] [--steps 2000] [--out DIR]

Each generator step makes `--critic-steps` critic updates (5, the paper's), each on its
own `--batch-size` real images: the dataset yields batches of critic_steps x batch_size
images, which `WGANGPTrainer` splits. Without `--data` it trains on `disc_images`. Writes
`OUT/samples/step-<step>.png` every `--sample-every` steps and the trainer as
`OUT/wgan_gp.keras`. A quick check: `--size 32 --steps 4 --width 4`.
"""

import argparse
import math
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras

from posegan_zoo.models.dcgan import (
    DCGANGenerator,
    GeneratedImagesCallback,
    disc_images,
    image_dataset,
    read_image_folder,
)
from posegan_zoo.models.wgan_gp import WGANGPCritic, WGANGPTrainer
from posegan_zoo.training import atomic_path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="folder of images (default: synthetic discs)")
    parser.add_argument("--size", type=int, default=64, help="image size: 32, 64 or 128")
    parser.add_argument("--steps", type=int, default=2000, help="generator updates")
    parser.add_argument("--out", default="runs/wgan_gp", help="output folder")
    parser.add_argument("--batch-size", type=int, default=64, help="images per critic update")
    parser.add_argument("--critic-steps", type=int, default=5)
    parser.add_argument("--width", type=int, default=64, help="base width of both networks")
    parser.add_argument("--latent-dim", type=int, default=128)
    parser.add_argument("--sample-every", type=int, default=200, help="steps between grids")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = pathlib.Path(args.out)
    keras.utils.set_random_seed(args.seed)
    batch = args.critic_steps * args.batch_size
    if args.data:
        images = read_image_folder(args.data, args.size)
        source = f"{len(images)} images from {args.data}"
    else:
        images = disc_images(max(1024, 4 * batch), args.size, seed=args.seed)
        source = f"{len(images)} synthetic disc images"
    dataset = image_dataset(images, batch, seed=args.seed)

    trainer = WGANGPTrainer(
        DCGANGenerator(args.latent_dim, args.size, base_width=args.width),
        WGANGPCritic(args.size, base_width=args.width),
        critic_steps=args.critic_steps,
        seed=args.seed,
    )
    trainer.compile()  # Adam(1e-4, beta_1=0, beta_2=0.9) for both networks, as in the paper
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

    path = out / "wgan_gp.keras"
    with atomic_path(path) as tmp:
        trainer.save(tmp)
    metrics = ", ".join(f"{name} {values[-1]:.3f}" for name, values in history.items())
    print(f"trained on {source} for {int(trainer.step_counter.numpy())} steps: {metrics}")
    print(f"sample grids: {len(samples.paths)} in {out / 'samples'}; trainer: {path}")


if __name__ == "__main__":
    main()
