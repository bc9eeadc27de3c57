"""Report figures: uncertain ends drawn as such, hidden observations never drawn as zero."""

from __future__ import annotations

import base64
import datetime as dt
import io

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from report._plots import BerthStay, BerthTimeline, YardPoint, plot_berth_timeline, plot_yard

BLUE = np.array(to_rgb("#1f5fa8"))


def _png(uri: str) -> np.ndarray:
    return imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")[..., :3]


def _day(n: int) -> dt.datetime:
    return dt.datetime(2023, 8, 1, tzinfo=dt.UTC) + dt.timedelta(days=n)


def test_berth_stay_is_solid_between_sightings_and_hatched_to_its_bounds() -> None:
    # Arrived between days 10 and 20, seen days 20-25, left between days 25 and 40.
    stay = BerthStay("b1", _day(20), _day(25), _day(10), _day(40))
    timeline = BerthTimeline((("b1", "Berth 1"),), (stay,), {}, {})
    img = _png(plot_berth_timeline(timeline, since=_day(0).date(), until=_day(59).date()))
    blue = np.abs(img - BLUE).sum(axis=-1) < 0.15
    # The bar's rows: those blue across a long run (the legend swatches are short).
    rows = np.flatnonzero(blue.sum(axis=1) > 0.05 * blue.shape[1])
    band = blue[rows.min() : rows.max() + 1]
    per_col = band.sum(axis=0)
    cols = np.flatnonzero(per_col)
    solid = np.flatnonzero(per_col > 0.8 * band.shape[0])
    hatched = np.flatnonzero((per_col > 0) & (per_col < 0.6 * band.shape[0]))
    span = cols.max() - cols.min()
    assert abs((solid.max() - solid.min()) / span - 5 / 30) < 0.03
    assert abs((solid.min() - cols.min()) / span - 10 / 30) < 0.03
    assert hatched.min() < solid.min() and hatched.max() > solid.max()


def test_yard_hidden_observation_is_not_drawn_as_a_value() -> None:
    points = [
        YardPoint("y", _day(1), True, 1000.0, 70.0, 100.0, 130.0),
        YardPoint("y", _day(5), False),  # hidden: no value at all
        YardPoint("y", _day(9), True, 900.0, 60.0, 90.0, 120.0),
    ]
    uri = plot_yard(points, since=_day(0).date(), until=_day(10).date(), yard_names={"y": "Yard"})
    assert uri.startswith("data:image/png;base64,")
    # Draw again with the hidden point as a zero-footprint observation: the pictures differ.
    as_zero = [*points[:1], YardPoint("y", _day(5), True), points[2]]
    assert (
        plot_yard(as_zero, since=_day(0).date(), until=_day(10).date(), yard_names={"y": "Yard"})
        != uri
    )
