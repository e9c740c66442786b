"""Pose detection on the CPU: what a user waits for, stage by stage, and the machine's limit.

Usage: python benchmarks/bench_detection.py [--video PATH] [--track-video PATH]
       [--size 1280x720] [--repeats 30] [--detect-frames 8] [--track-frames 100]
       [--track-repeats 3] [--invoke-repeats 30] [--conv-seconds 2]

About a minute on two idle cores with the defaults. Four tables, all from one run:

1. Detection of one frame (`PoseDetector().detect(frame)`: the person detector on the
   letterboxed frame, the landmark model on the person's region, the mask back in frame
   pixels), on frames of `--video` fitted to `--size` (scaled to cover it, centre crop).
   `--video` is a video file (decoded with PyAV) or a folder of images; the default is the
   bundled tennis frames (1280 x 676, so scaled by 1.065 and cropped). Of the first
   `--detect-frames` frames, those where somebody is found are timed (a frame without
   anybody skips the landmark model and the mask: not a "detected frame"). The total is timed
   on its own; then the same calls run with every stage's function wrapped in a timer
   (`geometry.crop`, the two interpreters, box decoding and NMS, heatmap refinement,
   `uncrop_mask`, the person record), so the split is that of the real code path. What
   the wrappers do not cover (normalising the crops, sigmoids, projecting landmarks) is
   the "rest" row. Median and p90 over `--repeats` calls, cycling through the frames.
2. Tracking throughput (`PoseDetector().track(frames)`) over `--track-video` (default:
   `pose2sim/cam01.mp4` of the shared videos when it exists, else the tennis frames, at
   their own size): decoding alone (PyAV to RGB arrays), tracking pre-decoded frames, and
   decoding + tracking in one loop, frames/s of the median of `--track-repeats` passes
   over the first `--track-frames` frames, and the per-frame split of the tracking.
3. Raw LiteRT `invoke()` of each model on a real input, with `num_threads` 1 and 2, the
   conv FLOPs of each model (counted from its tensors) and the rate that gives; and the
   whole `detect` with 1 and 2 threads.
4. The machine's limit: GFLOP/s of a plain TF 3 x 3 convolution (float32, NHWC, inside a
   `tf.function`, all cores) for two sizes, measured last so that TF's thread pools do
   not run beside the models.

The targets (issue): <= 100 ms per detected 1280 x 720 frame, >= 15 frames/s tracking, on
two cores. The header gives the machine, versions and the load average before and after.
"""

import argparse
import contextlib
import functools
import importlib.metadata
import os
import pathlib
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import av
import numpy as np
from PIL import Image

from posegan_zoo.detection import PoseDetector, geometry
from posegan_zoo.detection import detector as detector_module
from posegan_zoo.images import load_image

ROOT = pathlib.Path(__file__).resolve().parents[1]
TENNIS = ROOT / "examples" / "data" / "posewarp_tennis" / "frames"
SHARED_TRACK_VIDEO = ROOT.parent / "shared" / "data" / "videos" / "open" / "pose2sim" / "cam01.mp4"
MODELS = ("pose_detection.tflite", "pose_landmark_full.tflite")
TARGET_DETECT_MS, TARGET_TRACK_FPS = 100.0, 15.0


# --------------------------------------------------------------------------- inputs


def decode_video(path, max_frames=None):
    """RGB uint8 frames of a video, decoded with PyAV (frame threads, as the package does)."""
    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            if max_frames is not None and len(frames) >= max_frames:
                break
    return frames


def read_frames(source, max_frames=None):
    """Frames of a video file, or of every image in a folder (sorted by name)."""
    source = pathlib.Path(source)
    if source.is_dir():
        paths = sorted(
            p for p in source.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
        )
        return [load_image(p) for p in paths[:max_frames]]
    return decode_video(source, max_frames)


def fit(frame, width, height):
    """`frame` scaled to cover `width` x `height`, then cropped to it around its centre."""
    h, w = frame.shape[:2]
    if (w, h) == (width, height):
        return frame
    scale = max(width / w, height / h)
    size = (max(width, round(w * scale)), max(height, round(h * scale)))
    picture = Image.fromarray(frame).resize(size, Image.Resampling.BILINEAR)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return np.asarray(picture.crop((left, top, left + width, top + height)))


# --------------------------------------------------------------------------- timing


def summary(seconds):
    """(median, p90) in milliseconds."""
    ms = np.asarray(seconds) * 1e3
    return float(np.median(ms)), float(np.percentile(ms, 90))


class StageTimer:
    """Wraps the detector's stage functions in timers while `with timer.active():` runs."""

    def __init__(self, detector):
        self.detector = detector
        self.frame = {}

    def _add(self, name, seconds):
        self.frame[name] = self.frame.get(name, 0.0) + seconds

    def _wrap(self, function, name_of):
        @functools.wraps(function)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._add(name_of(*args, **kwargs), time.perf_counter() - start)

        return timed

    @contextlib.contextmanager
    def active(self):
        def region_stage(*args, **kwargs):
            return "decode + NMS + region"

        module_patches = (
            (
                "crop",
                lambda image, rect, size: (
                    "letterbox crop" if size == geometry.DETECTOR_SIZE else "landmark crop"
                ),
            ),
            ("decode_detections", region_stage),
            ("weighted_nms", region_stage),
            ("rect_from_keypoints", region_stage),
            ("refine_from_heatmaps", lambda *args, **kwargs: "heatmap refinement"),
            ("uncrop_mask", lambda *args, **kwargs: "mask back-projection"),
        )
        # The two interpreters (`self._detector(tensor)`) and the person record: attributes
        # of the detector instance, shadowed by a timed wrapper while active.
        instance_patches = (
            ("_detector", "detector model (set + invoke + get)"),
            ("_landmarker", "landmark model (set + invoke + get)"),
            ("_person", "person record (14 joints, box)"),
        )
        saved_module = {name: getattr(geometry, name) for name, _ in module_patches}
        saved_instance = {name: vars(self.detector).get(name) for name, _ in instance_patches}
        try:
            for name, name_of in module_patches:
                setattr(geometry, name, self._wrap(saved_module[name], name_of))
            for name, stage in instance_patches:
                wrapped = self._wrap(getattr(self.detector, name), lambda *a, s=stage, **k: s)
                setattr(self.detector, name, wrapped)
            yield self
        finally:
            for name, function in saved_module.items():
                setattr(geometry, name, function)
            for name, value in saved_instance.items():
                if value is None:
                    vars(self.detector).pop(name, None)  # the class's method shows again
                else:
                    setattr(self.detector, name, value)

    def run(self, function):
        """Calls `function()` with the stages timed: (its result, total s, {stage: s})."""
        self.frame = {}
        with self.active():
            start = time.perf_counter()
            result = function()
            total = time.perf_counter() - start
        return result, total, dict(self.frame)


# Stage rows: (group, stage) in print order; the group is the coarse split of the issue.
STAGES = (
    ("letterbox + detector model", "letterbox crop"),
    ("letterbox + detector model", "detector model (set + invoke + get)"),
    ("landmark crop + model", "landmark crop"),
    ("landmark crop + model", "landmark model (set + invoke + get)"),
    ("mask back-projection", "mask back-projection"),
    ("post-processing", "decode + NMS + region"),
    ("post-processing", "heatmap refinement"),
    ("post-processing", "person record (14 joints, box)"),
    ("post-processing", "rest"),
)


def staged(timer, calls):
    """Runs `calls` (functions) with stage timers; per-call totals and {stage: [s]}."""
    totals, stages = [], {stage: [] for _, stage in STAGES}
    for call in calls:
        _, total, parts = timer.run(call)
        parts["rest"] = total - sum(parts.values())
        totals.append(total)
        for _, stage in STAGES:
            stages[stage].append(parts.get(stage, 0.0))
    return totals, stages


def print_stage_table(totals, stages, unit):
    print(f"| group | stage | median ms / {unit} | p90 ms | share of median total |")
    print("|---|---|---:|---:|---:|")
    total_median = summary(totals)[0]
    groups = {}
    for group, stage in STAGES:
        median, p90 = summary(stages[stage])
        groups.setdefault(group, []).append(np.asarray(stages[stage]))
        print(
            f"| {group} | {stage} | {median:.2f} | {p90:.2f} | {100 * median / total_median:.0f}% |"
        )
    median, p90 = summary(totals)
    print(f"| **all** | total (stages timed) | {median:.2f} | {p90:.2f} | 100% |")
    print()
    print(f"By group (median of the per-{unit} sums):")
    print()
    print(f"| group | median ms / {unit} | p90 ms |")
    print("|---|---:|---:|")
    for group, series in groups.items():
        median, p90 = summary(np.sum(series, axis=0))
        print(f"| {group} | {median:.2f} | {p90:.2f} |")


# --------------------------------------------------------------------------- 1. detect


def bench_detect(detector, frames, repeats):
    """Times `detect` on the frames where it finds somebody (all frames if on none)."""
    for frame in frames[:3]:
        detector.detect(frame)  # warm-up: first invokes allocate
    found = [len(detector.detect(frame)) for frame in frames]
    timed = [frame for frame, count in zip(frames, found, strict=True) if count] or frames
    order = [timed[k % len(timed)] for k in range(repeats)]
    plain = []
    for frame in order:
        start = time.perf_counter()
        detector.detect(frame)
        plain.append(time.perf_counter() - start)
    timer = StageTimer(detector)
    totals, stages = staged(timer, [functools.partial(detector.detect, f) for f in order])
    return plain, totals, stages, found


# --------------------------------------------------------------------------- 2. track


def bench_track(detector, source, frames_limit, passes):
    """Decoding, tracking and both, over the first `frames_limit` frames of `source`."""
    is_video = pathlib.Path(source).is_file()
    decode_times = []
    frames = None
    for _ in range(passes if is_video else 1):
        start = time.perf_counter()
        frames = read_frames(source, frames_limit)
        decode_times.append(time.perf_counter() - start)
    count = len(frames)

    list(detector.track(frames[:2]))  # warm-up
    track_times, per_frame = [], []
    for _ in range(passes):
        start = time.perf_counter()
        last = start
        for _person in detector.track(frames):
            now = time.perf_counter()
            per_frame.append(now - last)
            last = now
        track_times.append(time.perf_counter() - start)

    both_times = []
    if is_video:
        for _ in range(passes):
            start = time.perf_counter()
            decoded = (frame.to_ndarray(format="rgb24") for frame in _decoded_frames(source, count))
            for _person in detector.track(decoded):
                pass
            both_times.append(time.perf_counter() - start)

    # What-if: the same decoding + tracking loop with the full-frame mask left out (the
    # back-projection patched to a 1 x 1 array), the most a lazily computed mask would save.
    no_mask_times = []
    saved = geometry.uncrop_mask
    geometry.uncrop_mask = lambda mask, rect, height, width: np.zeros((1, 1), np.float32)
    try:
        for _ in range(passes):
            start = time.perf_counter()
            if is_video:
                decoded = (
                    frame.to_ndarray(format="rgb24") for frame in _decoded_frames(source, count)
                )
            else:
                decoded = iter(frames)
            for _person in detector.track(decoded):
                pass
            no_mask_times.append(time.perf_counter() - start)
    finally:
        geometry.uncrop_mask = saved

    # The per-frame split of one more tracking pass, and how often the detector ran again.
    timer = StageTimer(detector)
    stage_frames = {"totals": [], "stages": {stage: [] for _, stage in STAGES}}
    found, detections = 0, 0
    iterator = detector.track(frames)
    with timer.active():
        while True:
            timer.frame = {}
            start = time.perf_counter()
            try:
                person = next(iterator)
            except StopIteration:
                break
            total = time.perf_counter() - start
            parts = dict(timer.frame)
            parts["rest"] = total - sum(parts.values())
            detections += "detector model (set + invoke + get)" in timer.frame
            found += person is not None
            stage_frames["totals"].append(total)
            for _, stage in STAGES:
                stage_frames["stages"][stage].append(parts.get(stage, 0.0))
    return {
        "count": count,
        "size": frames[0].shape[:2],
        "decode": decode_times,
        "track": track_times,
        "both": both_times,
        "no_mask": no_mask_times,
        "per_frame": per_frame,
        "stage_frames": stage_frames,
        "found": found,
        "detections": detections,
    }


def _decoded_frames(path, count):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for k, frame in enumerate(container.decode(stream)):
            if k >= count:
                return
            yield frame


# --------------------------------------------------------------------------- 3. invokes


def conv_flops(interpreter):
    """Multiply-adds x 2 of the CONV_2D and DEPTHWISE_CONV_2D ops of a LiteRT model."""
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    flops = 0
    for op in interpreter._get_ops_details():
        if op["op_name"] not in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            continue
        weights = tensors[op["inputs"][1]]["shape"]  # (out, kh, kw, in) / (1, kh, kw, out)
        out = tensors[op["outputs"][0]]["shape"]  # (1, h, w, c)
        per_output = weights[1] * weights[2] * (weights[3] if op["op_name"] == "CONV_2D" else 1)
        flops += 2 * int(out[1]) * int(out[2]) * int(out[3]) * int(per_output)
    return flops


def model_inputs(detector, frame):
    """The two models' real input tensors for `frame` (letterbox, then the first region)."""
    height, width = frame.shape[:2]
    letterbox = geometry.frame_rect(height, width)
    detector_input = geometry.crop(frame, letterbox, geometry.DETECTOR_SIZE) / 127.5 - 1.0
    regions = detector.regions(frame)
    region = regions[0] if regions else geometry.frame_rect(height, width)
    landmark_input = geometry.crop(frame, region, geometry.LANDMARK_SIZE) / 255.0
    return {
        MODELS[0]: detector_input[None].astype(np.float32),
        MODELS[1]: landmark_input[None].astype(np.float32),
    }


def bench_invokes(inputs, repeats, threads=(1, 2)):
    """{(model, threads): [s]} of `invoke()` alone, threads interleaved; and conv FLOPs."""
    interpreters, flops = {}, {}
    for name in MODELS:
        for count in threads:
            interpreter = detector_module._interpreter(name, count)
            interpreter.set_tensor(interpreter.get_input_details()[0]["index"], inputs[name])
            for _ in range(3):
                interpreter.invoke()
            interpreters[name, count] = interpreter
        flops[name] = conv_flops(interpreters[name, threads[0]])
    times = {key: [] for key in interpreters}
    for _ in range(repeats):
        for key, interpreter in interpreters.items():
            start = time.perf_counter()
            interpreter.invoke()
            times[key].append(time.perf_counter() - start)
    return times, flops


def bench_detect_threads(frames, repeats, threads=(1, 2)):
    detectors = {count: PoseDetector(num_threads=count) for count in threads}
    for detector in detectors.values():
        for frame in frames[:2]:
            detector.detect(frame)
    times = {count: [] for count in threads}
    for k in range(repeats):
        frame = frames[k % len(frames)]
        for count, detector in detectors.items():
            start = time.perf_counter()
            detector.detect(frame)
            times[count].append(time.perf_counter() - start)
    return times


# --------------------------------------------------------------------------- 4. TF conv


def bench_conv(seconds):
    """GFLOP/s of a TF 3x3 conv (float32, stride 1, SAME) for a small and a larger map."""
    import tensorflow as tf

    rows = []
    shapes = (
        ("small: 1x64x64x48 -> 48 (the models' scale)", (1, 64, 64, 48), 48),
        ("larger: 1x128x128x128 -> 128", (1, 128, 128, 128), 128),
    )
    for name, shape, out_channels in shapes:
        rng = np.random.default_rng(0)
        x = tf.constant(rng.standard_normal(shape, np.float32))
        w = tf.constant(rng.standard_normal((3, 3, shape[-1], out_channels), np.float32))

        @tf.function
        def conv(x, w):
            return tf.nn.conv2d(x, w, 1, "SAME")

        flops = 2 * shape[1] * shape[2] * out_channels * 9 * shape[-1]
        for _ in range(3):
            conv(x, w).numpy()
        calls, start = 0, time.perf_counter()
        budget = seconds / len(shapes)
        while time.perf_counter() - start < budget or calls < 3:
            conv(x, w).numpy()
            calls += 1
        elapsed = time.perf_counter() - start
        rows.append((name, flops, elapsed / calls, flops * calls / elapsed / 1e9))
    return rows, tf.__version__


# --------------------------------------------------------------------------- main


def cpu_name():
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def parse_size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if width < 8 or height < 8:
        raise argparse.ArgumentTypeError(f"the frame must be at least 8x8, got {text!r}")
    return width, height


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--video",
        default=str(TENNIS),
        help="video file or folder of images for part 1 (default: the bundled tennis frames)",
    )
    parser.add_argument(
        "--track-video",
        default=None,
        help="video file or image folder for part 2 (default: shared pose2sim/cam01.mp4 "
        "when present, else the tennis frames)",
    )
    parser.add_argument("--size", type=parse_size, default=(1280, 720), help="part 1 frame size")
    parser.add_argument("--repeats", type=int, default=30, help="timed detect calls (part 1)")
    parser.add_argument("--detect-frames", type=int, default=8, help="frames to cycle through")
    parser.add_argument("--track-frames", type=int, default=100, help="frames per pass (part 2)")
    parser.add_argument("--track-repeats", type=int, default=3, help="passes (part 2)")
    parser.add_argument("--invoke-repeats", type=int, default=30, help="invokes per model (3)")
    parser.add_argument("--conv-seconds", type=float, default=2.0, help="part 4 time budget")
    args = parser.parse_args(argv)
    for name in ("repeats", "detect_frames", "track_frames", "track_repeats", "invoke_repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    track_source = args.track_video
    if track_source is None:
        track_source = str(SHARED_TRACK_VIDEO if SHARED_TRACK_VIDEO.is_file() else TENNIS)
    for source in (args.video, track_source):
        if not pathlib.Path(source).exists():
            parser.error(f"{source} does not exist")

    cores = len(os.sched_getaffinity(0))
    load_before = os.getloadavg()[0]
    print(
        f"{time.strftime('%Y-%m-%d')}, {cpu_name()}, {cores} cores, {platform.machine()}; "
        f"LiteRT (ai-edge-litert) {version('ai-edge-litert')}, TF {version('tensorflow')}, "
        f"numpy {np.__version__}, Pillow {version('pillow')}, PyAV {av.__version__}"
    )

    # 1. detect
    width, height = args.size
    frames = [fit(f, width, height) for f in read_frames(args.video, args.detect_frames)]
    if not frames:
        parser.error(f"no frames in {args.video}")
    detector = PoseDetector()
    people_frames = [f for f in frames if detector.detect(f)] or frames
    plain, totals, stages, found = bench_detect(detector, frames, args.repeats)
    detect_median, detect_p90 = summary(plain)
    with_people = sum(1 for count in found if count)
    print()
    print(
        f"## 1. Detection of one {width}x{height} frame ({len(frames)} frames of "
        f"{args.video}, default num_threads = {min(4, cores)})"
    )
    print()
    print(
        f"A person was found in {with_people} of the {len(frames)} frames (people per frame: "
        f"{found}); {args.repeats} calls cycle through "
        + ("those frames." if with_people else "all frames (nobody found in any).")
    )
    print()
    print(
        f"`detect(frame)`, untimed stages: median {detect_median:.1f} ms, p90 {detect_p90:.1f} ms"
    )
    print()
    print_stage_table(totals, stages, "frame")

    print()
    print(f"(load average now {os.getloadavg()[0]:.1f})")

    # 2. track
    track = bench_track(detector, track_source, args.track_frames, args.track_repeats)
    count = track["count"]
    print()
    print(
        f"## 2. Tracking {count} frames of {track_source} "
        f"({track['size'][1]}x{track['size'][0]}; median of {args.track_repeats} passes; "
        f"person found in {track['found']}/{count} frames, detector run on "
        f"{track['detections']} of them)"
    )
    print()
    print("| what | frames/s | ms / frame |")
    print("|---|---:|---:|")
    reader = "PyAV" if pathlib.Path(track_source).is_file() else "Pillow, image files"
    rows = [(f"decoding alone ({reader} -> RGB arrays)", track["decode"])]
    rows.append(("tracking decoded frames", track["track"]))
    if track["both"]:
        rows.append(("decoding + tracking, one loop", track["both"]))
    what_if = "decoding + tracking" if track["both"] else "tracking decoded frames"
    rows.append((f"what-if: {what_if}, without the full-frame mask", track["no_mask"]))
    fps = {}
    for name, passes in rows:
        seconds = statistics.median(passes)
        fps[name] = count / seconds
        print(f"| {name} | {count / seconds:.1f} | {1e3 * seconds / count:.1f} |")
    per_frame = summary(track["per_frame"])
    print()
    print(
        f"Tracking, per frame over all passes: median {per_frame[0]:.1f} ms, "
        f"p90 {per_frame[1]:.1f} ms. Split of one more pass:"
    )
    print()
    print_stage_table(track["stage_frames"]["totals"], track["stage_frames"]["stages"], "frame")

    print()
    print(f"(load average now {os.getloadavg()[0]:.1f})")

    # 3. invokes
    inputs = model_inputs(detector, people_frames[0])
    invokes, flops = bench_invokes(inputs, args.invoke_repeats)
    thread_detect = bench_detect_threads(people_frames, max(5, args.repeats // 2))
    print()
    print(f"## 3. Raw LiteRT invoke, median / p90 of {args.invoke_repeats} (threads interleaved)")
    print()
    print(
        "| model | conv GFLOP | 1 thread ms | p90 | 2 threads ms | p90 | 2 vs 1 | "
        "GFLOP/s at 2 threads |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in MODELS:
        one, two = summary(invokes[name, 1]), summary(invokes[name, 2])
        print(
            f"| {name} | {flops[name] / 1e9:.2f} | {one[0]:.1f} | {one[1]:.1f} | {two[0]:.1f} | "
            f"{two[1]:.1f} | {one[0] / two[0]:.2f}x | {flops[name] / two[0] / 1e6:.1f} |"
        )
    one, two = summary(thread_detect[1]), summary(thread_detect[2])
    print(
        f"| whole `detect` ({width}x{height}) | {sum(flops.values()) / 1e9:.2f} | {one[0]:.1f} | "
        f"{one[1]:.1f} | {two[0]:.1f} | {two[1]:.1f} | {one[0] / two[0]:.2f}x | "
        f"{sum(flops.values()) / two[0] / 1e6:.1f} |"
    )

    print()
    print(f"(load average now {os.getloadavg()[0]:.1f})")

    # 4. the machine's limit
    conv_rows, tf_version = bench_conv(args.conv_seconds)
    print()
    print(f"## 4. The machine's limit: TF {tf_version} 3x3 conv, float32, {cores} cores")
    print()
    print("| conv | GFLOP / call | ms / call | GFLOP/s |")
    print("|---|---:|---:|---:|")
    for name, conv_flop, seconds, rate in conv_rows:
        print(f"| {name} | {conv_flop / 1e9:.3f} | {1e3 * seconds:.2f} | {rate:.1f} |")

    print()
    track_fps = fps.get("decoding + tracking, one loop", fps["tracking decoded frames"])
    print(
        f"targets: detect <= {TARGET_DETECT_MS:.0f} ms per {width}x{height} frame: "
        f"{detect_median:.1f} ms ({'met' if detect_median <= TARGET_DETECT_MS else 'MISSED'}); "
        f"tracking >= {TARGET_TRACK_FPS:.0f} frames/s: {track_fps:.1f} frames/s "
        f"({'met' if track_fps >= TARGET_TRACK_FPS else 'MISSED'}; "
        f"{'decoding included' if track['both'] else 'decoded frames'})"
    )
    print(f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
