"""Dataset readers (PoseWarp format, keypoint JSON, COCO) and keypoint layout conversion."""

import json
import pathlib

import numpy as np
import pytest
import scipy.io
from PIL import Image

from posegan_zoo.data import (
    LAYOUTS,
    Clip,
    PersonFrame,
    clips_from_people,
    get_layout,
    read_coco_keypoints,
    read_keypoints_json,
    read_posewarp_dataset,
    read_posewarp_info,
    to_posewarp_pose,
    write_posewarp_info,
)
from posegan_zoo.errors import DataFormatError, InvalidConfigError, InvalidPoseError
from posegan_zoo.pose import FLIP_PERMUTATION, JOINT_NAMES, Pose

ROOT = pathlib.Path(__file__).resolve().parents[1]
TENNIS = ROOT / "examples" / "data" / "posewarp_tennis"
COCO_DIR = ROOT.parent / "shared" / "data" / "coco_val2017_persons"
COCO_JSON = COCO_DIR / "person_keypoints_val2017_subset.json"


# --------------------------------------------------------------------------- PoseWarp format


def _frame(path):
    Image.new("RGB", (4, 3), (200, 10, 10)).save(path)


def _make_dataset(root, videos=None, suffix=".png", numbers=None, struct=True):
    """Writes a small PoseWarp-format dataset; `videos` maps names to (X, bbox) arrays."""
    if videos is None:
        videos = {"clip": _arrays(3)}
    for name, (joints, boxes) in videos.items():
        folder = root / "frames" / name
        folder.mkdir(parents=True, exist_ok=True)
        count = joints.shape[2] if joints.ndim == 3 else 1
        for k in numbers or range(1, count + 1):
            _frame(folder / f"{k}{suffix}")
        (root / "info").mkdir(exist_ok=True)
        content = {"data": {"X": joints, "bbox": boxes}} if struct else {"X": joints, "bbox": boxes}
        scipy.io.savemat(root / "info" / f"{name}.mat", content)
    return root


def _arrays(count, seed=0):
    rng = np.random.default_rng(seed)
    joints = rng.uniform(1, 50, (14, 2, count))
    boxes = np.column_stack([rng.uniform(0, 5, (count, 2)), rng.uniform(5, 40, (count, 2))])
    return joints, boxes


def test_reads_the_bundled_tennis_clip():
    [clip] = read_posewarp_dataset(TENNIS)
    data = scipy.io.loadmat(TENNIS / "info" / "Flavia Pennetta in 4k.mat")["data"][0, 0]
    assert isinstance(clip, Clip)
    assert clip.name == "Flavia Pennetta in 4k"
    assert len(clip) == 8
    assert [p.name for p in clip.frame_paths] == [f"{k}.jpg" for k in range(1, 9)]
    assert all(p.is_file() for p in clip.frame_paths)
    np.testing.assert_array_equal(clip.poses.joints, np.moveaxis(data["X"], 2, 0) - 1)
    assert clip.poses.visible.all()
    np.testing.assert_array_equal(clip.boxes, data["bbox"])
    with Image.open(clip.frame_paths[0]) as frame:
        assert frame.size == (1280, 676)


def test_videos_sorted_by_name_and_frames_in_numeric_order(tmp_path):
    root = _make_dataset(tmp_path, {"b": _arrays(12), "a": _arrays(2, seed=1)}, suffix=".jpg")
    clips = read_posewarp_dataset(root)
    assert [clip.name for clip in clips] == ["a", "b"]
    assert [p.name for p in clips[1].frame_paths] == [f"{k}.jpg" for k in range(1, 13)]
    joints, boxes = _arrays(12)
    np.testing.assert_allclose(clips[1].poses.joints[9], joints[:, :, 9] - 1)
    np.testing.assert_array_equal(clips[1].boxes, boxes)


def test_nan_joints_are_missing_and_plain_variables_are_accepted(tmp_path):
    joints, boxes = _arrays(3)
    joints[4, :, 1] = np.nan
    [clip] = read_posewarp_dataset(_make_dataset(tmp_path, {"v": (joints, boxes)}, struct=False))
    assert not clip.poses.visible[1, 4]
    assert clip.poses.visible.sum() == 3 * 14 - 1


def test_single_frame_mat_and_writer_round_trip(tmp_path):
    joints, boxes = _arrays(1)
    _make_dataset(tmp_path, {"one": (joints[:, :, 0], boxes[0])})  # MATLAB's 14 x 2 for N = 1
    [clip] = read_posewarp_dataset(tmp_path)
    assert len(clip) == 1
    np.testing.assert_allclose(clip.poses.joints[0], joints[:, :, 0] - 1)
    pose = Pose(np.where(np.arange(14)[:, None] == 3, np.nan, joints[:, :, 0])[None])
    write_posewarp_info(tmp_path / "copy.mat", pose, boxes)
    back, back_boxes = read_posewarp_info(tmp_path / "copy.mat")
    np.testing.assert_allclose(back, pose.to_array())
    np.testing.assert_array_equal(back_boxes, boxes)


def _posewarp_error(root, *fragments):
    with pytest.raises(DataFormatError) as caught:
        read_posewarp_dataset(root)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_missing_root_frames_or_info_folder(tmp_path):
    _posewarp_error(tmp_path / "nowhere", "nowhere", "does not exist")
    (tmp_path / "info").mkdir()
    _posewarp_error(tmp_path, "'frames'", "no 'frames' folder")
    (tmp_path / "info").rmdir()
    (tmp_path / "frames").mkdir()
    _posewarp_error(tmp_path, "no 'info' folder")
    (tmp_path / "info").mkdir()
    _posewarp_error(tmp_path, "holds no video")


def test_video_without_mat_and_mat_without_video(tmp_path):
    root = _make_dataset(tmp_path)
    (root / "frames" / "orphan").mkdir()
    _posewarp_error(root, "no .mat", "'orphan'")
    (root / "frames" / "orphan").rmdir()
    scipy.io.savemat(root / "info" / "lonely.mat", {"data": {"X": _arrays(1)[0]}})
    _posewarp_error(root, "no frame folder", "lonely.mat")


def test_not_a_matlab_file(tmp_path):
    root = _make_dataset(tmp_path)
    (root / "info" / "clip.mat").write_text("this is not MATLAB")
    _posewarp_error(root, "clip.mat", "not a readable MATLAB .mat file")


@pytest.mark.parametrize(
    ("content", "fragments"),
    [
        ({"other": np.ones(3)}, ["has no struct `data`", "['other']"]),
        ({"data": {"X": _arrays(3)[0]}}, ["`data.bbox` is missing"]),
        ({"data": {"bbox": _arrays(3)[1]}}, ["`data.X` is missing"]),
        ({"data": np.ones((2, 2))}, ["`data` must be a struct"]),
        (
            {"data": {"X": np.ones((13, 2, 3)), "bbox": np.ones((3, 4))}},
            ["must be 14 x 2 x N", "got 13 x 2 x 3"],
        ),
        (
            {"data": {"X": np.ones((14, 2, 3)), "bbox": np.ones((3, 5))}},
            ["`data.bbox` must be N x 4", "N = 3", "got 3 x 5"],
        ),
        (
            {"data": {"X": np.ones((14, 2, 3)), "bbox": np.ones((2, 4))}},
            ["`data.bbox` must be N x 4", "got 2 x 4"],
        ),
        (
            {
                "data": {
                    "X": np.ones((14, 2, 3)),
                    "bbox": [[1, 1, 1, 1], [1, np.nan, 1, 1], [1] * 4],
                }
            },
            ["`data.bbox` holds NaN or infinite", "frame(s) 2"],
        ),
        (
            {"data": {"X": np.full((14, 2, 3), np.inf), "bbox": np.ones((3, 4))}},
            ["`data.X` holds infinite", "only NaN is allowed"],
        ),
        (
            {"data": {"X": np.ones((14, 2, 3)), "bbox": [[1, 1, -1, 1]] * 3}},
            ["negative width or height"],
        ),
    ],
)
def test_malformed_mat_contents(tmp_path, content, fragments):
    root = _make_dataset(tmp_path)
    scipy.io.savemat(root / "info" / "clip.mat", content)
    _posewarp_error(root, "clip.mat", *fragments)


def test_frame_count_differs_from_mat(tmp_path):
    root = _make_dataset(tmp_path, {"clip": _arrays(3)}, numbers=[1, 2, 3, 4])
    message = _posewarp_error(root, "4 frames", "3 poses", "clip.mat")
    assert str(root / "frames" / "clip") in message


@pytest.mark.parametrize(
    ("numbers", "fragment"),
    [([1, 2, 4], "frame number(s) 3 are missing"), ([0, 1, 2], "must start at 1, got 0")],
)
def test_non_consecutive_frame_numbers(tmp_path, numbers, fragment):
    root = _make_dataset(tmp_path, {"clip": _arrays(3)}, numbers=numbers)
    _posewarp_error(root, str(root / "frames" / "clip"), "without gaps", fragment)


def test_badly_named_or_duplicated_frames(tmp_path):
    root = _make_dataset(tmp_path)
    _frame(root / "frames" / "clip" / "frame4.png")
    _posewarp_error(root, "frame4.png", "must be named <k>.png")
    (root / "frames" / "clip" / "frame4.png").unlink()
    _frame(root / "frames" / "clip" / "2.jpg")
    _posewarp_error(root, "frame 2 appears twice")


# --------------------------------------------------------------------------- layouts

# Our 14 joints' source indices in each layout (None: derived), written out by hand.
EXPECTED_SOURCES = {
    "posewarp14": list(range(14)),
    "coco17": [None, None, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15],
    "openpose18": [None, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
    "openpose25": [None, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14],
    "blazepose33": [None, None, 12, 14, 16, 11, 13, 15, 24, 26, 28, 23, 25, 27],
    "lsp14": [13, 12, 8, 7, 6, 9, 10, 11, 2, 1, 0, 3, 4, 5],
}
# (nose, left eye, right eye, left ear, right ear) per layout with a face.
FACE = {
    "coco17": (0, 1, 2, 3, 4),
    "openpose18": (0, 15, 14, 17, 16),
    "openpose25": (0, 16, 15, 18, 17),
    "blazepose33": (0, 2, 5, 7, 8),
}


def _synthetic(count):
    k = np.arange(count, dtype=np.float64)
    return np.stack([10.0 + 3 * k, 200.0 - 5 * k, np.ones(count)], axis=-1)


def test_layout_registry():
    assert set(LAYOUTS) == set(EXPECTED_SOURCES)
    sizes = {name: layout.num_joints for name, layout in LAYOUTS.items()}
    assert sizes == {
        "posewarp14": 14,
        "coco17": 17,
        "openpose18": 18,
        "openpose25": 25,
        "blazepose33": 33,
        "lsp14": 14,
    }
    for layout in LAYOUTS.values():
        assert len(set(layout.joint_names)) == layout.num_joints
    assert get_layout(LAYOUTS["coco17"]) is LAYOUTS["coco17"]


@pytest.mark.parametrize("name", sorted(EXPECTED_SOURCES))
def test_every_mapped_joint_lands_on_its_index(name):
    keypoints = _synthetic(LAYOUTS[name].num_joints)
    pose = to_posewarp_pose(keypoints, name)
    for ours, source in enumerate(EXPECTED_SOURCES[name]):
        if source is not None:
            assert pose.visible[ours], JOINT_NAMES[ours]
            np.testing.assert_array_equal(pose.joints[ours], keypoints[source, :2])
    assert pose.visible.all()  # derived head and neck too, every source point being present


@pytest.mark.parametrize("name", sorted(EXPECTED_SOURCES))
def test_missing_joints_stay_missing(name):
    count = LAYOUTS[name].num_joints
    keypoints = _synthetic(count)
    sources = [s for s in EXPECTED_SOURCES[name] if s is not None]
    keypoints[sources[-1], 2] = 0.0  # confidence / visibility 0
    keypoints[sources[-2], 0] = np.nan  # NaN coordinate
    keypoints[sources[-3], 2] = 0.3  # below the threshold
    pose = to_posewarp_pose(keypoints, name, min_confidence=0.5)
    ours = [EXPECTED_SOURCES[name].index(s) for s in sources[-3:]]
    assert not pose.visible[ours].any()
    assert pose.visible.sum() == 14 - 3
    assert to_posewarp_pose(keypoints, name).visible.sum() == 14 - 2  # 0.3 > 0 kept
    # two columns: only NaN marks a missing joint
    assert to_posewarp_pose(keypoints[:, :2], name).visible.sum() == 14 - 1


@pytest.mark.parametrize("name", ["coco17", "blazepose33"])
def test_neck_is_the_shoulder_midpoint(name):
    keypoints = _synthetic(LAYOUTS[name].num_joints)
    right, left = EXPECTED_SOURCES[name][2], EXPECTED_SOURCES[name][5]
    pose = to_posewarp_pose(keypoints, name)
    np.testing.assert_allclose(pose.joints[1], (keypoints[right, :2] + keypoints[left, :2]) / 2)
    keypoints[left, 2] = 0.0
    pose = to_posewarp_pose(keypoints, name)
    assert not pose.visible[1]
    assert not pose.visible[0]  # no neck: no head direction


@pytest.mark.parametrize("name", sorted(FACE))
def test_head_is_estimated_above_the_face(name):
    nose, *eyes_ears = FACE[name]
    keypoints = _synthetic(LAYOUTS[name].num_joints)
    neck = to_posewarp_pose(keypoints, name).joints[1]

    centre = keypoints[eyes_ears, :2].mean(axis=0)
    np.testing.assert_allclose(
        to_posewarp_pose(keypoints, name).joints[0], centre + 0.6 * (centre - neck)
    )
    keypoints[eyes_ears[1:], 2] = 0.0  # only the left eye remains
    np.testing.assert_allclose(
        to_posewarp_pose(keypoints, name).joints[0],
        keypoints[eyes_ears[0], :2] + 0.6 * (keypoints[eyes_ears[0], :2] - neck),
    )
    keypoints[eyes_ears[0], 2] = 0.0  # nose only
    np.testing.assert_allclose(
        to_posewarp_pose(keypoints, name).joints[0],
        keypoints[nose, :2] + 0.8 * (keypoints[nose, :2] - neck),
    )
    keypoints[nose, 2] = 0.0  # no face point
    assert not to_posewarp_pose(keypoints, name).visible[0]


def test_upright_coco_person_head_sits_above_the_eyes():
    keypoints = np.zeros((17, 3))
    keypoints[:, 2] = 2
    keypoints[[5, 6], :2] = [[120, 200], [80, 200]]  # left shoulder at the image's right
    keypoints[0, :2] = (100, 150)
    keypoints[[1, 2, 3, 4], :2] = [[108, 140], [92, 140], [116, 145], [84, 145]]
    pose = to_posewarp_pose(keypoints, "coco17")
    head, neck = pose.joints[0], pose.joints[1]
    np.testing.assert_allclose(neck, (100, 200))
    np.testing.assert_allclose(head, (100, 142.5 - 0.6 * 57.5))
    assert head[1] < 140


def test_conversion_commutes_with_a_horizontal_flip():
    layout = LAYOUTS["coco17"]
    mirror = [layout.index(_swap(name)) for name in layout.joint_names]
    keypoints = np.random.default_rng(3).uniform(0, 100, (5, 17, 3))
    flipped = keypoints[:, mirror].copy()
    flipped[..., 0] = 99 - flipped[..., 0]
    direct = to_posewarp_pose(keypoints, "coco17").flip_horizontal(image_width=100)
    via_source = to_posewarp_pose(flipped, "coco17")
    np.testing.assert_allclose(direct.joints, via_source.joints)
    assert FLIP_PERMUTATION[2] == 5


def _swap(name):
    if name.startswith("left_"):
        return "right_" + name[5:]
    if name.startswith("right_"):
        return "left_" + name[6:]
    return name


def test_batched_keypoints_keep_their_batch_shape():
    keypoints = np.broadcast_to(_synthetic(25), (2, 3, 25, 3)).copy()
    keypoints[1, 2, 4, 2] = 0.0
    pose = to_posewarp_pose(keypoints, "openpose25")
    assert pose.batch_shape == (2, 3)
    assert not pose.visible[1, 2, 4] and pose.visible[0, 0, 4]


def test_wrong_joint_count_and_unknown_layout_raise_named_errors():
    with pytest.raises(InvalidPoseError, match=r"'coco17'.*\(\.\.\., 17, 2\).*got shape \(18, 3\)"):
        to_posewarp_pose(np.zeros((18, 3)), "coco17")
    with pytest.raises(InvalidPoseError, match=r"'blazepose33'.*K = 33"):
        to_posewarp_pose(np.zeros((33, 4)), "blazepose33")
    with pytest.raises(InvalidConfigError, match=r"'coco18'.*coco17 \(K=17\)"):
        to_posewarp_pose(np.zeros((18, 3)), "coco18")
    with pytest.raises(InvalidConfigError, match="min_confidence"):
        to_posewarp_pose(np.zeros((17, 3)), "coco17", min_confidence=float("nan"))


# --------------------------------------------------------------------------- COCO (real data)


@pytest.fixture(scope="module")
def coco():
    if not COCO_JSON.is_file():
        pytest.skip(f"COCO keypoint test data not found at {COCO_DIR} (only CI has ../shared)")
    return json.loads(COCO_JSON.read_text())


def test_coco_counts_and_crowd_skipping(coco):
    annotations = coco["annotations"]
    assert len(coco["images"]) == 23 and len(annotations) == 68
    crowd = [a for a in annotations if a["iscrowd"]]
    assert len(crowd) == 1
    everyone = read_coco_keypoints(COCO_JSON, image_root=COCO_DIR / "images", min_keypoints=0)
    assert len(everyone) == 67
    assert {p.person_id for p in everyone}.isdisjoint({str(a["id"]) for a in crowd})
    default = read_coco_keypoints(COCO_JSON, image_root=COCO_DIR / "images")
    labelled = [
        a
        for a in annotations
        if not a["iscrowd"] and sum(v > 0 for v in a["keypoints"][2::3]) >= 10
    ]
    assert [p.person_id for p in default] == [str(a["id"]) for a in labelled]
    assert len(default) == 38
    assert all(p.image.is_file() for p in default)
    clips = clips_from_people(default)
    assert len(clips) == 38 and all(len(clip) == 1 for clip in clips)


def test_coco_joints_boxes_and_derived_neck(coco):
    people = read_coco_keypoints(COCO_JSON, image_root=COCO_DIR / "images", min_keypoints=0)
    by_id = {str(a["id"]): a for a in coco["annotations"]}
    coco_index = EXPECTED_SOURCES["coco17"]
    both_shoulders = 0
    for person in people:
        annotation = by_id[person.person_id]
        keypoints = np.array(annotation["keypoints"], dtype=np.float64).reshape(17, 3)
        np.testing.assert_array_equal(person.box, annotation["bbox"])
        for ours, source in enumerate(coco_index):
            if source is None:
                continue
            assert person.pose.visible[ours] == (keypoints[source, 2] > 0)
            if keypoints[source, 2] > 0:
                np.testing.assert_array_equal(person.pose.joints[ours], keypoints[source, :2])
        left, right = keypoints[5], keypoints[6]  # COCO left_shoulder, right_shoulder
        if left[2] > 0 and right[2] > 0:
            both_shoulders += 1
            np.testing.assert_array_equal(person.pose.joints[5], left[:2])
            np.testing.assert_array_equal(person.pose.joints[2], right[:2])
            np.testing.assert_allclose(person.pose.joints[1], (left[:2] + right[:2]) / 2)
        else:
            assert not person.pose.visible[1]
    assert both_shoulders >= 30


def test_coco_min_confidence_two_keeps_visible_joints_only(coco):
    people = read_coco_keypoints(COCO_JSON, min_keypoints=0, min_confidence=2)
    by_id = {str(a["id"]): a for a in coco["annotations"]}
    occluded = 0
    for person in people:
        flags = np.array(by_id[person.person_id]["keypoints"][2::3])
        for ours, source in enumerate(EXPECTED_SOURCES["coco17"]):
            if source is not None:
                assert person.pose.visible[ours] == (flags[source] == 2)
                occluded += flags[source] == 1
    assert occluded > 0


# --------------------------------------------------------------------------- our JSON format


def _write(path, document):
    path.write_text(json.dumps(document))
    return path


def _coco_points(shift=0.0):
    points = [[50.0 + shift, 30.0, 2]] * 5 + [[60.0 + shift, 40.0, 2], [40.0 + shift, 40.0, 2]]
    return points + [[50.0 + shift, 60.0 + k, 1] for k in range(10)]


def test_keypoints_json_groups_people_by_id_across_files(tmp_path):
    for k in (1, 2, 10):
        people = [
            {"id": "alice", "keypoints": _coco_points(k), "box": [k, 0, 10, 20]},
            {"id": 7, "keypoints": [v for point in _coco_points() for v in point]},
        ]
        _write(
            tmp_path / f"{k}.json", {"image": f"img/{k}.jpg", "layout": "coco17", "people": people}
        )
    people = read_keypoints_json(tmp_path)
    assert [p.image for p in people[::2]] == [tmp_path / "img" / f"{k}.jpg" for k in (1, 2, 10)]
    assert isinstance(people[0], PersonFrame)
    clips = clips_from_people(people)
    assert [(c.name, len(c)) for c in clips] == [("alice", 3), ("7", 3)]
    alice, seven = clips
    np.testing.assert_array_equal(alice.boxes[:, 0], [1, 2, 10])
    np.testing.assert_allclose(alice.poses.joints[2, 5], (70.0, 40.0))  # left shoulder, file 10
    np.testing.assert_allclose(seven.boxes[0], [40, 30 - 0.6 * 10, 20, 69 - 24])  # tight box
    assert clips_from_people(people, ids=lambda pid: "everyone")[0].poses.batch_shape == (6,)


def test_keypoints_json_list_null_missing_and_joint_boxes(tmp_path):
    lsp = [[10.0 + k, 20.0 + k] for k in range(14)]
    lsp[0] = [None, None]
    records = [
        {
            "image": "/abs/a.png",
            "layout": "lsp14",
            "people": [{"keypoints": lsp, "box": [0, 0, 1, 1]}],
        },
        {"image": "b.png", "layout": "lsp14", "people": []},
    ]
    path = _write(tmp_path / "all.json", records)
    [person] = read_keypoints_json(path)
    assert person.image == pathlib.Path("/abs/a.png") and person.person_id is None
    assert not person.pose.visible[10]  # LSP's first joint is the right ankle
    assert person.box.tolist() == [0, 0, 1, 1]
    [joint_box] = read_keypoints_json([path], boxes="joints")
    assert joint_box.box.tolist() == [11.0, 21.0, 12.0, 12.0]
    [clip] = clips_from_people([person])
    assert clip.name == "/abs/a.png#0"


def _json_error(path, *fragments, reader=read_keypoints_json):
    with pytest.raises(DataFormatError) as caught:
        reader(path)
    message = str(caught.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message


def test_malformed_keypoints_json(tmp_path):
    good = {"image": "a.jpg", "layout": "coco17", "people": [{"keypoints": _coco_points()}]}
    bad = tmp_path / "bad.json"
    bad.write_text('{"image": "a.jpg", "layout": ')
    _json_error(bad, "not valid JSON", "line 1")
    _json_error(tmp_path / "absent.json", "does not exist")
    _write(bad, {**good, "people": [{"id": 1}]})
    _json_error(bad, "people[0].keypoints: missing")
    _write(bad, [good, {"layout": "coco17", "people": []}])
    _json_error(bad, "[1].image: missing")
    _write(bad, {**good, "people": [{"keypoints": _coco_points()[:16]}]})
    _json_error(bad, "people[0].keypoints", "K = 17", "got 16")
    _write(bad, {**good, "people": [{"keypoints": [0.0] * 50}]})
    _json_error(bad, "people[0].keypoints", "51 flat numbers, got 50")
    points = _coco_points()
    points[3] = [1.0, "2", 1]
    _write(bad, {**good, "people": [{"keypoints": points}]})
    _json_error(bad, "people[0].keypoints[3][1]: expected a number, got a string '2'")
    points[3] = [1.0]
    _write(bad, {**good, "people": [{"keypoints": points}]})
    _json_error(bad, "people[0].keypoints[3]: expected [x, y] or [x, y, c]")
    _write(bad, {**good, "layout": "coco18"})
    _json_error(bad, "layout: unknown layout 'coco18'", "coco17")
    _write(bad, {**good, "people": [{"keypoints": _coco_points(), "box": [1, 2, 3]}]})
    _json_error(bad, "people[0].box: expected 4 numbers")
    _write(bad, {**good, "people": [{"id": "x", "keypoints": _coco_points()}] * 2})
    _json_error(bad, "people[1].id: 'x' already used by people[0]")
    _write(bad, {**good, "people": [{"keypoints": [[0, 0, 0]] * 17}]})
    _json_error(bad, "people[0]: no box and no present joint")
    _write(bad, {**good, "people": {"keypoints": []}})
    _json_error(bad, "people: expected a list, got an object")


def test_malformed_coco_file(tmp_path):
    annotation = {"id": 1, "image_id": 9, "keypoints": [1, 1, 2] * 17, "bbox": [0, 0, 5, 5]}
    good = {"images": [{"id": 9, "file_name": "a.jpg"}], "annotations": [annotation] * 4}
    path = tmp_path / "coco.json"
    assert len(read_coco_keypoints(_write(path, good))) == 4

    def expect(document, *fragments):
        _json_error(_write(path, document), *fragments, reader=read_coco_keypoints)

    short = {**annotation, "keypoints": [1, 1, 2] * 16 + [1, 1]}
    expect(
        {**good, "annotations": [annotation] * 3 + [short]},
        "annotations[3].keypoints: expected 51 numbers (17 x, y, v triples), got 50",
    )
    expect({"annotations": []}, "images: missing")
    expect([], "must hold a JSON object")
    expect({**good, "annotations": [{**annotation, "image_id": 3}]}, "annotations[0].image_id: 3")
    expect(
        {**good, "annotations": [{**annotation, "keypoints": [None] * 51}]},
        "annotations[0].keypoints[0]: expected a number, got null",
    )
    expect({**good, "annotations": [{**annotation, "bbox": "0 0 5 5"}]}, "annotations[0].bbox")
    expect({**good, "images": [{"id": 9}]}, "images[0].file_name: missing")
    with pytest.raises(InvalidConfigError, match="boxes"):
        read_coco_keypoints(path, boxes="tight")
