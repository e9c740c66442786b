"""The embedded preset that `PoseRegenerator` and the command line use by default.

It is whichever embedded preset measured best on the held-out frames of the tennis clip
(see each preset's metadata and `posegan-zoo evaluate`).
"""

DEFAULT_PRESET = "posewarp-tennis"
