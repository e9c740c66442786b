"""Training infrastructure: atomic checkpoints, callbacks, and the config-driven run."""

from posegan_zoo.training.callbacks import SampleGridCallback, sample_grid
from posegan_zoo.training.checkpoints import (
    CheckpointCallback,
    atomic_path,
    latest_checkpoint,
    load_checkpoint,
    load_latest_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from posegan_zoo.training.run import TrainingConfig, load_generator, run_training

__all__ = [
    "CheckpointCallback",
    "SampleGridCallback",
    "TrainingConfig",
    "atomic_path",
    "latest_checkpoint",
    "load_checkpoint",
    "load_generator",
    "load_latest_checkpoint",
    "remove_stale_temporaries",
    "run_training",
    "sample_grid",
    "save_checkpoint",
]
