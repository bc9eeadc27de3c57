"""Constant-false-alarm-rate machinery on a grid of cells: O(N) whatever the window sizes.

The image is cut into square cells of ``c`` pixels. One pass over the pixels gives, per cell, the
count, sum and sum of squares of the valid pixels and the brightest pixel of the search domain.
Everything else happens on the (``c**2`` times smaller) cell grid with integral images: the
guard/background ring statistics, the clutter model fit and the threshold. A pixel is then tested
against the threshold of its cell. Cells whose brightest pixel is a detection are left out of the
background in a second pass, so that a ship never inflates the threshold of its neighbours.

References
----------
.. [1] D. J. Crisp, "The state-of-the-art in ship detection in synthetic aperture radar imagery",
   DSTO-RR-0272, 2004.
.. [2] C. J. Oliver and S. Quegan, "Understanding Synthetic Aperture Radar Images", Artech House,
   1998, ch. 7 (gamma and K distributions of intensity).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, optimize, special

__all__ = [
    "CellStats",
    "RingFit",
    "box_sum",
    "cell_reduce",
    "cell_size_px",
    "cell_stats",
    "fit_ring",
    "gamma_log10_sf",
    "threshold_factor",
    "window_radius_cells",
]

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
Bool = NDArray[np.bool_]

# Effective-looks grid of the threshold tables (log-spaced); values outside are clipped.
_L_GRID = np.geomspace(0.05, 400.0, 241)


def cell_size_px(cell_m: float, pixel_size_m: float) -> int:
    """Cell side in whole pixels (at least 1) for a cell of *cell_m* metres.

    Examples
    --------
    >>> cell_size_px(40.0, 10.0), cell_size_px(40.0, 30.0), cell_size_px(40.0, 5.0)
    (4, 1, 8)
    """
    return max(1, int(round(cell_m / pixel_size_m)))


def window_radius_cells(window_m: float, cell_px: int, pixel_size_m: float) -> int:
    """Half-width, in cells, of a square window of side *window_m* (odd cell count >= the side).

    Examples
    --------
    >>> window_radius_cells(500.0, 4, 10.0), window_radius_cells(800.0, 4, 10.0)
    (6, 10)
    """
    cells = window_m / (cell_px * pixel_size_m)
    return max(0, math.ceil((cells - 1.0) / 2.0))


def cell_reduce(a: NDArray[np.generic], c: int, how: Literal["sum", "max"]) -> NDArray[np.generic]:
    """Sum or max of *a* over ``c x c`` cells (ragged last row/column of cells included).

    Parameters
    ----------
    a : ndarray, shape (M, N)
    c : int
        Cell side in pixels.
    how : {"sum", "max"}

    Returns
    -------
    ndarray, shape (ceil(M / c), ceil(N / c))
        Sums are float64 (bool input counts); maxima keep the dtype.

    Examples
    --------
    >>> cell_reduce(np.arange(9.0).reshape(3, 3), 2, "sum")
    array([[ 8.,  7.],
           [13.,  8.]])
    """
    m, n = a.shape
    mh, nh = -(-m // c), -(-n // c)
    if c == 1:
        same: NDArray[np.generic] = a.astype(np.float64) if how == "sum" else a.copy()
        return same
    if m % c or n % c:
        if how == "sum":
            pad: float | bool = 0
        else:
            pad = False if a.dtype == np.bool_ else -np.inf
        a = np.pad(a, ((0, mh * c - m), (0, nh * c - n)), constant_values=pad)
    out: NDArray[np.generic]
    if how == "sum":
        rows = a.reshape(mh, c, nh * c).sum(axis=1, dtype=np.float64)
        out = rows.reshape(mh, nh, c).sum(axis=2)
    else:
        rows = a.reshape(mh, c, nh * c).max(axis=1)
        out = rows.reshape(mh, nh, c).max(axis=2)
    return out


def box_sum(a: F64, r: int) -> F64:
    """Sum of *a* over the ``(2r+1) x (2r+1)`` window centred on each element (clipped at edges).

    Uses an integral image: the cost does not depend on *r*.

    Examples
    --------
    >>> box_sum(np.ones((3, 3)), 1)
    array([[4., 6., 4.],
           [6., 9., 6.],
           [4., 6., 4.]])
    """
    m, n = a.shape
    integral = np.zeros((m + 1, n + 1))
    np.cumsum(a, axis=0, out=integral[1:, 1:])
    np.cumsum(integral[1:, 1:], axis=1, out=integral[1:, 1:])
    i = np.arange(m)
    j = np.arange(n)
    r0, r1 = np.clip(i - r, 0, m), np.clip(i + r + 1, 0, m)
    c0, c1 = np.clip(j - r, 0, n), np.clip(j + r + 1, 0, n)
    top, bottom = integral[r0], integral[r1]
    out: F64 = bottom[:, c1] - bottom[:, c0] - top[:, c1] + top[:, c0]
    return out


@dataclass(frozen=True)
class CellStats:
    """Per-cell sums over valid pixels: count, sum, sum of squares; and the domain maximum."""

    count: F64
    total: F64
    total_sq: F64
    peak: NDArray[np.floating]


def cell_stats(x: F32, valid: Bool | None, domain: Bool | None, c: int) -> CellStats:
    """One pass over the pixels: the per-cell sums the background model needs.

    Parameters
    ----------
    x : ndarray of float32, shape (M, N)
        Linear intensity, >= 0 where valid.
    valid : ndarray of bool or None
        Pixels that may enter the background (observed water). None: all.
    domain : ndarray of bool or None
        Pixels that may be detected. None: same as *valid*.
    c : int
        Cell side in pixels.
    """
    if valid is None:
        xv = x
        count = np.full((-(-x.shape[0] // c), -(-x.shape[1] // c)), float(c * c))
        if x.shape[0] % c or x.shape[1] % c:
            count = cell_reduce(np.ones(x.shape, dtype=np.bool_), c, "sum").astype(np.float64)
    else:
        xv = np.where(valid, x, np.float32(0.0))
        count = cell_reduce(valid, c, "sum").astype(np.float64)
    total = cell_reduce(xv, c, "sum").astype(np.float64)
    total_sq = cell_reduce(np.square(xv), c, "sum").astype(np.float64)
    if domain is None:
        peak_src = xv
    else:
        peak_src = np.where(domain, x, np.float32(0.0))
    peak = cell_reduce(peak_src, c, "max").astype(np.float64)
    return CellStats(count, total, total_sq, peak)


@dataclass(frozen=True)
class RingFit:
    """Clutter model fit per cell: ring mean and effective looks (method of moments)."""

    mean: F64
    looks: F64
    count: F64


def fit_ring(
    stats: CellStats,
    *,
    r_guard: int,
    r_background: int,
    exclude: Bool | None,
    min_count: float,
    min_looks: float,
    max_looks: float,
) -> RingFit:
    """Mean and effective looks of the background ring around every cell.

    The ring is the background window minus the guard window; cells in *exclude* (bright
    targets found in a first pass) are left out. Where the ring holds fewer than *min_count*
    valid pixels, the whole background window (guard area included, excluded cells still out)
    is used; where even that is empty the mean is NaN (no test there).
    """
    n, s1, s2 = stats.count, stats.total, stats.total_sq
    if exclude is not None and exclude.any():
        keep = ~exclude
        n, s1, s2 = n * keep, s1 * keep, s2 * keep
    nb, s1b, s2b = (box_sum(a, r_background) for a in (n, s1, s2))
    ng, s1g, s2g = (box_sum(a, r_guard) for a in (n, s1, s2))
    nr, s1r, s2r = nb - ng, s1b - s1g, s2b - s2g
    small = nr < min_count
    nr = np.where(small, nb, nr)
    s1r = np.where(small, s1b, s1r)
    s2r = np.where(small, s2b, s2r)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1r / nr
        var = s2r / nr - mean * mean
        looks = np.where(var > 0, mean * mean / var, max_looks)
    mean = np.where((nr > 0) & (mean > 0), mean, np.nan)
    looks = np.clip(np.nan_to_num(looks, nan=max_looks), min_looks, max_looks)
    return RingFit(mean, looks, nr)


@functools.lru_cache(maxsize=32)
def _factor_table(pfa_exponent: float, model: str, sensor_looks: float) -> F64:
    pfa = 10.0**-pfa_exponent
    gamma_f = special.gammainccinv(_L_GRID, pfa) / _L_GRID
    if model == "gamma":
        out: F64 = gamma_f
        return out
    k_f = np.array(
        [
            _k_factor(le, sensor_looks, pfa) if le < sensor_looks else g
            for le, g in zip(_L_GRID, gamma_f, strict=True)
        ]
    )
    return k_f


def _k_factor(looks_eff: float, looks: float, pfa: float) -> float:
    """Threshold / mean of a K-distributed intensity with the given effective and speckle looks."""
    # 1 + 1/Leff = (1 + 1/L)(1 + 1/nu): texture shape nu from the excess normalised variance.
    inv_nu = (1.0 + 1.0 / looks_eff) / (1.0 + 1.0 / looks) - 1.0
    nu = 1.0 / max(inv_nu, 1e-6)

    def log_sf(t: float) -> float:
        # P(I > t) = E_tau[ Q(L, L t / tau) ], tau ~ Gamma(nu, 1/nu), integrated over log tau.
        def integrand(u: float) -> float:
            tau = math.exp(u)
            log_pdf = nu * math.log(nu) + nu * u - nu * tau - special.gammaln(nu)
            return float(special.gammaincc(looks, looks * t / tau) * math.exp(log_pdf))

        lo = math.log(max(special.gammaincinv(nu, 1e-15) / nu, 1e-300))
        hi = math.log(special.gammainccinv(nu, 1e-30) / nu)
        pts = [u for u in (0.0, math.log(t)) if lo < u < hi]
        val, _ = integrate.quad(integrand, lo, hi, limit=200, points=pts)
        return math.log(max(val, 1e-300))

    target = math.log(pfa)
    lo, hi = 1.0, 1e6
    root: float = optimize.brentq(
        lambda lt: log_sf(math.exp(lt)) - target, math.log(lo), math.log(hi), xtol=1e-6
    )
    return math.exp(root)


def threshold_factor(
    looks: F64, *, pfa_exponent: float, model: str = "gamma", sensor_looks: float = 4.4
) -> F64:
    """Threshold as a multiple of the clutter mean, for per-cell effective *looks*.

    Gamma: ``gammainccinv(L, pfa) / L``. K: the K-distribution with *sensor_looks* speckle looks
    and the texture that makes its variance match *looks* (gamma where *looks* >= speckle looks).

    Examples
    --------
    >>> float(threshold_factor(np.array([1.0]), pfa_exponent=6.5)[0])  # exponential: ln(1/pfa)
    14.96...
    """
    table = _factor_table(float(pfa_exponent), model, float(sensor_looks))
    lg = np.log(np.clip(looks, _L_GRID[0], _L_GRID[-1]))
    out: F64 = np.exp(np.interp(lg, np.log(_L_GRID), np.log(table)))
    return out


def gamma_log10_sf(x: F64, mean: F64, looks: F64) -> F64:
    """``log10 P(I > x)`` for gamma intensity of given mean and looks (stable far in the tail).

    Examples
    --------
    >>> float(gamma_log10_sf(np.array([10.0]), np.array([1.0]), np.array([1.0]))[0])
    -4.342...
    """
    y = looks * x / mean
    with np.errstate(divide="ignore"):
        direct = np.log10(special.gammaincc(looks, y))
    # Asymptotic tail: Q(a, y) ~ y^(a-1) e^-y / Gamma(a) for y >> a.
    tail = ((looks - 1.0) * np.log(np.maximum(y, 1e-300)) - y - special.gammaln(looks)) / math.log(
        10.0
    )
    out: F64 = np.where(np.isfinite(direct) & (direct > -250.0), direct, tail)
    return out
