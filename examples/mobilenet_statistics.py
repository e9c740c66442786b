"""Computes the per-channel MobileNetV2 activation statistics of the perceptual loss.

`PerceptualLoss(backbone="mobilenet_v2")` divides each feature distance by the channel's
standard deviation (plus an offset), as the PoseWarp paper does with VGG19 statistics of
its training images. This script measures those statistics on frames of the open-licence
videos (`../shared/data/videos/open/`, the videos shipped weights may train on): about
200 frames sampled evenly from every video, each cut to its centred square and resized to
256 x 256, through `mobilenet_v2_features` (the shipped ImageNet weights). It writes the
file the package ships as `assets/mobilenet_v2_statistics.npz`:

    python examples/mobilenet_statistics.py --out src/posegan_zoo/assets/mobilenet_v2_statistics.npz
    python examples/mobilenet_statistics.py --frames 8 --out /tmp/statistics.npz  # quick

The file holds, for each layer of `FEATURE_LAYER_NAMES`, `<layer>/mean` and `<layer>/std`
(float32, one value per channel, over every position of every frame), plus `layers`,
`frames` (the number of frames) and `sources` (the videos and frame indices used).
"""

import argparse
import math
import pathlib

import numpy as np
from PIL import Image

from posegan_zoo.backbones import FEATURE_LAYER_NAMES, mobilenet_v2_features
from posegan_zoo.video import read_video, video_info

VIDEOS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "open"


def square_crop(frame, size):
    """The centred square of an RGB uint8 frame, resized to `size`, in [-1, 1]."""
    height, width = frame.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = Image.fromarray(frame[top : top + side, left : left + side])
    square = square.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(square, np.float32) / 127.5 - 1.0


def sample_frames(videos, frames, size):
    """About `frames` crops, the same number from every video, evenly spaced in each."""
    per_video = math.ceil(frames / len(videos))
    crops, sources = [], []
    for path in videos:
        count = video_info(path).frame_count or per_video
        every = max(1, count // per_video)
        for index, frame in read_video(path, every=every, max_frames=per_video):
            crops.append(square_crop(frame, size))
            sources.append(f"{path.parent.name}/{path.name}:{index}")
    return np.stack(crops), sources


def channel_statistics(crops, batch_size=8):
    """Per-channel means and standard deviations of each feature layer over all crops."""
    model = mobilenet_v2_features()
    sums = [0.0] * len(FEATURE_LAYER_NAMES)
    squares = [0.0] * len(FEATURE_LAYER_NAMES)
    counts = [0] * len(FEATURE_LAYER_NAMES)
    for start in range(0, len(crops), batch_size):
        features = model(crops[start : start + batch_size], training=False)
        for k, feature in enumerate(features):
            values = np.asarray(feature, np.float64).reshape(-1, feature.shape[-1])
            sums[k] = sums[k] + values.sum(axis=0)
            squares[k] = squares[k] + np.square(values).sum(axis=0)
            counts[k] += values.shape[0]
    statistics = {}
    for k, name in enumerate(FEATURE_LAYER_NAMES):
        mean = sums[k] / counts[k]
        variance = np.maximum(squares[k] / counts[k] - np.square(mean), 0.0)
        statistics[f"{name}/mean"] = mean.astype(np.float32)
        statistics[f"{name}/std"] = np.sqrt(variance).astype(np.float32)
    return statistics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=pathlib.Path, default=VIDEOS, help="searched for *.mp4")
    parser.add_argument("--frames", type=int, default=200, help="frames in all (about)")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)

    videos = sorted(args.videos.rglob("*.mp4"))
    if not videos:
        parser.error(f"no .mp4 video under {args.videos}")
    crops, sources = sample_frames(videos, args.frames, args.size)
    statistics = channel_statistics(crops)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out,
        layers=np.array(FEATURE_LAYER_NAMES),
        frames=np.array(len(crops)),
        sources=np.array(sources),
        **statistics,
    )
    print(f"{len(crops)} frames of {len(videos)} videos, {args.size} x {args.size} -> {args.out}")
    for name in FEATURE_LAYER_NAMES:
        std = statistics[f"{name}/std"]
        print(f"  {name:16s} {std.size:5d} channels, std median {np.median(std):.3f}")
    return statistics


if __name__ == "__main__":
    main()
