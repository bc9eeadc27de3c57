"""Result types of :mod:`detection`: frozen, in pixel space (row down, col right)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Vessel"]


@dataclass(frozen=True)
class Vessel:
    """One vessel found in an image.

    Attributes
    ----------
    row, col : float
        Centre in pixel coordinates (an integer is the centre of a pixel; row down, col right).
    length_m, width_m : float
        Along and across the hull, in metres.
    heading_deg : float
        Orientation of the long axis, degrees clockwise from image "up" (row decreasing), in
        [0, 180): a hull's bow and stern cannot be told apart at 10 m.
    score : float
        Detection strength; higher is more certain. For CFAR detectors, the peak's
        -log10 probability of false alarm under the clutter model.
    corners : tuple of (row, col) pairs
        The oriented footprint (4 corners, pixel coordinates), for drawing and for the store.
    flags : tuple of str
        Notes on how it was found, e.g. ``"near_land"``, ``"changed_vs_reference"``.
    """

    row: float
    col: float
    length_m: float
    width_m: float
    heading_deg: float
    score: float
    corners: tuple[tuple[float, float], ...] = ()
    flags: tuple[str, ...] = ()
