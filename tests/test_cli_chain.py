"""The command line's chains at tiny sizes, in one process.

- From a dataset: train -> evaluate -> export -> regenerate -> finetune --preset -> push
  (loopback Hub) -> regenerate from hf://.
- As a new user with photos and videos (issue 17's Done-when): detect poses in two photos ->
  regenerate -> prepare a folder of videos -> finetune the default preset on it -> export ->
  regenerate and animate with the export -> push -> regenerate from hf://."""

import json
import pathlib
import socket

import av
import numpy as np
import pytest
from hub_server import FakeHub
from huggingface_hub import constants as hf_constants
from PIL import Image

from posegan_zoo.cli import main
from posegan_zoo.data import read_posewarp_dataset
from posegan_zoo.pose import person_scale
from posegan_zoo.presets import read_metadata, validate_preset
from posegan_zoo.regenerator import load_pose
from posegan_zoo.video import write_video

ROOT = pathlib.Path(__file__).resolve().parents[1]
FRAMES = ROOT / "examples" / "data" / "posewarp_tennis" / "frames" / "Flavia Pennetta in 4k"
POSES = ROOT / "examples" / "data" / "poses"
TINY = ["--batch-size", "2", "--reconstruction-loss", "l1", "--no-augment"]


@pytest.fixture
def loopback_hub(monkeypatch, tmp_path):
    """A loopback Hub as HF_ENDPOINT; any other host is refused."""
    real_getaddrinfo = socket.getaddrinfo

    def guarded(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", b"127.0.0.1", b"localhost"):
            raise OSError(f"test_cli_chain: network access to {host!r} is not allowed")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    monkeypatch.setattr(hf_constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "hf_loopback_test_token")
    with FakeHub() as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        yield hub
    assert not hub.unhandled, f"requests the fake Hub does not implement: {hub.unhandled}"
    assert not hub.errors, f"the fake Hub failed: {hub.errors}"


def _json(capsys):
    out = capsys.readouterr().out
    return json.loads(out[out.index("{") :])


def _regenerate(preset, out, *extra, poses=(POSES / "tennis_1.json", POSES / "tennis_5.json")):
    return main(
        [
            "regenerate",
            str(FRAMES / "1.jpg"),
            "--pose",
            str(poses[0]),
            "--target-pose",
            str(poses[1]),
            "--preset",
            str(preset),
            "--out",
            str(out),
            *extra,
        ]
    )


def test_the_whole_chain_runs_at_tiny_sizes(tennis_dir, tmp_path, capsys, loopback_hub):
    run, preset = tmp_path / "run", tmp_path / "tiny-preset"
    # train: exactly 3 updates, epochs of 2 (the last one shorter).
    size = ["--image-size", "64", "--width", "8"]
    argv = ["train", str(tennis_dir), "--out", str(run), *size, *TINY, "--steps", "3"]
    assert main([*argv, "--steps-per-epoch", "2"]) == 0
    assert _json(capsys)["steps"] == 3
    record = json.loads((run / "model" / "training.json").read_text())
    assert len(record["history"]["loss"]) == 2
    assert sorted(p.name for p in (run / "checkpoints").glob("ckpt-*.keras")) == [
        "ckpt-00000002.keras",
        "ckpt-00000003.keras",
    ]

    # evaluate the run folder itself, where export looks for the figures.
    evaluate = ["evaluate", str(tennis_dir), "--preset", str(run), "--no-perceptual"]
    evaluate += ["--gallery", "0", "--max-pairs-per-clip", "2", "--out", str(run / "evaluation")]
    assert main(evaluate) == 0
    capsys.readouterr()

    # export: a preset folder whose card records the run.
    assert main(["export", str(run), "--out", str(preset), "--license", "mit"]) == 0
    assert _json(capsys)["training_steps"] == 3
    metadata = validate_preset(preset)
    assert metadata["training_steps"] == 3 and metadata["image_size"] == [64, 64]
    assert metadata["training"]["loss"] == "l1" and metadata["training_data"] == str(tennis_dir)
    assert metadata["metrics"]["held_out_pairs"] == 2
    assert {"held_out_ssim", "identity_ssim", "validation_loss"} <= set(metadata["metrics"])
    card = (preset / "README.md").read_text()
    assert "## Training" in card and "held-out frame pairs" in card and "license: mit" in card

    # regenerate and evaluate with the exported folder.
    assert _regenerate(preset, tmp_path / "local") == 0
    local = _json(capsys)["metrics"]
    assert main([*evaluate[:3], str(preset), *evaluate[4:-1], str(tmp_path / "ev")]) == 0
    assert "| " in capsys.readouterr().out

    # finetune from the exported folder (its model and size; no --model / --image-size).
    tuned = tmp_path / "tuned"
    argv = ["finetune", str(tennis_dir), "--preset", str(preset), "--out", str(tuned), *TINY]
    assert main([*argv, "--steps", "1", "--holdout-fraction", "0"]) == 0
    assert _json(capsys)["steps"] == 1
    assert json.loads((tuned / "model" / "training.json").read_text())["config"]["init_from"] == (
        str(preset)
    )

    # push to the (loopback) Hub, then regenerate from hf:// as anyone would.
    assert main(["push", str(preset), "--repo", "alice/tiny-posewarp"]) == 0
    pushed = _json(capsys)
    assert pushed["handle"] == "hf://alice/tiny-posewarp"
    files = loopback_hub.files("alice/tiny-posewarp")
    assert sorted(files) == ["README.md", "config.json", "metadata.json", "model.weights.h5"]
    assert 'from_preset("hf://alice/tiny-posewarp")' in files["README.md"].decode()
    assert files["model.weights.h5"] == (preset / "model.weights.h5").read_bytes()
    cache = ["--cache-dir", str(tmp_path / "hf-cache")]
    assert _regenerate("hf://alice/tiny-posewarp", tmp_path / "hub", *cache) == 0
    assert _json(capsys)["metrics"] == local
    assert read_metadata(preset)["metrics"]["held_out_pairs"] == 2


# The bundled clip's camera moves a little; prepare warns about it, rightly, and goes on.
@pytest.mark.filterwarnings("ignore::posegan_zoo.data.prepare.CameraMotionWarning")
def test_from_two_photos_and_a_folder_of_videos_to_an_animation(tmp_path, capsys, loopback_hub):
    # detect: the poses of two photos, as keypoint JSON the other commands read.
    poses = tmp_path / "poses"
    photos = [str(FRAMES / "1.jpg"), str(FRAMES / "5.jpg")]
    assert main(["detect", *photos, "--out", str(poses)]) == 0
    assert [record["people"] for record in _json_list(capsys)] == [1, 1]
    detected = [poses / "1.json", poses / "5.json"]
    for path, label in zip(detected, ("tennis_1.json", "tennis_5.json"), strict=True):
        found, truth = load_pose(path), load_pose(POSES / label)
        error = np.linalg.norm(found.joints - truth.joints, axis=1) / (200 * person_scale(truth))
        assert np.median(error) < 0.05, (path.name, error)

    # regenerate with the default preset from the detected poses.
    assert _regenerate("posewarp-tennis", tmp_path / "first", poses=detected) == 0
    assert set(_json(capsys)["metrics"]) >= {"ssim", "l1"}

    # prepare: a folder of the user's videos (here the tennis frames at half size).
    videos = tmp_path / "my videos"
    videos.mkdir()
    frames = [
        np.asarray(Image.open(p).convert("RGB").reduce(2)) for p in sorted(FRAMES.glob("*.jpg"))
    ]
    write_video(videos / "rally.mp4", frames, fps=25)
    dataset = tmp_path / "dataset"
    assert main(["prepare", str(videos), "--out", str(dataset), "--min-visible-joints", "12"]) == 0
    capsys.readouterr()
    [clip] = read_posewarp_dataset(dataset)
    assert len(clip) >= 4 and len(clip.mask_paths) == len(clip)

    # finetune the default preset on it, export the run, use the export.
    tuned, mine = tmp_path / "tuned", tmp_path / "my-preset"
    argv = ["finetune", str(dataset), "--preset", "posewarp-tennis", "--out", str(tuned), *TINY]
    assert main([*argv, "--steps", "2", "--holdout-fraction", "0"]) == 0
    assert _json(capsys)["steps"] == 2
    assert main(["export", str(tuned), "--out", str(mine)]) == 0
    capsys.readouterr()
    assert validate_preset(mine)["training_steps"] == 2
    assert _regenerate(mine, tmp_path / "mine", poses=detected) == 0
    local = _json(capsys)["metrics"]

    # animate: the photo's person follows the prepared video's poses.
    movie = tmp_path / "rally-as-1.mp4"
    argv = ["animate", photos[0], "--pose", str(detected[0]), "--poses", str(dataset)]
    assert main([*argv, "--out", str(movie), "--preset", str(mine), "--batch-size", "4"]) == 0
    assert _json(capsys)["frames"] == len(clip)
    with av.open(str(movie)) as container:
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == len(clip) and decoded[0].shape == (676, 1280, 3)

    # push, then regenerate from the Hub as anyone would.
    assert main(["push", str(mine), "--repo", "alice/my-posewarp"]) == 0
    assert _json(capsys)["handle"] == "hf://alice/my-posewarp"
    cache = ["--cache-dir", str(tmp_path / "hf-cache")]
    assert _regenerate("hf://alice/my-posewarp", tmp_path / "hub", *cache, poses=detected) == 0
    assert _json(capsys)["metrics"] == local


def _json_list(capsys):
    out = capsys.readouterr().out
    return json.loads(out[out.index("[") :])
