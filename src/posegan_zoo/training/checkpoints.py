"""Atomic, resumable training checkpoints.

A checkpoint is a whole `.keras` file of the trainer (models, optimizer states and step
counters), written next to its final name and renamed into place, so that a run killed at
any moment leaves either the previous checkpoint or the new one, never half a file. The file
`latest.json` names the newest checkpoint; it is replaced atomically too.
"""

import contextlib
import json
import math
import os
import pathlib
import secrets
import warnings

import keras

from posegan_zoo.errors import CheckpointError, TrainingDivergedError

LATEST = "latest.json"
# What `atomic_path` leaves when a run is killed mid-write: `.ckpt-*.keras.<hex>.keras`,
# `.latest.json.<hex>.json`.
STALE_TEMPORARIES = (".ckpt-*.keras.*.keras", f".{LATEST}.*.json")


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success it is fsynced and renamed to `path`.

    On an error the temporary file is removed and `path` is left as it was.

    Example:

    >>> import pathlib, tempfile
    >>> from posegan_zoo.training import atomic_path
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}{path.suffix}"
        try:
            # Mode 0o666 less the umask, like any file the user writes (mkstemp gives 0o600).
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
        _fsync_directory(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_directory(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_checkpoint(model, directory, step, keep=3):
    """Writes `model` to `directory/ckpt-<step>.keras` atomically and marks it the latest.

    Keeps the `keep` newest checkpoints and deletes older ones. Returns the path.
    """
    if int(keep) < 1:
        raise CheckpointError(f"`keep` must be >= 1 checkpoints, got {keep}.")
    directory = pathlib.Path(directory)
    path = directory / f"ckpt-{int(step):08d}.keras"
    with atomic_path(path) as tmp:
        model.save(tmp)
    with atomic_path(directory / LATEST) as tmp:
        tmp.write_text(json.dumps({"checkpoint": path.name, "step": int(step)}))
    for old in sorted(directory.glob("ckpt-*.keras"))[: -int(keep)]:
        old.unlink(missing_ok=True)
    return path


def latest_checkpoint(directory):
    """`(path, step)` of the newest checkpoint in `directory`, or None when there is none."""
    directory = pathlib.Path(directory)
    marker = directory / LATEST
    if not marker.exists():
        return None
    try:
        record = json.loads(marker.read_text())
        path, step = directory / record["checkpoint"], int(record["step"])
    except (ValueError, KeyError, TypeError) as error:
        raise CheckpointError(f"{marker}: not a checkpoint record ({error}).") from None
    if not path.is_file():
        raise CheckpointError(f"{marker} names {path.name}, which is missing from {directory}.")
    return path, step


def remove_stale_temporaries(directory):
    """Deletes the temporary files a killed run left in `directory`; returns their names.

    Only call it while no other process writes to `directory`.
    """
    directory = pathlib.Path(directory)
    stale = [path for pattern in STALE_TEMPORARIES for path in directory.glob(pattern)]
    for path in stale:
        path.unlink(missing_ok=True)
    return sorted(path.name for path in stale)


def load_latest_checkpoint(directory):
    """`(trainer, step)` from the newest checkpoint in `directory` that loads, or None.

    A newest checkpoint that does not load (a truncated file, a record naming a missing
    one) is skipped with a warning naming it, and the next older intact one is used.
    `CheckpointError` when checkpoints exist but none loads.
    """
    directory = pathlib.Path(directory)
    candidates = sorted(directory.glob("ckpt-*.keras"), reverse=True)
    problems = []
    try:
        newest = latest_checkpoint(directory)
    except CheckpointError as error:
        newest, problems = None, [str(error)]
    if newest is not None:
        candidates = [newest[0]] + [path for path in candidates if path != newest[0]]
    for path in candidates:
        try:
            trainer = load_checkpoint(path)
        except CheckpointError as error:
            problems.append(str(error))
            continue
        if problems:
            warnings.warn(
                f"resuming from {path.name}, the newest checkpoint that loads; skipped: "
                + "; ".join(problems),
                stacklevel=2,
            )
        return trainer, int(trainer.step_counter.numpy())
    if problems:
        raise CheckpointError(f"no checkpoint in {directory} loads: " + "; ".join(problems))
    return None


def load_checkpoint(path):
    """Loads a trainer checkpoint written by `save_checkpoint` (compiled, optimizers restored)."""
    from posegan_zoo._lazy import register_keras_objects

    register_keras_objects()
    try:
        return keras.saving.load_model(path)
    except (OSError, ValueError) as error:
        raise CheckpointError(f"{path}: cannot load checkpoint: {error}") from None


class CheckpointCallback(keras.callbacks.Callback):
    """Saves the trainer at the end of every epoch (choose `steps_per_epoch` accordingly).

    The checkpoint is named by the trainer's step counter, which is saved with it, so a
    resumed run continues the numbering.

    Example:

    >>> from posegan_zoo.training import CheckpointCallback
    >>> CheckpointCallback("runs/demo/checkpoints", keep=2).keep
    2
    """

    def __init__(self, directory, keep=3):
        super().__init__()
        if int(keep) < 1:
            raise CheckpointError(f"`keep` must be >= 1 checkpoints, got {keep}.")
        self.directory = pathlib.Path(directory)
        self.keep = int(keep)

    def on_train_begin(self, logs=None):
        remove_stale_temporaries(self.directory)

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            # Raising here ends `fit` before `on_epoch_end` could save the broken weights.
            last = latest_checkpoint(self.directory) if self.directory.is_dir() else None
            kept = f"the last good checkpoint is {last[0]}" if last else "no checkpoint was saved"
            raise TrainingDivergedError(
                f"the training loss became {float(loss)} at step "
                f"{int(self.model.step_counter.numpy())}; stopped, {kept}. Lower the learning "
                "rate or check the data."
            )

    def on_epoch_end(self, epoch, logs=None):
        save_checkpoint(
            self.model, self.directory, int(self.model.step_counter.numpy()), keep=self.keep
        )
