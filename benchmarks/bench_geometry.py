"""Throughput of PoseWarp's input geometry and spatial transformer: package vs reference.

Usage: python benchmarks/bench_geometry.py [--batch 4,16] [--size 256] [--repeats 15,5]

Times, in the same run and on the same inputs (real poses of the tennis clip, cropped the
paper's way and jittered to fill the batch):

(a) the geometry of a batch of PoseWarp inputs: source and target joint heatmaps, the source
    mask log prior and the limb transforms. The package's tensor ops take one call per
    batch, through the numpy entry points (eager) and as training runs them (the
    `PoseGeometry` layer in a `tf.function`); the reference approach
    (`tests/reference_impl.py`) runs example by example.
(b) the spatial transformer: masking a batch of images with 11 layer masks and warping the
    10 limb layers. The package's `SpatialTransformer` ("standard" and "reference"
    resampling) against the reference approach: one `affine_warp_reference` call per limb
    layer, masking included. Both run eagerly and inside a `tf.function`, after a warm-up.

Each figure is the median of `--repeats` timed runs (time.perf_counter) of one batch (15
for (a), whose runs are short, 5 for (b)), for each batch size of `--batch`. The
implementations take turns, each turn two calls in a row, and the second is the one timed:
the first runs in the state the other side left (see `interleaved_medians`); (a) prints
that first-call time too. The last column is the package's throughput divided by the
reference's (same mode). Graph results are awaited by reading one element of each (a full
copy to numpy would add the same memory traffic to both sides). Batch 4 is the training
pipeline's default.
"""

import argparse
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402
import reference_impl as ref  # noqa: E402
import scipy.io  # noqa: E402
import tensorflow as tf  # noqa: E402

from posegan_zoo.layers import PoseGeometry  # noqa: E402
from posegan_zoo.models import SpatialTransformer  # noqa: E402
from posegan_zoo.pose import (  # noqa: E402
    Pose,
    crop_matrix,
    crop_scale,
    joint_heatmaps,
    limb_transforms,
    mask_log_prior,
    person_scale,
)

TENNIS = ROOT / "examples" / "data" / "posewarp_tennis" / "info" / "Flavia Pennetta in 4k.mat"


# --------------------------------------------------------------------------- inputs


def tennis_pairs(batch, size, rng):
    """`batch` (source, target) pose pairs of the tennis clip in `size` crops (jittered)."""
    info = scipy.io.loadmat(TENNIS)["data"]
    joints = np.transpose(info["X"][0, 0], (2, 0, 1)) - 1.0  # (N, 14, 2), 0-based
    boxes = np.asarray(info["bbox"][0, 0], np.float64)
    centres = boxes[:, :2] - 1.0 + boxes[:, 2:] / 2.0
    scales = person_scale(Pose(joints))
    count = len(joints)
    sources, targets = [], []
    for k in range(batch):
        i, j = k % count, (k // count + k + 1) % count
        if i == j:
            j = (j + 1) % count
        centre = (centres[i] + centres[j]) / 2.0
        matrix = crop_matrix(centre, crop_scale([scales[i], scales[j]], size), size)
        jitter = rng.normal(0.0, 2.0, (2, 14, 2))  # poses differ from one example to the next
        sources.append(Pose(joints[i] + jitter[0]).transform(matrix).joints)
        targets.append(Pose(joints[j] + jitter[1]).transform(matrix).joints)
    return Pose(np.stack(sources)), Pose(np.stack(targets))


# --------------------------------------------------------------------------- timing


def interleaved_medians(functions, repeats, warmup=1):
    """Median seconds of each function: `(repeated, first)`, two dicts keyed like `functions`.

    Each round gives every function one turn, so that a change of machine load during the
    run affects all of them alike. A turn is two calls in a row: `repeated` is the time of
    the second (the steady state of calling the function batch after batch, what
    examples/s means), `first` that of the first, which runs in the state the previous
    function left: its data in the CPU caches instead of ours, the heap trimmed by its
    frees (fresh output arrays then fault their pages in again), the second core idle.
    """
    for function in functions.values():
        for _ in range(warmup):
            function()
    repeated = {name: [] for name in functions}
    first = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            for series in (first, repeated):
                start = time.perf_counter()
                function()
                series[name].append(time.perf_counter() - start)
    return (
        {name: statistics.median(times) for name, times in repeated.items()},
        {name: statistics.median(times) for name, times in first.items()},
    )


# --------------------------------------------------------------------------- (a) geometry


def package_geometry(source, target, size):
    return (
        joint_heatmaps(source, size),
        joint_heatmaps(target, size),
        mask_log_prior(source, size),
        limb_transforms(source, target),
    )


def make_graph_geometry(source, target, size):
    """The same geometry as training computes it: `PoseGeometry` in a `tf.function`."""
    layer = PoseGeometry()
    inputs = {
        "source_image": tf.zeros((len(source), size, size, 3)),
        "source_keypoints": tf.constant(np.where(source.visible[..., None], source.joints, np.nan)),
        "target_keypoints": tf.constant(np.where(target.visible[..., None], target.joints, np.nan)),
    }
    graph = tf.function(layer)
    keys = ("source_pose", "target_pose", "mask_prior", "transforms")

    def run():
        outputs = graph(inputs)
        return [wait(outputs[key]) for key in keys]

    return run


def reference_geometry(source, target, size):
    outputs = []
    for k in range(len(source)):
        sj, sv = source.joints[k], source.visible[k]
        tj, tv = target.joints[k], target.visible[k]
        outputs.append(
            (
                ref.joint_heatmaps(sj, sv, size, size),
                ref.joint_heatmaps(tj, tv, size, size),
                ref.mask_log_prior(sj, sv, size, size),
                ref.limb_transforms(sj, tj),
            )
        )
    return outputs


def check_geometry(package, reference):
    """The two approaches compute the same thing (first example)."""
    for name, got, expected, atol in zip(
        ("source heatmaps", "target heatmaps", "prior", "transforms"),
        package,
        reference[0],
        (1e-6, 1e-6, 1e-3, 1e-3),
        strict=True,
    ):
        if name == "prior":
            keep = expected > -15
            got, expected = got[0][keep], expected[keep]
        else:
            got = got[0]
        np.testing.assert_allclose(got, expected, atol=atol, rtol=0, err_msg=name)


# --------------------------------------------------------------------------- (b) warp


def wait(tensor):
    """Blocks until `tensor` is computed, reading one element (no full copy to the host)."""
    return tensor[(0,) * tensor.shape.rank].numpy()


def reference_warp_eager(image, masks, transforms):
    """The reference way: mask, then one `affine_warp_reference` call per limb layer."""
    background = image * masks[..., :1]
    limbs = [
        ref.affine_warp_reference(image * masks[..., layer : layer + 1], transforms[..., layer])
        for layer in range(1, masks.shape[-1])
    ]
    return background, tf.concat(limbs, axis=-1)


def make_reference_warp_graph(height, width):
    """`reference_warp_eager` as a graph: the same per-layer calls, coordinates in TF.

    `affine_warp_reference` builds its sampling grid with numpy, which a traced function
    cannot do on symbolic transforms; this computes the same grid with TF ops and calls the
    same gather sampler (`sample_bilinear_reference`) once per limb layer.
    """
    ys, xs = np.meshgrid(
        np.arange(height, dtype=np.float32), np.arange(width, dtype=np.float32), indexing="ij"
    )
    grid = tf.constant(np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size, np.float32)]))

    @tf.function
    def warp(image, masks, transforms):
        batch = image.shape[0]
        background = image * masks[..., :1]
        limbs = []
        for layer in range(1, masks.shape[-1]):
            source = tf.einsum("bij,jn->bin", transforms[..., layer], grid)
            x = tf.reshape(source[:, 0], (batch, height, width))
            y = tf.reshape(source[:, 1], (batch, height, width))
            limbs.append(ref.sample_bilinear_reference(image * masks[..., layer : layer + 1], x, y))
        return background, tf.concat(limbs, axis=-1)

    return warp


def warp_inputs(source, target, size, rng):
    image = rng.uniform(-1.0, 1.0, (len(source), size, size, 3)).astype(np.float32)
    prior = np.exp(mask_log_prior(source, size))
    masks = prior / prior.sum(axis=-1, keepdims=True)  # soft masks that sum to one
    transforms = limb_transforms(source, target)
    return {
        "image": tf.constant(image),
        "masks": tf.constant(masks.astype(np.float32)),
        "transforms": tf.constant(transforms),
    }


# --------------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", default="4,16", help="comma-separated batch sizes")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument(
        "--repeats",
        default="15,5",
        help="timed turns per implementation: one count, or one for (a) and one for (b)",
    )
    args = parser.parse_args(argv)
    repeats = [int(count) for count in args.repeats.split(",")]
    if len(repeats) == 1:
        repeats *= 2
    if len(repeats) != 2 or min(repeats) < 1:
        parser.error(f"--repeats takes one or two positive counts, got {args.repeats!r}")
    load_before = os.getloadavg()[0]
    print(
        f"{args.size}x{args.size}, median of {repeats[0]} / {repeats[1]} interleaved turns "
        "for (a) / (b); "
        f"TF {tf.__version__}, numpy {np.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, GPUs: {len(tf.config.list_physical_devices('GPU'))}"
    )
    for batch in (int(b) for b in args.batch.split(",")):
        benchmark_batch(batch, args.size, *repeats)
    print()
    print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")


def benchmark_batch(batch, size, geometry_repeats, warp_repeats):
    rng = np.random.default_rng(0)
    source, target = tennis_pairs(batch, size, rng)

    # (a) geometry: the whole of it, then part by part.
    check_geometry(
        package_geometry(source[:1], target[:1], size),
        reference_geometry(source[:1], target[:1], size),
    )
    a, a_first = interleaved_medians(
        {
            "reference": lambda: reference_geometry(source, target, size),
            "package": lambda: package_geometry(source, target, size),
            "graph": make_graph_geometry(source, target, size),
        },
        geometry_repeats,
    )
    parts, _ = interleaved_medians(
        {
            ("heatmaps x2", "reference"): lambda: [
                ref.joint_heatmaps(p.joints[k], p.visible[k], size, size)
                for p in (source, target)
                for k in range(batch)
            ],
            ("heatmaps x2", "package"): lambda: (
                joint_heatmaps(source, size),
                joint_heatmaps(target, size),
            ),
            ("mask log prior", "reference"): lambda: [
                ref.mask_log_prior(source.joints[k], source.visible[k], size, size)
                for k in range(batch)
            ],
            ("mask log prior", "package"): lambda: mask_log_prior(source, size),
            ("limb transforms", "reference"): lambda: [
                ref.limb_transforms(source.joints[k], target.joints[k]) for k in range(batch)
            ],
            ("limb transforms", "package"): lambda: limb_transforms(source, target),
        },
        geometry_repeats,
    )

    # (b) spatial transformer.
    inputs = warp_inputs(source, target, size, rng)
    image, masks, transforms = inputs["image"], inputs["masks"], inputs["transforms"]
    reference_graph = make_reference_warp_graph(size, size)
    # Keys: (implementation, resampling, mode); the baseline samples the reference way.
    warps = {
        ("baseline", "reference", "eager"): lambda: wait(
            reference_warp_eager(image, masks, transforms)[1]
        ),
        ("baseline", "reference", "tf.function"): lambda: wait(
            reference_graph(image, masks, transforms)[1]
        ),
    }
    expected = reference_warp_eager(image, masks, transforms)[1]
    np.testing.assert_allclose(reference_graph(image, masks, transforms)[1], expected, atol=1e-4)
    for resampling in ("standard", "reference"):
        model = SpatialTransformer(size, resampling=resampling)
        graph = tf.function(model)
        if resampling == "reference":  # the same computation as the baseline
            np.testing.assert_allclose(graph(inputs)["limbs"], expected, atol=1e-4)
        warps["package", resampling, "eager"] = lambda m=model: wait(m(inputs)["limbs"])
        warps["package", resampling, "tf.function"] = lambda g=graph: wait(g(inputs)["limbs"])
    b, _ = interleaved_medians(warps, warp_repeats, warmup=2)

    # Tables.
    rows = [
        ("(a) geometry", "reference_impl, one example at a time", "numpy", a["reference"], 1.0),
        (
            "(a) geometry",
            "package, one call per batch",
            "numpy",
            a["package"],
            a["reference"] / a["package"],
        ),
        (
            "(a) geometry",
            "package PoseGeometry, as training runs it",
            "tf.function",
            a["graph"],
            a["reference"] / a["graph"],
        ),
    ]
    for (kind, resampling, mode), seconds in b.items():
        baseline = b["baseline", "reference", mode]
        name = (
            "reference_impl, one call per limb layer"
            if kind == "baseline"
            else f'package SpatialTransformer("{resampling}")'
        )
        rows.append(("(b) warp", name, mode, seconds, baseline / seconds))

    print()
    print(f"## batch {batch}")
    print()
    print("| benchmark | implementation | mode | ms / batch | examples/s | package / reference |")
    print("|---|---|---|---:|---:|---:|")
    for benchmark, implementation, mode, seconds, ratio in rows:
        print(
            f"| {benchmark} | {implementation} | {mode} | {1e3 * seconds:.1f} | "
            f"{batch / seconds:.1f} | {ratio:.2f}x |"
        )
    print()
    print(f"(a) by part, batch {batch}:")
    print()
    print("| part | reference ms / batch | package ms / batch | package / reference |")
    print("|---|---:|---:|---:|")
    for name in dict.fromkeys(part for part, _ in parts):
        reference, package = parts[name, "reference"], parts[name, "package"]
        print(
            f"| {name} | {1e3 * reference:.1f} | {1e3 * package:.1f} | {reference / package:.1f}x |"
        )
    print()
    ratios_b = ", ".join(
        f"{resampling} {mode} {b['baseline', 'reference', mode] / seconds:.1f}x"
        for (kind, resampling, mode), seconds in b.items()
        if kind == "package"
    )
    print(
        f"(a), first call of each turn (right after the other side): reference "
        f"{1e3 * a_first['reference']:.1f} ms, package {1e3 * a_first['package']:.1f} ms, "
        f"{a_first['reference'] / a_first['package']:.1f}x"
    )
    print()
    print(
        f"batch {batch} targets: (a) >= 10x: {a['reference'] / a['package']:.1f}x; "
        f"(b) >= 3x: {ratios_b}"
    )


if __name__ == "__main__":
    main()
