"""Typed errors raised by posegan_zoo.

Every error names the argument, field or file at fault and what was expected, so
that a user can fix the input without reading the package's source.
"""


class PoseGanZooError(Exception):
    """Base class of every error raised on purpose by posegan_zoo."""


class InvalidPoseError(PoseGanZooError, ValueError):
    """A pose (joint array, visibility flags) has the wrong shape or values."""


class InvalidImageError(PoseGanZooError, ValueError):
    """An image has the wrong shape, size or value range."""


class NoPersonError(InvalidImageError):
    """The pose detector found no person (or not the one asked for) in an image."""


class InvalidConfigError(PoseGanZooError, ValueError):
    """A model constructor argument is out of range or inconsistent."""


class CheckpointError(PoseGanZooError, ValueError):
    """A weights file is not what the loader expected (layout, layer count, shapes)."""


class TrainingDivergedError(PoseGanZooError, FloatingPointError):
    """A training loss became NaN or infinite; the run stopped without saving the bad
    weights, and its newest checkpoint is the last good state."""


class InvalidStatisticsError(PoseGanZooError, ValueError):
    """A statistics file (e.g. per-channel VGG activation statistics) lacks a key or has
    the wrong shape or values."""


class WeightsUnavailableError(PoseGanZooError, OSError):
    """Pretrained weights cannot be obtained: the download failed (no internet) or the
    local weights file does not exist."""


class DataFormatError(PoseGanZooError, ValueError):
    """A data file or folder (pose dataset, keypoint JSON) is missing or malformed."""


class InvalidVideoError(PoseGanZooError, ValueError):
    """A video file is missing, unreadable, empty (no video stream, no frame) or truncated,
    or frames cannot be written as a video."""


class PresetError(PoseGanZooError, ValueError):
    """A preset (handle, folder, `config.json`, `metadata.json`, weights) is malformed, fails
    its sha256 check, or holds a different model class than the one asked for."""


class PresetNotFoundError(PresetError, FileNotFoundError):
    """A preset handle names nothing: an unknown embedded preset, a missing local folder, or a
    Hub repository, revision or file that does not exist."""


class PresetUnavailableError(PresetError, WeightsUnavailableError):
    """A Hub preset cannot be obtained now: downloads are disabled (offline) and it is not in
    the cache, the Hub cannot be reached, or the transfer was interrupted."""
