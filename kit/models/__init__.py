"""Stage 3, models: `create_model(config, num_classes)` -> KitModel (front-end, backbone, head, crop pooling).

Backbones: "cnn" | "rnn" | a timm name (aliases swinv2, eva02_tiny) | "tv:<torchvision name>" (`backbones`,
the self-made ones in `builtin`, timm/torchvision adapters in `external`); the classifier head (`head`);
pretrained weights from a local file, config.model.pretrained_path (`weights`; EfficientNet-Lite files in the
efficientnet-lite-pytorch layout: `lite_weights`), or from the Hugging Face hub cache, config.model.pretrained
(`hub`: fetched while training online, never at prediction); `timing` measures ms per window.
"""
from kit.models.backbones import ALIASES, SUPPORTED, Backbone, input_shape, resolve_backbone
from kit.models.errors import ModelError, PretrainedWeightsError
from kit.models.head import Head
from kit.models.kitmodel import KitModel, check_budget, count_parameters, create_model, describe_model, pool_crops
from kit.models.timing import time_inference

__all__ = ["ALIASES", "SUPPORTED", "Backbone", "Head", "KitModel", "ModelError", "PretrainedWeightsError",
           "check_budget", "count_parameters", "create_model", "describe_model", "input_shape", "pool_crops",
           "resolve_backbone", "time_inference"]
