"""The offline tools are tried on the detectors' fixture images."""

from tests.detectors.conftest import image

__all__ = ["image"]
