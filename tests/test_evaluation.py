"""`posegan_zoo.evaluation` and `posegan-zoo evaluate`: pairs, scores, baselines, files, errors.

The data is a tiny synthetic dataset in the paper's format, written by the tests: a
stick person (thick coloured bones) on a textured background, with person masks.
"""

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from posegan_zoo.cli import main
from posegan_zoo.data import pair_dataset, read_posewarp_dataset, write_posewarp_info
from posegan_zoo.errors import DataFormatError, InvalidConfigError
from posegan_zoo.evaluation import (
    COPY_SOURCE,
    MODEL,
    WARP_ONLY,
    evaluate_pairs,
    evaluate_preset,
    frame_pairs,
    write_evaluation,
)
from posegan_zoo.metrics import masked_ssim, ssim
from posegan_zoo.models import WarpOnlyGenerator
from posegan_zoo.pose import BONES, Pose
from posegan_zoo.presets import save_preset

SIZE = 32
HEIGHT, WIDTH = 96, 80
# (x, y) of the 14 joints in units of the person's height, origin at the centre.
LAYOUT = np.array(
    [
        [0.0, -0.45], [0.0, -0.35],
        [-0.12, -0.33], [-0.18, -0.15], [-0.2, 0.0],
        [0.12, -0.33], [0.18, -0.15], [0.2, 0.0],
        [-0.08, 0.02], [-0.09, 0.25], [-0.1, 0.47],
        [0.08, 0.02], [0.09, 0.25], [0.1, 0.47],
    ]
)  # fmt: skip


def _person(pose, background):
    """The frame (person on `background`) and its mask (255 on the person)."""
    frame, mask = Image.fromarray(background), Image.new("L", (WIDTH, HEIGHT))
    for image, fill in ((frame, None), (mask, 255)):
        draw = ImageDraw.Draw(image)
        for k, (a, b) in enumerate(BONES):
            colour = fill if fill is not None else (40 + 20 * k, 200 - 15 * k, 90 + 10 * k)
            draw.line([tuple(pose[a]), tuple(pose[b])], fill=colour, width=7)
    return np.asarray(frame), np.asarray(mask)


def write_dataset(root, lengths, masks=True, still=False, seed=0):
    """A dataset of `lengths` frames per clip ("clip0", "clip1", ...); returns `root`.

    With `still`, every frame of a clip is the same image and pose.
    """
    rng = np.random.default_rng(seed)
    for c, count in enumerate(lengths):
        name = f"clip{c}"
        background = rng.integers(60, 200, (HEIGHT, WIDTH, 3), np.uint8)
        poses, boxes = [], []
        base = np.array([WIDTH / 2, HEIGHT / 2]) + 60 * LAYOUT
        for k in range(1, count + 1):
            pose = base if still else base + rng.normal(0.0, 3.0, (14, 2))
            frame, mask = _person(pose, background)
            for folder, image in (("frames", frame), ("masks", mask)):
                if folder == "masks" and not masks:
                    continue
                (root / folder / name).mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(root / folder / name / f"{k}.png")
            low, high = pose.min(axis=0), pose.max(axis=0)
            poses.append(pose)
            boxes.append([*low, *(high - low)])
        write_posewarp_info(root / "info" / f"{name}.mat", Pose(np.array(poses)), boxes)
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return write_dataset(tmp_path_factory.mktemp("data"), [3, 4])


@pytest.fixture(scope="module")
def warp_preset(tmp_path_factory):
    """A warp-only preset at the tests' crop size (a folder handle)."""
    return save_preset(WarpOnlyGenerator(SIZE), tmp_path_factory.mktemp("presets") / "warp-32")


def test_every_ordered_pair_or_a_seeded_cap_per_clip(dataset):
    clips = read_posewarp_dataset(dataset)
    pairs = frame_pairs(clips)
    counts = [sum(1 for c, _, _ in pairs if c == index) for index in range(2)]
    assert counts == [3 * 2, 4 * 3]
    assert all(s != t for _, s, t in pairs) and len(set(pairs)) == len(pairs)
    capped = frame_pairs(clips, max_pairs_per_clip=5, seed=3)
    assert [sum(1 for c, _, _ in capped if c == i) for i in range(2)] == [5, 5]
    assert set(capped) <= set(pairs) and capped == frame_pairs(clips, None, 5, 3)
    assert capped != frame_pairs(clips, None, 5, 4)
    # A clip's draw does not depend on the other clips.
    alone = frame_pairs(clips[1:], max_pairs_per_clip=5, seed=3)
    assert [(s, t) for _, s, t in alone] == [(s, t) for c, s, t in capped if c == 1]
    held = frame_pairs(clips, holdout_fraction=0.25)
    assert {t for c, _, t in held if c == 1} == {3}


def test_scores_per_clip_and_copy_source_matches_the_metrics(dataset):
    clips = read_posewarp_dataset(dataset)
    pairs = frame_pairs(clips)
    result = evaluate_pairs(WarpOnlyGenerator(SIZE), clips, pairs, perceptual=True, gallery=3)
    assert result.methods == (MODEL, WARP_ONLY, COPY_SOURCE)
    assert result.masks == "dataset"
    assert result.counts() == {"clip0": 6, "clip1": 12}
    assert set(result.metrics) == {
        "ssim",
        "masked_ssim",
        "perceptual",
        "recovered_ssim",
        "recovered_masked_ssim",
        "psnr",
        "l1",
    }
    # Copy-source's fake is the source crop: its SSIM is metrics.ssim of the two crops.
    inputs, target = next(iter(pair_dataset(clips, SIZE, augmentation=None, pairs=pairs[4:5])))
    expected = ssim(target.numpy(), inputs["source_image"].numpy())[0]
    assert result.scores[COPY_SOURCE]["ssim"][4] == pytest.approx(expected, abs=1e-6)
    masked = masked_ssim(target.numpy(), inputs["source_image"].numpy(), inputs["target_mask"])
    assert result.scores[COPY_SOURCE]["masked_ssim"][4] == pytest.approx(masked[0], abs=1e-6)
    # Its way back would be the source itself: not applicable.
    assert result.summary()[COPY_SOURCE]["recovered_ssim"] is None
    assert np.isnan(result.scores[COPY_SOURCE]["recovered_ssim"]).all()
    # The warp-only baseline at the model's size is the model itself here.
    np.testing.assert_array_equal(result.scores[MODEL]["ssim"], result.scores[WARP_ONLY]["ssim"])
    # The overall mean weights every pair alike.
    per_clip = [result.summary(clip)[MODEL]["ssim"] for clip in ("clip0", "clip1")]
    overall = result.summary()[MODEL]["ssim"]
    assert overall == pytest.approx((6 * per_clip[0] + 12 * per_clip[1]) / 18)
    assert all(np.isfinite(result.scores[MODEL][m]).all() for m in result.metrics)
    assert [(row["clip"], row["source"], row["target"]) for row in result.gallery] == [
        (result.pairs[k][0], result.pairs[k][1], result.pairs[k][2]) for k in (0, 5, 6)
    ]


def test_warp_only_recovers_a_pair_in_the_same_pose_almost_perfectly(tmp_path):
    clips = read_posewarp_dataset(write_dataset(tmp_path, [2], still=True))
    result = evaluate_pairs(
        WarpOnlyGenerator(SIZE), clips, [(0, 0, 1)], warp_only=False, perceptual=False
    )
    summary = result.summary()[MODEL]
    assert summary["ssim"] > 0.95 and summary["masked_ssim"] > 0.95
    assert summary["recovered_ssim"] > 0.95 and summary["recovered_masked_ssim"] > 0.95
    # Copy-source is exact on the same frame.
    assert result.summary()[COPY_SOURCE]["ssim"] == pytest.approx(1.0)


def test_without_masks_the_pose_prior_gives_the_person(tmp_path):
    clips = read_posewarp_dataset(write_dataset(tmp_path, [3], masks=False))
    result = evaluate_pairs(
        WarpOnlyGenerator(SIZE), clips, frame_pairs(clips), warp_only=False, perceptual=False
    )
    assert result.masks == "pose prior" and "perceptual" not in result.metrics
    assert np.isfinite(result.scores[MODEL]["masked_ssim"]).all()


def test_files_are_json_markdown_and_a_gallery(dataset, warp_preset, tmp_path):
    result = evaluate_preset(
        dataset, warp_preset, holdout_fraction=None, perceptual=False, gallery=4
    )
    paths = write_evaluation(result, tmp_path / "out")
    assert [p.name for p in paths] == ["evaluation.json", "evaluation.md", "gallery.png"]
    record = json.loads(paths[0].read_text())
    assert record["pairs"] == 18 and record["masks"] == "dataset"
    assert record["clips"]["clip1"]["pairs"] == 12
    assert record["overall"][COPY_SOURCE]["recovered_ssim"] is None
    assert len(record["per_pair"][MODEL]["ssim"]) == 18
    assert record["selection"]["pairs"] == "every ordered pair"
    table = paths[1].read_text()
    assert "copy-source (baseline)" in table and "## clip1" in table and "n/a" in table
    with Image.open(paths[2]) as gallery:
        # source | target | fake | recovered | warp-only; too narrow for titles.
        assert gallery.size == (5 * SIZE, 4 * SIZE)


def test_cli_writes_the_files_and_prints_the_overall_table(dataset, warp_preset, tmp_path, capsys):
    out = tmp_path / "eval"
    argv = ["evaluate", str(dataset), "--preset", str(warp_preset), "--all"]
    argv += ["--clips", "clip1", "--max-pairs-per-clip", "5", "--gallery", "2", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| method | pairs | ssim | masked_ssim | perceptual |" in printed
    assert "copy-source (baseline)" in printed and "warp-only (baseline)" in printed
    record = json.loads((out / "evaluation.json").read_text())
    assert record["pairs"] == 5 and list(record["clips"]) == ["clip1"]
    assert record["overall"][MODEL]["perceptual"] >= 0.0
    assert (out / "gallery.png").is_file() and len(record["gallery"]) == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--clips", "clip0,nope"], r"`clips`: no clip named \['nope'\]"),
        (["--max-pairs-per-clip", "0"], "`max_pairs_per_clip` must be a positive int"),
        (["--holdout-fraction", "1.5"], "`holdout_fraction` must be in"),
        (["--clips", "clip0"], "no frame pair to evaluate"),
    ],
)
def test_cli_errors_name_the_argument(tmp_path, warp_preset, capsys, extra, message):
    data = write_dataset(tmp_path / "data", [1, 4], masks=False)
    argv = ["evaluate", str(data), "--preset", str(warp_preset), "--out", str(tmp_path / "o")]
    assert main([*argv, *extra]) == 2
    assert capsys.readouterr().err.count("posegan-zoo evaluate:") == 1
    with pytest.raises(InvalidConfigError, match=message):
        evaluate_preset(
            data,
            warp_preset,
            clips=extra[1].split(",") if extra[0] == "--clips" else None,
            max_pairs_per_clip=0 if "--max-pairs-per-clip" in extra else None,
            holdout_fraction=1.5 if "--holdout-fraction" in extra else None,
        )
    assert not (tmp_path / "o").exists()


def test_a_missing_dataset_is_named(tmp_path, capsys):
    with pytest.raises(DataFormatError, match="`data`: dataset folder"):
        evaluate_preset(tmp_path / "none", "warp-only")
    assert main(["evaluate", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    assert "`data`" in capsys.readouterr().err
