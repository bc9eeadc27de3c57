"""Bringing SAR input to linear intensity: dB, linear sigma0, amplitude DN and 8-bit chips.

The scale is detected from the data when not given:

* integer pixels (``uint8`` chips cut from PNG/JPEG quick-looks, ``uint16`` GRD digital numbers)
  are amplitudes: intensity is their square (GRD DNs are amplitudes; 8-bit SAR chips of the
  public ship data sets are amplitude displays: their sea has the ~4 looks of Sentinel-1 only
  once squared);
* floating-point pixels are in decibels when the median of the valid pixels is negative or the
  1st percentile is below -1 (a linear backscatter coefficient is >= 0, at most a few thousandths
  below after thermal-noise removal; a dB image of sea is mostly between -30 and -5);
* other floating-point pixels are linear intensity (sigma0, gamma0, beta0).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from detection.errors import InputArrayError

__all__ = ["Scale", "detect_scale", "to_intensity"]

Scale = Literal["auto", "linear", "db", "amplitude"]
_SCALES = ("auto", "linear", "db", "amplitude")
# Fewest pixels looked at to detect the scale of a large image (a strided sample).
_SAMPLE_PX = 1_000_000


def detect_scale(image: NDArray[np.generic], valid: NDArray[np.bool_] | None = None) -> Scale:
    """Tell whether *image* holds dB, linear intensity or amplitude values (see module doc).

    Examples
    --------
    >>> detect_scale(np.array([[-20.0, -18.5], [-3.0, 5.0]]))
    'db'
    >>> detect_scale(np.array([[0.01, 0.02], [0.3, 0.0]], dtype=np.float32))
    'linear'
    >>> detect_scale(np.array([[12, 40]], dtype=np.uint8))
    'amplitude'
    """
    if image.dtype.kind in "iu":
        return "amplitude"
    if image.dtype.kind != "f":
        raise InputArrayError(
            f"image must hold integer or floating-point pixels. Got dtype {image.dtype}; "
            "cast it with image.astype(np.float32)."
        )
    step = max(1, int(math.sqrt(image.size / _SAMPLE_PX)))
    sample = np.asarray(image[::step, ::step], dtype=np.float64)
    ok = np.isfinite(sample)
    if valid is not None:
        ok &= np.asarray(valid[::step, ::step], dtype=bool)
    values = sample[ok]
    if values.size == 0:
        return "linear"
    median, p01 = np.percentile(values, [50.0, 1.0])
    return "db" if (median < 0.0 or p01 < -1.0) else "linear"


def to_intensity(
    image: NDArray[np.generic],
    *,
    scale: Scale = "auto",
    valid: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.bool_] | None, Scale]:
    """Convert a SAR image to linear intensity (float32) and its validity mask.

    Parameters
    ----------
    image : ndarray, shape (M, N)
        dB, linear intensity, or amplitude (integers).
    scale : {"auto", "linear", "db", "amplitude"}
        "auto" detects it (:func:`detect_scale`).
    valid : ndarray of bool, shape (M, N), or None
        Pixels with data; non-finite pixels are always invalid.

    Returns
    -------
    intensity : ndarray of float32, shape (M, N)
        0 where invalid; negative linear values (noise-subtracted products) are clipped to 0.
    valid : ndarray of bool or None
        None when every pixel is valid (saves a pass).
    scale : str
        The scale used.

    Examples
    --------
    >>> x, ok, s = to_intensity(np.array([[-10.0, 0.0]]))
    >>> [round(float(v), 3) for v in x.ravel()], ok, s
    ([0.1, 1.0], None, 'db')
    """
    if scale not in _SCALES:
        raise InputArrayError(f"scale must be one of {', '.join(_SCALES)}. Got {scale!r}.")
    if scale == "auto":
        scale = detect_scale(image, valid)
    # One pass per step, no extra copies: these run over whole Sentinel-1 scenes.
    if scale == "amplitude":
        x = np.multiply(image, image, dtype=np.float32)
    elif scale == "db":
        x = np.multiply(image, np.float32(math.log(10.0) / 10.0), dtype=np.float32)
        np.exp(x, out=x)
    else:
        x = np.maximum(image, np.float32(0.0), dtype=np.float32)  # NaN stays NaN
    ok = None if valid is None else np.asarray(valid, dtype=bool)
    if image.dtype.kind == "f" and not np.isfinite(x.sum()):  # any NaN/inf makes the sum so
        finite = np.isfinite(x)
        ok = finite if ok is None else ok & finite
    if ok is not None:
        if ok.all():
            ok = None
        else:
            x[~ok] = 0.0
    return x, ok, scale
