"""Evaluation as pose-transfer papers report it: frame pairs of the same person, both ways.

For each pair `(clip, i, j)` (frame i of a clip as the source, frame j of the same clip
as the target, `i != j`) a generator makes `fake = G(frame i, pose i -> pose j)`, scored
against the real frame j, and `recovered = G(fake, pose j -> pose i)`, scored against
frame i. Every image is the pipeline's crop (`pair_dataset(..., augmentation=None)`) at
the generator's size. The scores (`METRICS`), one value per pair:

- "ssim", "masked_ssim", "psnr", "l1": fake vs target; "masked_ssim" is SSIM averaged
  over the target person (weighted by the dataset's person mask where every clip has
  one, else where the target's pose prior puts the person: background prior < 0.5).
- "perceptual": `PerceptualLoss(backbone="mobilenet_v2")` of fake vs target (lower is
  better): the feature distance of an ImageNet MobileNetV2 that ships with the package.
- "recovered_ssim", "recovered_masked_ssim": recovered vs source (the source person).

Beside the generator, the same pairs are scored for the baselines anyone can compute:
"copy-source" (the fake is the source crop itself; its way back would copy the source
again and score a trivial 1, so its recovered scores are None) and "warp-only" (the
embedded `warp-only` preset, at the generator's image size). Means are per clip and
overall, the overall one weighting every pair alike.
"""

import dataclasses
import json
import pathlib
import zlib

import numpy as np
from PIL import Image, ImageDraw

from posegan_zoo._validation import as_image_size
from posegan_zoo.errors import DataFormatError, InvalidConfigError
from posegan_zoo.metrics import l1, masked_ssim, psnr, ssim
from posegan_zoo.reporting import format_table, save_png
from posegan_zoo.training.checkpoints import atomic_path
from posegan_zoo.visualize import SOURCE_COLOUR, TARGET_COLOUR, draw_skeleton, to_uint8

MODEL, WARP_ONLY, COPY_SOURCE = "model", "warp-only", "copy-source"
METRICS = (
    "ssim",
    "masked_ssim",
    "perceptual",
    "recovered_ssim",
    "recovered_masked_ssim",
    "psnr",
    "l1",
)
DEFAULT_HOLDOUT_FRACTION = 0.25
DEFAULT_GALLERY = 8
RESULT_FILE, TABLE_FILE, GALLERY_FILE = "evaluation.json", "evaluation.md", "gallery.png"
# Below this crop width the gallery's column titles do not fit.
_MIN_LABELLED_WIDTH = 48
_LABEL_HEIGHT = 14


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Per-pair scores of a generator and its baselines (see the module docstring).

    Attributes:
        name: what the "model" row is called (the preset's handle).
        image_size: (height, width) of the crops.
        pairs: `(clip_name, source_frame, target_frame)` per pair, frames counted from 0.
        scores: method ("model", "warp-only", "copy-source") -> metric -> `(num_pairs,)`
            float64 array; NaN where a score does not apply (copy-source's recovered
            scores) or cannot be taken (an empty person mask).
        masks: "dataset" (the clips' person masks) or "pose prior".
        selection: how the pairs were chosen (recorded in `evaluation.json`).
        gallery: a few pairs' crops: dicts with "clip", "source", "target", "images"
            (column -> `(H, W, 3)` in [-1, 1]) and "keypoints" (source, target).

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.evaluation import Evaluation
    >>> scores = {"model": {"ssim": np.array([0.5, 0.75, 1.0])},
    ...           "copy-source": {"ssim": np.array([0.4, 0.4, 0.1])}}
    >>> result = Evaluation("demo", (32, 32), (("a", 0, 1), ("a", 1, 0), ("b", 0, 1)), scores)
    >>> overall, clip_b = result.summary(), result.summary("b")
    >>> overall["model"], clip_b["copy-source"]
    ({'ssim': 0.75}, {'ssim': 0.1})
    >>> result.counts()
    {'a': 2, 'b': 1}
    """

    name: str
    image_size: tuple
    pairs: tuple
    scores: dict
    masks: str = "pose prior"
    selection: dict = dataclasses.field(default_factory=dict)
    gallery: tuple = ()

    @property
    def methods(self):
        return tuple(self.scores)

    @property
    def metrics(self):
        """The metrics that were computed, in `METRICS` order."""
        present = {metric for values in self.scores.values() for metric in values}
        return tuple(metric for metric in METRICS if metric in present)

    def counts(self):
        """Pairs per clip, in the order the clips come."""
        counts = {}
        for clip, _, _ in self.pairs:
            counts[clip] = counts.get(clip, 0) + 1
        return counts

    def summary(self, clip=None):
        """method -> metric -> mean over the pairs (of `clip`, or all); None if none applies."""
        chosen = np.array([clip is None or name == clip for name, _, _ in self.pairs], bool)
        return {
            method: {metric: _mean(values[chosen]) for metric, values in metrics.items()}
            for method, metrics in self.scores.items()
        }

    def rows(self, clip=None):
        """Table rows (for `posegan_zoo.reporting.format_table`) of the methods' means."""
        count = len(self.pairs) if clip is None else self.counts().get(clip, 0)
        labels = {MODEL: self.name, WARP_ONLY: "warp-only (baseline)"}
        labels[COPY_SOURCE] = "copy-source (baseline)"
        summary = self.summary(clip)
        return [
            {
                "method": labels.get(method, method),
                "pairs": count,
                **{metric: summary[method].get(metric) for metric in self.metrics},
            }
            for method in self.methods
        ]

    def table(self):
        """Markdown: the overall table, then one table per clip."""
        parts = [f"## Overall ({len(self.pairs)} pairs)", "", format_table(self.rows())]
        for clip in self.counts():
            parts += ["", f"## {clip}", "", format_table(self.rows(clip))]
        return "\n".join(parts) + "\n"

    def to_dict(self):
        """Everything but the gallery's pixels, as JSON values."""
        methods = self.methods
        return {
            "model": self.name,
            "image_size": list(self.image_size),
            "masks": self.masks,
            "pairs": len(self.pairs),
            "selection": self.selection,
            "overall": _summary_json(self.summary()),
            "clips": {
                clip: {"pairs": count, **_summary_json(self.summary(clip))}
                for clip, count in self.counts().items()
            },
            "per_pair": {
                "clip": [clip for clip, _, _ in self.pairs],
                "source": [int(source) for _, source, _ in self.pairs],
                "target": [int(target) for _, _, target in self.pairs],
                **{
                    method: {
                        metric: [_number(round(float(v), 6)) for v in values]
                        for metric, values in self.scores[method].items()
                    }
                    for method in methods
                },
            },
            "gallery": [
                {"clip": row["clip"], "source": row["source"], "target": row["target"]}
                for row in self.gallery
            ],
        }


def _number(value):
    """A JSON number: None for NaN and infinities (PSNR of identical images)."""
    return None if value is None or not np.isfinite(value) else float(value)


def _summary_json(summary):
    return {
        method: {metric: _number(value) for metric, value in metrics.items()}
        for method, metrics in summary.items()
    }


def _mean(values):
    values = np.asarray(values, np.float64)
    if values.size == 0 or np.isnan(values).all():
        return None
    return float(np.nanmean(values))


def select_clips(clips, names=None):
    """The clips called `names` (in the dataset's order), or all of them for None.

    Raises `InvalidConfigError` naming the unknown names and the ones there are.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.data import Clip
    >>> from posegan_zoo.evaluation import select_clips
    >>> from posegan_zoo.pose import Pose
    >>> clips = [Clip(n, ["1.jpg"], Pose(np.ones((1, 14, 2))), np.ones((1, 4))) for n in "ab"]
    >>> [clip.name for clip in select_clips(clips, ["b"])]
    ['b']
    """
    clips = list(clips)
    if names is None:
        return clips
    if isinstance(names, str):
        names = [names]
    names = [str(name) for name in names]
    known = [clip.name for clip in clips]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        wrong = f"no clip named {unknown}" if unknown else "names no clip"
        raise InvalidConfigError(f"`clips`: {wrong}; the dataset's clips are {known}.")
    return [clip for clip in clips if clip.name in names]


def frame_pairs(clips, holdout_fraction=None, max_pairs_per_clip=None, seed=0):
    """The `(clip_index, source_frame, target_frame)` pairs to evaluate `clips` on.

    With `holdout_fraction=None`, every ordered pair `i -> j` (`i != j`) of every clip: the
    choice for clips the model never saw. With a fraction, the pairs of
    `holdout_split(clips, holdout_fraction)`: each target among the clip's last frames
    (those `posegan-zoo train` held out with the same fraction), each source before them.
    `max_pairs_per_clip` keeps at most that many pairs of each clip, drawn without
    replacement from the clip's name and `seed` (the same pairs whichever other clips
    are evaluated), in their original order.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.data import Clip
    >>> from posegan_zoo.evaluation import frame_pairs
    >>> from posegan_zoo.pose import Pose
    >>> clip = Clip("c", [f"{k}.jpg" for k in range(4)], Pose(np.ones((4, 14, 2))),
    ...             np.ones((4, 4)))
    >>> len(frame_pairs([clip])), frame_pairs([clip])[:3]
    (12, [(0, 0, 1), (0, 0, 2), (0, 0, 3)])
    >>> frame_pairs([clip], max_pairs_per_clip=2, seed=1) == frame_pairs([clip], None, 2, 1)
    True
    """
    clips = list(clips)
    if max_pairs_per_clip is not None and (
        isinstance(max_pairs_per_clip, bool)
        or not isinstance(max_pairs_per_clip, (int, np.integer))
        or max_pairs_per_clip < 1
    ):
        raise InvalidConfigError(
            f"`max_pairs_per_clip` must be a positive int or None, got {max_pairs_per_clip!r}."
        )
    if holdout_fraction is None:
        pairs = [
            (index, source, target)
            for index, clip in enumerate(clips)
            for source in range(len(clip))
            for target in range(len(clip))
            if source != target
        ]
    else:
        from posegan_zoo.data import holdout_split

        if not 0.0 < float(holdout_fraction) < 1.0:
            raise InvalidConfigError(
                f"`holdout_fraction` must be in (0, 1), or None for every pair, got "
                f"{holdout_fraction!r}."
            )
        _, pairs = holdout_split(clips, float(holdout_fraction))
    if max_pairs_per_clip is not None:
        kept = []
        for index, clip in enumerate(clips):
            own = [pair for pair in pairs if pair[0] == index]
            if len(own) > max_pairs_per_clip:
                rng = np.random.default_rng([int(seed), zlib.crc32(clip.name.encode())])
                chosen = np.sort(rng.choice(len(own), max_pairs_per_clip, replace=False))
                own = [own[k] for k in chosen]
            kept += own
        pairs = kept
    return [(int(c), int(s), int(t)) for c, s, t in pairs]


def warp_only_baseline(image_size):
    """The embedded `warp-only` preset, rebuilt at `image_size` if its own differs.

    Example:

    >>> from posegan_zoo.evaluation import warp_only_baseline
    >>> warp_only_baseline(64).image_size
    (64, 64)
    """
    from posegan_zoo.models import WarpOnlyGenerator
    from posegan_zoo.presets import load_preset, resolve

    image_size = as_image_size(image_size)
    baseline = load_preset(resolve("warp-only"))
    if tuple(baseline.image_size) == image_size:
        return baseline
    return WarpOnlyGenerator.from_config({**baseline.get_config(), "image_size": image_size})


def _regenerate(generator, inputs, recovered):
    """`(fake, recovered or None)` as float32 numpy, the way `PoseRegenerator` does it."""
    from posegan_zoo.models.posewarp.cycle_trainer import PoseCycleTrainer
    from posegan_zoo.models.posewarp.warp_only import reads_person_mask

    fake_mask = None
    if "source_mask" in inputs and reads_person_mask(generator):
        out = generator(inputs, return_intermediates=True)
        fake, fake_mask = out["image"], out["foreground_mask"]
    else:
        fake = generator(inputs)
    fake = np.asarray(fake, np.float32)
    if not recovered:
        return fake, None
    back = PoseCycleTrainer.reverse_inputs(inputs, fake, fake_mask)
    return fake, np.asarray(generator(back), np.float32)


def _gallery_picks(pairs, count):
    """Indices of `count` pairs spread over the clips (round robin, evenly within a clip)."""
    by_clip = {}
    for k, (clip, _, _) in enumerate(pairs):
        by_clip.setdefault(clip, []).append(k)
    groups = list(by_clip.values())
    quota = [0] * len(groups)
    left = min(int(count), len(pairs))
    while left:
        for g, group in enumerate(groups):
            if left and quota[g] < len(group):
                quota[g] += 1
                left -= 1
    picks = []
    for group, n in zip(groups, quota, strict=True):
        if n:
            positions = np.round(np.linspace(0, len(group) - 1, n)).astype(int)
            picks += [group[p] for p in positions]
    return sorted(picks)


def evaluate_pairs(
    generator,
    clips,
    pairs,
    *,
    name="model",
    warp_only=True,
    perceptual=True,
    recovered=True,
    gallery=0,
    batch_size=8,
):
    """Scores `generator` and the baselines on `pairs` of `clips`; returns an `Evaluation`.

    Args:
        generator: a model taking the PoseWarp input dict, with an `image_size`.
        clips: the `Clip`s that `pairs` index.
        pairs: `(clip_index, source_frame, target_frame)` triples (see `frame_pairs`).
        name: what the generator's row is called.
        warp_only: True for the `warp-only` baseline at the generator's size
            (`warp_only_baseline`), a generator to use instead, or False for none.
        perceptual: also score "perceptual" (loads MobileNetV2 once).
        recovered: also make and score the way back.
        gallery: how many pairs' crops to keep for `gallery_image`.
        batch_size: pairs per forward pass.

    The person masks come from the clips when every clip has them (then
    `Evaluation.masks` is "dataset"), else from the pose prior.

    Example:

    >>> from posegan_zoo.data import read_posewarp_dataset
    >>> from posegan_zoo.evaluation import evaluate_pairs
    >>> from posegan_zoo.models import WarpOnlyGenerator
    >>> clips = read_posewarp_dataset("examples/data/posewarp_tennis")
    >>> result = evaluate_pairs(WarpOnlyGenerator(32), clips, [(0, 0, 5), (0, 5, 0)],
    ...                         warp_only=False, perceptual=False)
    >>> result.methods, result.counts(), result.masks
    (('model', 'copy-source'), {'Flavia Pennetta in 4k': 2}, 'pose prior')
    >>> copy_source = result.summary()["copy-source"]
    >>> copy_source["recovered_ssim"] is None  # its way back would be trivially perfect
    True
    """
    from posegan_zoo.data import pair_dataset

    clips, pairs = list(clips), [tuple(int(v) for v in pair) for pair in pairs]
    if not pairs:
        raise InvalidConfigError("`pairs` is empty: there is no frame pair to evaluate.")
    image_size = as_image_size(generator.image_size)
    baseline = None
    if warp_only is True:
        baseline = warp_only_baseline(image_size)
    elif warp_only is not False and warp_only is not None:
        baseline = warp_only
        if as_image_size(baseline.image_size) != image_size:
            raise InvalidConfigError(
                f"`warp_only` works at {as_image_size(baseline.image_size)} but the generator "
                f"at {image_size}; they must match."
            )
    if baseline is not None and type(baseline) is type(generator):
        if baseline.get_config() == generator.get_config():
            baseline = generator  # the same model: run it once
    loss = None
    if perceptual:
        from posegan_zoo.losses import PerceptualLoss

        loss = PerceptualLoss(backbone="mobilenet_v2", reduction="none")
    dataset = pair_dataset(
        clips,
        image_size,
        batch_size=batch_size,
        augmentation=None,
        pairs=pairs,
        min_gap=0.0,
        drop_remainder=False,
        reverse_inputs=True,  # also the target's prior, for its person
    )
    methods = [MODEL] + ([WARP_ONLY] if baseline is not None else []) + [COPY_SOURCE]
    rows = {method: {} for method in methods}
    picks = set(_gallery_picks(pairs, gallery))
    kept, masks, done = [], "pose prior", 0
    for inputs, target in dataset:
        target = np.asarray(target, np.float32)
        source = np.asarray(inputs["source_image"], np.float32)
        if "target_mask" in inputs:
            masks = "dataset"
            target_person = np.asarray(inputs["target_mask"])[..., 0]
            source_person = np.asarray(inputs["source_mask"])[..., 0]
        else:
            target_person = _prior_person(inputs["target_mask_prior"])
            source_person = _prior_person(inputs["mask_prior"])
        outputs = {MODEL: _regenerate(generator, inputs, recovered)}
        if baseline is generator:
            outputs[WARP_ONLY] = outputs[MODEL]
        elif baseline is not None:
            outputs[WARP_ONLY] = _regenerate(baseline, inputs, recovered)
        outputs[COPY_SOURCE] = (source, None)
        for method, (fake, back) in outputs.items():
            values = {
                "ssim": ssim(target, fake),
                "masked_ssim": masked_ssim(target, fake, target_person),
                "psnr": psnr(target, fake),
                "l1": l1(target, fake),
            }
            if loss is not None:
                values["perceptual"] = np.asarray(loss(target, fake), np.float64)
            if recovered:
                nothing = np.full(len(target), np.nan)
                values["recovered_ssim"] = nothing if back is None else ssim(source, back)
                values["recovered_masked_ssim"] = (
                    nothing if back is None else masked_ssim(source, back, source_person)
                )
            for metric, value in values.items():
                rows[method].setdefault(metric, []).append(np.asarray(value, np.float64))
        for k in range(len(target)):
            if done + k not in picks:
                continue
            clip, first, second = pairs[done + k]
            images = {"source": source[k], "target": target[k], "fake": outputs[MODEL][0][k]}
            if recovered:
                images["recovered"] = outputs[MODEL][1][k]
            if baseline is not None:
                images["warp-only"] = outputs[WARP_ONLY][0][k]
            keypoints = (
                np.asarray(inputs["source_keypoints"][k]),
                np.asarray(inputs["target_keypoints"][k]),
            )
            kept.append(
                {
                    "clip": clips[clip].name,
                    "source": first,
                    "target": second,
                    "images": images,
                    "keypoints": keypoints,
                }
            )
        done += len(target)
    scores = {
        method: {
            metric: np.concatenate(values)
            for metric, values in sorted(metrics.items(), key=lambda item: METRICS.index(item[0]))
        }
        for method, metrics in rows.items()
    }
    return Evaluation(
        name=str(name),
        image_size=image_size,
        pairs=tuple((clips[c].name, s, t) for c, s, t in pairs),
        scores=scores,
        masks=masks,
        gallery=tuple(kept),
    )


def _prior_person(log_prior):
    """Where the pose prior puts the person: its background probability below 0.5."""
    return np.exp(np.asarray(log_prior)[..., 0]) < 0.5


def evaluate_generator(generator, clips, pairs, batch_size=4):
    """Means of fake vs real target for `generator` and for the source image ("identity").

    The summary that preset metadata records (`examples/build_presets.py`): "ssim",
    "masked_ssim", "psnr" and "l1" over `pairs` (as `evaluate_pairs` scores them, without
    the way back, the perceptual distance or the warp-only baseline). Returns
    `{"model": {...}, "identity": {...}}`.

    Example:

    >>> from posegan_zoo.data import read_posewarp_dataset
    >>> from posegan_zoo.evaluation import evaluate_generator
    >>> from posegan_zoo.models import WarpOnlyGenerator
    >>> clips = read_posewarp_dataset("examples/data/posewarp_tennis")
    >>> means = evaluate_generator(WarpOnlyGenerator(32), clips, [(0, 0, 6), (0, 1, 7)])
    >>> sorted(means), sorted(means["identity"])
    (['identity', 'model'], ['l1', 'masked_ssim', 'psnr', 'ssim'])
    """
    result = evaluate_pairs(
        generator,
        clips,
        pairs,
        warp_only=False,
        perceptual=False,
        recovered=False,
        batch_size=batch_size,
    )
    overall = result.summary()
    return {"model": overall[MODEL], "identity": overall[COPY_SOURCE]}


def evaluate_preset(
    data,
    preset,
    *,
    clips=None,
    holdout_fraction=DEFAULT_HOLDOUT_FRACTION,
    max_pairs_per_clip=None,
    seed=0,
    perceptual=True,
    warp_only=True,
    gallery=DEFAULT_GALLERY,
    batch_size=8,
    dtype=None,
    **hub_kwargs,
):
    """`evaluate_pairs` for a preset on a dataset folder in the paper's format.

    The dataset, the clips and the pairs are checked before the preset is loaded.

    Args:
        data: the dataset folder (`read_posewarp_dataset`).
        preset: a generator handle (`posegan_zoo.presets.load_generator`): an embedded
            name, a preset folder, `hf://owner/name[@revision]`, a training run folder or a
            `.keras` file.
        clips: names of the clips to evaluate, or None for all.
        holdout_fraction: the pairs whose targets are each clip's last frames (see
            `frame_pairs`), or None for every ordered pair.
        max_pairs_per_clip, seed: see `frame_pairs`.
        perceptual, warp_only, gallery, batch_size: see `evaluate_pairs`.
        dtype: a dtype policy for the preset's generator (`load_generator`); the
            baselines stay float32.
        **hub_kwargs: `revision`, `cache_dir`, `local_files_only`, ... for Hub handles.

    Example:

    >>> from posegan_zoo.evaluation import evaluate_preset
    >>> result = evaluate_preset("examples/data/posewarp_tennis", "warp-only",
    ...                          max_pairs_per_clip=2, perceptual=False, gallery=0)
    >>> len(result.pairs), result.name, result.methods
    (2, 'warp-only', ('model', 'warp-only', 'copy-source'))
    """
    from posegan_zoo.data import read_posewarp_dataset
    from posegan_zoo.presets import load_generator

    if not pathlib.Path(data).is_dir():
        raise DataFormatError(f"`data`: dataset folder {str(data)!r} does not exist.")
    dataset = select_clips(read_posewarp_dataset(data), clips)
    pairs = frame_pairs(dataset, holdout_fraction, max_pairs_per_clip, seed)
    if not pairs:
        lengths = {clip.name: len(clip) for clip in dataset}
        how = (
            "every clip needs two frames"
            if holdout_fraction is None
            else f"with `holdout_fraction`={holdout_fraction} a clip needs 3 frames or more "
            "(try every pair instead)"
        )
        raise InvalidConfigError(
            f"no frame pair to evaluate in {str(data)!r}: {how}; frames per clip: {lengths}."
        )
    generator = load_generator(preset, dtype, **hub_kwargs)
    result = evaluate_pairs(
        generator,
        dataset,
        pairs,
        name=str(preset),
        warp_only=warp_only,
        perceptual=perceptual,
        gallery=gallery,
        batch_size=batch_size,
    )
    selection = {
        "data": str(data),
        "preset": str(preset),
        "clips": [clip.name for clip in dataset],
        "pairs": "every ordered pair" if holdout_fraction is None else "held-out targets",
        "holdout_fraction": holdout_fraction,
        "max_pairs_per_clip": max_pairs_per_clip,
        "seed": seed,
    }
    return dataclasses.replace(result, selection=selection)


def gallery_image(evaluation):
    """The gallery as one `(rows * H [+ title], columns * W, 3)` uint8 image.

    One row per kept pair; columns source (its skeleton drawn), target (its skeleton),
    fake, recovered and the warp-only fake, as far as they were computed. Column titles
    head the image when the crops are wide enough for them.

    Example:

    >>> import numpy as np
    >>> from posegan_zoo.evaluation import Evaluation, gallery_image
    >>> crop = np.zeros((32, 32, 3))
    >>> row = {"clip": "a", "source": 0, "target": 1, "keypoints": None,
    ...        "images": {"source": crop, "target": crop, "fake": crop}}
    >>> gallery_image(Evaluation("m", (32, 32), (), {}, gallery=(row,))).shape
    (32, 96, 3)
    """
    rows = evaluation.gallery
    if not rows:
        raise InvalidConfigError("the evaluation kept no gallery pair (`gallery=0`).")
    height, width = evaluation.image_size
    columns = list(rows[0]["images"])
    top = _LABEL_HEIGHT if width >= _MIN_LABELLED_WIDTH else 0
    canvas = Image.new("RGB", (width * len(columns), top + height * len(rows)))
    draw = ImageDraw.Draw(canvas)
    if top:
        for c, column in enumerate(columns):
            draw.text((c * width + 3, 1), column, fill=(255, 255, 255))
    line = max(1, round(width / 128))
    for r, row in enumerate(rows):
        for c, column in enumerate(columns):
            panel = Image.fromarray(to_uint8(row["images"][column]))
            if row.get("keypoints") is not None and column in ("source", "target"):
                joints = row["keypoints"][0 if column == "source" else 1]
                colour = SOURCE_COLOUR if column == "source" else TARGET_COLOUR
                draw_skeleton(panel, joints, colour, width=line)
            canvas.paste(panel, (c * width, top + r * height))
    return np.asarray(canvas)


def write_evaluation(evaluation, out_dir):
    """Writes `evaluation.json`, `evaluation.md` and (with a gallery) `gallery.png`.

    Each file is written atomically (a temporary file renamed into place). Returns the
    paths written.

    Example:

    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from posegan_zoo.evaluation import Evaluation, write_evaluation
    >>> result = Evaluation("m", (32, 32), (("a", 0, 1),), {"model": {"ssim": np.ones(1)}})
    >>> for path in write_evaluation(result, tempfile.mkdtemp()):
    ...     print(path.name)
    evaluation.json
    evaluation.md
    """
    out_dir = pathlib.Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InvalidConfigError(f"`out_dir` {str(out_dir)!r} exists and is not a folder.")
    record = evaluation.to_dict()
    paths = [out_dir / RESULT_FILE, out_dir / TABLE_FILE]
    if evaluation.gallery:
        record["gallery_file"] = GALLERY_FILE
        record["gallery_columns"] = list(evaluation.gallery[0]["images"])
    with atomic_path(paths[0]) as tmp:
        tmp.write_text(json.dumps(record, indent=1, allow_nan=False))
    with atomic_path(paths[1]) as tmp:
        tmp.write_text(f"# Evaluation of {evaluation.name}\n\n{evaluation.table()}")
    if evaluation.gallery:
        paths.append(save_png(gallery_image(evaluation), out_dir / GALLERY_FILE))
    return paths
