"""The embedded preset that `PoseRegenerator` and the command line use by default.

It is whichever embedded preset measured best on people no preset trained on: the highest
person-masked SSIM of the fake (`unseen_masked_ssim` in its metadata, written by
`examples/build_presets.py --unseen` on whole clips kept out of training). Today that is
the learning-free `warp-only`: `posewarp-tennis` saw one player only and does worse than
copying the source on anyone else.
"""

DEFAULT_PRESET = "warp-only"
