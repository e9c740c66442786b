"""One training run from a config: data, model, resume, checkpoints, samples, final model.

`run_training` is what `posegan-zoo train` and `posegan-zoo finetune` call.
"""

import dataclasses
import json
import math
import pathlib

import keras
import tensorflow as tf

from posegan_zoo.errors import InvalidConfigError
from posegan_zoo.training.callbacks import SampleGridCallback
from posegan_zoo.training.checkpoints import (
    CheckpointCallback,
    atomic_path,
    latest_checkpoint,
    load_checkpoint,
)

MODELS = ("posewarp", "unet", "refined-warp")
PERCEPTUAL_BACKBONES = ("auto", "vgg19", "mobilenet_v2")


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
        steps: total generator updates; steps_per_epoch: checkpoint and logging period.
        holdout_fraction: share of each clip's last frames kept out for validation (0: none).
        deterministic: make TensorFlow ops deterministic (slower; for exact resumes).

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

    def __post_init__(self):
        if self.model not in MODELS:
            raise InvalidConfigError(f"`model` must be one of {MODELS}, got {self.model!r}.")
        for name in ("steps", "steps_per_epoch", "batch_size", "image_size"):
            if int(getattr(self, name)) < 1:
                raise InvalidConfigError(f"`{name}` must be >= 1, got {getattr(self, name)}.")
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
        for name in ("l1_weight", "cycle_weight", "adversarial_weight"):
            if not float(getattr(self, name)) >= 0:
                raise InvalidConfigError(f"`{name}` must be >= 0, got {getattr(self, name)}.")
        if not 0.0 <= self.holdout_fraction < 1.0:
            raise InvalidConfigError(
                f"`holdout_fraction` must be in [0, 1), got {self.holdout_fraction}."
            )

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
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidConfigError(
                f"config file {path}: unknown keys {unknown}; known keys are {sorted(known)}."
            )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _build_generator(config):
    from posegan_zoo.models import PoseWarpGenerator, RefinedWarpGenerator, UNetBaseline

    if config.init_from:
        return load_generator(config.init_from)
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


def load_generator(path):
    """A generator from a `.keras` file or from a run folder (its `model/generator.keras`)."""
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "model" / "generator.keras"
    if not path.is_file():
        raise InvalidConfigError(f"no generator at {path}: expected a .keras file or a run folder.")
    return keras.saving.load_model(path)


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
    output = pathlib.Path(config.output)
    clips = read_posewarp_dataset(config.data)
    if config.holdout_fraction > 0:
        train_clips, eval_pairs = holdout_split(clips, config.holdout_fraction)
    else:
        train_clips, eval_pairs = clips, []

    resumed = latest_checkpoint(output / "checkpoints")
    if resumed is not None:
        trainer = load_checkpoint(resumed[0])
    else:
        trainer = _build_trainer(config, _build_generator(config))
    step = int(trainer.step_counter.numpy())
    image_size = trainer.generator.image_size

    augmentation = {} if config.augment else {"augmentation": None}
    train_data = pair_dataset(
        train_clips,
        image_size,
        batch_size=config.batch_size,
        seed=config.seed,
        start=step * config.batch_size,
        reverse_inputs=isinstance(trainer, PoseCycleTrainer),
        **augmentation,
    )
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
    callbacks = [
        CheckpointCallback(output / "checkpoints", keep=config.keep_checkpoints),
        SampleGridCallback(sample_batch, output / "samples", tensorboard_dir=output / "logs"),
        keras.callbacks.TensorBoard(output / "logs", update_freq="epoch"),
        keras.callbacks.CSVLogger(output / "history.csv", append=True),
    ]
    epochs = math.ceil(config.steps / config.steps_per_epoch)
    history = {}
    if step < epochs * config.steps_per_epoch:
        history = trainer.fit(
            train_data,
            epochs=epochs,
            initial_epoch=step // config.steps_per_epoch,
            steps_per_epoch=config.steps_per_epoch,
            validation_data=eval_data,
            callbacks=callbacks,
            verbose=verbose,
        ).history

    evaluation = trainer.evaluate(eval_data, return_dict=True, verbose=0) if eval_data else {}
    model_dir = output / "model"
    with atomic_path(model_dir / "generator.keras") as tmp:
        trainer.generator.save(tmp)
    summary = {
        "config": dataclasses.asdict(config),
        "steps": int(trainer.step_counter.numpy()),
        "resumed_from_step": step if resumed is not None else None,
        "evaluation": {k: float(v) for k, v in evaluation.items()},
        "history": {k: [float(x) for x in v] for k, v in history.items()},
    }
    with atomic_path(model_dir / "training.json") as tmp:
        tmp.write_text(json.dumps(summary, indent=2))
    return summary
