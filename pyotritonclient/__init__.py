"""pyotritonclient: an async client for NVIDIA Triton Inference Server, in CPython and in the browser."""

from .errors import InferenceServerException, InferenceServerTimeout

__version__ = "0.3.0"

__all__ = ["InferenceServerException", "InferenceServerTimeout", "__version__"]
