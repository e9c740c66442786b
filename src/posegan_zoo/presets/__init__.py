"""Presets: pretrained models as folders, embedded in the package, local, or on the Hub.

A preset is a folder holding `config.json` (the Keras-serialized model), `metadata.json`
(versions, sizes, training record, sha256 of the weights), `model.weights.h5` and a
`README.md` model card. Handles: an embedded preset name, a local folder, or
`hf://owner/name[@revision]`; where a generator is wanted (`load_generator`), a training run
folder or a `.keras` file too (`posegan_zoo.presets.generators`).

Example:

>>> from posegan_zoo.presets import parse_handle
>>> str(parse_handle("hf://alice/posewarp@v1"))
'hf://alice/posewarp@v1'
"""

from typing import TYPE_CHECKING

from posegan_zoo._lazy import lazy_attributes

_EXPORTS = {
    **dict.fromkeys(
        (
            "PRESET_FILES",
            "load_preset",
            "read_metadata",
            "render_model_card",
            "save_preset",
            "validate_preset",
        ),
        "posegan_zoo.presets.format",
    ),
    **dict.fromkeys(
        ("GeneratorSource", "export_run", "load_generator", "locate_generator"),
        "posegan_zoo.presets.generators",
    ),
    "PresetHandle": "posegan_zoo.presets.handles",
    "parse_handle": "posegan_zoo.presets.handles",
    "download_preset": "posegan_zoo.presets.hub",
    "push_to_hub": "posegan_zoo.presets.hub",
    "PresetMixin": "posegan_zoo.presets.mixin",
    "list_presets": "posegan_zoo.presets.registry",
    "resolve": "posegan_zoo.presets.registry",
}
# Loaded on first use: handles and the default preset's name need no TensorFlow.
__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)

if TYPE_CHECKING:
    from posegan_zoo.presets.format import (
        PRESET_FILES,
        load_preset,
        read_metadata,
        render_model_card,
        save_preset,
        validate_preset,
    )
    from posegan_zoo.presets.generators import (
        GeneratorSource,
        export_run,
        load_generator,
        locate_generator,
    )
    from posegan_zoo.presets.handles import PresetHandle, parse_handle
    from posegan_zoo.presets.hub import download_preset, push_to_hub
    from posegan_zoo.presets.mixin import PresetMixin
    from posegan_zoo.presets.registry import list_presets, resolve

__all__ = [
    "PRESET_FILES",
    "GeneratorSource",
    "PresetHandle",
    "PresetMixin",
    "download_preset",
    "export_run",
    "list_presets",
    "load_generator",
    "load_preset",
    "locate_generator",
    "parse_handle",
    "push_to_hub",
    "read_metadata",
    "render_model_card",
    "resolve",
    "save_preset",
    "validate_preset",
]
