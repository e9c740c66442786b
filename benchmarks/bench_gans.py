"""Train-step time of DCGAN and WGAN-GP: posegan_zoo (Keras) against PyTorch, on this CPU.

Usage:
    python benchmarks/bench_gans.py [--size 64] [--width 32] [--batch 16] [--critic-steps 5]
                                    [--steps 10] [--warmup 3] [--rounds 3] [--threads 2]

Both frameworks run the same configuration in the same run: a `DCGANGenerator` and a
`DCGANDiscriminator` / `WGANGPCritic` of base width `--width` at `--size` x `--size`, and
the same networks written in PyTorch below (same layers, widths, N(0, 0.02) weights,
batch-norm momentum and epsilon, layer norm as GroupNorm(1, C)). One step is what each
trainer's `train_step` does:

- DCGAN: one generator forward pass on `--batch` latent vectors; one discriminator update
  (BCE on the real and the generated batch, two forward passes); one generator update
  (non-saturating BCE through the updated discriminator). Adam(2e-4, 0.5, 0.999) both.
- WGAN-GP: `--critic-steps` critic updates, each on its own `--batch` real images and as
  many generated ones (one critic call on both, plus the gradient penalty at random
  interpolates, lambda 10), then one generator update on `--batch` latent vectors.
  Adam(1e-4, 0, 0.9) both. Keras gets batches of critic_steps x batch and splits them.

Keras runs `train_on_batch` on a batch already in memory (its traced train function),
as plain graphs and with XLA (`jit_compile=True`); PyTorch runs eagerly (its usual mode).
PyTorch's Adam uses Keras' epsilon (1e-7). Thread counts: TensorFlow intra-op =
`--threads`, inter-op = `--inter-op-threads` (default 1); torch `set_num_threads(--threads)`
and one inter-op thread. Each framework (and Keras mode) runs in its own worker process,
started together and driven in turn, so that one's idle threads never compete with the
other's work. Timing: `time.perf_counter` around each step; after `--warmup` steps of
each, `--rounds` rounds alternate `--steps` steps of every worker (so that load from other
processes hits all alike); each figure is the median over all timed steps. Run it on an
idle machine: it prints the load average and warns when other processes were busy.

torch is not a dependency of posegan_zoo: the script says so and leaves the PyTorch
column out when it is missing; install it beside posegan_zoo in a separate environment
(e.g. `python -m venv /tmp/benchvenv && /tmp/benchvenv/bin/pip install torch -e .`).
"""

import argparse
import os
import platform
import statistics
import sys
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=32, help="base width of all networks")
    parser.add_argument("--latent-dim", type=int, default=100)
    parser.add_argument("--batch", type=int, default=16, help="images per update")
    parser.add_argument("--critic-steps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10, help="timed steps per round")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--inter-op-threads", type=int, default=1)
    parser.add_argument(
        "--keras-modes",
        default="graph,xla",
        help="comma-separated: graph (jit_compile=False), xla (jit_compile=True)",
    )
    parser.add_argument("--models", default="dcgan,wgan-gp")
    parser.add_argument(
        "--wgan-xla",
        action="store_true",
        help="time WGAN-GP with XLA too (left out by default: on CPU it is many times "
        "slower than the plain graph, and its warm-up takes minutes)",
    )
    return parser.parse_args(argv)


# --------------------------------------------------------------------------- Keras


def keras_trainer(kind, args, mode):
    import keras

    from posegan_zoo.models.dcgan import DCGANDiscriminator, DCGANGenerator, DCGANTrainer
    from posegan_zoo.models.wgan_gp import WGANGPCritic, WGANGPTrainer

    generator = DCGANGenerator(args.latent_dim, args.size, base_width=args.width)
    if kind == "dcgan":
        trainer = DCGANTrainer(
            generator, DCGANDiscriminator(args.size, base_width=args.width), seed=0
        )
    else:
        trainer = WGANGPTrainer(
            generator,
            WGANGPCritic(args.size, base_width=args.width),
            critic_steps=args.critic_steps,
            seed=0,
        )
    trainer.compile(jit_compile=mode == "xla")
    keras.utils.set_random_seed(0)
    return trainer


def keras_step(trainer, batch):
    def step():
        trainer.train_on_batch(batch)

    return step


# --------------------------------------------------------------------------- PyTorch


def torch_models(torch, args, kind):
    """The PyTorch generator and discriminator / critic, laid out as posegan_zoo's."""
    nn = torch.nn
    count = args.size.bit_length() - 3
    generator_widths = [args.width * 2 ** (count - 1 - i) for i in range(count)]
    critic_widths = [args.width * 2**i for i in range(count)]

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.first = generator_widths[0]
            self.projection = nn.Linear(args.latent_dim, 16 * self.first, bias=False)
            layers = []
            widths = [*generator_widths, 3]
            for i in range(count):
                layers += [
                    nn.BatchNorm2d(widths[i], momentum=0.1, eps=1e-5),
                    nn.ReLU(),
                    nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=i == count - 1),
                ]
            layers.append(nn.Tanh())
            self.body = nn.Sequential(*layers)

        def forward(self, noise):
            return self.body(self.projection(noise).view(-1, self.first, 4, 4))

    def critic(normalization):
        layers = []
        channels = 3
        for i, width in enumerate(critic_widths):
            layers.append(nn.Conv2d(channels, width, 4, 2, 1, bias=i == 0))
            if i > 0:
                if normalization == "batch":
                    layers.append(nn.BatchNorm2d(width, momentum=0.1, eps=1e-5))
                else:
                    layers.append(nn.GroupNorm(1, width, eps=1e-5))
            layers.append(nn.LeakyReLU(0.2))
            channels = width
        layers += [nn.Flatten(), nn.Linear(16 * channels, 1)]
        return nn.Sequential(*layers)

    def initialize(module):
        if isinstance(module, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    generator = Generator()
    adversary = critic("batch" if kind == "dcgan" else "layer")
    generator.apply(initialize)
    adversary.apply(initialize)
    return generator, adversary


def torch_dcgan_step(torch, args, generator, discriminator, real):
    functional = torch.nn.functional
    optimizer_g = torch.optim.Adam(generator.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)
    optimizer_d = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999), eps=1e-7)

    def step():
        noise = torch.randn(real.shape[0], args.latent_dim)
        fake = generator(noise)
        # Discriminator: BCE on real -> 1 and fake -> 0, the mean of the two terms.
        optimizer_d.zero_grad(set_to_none=True)
        d_loss = 0.5 * (
            functional.softplus(-discriminator(real)).mean()
            + functional.softplus(discriminator(fake.detach())).mean()
        )
        d_loss.backward()
        optimizer_d.step()
        # Generator: non-saturating BCE through the updated discriminator.
        optimizer_g.zero_grad(set_to_none=True)
        discriminator.requires_grad_(False)
        g_loss = functional.softplus(-discriminator(fake)).mean()
        g_loss.backward()
        discriminator.requires_grad_(True)
        optimizer_g.step()

    return step


def torch_wgan_step(torch, args, generator, critic, real):
    optimizer_g = torch.optim.Adam(generator.parameters(), 1e-4, betas=(0.0, 0.9), eps=1e-7)
    optimizer_c = torch.optim.Adam(critic.parameters(), 1e-4, betas=(0.0, 0.9), eps=1e-7)
    steps = args.critic_steps

    def step():
        for i in range(steps):
            chunk = real[i::steps]
            count = chunk.shape[0]
            with torch.no_grad():
                fake = generator(torch.randn(count, args.latent_dim))
            optimizer_c.zero_grad(set_to_none=True)
            scores = critic(torch.cat([chunk, fake]))
            loss = scores[count:].mean() - scores[:count].mean()
            alpha = torch.rand(count, 1, 1, 1)
            mixed = (chunk + alpha * (fake - chunk)).requires_grad_(True)
            (grads,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
            norms = torch.sqrt(grads.square().sum(dim=(1, 2, 3)) + 1e-12)
            penalty = (norms - 1.0).square().mean()
            (loss + 10.0 * penalty).backward()
            optimizer_c.step()
        optimizer_g.zero_grad(set_to_none=True)
        critic.requires_grad_(False)
        g_loss = -critic(generator(torch.randn(chunk.shape[0], args.latent_dim))).mean()
        g_loss.backward()
        critic.requires_grad_(True)
        optimizer_g.step()

    return step


# --------------------------------------------------------------------------- workers


def worker(connection, framework, kind, args, images):
    """Builds one framework's trainer for `kind` and times its steps on request.

    Each framework runs in its own process, so that one's idle worker threads (which
    spin for a while after their last task) never compete with the other's work, and
    the PyTorch process never imports TensorFlow.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np

    if framework == "torch":
        import torch

        torch.set_num_threads(args.threads)
        torch.set_num_interop_threads(1)
        torch.manual_seed(0)
        real = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        generator, adversary = torch_models(torch, args, kind)
        make = torch_dcgan_step if kind == "dcgan" else torch_wgan_step
        step = make(torch, args, generator, adversary, real)
        info = {
            "version": f"PyTorch {torch.__version__}",
            "threads": f"torch {torch.get_num_threads()} (inter-op "
            f"{torch.get_num_interop_threads()})",
        }
    else:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
        import keras

        step = keras_step(keras_trainer(kind, args, framework), tf.constant(images))
        info = {
            "version": f"TensorFlow {tf.__version__}, Keras {keras.__version__}",
            "threads": f"TF intra-op {tf.config.threading.get_intra_op_parallelism_threads()}, "
            f"inter-op {tf.config.threading.get_inter_op_parallelism_threads()}",
        }
    connection.send(info)
    while True:
        count = connection.recv()
        if count is None:
            break
        times = []
        for _ in range(count):
            start = time.perf_counter()
            step()
            times.append(time.perf_counter() - start)
        connection.send(times)
    connection.close()


def synthetic_images(count, size, seed=0):
    """`count` images of a bright disc on a dark background, in [-1, 1] (numpy only).

    The same distribution as `posegan_zoo.models.dcgan.disc_images`, made here so that
    the main process and the PyTorch worker need not import TensorFlow.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    radii = rng.uniform(0.125, 0.3, count) * size
    centre_x, centre_y = rng.uniform(radii, size - radii), rng.uniform(radii, size - radii)
    ys, xs = np.mgrid[:size, :size] + 0.5
    inside = (xs[None] - centre_x[:, None, None]) ** 2 + (
        ys[None] - centre_y[:, None, None]
    ) ** 2 < radii[:, None, None] ** 2
    colours = np.asarray([[-0.9, -0.7, -0.8], [0.9, 0.4, -0.3]], np.float32)
    return colours[inside.astype(int)]


def torch_available():
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def main(argv=None):
    args = parse_args(argv)
    import multiprocessing

    frameworks = [mode.strip() for mode in args.keras_modes.split(",") if mode.strip()]
    if torch_available():
        frameworks.append("torch")
    else:
        print(
            "PyTorch is not installed in this environment, so the PyTorch column is left "
            "out. torch is not a dependency of posegan_zoo: for the comparison, make a "
            "separate virtual environment with `pip install torch` and `pip install -e .` "
            "and run this script with its python.",
            file=sys.stderr,
        )
    load_before = os.getloadavg()[0]
    context = multiprocessing.get_context("spawn")
    models = [model.strip() for model in args.models.split(",") if model.strip()]
    rows, info = [], {}
    for kind in models:
        per_step = args.batch * (args.critic_steps if kind == "wgan-gp" else 1)
        images = synthetic_images(per_step, args.size)
        workers = {}
        for framework in frameworks:
            if framework == "xla" and kind == "wgan-gp" and not args.wgan_xla:
                continue
            ours, theirs = context.Pipe()
            process = context.Process(target=worker, args=(theirs, framework, kind, args, images))
            process.start()
            workers[framework] = (process, ours)
        for framework, (_, connection) in workers.items():
            info[framework] = connection.recv()
            connection.send(args.warmup)  # one at a time: warm-up compiles and traces
            connection.recv()
        times = {framework: [] for framework in workers}
        for _ in range(args.rounds):
            for framework, (_, connection) in workers.items():
                connection.send(args.steps)
                times[framework] += connection.recv()
        for process, connection in workers.values():
            connection.send(None)
            process.join()
        medians = {name: 1000 * statistics.median(values) for name, values in times.items()}
        for framework in workers:
            if framework != "torch":
                rows.append((kind, framework, medians[framework], medians.get("torch")))

    print(
        f"\n{args.size}x{args.size}, base width {args.width}, batch {args.batch} per update, "
        f"latent {args.latent_dim}, WGAN-GP critic steps {args.critic_steps}; "
        f"{platform.machine()}, {os.cpu_count()} CPUs"
    )
    print("; ".join(sorted({entry["version"] for entry in info.values()})))
    print("threads: " + "; ".join(sorted({entry["threads"] for entry in info.values()})))
    print(f"load average (1 min) before the run: {load_before:.2f}")
    if load_before > 0.5 * (os.cpu_count() or 1):
        print(
            "warning: other processes were busy on this machine; the figures (PyTorch's "
            "especially: its OpenMP threads slow down many-fold when they must share the "
            "cores) are not representative. Run again on an idle machine.",
            file=sys.stderr,
        )
    print(f"median over {args.rounds} x {args.steps} steps after {args.warmup} warm-up steps\n")
    print("| model | Keras mode | Keras ms/step | PyTorch ms/step | Keras / PyTorch |")
    print("| --- | --- | ---: | ---: | ---: |")
    for kind, mode, keras_ms, torch_ms in rows:
        label = "graph" if mode == "graph" else "XLA (jit_compile=True)"
        torch_text = f"{torch_ms:.1f}" if torch_ms is not None else "n/a"
        ratio = f"{keras_ms / torch_ms:.2f}" if torch_ms is not None else "n/a"
        name = "DCGAN" if kind == "dcgan" else "WGAN-GP"
        print(f"| {name} | {label} | {keras_ms:.1f} | {torch_text} | {ratio} |")
    return rows


if __name__ == "__main__":
    main()
