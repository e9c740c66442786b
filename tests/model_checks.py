"""Shared checks for the package's models: config and `.keras` round trips."""

import os

import keras
import numpy as np


def outputs_as_numpy(outputs):
    if isinstance(outputs, dict):
        return {key: keras.ops.convert_to_numpy(value) for key, value in outputs.items()}
    return keras.ops.convert_to_numpy(outputs)


def assert_outputs_equal(actual, expected, atol=0.0):
    actual, expected = outputs_as_numpy(actual), outputs_as_numpy(expected)
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys()
        for key in expected:
            np.testing.assert_allclose(actual[key], expected[key], atol=atol, err_msg=key)
    else:
        np.testing.assert_allclose(actual, expected, atol=atol)


def assert_config_round_trip(model):
    """`from_config(get_config())` rebuilds the same architecture, non-default args included."""
    config = model.get_config()
    clone = type(model).from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()
    return clone


def assert_saved_model_round_trip(model, inputs, directory):
    """Saving to `.keras` and loading gives the same class, config and outputs."""
    expected = model(inputs)
    path = os.path.join(directory, f"{model.name}.keras")
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    assert restored.get_config() == model.get_config()
    assert_outputs_equal(restored(inputs), expected)
    return restored
