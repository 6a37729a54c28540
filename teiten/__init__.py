"""teiten: Internet fixed-point observation (インターネット定点観測) and CSIRT incident statistics."""

__version__ = "0.1.0"
__all__ = ["__version__"]
