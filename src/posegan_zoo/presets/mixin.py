"""`PresetMixin`: `from_preset`, `save_to_preset`, `push_to_hub` and `list_presets` on a class."""

from posegan_zoo.presets import format as preset_format
from posegan_zoo.presets import hub, registry


class PresetMixin:
    """Adds preset loading and saving to a Keras model class.

    List it before `keras.Model` in a model's bases (`class MyModel(PresetMixin,
    keras.Model)`); to add it to a subclass of a class that may already have it, list it last
    (`class Mine(PoseDiscriminator, PresetMixin)`). It defines no `__init__` and no state. A
    class whose presets are not a single Keras model (a facade composed of several) overrides
    `_from_preset_folder`.

    Handles: an embedded preset name (see `list_presets`), a local preset folder, or
    `hf://owner/name[@revision]` on the Hugging Face Hub.

    A facade that wraps a model (e.g. a pipeline around a generator) overrides two hooks:
    `_from_preset_folder(cls, folder)` to build itself from the folder (e.g.
    `cls(load_preset(folder))`), and `_preset_model(self)` to return the model it saves.

    Example:

    >>> import pathlib, tempfile, keras
    >>> from posegan_zoo.models import PoseDiscriminator
    >>> from posegan_zoo.presets import PresetMixin
    >>> class Discriminator(PoseDiscriminator, PresetMixin):
    ...     pass
    >>> model = Discriminator(64, conv_widths=[4] * 6, dense_widths=[8, 8])
    >>> folder = model.save_to_preset(pathlib.Path(tempfile.mkdtemp()) / "disc")
    >>> type(Discriminator.from_preset(folder)).__name__
    'Discriminator'
    """

    @classmethod
    def from_preset(
        cls,
        handle,
        *,
        revision=None,
        cache_dir=None,
        local_files_only=None,
        token=None,
        endpoint=None,
        dtype=None,
    ):
        """Loads a model of this class from a preset handle.

        `revision`, `cache_dir`, `local_files_only`, `token` and `endpoint` apply to Hub
        handles (see `posegan_zoo.presets.download_preset`). The weights' sha256 is checked
        before they are loaded; a preset of another model class raises `PresetError`.
        `dtype` runs the model under another dtype policy, e.g. `"mixed_bfloat16"` (see
        `posegan_zoo.presets.format.with_dtype`).
        """
        folder = registry.resolve(
            handle,
            revision=revision,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            token=token,
            endpoint=endpoint,
        )
        model = cls._from_preset_folder(folder)
        return model if dtype is None else preset_format.with_dtype(model, dtype)

    @classmethod
    def _from_preset_folder(cls, folder):
        """Builds the object from a local preset folder (override for composite objects)."""
        return preset_format.load_preset(folder, expected_class=cls)

    def _preset_model(self):
        """The Keras model that `save_to_preset` and `push_to_hub` write (default: self)."""
        return self

    @classmethod
    def list_presets(cls):
        """The embedded presets this class loads: a dict of name -> one-line description."""
        return registry.list_presets(model_class=cls)

    def save_to_preset(self, folder, metadata=None, model_card=None):
        """Writes this model as a preset folder (see `posegan_zoo.presets.save_preset`)."""
        return preset_format.save_preset(
            self._preset_model(), folder, metadata=metadata, model_card=model_card
        )

    def push_to_hub(
        self,
        repo_id,
        *,
        revision=None,
        commit_message=None,
        private=None,
        token=None,
        endpoint=None,
        metadata=None,
        model_card=None,
    ):
        """Saves this model as a preset and uploads it to the Hub repo `repo_id`
        (see `posegan_zoo.presets.push_to_hub`)."""
        return hub.push_to_hub(
            self._preset_model(),
            repo_id,
            revision=revision,
            commit_message=commit_message,
            private=private,
            token=token,
            endpoint=endpoint,
            metadata=metadata,
            model_card=model_card,
        )
