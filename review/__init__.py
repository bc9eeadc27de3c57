"""The analysts' review web app over the event store, and the flagging that feeds its queue."""

from review.chips import ChipParams, render_detection_chips, render_overview, tile_position
from review.errors import (
    ChipRenderError,
    DecisionError,
    ReviewError,
    UnknownDetectionError,
    UserExistsError,
    UsersFileError,
)
from review.flagging import FLAG_REASONS, Flag, FlagParams, flag_detections, flag_priority

__all__ = [
    "FLAG_REASONS",
    "ChipParams",
    "ChipRenderError",
    "DecisionError",
    "Flag",
    "FlagParams",
    "ReviewError",
    "UnknownDetectionError",
    "UserExistsError",
    "UsersFileError",
    "flag_detections",
    "flag_priority",
    "render_detection_chips",
    "render_overview",
    "tile_position",
]
