"""How close the bundled pose detector's joints are to references: PCK, pixel errors, head.

Usage: python benchmarks/detection_accuracy.py [--shared PATH] [--skip tennis,raga,coco,squats]

About 30 s on two cores. `--shared` is the shared data folder (default: `../shared`
next to the repository root); a source that is missing there is skipped with a note.

References:

- tennis: the 8 hand-labelled frames of the bundled clip (`examples/data/posewarp_tennis`,
  our 14 joints, head top labelled);
- raga: OpenPose BODY_25 joints, one JSON per frame of `videos/research/raga/short_video.mp4`
  (an independent detector), matched by frame index; joints with a confidence below 0.3
  are missing, and frames without a neck or without both hips (no torso length) are
  skipped;
- coco: the COCO val2017 subset (`coco_val2017_persons/`), the largest annotated person
  (by its box) with >= 10 labelled keypoints per image;
- squats: `videos/open/tfjs/pose_squats.full.json`, MediaPipe's own BlazePose output
  (temporal smoothing on) for the 65 frames of `pose_squats.mp4`: landmark agreement.

For the joints, each reference person is compared with the detected person that fits it
best (the lowest mean distance over the joints both have, normalised by the torso), so a
second person in the picture never costs a miss; a reference person without any detection
counts every joint as a miss. Our joints are compared as the detector gives them
(`PersonDetection.joints`, visibility ignored), and again with `.pose`, where joints below
the detector's `min_visibility` (0.5) are missing and count as misses.

PCK@0.2: a joint counts when its distance to the reference is below 0.2 x the torso
length, the torso being the reference's neck to the midpoint of its hips. The summary is
over the 12 limb joints (2..13); neck and head also appear per joint, but outside the
tennis labels they are derived the same way on both sides (the neck is the shoulders'
midpoint, the head top comes from the face: `posegan_zoo.pose.layouts`).

Coordinates: the package's joints and landmarks have pixel centres at integers, like the
PoseWarp labels. MediaPipe's landmarks are continuous (a pixel's centre at +0.5), so 0.5 is
added to ours before comparing with the squats reference; OpenPose and COCO are taken as
they are (their half-pixel conventions are far below the tolerances here).
"""

import argparse
import glob
import json
import os
import pathlib
import re
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import av
import numpy as np

from posegan_zoo.data import (
    read_coco_keypoints,
    read_posewarp_dataset,
    to_posewarp_pose,
)
from posegan_zoo.detection import PoseDetector
from posegan_zoo.pose import (
    JOINT_NAMES,
    layouts,
)

ROOT = pathlib.Path(__file__).resolve().parents[1]
TENNIS = ROOT / "examples" / "data" / "posewarp_tennis"
LIMBS = list(range(2, 14))
NECK, HEAD = JOINT_NAMES.index("neck"), JOINT_NAMES.index("head")
HIPS = [JOINT_NAMES.index("right_hip"), JOINT_NAMES.index("left_hip")]
PCK_FRACTION = 0.2
OPENPOSE_MIN_CONFIDENCE = 0.3
TFJS_TOLERANCE = 28.0  # pixels, tfjs-models' BlazePose video test (per coordinate)
SOURCES = ("tennis", "raga", "coco", "squats")


# --------------------------------------------------------------------------- helpers


def decode_video(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]


def torso_length(reference):
    """Neck to the hips' midpoint of a `(14, 2)` reference (NaN when one is missing)."""
    return float(np.linalg.norm(reference[NECK] - reference[HIPS].mean(axis=0)))


class Comparison:
    """Accumulates per-joint distances (pixels and torso lengths) of one reference source."""

    def __init__(self, name):
        self.name = name
        self.people = 0
        self.undetected = 0
        self.skipped = 0
        self.rows = {"joints": [], "pose": []}  # per person: (14,) distance / torso, NaN
        self.pixels = {"joints": [], "pose": []}  # per person: (14,) pixel distance
        self.present = []  # per person: (14,) reference joint present
        self.detected = []  # per person: whether any detection was there to compare

    def add(self, reference, people):
        """`reference` `(14, 2)` with NaN for missing joints; `people` the detections."""
        torso = torso_length(reference)
        if not np.isfinite(torso) or torso <= 0:
            self.skipped += 1
            return None
        present = np.isfinite(reference).all(axis=1)
        self.people += 1
        self.present.append(present)
        best = best_match(reference, people, torso)
        if best is None:
            self.undetected += 1
        self.detected.append(best is not None)
        for kind in ("joints", "pose"):
            if best is None:
                distance = np.full(len(JOINT_NAMES), np.inf)
            else:
                ours = best.joints if kind == "joints" else best.pose.to_array()
                distance = np.linalg.norm(ours - reference, axis=1)
                distance = np.where(np.isfinite(distance), distance, np.inf)
            distance = np.where(present, distance, np.nan)
            self.pixels[kind].append(distance)
            self.rows[kind].append(distance / torso)
        return best

    def pck(self, kind, joints=LIMBS, detected_only=False):
        """(PCK over `joints`, how many joints were compared)."""
        if not self.rows[kind]:
            return float("nan"), 0
        values = np.asarray(self.rows[kind])[:, joints]
        if detected_only:
            values = values[np.asarray(self.detected)]
        values = values[np.isfinite(values) | np.isinf(values)]
        return float(np.mean(values < PCK_FRACTION)) if len(values) else float("nan"), len(values)

    def joint_stats(self, joint, kind="joints"):
        """(PCK, mean pixel error over detected people, count) of one joint."""
        if not self.rows[kind]:
            return float("nan"), float("nan"), 0
        normalised = np.asarray(self.rows[kind])[:, joint]
        pixels = np.asarray(self.pixels[kind])[:, joint]
        compared = ~np.isnan(normalised)
        if not compared.any():
            return float("nan"), float("nan"), 0
        found = np.isfinite(pixels)
        pck = float(np.mean(normalised[compared] < PCK_FRACTION))
        mean = float(pixels[found].mean()) if found.any() else float("nan")
        return pck, mean, int(compared.sum())


def best_match(reference, people, torso):
    """The detection with the lowest mean normalised distance over the shared joints."""
    best, best_cost = None, np.inf
    for person in people:
        distance = np.linalg.norm(person.joints - reference, axis=1) / torso
        distance = distance[np.isfinite(distance)]
        if len(distance) and distance.mean() < best_cost:
            best, best_cost = person, distance.mean()
    return best


# --------------------------------------------------------------------------- sources


def run_tennis(detector):
    [clip] = read_posewarp_dataset(TENNIS)
    comparison = Comparison("tennis (hand-labelled, 8 frames)")
    head = []
    for path, reference in zip(clip.frame_paths, clip.poses.to_array(), strict=True):
        people = detector.detect(path)
        best = comparison.add(reference, people)
        if best is not None:
            head.append(head_error(reference, best))
    return comparison, head


def head_error(reference, person):
    """The head top's error against the labels, in torso lengths.

    `along` is the signed offset along the reference's neck -> head direction (positive:
    ours is above the labelled top); `across` the perpendicular part. `k` is the factor of
    `head = F + k (F - neck)` (F the mean of the detector's eyes and ears, neck the
    shoulders' midpoint, as in `to_posewarp_pose`) that would put our head on the
    labelled top's projection onto that line: the factor's value that this frame asks for.
    """
    torso = torso_length(reference)
    direction = reference[HEAD] - reference[NECK]
    direction /= np.linalg.norm(direction)
    offset = person.joints[HEAD] - reference[HEAD]
    along = float(offset @ direction) / torso
    across = float(offset[0] * -direction[1] + offset[1] * direction[0]) / torso
    landmarks = person.landmarks[:, :2]
    face = landmarks[[2, 5, 7, 8]].mean(axis=0)  # BlazePose eyes and ears
    neck = landmarks[[11, 12]].mean(axis=0)  # the shoulders' midpoint
    up = face - neck
    k = float((reference[HEAD] - face) @ up / (up @ up))
    return {
        "error": float(np.linalg.norm(offset)) / torso,
        "along": along,
        "across": across,
        "k": k,
        "neck_along": float((person.joints[NECK] - reference[NECK]) @ direction) / torso,
    }


def openpose_frames(folder):
    """{frame index: (25, 3) keypoints of the first person, or None} from OpenPose JSON."""
    frames = {}
    for path in sorted(glob.glob(str(folder / "*_keypoints.json"))):
        match = re.search(r"(\d+)_keypoints\.json$", path)
        if not match:
            continue
        people = json.loads(pathlib.Path(path).read_text()).get("people", [])
        if not people:
            frames[int(match.group(1))] = None
            continue
        # The most confident person when OpenPose saw several (this clip: one per frame).
        arrays = [np.asarray(p["pose_keypoints_2d"], np.float64).reshape(25, 3) for p in people]
        frames[int(match.group(1))] = max(arrays, key=lambda a: a[:, 2].sum())
    return frames


def run_raga(detector, shared):
    folder = shared / "data" / "videos" / "research" / "raga"
    video, json_folder = folder / "short_video.mp4", folder / "openpose_json"
    if not (video.is_file() and json_folder.is_dir()):
        return None
    references = openpose_frames(json_folder)
    frames = decode_video(video)
    comparison = Comparison(f"raga (OpenPose BODY_25, {len(frames)} frames)")
    unmatched = 0
    for index, frame in enumerate(frames):
        keypoints = references.get(index)
        if keypoints is None:
            unmatched += 1
            continue
        pose = to_posewarp_pose(keypoints, "openpose25", min_confidence=OPENPOSE_MIN_CONFIDENCE)
        comparison.add(pose.to_array(), detector.detect(frame))
    comparison.skipped += unmatched
    return comparison


def run_coco(detector, shared):
    folder = shared / "data" / "coco_val2017_persons"
    annotations = folder / "person_keypoints_val2017_subset.json"
    if not annotations.is_file():
        return None
    people = read_coco_keypoints(annotations, image_root=folder / "images", min_keypoints=10)
    largest = {}
    for person in people:
        area = float(person.box[2] * person.box[3])
        if person.image not in largest or area > largest[person.image][0]:
            largest[person.image] = (area, person)
    comparison = Comparison(f"coco (val2017 subset, {len(largest)} images)")
    for image, (_, person) in sorted(largest.items()):
        comparison.add(person.pose.to_array(), detector.detect(image))
    return comparison


def run_squats(detector, shared):
    folder = shared / "data" / "videos" / "open" / "tfjs"
    video, reference_path = folder / "pose_squats.mp4", folder / "pose_squats.full.json"
    if not (video.is_file() and reference_path.is_file()):
        return None
    reference = np.asarray(json.loads(reference_path.read_text()), np.float64)[..., :2]
    frames = decode_video(video)
    count = min(len(frames), len(reference))
    results = {}
    tracked = list(detector.track(frames[:count]))
    detected = [detector.detect(frame) for frame in frames[:count]]
    for name, people in (
        ("detect, per frame", [found[0] if found else None for found in detected]),
        ("track", tracked),
    ):
        errors, per_coordinate, missing = [], [], 0
        for k, person in enumerate(people):
            if person is None:
                missing += 1
                errors.append(np.full(reference.shape[1], np.inf))
                per_coordinate.append(np.full(reference.shape[1], np.inf))
                continue
            offset = person.landmarks[:, :2] + 0.5 - reference[k]
            errors.append(np.linalg.norm(offset, axis=1))
            per_coordinate.append(np.abs(offset).max(axis=1))
        results[name] = (np.asarray(errors), np.asarray(per_coordinate), missing)
    return count, results


# --------------------------------------------------------------------------- printing


def fmt(value, pattern="{:.3f}"):
    return "n/a" if value is None or not np.isfinite(value) else pattern.format(value)


def print_pck_table(comparisons):
    print("## PCK@0.2 of the 12 limb joints (2..13)")
    print()
    print(
        "| reference | people compared | no detection | skipped (no torso) | "
        "PCK, `.joints` | PCK, `.pose` (invisible = miss) | PCK, `.joints`, detected "
        "people only | limb joints compared |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for comparison in comparisons:
        joints, count = comparison.pck("joints")
        pose, _ = comparison.pck("pose")
        detected, _ = comparison.pck("joints", detected_only=True)
        print(
            f"| {comparison.name} | {comparison.people} | {comparison.undetected} | "
            f"{comparison.skipped} | {fmt(joints)} | {fmt(pose)} | {fmt(detected)} | {count} |"
        )


def print_joint_table(comparisons):
    print("## Per joint: PCK@0.2 / mean pixel error (`.joints`; n = joints compared)")
    print()
    print("| joint | " + " | ".join(c.name.split(" (")[0] for c in comparisons) + " |")
    print("|---|" + "---:|" * len(comparisons))
    for joint, name in enumerate(JOINT_NAMES):
        cells = []
        for comparison in comparisons:
            pck, mean, count = comparison.joint_stats(joint)
            cells.append(f"{fmt(pck, '{:.2f}')} / {fmt(mean, '{:.1f}')} px (n={count})")
        print(f"| {joint} {name} | " + " | ".join(cells) + " |")


def print_head(head):
    print("## Head top (joint 0) on the tennis clip, in torso lengths")
    print()
    print(
        "The labelled head top against ours (`head = F + k (F - neck)`, "
        f"k = {layouts.HEAD_FROM_EYES_EARS} from the eyes and ears). `along`: the signed "
        "offset along the labelled neck -> head direction (positive: ours is beyond the "
        "labelled top); `k asked`: the factor that would put ours on the labelled top's "
        "projection onto our neck -> face line; `neck along`: our neck (the shoulders' "
        "midpoint) against the labelled neck, along the same direction."
    )
    print()
    print("| frame | error | along | across | k asked | neck along |")
    print("|---:|---:|---:|---:|---:|---:|")
    for k, row in enumerate(head, start=1):
        print(
            f"| {k} | {row['error']:.3f} | {row['along']:+.3f} | {row['across']:+.3f} | "
            f"{row['k']:.2f} | {row['neck_along']:+.3f} |"
        )
    values = {key: np.array([row[key] for row in head]) for key in head[0]}
    print(
        f"| **median** | **{np.median(values['error']):.3f}** | "
        f"**{np.median(values['along']):+.3f}** | {np.median(values['across']):+.3f} | "
        f"**{np.median(values['k']):.2f}** | {np.median(values['neck_along']):+.3f} |"
    )


def print_squats(count, results):
    print(
        f"## Agreement with MediaPipe's own output on pose_squats.mp4 ({count} frames, "
        "33 landmarks)"
    )
    print()
    print(
        "| ours | frames without a person | median px | p95 px | max px | "
        "frames all within 28 px (distance) | frames all within 28 px per coordinate "
        "(tfjs test) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (errors, per_coordinate, missing) in results.items():
        finite = errors[np.isfinite(errors)]
        within = np.mean((errors <= TFJS_TOLERANCE).all(axis=1))
        within_coordinate = np.mean((per_coordinate <= TFJS_TOLERANCE).all(axis=1))
        print(
            f"| {name} | {missing} | {np.median(finite):.1f} | {np.percentile(finite, 95):.1f} | "
            f"{finite.max():.1f} | {within:.3f} | {within_coordinate:.3f} |"
        )


# --------------------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--shared",
        default=str(ROOT.parent / "shared"),
        help="the shared data folder (default: ../shared next to the repository)",
    )
    parser.add_argument(
        "--skip", default="", help=f"comma-separated sources to leave out ({', '.join(SOURCES)})"
    )
    args = parser.parse_args(argv)
    skip = {name for name in args.skip.split(",") if name}
    unknown = skip - set(SOURCES)
    if unknown:
        parser.error(f"--skip: unknown source(s) {sorted(unknown)}; known: {', '.join(SOURCES)}")
    shared = pathlib.Path(args.shared)
    detector = PoseDetector()
    start = time.perf_counter()
    print(
        f"{time.strftime('%Y-%m-%d')}: PoseDetector() defaults (min_visibility "
        f"{detector.min_visibility}), PCK threshold {PCK_FRACTION} x torso"
    )
    print()

    comparisons, head, squats = [], None, None
    if "tennis" not in skip:
        tennis, head = run_tennis(detector)
        comparisons.append(tennis)
    for name, run in (("raga", run_raga), ("coco", run_coco)):
        if name in skip:
            continue
        result = run(detector, shared)
        if result is None:
            print(f"note: {name}: its files are not under {shared}; skipped.")
        else:
            comparisons.append(result)
    if "squats" not in skip:
        squats = run_squats(detector, shared)
        if squats is None:
            print(f"note: squats: pose_squats.mp4 / .full.json are not under {shared}; skipped.")
    if comparisons:
        print()
        print_pck_table(comparisons)
        print()
        print_joint_table(comparisons)
    if head:
        print()
        print_head(head)
    if squats is not None:
        print()
        print_squats(*squats)
    print()
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
