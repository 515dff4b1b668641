"""The error of the foreign-model path."""
from __future__ import annotations


class ForeignModelError(ValueError):
    """A foreign model, its class names or its label mapping cannot be used; the message names the file and
    says what to do."""


__all__ = ["ForeignModelError"]
