"""Every bad input gets a typed error that names the culprit; nothing a user saved is lost.

One table of cases (the error type and a fragment of the message each must carry), then
the behaviours that are not errors (falling back to an intact checkpoint, cleaning up), then
a bounded fuzz of the readers users feed their own files to.
"""

import dataclasses
import json
import pathlib
import struct
import zlib

import keras
import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from posegan_zoo import PoseRegenerator
from posegan_zoo.data import (
    pair_dataset,
    read_keypoints_json,
    read_posewarp_dataset,
    read_posewarp_info,
)
from posegan_zoo.errors import (
    CheckpointError,
    DataFormatError,
    InvalidConfigError,
    InvalidImageError,
    InvalidPoseError,
    PoseGanZooError,
    PresetError,
    TrainingDivergedError,
)
from posegan_zoo.images import load_image
from posegan_zoo.models import (
    PoseDiscriminator,
    PoseWarpGenerator,
    PoseWarpTrainer,
    UNetBaseline,
    WarpOnlyGenerator,
)
from posegan_zoo.pose import Pose
from posegan_zoo.presets import load_generator, load_preset, save_preset
from posegan_zoo.training import (
    CheckpointCallback,
    TrainingConfig,
    latest_checkpoint,
    load_checkpoint,
    load_latest_checkpoint,
    run_training,
    save_checkpoint,
)

FRAME = np.full((200, 160, 3), 90, np.uint8)
# A standing person in FRAME (the 14-joint layout: head, neck, right arm, left arm, hips,
# knees, ankles).
POSE = np.array(
    [
        [80, 20],
        [80, 40],
        [62, 42],
        [55, 70],
        [50, 98],
        [98, 42],
        [105, 70],
        [110, 98],
        [70, 100],
        [70, 140],
        [70, 180],
        [90, 100],
        [90, 140],
        [90, 180],
    ],
    float,
)


@dataclasses.dataclass
class Case:
    name: str
    run: object  # callable(tmp_path)
    error: type
    names: str  # a fragment the message must hold: the argument, field or file at fault


def _png(tmp_path, size=(1, 1), name="tiny.png", mode="RGB"):
    path = tmp_path / name
    Image.new(mode, size).save(path)
    return path


def _text_file(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _bomb_png(tmp_path):
    """A valid 1 x 1 PNG whose header claims 30000 x 30000 pixels."""
    path = _png(tmp_path, name="bomb.png")
    data = bytearray(path.read_bytes())
    ihdr = struct.pack(">II", 30000, 30000) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    path.write_bytes(bytes(data))
    return path


def _broken_png(tmp_path):
    path = _png(tmp_path, size=(32, 32), name="broken.png")
    path.write_bytes(path.read_bytes()[:40])
    return path


def _regenerate(source, target=POSE):
    return PoseRegenerator(WarpOnlyGenerator(64))(FRAME, source, target)


def _keypoints_file(tmp_path, text, name="person.json"):
    path = tmp_path / name
    path.write_text(text)
    return read_keypoints_json(path)


def _keypoints_bytes(tmp_path, data):
    path = tmp_path / "person.json"
    path.write_bytes(data)
    return read_keypoints_json(path)


def _keypoints_record(number_text):
    """A valid keypoint record whose fourth joint's x is `number_text`, verbatim."""
    joints = [[10.0 + k, 20.0 + 3 * k] for k in range(14)]
    joints[3][0] = 12345.5
    record = {"image": "1.jpg", "layout": "lsp14", "people": [{"keypoints": joints}]}
    return json.dumps(record).replace("12345.5", number_text)


def _config_file(tmp_path, text, suffix=".json"):
    path = tmp_path / f"config{suffix}"
    path.write_text(text)
    return TrainingConfig.from_file(path, data="d", output="o")


def _tiny_preset(tmp_path, model=None, name="preset"):
    model = model or PoseWarpGenerator.tiny(64, width=4)
    save_preset(model, tmp_path / name)
    return tmp_path / name


def _nan_preset(tmp_path):
    model = PoseWarpGenerator.tiny(64, width=4)
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    return load_preset(_tiny_preset(tmp_path, model))


def _edited_preset(tmp_path, edit):
    folder = _tiny_preset(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    edit(config)
    (folder / "config.json").write_text(json.dumps(config))
    return load_preset(folder)


def _set_dtype(config):
    config["config"]["dtype"] = {
        "module": "os",
        "class_name": "system",
        "config": "echo unsafe",
        "registered_name": None,
    }


def _name_os_system(config):
    config["config"]["resampling"] = {
        "module": "subprocess",
        "class_name": "Popen",
        "config": {"args": ["echo", "unsafe"]},
        "registered_name": None,
    }


def _lambda_checkpoint(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])
    model.save(tmp_path / "lambda.keras")
    return load_checkpoint(tmp_path / "lambda.keras")


CASES = [
    # Images.
    Case("image file of 1 x 1 pixels", lambda t: load_image(_png(t)), InvalidImageError, "8 x 8"),
    Case("decompression bomb", lambda t: load_image(_bomb_png(t)), InvalidImageError, "bomb.png"),
    Case("truncated PNG", lambda t: load_image(_broken_png(t)), InvalidImageError, "broken.png"),
    Case("encoded bytes", lambda t: load_image(b"\x89PNG"), InvalidImageError, "bytes"),
    Case(
        "array of 2 channels",
        lambda t: load_image(np.zeros((9, 9, 2))),
        InvalidImageError,
        "(9, 9, 2)",
    ),
    Case(
        "float image above 1",
        lambda t: load_image(np.full((9, 9, 3), 2.0)),
        InvalidImageError,
        "[0, 1]",
    ),
    Case(
        "float image with NaN",
        lambda t: load_image(np.full((9, 9, 3), np.nan)),
        InvalidImageError,
        "NaN",
    ),
    Case("missing image file", lambda t: load_image(t / "none.png"), InvalidImageError, "none.png"),
    # Poses.
    Case(
        "joints 1e6 px outside", lambda t: _regenerate(POSE + 1e6), InvalidPoseError, "source_pose"
    ),
    Case("negative joints", lambda t: _regenerate(POSE - 500), InvalidPoseError, "head"),
    Case(
        "infinite coordinates",
        lambda t: Pose(np.r_[POSE[:13], [[np.inf, 0.0]]]),
        InvalidPoseError,
        "infinite",
    ),
    Case(
        "every joint at one point",
        lambda t: _regenerate(np.full((14, 2), 80.0)),
        InvalidPoseError,
        "span",
    ),
    Case(
        "target far outside",
        lambda t: _regenerate(POSE, POSE * 1e4),
        InvalidPoseError,
        "target_pose",
    ),
    Case(
        "coordinates of 1e308",
        lambda t: _regenerate(np.r_[POSE[:13], [[1e308, 1e308]]]),
        InvalidPoseError,
        "left_ankle",
    ),
    Case(
        "ragged joint lists", lambda t: _regenerate([[1, 2], [3]]), InvalidPoseError, "source_pose"
    ),
    Case("13 joints", lambda t: Pose(np.zeros((13, 2))), InvalidPoseError, "(13, 2)"),
    Case(
        "NaN joint marked visible",
        lambda t: Pose(np.full((14, 2), np.nan), np.ones(14)),
        InvalidPoseError,
        "visible",
    ),
    Case(
        "one visible joint",
        lambda t: Pose(np.r_[POSE[:1], np.full((13, 2), np.nan)]).check_in_frame(200, 160),
        InvalidPoseError,
        "2 joints",
    ),
    # Keypoint JSON.
    Case("not JSON", lambda t: _keypoints_file(t, "{people: "), DataFormatError, "person.json"),
    Case(
        "integer of 5000 digits",
        lambda t: _keypoints_file(t, _keypoints_record("9" * 5000)),
        DataFormatError,
        "person.json",
    ),
    Case(
        "JSON nested 100k deep",
        lambda t: _keypoints_file(t, "[" * 100_000 + "]" * 100_000),
        DataFormatError,
        "nested",
    ),
    Case(
        "a coordinate of 1e400",
        lambda t: _keypoints_file(t, _keypoints_record("1e400")),
        PoseGanZooError,
        "person.json",
    ),
    Case(
        "missing keypoint file",
        lambda t: read_keypoints_json(t / "absent.json"),
        DataFormatError,
        "absent.json",
    ),
    Case("not UTF-8", lambda t: _keypoints_bytes(t, b"\xff\xfe{"), DataFormatError, "UTF-8"),
    # Pose datasets.
    Case(
        "not a .mat file",
        lambda t: read_posewarp_info(_text_file(t, "clip.mat", "not a mat file")),
        DataFormatError,
        "clip.mat",
    ),
    Case(
        "missing dataset folder",
        lambda t: read_posewarp_dataset(t / "nowhere"),
        DataFormatError,
        "nowhere",
    ),
    # Training configs.
    Case(
        '"steps": "ten"', lambda t: _config_file(t, '{"steps": "ten"}'), InvalidConfigError, "steps"
    ),
    Case(
        "--keep-checkpoints -1",
        lambda t: TrainingConfig(data="d", output="o", keep_checkpoints=-1),
        InvalidConfigError,
        "keep_checkpoints",
    ),
    Case(
        "--learning-rate nan",
        lambda t: TrainingConfig(data="d", output="o", learning_rate=float("nan")),
        InvalidConfigError,
        "learning_rate",
    ),
    Case(
        "--image-size 200000",
        lambda t: TrainingConfig(data="d", output="o", image_size=200000),
        InvalidConfigError,
        "image_size",
    ),
    Case(
        "--l1-weight -1",
        lambda t: TrainingConfig(data="d", output="o", l1_weight=-1.0),
        InvalidConfigError,
        "l1_weight",
    ),
    Case(
        "--augment 3",
        lambda t: TrainingConfig(data="d", output="o", augment=3),
        InvalidConfigError,
        "augment",
    ),
    Case(
        "unknown loss",
        lambda t: TrainingConfig(data="d", output="o", reconstruction_loss="l2"),
        InvalidConfigError,
        "reconstruction_loss",
    ),
    Case(
        "unknown adversarial loss",
        lambda t: TrainingConfig(data="d", output="o", adversarial="hinge"),
        InvalidConfigError,
        "adversarial",
    ),
    Case(
        "config file nested deep",
        lambda t: _config_file(t, "[" * 100_000 + "]" * 100_000),
        InvalidConfigError,
        "config file",
    ),
    Case(
        "config file holding a list",
        lambda t: _config_file(t, "[1, 2]"),
        InvalidConfigError,
        "table",
    ),
    Case(
        "config file key typo",
        lambda t: _config_file(t, '{"learning_rat": 1}'),
        InvalidConfigError,
        "learning_rat",
    ),
    Case(
        "config file integer of 1e400",
        lambda t: _config_file(t, '{"steps": 1e400}'),
        InvalidConfigError,
        "steps",
    ),
    Case(
        "broken TOML",
        lambda t: _config_file(t, "steps = ", ".toml"),
        InvalidConfigError,
        "config.toml",
    ),
    # Model configs: bounded before anything is allocated.
    Case(
        "generator of 200000 pixels",
        lambda t: WarpOnlyGenerator(200000),
        InvalidConfigError,
        "image_size",
    ),
    Case(
        "posewarp of 200000 pixels",
        lambda t: PoseWarpGenerator(199_968),
        InvalidConfigError,
        "4096",
    ),
    Case(
        "a width of 10 million",
        lambda t: UNetBaseline(64, encoder_widths=[10**7] * 11),
        InvalidConfigError,
        "encoder_widths",
    ),
    Case(
        "mask dilation 2000",
        lambda t: WarpOnlyGenerator(64, mask_dilation=2000),
        InvalidConfigError,
        "mask_dilation",
    ),
    Case(
        "image size not a multiple",
        lambda t: PoseWarpGenerator.tiny(50),
        InvalidConfigError,
        "image_size",
    ),
    # Checkpoints.
    Case("keep=0 checkpoints", lambda t: CheckpointCallback(t, keep=0), CheckpointError, "keep"),
    Case(
        "save with keep=-1", lambda t: save_checkpoint(None, t, 1, keep=-1), CheckpointError, "keep"
    ),
    Case(
        "broken latest.json",
        lambda t: (t / "latest.json").write_text("{") and latest_checkpoint(t),
        CheckpointError,
        "latest.json",
    ),
    Case("checkpoint with a Lambda", _lambda_checkpoint, CheckpointError, "lambda.keras"),
    # Presets.
    Case("preset of NaN weights", _nan_preset, PresetError, "NaN"),
    Case(
        "preset dtype naming os.system",
        lambda t: _edited_preset(t, _set_dtype),
        PresetError,
        "dtype",
    ),
    Case(
        "preset naming subprocess.Popen",
        lambda t: _edited_preset(t, _name_os_system),
        PresetError,
        "subprocess.Popen",
    ),
    Case(
        "a run folder that is a file",
        lambda t: run_training(
            TrainingConfig(data="d", output=str(_text_file(t, "run", "")), image_size=64)
        ),
        InvalidConfigError,
        "not a folder",
    ),
    Case(
        "discriminator preset for the regenerator",
        lambda t: PoseRegenerator.from_preset(
            str(_tiny_preset(t, PoseDiscriminator(64, conv_widths=[4] * 6, dense_widths=[4] * 2)))
        ),
        PresetError,
        "not a pose generator",
    ),
    Case(
        "legacy .h5 model for finetune",
        lambda t: load_generator(str(_text_file(t, "model.h5", "HDF"))),
        PresetError,
        ".keras",
    ),
    Case("missing preset folder", lambda t: load_preset(t / "nothing"), PresetError, "nothing"),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_a_bad_input_gets_a_typed_error_naming_the_culprit(case, tmp_path):
    with pytest.raises(case.error) as raised:
        case.run(tmp_path)
    assert case.names in str(raised.value)


def test_the_table_has_one_case_per_name():
    assert len({case.name for case in CASES}) == len(CASES)


# -- behaviours that are not errors --------------------------------------------------------


def test_a_16_bit_png_keeps_its_range(tmp_path):
    values = (np.arange(64 * 64).reshape(64, 64) * 10).astype(np.uint16)
    Image.fromarray(values).save(tmp_path / "grey16.png")
    image = load_image(tmp_path / "grey16.png")
    expected = np.round(values / 65535 * 255).astype(np.uint8)
    np.testing.assert_array_equal(image[..., 0], expected)


def test_a_pose_inside_the_frame_or_a_little_outside_is_accepted():
    Pose(POSE).check_in_frame(200, 160)
    Pose(POSE - [70, 0]).check_in_frame(200, 160)  # arms past the left edge, as detectors do


def _tiny_trainer():
    trainer = PoseWarpTrainer(PoseWarpGenerator.tiny(64, width=4))
    trainer.compile(reconstruction_loss="l1")
    trainer.generator_optimizer.build(trainer.generator.trainable_variables)
    return trainer


def test_a_non_finite_loss_stops_training_and_keeps_the_last_good_checkpoint(tennis_dir, tmp_path):
    data = pair_dataset(read_posewarp_dataset(tennis_dir), 64, batch_size=2, seed=0)
    trainer = _tiny_trainer()
    checkpoints = CheckpointCallback(tmp_path, keep=2)
    trainer.fit(data, epochs=1, steps_per_epoch=2, callbacks=[checkpoints], verbose=0)
    good = latest_checkpoint(tmp_path)
    poisoned = data.map(lambda x, y: (x, y * np.nan))
    with pytest.raises(TrainingDivergedError, match=good[0].name):
        trainer.fit(
            poisoned,
            initial_epoch=1,
            epochs=3,
            steps_per_epoch=2,
            callbacks=[checkpoints],
            verbose=0,
        )
    assert latest_checkpoint(tmp_path) == good
    restored = load_checkpoint(good[0])
    assert all(np.isfinite(w).all() for w in restored.generator.get_weights())


def test_a_truncated_newest_checkpoint_falls_back_to_the_older_one(tmp_path):
    trainer = _tiny_trainer()
    save_checkpoint(trainer, tmp_path, 1)
    newest = save_checkpoint(trainer, tmp_path, 2)
    newest.write_bytes(newest.read_bytes()[:1000])
    with pytest.warns(UserWarning, match="ckpt-00000002"):
        restored, step = load_latest_checkpoint(tmp_path)
    assert step == 0 and isinstance(restored, PoseWarpTrainer)  # the step counter saved
    assert load_latest_checkpoint(tmp_path / "empty") is None


def test_stale_temporaries_of_a_killed_run_are_removed_when_training_starts(tmp_path):
    stale = [tmp_path / ".ckpt-00000004.keras.0a1b2c.keras", tmp_path / ".latest.json.9f8e.json"]
    for path in stale:
        path.write_bytes(b"half")
    keeper = tmp_path / "notes.txt"
    keeper.write_text("mine")
    CheckpointCallback(tmp_path).on_train_begin()
    assert not any(path.exists() for path in stale) and keeper.read_text() == "mine"


def test_resuming_with_other_settings_is_refused_and_names_them(tennis_dir, tmp_path):
    base = dict(
        data=str(tennis_dir),
        output=str(tmp_path / "run"),
        image_size=64,
        width=4,
        batch_size=2,
        steps=2,
        steps_per_epoch=2,
        reconstruction_loss="l1",
        holdout_fraction=0.0,
    )
    run_training(TrainingConfig(**base), verbose=0)
    with pytest.raises(InvalidConfigError, match="image_size: 64 -> 128") as raised:
        run_training(TrainingConfig(**{**base, "image_size": 128, "width": 8}), verbose=0)
    assert "width: 4 -> 8" in str(raised.value)
    # Running longer is what resuming is for.
    assert run_training(TrainingConfig(**{**base, "steps": 4}), verbose=0)["steps"] == 4


# -- fuzz --------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=16)
        | st.dictionaries(
            st.sampled_from(["image", "layout", "people", "keypoints", "id", "box", "x"]),
            children,
            max_size=5,
        )
    ),
    max_leaves=60,
)


@FUZZ
@given(document=_json_values)
def test_fuzzed_keypoint_json_raises_only_package_errors(tmp_path, document):
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(document))
    try:
        read_keypoints_json(path)
    except PoseGanZooError:
        pass


@FUZZ
@given(
    x=st.one_of(
        st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=90),
        st.sampled_from([[], "text", None]),
    ),
    shape=st.sampled_from([(14, 2, 3), (3, 14, 2), (28, 3), (14, 2), (0,), (5,)]),
    key=st.sampled_from(["data", "other"]),
)
def test_fuzzed_mat_files_raise_only_package_errors(tmp_path, x, shape, key):
    path = tmp_path / "fuzz.mat"
    values = np.asarray(x if isinstance(x, list) else [], float)
    size = int(np.prod(shape))
    array = np.resize(values, size).reshape(shape) if values.size else np.zeros(shape)
    content = {"X": array, "bbox": np.ones((3, 4))} if isinstance(x, list) else {"X": x or 0}
    scipy.io.savemat(path, {key: content})
    try:
        read_posewarp_info(path)
    except PoseGanZooError:
        pass


@FUZZ
@given(
    payload=st.binary(max_size=256),
    prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"]),
)
def test_fuzzed_image_files_raise_only_package_errors(tmp_path, payload, prefix):
    path = tmp_path / "fuzz.png"
    path.write_bytes(prefix + payload)
    try:
        image = load_image(path)
    except InvalidImageError:
        return
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3


@FUZZ
@given(
    joints=st.lists(
        st.tuples(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(allow_nan=True, allow_infinity=True),
        ),
        min_size=14,
        max_size=14,
    ),
    height=st.integers(1, 4000),
    width=st.integers(1, 4000),
)
def test_fuzzed_pose_geometry_raises_only_package_errors(joints, height, width):
    from posegan_zoo.pose import crop_scale, limb_transforms, person_scale

    try:
        pose = Pose(np.array(joints)).check_in_frame(height, width)
        scale = crop_scale([person_scale(pose)], (64, 64))
        transforms = limb_transforms(pose, pose)
    except InvalidPoseError:
        return
    assert np.isfinite(scale) and np.isfinite(transforms).all()


def test_purging_a_bad_hub_revision_keeps_blobs_another_revision_uses(tmp_path):
    from posegan_zoo.presets import format as preset_format
    from posegan_zoo.presets.hub import _purge_cached_snapshot

    repo = tmp_path / "models--owner--name"
    (repo / "blobs").mkdir(parents=True)
    shared, own = repo / "blobs" / "shared", repo / "blobs" / "own"
    shared.write_text("same file in both revisions")
    own.write_text("only in the bad revision")
    first, second = preset_format.PRESET_FILES[:2]
    for revision, links in (("good", {first: shared}), ("bad", {first: shared, second: own})):
        snapshot = repo / "snapshots" / revision
        snapshot.mkdir(parents=True)
        for name, blob in links.items():
            (snapshot / name).symlink_to(pathlib.Path("..", "..", "blobs", blob.name))
    assert sorted(_purge_cached_snapshot(repo / "snapshots" / "bad")) == sorted([first, second])
    assert shared.is_file() and not own.exists()
    assert (repo / "snapshots" / "good" / first).read_text() == "same file in both revisions"


def test_a_resumed_run_keeps_one_history_row_per_epoch(tmp_path):
    from posegan_zoo.training.run import _trim_history

    history = tmp_path / "history.csv"
    rows = ["epoch,loss\n"] + [f"{epoch},0.{epoch}\n" for epoch in range(5)] + ["5,0.5"]
    history.write_text("".join(rows))
    _trim_history(history, 3)  # resumed from the checkpoint that ends epoch 2
    assert history.read_text() == "".join(rows[:4])
