"""Models: `create_model(config, num_classes)` -> KitModel (front-end, backbone, head, crop pooling).

Backbones: "cnn" | "rnn" | a timm name (aliases swinv2, eva02_tiny) | "tv:<torchvision name>"; see
kit.models.backbones. Pretrained weights only from config.model.pretrained_path (a local file).
"""
from kit.models.backbones import ALIASES, SUPPORTED, Backbone, input_shape, resolve_backbone
from kit.models.errors import ModelError, PretrainedWeightsError
from kit.models.head import Head
from kit.models.kitmodel import KitModel, check_budget, count_parameters, create_model, describe_model, pool_crops

__all__ = ["ALIASES", "SUPPORTED", "Backbone", "Head", "KitModel", "ModelError", "PretrainedWeightsError",
           "check_budget", "count_parameters", "create_model", "describe_model", "input_shape", "pool_crops",
           "resolve_backbone"]
