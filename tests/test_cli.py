"""The product commands: regenerate, evaluate, presets, download, convert; embedded presets."""

import argparse
import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
import types

import numpy as np
import pytest
from PIL import Image

from posegan_zoo import PoseRegenerator, list_presets
from posegan_zoo.cli import main
from posegan_zoo.presets import load_preset, read_metadata, resolve
from posegan_zoo.presets.defaults import DEFAULT_PRESET
from posegan_zoo.reporting import MIN_PANEL_SIDE

ROOT = pathlib.Path(__file__).resolve().parents[1]
FRAMES = ROOT / "examples" / "data" / "posewarp_tennis" / "frames" / "Flavia Pennetta in 4k"
POSES = ROOT / "examples" / "data" / "poses"


def test_embedded_presets_are_listed_and_the_default_measures_best_on_unseen_people():
    presets = list_presets()
    assert {"warp-only", "posewarp-tennis"} <= set(presets)
    metrics = {name: read_metadata(resolve(name))["metrics"] for name in presets}
    assert all(m["unseen_pairs"] > 0 and m["held_out_pairs"] > 0 for m in metrics.values())
    unseen = {name: m["unseen_masked_ssim"] for name, m in metrics.items()}
    assert DEFAULT_PRESET == max(unseen, key=unseen.get)
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
        # Four panels at the model's resolution, or upscaled to MIN_PANEL_SIDE when smaller.
        height, width = load_preset(resolve(DEFAULT_PRESET)).image_size
        zoom = max(1, -(-MIN_PANEL_SIDE // min(height, width)))
        assert grid.size == (4 * width * zoom, height * zoom)


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


# -- a quiet, fast command line ---------------------------------------------------------------


def _subcommands():
    from posegan_zoo.cli import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return commands.choices


def test_help_argument_errors_and_presets_need_no_tensorflow():
    # In a fresh interpreter: no parse, nor listing the presets, may import TensorFlow or Keras.
    script = (
        "import sys\n"
        "from posegan_zoo.cli import build_parser, main\n"
        "names = list(build_parser()._subparsers._group_actions[0].choices)\n"
        "calls = [['--help'], *([name, '--help'] for name in names), ['train'],\n"
        "         ['train', 'd', '--out', 'o', '--steps', 'x'],\n"
        "         ['train', 'd', '--out', 'o', '--adversarial', 'gan'],\n"
        "         ['train', 'd', '--out', 'o', '--steps', '0'],\n"
        "         ['train', 'd', '--out', 'o', '--learning-rate', 'nan'],\n"
        "         ['finetune', 'd', '--out', 'o', '--preset', 'p', '--width', '8']]\n"
        "codes = []\n"
        "for argv in calls:\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as stop:\n"
        "        codes.append(stop.code)\n"
        "assert main(['presets']) == 0  # reads the embedded metadata only\n"
        "heavy = sorted({'tensorflow', 'keras'} & set(sys.modules))\n"
        "print('RESULT', codes, heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = result.stderr.strip().splitlines()[-1]
    codes, heavy = line.removeprefix("RESULT ").rsplit(" [", 1)
    assert heavy == "]", f"imported while parsing: [{heavy}"
    names = len(_subcommands())
    assert codes == str([0] * (names + 1) + [2] * 6)
    assert "argument --steps: expected an integer, got 'x'" in result.stderr
    assert "argument --steps: must be >= 1, got 0" in result.stderr
    assert "argument --learning-rate: must be finite, got 'nan'" in result.stderr
    assert "invalid choice: 'gan'" in result.stderr
    assert "unrecognized arguments: --width 8" in result.stderr


def test_every_flag_has_help_and_lists_its_choices():
    for name, parser in _subcommands().items():
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest} has no help"
            for choice in action.choices or ():
                assert str(choice) in text, (name, action.dest, choice)
    finetune = {flag for a in _subcommands()["finetune"]._actions for flag in a.option_strings}
    assert not {"--model", "--width", "--image-size"} & finetune
    assert {"--steps", "--preset", "--config"} <= finetune


def test_the_training_flags_follow_the_config():
    from posegan_zoo.cli import training_fields
    from posegan_zoo.models.posewarp.trainer import ADVERSARIAL_LOSSES
    from posegan_zoo.training import TrainingConfig, run

    fields, choices, bounds = training_fields()
    expected = []
    for field in dataclasses.fields(TrainingConfig):
        kind = field.type
        if isinstance(kind, types.UnionType):
            kind = next(a for a in kind.__args__ if a is not type(None))
        expected.append((field.name, kind, field.default))
    assert list(fields) == expected
    assert choices == {
        "model": run.MODELS,
        "reconstruction_loss": run.RECONSTRUCTION_LOSSES,
        "perceptual_backbone": run.PERCEPTUAL_BACKBONES,
        "precision": run.PRECISIONS,
        "strategy": run.STRATEGIES,
        "adversarial": ADVERSARIAL_LOSSES,
    }
    # The training precisions are the ones presets load in.
    from posegan_zoo.presets.format import PRECISIONS

    assert tuple(PRECISIONS) == run.PRECISIONS
    assert bounds == run.FIELD_BOUNDS


def test_the_module_docstring_names_real_flags():
    import posegan_zoo.cli

    subcommands = _subcommands()
    usage = posegan_zoo.cli.__doc__.split("\n\n")[1]
    for entry in re.split(r"\n(?=    posegan-zoo )", usage):
        name = entry.split()[1]
        flags = {f for a in subcommands[name]._actions for f in a.option_strings}
        for flag in re.findall(r"--[a-z][a-z-]*", entry):
            assert flag in flags, f"the docstring gives `{name} {flag}`"


def test_tensorflow_start_up_lines_are_dropped_and_the_rest_kept():
    from posegan_zoo.cli import _relay

    lines = [
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        "I0000 00:00:1796319802.312254    6323 port.cc:153] oneDNN custom operations are on.\n",
        "W0000 00:00:1796319802.312804    6323 cudart_stub.cc:31] Could not find cuda drivers\n",
        "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n",
        "E0000 00:00:1796319807.203870    6323 cuda_platform.cc:52] failed call to cuInit\n",
        "posegan-zoo regenerate: 2 people in the source image\n",
        " 50%|#####     | 1/2\r",
        "/x/y.py:3: UserWarning: something to read",
    ]
    read_end, write_end = os.pipe()
    kept_read, kept_write = os.pipe()
    os.write(write_end, "".join(lines).encode())
    os.close(write_end)
    _relay(read_end, kept_write)
    os.close(kept_write)
    with os.fdopen(kept_read, "rb") as kept:
        assert kept.read().decode() == "".join(lines[4:])


def test_a_command_prints_no_tensorflow_log_lines():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "posegan_zoo.cli", "presets"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "posewarp-tennis" in result.stdout
    assert result.stderr == ""


# -- one resolver for generator handles --------------------------------------------------------


def test_generator_handles_of_every_kind_resolve(tmp_path, capsys):
    from posegan_zoo import WarpOnlyGenerator
    from posegan_zoo.errors import PresetError, PresetNotFoundError
    from posegan_zoo.presets import locate_generator

    assert locate_generator("warp-only").kind == "preset"
    assert locate_generator(resolve("warp-only")).kind == "preset"
    # A run folder: its final model, or its newest checkpoint when it has trained past it.
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    WarpOnlyGenerator(64).save(run / "model" / "generator.keras")
    (run / "model" / "training.json").write_text('{"steps": 4}')
    source = locate_generator(str(run))
    assert (source.kind, source.path, source.step) == ("run", run / "model/generator.keras", 4)
    assert locate_generator(run / "model" / "generator.keras").kind == "keras"
    (run / "checkpoints").mkdir()
    (run / "checkpoints" / "ckpt-00000006.keras").write_bytes(b"")
    (run / "checkpoints" / "latest.json").write_text(
        '{"checkpoint": "ckpt-00000006.keras", "step": 6}'
    )
    assert (locate_generator(run).kind, locate_generator(run).step) == ("checkpoint", 6)
    # regenerate reads a run folder and a .keras file like a preset.
    image, pose, target = FRAMES / "1.jpg", POSES / "tennis_1.json", POSES / "tennis_5.json"
    (run / "model" / "training.json").write_text('{"steps": 6}')
    for handle in (run, run / "model" / "generator.keras"):
        argv = ["regenerate", str(image), "--pose", str(pose), "--target-pose", str(target)]
        assert main([*argv, "--preset", str(handle), "--out", str(tmp_path / "out")]) == 0
        assert json.loads(capsys.readouterr().out)["preset"] == str(handle)
    # What names no generator says so, and what it expected.
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("")
    for handle, error, named in (
        (tmp_path / "none", PresetNotFoundError, "does not exist"),
        (tmp_path / "notes", PresetNotFoundError, "neither a preset"),
        (tmp_path / "notes" / "a.txt", PresetError, "not a .keras file"),
        ("no-such-preset", PresetNotFoundError, "available: "),
    ):
        with pytest.raises(error, match=named) as raised:
            locate_generator(handle)
        assert "a training run folder or a .keras file" in str(raised.value)
    with pytest.raises(PresetError, match="revision"):
        locate_generator(run, revision="v1")
    # finetune names its flag when the handle is wrong, before reading any data.
    argv = ["finetune", str(tmp_path / "no-data"), "--out", str(tmp_path / "ft")]
    assert main([*argv, "--preset", str(tmp_path / "none")]) == 2
    assert "--preset: no generator at" in capsys.readouterr().err


def test_export_refuses_unfinished_runs_stale_figures_and_other_folders(tmp_path, capsys):
    from posegan_zoo import WarpOnlyGenerator

    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    assert main(["export", str(run), "--out", str(tmp_path / "p")]) == 2
    assert "no final model" in capsys.readouterr().err
    (run / "model").mkdir()
    WarpOnlyGenerator(64).save(run / "model" / "generator.keras")
    config = {"data": "d", "model": "posewarp", "reconstruction_loss": "l1", "holdout_fraction": 0}
    record = {"config": config, "steps": 2, "evaluation": {}, "history": {"loss": [0.5, 0.25]}}
    (run / "model" / "training.json").write_text(json.dumps(record))
    (run / "evaluation").mkdir()
    figures = run / "evaluation" / "evaluation.json"
    figures.write_text(json.dumps({"overall": {"model": {"ssim": 0.5}}, "pairs": 3}))
    os.utime(figures, (1, 1))
    assert main(["export", str(run), "--out", str(tmp_path / "p")]) == 2
    assert "older than the run's model" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()
    figures.touch()
    selection = {"data": "d", "pairs": "held-out targets", "holdout_fraction": 0.25}
    figures.write_text(json.dumps({**json.loads(figures.read_text()), "selection": selection}))
    assert main(["export", str(run), "--out", str(tmp_path / "p")]) == 0
    metadata = json.loads(capsys.readouterr().out)
    # Trained on every frame of the same data: the figures are not held out.
    assert metadata["metrics"] == {"evaluation_ssim": 0.5, "evaluation_pairs": 3}
    assert read_metadata(tmp_path / "p")["training"]["final_losses"] == {"loss": 0.25}
    # Never over a folder of other files.
    assert main(["export", str(run), "--out", str(run)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err


def test_vgg_download_error_names_the_flags(tennis_dir, tmp_path, capsys, monkeypatch):
    from posegan_zoo import losses

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: [Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr("keras.src.utils.file_utils.get_file", offline)
    monkeypatch.setattr("keras.utils.get_file", offline)
    monkeypatch.setattr(losses, "_FEATURE_MODELS", {})
    argv = ["train", str(tennis_dir), "--out", str(tmp_path / "run"), "--image-size", "64"]
    assert main([*argv, "--width", "4", "--steps", "1", "--perceptual-backbone", "vgg19"]) == 2
    err = capsys.readouterr().err
    assert "--perceptual-backbone vgg19" in err and "--vgg-weights PATH" in err
    assert "mobilenet_v2" in err and "`weights" not in err
