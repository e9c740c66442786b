"""Base class of the package's functional models (keras-hub style functional subclasses)."""

import keras

from posegan_zoo.presets.mixin import PresetMixin


class KeyedFunctionalModel(PresetMixin, keras.Model):
    """A functional model whose inputs form a dict.

    Subclasses build their graph in `__init__` and finish with `_init_functional`. Calling
    the model with a dict that lacks an input raises an error naming it; extra keys are
    ignored, so that one dict of inputs can feed several models. `PresetMixin` gives every
    subclass `from_preset`, `save_to_preset` and `push_to_hub`.
    """

    def _init_functional(self, inputs, outputs, name, dtype, kwargs):
        super().__init__(inputs=inputs, outputs=outputs, name=name, dtype=dtype, **kwargs)
        if dtype is not None:
            # A functional model keeps the float32 policy whatever its layers were given;
            # the model's own policy is what `get_config` saves and a reload rebuilds with.
            self.dtype_policy = keras.dtype_policies.get(dtype)
        self.input_keys = tuple(inputs)

    def call(self, inputs, training=None, mask=None):
        if isinstance(inputs, dict):
            inputs = select_inputs(self, inputs, self.input_keys)
        return super().call(inputs, training=training, mask=mask)

    def get_config(self):
        # Only the constructor's arguments: `from_config` rebuilds the graph in `__init__`.
        return base_config(self)


def select_inputs(model, inputs, keys):
    """`inputs` restricted to `keys`; a missing key raises an error that names it."""
    missing = [key for key in keys if key not in inputs]
    if missing:
        raise ValueError(
            f"{type(model).__name__} inputs miss {missing}; expected the keys {list(keys)}, "
            f"got {list(inputs)}."
        )
    return {key: inputs[key] for key in keys}


def base_config(model):
    """The config entries that every model of the package shares."""
    return {
        "name": model.name,
        "trainable": model.trainable,
        "dtype": keras.saving.serialize_keras_object(model.dtype_policy),
    }
