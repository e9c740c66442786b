"""Runs from the command line: train, resume after SIGKILL, fine-tune, configs, checkpoints."""

import json
import os
import signal
import stat
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from posegan_zoo.errors import CheckpointError, InvalidConfigError
from posegan_zoo.training import (
    TrainingConfig,
    atomic_path,
    latest_checkpoint,
    load_checkpoint,
    load_generator,
    save_checkpoint,
)

SMALL = [
    "--image-size",
    "64",
    "--width",
    "4",
    "--batch-size",
    "2",
    "--steps-per-epoch",
    "2",
    "--reconstruction-loss",
    "l1",
    "--deterministic",
]


def _command(tennis_dir, out, *args, verb="train"):
    # `finetune` takes the model and its size from --preset.
    small = SMALL[4:] if verb == "finetune" else SMALL
    return [
        sys.executable,
        "-m",
        "posegan_zoo.cli",
        verb,
        str(tennis_dir),
        "--out",
        str(out),
        *small,
        *args,
    ]


def _run(command, timeout=600):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout[result.stdout.index("{") :])


def _generator_weights(run):
    return load_generator(run).get_weights()


@pytest.fixture(scope="module")
def reference_run(tennis_dir, tmp_path_factory):
    """An uninterrupted 16-step run."""
    out = tmp_path_factory.mktemp("reference")
    summary = _run(_command(tennis_dir, out, "--steps", "16"))
    return out, summary


def test_a_run_leaves_model_checkpoints_samples_and_logs(reference_run):
    out, summary = reference_run
    assert summary["steps"] == 16
    assert set(summary["evaluation"]) == {"l1", "loss", "reconstruction"}
    assert (out / "model" / "generator.keras").is_file()
    record = json.loads((out / "model" / "training.json").read_text())
    assert record["config"]["steps"] == 16 and record["resumed_from_step"] is None
    assert len(record["history"]["loss"]) == 8
    # keep=3 newest checkpoints; the newest is the last step.
    assert sorted(p.name for p in (out / "checkpoints").glob("ckpt-*.keras")) == [
        "ckpt-00000012.keras",
        "ckpt-00000014.keras",
        "ckpt-00000016.keras",
    ]
    assert latest_checkpoint(out / "checkpoints")[1] == 16
    assert len(list((out / "samples").glob("step-*.png"))) == 8
    assert list((out / "logs").rglob("events.out.tfevents.*"))
    assert not list(out.rglob(".*.keras"))  # no temporary files left behind


def test_sigkill_then_resume_continues_exactly(tennis_dir, tmp_path, reference_run):
    reference, _ = reference_run
    out = tmp_path / "killed"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        _command(tennis_dir, out, "--steps", "16"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            found = (out / "checkpoints" / "latest.json").exists() and latest_checkpoint(
                out / "checkpoints"
            )
            if found and 4 <= found[1] < 16:
                break
            assert process.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
    path, step = latest_checkpoint(out / "checkpoints")
    assert 4 <= step < 16
    trainer = load_checkpoint(path)
    assert int(trainer.step_counter.numpy()) == step
    assert int(trainer.generator_optimizer.iterations.numpy()) == step
    assert not (out / "model").exists()

    summary = _run(_command(tennis_dir, out, "--steps", "16"))
    assert summary["steps"] == 16
    record = json.loads((out / "model" / "training.json").read_text())
    assert record["resumed_from_step"] >= step
    # Same weights, optimizer states and data stream: the same final generator.
    for resumed, uninterrupted in zip(
        _generator_weights(out), _generator_weights(reference), strict=True
    ):
        np.testing.assert_allclose(resumed, uninterrupted, atol=1e-5)


def test_finetune_starts_from_the_given_generator(tennis_dir, tmp_path, reference_run):
    reference, _ = reference_run
    out = tmp_path / "finetuned"
    config = tmp_path / "finetune.toml"
    config.write_text("steps = 2\nlearning_rate = 1e-3\nholdout_fraction = 0.0\n")
    summary = _run(
        _command(
            tennis_dir, out, "--config", str(config), "--preset", str(reference), verb="finetune"
        )
    )
    assert summary["steps"] == 2 and summary["evaluation"] == {}
    record = json.loads((out / "model" / "training.json").read_text())
    assert record["config"]["init_from"] == str(reference)
    assert record["config"]["learning_rate"] == 1e-3
    before, after = _generator_weights(reference), _generator_weights(out)
    assert [w.shape for w in before] == [w.shape for w in after]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after, strict=True))


def test_bad_data_folder_exits_with_a_named_error(tmp_path):
    missing = tmp_path / "nowhere"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "posegan_zoo.cli",
            "train",
            str(missing),
            "--out",
            str(tmp_path / "run"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 2
    assert str(missing) in result.stderr


def test_config_files_and_fields_are_validated(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"steps": 3, "learning_rat": 0.1}')
    with pytest.raises(InvalidConfigError, match="learning_rat"):
        TrainingConfig.from_file(bad, data="d", output="o")
    good = tmp_path / "good.json"
    good.write_text('{"data": "d", "output": "o", "steps": 3, "batch_size": 8}')
    config = TrainingConfig.from_file(good, batch_size=2, model=None)
    assert (config.steps, config.batch_size, config.model) == (3, 2, "posewarp")
    with pytest.raises(InvalidConfigError, match="model"):
        TrainingConfig(data="d", output="o", model="vae")
    with pytest.raises(InvalidConfigError, match="holdout_fraction"):
        TrainingConfig(data="d", output="o", holdout_fraction=1.0)
    for name in ("l1_weight", "cycle_weight", "adversarial_weight"):
        with pytest.raises(InvalidConfigError, match=name):
            TrainingConfig(data="d", output="o", **{name: float("nan")})


def test_a_cycle_run_with_a_pixel_term_logs_every_term(tennis_dir, tmp_path):
    out = tmp_path / "cycle"
    summary = _run(
        _command(tennis_dir, out, "--steps", "2", "--cycle-weight", "2", "--l1-weight", "0.5")
    )
    assert summary["steps"] == 2
    header = (out / "history.csv").read_text().splitlines()[0].split(",")
    assert {"reconstruction", "pixel_l1", "cycle"} <= set(header)
    trainer = load_checkpoint(latest_checkpoint(out / "checkpoints")[0])
    assert (type(trainer).__name__, trainer.cycle_weight, trainer.l1_weight) == (
        "PoseCycleTrainer",
        2.0,
        0.5,
    )


def test_atomic_path_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "weights.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half a new fi")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights.bin"]


def test_atomic_path_files_get_the_usual_permissions(tmp_path):
    # Like any file the user writes: 0o666 less the umask (a temporary file would be 0o600).
    umask = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "a.json") as tmp:
            tmp.write_text("{}")
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644


def test_a_failed_checkpoint_keeps_the_previous_one(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    save_checkpoint(model, tmp_path, step=1)

    class Exploding(keras.Sequential):
        def save(self, filepath, *args, **kwargs):
            with open(filepath, "wb") as handle:
                handle.write(b"PK\x03\x04 truncated")
            raise OSError("disk full")

    broken = Exploding([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(broken, tmp_path, step=2)
    path, step = latest_checkpoint(tmp_path)
    assert (path.name, step) == ("ckpt-00000001.keras", 1)
    assert isinstance(load_checkpoint(path), keras.Sequential)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-00000001.keras", "latest.json"]


def test_corrupt_checkpoint_records_are_named(tmp_path):
    (tmp_path / "latest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match=r"latest\.json"):
        latest_checkpoint(tmp_path)
    (tmp_path / "latest.json").write_text('{"checkpoint": "ckpt-9.keras", "step": 9}')
    with pytest.raises(CheckpointError, match=r"ckpt-9\.keras"):
        latest_checkpoint(tmp_path)
    (tmp_path / "ckpt-9.keras").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=r"ckpt-9\.keras"):
        load_checkpoint(tmp_path / "ckpt-9.keras")


@pytest.mark.parametrize(
    "precision, policy", [("bf16", "mixed_bfloat16"), ("fp16", "mixed_float16")]
)
def test_runs_train_in_16_bits_with_float32_weights(tennis_dir, tmp_path, precision, policy):
    out = tmp_path / precision
    command = _command(tennis_dir, out, "--steps", "2", "--precision", precision)
    summary = _run([*command, "--adversarial", "lsgan"])
    assert summary["steps"] == 2
    trainer = load_checkpoint(latest_checkpoint(out / "checkpoints")[0])
    for model in (trainer.generator, trainer.discriminator):
        assert model.dtype_policy.name == policy
        assert all(weight.dtype == "float32" for weight in model.weights)
    scaled = isinstance(trainer.generator_optimizer, keras.optimizers.LossScaleOptimizer)
    assert scaled == (precision == "fp16")  # float16 needs loss scaling, bfloat16 does not
    assert load_generator(out).dtype_policy.name == policy
    losses = (out / "history.csv").read_text().splitlines()[1:]
    assert losses and all(np.isfinite(float(value)) for row in losses for value in row.split(","))


def test_a_mirrored_run_on_two_devices_resumes_on_one(tennis_dir, tmp_path):
    # Two logical CPUs stand for two GPUs; they must exist before TensorFlow starts.
    script = (
        "import sys, tensorflow as tf\n"
        "cpu = tf.config.list_physical_devices('CPU')[0]\n"
        "tf.config.set_logical_device_configuration(\n"
        "    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)\n"
        "from posegan_zoo.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "mirrored"
    command = _command(tennis_dir, out, "--steps", "2", "--strategy", "mirrored")
    summary = _run([sys.executable, "-c", script, *command[3:]])
    assert summary["steps"] == 2 and summary["replicas"] == 2
    resumed = _run(_command(tennis_dir, out, "--steps", "3"))  # one device, same run
    assert resumed["steps"] == 3 and resumed["replicas"] == 1
    # config.json keeps how the run began; the strategy is one of the resumable changes.
    assert json.loads((out / "config.json").read_text())["strategy"] == "mirrored"
