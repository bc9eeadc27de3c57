"""Errors raised by :mod:`geo`.

Every error derives from :class:`GeoError` and from the builtin it refines, so callers may catch
either (``except GeoError`` or ``except ValueError``). Messages name what was wrong, where, and how
to fix it, in one line.
"""

from __future__ import annotations

__all__ = [
    "ArchiveExistsError",
    "ArchiveWriteError",
    "CalibrationError",
    "CatalogError",
    "ClaimsFileError",
    "CredentialsRequiredError",
    "EmptyRasterError",
    "GeoError",
    "GridMismatchError",
    "MissingPixelSizeError",
    "OutputWriteError",
    "PortsFileError",
    "RasterMetadataError",
    "RasterReadError",
    "RecordError",
    "SettingsError",
    "SimulationError",
    "StacSearchError",
    "StoreFormatError",
    "StoreNotFoundError",
    "StoreReadOnlyError",
    "StoreSchemaError",
    "TileReadError",
    "TimeWindowError",
    "TruthFileError",
    "UnknownDetectionError",
    "UnknownLayerError",
    "UnknownPortError",
    "UnknownSourceError",
]


class GeoError(Exception):
    """Root of every error raised by :mod:`geo`."""


class PortsFileError(GeoError, ValueError):
    """``ports.geojson`` (or a file given in its place) breaks a rule."""


class UnknownPortError(GeoError, LookupError):
    """A port id that is not in the ports file."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class ClaimsFileError(GeoError, ValueError):
    """``claims.toml`` (or a file given in its place) breaks a rule."""


# --- imagery sources and tiles (geo.catalog, geo.tiles, geo.calibration, geo.network) ------------


class SettingsError(GeoError, ValueError):
    """An environment variable read by :mod:`geo.settings` holds a bad value."""


class UnknownSourceError(GeoError, ValueError):
    """An imagery source spec that is not one of the known forms."""


class TimeWindowError(GeoError, ValueError):
    """A search window whose start is after its end (or otherwise unusable)."""


class CatalogError(GeoError, OSError):
    """A local STAC catalogue or folder of rasters that cannot be used as a source."""


class RasterMetadataError(GeoError, ValueError):
    """A raster whose metadata cannot place it in space or time (no CRS, no datetime)."""


class StacSearchError(GeoError, OSError):
    """A STAC API search that failed after its retries; the message names the URL."""


class CredentialsRequiredError(GeoError, PermissionError):
    """A download that needs credentials the user has not provided; the message says which."""


class TileReadError(GeoError, OSError):
    """A scene that could not be read onto a port's grid; the message names the scene and the URL."""


class CalibrationError(GeoError, ValueError):
    """Sentinel-1 calibration or noise annotation that cannot be parsed or applied."""


# --- the event store, port calls, trips and claim checks (geo.events, geo.trips, geo.claims) ----


class StoreNotFoundError(GeoError, FileNotFoundError):
    """No event store where one was expected (and creating one was not asked for)."""


class StoreFormatError(GeoError, ValueError):
    """A file that is not a berthwatch event store (not a GeoPackage, no berthwatch_meta, damaged)."""


class StoreSchemaError(GeoError, ValueError):
    """An event store whose schema version this berthwatch cannot read (newer, or not migratable)."""


class StoreReadOnlyError(GeoError, PermissionError):
    """A write to an event store that is read-only (file mode, folder, or opened with readonly=True)."""


class RecordError(GeoError, ValueError):
    """A record refused by the event store (naive datetime, unknown status or kind, mixed scenes)."""


class UnknownDetectionError(GeoError, LookupError):
    """A detection id that is not in the event store."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class UnknownLayerError(GeoError, ValueError):
    """A layer name that is not one of the event store's layers."""


# --- the scene simulator and the sample archive (geo.simulate, geo.archive) ----------------------


class SimulationError(GeoError, ValueError):
    """Simulation parameters that cannot be simulated (unknown plan, empty period...)."""


class ArchiveWriteError(GeoError, OSError):
    """An archive (tiles, STAC catalogue, truth) that cannot be written where asked."""


class ArchiveExistsError(GeoError, FileExistsError):
    """An output folder that already holds an archive, and overwriting was not asked for."""


class TruthFileError(GeoError, ValueError):
    """A simulation truth folder that is missing a file or holds an unreadable one."""


# --- local rasters for `berthwatch detect` (geo.images) -------------------------------------------


class RasterReadError(GeoError, OSError):
    """A local raster that is missing or that GDAL cannot read."""


class GridMismatchError(GeoError, ValueError):
    """Rasters that must share one pixel grid (bands of a scene, a mask) and do not."""


class MissingPixelSizeError(GeoError, ValueError):
    """An image without georeference, and no pixel size given for it."""


class EmptyRasterError(GeoError, ValueError):
    """A raster with no valid pixel (all nodata)."""


class OutputWriteError(GeoError, OSError):
    """An output file (detections GeoJSON...) that cannot be written where asked."""
