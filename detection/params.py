"""Detector thresholds: frozen dataclasses, every field with a unit and a documented default.

Defaults are set from the physics of the sensors and the sizes of ships, never fit to one scene.
Where a default departs from ESA SNAP's published ship-detection defaults (target 50 m, guard
500 m, background 800 m, PFA 10^-6.5, objects 50-600 m), the field says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from detection.errors import DetectionParamsError

__all__ = [
    "DEFAULT_OPTICAL",
    "DEFAULT_SAR",
    "DEFAULT_SNAP",
    "OpticalParams",
    "SarParams",
    "SnapCfarParams",
]

ClutterModel = Literal["gamma", "k"]


def _check_positive(obj: object, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise DetectionParamsError(
                f"{type(obj).__name__}.{name} must be a finite number > 0. Got {value!r}."
            )


@dataclass(frozen=True)
class SarParams:
    """Thresholds of the Sentinel-1 vessel detector (:func:`detection.detect_sar_vessels`).

    Attributes
    ----------
    pfa_exponent : float, default 8.0
        Per-pixel probability of false alarm of a seed pixel is ``10**-pfa_exponent`` under the
        local clutter model. SNAP's 6.5 is meant for the mean of a 50 m target window; tested
        pixel by pixel on a full 10 m scene (~4e8 pixels) it would let ~130 false seeds through,
        10^-8 lets ~4. On the development chips 8.0 loses no labelled ship against 6.5 and
        removes a third of the false objects (bench/README.md).
    grow_pfa_exponent : float, default 3.0
        Hysteresis: a vessel is every pixel connected to a seed whose own PFA is below
        ``10**-grow_pfa_exponent``. Recovers the dim ends of a hull so that lengths are not
        cut to the brightest scatterer.
    guard_m : float, default 500.0
        Full side of the guard window around the pixel under test (SNAP: 500 m). Larger than the
        longest ship (~400 m), so a hull never sits in its own background.
    background_m : float, default 800.0
        Full side of the background window; the ring between guard and background windows gives
        the clutter statistics (SNAP: 800 m).
    cell_m : float, default 40.0
        Background statistics are computed on cells of this side (rounded to whole pixels) and
        are constant within a cell: sea clutter statistics change over kilometres, not tens of
        metres, and this makes the cost O(N) with a small constant. Windows are rounded to an
        odd number of cells.
    background_cell_m : float, default 80.0
        The ring statistics (mean, looks) are computed on cells of this side (a whole number
        of cells), after bright targets are left out at ``cell_m``: a quarter of the work on
        the cell grid, and the 160 m ring of SNAP's windows still spans two background cells.
    min_background_px : int, default 200
        Fewest valid background pixels for a ring estimate; below it (image edge, small chip,
        narrow channel) the whole background window outside bright cells is used instead.
    min_clean_background_px : int, default 48
        After bright cells are left out of the background, the clean estimate is used when it
        still rests on this many pixels (a ship filling a small chip); else the first-pass
        estimate, inflated by the ship and hence conservative, stands.
    clutter_model : {"gamma", "k"}, default "k"
        Gamma: intensity with an *effective* number of looks fit per cell from the ring's mean
        and variance (method of moments), which absorbs sea texture into a heavier tail than the
        sensor's looks alone. "k": K-distribution with ``sensor_looks`` speckle looks and a
        texture shape fit from the ring's excess variance.
    sensor_looks : float, default 4.4
        Equivalent number of looks of the speckle (Sentinel-1 IW GRDH: 4.4). Used only by the
        K model, and as a floor-free reference in the docs.
    min_looks, max_looks : float, default 0.3 and 100.0
        Clip of the fitted effective looks (a ring with almost no variance is not evidence of an
        infinitely clean sea; a ring with huge variance is usually land or a second ship).
    merge_gap_m : float, default 30.0
        Parts of an object separated by a gap narrower than this are one object: a hull is a
        string of bright scatterers (bridge, cranes, hatch covers) with darker deck between.
    hull_rel_db, hull_snr_db : float, default 13.0 and 10.0
        Length, width, heading and centre are measured on the object's pixels within
        ``hull_rel_db`` of its peak and ``hull_snr_db`` above the clutter mean: below that level
        the object is the skirt of the point spread function (first sidelobe of an unweighted
        SAR response: -13 dB). On OpenSARShip chips against AIS this halves the length bias of
        the full hysteresis region (see bench/README.md).
    min_area_px : int, default 2
        Objects smaller than this many pixels are speckle, unless their peak PFA is below
        ``10**-single_pixel_pfa_exponent``.
    single_pixel_pfa_exponent : float, default 9.0
        A single pixel is kept only when this bright (a small boat at 10 m is one or two pixels).
    min_length_m : float, default 0.0
        Shortest kept object, measured along its axis after blur correction.
    max_length_m : float, default 520.0
        Longest kept object: the largest ships are ~400 m; 520 m leaves room for the sensor
        blur and the hull's wake. Breakwaters, piers and coast are longer (SNAP: 600 m).
    max_width_m : float, default 300.0
        Widest kept object (largest beams ~60 m; the width is measured on the -13 dB core, which
        the blur and the 8-bit saturation of a bright hull widen, and moored pairs are wider).
    sidelobe_db : float, default 16.0
        Pixels fainter than the object's peak by more than this (dB) and lying on the range or
        azimuth arm through the peak are sidelobes of the point spread function, not hull; a
        separate fainter object on an arm of a brighter one within ``sidelobe_reach_m`` is
        dropped. Sentinel-1's Hamming-weighted peak sidelobe ratio is about -21 dB; 16 dB keeps a
        margin for the 8-bit and dB-rounded products.
    sidelobe_reach_m : float, default 1500.0
        How far along an arm a bright target's sidelobes are suppressed.
    sidelobe_arm_width_px : float, default 1.5
        Half width of an arm, in pixels (sidelobes follow the image lines in radar geometry; a
        projected product is handled by measuring the arm angle on the brightest targets).
    arm_measure_db : float, default 20.0
        Objects whose peak stands more than ``arm_measure_db + sidelobe_db`` above the clutter
        have their arm angle measured and their faint arm pixels trimmed (fainter objects have
        no visible sidelobes).
    arm_visible_db : float, default 3.0
        The cross is taken as seen when its weakest arm averages this much above the clutter
        (dB); otherwise the object has no arm angle and the scene's median angle (or 0, radar
        geometry) is used.
    arm_tolerance_deg : float, default 1.0
        Uncertainty of a measured arm angle: the arm's half width grows by this angle with
        distance, for sidelobes and ghosts.
    ghost_db : float, default 20.0
        Azimuth ambiguities ("ghosts") are at least this much fainter than their ship.
    ghost_offset_m : tuple of float, default (3000.0, 7000.0)
        Range of along-azimuth distances at which a Sentinel-1 IW ghost appears
        (lambda * R * PRF / (2 V) ~ 4-6 km).
    reference_looks : float, default 1.0
        With a reference, a pixel must also exceed the reference's local level by the gamma
        threshold of this many looks (1: the exponential tail, the heaviest of developed
        speckle, because the texture of a quay or a crane in one scene is unknown).
    reference_reach_m : float, default 60.0
        With a reference and a water mask, the search reaches this far into the mask's land (a
        ship's beam): port masks are approximate and a moored hull may overlap them.
    shore_margin_m : float, default 20.0
        Without a reference, the water mask loses this margin along the land (at least one
        pixel): the bright edge of a quay or pier that an approximate mask leaves in the water
        would otherwise merge with a moored ship into one long object.
    clipped_zero_background : bool, default True
        In an integer image (8-bit display chip, GRD digital numbers) a pixel of exactly 0 is a
        clipped or fill value: it says the sea is below the display floor, not its level. Such
        pixels stay searchable but are left out of the CFAR clutter statistics (not of the land
        estimate, where they are dark sea). On SAR-Ship-Dataset chips whose stretch clips 70-84 %
        of the sea to 0, counting them drove the fitted clutter mean towards 0 and every speckle
        spike of the visible tail became a target (false objects 67 -> 35, no ship lost;
        bench/README.md). Float images are unaffected (their zeros are nodata fill).
    land_mask : bool, default True
        Without a water mask, estimate land (large, bright, textured areas) and do not search it.
    land_window_m : float, default 400.0
        Side of the window in which the land test looks at cell means.
    land_contrast_db : float, default 9.0
        A window whose median cell is brighter than the local sea level by this much is land.
    sea_window_m : float, default 4000.0
        Side of the window over which the local sea level (darkest smooth cells) is found.
    min_land_area_m2 : float, default 250000.0
        Smaller bright areas are not taken as land (a large ship is < 30000 m^2).
    land_dark_cell_m : float, default 20.0
        Side of the sub-cells of the sea-dark test of the land estimate (a few pixels averaged,
        so speckle and the dark gaps of a town are not sea-dark).
    land_dark_db : float, default 3.0
        A sub-cell is sea-dark when its mean is below the local sea level + this (dB).
    land_max_dark_share : float, default 0.3
        A cell whose 3 x 3-cell neighbourhood has a larger share of sea-dark sub-cells is not
        land, however bright its mean (water crowded with hulls). 1.0: the test is off.
    """

    pfa_exponent: float = 8.0
    grow_pfa_exponent: float = 3.0
    guard_m: float = 500.0
    background_m: float = 800.0
    cell_m: float = 40.0
    background_cell_m: float = 80.0
    min_background_px: int = 200
    min_clean_background_px: int = 48
    clutter_model: ClutterModel = "k"
    sensor_looks: float = 4.4
    min_looks: float = 0.3
    max_looks: float = 100.0
    merge_gap_m: float = 30.0
    clipped_zero_background: bool = True
    hull_rel_db: float = 13.0
    hull_snr_db: float = 10.0
    min_area_px: int = 2
    single_pixel_pfa_exponent: float = 9.0
    min_length_m: float = 0.0
    max_length_m: float = 520.0
    max_width_m: float = 300.0
    sidelobe_db: float = 16.0
    sidelobe_reach_m: float = 1500.0
    sidelobe_arm_width_px: float = 1.5
    arm_measure_db: float = 20.0
    arm_visible_db: float = 3.0
    arm_tolerance_deg: float = 1.0
    ghost_db: float = 20.0
    ghost_offset_m: tuple[float, float] = (3000.0, 7000.0)
    reference_looks: float = 1.0
    reference_reach_m: float = 60.0
    shore_margin_m: float = 20.0
    land_mask: bool = True
    land_window_m: float = 400.0
    land_contrast_db: float = 9.0
    sea_window_m: float = 4000.0
    min_land_area_m2: float = 250000.0
    land_dark_cell_m: float = 20.0
    land_dark_db: float = 3.0
    land_max_dark_share: float = 0.3

    def __post_init__(self) -> None:
        _check_positive(
            self,
            "pfa_exponent",
            "grow_pfa_exponent",
            "guard_m",
            "background_m",
            "cell_m",
            "sensor_looks",
            "min_looks",
            "max_looks",
            "max_length_m",
            "max_width_m",
            "sidelobe_reach_m",
            "land_dark_cell_m",
        )
        if self.grow_pfa_exponent > self.pfa_exponent:
            raise DetectionParamsError(
                "SarParams.grow_pfa_exponent must be <= pfa_exponent (growing is laxer than "
                f"seeding). Got {self.grow_pfa_exponent} > {self.pfa_exponent}."
            )
        if self.background_m <= self.guard_m:
            raise DetectionParamsError(
                f"SarParams.background_m must exceed guard_m. Got {self.background_m} <= "
                f"{self.guard_m}."
            )
        if self.clutter_model not in ("gamma", "k"):
            raise DetectionParamsError(
                f"SarParams.clutter_model must be one of 'gamma', 'k'. Got {self.clutter_model!r}."
            )


@dataclass(frozen=True)
class SnapCfarParams:
    """ESA SNAP's two-parameter CFAR and object discrimination, with SNAP's published defaults.

    The reference the project's detector is compared against (``AdaptiveThresholding`` +
    ``Object-Discrimination`` operators of the SNAP Sentinel-1 toolbox).

    Attributes
    ----------
    target_m, guard_m, background_m : float, default 50, 500, 800
        Window sides in metres; SNAP turns each into ``int(size / pixel) + 1`` pixels.
    pfa_exponent : float, default 6.5
        ``t = Phi^-1(1 - 10**-pfa_exponent)``: a pixel is a target when the target window mean
        exceeds ``mean + t * std`` of the background ring (Gaussian model).
    min_size_m, max_size_m : float, default 50, 600
        Keep clusters whose bounding-box diagonal lies in this range.
    """

    target_m: float = 50.0
    guard_m: float = 500.0
    background_m: float = 800.0
    pfa_exponent: float = 6.5
    min_size_m: float = 50.0
    max_size_m: float = 600.0

    def __post_init__(self) -> None:
        _check_positive(self, "target_m", "guard_m", "background_m", "pfa_exponent", "max_size_m")


@dataclass(frozen=True)
class OpticalParams:
    """Thresholds of the Sentinel-2 vessel detector (:func:`detection.detect_optical_vessels`).

    Reflectances are BOA reflectance as a fraction (0..1); the detector rescales 0..10000
    integers itself.

    Attributes
    ----------
    ndwi_water : float, default 0.0
        A pixel is water when NDWI = (green - nir) / (green + nir) exceeds this (McFeeters 1996:
        water > 0).
    min_water_area_m2 : float, default 2500.0
        Water-like specks smaller than this (and than 4 pixels) are dark roofs or shadows on
        land, not water.
    max_hole_m2 : float, default 60000.0
        Non-water holes in the water smaller than this are objects in the water (vessels), not
        land: the largest ships cover ~400 m x 60 m = 24000 m^2; doubled for moored groups.
    shore_reach_m : float, default 70.0
        Without a reference, objects attached to the shore are searched within this distance of
        open water (a moored hull is at most ~60 m wide); with a reference, how far the search
        domain extends from the reference's water.
    background_m : float, default 600.0
        Side of the window over which the water background (mean and spread of water pixels) is
        measured around each cell.
    cell_m : float, default 40.0
        Cell side of the background statistics (as :attr:`SarParams.cell_m`).
    contrast_sigma : float, default 6.0
        Seed: a pixel departs from the local water by more than this many standard deviations
        (of the water's own spread, floored by ``noise_floor``) in NIR or in the visible.
    grow_sigma : float, default 3.0
        Hysteresis growth level, in the same units.
    noise_floor : float, default 0.004
        Smallest spread assumed for water reflectance (Sentinel-2 SNR at dark water ~0.002-0.005).
    min_contrast : float, default 0.025
        Seed pixels must also exceed the water by this much reflectance (in NIR or the brightest
        visible band): sun glint ripples and plankton are fainter.
    min_area_px : int, default 3
        Objects smaller than this are noise (a 20 m boat covers ~4 pixels of 10 m).
    min_length_m, max_length_m : float, default 15.0, 520.0
        Kept lengths (see :attr:`SarParams.max_length_m`).
    max_width_m : float, default 90.0
        Widest kept object.
    min_elongation : float, default 1.3
        Shore-attached objects must be at least this elongated (length / width): hulls are
        elongated, while the corners of quays and blobs of shallow water are not.
    change_sigma : float, default 5.0
        With a reference: seed where the scene departs from the reference by this many noise
        standard deviations.
    change_fraction : float, default 0.5
        With a reference: seeds must also have brightened by this fraction of the reference
        (bright ground varies by tens of percent between dates; a hull on water by >1000 %).
    min_water_fraction : float, default 0.25
        With a reference: this fraction of an object must lie on the water (of the reference or
        the static mask): a ship floats, a change on the quay is traffic or cargo.
    valid_fraction_min : float, default 0.5
        An object is reported only when at least this fraction of its outline ring is observed
        (not cloud, shadow or nodata): objects cut by clouds are unreliable.
    blur_m : float, default 5.0
        Standard deviation of the Sentinel-2 10 m point spread function (MTF ~0.25 at
        Nyquist), removed from the measured length and width.
    moored_search : bool, default False
        Without a reference, also look for hulls sticking out of the shore (moored bow- or
        stern-to, at pontoons) as narrow strips of the land (flag ``moored_shape``). Off since
        ``quay_search``: the quay search finds these strips too (their runs along the shore are
        short), and on the four development ports this search then added 22 objects and no hit
        (see bench/README.md).
    max_moored_beam_m : float, default 60.0
        Widest beam of a moored hull (largest ships ~60 m): bulges narrower than this are
        candidates.
    min_sea_contact : float, default 0.4
        Fraction of a bulge's pixels that must touch the open water (a hull lies along the
        water; a finger pier meets it only at its sides and tip).
    min_sea_area_m2 : float, default 100000.0
        Water bodies smaller than this (ponds, dark roofs, shadows) are not "open water".
    max_elongation : float, default 10.0
        Objects more elongated than this (length / max(width, ``min_width_m``)) are not hulls:
        seagoing hulls have length / beam of 4-8 (slender warships ~8). Longer thin bright
        lines are breakwaters, quay edges and shorelines mixed with water.
    min_width_m : float, default 20.0
        Widths under this (two pixels of Sentinel-2's 10 m bands) are not resolved: a hull
        moored alongside a quay may show only a one-pixel strip on the water side, so the
        elongation test uses at least this width (a 1-pixel strip fails it only when longer
        than ``max_elongation * min_width_m`` = 200 m).
    comb_radius_m : float, default 100.0
        Without a reference: shore-attached candidates (``moored_shape``) with at least
        ``comb_min_neighbours`` other shore protrusions within this distance are a comb of finger
        piers or pontoons (marinas, small-craft basins), not ships. Ships moored stern-to side by
        side touch each other and merge into one protrusion at 10 m; protrusions resolved at
        under ~50 m spacing are piers with small boats between them.
    comb_min_neighbours : int, default 2
        See ``comb_radius_m``; 0 switches the rule off.
    moored_pair_m : float, default 100.0
        Without a reference: two shore-attached candidates closer than this (centre to centre)
        are reported as one vessel (their pixels measured together): at 10 m the bow and stern
        of a hull moored alongside flare out of the quay line as two small protrusions, and a
        gangway or crane cuts one hull in two. 0 switches the rule off.
    quay_search : bool, default True
        Without a reference, look for hulls moored alongside a straight quay as rectangular
        bulges of the land into the water (flag ``quay_bulge``; ``detection._optical_quay``).
    quay_line_m : float, default 320.0
        A land pixel within a beam of the water lies on the quay when a straight run of land at
        least this long passes through it along the local shoreline; hulls (<= ~300 m) are
        shorter, so a pixel of a hull's bulge meets water at the hull's ends (or in the gap to
        the next hull). Also the shortest quay recognised as a quay.
    quay_scale_m : float, default 80.0
        Smoothing scale (Gaussian sigma) of the shoreline direction (structure tensor of the
        water mask): about half a hull, so the direction follows the quay and not the bulge.
    quay_min_beam_m : float, default 20.0
        Shallower bulges are not kept: a beam narrower than two 10 m pixels is not resolved, and
        1-pixel steps are the mixed pixels of any shoreline.
    quay_max_beam_m : float, default 45.0
        Deepest bulge searched (beam of the largest container ships and tankers ~45-60 m; at
        10 m the outer pixel mixes with water). Land deeper than this that is not on a straight
        run is a pier head or a short mole, not a hull.
    quay_min_length_m : float, default 40.0
        Shortest bulge kept (a ship moored alongside a quay is seldom shorter).
    quay_min_elongation : float, default 2.5
        Bulges must be at least this much longer than deep (hulls L/B 4-8; the measured depth
        includes a mixed pixel).
    quay_min_coherence : float, default 0.3
        Coherence of the shoreline direction (0 ragged or a corner, 1 straight): a quay is
        straight over ``quay_scale_m``; natural coast and pier-head corners are not.
    quay_max_angle_deg : float, default 10.0
        The bulge's long axis must lie within this angle of the shoreline direction (a hull
        alongside is parallel to the quay).
    """

    ndwi_water: float = 0.0
    min_water_area_m2: float = 2500.0
    max_hole_m2: float = 60000.0
    shore_reach_m: float = 70.0
    background_m: float = 600.0
    cell_m: float = 40.0
    contrast_sigma: float = 6.0
    grow_sigma: float = 3.0
    noise_floor: float = 0.004
    min_contrast: float = 0.025
    min_area_px: int = 3
    min_length_m: float = 15.0
    max_length_m: float = 520.0
    max_width_m: float = 90.0
    min_elongation: float = 1.3
    change_sigma: float = 5.0
    change_fraction: float = 0.5
    min_water_fraction: float = 0.25
    valid_fraction_min: float = 0.5
    blur_m: float = 5.0
    moored_search: bool = False
    max_moored_beam_m: float = 60.0
    min_sea_contact: float = 0.4
    min_sea_area_m2: float = 100000.0
    max_elongation: float = 10.0
    min_width_m: float = 20.0
    comb_radius_m: float = 100.0
    comb_min_neighbours: int = 2
    moored_pair_m: float = 100.0
    quay_search: bool = True
    quay_line_m: float = 320.0
    quay_scale_m: float = 80.0
    quay_min_beam_m: float = 20.0
    quay_max_beam_m: float = 45.0
    quay_min_length_m: float = 40.0
    quay_min_elongation: float = 2.5
    quay_min_coherence: float = 0.3
    quay_max_angle_deg: float = 10.0

    def __post_init__(self) -> None:
        _check_positive(
            self,
            "max_hole_m2",
            "shore_reach_m",
            "background_m",
            "cell_m",
            "contrast_sigma",
            "grow_sigma",
            "noise_floor",
            "max_length_m",
            "max_width_m",
            "change_sigma",
            "max_elongation",
            "min_width_m",
            "comb_radius_m",
            "quay_line_m",
            "quay_scale_m",
            "quay_max_beam_m",
        )


#: Default thresholds (frozen, shared: safe as default arguments).
DEFAULT_SAR = SarParams()
DEFAULT_SNAP = SnapCfarParams()
DEFAULT_OPTICAL = OpticalParams()
