"""The product commands: regenerate, evaluate, presets, download, convert; embedded presets."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
from PIL import Image

from posegan_zoo import PoseRegenerator, list_presets
from posegan_zoo.cli import main
from posegan_zoo.presets import load_preset, read_metadata, resolve
from posegan_zoo.presets.defaults import DEFAULT_PRESET

ROOT = pathlib.Path(__file__).resolve().parents[1]
FRAMES = ROOT / "examples" / "data" / "posewarp_tennis" / "frames" / "Flavia Pennetta in 4k"
POSES = ROOT / "examples" / "data" / "poses"


def test_embedded_presets_are_listed_and_the_default_measures_best():
    presets = list_presets()
    assert {"warp-only", "posewarp-tennis"} <= set(presets)
    ssim = {name: read_metadata(resolve(name))["metrics"]["held_out_ssim"] for name in presets}
    assert DEFAULT_PRESET == max(ssim, key=ssim.get)
    learned = read_metadata(resolve("posewarp-tennis"))
    assert learned["training_steps"] > 0 and "tennis" in learned["training_data"]
    assert learned["metrics"]["held_out_pairs"] > 0


def test_embedded_presets_load_and_regenerate():
    for name in list_presets():
        regenerator = PoseRegenerator.from_preset(name)
        result = regenerator(FRAMES / "1.jpg", POSES / "tennis_1.json", POSES / "tennis_5.json")
        assert np.isfinite(result.fake_crop).all() and result.fake.shape == (676, 1280, 3)


def test_regenerate_writes_images_grid_and_metrics(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "regenerate",
            str(FRAMES / "1.jpg"),
            "--pose",
            str(POSES / "tennis_1.json"),
            "--target-pose",
            str(POSES / "tennis_5.json"),
            "--target-image",
            str(FRAMES / "5.jpg"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["preset"] == DEFAULT_PRESET
    assert sorted(p.name for p in out.iterdir()) == [
        "comparison.png",
        "fake.png",
        "metrics.json",
        "recovered.png",
    ]
    record = json.loads((out / "metrics.json").read_text())
    assert set(record["original_vs_recovered"]) == {"ssim", "masked_ssim", "psnr", "l1"}
    assert record["fake_vs_real_target"]["ssim"] > 0
    with Image.open(out / "fake.png") as fake:
        assert fake.size == (1280, 676)
    with Image.open(out / "comparison.png") as grid:
        size = load_preset(resolve(DEFAULT_PRESET)).image_size
        assert grid.size == (4 * size[1], size[0])


def test_detect_writes_keypoint_json_the_reader_reads_back(tmp_path, capsys):
    from posegan_zoo.data import read_keypoints_json
    from posegan_zoo.detection import PoseDetector

    out = tmp_path / "poses"
    grass = tmp_path / "grass.png"
    Image.new("RGB", (120, 90), (40, 140, 40)).save(grass)
    images = [FRAMES / "1.jpg", FRAMES / "5.jpg", grass]
    assert main(["detect", *map(str, images), "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [entry["people"] for entry in printed] == [1, 1, 0]
    assert sorted(p.name for p in out.iterdir()) == [
        "1.json",
        "1.png",
        "5.json",
        "5.png",
        "grass.json",
        "grass.png",
    ]
    [person] = read_keypoints_json(out / "5.json")
    assert person.image.resolve() == (FRAMES / "5.jpg").resolve()
    expected = PoseDetector().detect(FRAMES / "5.jpg")[0].pose
    np.testing.assert_allclose(person.pose.to_array(), expected.to_array(), atol=1e-3)
    assert read_keypoints_json(out / "grass.json") == []
    # The written JSON drives regenerate like a hand-made one.
    code = main(
        [
            "regenerate",
            str(FRAMES / "1.jpg"),
            "--pose",
            str(out / "1.json"),
            "--target-pose",
            str(out / "5.json"),
            "--out",
            str(tmp_path / "regen"),
        ]
    )
    assert code == 0
    capsys.readouterr()
    # A file where the output folder should be is refused before anything runs.
    assert main(["detect", str(FRAMES / "1.jpg"), "--out", str(grass)]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_regenerate_needs_no_json(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "regenerate",
            str(FRAMES / "1.jpg"),
            "--target-image",
            str(FRAMES / "5.jpg"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["people_found"] == {"source": 1, "target": 1}
    assert printed["fake_metrics"]["ssim"] > 0
    assert main(["regenerate", str(FRAMES / "1.jpg"), "--out", str(out)]) == 2
    assert "--target-pose" in capsys.readouterr().err


def test_evaluate_prints_a_table_with_the_baselines(tmp_path, capsys):
    out = tmp_path / "evaluation"
    code = main(
        [
            "evaluate",
            str(ROOT / "examples" / "data" / "posewarp_tennis"),
            "--preset",
            "warp-only",
            "--no-perceptual",
            "--gallery",
            "0",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| warp-only |" in printed and "copy-source (baseline)" in printed
    record = json.loads((out / "evaluation.json").read_text())
    assert record["pairs"] == 12 and record["selection"]["holdout_fraction"] == 0.25
    assert list(record["overall"]) == ["model", "warp-only", "copy-source"]
    # The held-out SSIM that the preset's metadata records.
    held_out = read_metadata(resolve("warp-only"))["metrics"]["held_out_ssim"]
    assert abs(record["overall"]["model"]["ssim"] - held_out) < 1e-4


def test_presets_and_download_commands(capsys):
    assert main(["presets"]) == 0
    listing = capsys.readouterr().out
    assert f"{DEFAULT_PRESET} (default)" in listing and "posewarp-tennis" in listing
    assert main(["download", "warp-only"]) == 0
    assert pathlib.Path(capsys.readouterr().out.strip()) == resolve("warp-only")


def test_bad_handles_and_files_exit_with_named_errors(tmp_path, capsys):
    image, pose = str(FRAMES / "1.jpg"), str(POSES / "tennis_1.json")
    cases = [
        (
            [
                "regenerate",
                image,
                "--pose",
                pose,
                "--target-pose",
                pose,
                "--preset",
                "../../etc",
                "--out",
                str(tmp_path),
            ],
            "etc",
        ),
        (
            [
                "regenerate",
                image,
                "--pose",
                pose,
                "--target-pose",
                pose,
                "--preset",
                "hf://not a repo",
                "--out",
                str(tmp_path),
            ],
            "not a repo",
        ),
        (
            [
                "regenerate",
                str(tmp_path / "none.jpg"),
                "--pose",
                pose,
                "--target-pose",
                pose,
                "--out",
                str(tmp_path),
            ],
            "none.jpg",
        ),
        (["download", "no-such-preset"], "no-such-preset"),
        (["convert", str(FRAMES / "1.jpg"), "--out", str(tmp_path / "p")], "1.jpg"),
    ]
    for argv, named in cases:
        assert main(argv) == 2, argv
        assert named in capsys.readouterr().err


def test_convert_writes_a_loadable_preset(tmp_path):
    # A stand-in for the authors' file, written the way the converter's tests do.
    from test_checkpoint_converter import ReferenceReplica, write_keras2_file

    checkpoint = write_keras2_file(tmp_path / "vgg_100000.h5", ReferenceReplica().weights())
    assert (
        main(["convert", str(checkpoint), "--out", str(tmp_path / "authors"), "--image-size", "64"])
        == 0
    )
    metadata = read_metadata(tmp_path / "authors")
    assert metadata["class"].endswith("PoseWarpGenerator")
    assert "BGR" in metadata["description"]
    assert load_preset(tmp_path / "authors").resampling == "reference"


def test_readme_main_job_runs_as_written(tmp_path):
    line = (ROOT / "README.md").read_text().split("```", 2)[1].splitlines()[1]
    command = line.split("&& ", 1)[1].replace("outputs/regenerate", str(tmp_path / "out"))
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    bindir = pathlib.Path(sys.executable).parent
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        command,
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "out" / "comparison.png").is_file()
