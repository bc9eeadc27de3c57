"""Reference images of a place: per-pixel medians of earlier scenes on the same grid.

A quay, a crane or a moored pontoon is there in (almost) every scene, a ship only in some: the
median of several earlier scenes shows the fixed structures and the usual sea, and the detectors
look for what is there now and not in the reference. The median commutes with any monotonic
rescaling (dB, amplitude, linear), so the reference may be built in the scenes' own units.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from detection.errors import InputArrayError

__all__ = ["REFERENCE_SCENES", "build_reference"]

#: How many earlier scenes of a port (same sensor, same grid) make its reference: enough for the
#: median to drop a ship that called once or twice, few enough to follow a changing quay.
REFERENCE_SCENES = 8


def build_reference(
    stack: Sequence[NDArray[np.generic]] | NDArray[np.generic],
    *,
    valid: Sequence[NDArray[np.bool_]] | NDArray[np.bool_] | None = None,
    min_scenes: int = 1,
) -> NDArray[np.float32]:
    """Per-pixel median of co-registered scenes, ignoring NaN and invalid pixels.

    Parameters
    ----------
    stack : sequence of ndarray of shape (M, N), or ndarray of shape (K, M, N)
        Earlier scenes of the same place on the same grid (one band, same units).
    valid : same shape as *stack*, optional
        False where a scene did not observe the pixel (cloud, shadow, nodata).
    min_scenes : int
        Pixels observed by fewer scenes are NaN in the result.

    Returns
    -------
    ndarray of float32, shape (M, N)

    Raises
    ------
    InputArrayError
        If the stack is empty or the scenes have different shapes.

    Examples
    --------
    >>> build_reference([np.array([[1.0, 5.0]]), np.array([[2.0, np.nan]]), np.array([[9.0, 7.0]])])
    array([[2., 6.]], dtype=float32)
    """
    if len(stack) == 0:
        raise InputArrayError("stack must hold at least one scene. Got none.")
    shapes = {np.shape(a) for a in stack}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise InputArrayError(
            f"stack scenes must all be 2-D with one shape. Got shapes {sorted(shapes)}; "
            "resample them onto the port grid first."
        )
    cube = np.stack([np.asarray(a, dtype=np.float32) for a in stack])
    if valid is not None:
        ok = np.stack([np.asarray(v, dtype=bool) for v in valid])
        if ok.shape != cube.shape:
            raise InputArrayError(
                f"valid must match the stack's shape {cube.shape}. Got {ok.shape}."
            )
        cube[~ok] = np.nan
    count = np.isfinite(cube).sum(axis=0)
    with np.errstate(all="ignore"):
        out = np.full(cube.shape[1:], np.nan, dtype=np.float32)
        seen = count >= max(1, min_scenes)
        if seen.any():
            out[seen] = np.nanmedian(cube[:, seen], axis=0)
    return out
