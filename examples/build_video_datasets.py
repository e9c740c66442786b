"""Builds the training and held-out datasets of the real presets from `../shared`'s videos.

The split is by whole clips, never by frames of one clip: the held-out clips below show
people (or, for `pose2sim`, views and takes) that no training clip shows, so the figures
measured on them say how a preset does on people it never saw. Camera-panning clips are
left out (a pair of their frames has two different backgrounds), and so are clips where
no frame shows enough of the body.

    python examples/build_video_datasets.py --shared ../shared --out ~/posegan_datasets
    # -> open/train, open/heldout, research/train, research/heldout (PoseWarp format)

The open tier (`open/`) may train weights that ship; the research tier (`research/`) is
non-commercial: weights trained on it say so in their model card. Re-running skips the
videos already prepared (delete a folder to rebuild it).
"""

import argparse
import json
import pathlib
import warnings

from posegan_zoo.data import prepare_videos
from posegan_zoo.data.prepare import CameraMotionWarning

# (tier, split) -> videos under `<shared>/data/videos/<tier>/`.
SPLITS = {
    ("open", "train"): [
        "pose2sim/cam01.mp4",
        "pose2sim/cam02.mp4",
        "pose2sim/cam03.mp4",
        "pose2sim/cam04.mp4",
        "sports2d/demo.mp4",
    ],
    # Two people no open training clip shows.
    ("open", "heldout"): ["tfjs/pose_squats.mp4", "tfjs/pose_1.mp4"],
    ("research", "train"): [
        *(f"mraa_taichi/taichi_{k}.mp4" for k in (4, 8, 10, 13, 16)),
        "lia/taichi_driving1.mp4",
        "demo_dancer/dance.mp4",
        "mmpose/body3d_demo.mp4",
        "gvhmr/tennis.mp4",
        "musepose/dance.mp4",
        "raga/short_video.mp4",
    ],
    # Whole clips of other people: two Tai-Chi players, a dancer in a room, a ballet dancer.
    ("research", "heldout"): [
        "mraa_taichi/taichi_12.mp4",
        "mraa_taichi/taichi_18.mp4",
        "unianimate/source_video.mp4",
        "pymaf/dancer.mp4",
    ],
}
# Left out of every split. The camera moves (`prepare` measures more than 5 grey levels of
# background motion: Tai-Chi crops that follow the player, pans):
MOVING_CAMERA = [
    *(f"mraa_taichi/taichi_{k}.mp4" for k in (0, 1, 2, 5, 6, 9, 11, 19)),
    "mmhuman3d/single_person_demo.mp4",
    "siammask/tennis_frames.mp4",
    "poseformerv2/sample_video.mp4",
]
# Knees-up or upper-body clips: no frame shows the 12 joints that `--min-visible-joints`
# asks for (TED talks, TikTok dances, signing), and `taichi_14` (white clothes against
# bushes) where the detector finds no one.
TOO_FEW_JOINTS = [
    "lia/ted_driving1.mp4",
    "lia/ted_driving2.mp4",
    "lia/ted_driving3.mp4",
    *(f"mimicmotion/raw_{k}.mp4" for k in range(6)),
    *(f"slp/{name}.mp4" for name in ("FOOTBALL", "SOUP", "test_video")),
    "mraa_taichi/taichi_14.mp4",
]


def check_split(splits=SPLITS):
    """Raises `ValueError` if a video is in two splits (a frame-level leak) or left out."""
    seen = {("research", video): "left out" for video in MOVING_CAMERA + TOO_FEW_JOINTS}
    for (tier, split), videos in splits.items():
        for video in videos:
            key = (tier, video)
            if key in seen:
                raise ValueError(f"{tier}/{video} is in both {seen[key]} and {split}.")
            seen[key] = split


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shared", type=pathlib.Path, default=pathlib.Path("../shared"))
    parser.add_argument("--out", type=pathlib.Path, required=True)
    parser.add_argument("--every", type=int, default=2, help="read every Nth frame")
    parser.add_argument("--max-frames", type=int, default=120, help="per video")
    parser.add_argument(
        "--min-visible-joints",
        type=int,
        default=12,
        help="of the 14; upper-body clips keep frames with the legs missing below 12",
    )
    parser.add_argument("--tiers", nargs="+", default=["open", "research"])
    args = parser.parse_args()
    check_split()
    videos_root = args.shared / "data" / "videos"
    summary = {}
    for (tier, split), videos in SPLITS.items():
        if tier not in args.tiers:
            continue
        paths = [videos_root / tier / video for video in videos]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise SystemExit(f"missing videos (is --shared right?): {missing}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CameraMotionWarning)
            reports = prepare_videos(
                paths,
                args.out / tier / split,
                every=args.every,
                max_frames=args.max_frames,
                min_visible_joints=args.min_visible_joints,
            )
        for warning in caught:
            print(f"warning: {warning.message}")
        summary[f"{tier}/{split}"] = {
            report["video"]: report.get("frames_kept", 0) for report in reports
        }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
