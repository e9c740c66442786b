"""Package attributes loaded on first use (PEP 562).

`import posegan_zoo` and the command line's `--help` then do not load TensorFlow: a public
name imports the module that defines it when it is first read.

Keras finds a saved posegan_zoo class only once its module is imported: the package's own
loaders (`load_generator`, `load_preset`, `load_checkpoint`) call `register_keras_objects`;
before a bare `keras.saving.load_model`, import `posegan_zoo.models` (or call it).
"""

import importlib
import sys

# The modules whose import registers posegan_zoo's layers, losses and models with Keras.
KERAS_MODULES = ("posegan_zoo.layers", "posegan_zoo.losses", "posegan_zoo.models")


def register_keras_objects():
    """Imports every module that registers posegan_zoo classes with Keras (idempotent)."""
    for module in KERAS_MODULES:
        importlib.import_module(module)


def lazy_attributes(package, exports, submodules=()):
    """`(__getattr__, __dir__)` for the package named `package`.

    `exports` maps each public name to the module that defines it; `submodules` are names of
    the package's own submodules, imported when read. A name read once is cached on the package.
    """

    def __getattr__(name):
        if name in submodules:
            value = importlib.import_module(f"{package}.{name}")
        elif name in exports:
            value = getattr(importlib.import_module(exports[name]), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(exports) | set(submodules))

    return __getattr__, __dir__
