"""The command line's chain at tiny sizes, in one process: train -> evaluate -> export ->
regenerate -> finetune --preset -> push (loopback Hub) -> regenerate from hf://."""

import json
import pathlib
import socket

import pytest
from hub_server import FakeHub
from huggingface_hub import constants as hf_constants

from posegan_zoo.cli import main
from posegan_zoo.presets import read_metadata, validate_preset

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


def _regenerate(preset, out, *extra):
    return main(
        [
            "regenerate",
            str(FRAMES / "1.jpg"),
            "--pose",
            str(POSES / "tennis_1.json"),
            "--target-pose",
            str(POSES / "tennis_5.json"),
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
