"""Generator handles: one resolver for every way to name a generator, and run export.

A generator handle is one of:

- an embedded preset name (`posewarp-tennis`, see `list_presets`);
- a preset folder (as `save_preset` and `posegan-zoo export` write);
- `hf://owner/name[@revision]`: a preset on the Hugging Face Hub;
- a training run folder (as `posegan-zoo train` / `finetune` write): its final
  `model/generator.keras`, or its newest checkpoint while the run has no final model yet or
  has trained past it;
- a `.keras` file: a generator, or a trainer checkpoint whose generator is taken.

`posegan-zoo regenerate`, `evaluate`, `animate` and `finetune --preset` all read their
`--preset` through `load_generator`. `export_run` turns a finished run into a preset folder
whose model card records the run.
"""

import dataclasses
import os
import pathlib

from posegan_zoo._json import read_json
from posegan_zoo.errors import PresetError, PresetNotFoundError
from posegan_zoo.presets.handles import HUB_SCHEME, check_revision, parse_handle

KINDS = ("preset", "run", "checkpoint", "keras")
RUN_MODEL = pathlib.Path("model", "generator.keras")
RUN_RECORD = pathlib.Path("model", "training.json")
RUN_CHECKPOINTS = "checkpoints"
# Where `export_run` looks for the `posegan-zoo evaluate` figures of a run by default.
RUN_EVALUATION = pathlib.Path("evaluation", "evaluation.json")
EXPECTED = (
    "expected an embedded preset name, a preset folder, hf://owner/name[@revision], a training "
    "run folder or a .keras file"
)


@dataclasses.dataclass(frozen=True)
class GeneratorSource:
    """Where a generator handle leads (see `locate_generator`).

    Attributes:
        handle: the handle as given (as a string).
        kind: "preset" (a preset folder: embedded, local or downloaded from the Hub), "run"
            (a run's final `model/generator.keras`), "checkpoint" (a run's newest trainer
            checkpoint) or "keras" (a `.keras` file).
        path: the local folder or file that `load` reads.
        step: the training step of a run's model or checkpoint, when it is recorded.
    """

    handle: str
    kind: str
    path: pathlib.Path
    step: int | None = None

    def load(self, dtype=None):
        """The generator: a Keras model taking the PoseWarp input dict.

        `dtype`: a dtype policy to run it under (see `posegan_zoo.presets.format.with_dtype`).
        """
        import keras

        from posegan_zoo._lazy import register_keras_objects
        from posegan_zoo.presets.format import load_preset, with_dtype
        from posegan_zoo.training.checkpoints import load_checkpoint

        register_keras_objects()
        if self.kind == "preset":
            model = load_preset(self.path)
        elif self.kind == "checkpoint":
            model = load_checkpoint(self.path)
        else:
            try:
                model = keras.saving.load_model(self.path)
            except (OSError, ValueError, TypeError) as error:
                raise PresetError(f"cannot load the generator {self.path}: {error}") from None
        from posegan_zoo.models import (
            PoseWarpGenerator,
            RefinedWarpGenerator,
            UNetBaseline,
            WarpOnlyGenerator,
        )

        generator = getattr(model, "generator", None)
        if not isinstance(generator, keras.Model):
            generator = model
        pose_generators = (PoseWarpGenerator, UNetBaseline, WarpOnlyGenerator, RefinedWarpGenerator)
        if not isinstance(generator, pose_generators):
            raise PresetError(
                f"{self.handle!r} holds a {type(model).__name__}, not a pose generator (a model "
                "taking the PoseWarp inputs: PoseWarpGenerator, UNetBaseline, WarpOnlyGenerator, "
                "RefinedWarpGenerator)."
            )
        return with_dtype(generator, dtype)


def locate_generator(
    handle,
    *,
    revision=None,
    cache_dir=None,
    local_files_only=None,
    token=None,
    endpoint=None,
):
    """The `GeneratorSource` of a generator handle (see the module docstring).

    Hub presets are downloaded into the Hugging Face cache (`revision`, `cache_dir`,
    `local_files_only`, `token`, `endpoint`: see `download_preset`); `revision` with any other
    kind of handle raises `PresetError`. An embedded preset wins over a folder of the same
    bare name; write `./name` for the folder. Raises `PresetNotFoundError` when the handle
    names nothing, `PresetError` when it names something that holds no generator.

    Example:

    >>> from posegan_zoo.presets import locate_generator
    >>> source = locate_generator("warp-only")
    >>> source.kind, source.path.name
    ('preset', 'warp-only')
    """
    from posegan_zoo.presets import registry

    parsed = parse_handle(handle)
    text = str(parsed)
    if parsed.kind == "hub":
        folder = registry.resolve(
            parsed,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            endpoint=endpoint,
        )
        return GeneratorSource(text, "preset", pathlib.Path(folder))
    if revision is not None:
        check_revision(revision)
        raise PresetError(
            f"`revision={revision!r}` applies to Hub handles ({HUB_SCHEME}owner/name) only, "
            f"not to {text!r}."
        )
    if parsed.kind == "embedded":
        folder = registry.embedded_root() / parsed.name
        if (folder / "metadata.json").is_file():
            return GeneratorSource(text, "preset", folder)
    path = pathlib.Path(parsed.name) if parsed.kind == "embedded" else parsed.path
    if path.is_file():
        if path.suffix != ".keras":
            raise PresetError(f"generator {text!r}: {path} is not a .keras file; {EXPECTED}.")
        return GeneratorSource(text, "keras", path)
    if path.is_dir():
        if (path / "metadata.json").is_file():
            return GeneratorSource(text, "preset", path)
        source = _run_source(text, path)
        if source is None:
            raise PresetNotFoundError(
                f"generator {text!r}: the folder {path} is neither a preset (no metadata.json) "
                f"nor a training run (no {RUN_MODEL.as_posix()}, no "
                f"{RUN_CHECKPOINTS}/latest.json); {EXPECTED}."
            )
        return source
    if parsed.kind == "embedded":
        available = ", ".join(registry.list_presets()) or "none"
        raise PresetNotFoundError(
            f"no generator {text!r}: it is no embedded preset (available: {available}) and no "
            f"file or folder of that name exists; {EXPECTED}."
        )
    hint = ""
    if len(path.parts) == 2 and not path.is_absolute():
        hint = f" (for a Hub repo write {HUB_SCHEME}{path.as_posix()})"
    raise PresetNotFoundError(f"no generator at {path}: it does not exist{hint}; {EXPECTED}.")


def load_generator(handle, dtype=None, **hub_kwargs):
    """The generator a handle names (see the module docstring), ready to call.

    `dtype` runs it under another dtype policy (`"mixed_bfloat16"`, `"bf16"`, ...; see
    `posegan_zoo.presets.format.with_dtype`). `hub_kwargs` (`revision`, `cache_dir`,
    `local_files_only`, `token`, `endpoint`) apply to `hf://` handles; see
    `locate_generator`.

    Example:

    >>> from posegan_zoo import load_generator
    >>> type(load_generator("posewarp-tennis")).__name__
    'PoseWarpGenerator'
    """
    return locate_generator(handle, **hub_kwargs).load(dtype)


def _run_source(text, run):
    """The run's final model, or its newest checkpoint when there is none or it is newer."""
    from posegan_zoo.errors import CheckpointError
    from posegan_zoo.training.checkpoints import latest_checkpoint

    final = run / RUN_MODEL
    final_step = _recorded_steps(run)
    try:
        newest = latest_checkpoint(run / RUN_CHECKPOINTS)
    except CheckpointError:
        if not final.is_file():
            raise
        newest = None
    if final.is_file() and (newest is None or final_step is None or newest[1] <= final_step):
        return GeneratorSource(text, "run", final, final_step)
    if newest is not None:
        return GeneratorSource(text, "checkpoint", newest[0], newest[1])
    return None


def _recorded_steps(run):
    try:
        return int(read_json(run / RUN_RECORD, PresetError)["steps"])
    except (PresetError, ValueError, KeyError, TypeError):
        return None


# -- export -------------------------------------------------------------------------------


def export_run(run, out, *, evaluation=None, description=None, license=None):
    """Writes the final generator of a training run as a preset folder; returns its path.

    The metadata and model card record the run, from its `model/training.json`: the data,
    the model, the steps, the losses and optimizer, the final training losses, and (as
    `validation_*` metrics) the losses on the run's held-out pairs.

    `posegan-zoo evaluate` figures are added to the metrics when there are some (`evaluation`:
    an `evaluation.json` or the folder holding it; by default `RUN/evaluation/evaluation.json`
    when it exists): SSIM, masked SSIM, PSNR, L1, ... of the model (`held_out_*` when the
    pairs' targets were not trained on, else `evaluation_*`) and of the copy-source
    (`identity_*`) and warp-only (`warp_only_*`) baselines. Figures older than the run's model,
    or of another model, are refused.

    The folder is written as `save_preset` writes it: staged beside `out` and renamed into
    place, so an interrupted export leaves no half-written preset.
    """
    from posegan_zoo.presets.format import save_preset

    run = pathlib.Path(run)
    if not run.is_dir():
        raise PresetNotFoundError(f"`run`: the run folder {run} does not exist.")
    if not (run / RUN_MODEL).is_file() or not (run / RUN_RECORD).is_file():
        raise PresetNotFoundError(
            f"`run`: {run} has no final model ({RUN_MODEL.as_posix()} and "
            f"{RUN_RECORD.as_posix()}): let the run finish (the same train command resumes it) "
            "before exporting it."
        )
    record = _read_json(run / RUN_RECORD)
    config = record.get("config") if isinstance(record.get("config"), dict) else {}
    generator = GeneratorSource(str(run), "run", run / RUN_MODEL).load()
    steps = record.get("steps")
    steps = int(steps) if isinstance(steps, (int, float)) else None
    metrics = {
        f"validation_{name}": float(value)
        for name, value in (record.get("evaluation") or {}).items()
        if isinstance(value, (int, float))
    }
    metadata = {
        "description": description or _description(generator, config, steps),
        "training_data": str(config["data"]) if config.get("data") else None,
        "training_steps": steps,
        "training": _training_summary(config, record, steps),
        "metrics": metrics,
    }
    if license:
        metadata["license"] = license
    found = _find_evaluation(run, evaluation)
    if found is not None:
        figures, summary = _evaluation_metrics(found, config)
        metrics.update(figures)
        metadata["evaluation"] = summary
    return save_preset(generator, out, metadata=metadata)


def _description(generator, config, steps):
    data = pathlib.Path(str(config.get("data") or "?")).name
    text = f"{type(generator).__name__} trained with posegan_zoo on {data}"
    if steps is not None:
        text += f" for {steps:,} steps"
    if config.get("init_from"):
        text += f", fine-tuned from {config['init_from']}"
    return text + "."


def _training_summary(config, record, steps):
    """The run's recipe and losses, as the model card's Training table shows them."""
    loss = str(config.get("reconstruction_loss", "?"))
    if loss == "perceptual":
        backbone = config.get("perceptual_backbone", "auto")
        if backbone == "auto":
            given = config.get("vgg_weights") or config.get("vgg_statistics")
            backbone = "vgg19" if given else "mobilenet_v2"
        loss += f" ({backbone})"
    for name, label in (("l1_weight", "pixel L1"), ("cycle_weight", "cycle")):
        if config.get(name):
            loss += f" + {config[name]:g} x {label}"
    if config.get("adversarial"):
        loss += f" + {config.get('adversarial_weight', 0):g} x {config['adversarial']} adversarial"
    model = str(config.get("model", "?"))
    if config.get("width"):
        model += f" (every conv {config['width']} wide)"
    history = record.get("history") or {}
    final = {
        name: float(values[-1])
        for name, values in history.items()
        if not name.startswith("val_") and isinstance(values, list) and values
    }
    summary = {
        "data": config.get("data"),
        "model": model,
        "fine_tuned_from": config.get("init_from"),
        "steps": steps,
        "batch_size": config.get("batch_size"),
        "optimizer": f"Adam {config['learning_rate']:g}" if config.get("learning_rate") else None,
        "loss": loss,
        "augmentation": "the paper's" if config.get("augment", True) else "none",
        "holdout_fraction": config.get("holdout_fraction"),
        "final_losses": final,
    }
    return {name: value for name, value in summary.items() if value not in (None, {}, "")}


def _find_evaluation(run, evaluation):
    """`(path, record)` of the run's evaluation figures, or None when there are none."""
    if evaluation is None:
        path = run / RUN_EVALUATION
        if not path.is_file():
            return None
    else:
        path = pathlib.Path(evaluation)
        if path.is_dir():
            path = path / RUN_EVALUATION.name
        if not path.is_file():
            raise PresetNotFoundError(
                f"`evaluation`: {path} does not exist; write it with `posegan-zoo evaluate DATA "
                f"--preset {run} --out {run / RUN_EVALUATION.parent}`."
            )
    record = _read_json(path)
    if not isinstance(record.get("overall"), dict):
        raise PresetError(
            f"`evaluation`: {path} is not an evaluation.json of `posegan-zoo evaluate`."
        )
    model = run / RUN_MODEL
    if path.stat().st_mtime < model.stat().st_mtime:
        raise PresetError(
            f"`evaluation`: {path} is older than the run's model {model}: evaluate the run "
            f"again (`posegan-zoo evaluate DATA --preset {run} --out {path.parent}`)."
        )
    evaluated = (record.get("selection") or {}).get("preset")
    if evaluated and os.path.exists(evaluated):
        real = os.path.realpath(evaluated)
        if real not in (os.path.realpath(run), os.path.realpath(model)):
            raise PresetError(
                f"`evaluation`: {path} measured {evaluated}, not the run {run}; evaluate the "
                f"run (`posegan-zoo evaluate DATA --preset {run} --out {path.parent}`)."
            )
    return path, record


def _evaluation_metrics(found, config):
    """(metrics, summary) from an evaluation.json, named by whether its pairs were held out."""
    path, record = found
    selection = record.get("selection") or {}
    data, trained_on = selection.get("data"), config.get("data")
    same_data = bool(data and trained_on) and os.path.realpath(data) == os.path.realpath(trained_on)
    train_fraction = float(config.get("holdout_fraction") or 0.0)
    eval_fraction = selection.get("holdout_fraction")
    held_out = not same_data or (
        selection.get("pairs") == "held-out targets"
        and train_fraction > 0
        and eval_fraction is not None
        and float(eval_fraction) <= train_fraction + 1e-9
    )
    prefix = "held_out" if held_out else "evaluation"
    overall = record["overall"]
    metrics = {}
    for method, name in (
        ("model", prefix),
        ("copy-source", "identity"),
        ("warp-only", "warp_only"),
    ):
        for metric, value in (overall.get(method) or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                metrics[f"{name}_{metric}"] = float(value)
    if isinstance(record.get("pairs"), int):
        metrics[f"{prefix}_pairs"] = record["pairs"]
    summary = {
        "file": path.name,
        "data": data,
        "pairs": record.get("pairs"),
        "selection": selection.get("pairs"),
        "holdout_fraction": eval_fraction,
        "held_out": held_out,
    }
    return metrics, {key: value for key, value in summary.items() if value is not None}


def _read_json(path):
    value = read_json(path, PresetError)
    if not isinstance(value, dict):
        raise PresetError(f"{path}: expected a JSON object, got {type(value).__name__}.")
    return value
