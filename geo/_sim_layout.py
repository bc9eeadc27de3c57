"""Where things go in a simulated port: berths, anchorage spots, open water and container blocks.

Positions are in the port's UTM CRS (metres). Geometry comes from ``ports.geojson`` through
:class:`geo.ports.Port`, so the simulator works for any port in the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from geo.ports import Port

#: Container footprints (m): ISO 20 ft and 40 ft, width 2.44 m; 40 ft counts 2 TEU.
CONTAINER_WIDTH_M = 2.44
CONTAINER_LENGTH_M = {20: 6.06, 40: 12.19}
#: Gaps inside a block between neighbouring containers: across rows and along bays (m).
ROW_GAP_M = 0.35
BAY_GAP_M = 0.6
#: Aisles between blocks (reach stackers, trucks): across and along (m).
AISLE_ACROSS_M = 14.0
AISLE_ALONG_M = 10.0


def ship_polygon(
    x_m: float, y_m: float, length_m: float, width_m: float, heading_deg: float
) -> Polygon:
    """Rectangle footprint of a ship centred at ``(x, y)`` with its length along ``heading_deg``."""
    h = math.radians(heading_deg)
    ax, ay = math.sin(h), math.cos(h)  # along-ship unit vector (east, north)
    cx, cy = math.cos(h), -math.sin(h)  # across-ship unit vector
    hl, hw = length_m / 2, width_m / 2
    pts = [
        (x_m + sl * hl * ax + sw * hw * cx, y_m + sl * hl * ay + sw * hw * cy)
        for sl, sw in ((1, 1), (1, -1), (-1, -1), (-1, 1))
    ]
    return Polygon(pts)


def _axis(geom: BaseGeometry) -> tuple[float, float, float]:
    """Long-axis heading (deg, [0, 180)), length and width of a zone's minimum rotated rectangle."""
    rect = geom.minimum_rotated_rectangle
    xy = np.asarray(rect.exterior.coords)[:4]
    e1, e2 = xy[1] - xy[0], xy[2] - xy[1]
    long_e, short_e = (e1, e2) if np.hypot(*e1) >= np.hypot(*e2) else (e2, e1)
    heading = math.degrees(math.atan2(long_e[0], long_e[1])) % 180.0
    return heading, float(np.hypot(*long_e)), float(np.hypot(*short_e))


@dataclass(frozen=True)
class BerthSlot:
    """A berth's geometry: its axis and the pier (or quay) face a moored ship lies against."""

    zone_id: str
    heading_deg: float
    length_m: float
    centreline: LineString
    quay: BaseGeometry

    def mooring(self, length_m: float, width_m: float, position: float) -> tuple[float, float]:
        """Centre ``(x, y)`` of a ship lying against the quay, ``position`` in [0, 1] along the berth.

        The ship's side touches the pier (0.5 m fender gap): exactly where pier-side detection must
        cope with the bright structure next to the hull.
        """
        usable = max(self.length_m - length_m, 0.0)
        s = (self.length_m - usable) / 2 + position * usable
        p = self.centreline.interpolate(min(s, self.centreline.length))
        q = nearest_points(self.quay, p)[0]
        dx, dy = p.x - q.x, p.y - q.y
        norm = math.hypot(dx, dy) or 1.0
        off = width_m / 2 + 0.5
        return q.x + dx / norm * off, q.y + dy / norm * off


@dataclass(frozen=True)
class ContainerBlock:
    """A rectangular block of containers: ``n_rows`` across by ``n_bays`` along its axis.

    ``tiers[row][bay]`` is the stack height (1-4); ``paint`` the fractions of each paint colour.
    """

    index: int
    x_m: float
    y_m: float
    heading_deg: float
    feet: int
    n_rows: int
    n_bays: int
    tiers: tuple[tuple[int, ...], ...]
    paint: tuple[float, ...]

    @property
    def width_m(self) -> float:
        """Footprint across the rows (containers plus the gaps inside the block)."""
        return self.n_rows * CONTAINER_WIDTH_M + (self.n_rows - 1) * ROW_GAP_M

    def length_m(self, n_bays: int | None = None) -> float:
        """Footprint along the bays for the first ``n_bays`` bays (default: all)."""
        n = self.n_bays if n_bays is None else n_bays
        return n * CONTAINER_LENGTH_M[self.feet] + max(n - 1, 0) * BAY_GAP_M

    def bay_teu(self, bay: int) -> int:
        """TEU held by one bay (all rows, all tiers)."""
        return sum(row[bay] for row in self.tiers) * (self.feet // 20)

    def part_centre(self, n_bays: int) -> tuple[float, float]:
        """Centre of the part made of the first ``n_bays`` bays (filled from the block's start)."""
        shift = (self.length_m(n_bays) - self.length_m()) / 2
        h = math.radians(self.heading_deg)
        return self.x_m + shift * math.sin(h), self.y_m + shift * math.cos(h)


@dataclass(frozen=True)
class YardFill:
    """The part of one block that holds containers in a scene."""

    block: ContainerBlock
    n_bays: int

    @property
    def teu(self) -> int:
        """TEU in this part."""
        return sum(self.block.bay_teu(b) for b in range(self.n_bays))

    @property
    def ground_slots(self) -> int:
        """Number of stacks (ground slots)."""
        return self.block.n_rows * self.n_bays

    @property
    def containers(self) -> int:
        """Number of boxes (any length)."""
        return sum(sum(row[: self.n_bays]) for row in self.block.tiers)

    @property
    def area_m2(self) -> float:
        """Footprint of the part: containers plus the small gaps inside the block."""
        return self.block.width_m * self.block.length_m(self.n_bays)


@dataclass(frozen=True)
class YardLayout:
    """All block positions of one container yard, in fill order (nearest the quay first)."""

    zone_id: str
    blocks: tuple[ContainerBlock, ...]

    @property
    def capacity_teu(self) -> int:
        """TEU when every block is full."""
        return sum(YardFill(b, b.n_bays).teu for b in self.blocks)

    def fill(self, teu: float) -> tuple[YardFill, ...]:
        """Blocks holding about ``teu`` TEU: whole blocks in order, the last one filled by bays."""
        out: list[YardFill] = []
        left = max(float(teu), 0.0)
        for b in self.blocks:
            if left <= 0:
                break
            full = YardFill(b, b.n_bays)
            if full.teu <= left:
                out.append(full)
                left -= full.teu
                continue
            n, acc = 0, 0
            while n < b.n_bays and acc + b.bay_teu(n) / 2 <= left:
                acc += b.bay_teu(n)
                n += 1
            if n:
                out.append(YardFill(b, n))
            break
        return tuple(out)


class PortLayout:
    """A port's geometry in UTM, ready for placing vessels and container blocks."""

    def __init__(self, port: Port) -> None:
        self.port = port

    @cached_property
    def solid(self) -> BaseGeometry:
        """Union of land and piers (UTM)."""
        parts = [
            self.port.to_utm(z.geometry) for z in self.port.zones if z.kind in ("land", "pier")
        ]
        return shapely.union_all(parts) if parts else Polygon()

    @cached_property
    def frame(self) -> Polygon:
        """The grid's footprint (UTM)."""
        minx, miny, maxx, maxy = self.port.grid.bounds
        return shapely.box(minx, miny, maxx, maxy)

    @cached_property
    def water(self) -> BaseGeometry:
        """Water inside the grid (UTM), without slivers narrower than 30 m along the grid edges.

        Zones are drawn in lon/lat, so a land polygon meant to reach the grid edge can stop a few
        metres short of it once projected; those slivers are land, not sea.
        """
        opened = self.frame.difference(self.solid).buffer(-15.0, join_style="mitre")
        return opened.buffer(15.0, join_style="mitre").intersection(self.frame)

    @cached_property
    def dry(self) -> BaseGeometry:
        """Everything in the grid that is not :attr:`water` (land, piers, slivers)."""
        return self.frame.difference(self.water)

    @cached_property
    def berths(self) -> dict[str, BerthSlot]:
        """Every berth zone of the port, by id."""
        piers = [self.port.to_utm(z.geometry) for z in self.port.zones_of("pier")]
        quay_all = shapely.union_all(piers) if piers else self.solid
        out: dict[str, BerthSlot] = {}
        for z in self.port.zones_of("berth"):
            g = self.port.to_utm(z.geometry)
            heading, length, _ = _axis(g)
            c = g.centroid
            h = math.radians(heading)
            dx, dy = math.sin(h) * length / 2, math.cos(h) * length / 2
            line = LineString([(c.x - dx, c.y - dy), (c.x + dx, c.y + dy)])
            # The quay face is the pier (or land) nearest this berth.
            quay = quay_all if not piers else min(piers, key=lambda p: p.distance(g))
            out[z.id] = BerthSlot(z.id, heading, length, line, quay)
        return out

    def zone_utm(self, zone_id: str) -> BaseGeometry:
        """A zone's polygon in UTM."""
        return self.port.to_utm(self.port.zone(zone_id).geometry)

    def random_point(
        self, rng: np.random.Generator, area: BaseGeometry, *, tries: int = 200
    ) -> Point | None:
        """A uniformly drawn point inside ``area`` (``None`` if the area is empty)."""
        if area.is_empty:
            return None
        minx, miny, maxx, maxy = area.bounds
        for _ in range(tries):
            p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if area.contains(p):
                return p
        return None

    def yard_layout(
        self, zone_id: str, rng: np.random.Generator, *, feet20_share: float
    ) -> YardLayout:
        """Lay blocks out in rows across a yard, separated by aisles, nearest the quay first."""
        yard = self.zone_utm(zone_id)
        heading, _, _ = _axis(yard)
        h = math.radians(heading)
        ax, ay = math.sin(h), math.cos(h)
        cx, cy = math.cos(h), -math.sin(h)
        inner = yard.buffer(-5.0)
        c = yard.centroid
        coords = (
            np.asarray(yard.exterior.coords) - [c.x, c.y] if isinstance(yard, Polygon) else None
        )
        extent_u = float(np.abs(coords @ [ax, ay]).max()) if coords is not None else 500.0
        extent_v = float(np.abs(coords @ [cx, cy]).max()) if coords is not None else 500.0
        blocks: list[ContainerBlock] = []
        v = -extent_v + 5.0
        while v < extent_v:
            u = -extent_u + 5.0
            row_blocks: list[ContainerBlock] = []
            n_rows = int(rng.integers(5, 9))
            while u < extent_u:
                blk = _draw_block(rng, len(blocks) + len(row_blocks), feet20_share, n_rows, heading)
                lu, lv = blk.length_m(), blk.width_m
                bu, bv = u + lu / 2, v + lv / 2
                x, y = c.x + bu * ax + bv * cx, c.y + bu * ay + bv * cy
                fp = ship_polygon(x, y, lu, lv, heading)
                if inner.contains(fp):
                    row_blocks.append(_moved(blk, x, y))
                u += lu + AISLE_ALONG_M
            blocks.extend(row_blocks)
            v += n_rows * CONTAINER_WIDTH_M + (n_rows - 1) * ROW_GAP_M + AISLE_ACROSS_M
        quay = self.dry.boundary.intersection(self.water.buffer(1.0)).difference(
            self.frame.exterior.buffer(1.0)
        )
        ref = quay if not quay.is_empty else yard.centroid
        ordered = sorted(
            blocks, key=lambda b: (round(ref.distance(Point(b.x_m, b.y_m)), 3), b.index)
        )
        return YardLayout(zone_id, tuple(ordered))


_N_PAINTS = 7


def _draw_block(
    rng: np.random.Generator, index: int, feet20_share: float, n_rows: int, heading: float
) -> ContainerBlock:
    feet = 20 if rng.random() < feet20_share else 40
    n_bays = int(rng.integers(6, 15)) if feet == 20 else int(rng.integers(4, 9))
    mean_tier = rng.uniform(1.7, 3.4)
    tiers = np.clip(np.rint(rng.normal(mean_tier, 0.7, size=(n_rows, n_bays))), 1, 4).astype(int)
    paint = rng.dirichlet(np.full(_N_PAINTS, 0.5))
    return ContainerBlock(
        index=index,
        x_m=0.0,
        y_m=0.0,
        heading_deg=heading,
        feet=feet,
        n_rows=n_rows,
        n_bays=n_bays,
        tiers=tuple(tuple(int(t) for t in row) for row in tiers),
        paint=tuple(float(p) for p in paint),
    )


def _moved(b: ContainerBlock, x: float, y: float) -> ContainerBlock:
    return replace(b, x_m=x, y_m=y)
