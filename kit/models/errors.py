"""Errors of model building; ValueError subclasses, so the CLI prints `error: <message>` without a traceback."""
from __future__ import annotations

from kit.config import ConfigError


class ModelError(ConfigError):
    """A model cannot be built from the config (unknown backbone, over the parameter budget, bad input size)."""


class PretrainedWeightsError(ModelError):
    """config.model.pretrained_path is missing, unreadable, unsafe, or does not fit the backbone."""
