"""The version of softkv, written once: the package metadata (pyproject.toml) reads it from here."""

__version__ = "0.2.0.dev0"
