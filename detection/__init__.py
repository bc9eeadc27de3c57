"""Pure detectors: arrays in, results out, in pixel space. No files, CRSs or Prefect."""

from detection.errors import DetectionError, InputArrayError
from detection.types import Vessel

__all__ = ["DetectionError", "InputArrayError", "Vessel"]
