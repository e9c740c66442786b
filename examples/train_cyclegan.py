"""Trains CycleGAN on two folders of unpaired images (or a synthetic pair of domains).

Usage:
    python examples/train_cyclegan.py --out runs/cyclegan                  # synthetic
    python examples/train_cyclegan.py --folder-a horses --folder-b zebras --out runs/h2z

Without folders it draws a synthetic pair of domains into OUT/synthetic: the same kind of
random shapes in red on black (A) and in green on black (B), so that the translation to
learn is a change of colour. Every epoch of `--steps-per-epoch` steps it writes a
translation grid to OUT/samples (real A | A->B | A->B->A | real B | B->A | B->A->B) and a
checkpoint to OUT/checkpoints; running the same command again resumes from the newest
checkpoint. The learning rate follows the paper: constant for the first half of
`--steps`, then linearly down to zero. The schedule is saved with the checkpoints, so a
resumed run keeps the `--steps` it started with (more steps would train at rate zero).
"""

import argparse
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
from PIL import Image

from posegan_zoo.models.cyclegan import (
    CycleGANTrainer,
    LinearDecaySchedule,
    PatchDiscriminator,
    ResnetGenerator,
    TranslationGridCallback,
    unpaired_image_dataset,
)
from posegan_zoo.training import (
    CheckpointCallback,
    latest_checkpoint,
    load_checkpoint,
)


def draw_shapes(count, size, channel, seed):
    """`count` uint8 images of 1 to 3 random discs and boxes in one pure colour on black."""
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[:size, :size]
    images = np.zeros((count, size, size, 3), np.uint8)
    for image in images:
        mask = np.zeros((size, size), bool)
        for _ in range(rng.integers(1, 4)):
            centre_y, centre_x = rng.uniform(0.15 * size, 0.85 * size, 2)
            radius = rng.uniform(0.1, 0.25) * size
            if rng.random() < 0.5:
                mask |= (rows - centre_y) ** 2 + (columns - centre_x) ** 2 < radius**2
            else:
                aspect = rng.uniform(0.5, 1.0)
                mask |= (abs(rows - centre_y) < radius) & (
                    abs(columns - centre_x) < radius * aspect
                )
        image[mask, channel] = 255
    return images


def synthetic_folders(root, size, count=64, seed=0):
    """Writes the two synthetic domains as PNG files; returns the two folders."""
    folders = []
    for domain, channel in (("a", 0), ("b", 1)):
        folder = pathlib.Path(root) / domain
        folder.mkdir(parents=True, exist_ok=True)
        for index, image in enumerate(draw_shapes(count, size, channel, seed + channel)):
            path = folder / f"{index:04d}.png"
            if not path.exists():
                Image.fromarray(image).save(path)
        folders.append(folder)
    return folders


def build_trainer(args, steps_per_epoch):
    def generator(name):
        return ResnetGenerator(args.size, num_blocks=args.blocks, base_width=args.width, name=name)

    def discriminator(name):
        return PatchDiscriminator(args.size, base_width=args.width, name=name)

    trainer = CycleGANTrainer(
        generator("generator_ab"),
        generator("generator_ba"),
        discriminator("discriminator_a"),
        discriminator("discriminator_b"),
        pool_size=args.pool_size,
        pool_seed=args.seed,
    )
    half = max(args.steps // 2, 1)

    def optimizer():
        schedule = LinearDecaySchedule(args.learning_rate, half, max(args.steps - half, 1))
        return keras.optimizers.Adam(schedule, beta_1=0.5)

    trainer.compile(optimizer(), optimizer())
    return trainer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folder-a", help="images of domain A (default: synthetic)")
    parser.add_argument("--folder-b", help="images of domain B (default: synthetic)")
    parser.add_argument("--out", default="runs/cyclegan", help="output folder")
    parser.add_argument("--size", type=int, help="crop size, divisible by 8 (256; synthetic 32)")
    parser.add_argument("--steps", type=int, help="total training steps (synthetic: 400)")
    parser.add_argument("--steps-per-epoch", type=int, default=None)
    parser.add_argument("--batch-size", type=int, help="paper: 1 (synthetic: 4)")
    parser.add_argument("--blocks", type=int, help="6 below 256, else 9 (synthetic: 2)")
    parser.add_argument("--width", type=int, help="base width, paper: 64 (synthetic: 8)")
    parser.add_argument("--learning-rate", type=float, help="paper: 2e-4 (synthetic: 1e-3)")
    parser.add_argument("--pool-size", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if (args.folder_a is None) != (args.folder_b is None):
        parser.error("give both --folder-a and --folder-b, or neither (synthetic data)")
    synthetic = args.folder_a is None
    # The paper's settings for real folders; a small, fast setting for the synthetic pair.
    defaults = (
        {"size": 32, "steps": 400, "batch_size": 4, "blocks": 2, "width": 8}
        if synthetic
        else {"size": 256, "steps": 200_000, "batch_size": 1, "width": 64}
    )
    defaults["learning_rate"] = 1e-3 if synthetic else 2e-4
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.blocks is None:
        args.blocks = 9 if args.size >= 256 else 6
    out = pathlib.Path(args.out)
    keras.utils.set_random_seed(args.seed)
    if synthetic:
        folder_a, folder_b = synthetic_folders(out / "synthetic", args.size, seed=args.seed)
    else:
        folder_a, folder_b = args.folder_a, args.folder_b
    steps_per_epoch = args.steps_per_epoch or max(min(args.steps, 100), 1)
    epochs = -(-args.steps // steps_per_epoch)

    checkpoints = out / "checkpoints"
    latest = latest_checkpoint(checkpoints) if checkpoints.exists() else None
    if latest is not None:
        trainer = load_checkpoint(latest[0])
        print(f"resuming from {latest[0]} (step {latest[1]})")
    else:
        trainer = build_trainer(args, steps_per_epoch)
    step = int(trainer.step_counter.numpy())
    dataset = unpaired_image_dataset(
        folder_a,
        folder_b,
        args.size,
        batch_size=args.batch_size,
        seed=args.seed,
        start=step * args.batch_size,
    )
    samples_a, samples_b = next(
        iter(unpaired_image_dataset(folder_a, folder_b, args.size, 4, seed=1, flip=False))
    )
    grids = TranslationGridCallback(samples_a, samples_b, out / "samples")
    started = time.perf_counter()
    history = trainer.fit(
        dataset,
        epochs=epochs,
        initial_epoch=step // steps_per_epoch,
        steps_per_epoch=steps_per_epoch,
        callbacks=[grids, CheckpointCallback(checkpoints, keep=2)],
        verbose=2,
    ).history
    seconds = time.perf_counter() - started
    step = int(trainer.step_counter.numpy())
    if history:
        cycle = [a + b for a, b in zip(history["cycle_a"], history["cycle_b"], strict=True)]
        print(f"cycle L1 (A + B), first -> last epoch: {cycle[0]:.4f} -> {cycle[-1]:.4f}")
    print(f"trained to step {step} in {seconds:.1f} s; samples in {out / 'samples'}")


if __name__ == "__main__":
    main()
