"""`posegan_zoo.animation` and `posegan-zoo animate`: pose sequences of every kind, batched
frames equal to single regenerations, MP4 and GIF output, errors naming the argument."""

import fractions
import json
import pathlib

import av
import numpy as np
import pytest
from PIL import Image

from posegan_zoo import PoseRegenerator, WarpOnlyGenerator
from posegan_zoo.animation import (
    PoseSequence,
    align_poses,
    animate,
    read_pose_sequence,
)
from posegan_zoo.cli import main
from posegan_zoo.data import read_posewarp_dataset
from posegan_zoo.errors import (
    DataFormatError,
    InvalidConfigError,
    InvalidPoseError,
    InvalidVideoError,
)
from posegan_zoo.pose import Pose, person_scale
from posegan_zoo.video import read_video, video_info


@pytest.fixture(scope="module")
def clip(tennis_dir):
    [clip] = read_posewarp_dataset(tennis_dir)
    return clip


@pytest.fixture(scope="module")
def regenerator():
    return PoseRegenerator(WarpOnlyGenerator(64), batch_size=3)


def _keypoint_folder(folder, poses, empty=()):
    """One `posegan-zoo detect`-style JSON per pose (frames in `empty` hold nobody)."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, pose in enumerate(poses):
        keypoints = np.concatenate([pose.joints, pose.visible[:, None]], axis=1)
        people = [] if k in empty else [{"keypoints": keypoints.tolist(), "score": 0.9}]
        record = {"image": f"{k + 1}.jpg", "layout": "posewarp14", "people": people}
        # Natural order: 10.json after 9.json.
        (folder / f"{k + 1}.json").write_text(json.dumps(record))
    return folder


def test_frames_are_the_single_call_fakes_in_batches(clip, regenerator, tmp_path):
    photo, source = clip.frame_paths[0], clip.poses[0]
    targets = [clip.poses[k] for k in range(1, 8)]  # 7 poses: batches of 3, 3 and 1
    folder = _keypoint_folder(tmp_path / "poses", targets)
    result = animate(
        regenerator,
        photo,
        folder,
        tmp_path / "walk.gif",
        source_pose=source,
        align="none",
        frames_dir=tmp_path / "frames",
        fps=5,
    )
    assert result.frame_count == 7 and result.missing == 0
    assert result.size == (676, 1280) and result.fps == 5.0
    assert [p.name for p in result.frame_paths] == [f"frame-{k:04d}.png" for k in range(7)]
    for k, path in enumerate(result.frame_paths):
        single = regenerator(photo, source, targets[k]).fake
        with Image.open(path) as png:
            frame = np.asarray(png)
        assert frame.shape == (676, 1280, 3)
        np.testing.assert_allclose(frame, single, atol=1)
        assert np.mean(frame != single) < 1e-4
    # The frames differ: the person moves.
    assert not np.array_equal(
        np.asarray(Image.open(result.frame_paths[0])), np.asarray(Image.open(result.frame_paths[6]))
    )
    with Image.open(result.path) as gif:
        assert gif.n_frames == 7 and gif.size == (1280, 676)
        assert gif.info["duration"] == 200
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames", "poses", "walk.gif"]


def test_mp4_from_a_prepared_dataset_video(clip, regenerator, tennis_dir, tmp_path):
    out = tmp_path / "tennis.mp4"
    result = animate(regenerator, clip.frame_paths[2], tennis_dir, out, source_pose=clip.poses[2])
    info = video_info(out)
    assert (info.width, info.height, info.frame_count, info.fps) == (1280, 676, 8, 10.0)
    assert info.codec == "h264"
    # Aligned onto the photo's person: the scales match it, the motion is the clip's.
    scales = person_scale(result.poses)
    assert np.median(scales) == pytest.approx(float(person_scale(clip.poses[2])))
    steps = np.diff(result.poses.joints, axis=0)
    np.testing.assert_allclose(
        steps,
        np.diff(clip.poses.joints, axis=0)
        * np.median(scales)
        / np.median(person_scale(clip.poses)),
        atol=1e-6,
    )
    # What the MP4 holds is the frames (H.264 at crf 18: close, not exact).
    frames = [frame for _, frame in read_video(out)]
    assert len(frames) == 8
    expected = list(regenerator.generate_frames(clip.frame_paths[2], result.poses, clip.poses[2]))
    for frame, reference in zip(frames, expected, strict=True):
        assert np.abs(frame.astype(int) - reference).mean() < 3.0


def test_the_info_file_every_and_max_frames(clip, tennis_dir):
    mat = tennis_dir / "info" / "Flavia Pennetta in 4k.mat"
    sequence = read_pose_sequence(mat, every=2, max_frames=3)
    assert len(sequence) == 3 and sequence.fps is None
    np.testing.assert_allclose(sequence.poses.joints, clip.poses.joints[[0, 2, 4]])
    whole = read_pose_sequence(tennis_dir, clip="Flavia Pennetta in 4k")
    assert whole.poses == clip.poses
    in_memory = read_pose_sequence(clip.poses.to_array(), every=3)
    assert in_memory.poses == clip.poses[::3]


def test_frames_without_a_pose_hold_the_previous_one(clip, tmp_path):
    poses = [clip.poses[k] for k in range(5)]
    folder = _keypoint_folder(tmp_path / "poses", poses, empty=(0, 3))
    sequence = read_pose_sequence(folder)
    assert len(sequence) == 5 and sequence.missing == 2
    kept = [1, 1, 2, 2, 4]  # the first frame takes the first pose found
    assert sequence.poses == Pose.stack([clip.poses[k] for k in kept])
    # Keypoint files in another person order: `person` picks in each.
    many = tmp_path / "two.json"
    records = []
    for k in range(3):
        people = [
            {"keypoints": clip.poses.joints[k].tolist()},
            {"keypoints": (clip.poses.joints[k] + 100).tolist()},
        ]
        records.append({"image": f"{k}.jpg", "layout": "posewarp14", "people": people})
    many.write_text(json.dumps(records))
    second = read_pose_sequence(many, person=1)
    np.testing.assert_allclose(second.poses.joints, clip.poses.joints[:3] + 100)


def _write_video(path, frames, fps):
    """Writes RGB frames as an MP4 with PyAV directly."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fractions.Fraction(fps))
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_a_video_s_poses_are_detected(clip, tmp_path):
    # Four tennis frames at half size (640 x 338), written with PyAV.
    frames = [
        np.asarray(Image.open(path).convert("RGB").reduce(2)) for path in clip.frame_paths[:4]
    ]
    path = tmp_path / "tennis.mp4"
    _write_video(path, frames, fps=12)
    sequence = read_pose_sequence(path, every=2)
    assert len(sequence) == 2 and sequence.fps == pytest.approx(6.0)
    annotated = (clip.poses.joints[[0, 2]] + 0.5) / 2 - 0.5
    found = sequence.poses
    height = float(np.ptp(annotated[0][:, 1]))
    errors = np.linalg.norm(found.joints - annotated, axis=-1)[found.visible]
    assert found.visible.sum() >= 20 and np.median(errors) < 0.1 * height


class _NobodyDetector:
    def track(self, frames):
        for _ in frames:
            yield None


def test_bad_inputs_raise_errors_naming_the_argument(clip, regenerator, tmp_path, tennis_dir):
    photo, source = clip.frame_paths[0], clip.poses[0]
    with pytest.raises(InvalidConfigError, match=r"`out`.*'.avi'.*.mp4 or .gif"):
        animate(regenerator, photo, clip.poses, tmp_path / "x.avi", source_pose=source)
    with pytest.raises(InvalidConfigError, match="`align`"):
        animate(regenerator, photo, clip.poses, tmp_path / "x.gif", align="yes")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match=r"`poses`.*no keypoint .json"):
        read_pose_sequence(empty)
    nobody = _keypoint_folder(tmp_path / "nobody", [clip.poses[0]] * 3, empty=(0, 1, 2))
    with pytest.raises(InvalidPoseError, match="`poses`: no usable pose"):
        animate(regenerator, photo, nobody, tmp_path / "x.gif", source_pose=source)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 10)
    with pytest.raises(InvalidVideoError, match=r"`poses`: video .*broken.mp4"):
        read_pose_sequence(broken)
    good = tmp_path / "grass.mp4"
    _write_video(good, [np.full((48, 64, 3), 90, np.uint8)] * 2, fps=4)
    with pytest.raises(InvalidPoseError, match=r"no usable pose .*grass.mp4"):
        read_pose_sequence(good, detector=_NobodyDetector())
    with pytest.raises(DataFormatError, match=r"`poses`: .*notes.txt.* is not a pose sequence"):
        (tmp_path / "notes.txt").write_text("x")
        read_pose_sequence(tmp_path / "notes.txt")
    with pytest.raises(InvalidConfigError, match=r"`clip`: .* no video 'nope'"):
        read_pose_sequence(tennis_dir, clip="nope")
    with pytest.raises(InvalidPoseError, match="`poses` is empty"):
        read_pose_sequence([])
    with pytest.raises(InvalidConfigError, match="`batch_size`"):
        animate(regenerator, photo, clip.poses, tmp_path / "x.gif", batch_size=0)
    assert not (tmp_path / "x.gif").exists() and not (tmp_path / "x.avi").exists()


def test_a_failed_write_leaves_no_file(clip, tmp_path, monkeypatch):
    regenerator = PoseRegenerator(WarpOnlyGenerator(64), batch_size=2)
    frames_from = regenerator._frames_from

    def failing(*args, **kwargs):
        for k, frame in enumerate(frames_from(*args, **kwargs)):
            if k == 3:
                raise InvalidPoseError("stopped")
            yield frame

    monkeypatch.setattr(regenerator, "_frames_from", failing)
    out = tmp_path / "out" / "walk.mp4"
    with pytest.raises(InvalidPoseError, match="stopped"):
        animate(regenerator, clip.frame_paths[0], clip.poses, out, source_pose=clip.poses[0])
    assert list(out.parent.iterdir()) == []  # neither the video nor its temporary file


def test_align_poses_fits_the_sequence_onto_the_person(clip):
    sequence = clip.poses
    source = sequence[0].transform(np.array([[0.5, 0.0, 40.0], [0.0, 0.5, -20.0]]))
    moved = align_poses(sequence, source)
    assert np.median(person_scale(moved)) == pytest.approx(float(person_scale(source)))
    centres = [
        (j[v].min(0) + j[v].max(0)) / 2 for j, v in zip(moved.joints, moved.visible, strict=True)
    ]
    source_centre = (source.joints.min(0) + source.joints.max(0)) / 2
    np.testing.assert_allclose(np.mean(centres, axis=0), source_centre, atol=1e-9)
    assert isinstance(read_pose_sequence(PoseSequence(sequence, 25.0, "x")), PoseSequence)


def test_animate_command_writes_a_gif_and_frames(clip, tmp_path, capsys):
    poses = _keypoint_folder(tmp_path / "poses", [clip.poses[k] for k in (1, 3, 5)])
    out, frames = tmp_path / "anim.gif", tmp_path / "frames"
    code = main(
        [
            "animate",
            str(clip.frame_paths[0]),
            "--pose",
            str(pathlib.Path(__file__).parents[1] / "examples/data/poses/tennis_1.json"),
            "--poses",
            str(poses),
            "--out",
            str(out),
            "--preset",
            "warp-only",
            "--batch-size",
            "2",
            "--fps",
            "4",
            "--frames",
            str(frames),
        ]
    )
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert record["frames"] == 3 and record["fps"] == 4.0 and record["size"] == [676, 1280]
    assert sorted(p.name for p in frames.iterdir()) == [f"frame-{k:04d}.png" for k in range(3)]
    with Image.open(out) as gif:
        assert gif.n_frames == 3


def test_animate_command_errors_name_the_flag(clip, tmp_path, capsys):
    photo = str(clip.frame_paths[0])
    code = main(["animate", photo, "--poses", str(tmp_path), "--out", str(tmp_path / "a.webm")])
    assert code == 2 and "--out" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    code = main(
        [
            "animate",
            photo,
            "--poses",
            str(empty),
            "--out",
            str(tmp_path / "a.mp4"),
            "--preset",
            "warp-only",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "--poses" in err and "no keypoint .json" in err
    assert not (tmp_path / "a.mp4").exists()
