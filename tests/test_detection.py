"""The BlazePose detector: geometry, accuracy on labelled people, tracking, bad input."""

import json
import pathlib

import numpy as np
import pytest
from PIL import Image

from posegan_zoo import PoseDetector, detect_pose, detect_poses
from posegan_zoo.data import read_posewarp_dataset, to_posewarp_pose
from posegan_zoo.detection import geometry
from posegan_zoo.errors import InvalidConfigError, InvalidImageError, NoPersonError
from posegan_zoo.images import load_image

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
COCO_DIR = SHARED / "data" / "coco_val2017_persons"
SQUATS = SHARED / "data" / "videos" / "open" / "tfjs"
LIMB_JOINTS = slice(2, 14)


def _needs(path):
    if not path.exists():
        pytest.skip(f"test data not found at {path} (only CI has ../shared)")


@pytest.fixture(scope="module")
def detector():
    return PoseDetector()


@pytest.fixture(scope="module")
def tennis(tennis_dir):
    [clip] = read_posewarp_dataset(tennis_dir)
    return clip


def _pck(found, reference, threshold=0.2):
    """Fraction of the 12 limb joints within `threshold` torso lengths of the reference."""
    torso = np.linalg.norm(reference[1] - (reference[8] + reference[11]) / 2)
    errors = np.linalg.norm(found[LIMB_JOINTS] - reference[LIMB_JOINTS], axis=-1)
    labelled = np.isfinite(errors)
    return int((errors[labelled] < threshold * torso).sum()), int(labelled.sum())


def test_anchors_follow_the_detector_layout():
    anchors = geometry.detector_anchors()
    assert anchors.shape == (geometry.NUM_ANCHORS, 2)
    # 28 x 28 cells of 2 anchors, then 14 x 14 of 2, then 7 x 7 of 6.
    np.testing.assert_allclose(anchors[2], [1.5 / 28, 0.5 / 28])
    np.testing.assert_allclose(anchors[1568], [0.5 / 14, 0.5 / 14])
    np.testing.assert_allclose(anchors[1568 + 392 : 1568 + 392 + 6], [[1 / 14, 1 / 14]] * 6)
    np.testing.assert_allclose(anchors[-1], [6.5 / 7, 6.5 / 7])


def test_rotated_crop_and_its_inverse_agree():
    rng = np.random.default_rng(0)
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[40:60, 90:100] = 255  # a bright block
    rect = geometry.RotatedRect((95.0, 50.0), 64.0, 0.7)
    crop = geometry.crop(frame, rect, 64)
    # The block's centre is the region's centre, so it lands mid-crop whatever the angle.
    assert crop[30:34, 30:34].min() == 255 and crop[0, 0].max() == 0
    # Points: crop coordinates -> frame and back through the crop's affine matrix.
    points = rng.uniform(0, 1, (10, 2))
    in_frame = rect.to_frame(points)
    affine = np.vstack([rect.crop_affine(64), [0, 0, 1]])
    back = (np.linalg.inv(affine) @ np.c_[in_frame, np.ones(10)].T).T[:, :2] / 64
    np.testing.assert_allclose(back, points, atol=1e-9)
    # A mask that is 1 on the whole crop covers the rotated square in the frame.
    mask = geometry.uncrop_mask(np.ones((64, 64), np.float32), rect, 120, 160)
    assert mask[50, 95] == 1.0 and mask[0, 0] == 0.0
    assert abs(mask.sum() - 64.0**2) < 0.03 * 64.0**2


def test_upright_keypoints_give_an_upright_region():
    rect = geometry.rect_from_keypoints((100.0, 200.0), (100.0, 120.0))
    assert rect.angle == pytest.approx(0.0) and rect.side == pytest.approx(2 * 80 * 1.25)
    lying = geometry.rect_from_keypoints((100.0, 200.0), (180.0, 200.0))  # head to the right
    assert lying.angle == pytest.approx(np.pi / 2)


def test_weighted_nms_merges_overlaps_and_keeps_separate_people():
    boxes = np.array([[0, 0, 1, 1], [0.05, 0, 1.05, 1], [3, 3, 4, 4]], float)
    keypoints = np.stack([np.zeros((4, 2)), np.ones((4, 2)), np.full((4, 2), 5.0)])
    scores, merged, points = geometry.weighted_nms(np.array([0.75, 0.25, 0.6]), boxes, keypoints)
    np.testing.assert_allclose(scores, [0.75, 0.6])
    np.testing.assert_allclose(merged[0], [0.0125, 0, 1.0125, 1])
    np.testing.assert_allclose(points[0], np.full((4, 2), 0.25))
    np.testing.assert_allclose(points[1], np.full((4, 2), 5.0))


def test_joints_land_on_the_tennis_player(detector, tennis):
    hits = total = 0
    for k, path in enumerate(tennis.frame_paths):
        person = detector.detect(path)[0]
        h, n = _pck(person.joints, tennis.poses.joints[k])
        hits, total = hits + h, total + n
        # The mask covers the person: most joints sit on it.
        rows, cols = np.round(person.joints[:, ::-1]).astype(int).T
        assert person.mask[rows, cols].mean() > 0.6
        assert person.mask.shape == (676, 1280) and person.mask.dtype == np.float32
        x, y, w, h = person.box
        assert (person.joints >= [x, y]).all() and (person.joints <= [x + w, y + h]).all()
    # Measured 0.90 (one motion-blurred frame of a jump is poor); fails if it regresses.
    assert hits / total >= 0.85


def test_detection_matches_the_coco_keypoints_of_unseen_photos(detector):
    _needs(COCO_DIR)
    data = json.loads((COCO_DIR / "person_keypoints_val2017_subset.json").read_text())
    files = {image["id"]: image["file_name"] for image in data["images"]}
    largest = {}
    for annotation in data["annotations"]:
        if annotation.get("iscrowd") or annotation["num_keypoints"] < 10:
            continue
        keypoints = np.array(annotation["keypoints"], float).reshape(17, 3)
        joints = to_posewarp_pose(keypoints, "coco17").joints
        if not np.isfinite(joints[[1, 8, 11]]).all():
            continue
        torso = np.linalg.norm(joints[1] - (joints[8] + joints[11]) / 2)
        if torso > largest.get(annotation["image_id"], (0, None))[0]:
            largest[annotation["image_id"]] = (torso, joints)
    hits = total = found = 0
    for image_id, (_, joints) in sorted(largest.items()):
        people = detector.detect(COCO_DIR / "images" / files[image_id])
        found += bool(people)
        best = max((_pck(person.joints, joints)[0] for person in people), default=0)
        hits, total = hits + best, total + _pck(joints, joints)[1]
    # Measured: a person found in 17 of 23 images, PCK@0.2 0.37 over all 23 (BlazePose
    # is a single-person model; crowds and small people are its weak side).
    assert found >= 15
    assert hits / total >= 0.33


def test_agrees_with_mediapipe_on_the_reference_squats_clip(detector):
    _needs(SQUATS / "pose_squats.mp4")
    import av

    reference = np.array(json.loads((SQUATS / "pose_squats.full.json").read_text()))[..., :2]
    with av.open(str(SQUATS / "pose_squats.mp4")) as container:
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    people = list(detector.track(frames))
    assert all(person is not None for person in people)
    # The reference is in continuous pixel coordinates (pixel centres at +0.5), smoothed
    # over time by MediaPipe; ours is per frame. Measured: median 6.1 px, p95 18 px.
    errors = np.stack(
        [
            np.linalg.norm(p.landmarks[:, :2] + 0.5 - r, axis=-1)
            for p, r in zip(people, reference, strict=True)
        ]
    )
    assert np.median(errors) < 8.0
    assert np.percentile(errors, 95) < 24.0
    assert (errors < 28).all(axis=1).mean() >= 0.75  # tfjs-models' own tolerance per frame


def test_tracking_falls_back_to_detection_when_the_person_is_lost(detector, tennis):
    frame = load_image(tennis.frame_paths[2])
    people = list(detector.track([frame, np.zeros_like(frame), frame, frame]))
    assert people[1] is None
    assert all(people[k] is not None for k in (0, 2, 3))
    np.testing.assert_allclose(people[2].joints, people[0].joints, atol=1e-6)
    # Tracking the same frame moves the joints by a few pixels at most.
    assert np.abs(people[3].joints - people[2].joints).max() < 15


def test_detect_pose_names_the_image_without_a_person(tmp_path):
    path = tmp_path / "empty.png"
    Image.new("RGB", (96, 64), (30, 120, 30)).save(path)
    with pytest.raises(NoPersonError, match=r"empty\.png"):
        detect_pose(path)
    assert detect_poses(path) == []
    with pytest.raises(NoPersonError, match="person 3 asked for"):
        detect_pose(ROOT / "examples/data/posewarp_tennis/frames/Flavia Pennetta in 4k/3.jpg", 3)


@pytest.mark.parametrize(
    ("kwargs", "culprit"),
    [
        ({"min_detection_score": 1.5}, "min_detection_score"),
        ({"min_visibility": "high"}, "min_visibility"),
        ({"max_people": 0}, "max_people"),
    ],
)
def test_detector_arguments_are_checked(kwargs, culprit):
    with pytest.raises(InvalidConfigError, match=culprit):
        PoseDetector(**kwargs)


def test_wide_and_cmyk_images_are_converted(tmp_path):
    grey16 = (np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16).astype(np.uint16)
    Image.fromarray(grey16).save(tmp_path / "grey16.png")
    loaded = load_image(tmp_path / "grey16.png")
    assert loaded.shape == (64, 64, 3)
    np.testing.assert_allclose(loaded[..., 0], np.round(grey16 / 65535 * 255), atol=1)
    Image.new("CMYK", (32, 32), (0, 255, 255, 0)).save(tmp_path / "cmyk.jpg")
    red = load_image(tmp_path / "cmyk.jpg")
    assert red[..., 0].mean() > 200 and red[..., 1:].mean() < 60
    Image.new("RGB", (1, 1)).save(tmp_path / "tiny.png")
    with pytest.raises(InvalidImageError, match=r"tiny\.png.*at least 8 x 8"):
        load_image(tmp_path / "tiny.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(InvalidImageError, match=r"broken\.png"):
        load_image(tmp_path / "broken.png")
    with pytest.raises(InvalidImageError, match="bytes"):
        load_image(b"\x89PNG")
