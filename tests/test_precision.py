"""Presets and generators under other dtype policies (`with_dtype`, `--precision`)."""

import json
import pathlib

import numpy as np
import pytest

from posegan_zoo import PoseRegenerator, PoseWarpGenerator, load_generator
from posegan_zoo.cli import main
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.metrics import ssim
from posegan_zoo.presets.format import with_dtype

ROOT = pathlib.Path(__file__).resolve().parents[1]
FRAMES = ROOT / "examples" / "data" / "posewarp_tennis" / "frames" / "Flavia Pennetta in 4k"
POSES = ROOT / "examples" / "data" / "poses"


@pytest.fixture(scope="module")
def regenerated():
    """fp32 fakes of the tennis preset and of warp-only, to compare the others with."""
    return {
        name: PoseRegenerator.from_preset(name)(
            FRAMES / "1.jpg", POSES / "tennis_1.json", POSES / "tennis_5.json"
        ).fake_crop
        for name in ("posewarp-tennis", "warp-only")
    }


@pytest.mark.parametrize("name", ["posewarp-tennis", "warp-only"])
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_presets_run_in_16_bits_close_to_float32(regenerated, name, precision):
    regenerator = PoseRegenerator.from_preset(name, precision)
    policy = {"bf16": "mixed_bfloat16", "fp16": "mixed_float16"}[precision]
    assert regenerator.generator.dtype_policy.name == policy
    assert all(weight.dtype == "float32" for weight in regenerator.generator.weights)
    fake = regenerator(FRAMES / "1.jpg", POSES / "tennis_1.json", POSES / "tennis_5.json").fake_crop
    assert fake.dtype == regenerated[name].dtype and np.isfinite(fake).all()
    # Measured on this pair: bf16 0.997-0.998, fp16 0.9999 or more.
    assert ssim(regenerated[name], fake) > (0.98 if precision == "bf16" else 0.995)
    assert not np.array_equal(fake, regenerated[name])  # it did compute in 16 bits


def test_every_load_path_takes_a_dtype(tmp_path):
    model = PoseWarpGenerator.tiny(64)
    folder = model.save_to_preset(tmp_path / "tiny")
    model.save(tmp_path / "tiny.keras")
    loaded = [
        PoseWarpGenerator.from_preset(folder, dtype="mixed_bfloat16"),
        load_generator(folder, "bf16"),
        load_generator(tmp_path / "tiny.keras", "bf16"),
    ]
    for generator in loaded:
        assert generator.dtype_policy.name == "mixed_bfloat16"
        for mine, theirs in zip(generator.weights, model.weights, strict=True):
            np.testing.assert_array_equal(np.asarray(mine), np.asarray(theirs))
    assert with_dtype(model, "fp32") is model and with_dtype(model, None) is model
    with pytest.raises(InvalidConfigError, match=r"`dtype` must be one of .*'int8'"):
        with_dtype(model, "int8")


def test_regenerate_precision_flag(tmp_path, capsys):
    argv = ["regenerate", str(FRAMES / "1.jpg"), "--pose", str(POSES / "tennis_1.json")]
    argv += ["--target-pose", str(POSES / "tennis_5.json"), "--out", str(tmp_path / "out")]
    assert main([*argv, "--precision", "bf16"]) == 0
    out = capsys.readouterr().out
    record = json.loads(out[out.index("{") :])
    assert record["precision"] == "bf16" and 0 < record["metrics"]["ssim"] <= 1
    with pytest.raises(SystemExit):
        main([*argv, "--precision", "int8"])
    assert "invalid choice: 'int8'" in capsys.readouterr().err
