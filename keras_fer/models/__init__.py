"""The network: block-spec table, architecture config, registries, builder and named variants."""

from keras_fer.models.builder import build_model, build_variant
from keras_fer.models.config import ArchitectureConfig
from keras_fer.models.spec import MOBILENETV3_LARGE_BLOCKS, BlockSpec
from keras_fer.models.variants import VARIANTS, variant_config, variant_names

__all__ = [
    "ArchitectureConfig",
    "BlockSpec",
    "MOBILENETV3_LARGE_BLOCKS",
    "VARIANTS",
    "build_model",
    "build_variant",
    "variant_config",
    "variant_names",
]
