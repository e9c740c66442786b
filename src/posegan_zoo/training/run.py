"""One training run from a config: data, model, resume, checkpoints, samples, final model.

`run_training` is what `posegan-zoo train` and `posegan-zoo finetune` call.
"""

import dataclasses
import json
import math
import os
import pathlib
import types

import keras
import tensorflow as tf

from posegan_zoo._json import read_json
from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.presets.format import with_dtype
from posegan_zoo.presets.generators import load_generator
from posegan_zoo.training.callbacks import SampleGridCallback
from posegan_zoo.training.checkpoints import (
    CheckpointCallback,
    atomic_path,
    load_latest_checkpoint,
)

MODELS = ("posewarp", "unet", "refined-warp")
PERCEPTUAL_BACKBONES = ("auto", "vgg19", "mobilenet_v2")
RECONSTRUCTION_LOSSES = ("perceptual", "l1", "ssim")
# Compute precisions (`posegan_zoo.presets.format.PRECISIONS` maps them to dtype policies).
PRECISIONS = ("fp32", "bf16", "fp16")
STRATEGIES = ("none", "mirrored")
# Inclusive (low, high) of every numeric field; None: unbounded on that side.
FIELD_BOUNDS = {
    "image_size": (32, 2048),
    "width": (1, 1024),
    "batch_size": (1, 4096),
    "steps": (1, None),
    "steps_per_epoch": (1, None),
    "learning_rate": (1e-12, 10.0),
    "l1_weight": (0.0, None),
    "cycle_weight": (0.0, None),
    "adversarial_weight": (0.0, None),
    "holdout_fraction": (0.0, 0.99),
    "seed": (0, 2**32 - 1),
    "keep_checkpoints": (1, None),
}


def _as_int(value):
    """`value` as an int when it is an int or an integral float; else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclasses.dataclass
class TrainingConfig:
    """Everything a training run needs; every field is also a command-line flag.

    Fields:
        data: a dataset folder in the paper's format (`frames/`, `info/`).
        output: the run folder (checkpoints/, samples/, logs/, model/).
        model: "posewarp" (the paper's generator), "unet" (the UNet baseline) or
            "refined-warp" (`RefinedWarpGenerator`: warp-only plus a learned correction).
        init_from: fine-tune from this generator (`.keras` file or a run folder).
        width: None for the paper's widths, or one width for every conv (small, fast models).
        adversarial: None for stage 1 (reconstruction only); "bce", "lsgan" or "wgan-gp"
            for stage 2 against a `PoseDiscriminator`.
        reconstruction_loss: "perceptual" (the paper's normalized feature distances), "l1"
            or "ssim". vgg_weights / vgg_statistics: VGG19 files for the perceptual loss.
        l1_weight: weight of a pixel L1 term added to the reconstruction loss (0: none).
        cycle_weight: > 0 also trains the way back (`PoseCycleTrainer`): the fake is
            regenerated in the source pose and its L1 distance to the source, times this
            weight, joins the loss.
        perceptual_backbone: the perceptual loss' network: "vgg19" (keras' ImageNet
            download unless `vgg_weights` names a local file), "mobilenet_v2" (ImageNet
            weights shipped with the package: works offline), or "auto" (the default):
            VGG19 when `vgg_weights` or `vgg_statistics` is given, else MobileNetV2.
        steps: exactly this many generator updates in all; steps_per_epoch: the logging and
            checkpoint period (the last epoch is shorter when it does not divide `steps`).
        holdout_fraction: share of each clip's last frames kept out for validation (0: none).
        deterministic: make TensorFlow ops deterministic (slower; for exact resumes).
        precision: "fp32", "bf16" (`mixed_bfloat16`) or "fp16" (`mixed_float16`, with loss
            scaling): the models compute in 16 bits, weights and losses stay float32. It
            pays on GPUs and on CPUs with bf16 units (AVX512_BF16, AMX).
        strategy: "none" (one device) or "mirrored" (`tf.distribute.MirroredStrategy`
            over every local GPU, or without one the logical CPUs TensorFlow was given):
            `batch_size` is then the global batch, split across the replicas. A run
            may resume under another strategy.

    Example:

    >>> from posegan_zoo.training import TrainingConfig
    >>> TrainingConfig(data="frames_root", output="runs/a", steps=10).batch_size
    4
    """

    data: str
    output: str
    model: str = "posewarp"
    init_from: str | None = None
    image_size: int = 256
    width: int | None = None
    batch_size: int = 4
    steps: int = 1000
    steps_per_epoch: int = 100
    learning_rate: float = 1e-4
    reconstruction_loss: str = "perceptual"
    vgg_weights: str | None = None
    vgg_statistics: str | None = None
    perceptual_backbone: str = "auto"
    l1_weight: float = 0.0
    cycle_weight: float = 0.0
    adversarial: str | None = None
    adversarial_weight: float = 0.1
    augment: bool = True
    holdout_fraction: float = 0.25
    seed: int = 0
    keep_checkpoints: int = 3
    deterministic: bool = False
    precision: str = "fp32"
    strategy: str = "none"

    def __post_init__(self):
        self._check_types_and_bounds()
        for name, allowed in (
            ("model", MODELS),
            ("precision", PRECISIONS),
            ("strategy", STRATEGIES),
        ):
            if getattr(self, name) not in allowed:
                raise InvalidConfigError(
                    f"`{name}` must be one of {allowed}, got {getattr(self, name)!r}."
                )
        if self.reconstruction_loss not in RECONSTRUCTION_LOSSES:
            raise InvalidConfigError(
                f"`reconstruction_loss` must be one of {RECONSTRUCTION_LOSSES}, "
                f"got {self.reconstruction_loss!r}."
            )
        from posegan_zoo.models.posewarp.trainer import ADVERSARIAL_LOSSES

        if self.adversarial is not None and self.adversarial not in ADVERSARIAL_LOSSES:
            raise InvalidConfigError(
                f"`adversarial` must be None or one of {ADVERSARIAL_LOSSES}, "
                f"got {self.adversarial!r}."
            )
        if self.perceptual_backbone not in PERCEPTUAL_BACKBONES:
            raise InvalidConfigError(
                f"`perceptual_backbone` must be one of {list(PERCEPTUAL_BACKBONES)}, "
                f"got {self.perceptual_backbone!r}."
            )
        if self.perceptual_backbone == "mobilenet_v2" and (self.vgg_weights or self.vgg_statistics):
            raise InvalidConfigError(
                "`vgg_weights` / `vgg_statistics` are VGG19 files; they do not apply to "
                "`perceptual_backbone='mobilenet_v2'` (use 'vgg19' or 'auto')."
            )
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise InvalidConfigError(
                f"`holdout_fraction` must be in [0, 1), got {self.holdout_fraction}."
            )

    def _check_types_and_bounds(self):
        """Each field has its declared type (ints may come as integral floats from a file)
        and lies within `FIELD_BOUNDS`; the error names the field and what was expected."""
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            kind = field.type
            if isinstance(kind, types.UnionType):
                if value is None:
                    continue
                kind = next(a for a in kind.__args__ if a is not type(None))
            if kind is bool:
                if not isinstance(value, bool):
                    raise InvalidConfigError(
                        f"`{field.name}` must be true or false, got {value!r}."
                    )
                continue
            if kind is str:
                if not isinstance(value, str):
                    raise InvalidConfigError(f"`{field.name}` must be a string, got {value!r}.")
                continue
            number = value if kind is float else _as_int(value)
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                raise InvalidConfigError(
                    f"`{field.name}` must be {'an integer' if kind is int else 'a number'}, "
                    f"got {value!r}."
                )
            if not math.isfinite(number):
                raise InvalidConfigError(f"`{field.name}` must be finite, got {value!r}.")
            low, high = FIELD_BOUNDS.get(field.name, (None, None))
            if (low is not None and number < low) or (high is not None and number > high):
                expected = f">= {low}" if high is None else f"in [{low}, {high}]"
                raise InvalidConfigError(f"`{field.name}` must be {expected}, got {value!r}.")
            setattr(self, field.name, kind(number))

    @classmethod
    def from_file(cls, path, **overrides):
        """Reads a JSON or TOML config file; `overrides` (not None) win over its values."""
        import tomllib

        path = pathlib.Path(path)
        try:
            text = path.read_text()
            values = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as error:
            raise InvalidConfigError(f"config file {path}: {error}") from None
        except RecursionError:
            raise InvalidConfigError(f"config file {path}: nested too deeply to read.") from None
        if not isinstance(values, dict):
            raise InvalidConfigError(
                f"config file {path}: expected a table of TrainingConfig fields, "
                f"got {type(values).__name__}."
            )
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidConfigError(
                f"config file {path}: unknown keys {unknown}; known keys are {sorted(known)}."
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


# Settings a resumed run may change: how long it runs and how it keeps checkpoints. Any
# other difference would be silently ignored (the model, its losses and optimizer state
# come from the checkpoint), so resuming with one is refused.
RESUMABLE_CHANGES = (
    "output",
    "steps",
    "steps_per_epoch",
    "keep_checkpoints",
    "deterministic",
    "strategy",
)
RUN_CONFIG = "config.json"
_PATH_FIELDS = ("data", "init_from", "vgg_weights", "vgg_statistics")


def _comparable(values):
    """Config values with path fields made absolute, so `./d` and `/abs/d` compare equal."""
    return {
        name: os.path.realpath(value) if name in _PATH_FIELDS and value else value
        for name, value in values.items()
    }


def _record_config(config, output):
    """Writes the run's config to `output/config.json` when the run starts."""
    path = pathlib.Path(output) / RUN_CONFIG
    if not path.exists():
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(_comparable(dataclasses.asdict(config)), indent=2))


def _writable_folder(output):
    """`output` as a Path, created if needed; `InvalidConfigError` before any work when it
    cannot hold the run (a file of that name, no permission)."""
    output = pathlib.Path(output)
    try:
        output.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidConfigError(f"`output`: {output} exists and is not a folder.") from None
    except OSError as error:
        raise InvalidConfigError(
            f"`output`: cannot create {output}: {error.strerror or error}."
        ) from None
    if not os.access(output, os.W_OK | os.X_OK):
        raise InvalidConfigError(f"`output`: {output} is not writable.")
    return output


def check_resume_config(config, output):
    """Refuses to resume the run in `output` with settings other than the ones it began with.

    Raises `InvalidConfigError` naming each differing setting (`RESUMABLE_CHANGES` may
    differ). Runs begun before the config was recorded are not checked.
    """
    path = pathlib.Path(output) / RUN_CONFIG
    if not path.exists():
        return
    recorded = read_json(path, InvalidConfigError, what="run config")
    if not isinstance(recorded, dict):
        raise InvalidConfigError(f"run config {path}: expected a table of settings.")
    # A setting newer than the run was recorded with its default.
    defaults = {
        field.name: field.default
        for field in dataclasses.fields(TrainingConfig)
        if field.default is not dataclasses.MISSING
    }
    recorded = _comparable({**defaults, **recorded})
    current = _comparable(dataclasses.asdict(config))
    differing = [
        f"{name}: {recorded.get(name)!r} -> {value!r}"
        for name, value in current.items()
        if name not in RESUMABLE_CHANGES and recorded.get(name) != value
    ]
    if differing:
        raise InvalidConfigError(
            f"{output} already holds a run begun with other settings ({'; '.join(differing)}); "
            "resume it with its own settings, or train into a new --out folder."
        )


def _strategy(name):
    """The `tf.distribute` strategy of `TrainingConfig.strategy`."""
    if name == "none":
        return tf.distribute.get_strategy()
    # Every GPU; without one, every logical CPU (one, unless TensorFlow was given more).
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def _build_generator(config):
    if config.init_from:
        return load_generator(config.init_from, config.precision)
    return with_dtype(_new_generator(config), config.precision)


def _new_generator(config):
    from posegan_zoo.models import PoseWarpGenerator, RefinedWarpGenerator, UNetBaseline

    unet_widths = (
        {}
        if config.width is None
        else {"encoder_widths": [config.width] * 11, "decoder_widths": [config.width] * 5}
    )
    if config.model == "refined-warp":
        return RefinedWarpGenerator(config.image_size, **unet_widths)
    if config.model == "unet":
        return UNetBaseline(config.image_size, **unet_widths)
    if config.width is None:
        return PoseWarpGenerator(config.image_size)
    return PoseWarpGenerator.tiny(config.image_size, width=config.width)


def resolve_perceptual_backbone(config):
    """The network the "perceptual" loss of `config` uses: "vgg19" or "mobilenet_v2".

    Example:

    >>> from posegan_zoo.training import TrainingConfig
    >>> from posegan_zoo.training.run import resolve_perceptual_backbone
    >>> resolve_perceptual_backbone(TrainingConfig(data="d", output="o"))
    'mobilenet_v2'
    >>> resolve_perceptual_backbone(TrainingConfig(data="d", output="o", vgg_weights="v.h5"))
    'vgg19'
    """
    if config.perceptual_backbone != "auto":
        return config.perceptual_backbone
    return "vgg19" if (config.vgg_weights or config.vgg_statistics) else "mobilenet_v2"


def _build_trainer(config, generator):
    from posegan_zoo.losses import PerceptualLoss
    from posegan_zoo.models import PoseCycleTrainer, PoseDiscriminator, PoseWarpTrainer

    discriminator = None
    if config.adversarial:
        discriminator = (
            PoseDiscriminator(generator.image_size)
            if config.width is None
            else PoseDiscriminator(
                generator.image_size,
                conv_widths=[config.width] * 6,
                dense_widths=[config.width] * 2,
            )
        )
        discriminator = with_dtype(discriminator, config.precision)
    options = {
        "adversarial": config.adversarial or "bce",
        "adversarial_weight": config.adversarial_weight if config.adversarial else 0.0,
        "l1_weight": config.l1_weight,
    }
    if config.cycle_weight > 0:
        trainer = PoseCycleTrainer(
            generator, discriminator, cycle_weight=config.cycle_weight, **options
        )
    else:
        trainer = PoseWarpTrainer(generator, discriminator, **options)
    loss = config.reconstruction_loss
    if loss == "perceptual":
        if resolve_perceptual_backbone(config) == "vgg19":
            loss = PerceptualLoss(
                weights=config.vgg_weights or "imagenet", statistics=config.vgg_statistics
            )
        else:
            loss = PerceptualLoss(backbone="mobilenet_v2")
    trainer.compile(
        generator_optimizer=keras.optimizers.Adam(config.learning_rate),
        discriminator_optimizer=keras.optimizers.Adam(config.learning_rate),
        reconstruction_loss=loss,
    )
    return trainer


def _trim_history(path, epochs):
    """Keeps the header and the rows of the first `epochs` epochs of a history.csv."""
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    kept = lines[:1] + [line for line in lines[1:] if _row_epoch(line) < epochs]
    if kept != lines:
        with atomic_path(path) as tmp:
            tmp.write_text("".join(kept))


def _row_epoch(line):
    try:
        return int(line.split(",", 1)[0])
    except ValueError:
        return math.inf  # a half-written row


def epoch_plan(step, steps, steps_per_epoch):
    """The `fit` calls that take a run from update `step` to `steps` exactly.

    Epochs end at each multiple of `steps_per_epoch` and at `steps`, so the last one may be
    shorter. Returns `(initial_epoch, epochs, steps_per_epoch)` per call: consecutive epochs
    of one length share a call.

    Example:

    >>> from posegan_zoo.training.run import epoch_plan
    >>> epoch_plan(0, 5, 100)
    [(0, 1, 5)]
    >>> epoch_plan(0, 250, 100)
    [(0, 2, 100), (2, 1, 50)]
    >>> epoch_plan(120, 250, 100)
    [(1, 1, 80), (2, 1, 50)]
    """
    plan = []
    while step < steps:
        epoch = step // steps_per_epoch
        if step % steps_per_epoch == 0 and steps - step >= steps_per_epoch:
            count = (steps - step) // steps_per_epoch
            plan.append((epoch, count, steps_per_epoch))
            step += count * steps_per_epoch
        else:
            end = min((epoch + 1) * steps_per_epoch, steps)
            plan.append((epoch, 1, end - step))
            step = end
    return plan


def run_training(config, verbose="auto"):
    """Trains (or resumes) the run described by `config`; returns a summary dict.

    A run folder that holds checkpoints resumes from the newest one: same weights,
    optimizer states and step, and the data stream continues where it stopped. At the end
    the generator is saved to `output/model/generator.keras` with `training.json` beside it.
    """
    from posegan_zoo.data import holdout_split, pair_dataset, read_posewarp_dataset
    from posegan_zoo.models import PoseCycleTrainer

    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    keras.utils.set_random_seed(config.seed)
    output = _writable_folder(config.output)
    clips = read_posewarp_dataset(config.data)
    if config.holdout_fraction > 0:
        train_clips, eval_pairs = holdout_split(clips, config.holdout_fraction)
    else:
        train_clips, eval_pairs = clips, []

    strategy = _strategy(config.strategy)
    with strategy.scope():  # the variables are made (or loaded) on every replica
        resumed = load_latest_checkpoint(output / "checkpoints")
        if resumed is not None:
            check_resume_config(config, output)
            trainer = resumed[0]
        else:
            trainer = _build_trainer(config, _build_generator(config))
    _record_config(config, output)
    step = int(trainer.step_counter.numpy())
    image_size = trainer.generator.image_size

    augmentation = {} if config.augment else {"augmentation": None}

    def train_stream(at_step):
        # The data stream from where `at_step` updates left it (the same after a resume).
        return pair_dataset(
            train_clips,
            image_size,
            batch_size=config.batch_size,
            seed=config.seed,
            start=at_step * config.batch_size,
            reverse_inputs=isinstance(trainer, PoseCycleTrainer),
            **augmentation,
        )

    train_data = train_stream(step)
    eval_data = (
        pair_dataset(
            clips,
            image_size,
            batch_size=config.batch_size,
            augmentation=None,
            pairs=eval_pairs,
            drop_remainder=False,
        )
        if eval_pairs
        else None
    )
    sample_batch = next(iter(eval_data if eval_data is not None else train_data))
    # The history row of an epoch is written before its checkpoint, and rows past the
    # checkpoint a run resumes from are dropped: each epoch has exactly one row, even when a
    # kill falls between the two writes.
    _trim_history(output / "history.csv", math.ceil(step / config.steps_per_epoch))
    callbacks = [
        keras.callbacks.CSVLogger(output / "history.csv", append=True),
        CheckpointCallback(output / "checkpoints", keep=config.keep_checkpoints),
        SampleGridCallback(sample_batch, output / "samples", tensorboard_dir=output / "logs"),
        keras.callbacks.TensorBoard(output / "logs", update_freq="epoch"),
    ]
    history = {}
    for first_epoch, count, length in epoch_plan(step, config.steps, config.steps_per_epoch):
        done = int(trainer.step_counter.numpy())
        fitted = trainer.fit(
            train_data if done == step else train_stream(done),
            epochs=first_epoch + count,
            initial_epoch=first_epoch,
            steps_per_epoch=length,
            validation_data=eval_data,
            callbacks=callbacks,
            verbose=verbose,
            # The stream is shuffled by `pair_dataset` itself.
            shuffle=False,
        )
        for name, values in fitted.history.items():
            history.setdefault(name, []).extend(values)
        if trainer.stop_training:
            break

    evaluation = trainer.evaluate(eval_data, return_dict=True, verbose=0) if eval_data else {}
    model_dir = output / "model"
    with atomic_path(model_dir / "generator.keras") as tmp:
        trainer.generator.save(tmp)
    summary = {
        "config": dataclasses.asdict(config),
        "steps": int(trainer.step_counter.numpy()),
        "resumed_from_step": step if resumed is not None else None,
        "replicas": strategy.num_replicas_in_sync,
        "evaluation": {k: float(v) for k, v in evaluation.items()},
        "history": {k: [float(x) for x in v] for k, v in history.items()},
    }
    with atomic_path(model_dir / "training.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary
