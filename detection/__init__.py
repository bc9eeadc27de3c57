"""Pure detectors: arrays in, results out, in pixel space. No files, CRSs or Prefect."""

from detection._optical_blocks import detect_optical_vessels_in_blocks
from detection.blocks import detect_sar_vessels_in_blocks
from detection.containers import (
    ContainerCount,
    StackParams,
    TeuAssumptions,
    TeuEstimate,
    VhrParams,
    YardChange,
    YardStacks,
    compare_yards,
    count_containers_vhr,
    estimate_teu,
    measure_container_stacks,
)
from detection.errors import DetectionError, DetectionParamsError, InputArrayError
from detection.optical import detect_optical_vessels
from detection.params import OpticalParams, SarParams, SnapCfarParams
from detection.reference import build_reference
from detection.sar import detect_sar_vessels
from detection.snap import detect_snap_cfar
from detection.types import Vessel

__all__ = [
    "ContainerCount",
    "DetectionError",
    "DetectionParamsError",
    "InputArrayError",
    "OpticalParams",
    "SarParams",
    "SnapCfarParams",
    "StackParams",
    "TeuAssumptions",
    "TeuEstimate",
    "Vessel",
    "VhrParams",
    "YardChange",
    "YardStacks",
    "build_reference",
    "compare_yards",
    "count_containers_vhr",
    "detect_optical_vessels",
    "detect_optical_vessels_in_blocks",
    "detect_sar_vessels",
    "detect_sar_vessels_in_blocks",
    "detect_snap_cfar",
    "estimate_teu",
    "measure_container_stacks",
]
