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
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from scipy import integrate, optimize, special

__all__ = [
    "BackgroundModel",
    "CellStats",
    "coarsen",
    "refine",
    "RingFit",
    "above",
    "block_sum",
    "box_sum",
    "cell_reduce",
    "cell_size_px",
    "cell_stats",
    "fit_ring",
    "gamma_log10_sf",
    "threshold_factor",
    "threshold_factors",
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


def cell_reduce(a: NDArray[Any], c: int, how: Literal["sum", "sumsq", "max"]) -> NDArray[Any]:
    """Sum, sum of squares or max of *a* over ``c x c`` cells (ragged edge cells included).

    Rows of a cell are reduced first (contiguous memory), then the ``c`` strided columns are
    accumulated: about one pass over the pixels, with no full-size temporary.

    Parameters
    ----------
    a : ndarray, shape (M, N)
    c : int
        Cell side in pixels.
    how : {"sum", "sumsq", "max"}

    Returns
    -------
    ndarray, shape (ceil(M / c), ceil(N / c))
        Sums are float64; maxima keep the dtype.

    Examples
    --------
    >>> cell_reduce(np.arange(9.0).reshape(3, 3), 2, "sum")
    array([[ 8.,  7.],
           [13.,  8.]])
    """
    m, n = a.shape
    mh, nh = -(-m // c), -(-n // c)
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    if m % c or n % c:
        pad: float = -np.inf if (how == "max" and a.dtype.kind == "f") else 0
        a = np.pad(a, ((0, mh * c - m), (0, nh * c - n)), constant_values=pad)
    a3 = a.reshape(mh, c, nh * c)
    op: Any
    if how == "max":
        rows = a3.max(axis=1)
        op = np.maximum
    elif how == "sumsq":
        af = a3 if a3.dtype.kind == "f" else a3.astype(np.float32)
        rows = np.einsum("ijk,ijk->ik", af, af)
        op = np.add
    else:
        # float32 row sums of c float32/uint8 values are exact enough and twice as fast.
        small = a3.dtype.itemsize <= 4 and a3.dtype.kind in "fub"
        rows = a3.sum(axis=1, dtype=np.float32 if small else np.float64)
        op = np.add
    out = np.array(rows[:, 0::c], dtype=np.float64 if how != "max" else rows.dtype)
    for j in range(1, c):
        op(out, rows[:, j::c], out=out)
    return out


def coarsen(
    stats: CellStats, k: int, exclude: Bool | None = None, *, base: CellStats | None = None
) -> CellStats:
    """Sums over ``k x k`` blocks of cells (cells in *exclude* left out); peak is not kept.

    *base*, ``coarsen(stats, k)`` when already computed, lets only the blocks that hold an
    excluded cell be summed again (the same sums, in the same order) when they are few.
    """
    if exclude is not None and base is not None and k > 1:
        cells = np.nonzero(exclude)
        blocks = np.unique((cells[0] // k) * base.count.shape[1] + cells[1] // k)
        if blocks.size * 32 < base.count.size:
            bi, bj = np.divmod(blocks, base.count.shape[1])
            keep = ~exclude
            sums = []
            for a, b in ((stats.count, base.count), (stats.total, base.total)):
                sums.append(_resum_blocks(a, keep, k, bi, bj, b))
            sums.append(_resum_blocks(stats.total_sq, keep, k, bi, bj, base.total_sq))
            return CellStats(sums[0], sums[1], sums[2], sums[0])
    n, s1, s2 = stats.count, stats.total, stats.total_sq
    if exclude is not None:
        keep = ~exclude
        n, s1, s2 = n * keep, s1 * keep, s2 * keep
    if k == 1:
        return CellStats(n, s1, s2, stats.peak)
    sums = [block_sum(np.asarray(a, dtype=np.float64), k) for a in (n, s1, s2)]
    return CellStats(sums[0], sums[1], sums[2], sums[0])


def block_sum(a: F64, k: int) -> F64:
    """Sums of *a* over ``k x k`` blocks (ragged edge blocks included), in float64.

    The same sums, in the same order, as ``cell_reduce(a, k, "sum")`` on float64 input (rows
    of a block first, then its columns), with strided adds of the small grid instead of a
    reduction over a short axis.

    Examples
    --------
    >>> block_sum(np.arange(9.0).reshape(3, 3), 2)
    array([[ 8.,  7.],
           [13.,  8.]])
    """
    m, n = a.shape
    mk, nk = -(-m // k), -(-n // k)
    if m % k or n % k:
        a = np.pad(a, ((0, mk * k - m), (0, nk * k - n)))
    rows = a[0::k] + a[1::k] if k > 1 else np.array(a, dtype=np.float64)
    for i in range(2, k):
        rows += a[i::k]
    out: F64 = rows[:, 0::k] + rows[:, 1::k] if k > 1 else rows
    for j in range(2, k):
        out += rows[:, j::k]
    return out


def _resum_blocks(
    a: F64,
    keep: Bool,
    k: int,
    bi: NDArray[np.intp],
    bj: NDArray[np.intp],
    base: F64,
) -> F64:
    """*base* with blocks ``(bi, bj)`` summed again over the kept cells of *a* (as block_sum)."""
    m, n = a.shape

    def kept(i: int, j: int) -> F64:
        rr, cc = bi * k + i, bj * k + j
        inside = (rr < m) & (cc < n)
        r_in, c_in = np.minimum(rr, m - 1), np.minimum(cc, n - 1)
        v: F64 = np.where(inside & keep[r_in, c_in], a[r_in, c_in], 0.0)
        return v

    parts = []  # parts[j]: the column j of every block, its rows summed in block_sum's order
    for j in range(k):
        rows = kept(0, j)
        for i in range(1, k):
            rows = rows + kept(i, j)
        parts.append(rows)
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    out = base.copy()
    out[bi, bj] = total
    return out


def above(cells: NDArray[np.floating], coarse: F64, k: int) -> Bool:
    """``cells > refine(coarse, k, cells.shape)`` without building the refined array.

    Examples
    --------
    >>> above(np.arange(9.0).reshape(3, 3), np.array([[3.0, 1.0], [5.0, 9.0]]), 2)
    array([[False, False,  True],
           [False,  True,  True],
           [ True,  True, False]])
    """
    out: Bool = np.empty(cells.shape, dtype=bool)
    # One strided comparison per position in the k x k block (a 4-d broadcast is slower).
    for i in range(k):
        for j in range(k):
            sub = cells[i::k, j::k]
            np.greater(sub, coarse[: sub.shape[0], : sub.shape[1]], out=out[i::k, j::k])
    return out


def refine(coarse: F64, k: int, shape: tuple[int, int]) -> F64:
    """Repeat each coarse cell ``k x k`` times and crop to *shape* (nearest upsampling)."""
    if k == 1:
        return coarse
    out: F64 = np.repeat(np.repeat(coarse, k, axis=0), k, axis=1)[: shape[0], : shape[1]]
    return out


class _Integral:
    """Integral image of a cell grid, padded so that windows clipped at the edges are slices."""

    def __init__(self, a: F64, pad: int) -> None:
        m, n = a.shape
        # The integral image is written straight into its edge-padded array (np.pad's
        # "edge" mode, without its copy).
        padded = np.empty((m + 1 + 2 * pad, n + 1 + 2 * pad))
        integral = padded[pad : pad + m + 1, pad : pad + n + 1]
        integral[0] = 0.0
        integral[:, 0] = 0.0
        np.cumsum(a, axis=0, out=integral[1:, 1:])
        np.cumsum(integral[1:, 1:], axis=1, out=integral[1:, 1:])
        padded[:pad] = padded[pad]
        padded[pad + m + 1 :] = padded[pad + m]
        padded[:, :pad] = padded[:, pad : pad + 1]
        padded[:, pad + n + 1 :] = padded[:, pad + n : pad + n + 1]
        self.padded = padded
        self.pad = pad
        self.shape = (m, n)

    def box(self, r: int) -> F64:
        """Sums over the ``(2r+1)``-cell square window around every cell (clipped)."""
        m, n = self.shape
        p = self.pad
        lo_r, hi_r = p - r, p + r + 1
        ip = self.padded
        out: F64 = (
            ip[hi_r : hi_r + m, hi_r : hi_r + n]
            - ip[lo_r : lo_r + m, hi_r : hi_r + n]
            - ip[hi_r : hi_r + m, lo_r : lo_r + n]
            + ip[lo_r : lo_r + m, lo_r : lo_r + n]
        )
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
    return _Integral(np.asarray(a, dtype=np.float64), r).box(r)


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
        shape = (-(-x.shape[0] // c), -(-x.shape[1] // c))
        if x.shape[0] % c or x.shape[1] % c:
            count = cell_reduce(np.ones(x.shape, dtype=np.bool_), c, "sum")
        else:
            count = np.full(shape, float(c * c))
    else:
        xv = np.where(valid, x, np.float32(0.0))
        count = cell_reduce(valid, c, "sum")
    if domain is None or domain is valid:
        peak_src = xv
    else:
        peak_src = np.where(domain, x, np.float32(0.0))
    if xv.dtype != np.float32 or peak_src.dtype != np.float32:
        total = cell_reduce(xv, c, "sum")
        total_sq = cell_reduce(xv, c, "sumsq")
        return CellStats(count, total, total_sq, cell_reduce(peak_src, c, "max").astype(np.float64))
    total, total_sq, peak = _cell_sums(xv, peak_src, c)
    return CellStats(count, total, total_sq, peak)


# Pixels per step of _cell_sums: 4 rows of cells of 4 rows of a 5,000-pixel line are 320 kB,
# so the second and third reductions, and the column step, work in the core's cache and no
# full-size intermediate is ever allocated (measured: 160 kB to 1.3 MB are alike).
_BAND_PX = 80_000


def _cell_sums(xv: F32, peak_src: F32, c: int) -> tuple[F64, F64, F64]:
    """``cell_reduce`` sum, sum of squares and max, with the same values, in one sweep.

    Each band of cell rows is reduced three times over its pixel rows while it is in cache,
    then over the columns of those (c times smaller) row sums.
    """
    m, n = xv.shape
    mh, nh = -(-m // c), -(-n // c)
    if m % c or n % c:
        widths = ((0, mh * c - m), (0, nh * c - n))
        xv = np.pad(xv, widths)
        peak_src = np.pad(peak_src, widths, constant_values=-np.inf)
    x3, p3 = xv.reshape(mh, c, nh * c), peak_src.reshape(mh, c, nh * c)
    total, total_sq, peak = np.empty((mh, nh)), np.empty((mh, nh)), np.empty((mh, nh))
    band = max(1, _BAND_PX // (c * nh * c))
    buf = np.empty((band, nh * c), dtype=np.float32)
    for i in range(0, mh, band):
        rows = slice(i, min(i + band, mh))
        b = buf[: rows.stop - i]
        np.add.reduce(x3[rows], axis=1, out=b)
        _column_sum(b, c, total[rows])
        np.einsum("ijk,ijk->ik", x3[rows], x3[rows], out=b)
        _column_sum(b, c, total_sq[rows])
        np.maximum.reduce(p3[rows], axis=1, out=b)
        _column_max(b, c, peak[rows])
    return total, total_sq, peak


def _column_sum(rows: F32, c: int, out: F64) -> None:
    np.copyto(out, rows[:, 0::c])
    for j in range(1, c):
        np.add(out, rows[:, j::c], out=out)


def _column_max(rows: F32, c: int, out: F64) -> None:
    # The maximum does not depend on the order: halve the width while it is even.
    while c % 2 == 0:
        rows = np.maximum(rows[:, 0::2], rows[:, 1::2])
        c //= 2
    np.copyto(out, rows[:, 0::c])
    for j in range(1, c):
        np.maximum(out, rows[:, j::c], out=out)


@dataclass(frozen=True)
class RingFit:
    """Clutter model fit per cell: ring mean and effective looks (method of moments)."""

    mean: F64
    looks: F64
    count: F64


def _moments(n: F64, s1: F64, s2: F64, min_looks: float, max_looks: float) -> RingFit:
    """Mean and method-of-moments looks from count, sum and sum of squares (NaN mean if empty)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / n  # NaN where n == 0
        var = s2 / n
        var -= mean * mean
        looks = mean * mean
        looks /= var
    looks[~(var > 0)] = max_looks
    np.clip(looks, min_looks, max_looks, out=looks)
    mean[~(mean > 0)] = np.nan
    return RingFit(mean, looks, n)


class BackgroundModel:
    """Integral images of the cell sums, for window and ring statistics around every cell."""

    def __init__(self, stats: CellStats, pad: int, exclude: Bool | None = None) -> None:
        n, s1, s2 = stats.count, stats.total, stats.total_sq
        if exclude is not None:
            keep = ~exclude
            n, s1, s2 = n * keep, s1 * keep, s2 * keep
        self._integrals = [_Integral(a, pad) for a in (n, s1, s2)]

    def window(self, r: int, *, min_looks: float, max_looks: float) -> RingFit:
        """Statistics over the whole ``(2r+1)``-cell window (the cell itself included)."""
        n, s1, s2 = (i.box(r) for i in self._integrals)
        return _moments(n, s1, s2, min_looks, max_looks)

    def ring(
        self,
        r_guard: int,
        r_background: int,
        *,
        min_count: float,
        min_looks: float,
        max_looks: float,
    ) -> RingFit:
        """Statistics over the background window minus the guard window.

        Where the ring holds fewer than *min_count* valid pixels (image edge, small chip) the
        whole background window is used; where even that is empty the mean is NaN.
        """
        nb, s1b, s2b = (i.box(r_background) for i in self._integrals)
        ng, s1g, s2g = (i.box(r_guard) for i in self._integrals)
        nr, s1r, s2r = nb - ng, s1b - s1g, s2b - s2g
        small = nr < min_count
        if small.any():
            nr[small], s1r[small], s2r[small] = nb[small], s1b[small], s2b[small]
        return _moments(nr, s1r, s2r, min_looks, max_looks)


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
    model = BackgroundModel(stats, r_background, exclude)
    return model.ring(
        r_guard, r_background, min_count=min_count, min_looks=min_looks, max_looks=max_looks
    )


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
    return threshold_factors(
        looks, pfa_exponents=(pfa_exponent,), model=model, sensor_looks=sensor_looks
    )[0]


def threshold_factors(
    looks: F64,
    *,
    pfa_exponents: tuple[float, ...],
    model: str = "gamma",
    sensor_looks: float = 4.4,
) -> list[F64]:
    """:func:`threshold_factor` for several PFAs at once (the table lookup is shared).

    The tables are interpolated linearly in log-log, exactly as ``np.interp`` would, but the
    grid is log-uniform, so the interval of each value is computed instead of searched
    (a binary search per cell was most of the cost on a whole scene).
    """
    tables = [np.log(_factor_table(float(e), model, float(sensor_looks))) for e in pfa_exponents]
    lg = np.log(np.clip(looks, _L_GRID[0], _L_GRID[-1]))
    j, d, last = _grid_interval(lg)
    out = []
    for fp in tables:
        slopes = (fp[1:] - fp[:-1]) / (_LOG_L[1:] - _LOG_L[:-1])
        v = np.take(slopes, j)
        v *= d
        v += np.take(fp, j)
        if last.any():
            v[last] = fp[-1]
        np.exp(v, out=v)
        out.append(v)
    return out


_LOG_L = np.log(_L_GRID)
_LOG_STEP = (_LOG_L[-1] - _LOG_L[0]) / (_LOG_L.size - 1)


def _grid_interval(lg: F64) -> tuple[NDArray[np.intp], F64, Bool]:
    """Interval ``j`` of the log-looks grid holding each value, ``lg - grid[j]``, and the
    values at the grid's last point (``np.interp``'s cases, for values inside the grid)."""
    top = _LOG_L.size - 2
    with np.errstate(invalid="ignore"):  # NaN looks give a NaN factor, as np.interp does
        j = ((lg - _LOG_L[0]) * (1.0 / _LOG_STEP)).astype(np.intp)
    np.clip(j, 0, top, out=j)
    # The computed interval may be one off where rounding puts a value on a grid point.
    j -= np.take(_LOG_L, j) > lg
    j += np.take(_LOG_L, j + 1) <= lg
    np.clip(j, 0, top, out=j)
    d: F64 = lg - np.take(_LOG_L, j)
    last: Bool = lg >= _LOG_L[-1]
    return j, d, last


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
