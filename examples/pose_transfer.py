"""Moves the tennis player of one bundled frame into the pose of another.

Reads two frames of the bundled clip (the paper's data format), crops them around the
player with the paper's recipe, and writes a PNG grid: the source, the real target, a
learning-free warp (prior masks + the spatial transformer, pasted over the source) with the
target skeleton, and the output of a paper-size PoseWarp generator. The generator has random
weights until pretrained presets land, so its panel shows that the network runs, not a
result.

    python examples/pose_transfer.py --out outputs/pose_transfer
"""

import argparse
import pathlib
import time

import numpy as np
import scipy.io
from PIL import Image

from posegan_zoo.models import PoseWarpGenerator, SpatialTransformer, posewarp_inputs
from posegan_zoo.pose import (
    Pose,
    centre_and_scale,
    crop_scale,
    person_scale,
)
from posegan_zoo.visualize import draw_skeleton, to_uint8

DATA = pathlib.Path(__file__).parent / "data" / "posewarp_tennis"


def load_frame(data_dir, video, frame):
    """Frame `frame` (1-based, as the files are named) with its pose and box centre."""
    info = scipy.io.loadmat(data_dir / "info" / f"{video}.mat")["data"]
    joints = info["X"][0, 0][:, :, frame - 1] - 1.0  # the files are 1-based
    x, y, w, h = info["bbox"][0, 0][frame - 1]
    image = np.asarray(Image.open(data_dir / "frames" / video / f"{frame}.jpg").convert("RGB"))
    return image, Pose(joints), np.array([x + w / 2, y + h / 2])


def crop_pair(source, target, size):
    """The paper's pair crop: common centre and scale, so the background lines up."""
    (src_image, src_pose, src_centre), (tgt_image, tgt_pose, tgt_centre) = source, target
    scale = crop_scale([person_scale(src_pose), person_scale(tgt_pose)], size)
    centre = (src_centre + tgt_centre) / 2
    src = centre_and_scale(src_image, src_pose, centre, scale, size)
    tgt = centre_and_scale(tgt_image, tgt_pose, centre, scale, size)
    return src, tgt


def warp_only(inputs, size):
    """Learning-free pose transfer: prior masks, spatial transformer, paste over the source."""
    prior = np.exp(inputs["mask_prior"])
    masks = prior / prior.sum(-1, keepdims=True)
    transformer = SpatialTransformer(size)
    limbs = transformer(
        {"image": inputs["source_image"], "masks": masks, "transforms": inputs["transforms"]}
    )["limbs"]
    coverage = transformer(
        {
            "image": np.ones_like(inputs["source_image"]),
            "masks": masks,
            "transforms": inputs["transforms"],
        }
    )["limbs"]
    limbs = np.asarray(limbs).reshape(*limbs.shape[:3], 10, 3).sum(axis=3)
    coverage = np.clip(np.asarray(coverage).reshape(*coverage.shape[:3], 10, 3).sum(axis=3), 0, 1)
    return limbs + (1 - coverage) * inputs["source_image"]


def to_pil(image):
    return Image.fromarray(to_uint8(image))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=pathlib.Path, default=DATA)
    parser.add_argument("--video", default="Flavia Pennetta in 4k")
    parser.add_argument("--source", type=int, default=1, help="source frame number (1-based)")
    parser.add_argument("--target", type=int, default=5, help="target frame number (1-based)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("outputs/pose_transfer"))
    args = parser.parse_args()

    (src_image, src_pose), (tgt_image, tgt_pose) = crop_pair(
        load_frame(args.data, args.video, args.source),
        load_frame(args.data, args.video, args.target),
        args.size,
    )
    src_image, tgt_image = src_image / 127.5 - 1, tgt_image / 127.5 - 1
    inputs = posewarp_inputs(src_image, src_pose, tgt_pose)

    warped = warp_only(inputs, args.size)[0]
    generator = PoseWarpGenerator(args.size)
    start = time.perf_counter()
    generated = np.asarray(generator(inputs))[0]
    seconds = time.perf_counter() - start

    args.out.mkdir(parents=True, exist_ok=True)
    panels = [
        to_pil(src_image),
        to_pil(tgt_image),
        draw_skeleton(to_pil(warped), tgt_pose.to_array()),
        to_pil(generated),
    ]
    grid = Image.new("RGB", (args.size * len(panels), args.size))
    for i, panel in enumerate(panels):
        grid.paste(panel, (i * args.size, 0))
    path = args.out / "pose_transfer.png"
    grid.save(path)

    print(f"frames {args.source} -> {args.target} of '{args.video}', {args.size}x{args.size}")
    print(
        f"L1 to the real target: source as is {np.abs(src_image - tgt_image).mean():.4f}, "
        f"learning-free warp {np.abs(warped - tgt_image).mean():.4f}"
    )
    print(
        f"untrained generator ({generator.count_params():,} parameters): "
        f"one forward pass in {seconds:.2f} s"
    )
    print(f"wrote {path} (source | real target | warp + target skeleton | generator)")


if __name__ == "__main__":
    main()
