"""keras_fer: facial expression recognition with the improved MobileNetV3 of Jiang et al. (2024).

Importing the package registers its custom layers, so `keras.models.load_model("m.keras")` works.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TF's C++ start-up banner is noise for users

from keras_fer import layers  # noqa: F401  (registers the serializable layers)
from keras_fer.models import VARIANTS, ArchitectureConfig, build_model, build_variant, variant_names
from keras_fer.recognizer import FER
from keras_fer.shipped import pretrained

__version__ = "0.1.0"

__all__ = ["ArchitectureConfig", "FER", "VARIANTS", "build_model", "build_variant", "pretrained", "variant_names",
           "__version__"]
