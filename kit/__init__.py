"""kit: one preprocessing path for BirdCLEF-style audio competitions, from training to submission.csv."""

__version__ = "0.3.0"

from kit.config import (  # noqa: E402,F401
    AudioConfig,
    AugmentConfig,
    Config,
    DataConfig,
    FeatureConfig,
    InferConfig,
    ModelConfig,
    TrainConfig,
)
