"""Type aliases shared across :mod:`geo`."""

from __future__ import annotations

from os import PathLike
from typing import TypeAlias

__all__ = ["BBox", "PathLikeStr"]

#: Bounds as ``(minx, miny, maxx, maxy)``, in the CRS named beside them.
BBox: TypeAlias = tuple[float, float, float, float]
#: Anything :class:`pathlib.Path` accepts.
PathLikeStr: TypeAlias = str | PathLike[str]
