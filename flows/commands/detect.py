"""``berthwatch detect``: vessels in one local SAR image or one set of optical bands.

Contract (a benchmark calls it exactly so)::

    berthwatch detect --sensor sar [--pixel-size METRES] [--water-mask MASK.tif] IMAGE --out OUT.geojson
    berthwatch detect --sensor optical --band blue=B02.tif --band green=B03.tif --band red=B04.tif \\
        --band nir=B08.tif [--band swir16=B11.tif] [--pixel-size METRES] [--water-mask MASK.tif] \\
        --out OUT.geojson

Bad input (missing or unreadable file, bands on different grids, no pixel size for an image
without georeference, all-nodata image, bad options) prints one line on stderr and exits 2; an
image without vessels writes an empty FeatureCollection and exits 0. OUT is replaced.
"""

from __future__ import annotations

from typing import Any

import click

__all__ = ["commands"]

_SENSORS = ("sar", "optical")
_OPTICAL = ("blue", "green", "red", "nir", "swir16", "scl")
_REQUIRED = ("green", "nir")
# Images up to this many pixels are read whole; larger ones are processed block by block.
_ONE_PASS_MAX_PX = 6144 * 6144
# The same for optical band sets, whose one pass needs ~140 bytes per pixel (1.3 GB at 3,000²).
_OPTICAL_ONE_PASS_MAX_PX = 3072 * 3072
# Core block side of block-wise optical detection: ~1.4 GB max RSS on a full Sentinel-2 tile
# (bench/README.md, "Memory").
_OPTICAL_BLOCK_PX = 2048


class _OneLineError(click.ClickException):
    """A usage error shown as one line on stderr (exit 2), like the project's errors."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"berthwatch: error: {' '.join(self.format_message().split())}", err=True)


class _DetectCommand(click.Command):
    """Turns click's multi-line usage errors into the one-line error contract."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as err:
            raise _OneLineError(f"detect: {err.format_message()}") from err

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as err:
            raise _OneLineError(f"detect: {err.format_message()}") from err


def _parse_bands(values: tuple[str, ...]) -> dict[str, str]:
    bands: dict[str, str] = {}
    for item in values:
        name, sep, path = item.partition("=")
        name = name.strip().lower()
        if not sep or not path:
            raise click.BadParameter(
                f"{item!r} is not NAME=FILE (e.g. nir=B08.tif).", param_hint="--band"
            )
        if name not in _OPTICAL:
            raise click.BadParameter(
                f"unknown band {name!r}; valid: {', '.join(_OPTICAL)}.", param_hint="--band"
            )
        if name in bands:
            raise click.BadParameter(f"band {name!r} given twice.", param_hint="--band")
        bands[name] = path
    return bands


@click.command("detect", cls=_DetectCommand)
@click.option("--sensor", type=click.Choice(_SENSORS), required=True, help="sar or optical.")
@click.option(
    "--band",
    "bands",
    multiple=True,
    metavar="NAME=FILE",
    help="Optical band file (blue, green, red, nir, swir16; scl for cloud masking). "
    "Repeat; nir and green are required.",
)
@click.option(
    "--pixel-size",
    "pixel_size_m",
    type=float,
    default=None,
    metavar="METRES",
    help="Ground pixel size; overrides the georeference, required without one.",
)
@click.option(
    "--water-mask",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="MASK.tif",
    help="Raster, non-zero on water; resampled onto the image grid when georeferenced.",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False),
    required=True,
    metavar="OUT.geojson",
    help="Output GeoJSON FeatureCollection (replaced if present).",
)
@click.argument("image", required=False, metavar="IMAGE")
def detect_command(
    sensor: str,
    bands: tuple[str, ...],
    pixel_size_m: float | None,
    water_mask: str | None,
    out_path: str,
    image: str | None,
) -> None:
    """Find vessels in a SAR image or a set of optical bands; write them as GeoJSON.

    \b
    IMAGE is any single-band raster GDAL reads: a georeferenced GeoTIFF of sigma0 (linear
    or dB, detected automatically) or an 8-bit chip without georeference (then give
    --pixel-size). Optical reflectance may be 0..10000 integers or 0..1 floats.

    \b
    Examples:
      berthwatch detect --sensor sar S1_VV.tif --out ships.geojson
      berthwatch detect --sensor sar --pixel-size 10 chip.png --out ships.geojson
      berthwatch detect --sensor optical --band green=B03.tif --band nir=B08.tif \\
          --out ships.geojson
    """
    from geo.images import bounded_gdal_cache

    if sensor == "sar":
        if bands:
            raise click.BadParameter("--band is for --sensor optical.", param_hint="--band")
        if not image:
            raise click.BadParameter("--sensor sar needs an IMAGE file.", param_hint="IMAGE")
        with bounded_gdal_cache():
            source, vessels = _detect_sar(image, pixel_size_m, water_mask)
    else:
        if image:
            raise click.BadParameter(
                "--sensor optical takes its files as --band NAME=FILE, not IMAGE.",
                param_hint="IMAGE",
            )
        parsed = _parse_bands(bands)
        missing = [b for b in _REQUIRED if b not in parsed]
        if missing:
            raise click.BadParameter(
                f"missing required band(s) {', '.join(missing)} (give --band nir=... and "
                "--band green=...).",
                param_hint="--band",
            )
        with bounded_gdal_cache():
            source, vessels = _detect_optical(parsed, pixel_size_m, water_mask)
    from geo.images import write_vessels_geojson

    n = write_vessels_geojson(vessels, out_path, source)
    click.echo(f"{n} vessel{'s' if n != 1 else ''} -> {out_path}")


def _detect_sar(image: str, pixel_size_m: float | None, water_mask: str | None) -> Any:
    from detection import detect_sar_vessels
    from detection.blocks import detect_sar_vessels_in_blocks
    from geo.images import (
        check_not_empty,
        open_raster,
        read_water_mask,
        read_with_valid,
        valid_view,
    )

    source = open_raster(image, pixel_size_m=pixel_size_m)
    check_not_empty(source)
    water = None if water_mask is None else read_water_mask(water_mask, source)
    size = source.pixel_size_m
    if source.shape[0] * source.shape[1] <= _ONE_PASS_MAX_PX:
        data, valid = read_with_valid(source)
        vessels = detect_sar_vessels(data, pixel_size_m=size, water_mask=water, valid_mask=valid)
    else:
        vessels = detect_sar_vessels_in_blocks(
            source, pixel_size_m=size, water_mask=water, valid_mask=valid_view(source)
        )
    return source, vessels


def _detect_optical(
    paths: dict[str, str], pixel_size_m: float | None, water_mask: str | None
) -> Any:
    from detection import detect_optical_vessels, detect_optical_vessels_in_blocks
    from geo.images import check_not_empty, open_band_set, read_band_set, read_water_mask

    sources = open_band_set(paths, pixel_size_m=pixel_size_m)
    nir = sources["nir"]
    check_not_empty(nir)
    if nir.shape[0] * nir.shape[1] <= _OPTICAL_ONE_PASS_MAX_PX:
        arrays, invalid = read_band_set(sources)
        water = None if water_mask is None else read_water_mask(water_mask, nir)
        vessels = detect_optical_vessels(
            arrays, pixel_size_m=nir.pixel_size_m, water_mask=water, invalid_mask=invalid
        )
    else:
        # Full tiles: bands read window by window (memory bounded by the block size).
        water = None if water_mask is None else read_water_mask(water_mask, nir)
        vessels = detect_optical_vessels_in_blocks(
            {name: src for name, src in sources.items() if name != "scl"},
            pixel_size_m=nir.pixel_size_m,
            water_mask=water,
            invalid_mask=_NotObserved(sources),
            block_px=_OPTICAL_BLOCK_PX,
        )
    return nir, vessels


class _NotObserved:
    """Window-readable "not observed" mask of a band set, as :func:`read_band_set` builds it
    whole: nodata in any band, or the SCL band's cloud/shadow/nodata classes."""

    def __init__(self, sources: dict[str, Any]) -> None:
        self.sources = sources
        self.shape = sources["nir"].shape

    def __getitem__(self, key: tuple[slice, slice]) -> Any:
        from geo.images import read_scl_invalid

        out = None
        for name, src in self.sources.items():
            bad = read_scl_invalid(_WindowOf(src, key)) if name == "scl" else ~src.valid(key)
            out = bad if out is None else out | bad
        return out


class _WindowOf:
    """One window of a raster source, shaped like the source for the whole-band helpers."""

    def __init__(self, source: Any, key: tuple[slice, slice]) -> None:
        self.source, self.key = source, key

    def read(self) -> Any:
        return self.source[self.key]

    def valid(self) -> Any:
        return self.source.valid(self.key)


commands = [detect_command]
