"""SAR vessel detector: synthetic sea with hulls of known position, size and heading."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from detection import InputArrayError, detect_sar_vessels
from detection.cfar import box_sum, cell_reduce, threshold_factor
from detection.params import SarParams
from detection.sar import halo_px
from tests.factories import det_hull, det_point_target, det_psf_profile, det_sea

PX = 10.0


def _ship_image(
    shape: tuple[int, int] = (300, 300),
    *,
    row: float = 150.0,
    col: float = 150.0,
    length_m: float = 200.0,
    width_m: float = 30.0,
    heading_deg: float = 30.0,
    scr_db: float = 20.0,
    seed: int = 0,
    psf: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Sea (mean 0.01, 4.4 looks) plus a hull *scr_db* above the sea, blurred by the S1 PSF."""
    sea = det_sea(shape, seed=seed)
    hull = det_hull(
        shape,
        row=row,
        col=col,
        length_px=length_m / PX,
        width_px=width_m / PX,
        heading_deg=heading_deg,
    )
    target = hull.astype(np.float64) * 0.01 * 10 ** (scr_db / 10)
    if psf:
        prof = det_psf_profile(20)
        target = signal.fftconvolve(target, np.outer(prof, prof), mode="same")
    return (sea + np.maximum(target, 0)).astype(np.float32), hull


@pytest.mark.parametrize("heading_deg", [0.0, 35.0, 90.0, 140.0])
def test_hull_position_length_and_heading(heading_deg: float) -> None:
    img, _ = _ship_image(heading_deg=heading_deg, length_m=200.0)
    vessels = detect_sar_vessels(img, pixel_size_m=PX)
    assert len(vessels) == 1
    v = vessels[0]
    assert abs(v.row - 150) <= 1.0 and abs(v.col - 150) <= 1.0
    assert 160.0 <= v.length_m <= 250.0
    diff = abs((v.heading_deg - heading_deg + 90) % 180 - 90)
    assert diff <= 8.0
    assert 0.0 <= v.heading_deg < 180.0
    assert v.score > 6.5
    assert len(v.corners) == 4


@pytest.mark.parametrize("scale", ["linear", "db", "amplitude"])
def test_input_scale_does_not_change_the_answer(scale: str) -> None:
    img, _ = _ship_image(seed=3)
    if scale == "db":
        arr = 10 * np.log10(np.maximum(img, 1e-6))
    elif scale == "amplitude":
        arr = np.clip(np.sqrt(img) * 255 / np.sqrt(img.max()), 0, 255).astype(np.uint8)
    else:
        arr = img
    vessels = detect_sar_vessels(arr, pixel_size_m=PX)
    assert [(round(v.row), round(v.col)) for v in vessels] == [(150, 150)]


@pytest.mark.parametrize("texture_shape", [None, 3.0])
def test_open_sea_gives_few_false_alarms(texture_shape: float | None) -> None:
    # 1 Mpx of sea at PFA 10^-6.5: the K model keeps false objects to about zero, also in
    # textured (K-distributed) sea where a Gaussian or fixed-looks model would not.
    sea = det_sea((1000, 1000), texture_shape=texture_shape, seed=7)
    assert len(detect_sar_vessels(sea, pixel_size_m=PX)) <= 1


def test_bright_ship_sidelobes_give_one_detection() -> None:
    shape = (400, 400)
    sea = det_sea(shape, seed=2)
    # A 50 dB point-like ship: its cross of sidelobes stands far above the sea for 40+ px.
    img = sea + det_point_target(shape, row=200, col=180, peak=0.01 * 1e5)
    hull = det_hull(shape, row=200, col=180, length_px=12, width_px=3, heading_deg=60)
    prof = det_psf_profile(60)
    img += signal.fftconvolve(hull * 0.01 * 1e4, np.outer(prof, prof), mode="same").clip(0)
    vessels = detect_sar_vessels(img.astype(np.float32), pixel_size_m=PX)
    assert len(vessels) == 1
    v = vessels[0]
    assert abs(v.row - 200) <= 1.5 and abs(v.col - 180) <= 1.5
    assert v.length_m < 300.0  # the 1 km cross is not the hull


def test_sidelobe_suppression_keeps_a_faint_ship_off_the_arms() -> None:
    shape = (400, 400)
    img = det_sea(shape, seed=4) + det_point_target(shape, row=200, col=200, peak=1000.0)
    small, _ = _ship_image(shape, row=240, col=250, length_m=60, width_m=20, scr_db=15, seed=5)
    img = img + small - det_sea(shape, seed=5)
    found = {(round(v.row), round(v.col)) for v in detect_sar_vessels(img, pixel_size_m=PX)}
    assert any(abs(r - 240) <= 2 and abs(c - 250) <= 2 for r, c in found)
    assert any(abs(r - 200) <= 2 and abs(c - 200) <= 2 for r, c in found)
    assert len(found) == 2


def test_water_mask_keeps_land_out() -> None:
    shape = (300, 300)
    img, _ = _ship_image(shape, row=200, col=150, heading_deg=90)
    rng = np.random.default_rng(9)
    land = np.zeros(shape, dtype=bool)
    land[:100] = True
    img[land] = rng.gamma(0.8, 0.2 / 0.8, size=land.sum()).astype(np.float32)  # bright, rough
    vessels = detect_sar_vessels(img, pixel_size_m=PX, water_mask=~land)
    assert [(round(v.row), round(v.col)) for v in vessels] == [(200, 150)]


def test_land_is_estimated_without_a_mask() -> None:
    shape = (400, 400)
    img, _ = _ship_image(shape, row=300, col=200, heading_deg=90)
    rng = np.random.default_rng(11)
    land = np.zeros(shape, dtype=bool)
    land[:150] = True
    img[land] = rng.gamma(0.8, 0.2 / 0.8, size=land.sum()).astype(np.float32)
    # Buildings: sparse bright point scatterers, 20 dB above the land clutter.
    town = land & (rng.random(shape) < 0.003)
    img[town] = 20.0
    vessels = detect_sar_vessels(img, pixel_size_m=PX)
    assert [(round(v.row), round(v.col)) for v in vessels] == [(300, 200)]
    with_land = detect_sar_vessels(img, pixel_size_m=PX, params=SarParams(land_mask=False))
    assert len(with_land) > 1  # the test would pass trivially if land made no detections


def test_ship_touching_a_pier_is_found_with_a_reference() -> None:
    shape = (300, 300)
    rng = np.random.default_rng(12)
    water = np.ones(shape, dtype=bool)
    water[:, :100] = False  # land on the left
    pier = np.zeros(shape, dtype=bool)
    pier[140:150, 100:220] = True  # a bright pier 120 px long sticking into the water
    water &= ~pier

    def scene(seed: int) -> np.ndarray:
        img = det_sea(shape, seed=seed)
        # Bright land and pier: multi-looked clutter 17 dB above the sea.
        img[~water] = rng.gamma(4.4, 0.5 / 4.4, size=(~water).sum())
        return img

    reference = np.median(np.stack([scene(s) for s in range(20, 29)]), axis=0)
    now = scene(40)
    hull = det_hull(shape, row=155.5, col=160, length_px=18, width_px=3, heading_deg=90)
    now[hull] += 0.01 * 10**2.5  # moored alongside the pier, touching it
    vessels = detect_sar_vessels(now, pixel_size_m=PX, water_mask=water, reference=reference)
    assert len(vessels) == 1
    v = vessels[0]
    assert abs(v.row - 155.5) <= 1.5 and abs(v.col - 160) <= 2.0
    assert (
        detect_sar_vessels(scene(41), pixel_size_m=PX, water_mask=water, reference=reference) == []
    )


def test_nodata_is_never_detected_and_all_nodata_is_empty() -> None:
    img, _ = _ship_image()
    valid = np.ones(img.shape, dtype=bool)
    valid[:, :40] = False
    img[:, :40] = np.nan
    assert len(detect_sar_vessels(img, pixel_size_m=PX, valid_mask=valid)) == 1
    assert detect_sar_vessels(np.full((50, 50), np.nan), pixel_size_m=PX) == []
    assert detect_sar_vessels(np.zeros((50, 50), np.uint8), pixel_size_m=PX) == []


def test_small_chip_centred_on_a_ship() -> None:
    # OpenSARShip-like chip: the 800 m background window is larger than the chip.
    img, _ = _ship_image((21, 41), row=10, col=20, length_m=150, heading_deg=90, scr_db=18)
    vessels = detect_sar_vessels(img, pixel_size_m=PX)
    assert len(vessels) == 1 and abs(vessels[0].col - 20) <= 1.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"pixel_size_m": 0.0}, "pixel_size_m"),
        ({"pixel_size_m": 10.0, "water_mask": np.ones((5, 5), bool)}, "water_mask"),
    ],
)
def test_bad_input_raises(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InputArrayError, match=match):
        detect_sar_vessels(np.ones((10, 10), np.float32), **kwargs)  # type: ignore[arg-type]


def test_image_must_be_2d() -> None:
    with pytest.raises(InputArrayError, match="2-D"):
        detect_sar_vessels(np.ones((2, 10, 10), np.float32), pixel_size_m=PX)


def test_params_are_validated() -> None:
    with pytest.raises(ValueError, match="grow_pfa_exponent"):
        SarParams(grow_pfa_exponent=9.0)
    with pytest.raises(ValueError, match="clutter_model"):
        SarParams(clutter_model="gauss")  # type: ignore[arg-type]


def test_k_threshold_matches_monte_carlo() -> None:
    rng = np.random.default_rng(5)
    looks, looks_eff = 4.4, 2.0
    nu = 1.0 / ((1 + 1 / looks_eff) / (1 + 1 / looks) - 1)
    n = 2_000_000
    sample = rng.gamma(looks, 1 / looks, n) * rng.gamma(nu, 1 / nu, n)
    f = threshold_factor(np.array([looks_eff]), pfa_exponent=3.0, model="k", sensor_looks=looks)
    assert abs((sample > f[0]).mean() - 1e-3) < 2e-4
    g = threshold_factor(np.array([looks]), pfa_exponent=3.0, model="gamma")
    assert abs((rng.gamma(looks, 1 / looks, n) > g[0]).mean() - 1e-3) < 2e-4


def test_box_sum_and_cell_reduce_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    a = rng.random((13, 17))
    r = 3
    brute = np.array(
        [
            [a[max(i - r, 0) : i + r + 1, max(j - r, 0) : j + r + 1].sum() for j in range(17)]
            for i in range(13)
        ]
    )
    assert np.allclose(box_sum(a, r), brute)
    cells = cell_reduce(a, 4, "sum")
    assert cells.shape == (4, 5) and np.isclose(cells.sum(), a.sum())
    assert cell_reduce(a, 4, "max")[3, 4] == a[12, 16]


def test_halo_covers_the_background_window() -> None:
    assert halo_px(10.0) * 10.0 > SarParams().background_m + SarParams().max_length_m


def test_azimuth_ghost_of_a_bright_ship_is_dropped() -> None:
    # Sentinel-1 IW azimuth ambiguities sit ~5 km along azimuth (rows in radar geometry), more
    # than 20 dB below the ship: 500 px at 10 m.
    shape = (700, 120)
    img = det_sea(shape, seed=6)
    ship = det_hull(shape, row=80, col=60, length_px=12, width_px=3, heading_deg=90)
    ghost = det_hull(shape, row=580, col=60, length_px=12, width_px=3, heading_deg=90)
    img[ship] += 0.01 * 10**5.0
    img[ghost] += 0.01 * 10**2.6  # 24 dB fainter, still far above the sea
    found = detect_sar_vessels(img, pixel_size_m=PX)
    assert [(round(v.row), round(v.col)) for v in found] == [(80, 60)]
    # Off the azimuth line it is a ship, not a ghost.
    img2 = det_sea(shape, seed=6)
    img2[ship] += 0.01 * 10**5.0
    img2[det_hull(shape, row=580, col=20, length_px=12, width_px=3, heading_deg=90)] += (
        0.01 * 10**2.6
    )
    assert len(detect_sar_vessels(img2, pixel_size_m=PX)) == 2


def test_zero_fill_outside_the_swath_is_no_data() -> None:
    # A calibrated float scene with its border filled with exact zeros (no nodata declared): the
    # zeros are no data, so a ship near the swath edge is judged against the sea, not against a
    # background half made of zeros (which looks like very rough clutter and hides it).
    img, _ = _ship_image((300, 300), row=150, col=112, heading_deg=0, length_m=80, scr_db=9)
    clean = detect_sar_vessels(img, pixel_size_m=PX)
    img[:, :100] = 0.0
    filled = detect_sar_vessels(img, pixel_size_m=PX)
    assert [(round(v.row), round(v.col)) for v in filled] == [(150, 112)]
    assert filled[0].score >= 0.7 * clean[0].score


def _clipped_display_chip(seed: int) -> np.ndarray:
    """An 8-bit display of textured sea whose stretch clips 80 % of it to 0, one saturated hull."""
    sea = det_sea((256, 256), seed=seed, texture_shape=4.0)
    amp = np.sqrt(sea)
    lo, hi = np.quantile(amp, [0.8, 0.999])
    dn = np.clip(np.round((amp - lo) / (hi - lo) * 40.0), 0, 255)
    hull = det_hull((256, 256), row=128, col=100, length_px=30, width_px=6, heading_deg=20)
    dn[hull] = 255
    return dn.astype(np.uint8)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clipped_zeros_of_an_8_bit_chip_are_not_clutter(seed: int) -> None:
    # Counted as sea, the zeros drag the clutter mean to ~0 and the visible tail of the sea
    # becomes a dozen "ships" (9-21 on these seeds); left out, only the hull remains.
    chip = _clipped_display_chip(seed)
    assert (chip == 0).mean() > 0.75
    found = detect_sar_vessels(chip, pixel_size_m=5.0)
    assert [(round(v.row), round(v.col)) for v in found] == [(128, 100)]
    counted = detect_sar_vessels(
        chip, pixel_size_m=5.0, params=SarParams(clipped_zero_background=False)
    )
    assert len(counted) >= 5
