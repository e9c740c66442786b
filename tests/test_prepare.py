"""Videos -> PoseWarp-format datasets (`prepare_videos`, `posegan-zoo prepare`)."""

import dataclasses
import json
import pathlib
import shutil
import warnings

import numpy as np
import pytest
import scipy.io
from PIL import Image

from posegan_zoo.cli import main
from posegan_zoo.data import prepare_videos, read_posewarp_dataset
from posegan_zoo.data.prepare import (
    CAMERA_MOTION_THRESHOLD,
    DROP_REASONS,
    CameraMotionWarning,
    find_videos,
    video_names,
)
from posegan_zoo.errors import DataFormatError, InvalidConfigError, InvalidVideoError
from posegan_zoo.video import write_video

ROOT = pathlib.Path(__file__).resolve().parents[1]
TENNIS = ROOT / "examples" / "data" / "posewarp_tennis"
SCALE = 4  # the tennis frames (1280 x 676) are shrunk to 320 x 169 for the fast tests

# The bundled tennis clip's camera moves a little (camera motion about 4.5 > 4): the tests
# that check the warning turn it back on.
pytestmark = pytest.mark.filterwarnings("ignore::posegan_zoo.data.prepare.CameraMotionWarning")


@dataclasses.dataclass
class FakeDetection:
    """What `prepare_videos` reads of a `posegan_zoo.detection.PersonDetection`."""

    joints: np.ndarray
    visibility: np.ndarray
    score: float
    box: np.ndarray
    mask: np.ndarray


def _box_mask(shape, box):
    mask = np.zeros(shape, np.float32)
    x, y, w, h = (round(float(v)) for v in box)
    mask[max(y, 0) : y + h, max(x, 0) : x + w] = 1.0
    return mask


class FakeDetector:
    """Deterministic stand-in for `PoseDetector`: frame i of a video gets `joints[i]`.

    `plan` maps a frame number (counted over the frames `track` is given) to "none",
    "low" (score 0.2), "hidden" (one joint of low visibility) or "outside" (one joint
    beyond the right edge).
    """

    def __init__(self, joints, boxes, plan=None, fail_after=None):
        self.joints, self.boxes = np.asarray(joints), np.asarray(boxes)
        self.plan = plan or {}
        self.fail_after = fail_after
        self.calls = 0

    def track(self, frames):
        self.calls += 1
        for i, frame in enumerate(frames):
            if self.fail_after is not None and i >= self.fail_after:
                raise RuntimeError("detector crashed")
            what = self.plan.get(i)
            if what == "none":
                yield None
                continue
            k = i % len(self.joints)
            joints = self.joints[k].copy()
            visibility = np.full(14, 0.9)
            if what == "hidden":
                visibility[4] = 0.1
            if what == "outside":
                joints[7, 0] = frame.shape[1] + 5.0
            yield FakeDetection(
                joints=joints,
                visibility=visibility,
                score=0.2 if what == "low" else 0.95,
                box=self.boxes[k].copy(),
                mask=_box_mask(frame.shape[:2], self.boxes[k]),
            )


@pytest.fixture(scope="module")
def tennis_labels():
    [clip] = read_posewarp_dataset(TENNIS)
    return clip


@pytest.fixture(scope="module")
def tennis_video(tmp_path_factory, tennis_labels):
    """The 8 bundled tennis frames, shrunk 4 times, as an MP4; with their joints and boxes."""
    frames = [
        np.asarray(Image.open(path).convert("RGB").reduce(SCALE))
        for path in tennis_labels.frame_paths
    ]
    path = tmp_path_factory.mktemp("videos") / "tennis.mp4"
    write_video(path, frames, fps=25)
    joints = (tennis_labels.poses.joints + 0.5) / SCALE - 0.5  # pixel centres at integers
    boxes = tennis_labels.boxes / SCALE
    return path, joints, boxes


def _textured(height, width, seed):
    """A smooth random texture (a background a moving camera visibly shifts)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    big = Image.fromarray(small).resize((width // 8 * 8 + 8, height // 8 * 8 + 8), Image.BICUBIC)
    return np.asarray(big)[:height, :width]


def _person_video(path, pan=0, count=8, height=96, width=128):
    """A textured background with a grey 'person'; the view slides `pan` px per frame."""
    scene = _textured(height, width + pan * count, seed=3)
    box = np.array([50.0, 20.0, 24.0, 60.0])
    frames = []
    for k in range(count):
        frame = scene[:, k * pan : k * pan + width].copy()
        frame[20:80, 50 + k % 2 : 74 + k % 2] = 128
        frames.append(frame)
    write_video(path, frames, fps=10)
    joints = np.column_stack([np.linspace(52, 72, 14), np.linspace(22, 78, 14)])
    return path, np.repeat(joints[None], count, 0), np.repeat(box[None], count, 0)


def _files(root):
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_prepare_writes_the_paper_format_with_masks(tmp_path, tennis_video):
    path, joints, boxes = tennis_video
    plan = {2: "none", 3: "low", 5: "hidden", 6: "outside"}
    out = tmp_path / "data"
    [report] = prepare_videos(path, out, FakeDetector(joints, boxes, plan), progress=False)

    assert report["status"] == "prepared" and report["video"] == "tennis"
    assert (report["frames_read"], report["frames_kept"]) == (8, 4)
    assert report["kept_frames"] == [0, 1, 4, 7]
    assert report["dropped"] == {
        "no person": 1,
        "low score": 1,
        "joints not visible": 1,
        "joints outside the frame": 1,
    }
    assert list(report["dropped"]) == list(DROP_REASONS)
    assert report["source"] == {
        "path": str(path),
        "width": 320,
        "height": 170,  # 169 padded to an even height
        "fps": 25.0,
        "frame_count": 8,
    }
    assert report["thresholds"] == {
        "every": 1,
        "max_frames": None,
        "min_score": 0.5,
        "min_visibility": 0.5,
        "min_visible_joints": 14,
        "max_camera_motion": CAMERA_MOTION_THRESHOLD,
    }
    assert report["detector"] == "FakeDetector"
    on_disk = json.loads((out / "reports" / "tennis.json").read_text())
    assert on_disk == {k: v for k, v in report.items() if k != "status"}

    [clip] = read_posewarp_dataset(out)
    assert clip.name == "tennis" and len(clip) == 4
    assert [p.name for p in clip.frame_paths] == ["1.jpg", "2.jpg", "3.jpg", "4.jpg"]
    np.testing.assert_allclose(clip.poses.joints, joints[[0, 1, 4, 7]], atol=1e-9)
    np.testing.assert_allclose(clip.boxes, boxes[[0, 1, 4, 7]])
    raw = scipy.io.loadmat(out / "info" / "tennis.mat")["data"][0, 0]
    np.testing.assert_allclose(np.moveaxis(raw["X"], 2, 0) - 1, joints[[0, 1, 4, 7]])
    with Image.open(clip.frame_paths[0]) as frame:
        assert frame.format == "JPEG" and frame.size == (320, 170)
    assert [p.name for p in clip.mask_paths] == ["1.png", "2.png", "3.png", "4.png"]
    with Image.open(clip.mask_paths[2]) as opened:
        assert opened.mode == "L" and opened.size == (320, 170)
        mask = np.asarray(opened)
    expected = _box_mask((170, 320), boxes[4]) * 255
    np.testing.assert_array_equal(mask, expected.astype(np.uint8))
    assert sorted(p.name for p in out.iterdir()) == ["frames", "info", "masks", "reports"]


def test_thresholds_and_sampling_are_honoured(tmp_path, tennis_video):
    path, joints, boxes = tennis_video
    detector = FakeDetector(joints, boxes, {1: "hidden", 2: "outside"})
    [report] = prepare_videos(
        path, tmp_path, detector, every=2, max_frames=3, min_visible_joints=13, progress=False
    )
    # Frames 0, 2 and 4 are read; the detector sees them as its frames 0, 1 and 2. With 13
    # joints required, one hidden or outside joint no longer drops a frame.
    assert report["kept_frames"] == [0, 2, 4] and report["frames_read"] == 3
    [clip] = read_posewarp_dataset(tmp_path)
    visible = clip.poses.visible
    assert visible[0].all() and not visible[1, 4] and not visible[2, 7]
    assert visible[1].sum() == visible[2].sum() == 13
    [strict] = prepare_videos(
        path, tmp_path / "strict", FakeDetector(joints, boxes), min_score=0.99, progress=False
    )
    assert strict["frames_kept"] == 0 and strict["dropped"]["low score"] == 8
    for bad in (
        {"min_score": 1.5},
        {"min_visibility": -0.1},
        {"min_visible_joints": 15},
        {"every": 0},
        {"max_frames": 0},
    ):
        with pytest.raises(InvalidConfigError, match=next(iter(bad))):
            prepare_videos(path, tmp_path / "bad", FakeDetector(joints, boxes), **bad)
    assert not (tmp_path / "bad").exists()


def test_resume_skips_prepared_videos_and_overwrite_redoes_them(tmp_path, tennis_video):
    path, joints, boxes = tennis_video
    out = tmp_path / "data"
    detector = FakeDetector(joints, boxes, {0: "none"})
    [first] = prepare_videos(path, out, detector, progress=False)
    before = _files(out)
    [again] = prepare_videos(path, out, detector, progress=False)
    assert detector.calls == 1 and again["status"] == "skipped"
    assert {k: v for k, v in again.items() if k != "status"} == {
        k: v for k, v in first.items() if k != "status"
    }
    assert _files(out) == before
    [redone] = prepare_videos(
        path, out, FakeDetector(joints, boxes), overwrite=True, progress=False
    )
    assert redone["status"] == "prepared" and redone["frames_kept"] == 8
    assert len(read_posewarp_dataset(out)[0]) == 8


def test_output_is_deterministic(tmp_path, tennis_video):
    path, joints, boxes = tennis_video
    for name in ("one", "two"):
        prepare_videos(path, tmp_path / name, FakeDetector(joints, boxes), progress=False)
    one, two = _files(tmp_path / "one"), _files(tmp_path / "two")
    assert one.keys() == two.keys() and "info/tennis.mat" in one
    assert all(one[key] == two[key] for key in one)
    assert b"Created on" not in one["info/tennis.mat"]  # no time stamp in the .mat header


def test_a_video_without_kept_frame_gets_a_report_only(tmp_path, tennis_video):
    path, joints, boxes = tennis_video
    plan = dict.fromkeys(range(8), "none")
    out = tmp_path / "data"
    [report] = prepare_videos(path, out, FakeDetector(joints, boxes, plan), progress=False)
    assert report["status"] == "no frame kept" and report["frames_kept"] == 0
    assert report["dropped"]["no person"] == 8 and report["camera_motion"] is None
    assert json.loads((out / "reports" / "tennis.json").read_text())["frames_kept"] == 0
    assert not (out / "frames" / "tennis").exists() and not (out / "info" / "tennis.mat").exists()
    assert not (out / "masks" / "tennis").exists()
    # A re-run with overwrite that again keeps nothing also removes an older clip.
    prepare_videos(path, out, FakeDetector(joints, boxes), overwrite=True, progress=False)
    assert (out / "info" / "tennis.mat").exists()
    prepare_videos(path, out, FakeDetector(joints, boxes, plan), overwrite=True, progress=False)
    assert not (out / "frames" / "tennis").exists() and not (out / "info" / "tennis.mat").exists()


def test_camera_motion_warning(tmp_path):
    static = _person_video(tmp_path / "static.mp4", pan=0)
    panning = _person_video(tmp_path / "panning.mp4", pan=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CameraMotionWarning)
        [still] = prepare_videos(
            static[0], tmp_path / "a", FakeDetector(*static[1:]), progress=False
        )
    assert still["camera_motion"] < 1.0 and not still["camera_motion_warning"]
    with pytest.warns(CameraMotionWarning, match="'panning'"):
        [moving] = prepare_videos(
            panning[0], tmp_path / "b", FakeDetector(*panning[1:]), progress=False
        )
    assert moving["camera_motion"] > CAMERA_MOTION_THRESHOLD and moving["camera_motion_warning"]
    assert json.loads((tmp_path / "b" / "reports" / "panning.json").read_text())[
        "camera_motion_warning"
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", CameraMotionWarning)
        prepare_videos(
            panning[0],
            tmp_path / "c",
            FakeDetector(*panning[1:]),
            max_camera_motion=1000.0,
            progress=False,
        )


def test_folders_are_searched_and_names_made_unique(tmp_path, capsys):
    source = _person_video(tmp_path / "x.mp4", count=3)
    for folder in ("pose2sim", "other/deep"):
        (tmp_path / "videos" / folder).mkdir(parents=True)
        shutil.copy(source[0], tmp_path / "videos" / folder / "cam01.mp4")
    shutil.copy(source[0], tmp_path / "videos" / "My clip (2).MOV")
    (tmp_path / "videos" / "readme.txt").write_text("not a video")
    found = find_videos(tmp_path / "videos")
    assert [p.relative_to(tmp_path / "videos").as_posix() for p in found] == [
        "My clip (2).MOV",
        "other/deep/cam01.mp4",
        "pose2sim/cam01.mp4",
    ]
    assert find_videos([found[0], tmp_path / "videos"]) == found  # each video once
    reports = prepare_videos(tmp_path / "videos", tmp_path / "data", FakeDetector(*source[1:]))
    assert [r["video"] for r in reports] == ["My_clip_2", "deep_cam01", "pose2sim_cam01"]
    assert [c.name for c in read_posewarp_dataset(tmp_path / "data")] == sorted(
        ["My_clip_2", "deep_cam01", "pose2sim_cam01"]
    )
    progress = capsys.readouterr().err
    assert "[3/3] pose2sim_cam01: 3 frames read, 3 kept" in progress
    assert video_names(["a/x.mp4", "b/x.mp4", "b/X.mkv", ".hidden.mp4"]) == [
        "a_x",
        "b_x",
        "b_X-2",  # distinct on a case-insensitive file system too
        "hidden",
    ]
    assert video_names(["a/v.mp4", "c/a/v.mp4"]) == ["a_v", "a_v-2"]
    with pytest.raises(InvalidVideoError, match="holds no video"):
        find_videos(tmp_path / "data")
    with pytest.raises(InvalidVideoError, match="does not exist"):
        find_videos(tmp_path / "nowhere")
    with pytest.raises(InvalidVideoError, match="no video given"):
        find_videos([])


def test_a_crash_leaves_no_half_written_clip(tmp_path, tennis_video):
    path, joints, boxes = tennis_video
    out = tmp_path / "data"
    with pytest.raises(RuntimeError, match="crashed"):
        prepare_videos(path, out, FakeDetector(joints, boxes, fail_after=3), progress=False)
    assert not (out / "reports" / "tennis.json").exists()
    assert not (out / "frames" / "tennis").exists() and not (out / "info" / "tennis.mat").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    # A hidden leftover of a killed write (staging folder, temporary .mat) is ignored by the
    # reader and replaced by the next run.
    (out / ".prepare-tennis" / "frames").mkdir(parents=True)
    (out / "info").mkdir()
    (out / "info" / ".tennis.mat.0123456789ab.mat").write_bytes(b"partial")
    [report] = prepare_videos(path, out, FakeDetector(joints, boxes), progress=False)
    assert report["status"] == "prepared"
    assert len(read_posewarp_dataset(out)[0]) == 8
    assert not (out / ".prepare-tennis").exists()


def test_broken_videos_raise_and_earlier_ones_stay(tmp_path, tennis_video):
    path, joints, boxes = tennis_video
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(path, videos / "a_good.mp4")
    data = path.read_bytes()
    (videos / "b_cut.mp4").write_bytes(data[: len(data) // 2])
    out = tmp_path / "data"
    with pytest.raises(InvalidVideoError, match=r"b_cut\.mp4"):
        prepare_videos(videos, out, FakeDetector(joints, boxes), progress=False)
    assert (out / "reports" / "a_good.json").exists()
    assert not (out / "reports" / "b_cut.json").exists()
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    (videos / "b_cut.mp4").write_bytes(b"")
    with pytest.raises(InvalidVideoError, match="empty"):
        prepare_videos(videos / "b_cut.mp4", out, FakeDetector(joints, boxes), progress=False)


def test_reader_checks_the_mask_count(tmp_path, tennis_video):
    path, joints, boxes = tennis_video
    prepare_videos(path, tmp_path, FakeDetector(joints, boxes), progress=False)
    (tmp_path / "masks" / "tennis" / "8.png").unlink()
    with pytest.raises(DataFormatError, match="masks/tennis") as caught:
        read_posewarp_dataset(tmp_path)
    assert "7 masks" in str(caught.value) and "8 frames" in str(caught.value)
    shutil.rmtree(tmp_path / "masks")
    [clip] = read_posewarp_dataset(tmp_path)
    assert clip.mask_paths is None


def test_cli_prepare_prints_a_table_and_a_summary(tmp_path, tennis_video, monkeypatch, capsys):
    import posegan_zoo.detection

    path, joints, boxes = tennis_video
    made = []

    def detector(**kwargs):
        made.append(kwargs)
        return FakeDetector(joints, boxes, {0: "none"})

    monkeypatch.setattr(posegan_zoo.detection, "PoseDetector", detector)
    out = tmp_path / "data"
    assert (
        main(["prepare", str(path), "--out", str(out), "--every", "2", "--min-visibility", "0.3"])
        == 0
    )
    assert made == [{"min_visibility": 0.3}]
    printed = capsys.readouterr().out
    table, summary = printed.split("\n{", 1)
    assert "| video | read | kept |" in table and "| tennis | 4 | 3 | 1 | 0 | 0 | 0 |" in table
    record = json.loads("{" + summary)
    assert record["videos"] == 1 and record["frames_kept"] == 3
    assert record["reports"][0]["thresholds"]["every"] == 2
    assert "kept_frames" not in record["reports"][0]
    assert main(["prepare", str(tmp_path / "missing.mp4"), "--out", str(out)]) == 2
    assert "posegan-zoo prepare: video or folder" in capsys.readouterr().err


def _torso(joints):
    return np.linalg.norm(joints[[2, 5]].mean(axis=0) - joints[[8, 11]].mean(axis=0))


def test_real_detector_on_the_tennis_frames(tmp_path, tennis_labels):
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in tennis_labels.frame_paths]
    path = tmp_path / "tennis.mp4"
    write_video(path, frames, fps=25)  # full 1280 x 676
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CameraMotionWarning)  # the clip's camera moves a bit
        [report] = prepare_videos(path, tmp_path / "data", progress=False)
    assert report["detector"] == "PoseDetector" and report["frames_kept"] >= 4
    [clip] = read_posewarp_dataset(tmp_path / "data")
    close = []
    for k, source in enumerate(report["kept_frames"]):
        label = tennis_labels.poses.joints[source]
        error = np.linalg.norm(clip.poses.joints[k] - label, axis=1) / _torso(label)
        close.append(np.median(error) < 0.2)
    assert sum(close) >= 0.75 * len(close), close
    assert len(clip.mask_paths) == len(clip)
    mask = np.asarray(Image.open(clip.mask_paths[0]))
    x, y, w, h = clip.boxes[0].astype(int)
    assert mask[y : y + h, x : x + w].mean() > 2 * mask.mean()  # the person is in the mask
    # The prepared dataset is what `posegan-zoo train` trains on (tiny model, 2 steps).
    run = tmp_path / "run"
    code = main(
        [
            "train",
            str(tmp_path / "data"),
            "--out",
            str(run),
            "--image-size",
            "64",
            "--width",
            "4",
            "--steps",
            "2",
            "--steps-per-epoch",
            "1",
            "--batch-size",
            "2",
            "--reconstruction-loss",
            "l1",
        ]
    )
    assert code == 0
    assert (run / "model" / "generator.keras").is_file()
