"""The shipped defaults: run configuration, code system, Manifesto configuration and model.

They are package data, found through :mod:`importlib.resources`, so that an installed
autocode (a wheel, ``pip install .``) finds them from any folder, as an editable checkout
does. The repository's ``configs/`` and ``models/default`` are links to these files.

Every command that takes a model, configuration or code system uses these when the
option is not given; none falls back to anything else.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from pipeline.core.errors import ConfigError


def _shipped(name: str) -> Path:
    path = Path(str(files(__name__) / name))
    if not path.exists():
        raise ConfigError(
            f"the shipped default {name!r} is missing from the installed package ({path}). "
            "Reinstall autocode (pip install --force-reinstall autocode), or pass the file explicitly."
        )
    return path


def config_path() -> Path:
    """The default run configuration (YAML)."""
    return _shipped("config.yaml")


def codebook_path() -> Path:
    """The default code system: the motive/barrier taxonomy (YAML)."""
    return _shipped("codebook.yaml")


def fast_config_path() -> Path:
    """The fast preset: USE + lexical TF-IDF, ~10x the default's speed, worse transfer."""
    return _shipped("fast.yaml")


def manifesto_config_path() -> Path:
    """The run configuration of ``autocode benchmark manifesto``."""
    return _shipped("manifesto.yaml")


def model_dir() -> Path:
    """The default model folder: ``$AUTOCODE_MODEL`` where set, else the shipped model."""
    chosen = os.environ.get("AUTOCODE_MODEL")
    if chosen:
        return Path(chosen)
    return _shipped("model")
