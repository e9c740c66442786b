"""Train-step time of CycleGAN: posegan_zoo (Keras 3 / TensorFlow) vs an equivalent PyTorch.

Usage (PyTorch must not be a dependency of the package: use a separate environment):

    python3 -m venv /tmp/benchvenv_cg
    /tmp/benchvenv_cg/bin/pip install torch==2.13.0 && /tmp/benchvenv_cg/bin/pip install -e .
    /tmp/benchvenv_cg/bin/python benchmarks/bench_cyclegan.py [--size 128] [--blocks 6]
        [--width 64] [--batch 1] [--repeats 10] [--threads N] [--jit]

One training step of the paper's recipe on a fixed pair of batches: the generators' update
(two adversarial LSGAN terms, two cycle L1 terms of weight 10, two identity L1 terms of
weight 5; Adam(2e-4, 0.5) over both generators), then the discriminators' update on
images from 50-image history pools (Adam over both discriminators). Networks: the ResNet
generator with `--blocks` residual blocks and the 70 x 70 PatchGAN, instance
normalization without affine parameters, reflection padding, base width `--width`.

The PyTorch side is this file's own implementation of the same networks and step (the
authors' layer geometry); before timing, the Keras weights are copied into it and both
generators' and discriminators' outputs are compared, so that the two time the same
function. Both run on the CPU with the same number of threads (`--threads`, default:
all cores): TensorFlow's intra-op pool has that many threads and its inter-op pool one
(PyTorch also runs one op at a time); PyTorch uses `torch.set_num_threads`.

Keras runs `trainer.train_on_batch` (the step is a `tf.function`; with `--jit` also
compiled by XLA); PyTorch runs eagerly. After `--warmup` steps each (the Keras trace
included), the two are timed in alternation, `--repeats` steps each, so that a busy
machine slows both alike. The table gives the median milliseconds per step and the ratio
Keras / PyTorch (below 1: Keras is faster), and the same for the process's CPU time per
step (`time.process_time`, all threads): on a machine that other jobs share, wall time
also counts waiting for a core, CPU time hardly (with one thread it is the work itself;
with several it also counts threads spinning while they wait for work).
"""

import argparse
import os
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--blocks", type=int, default=6)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--jit", action="store_true", help="also time Keras with XLA")
    return parser.parse_args(argv)


def import_torch():
    try:
        import torch
    except ImportError:
        sys.exit(
            "PyTorch is not installed in this environment, and this benchmark compares "
            "against it. It is not a dependency of posegan_zoo: create a separate "
            "environment, e.g.\n  python3 -m venv /tmp/benchvenv_cg\n"
            "  /tmp/benchvenv_cg/bin/pip install torch==2.13.0\n"
            "  /tmp/benchvenv_cg/bin/pip install -e .\n"
            "and run this script with /tmp/benchvenv_cg/bin/python."
        )
    return torch


# --------------------------------------------------------------------------- PyTorch


def torch_networks(torch, channels=3):
    nn = torch.nn

    class ResidualBlock(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.body = nn.Sequential(
                nn.ReflectionPad2d(1),
                nn.Conv2d(width, width, 3),
                nn.InstanceNorm2d(width),
                nn.ReLU(True),
                nn.ReflectionPad2d(1),
                nn.Conv2d(width, width, 3),
                nn.InstanceNorm2d(width),
            )

        def forward(self, x):
            return x + self.body(x)

    def generator(blocks, width):
        layers = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(channels, width, 7),
            nn.InstanceNorm2d(width),
            nn.ReLU(True),
        ]
        for i in range(2):
            layers += [
                nn.Conv2d(width * 2**i, width * 2 ** (i + 1), 3, stride=2, padding=1),
                nn.InstanceNorm2d(width * 2 ** (i + 1)),
                nn.ReLU(True),
            ]
        layers += [ResidualBlock(width * 4) for _ in range(blocks)]
        for i in range(2):
            layers += [
                nn.ConvTranspose2d(
                    width * 2 ** (2 - i),
                    width * 2 ** (1 - i),
                    3,
                    stride=2,
                    padding=1,
                    output_padding=1,
                ),
                nn.InstanceNorm2d(width * 2 ** (1 - i)),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, channels, 7), nn.Tanh()]
        return nn.Sequential(*layers)

    def discriminator(width):
        layers, previous = [], channels
        for i, (multiple, stride) in enumerate(((1, 2), (2, 2), (4, 2), (8, 1))):
            layers.append(nn.Conv2d(previous, width * multiple, 4, stride=stride, padding=1))
            if i > 0:
                layers.append(nn.InstanceNorm2d(width * multiple))
            layers.append(nn.LeakyReLU(0.2, True))
            previous = width * multiple
        layers.append(nn.Conv2d(previous, 1, 4, padding=1))
        return nn.Sequential(*layers)

    return generator, discriminator


class TorchPool:
    """The 50-image history, one image at a time (the same semantics as ImageHistoryPool)."""

    def __init__(self, torch, size=50, seed=0):
        self.torch, self.size, self.images = torch, size, []
        self.rng = np.random.default_rng(seed)

    def __call__(self, images):
        out = []
        for image in images:
            image = image.detach().unsqueeze(0)
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif self.rng.random() < 0.5:
                slot = self.rng.integers(self.size)
                out.append(self.images[slot].clone())
                self.images[slot] = image
            else:
                out.append(image)
        return self.torch.cat(out, 0)


class TorchCycleGAN:
    def __init__(self, torch, generator, discriminator, blocks, width):
        self.torch = torch
        self.g_ab, self.g_ba = generator(blocks, width), generator(blocks, width)
        self.d_a, self.d_b = discriminator(width), discriminator(width)
        parameters = list(self.g_ab.parameters()) + list(self.g_ba.parameters())
        self.g_optimizer = torch.optim.Adam(parameters, lr=2e-4, betas=(0.5, 0.999))
        parameters = list(self.d_a.parameters()) + list(self.d_b.parameters())
        self.d_optimizer = torch.optim.Adam(parameters, lr=2e-4, betas=(0.5, 0.999))
        self.pool_a, self.pool_b = TorchPool(torch), TorchPool(torch, seed=1)

    def step(self, a, b):
        torch = self.torch
        l1, mse = torch.nn.functional.l1_loss, torch.nn.functional.mse_loss
        for d in (self.d_a, self.d_b):
            d.requires_grad_(False)
        self.g_optimizer.zero_grad(set_to_none=True)
        fake_b, fake_a = self.g_ab(a), self.g_ba(b)
        scores_b, scores_a = self.d_b(fake_b), self.d_a(fake_a)
        loss = mse(scores_b, torch.ones_like(scores_b)) + mse(scores_a, torch.ones_like(scores_a))
        loss = loss + 10.0 * (l1(self.g_ba(fake_b), a) + l1(self.g_ab(fake_a), b))
        loss = loss + 5.0 * (l1(self.g_ba(a), a) + l1(self.g_ab(b), b))
        loss.backward()
        self.g_optimizer.step()
        for d in (self.d_a, self.d_b):
            d.requires_grad_(True)
        self.d_optimizer.zero_grad(set_to_none=True)
        d_loss = 0.0
        for d, real, fake in (
            (self.d_a, a, self.pool_a(fake_a)),
            (self.d_b, b, self.pool_b(fake_b)),
        ):
            real_scores, fake_scores = d(real), d(fake)
            d_loss = d_loss + 0.5 * (
                mse(real_scores, torch.ones_like(real_scores))
                + mse(fake_scores, torch.zeros_like(fake_scores))
            )
        d_loss.backward()
        self.d_optimizer.step()
        return float(loss.detach()), float(d_loss.detach())


def copy_weights(torch, keras_model, torch_model):
    """Copies a Keras CycleGAN network's conv kernels and biases into its PyTorch twin."""
    kernels = [w for w in keras_model.weights if w.path.endswith("kernel")]
    biases = [w for w in keras_model.weights if w.path.endswith("bias")]
    convs = [
        m
        for m in torch_model.modules()
        if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)
    ]
    if not len(kernels) == len(biases) == len(convs):
        raise RuntimeError("the Keras and PyTorch networks do not have the same convs")
    with torch.no_grad():
        for kernel, bias, conv in zip(kernels, biases, convs, strict=True):
            # Conv2D (h, w, in, out) and Conv2DTranspose (h, w, out, in) -> PyTorch's
            # (out, in, h, w) and (in, out, h, w): the same axis permutation.
            value = np.transpose(kernel.numpy(), (3, 2, 0, 1))
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(value)))
            conv.bias.copy_(torch.from_numpy(bias.numpy()))


# --------------------------------------------------------------------------- timing


def main(argv=None):
    args = parse_args(argv)
    torch = import_torch()
    import keras
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)

    from posegan_zoo.models.cyclegan import (
        CycleGANTrainer,
        PatchDiscriminator,
        ResnetGenerator,
    )

    keras.utils.set_random_seed(0)
    torch.manual_seed(0)

    def keras_trainer(jit):
        def generator(name):
            return ResnetGenerator(
                args.size, num_blocks=args.blocks, base_width=args.width, name=name
            )

        def discriminator(name):
            return PatchDiscriminator(args.size, base_width=args.width, name=name)

        trainer = CycleGANTrainer(
            generator("g_ab"), generator("g_ba"), discriminator("d_a"), discriminator("d_b")
        )
        trainer.compile(jit_compile=jit)
        return trainer

    rng = np.random.default_rng(0)
    shape = (args.batch, args.size, args.size, 3)
    a_np = rng.uniform(-1, 1, shape).astype("float32")
    b_np = rng.uniform(-1, 1, shape).astype("float32")
    a_tf, b_tf = tf.constant(a_np), tf.constant(b_np)
    a_pt = torch.from_numpy(np.ascontiguousarray(a_np.transpose(0, 3, 1, 2)))
    b_pt = torch.from_numpy(np.ascontiguousarray(b_np.transpose(0, 3, 1, 2)))

    generator, discriminator = torch_networks(torch)
    reference = TorchCycleGAN(torch, generator, discriminator, args.blocks, args.width)
    trainers = {"Keras (tf.function)": keras_trainer(False)}
    if args.jit:
        trainers["Keras (tf.function, jit_compile=True)"] = keras_trainer(True)

    # The same function: Keras weights in the PyTorch networks give the same outputs.
    first = trainers["Keras (tf.function)"]
    pairs = (
        (first.generator_ab, reference.g_ab),
        (first.generator_ba, reference.g_ba),
        (first.discriminator_a, reference.d_a),
        (first.discriminator_b, reference.d_b),
    )
    differences = []
    for keras_model, torch_model in pairs:
        copy_weights(torch, keras_model, torch_model)
        with torch.no_grad():
            theirs = torch_model(a_pt).numpy().transpose(0, 2, 3, 1)
        ours = keras.ops.convert_to_numpy(keras_model(a_tf))
        differences.append(float(np.abs(ours - theirs).max()))

    steps = {name: (lambda t=t: t.train_on_batch(a_tf, b_tf)) for name, t in trainers.items()}
    steps["PyTorch (eager)"] = lambda: reference.step(a_pt, b_pt)
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    times = {name: [] for name in steps}
    cpu_times = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            start, cpu_start = time.perf_counter(), time.process_time()
            step()
            times[name].append(time.perf_counter() - start)
            cpu_times[name].append(time.process_time() - cpu_start)

    torch_ms = statistics.median(times["PyTorch (eager)"]) * 1e3
    print(
        f"CycleGAN train step, {args.size} x {args.size}, ResNet generator with "
        f"{args.blocks} blocks, base width {args.width}, PatchGAN, batch {args.batch}; "
        f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"threads: {args.threads} (TensorFlow intra-op {args.threads}, inter-op 1; "
        f"PyTorch {torch.get_num_threads()}); TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, PyTorch {torch.__version__}; median of "
        f"{args.repeats} steps after {args.warmup} warm-up steps."
    )
    print(
        "Same function check (Keras weights copied into PyTorch), max |difference| of "
        "G_AB, G_BA, D_A, D_B outputs: " + ", ".join(f"{d:.1e}" for d in differences)
    )
    print()
    torch_cpu = statistics.median(cpu_times["PyTorch (eager)"])
    print(
        "| implementation | ms / step (median) | min | max | Keras / PyTorch "
        "| CPU ms / step (median) | Keras / PyTorch (CPU) |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, values in times.items():
        ms = statistics.median(values) * 1e3
        cpu = statistics.median(cpu_times[name])
        print(
            f"| {name} | {ms:.0f} | {min(values) * 1e3:.0f} | {max(values) * 1e3:.0f} | "
            f"{ms / torch_ms:.2f} | {cpu * 1e3:.0f} | {cpu / torch_cpu:.2f} |"
        )


if __name__ == "__main__":
    main()
