"""Presets: pretrained models as folders, embedded in the package, local, or on the Hub.

A preset is a folder holding `config.json` (the Keras-serialized model), `metadata.json`
(versions, sizes, training record, sha256 of the weights), `model.weights.h5` and a
`README.md` model card. Handles: an embedded preset name, a local folder, or
`hf://owner/name[@revision]`.

Example:

>>> from posegan_zoo.presets import parse_handle
>>> str(parse_handle("hf://alice/posewarp@v1"))
'hf://alice/posewarp@v1'
"""

from posegan_zoo.presets.format import (
    PRESET_FILES,
    load_preset,
    read_metadata,
    render_model_card,
    save_preset,
    validate_preset,
)
from posegan_zoo.presets.handles import PresetHandle, parse_handle
from posegan_zoo.presets.hub import download_preset, push_to_hub
from posegan_zoo.presets.mixin import PresetMixin
from posegan_zoo.presets.registry import list_presets, resolve

__all__ = [
    "PRESET_FILES",
    "PresetHandle",
    "PresetMixin",
    "download_preset",
    "list_presets",
    "load_preset",
    "parse_handle",
    "push_to_hub",
    "read_metadata",
    "render_model_card",
    "resolve",
    "save_preset",
    "validate_preset",
]
