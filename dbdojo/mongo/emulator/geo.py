"""Spherical distances in metres for ``$geoNear``, ``$near`` and ``$nearSphere`` (the emulator).

MongoDB (https://www.mongodb.com/docs/manual/reference/operator/aggregation/geoNear/,
https://www.mongodb.com/docs/manual/reference/operator/query/near/): with a GeoJSON point
``near``/``$geometry`` and a ``2dsphere`` index, distances are great-circle distances in
metres on a sphere of radius 6,378.1 km
(https://www.mongodb.com/docs/manual/tutorial/calculate-distances-using-spherical-geometry-with-2d-geospatial-indexes/),
results come nearest first, and ``maxDistance``/``minDistance`` (metres) bound them.
mongoeco 4.11 computes planar distances in degrees and ignores ``$maxDistance``; this module
computes them as MongoDB does (haversine on that sphere). Legacy-pair ``near`` values with
``spherical: true`` are answered in radians, as MongoDB does; other legacy forms are left to
mongoeco.
"""

from __future__ import annotations

import math
from typing import Any

EARTH_RADIUS_M = 6_378_100.0


class GeoError(Exception):
    """A geo query MongoDB refuses, with its error code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def point_of(value: Any) -> tuple[float, float] | None:
    """(longitude, latitude) of a GeoJSON point or a legacy coordinate pair, else None."""
    if isinstance(value, dict) and value.get("type") == "Point":
        value = value.get("coordinates")
    elif isinstance(value, dict) and len(value) == 2:
        value = list(value.values())
    if isinstance(value, list | tuple) and len(value) == 2:
        try:
            return float(value[0]), float(value[1])
        except (TypeError, ValueError):
            return None
    return None


def radians_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """The central angle between two (lng, lat) points (haversine)."""
    lng1, lat1, lng2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * math.asin(min(1.0, math.sqrt(h)))


def is_geojson_point(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "Point"


def _path(doc: Any, path: str) -> Any:
    for part in path.split("."):
        doc = doc.get(part) if isinstance(doc, dict) else None
    return doc


def nearest(
    docs: list[Any],
    field: str,
    near: Any,
    *,
    metres: bool,
    min_distance: float | None = None,
    max_distance: float | None = None,
) -> list[tuple[float, Any]]:
    """(distance, document) nearest first, within the bounds; metres or radians."""
    centre = point_of(near)
    if centre is None:
        raise GeoError("invalid point in geo near query $geometry argument", 2)
    scale = EARTH_RADIUS_M if metres else 1.0
    found = []
    for doc in docs:
        where = point_of(_path(doc, field))
        if where is None:
            continue
        distance = radians_between(centre, where) * scale
        if max_distance is not None and distance > max_distance:
            continue
        if min_distance is not None and distance < min_distance:
            continue
        found.append((distance, doc))
    found.sort(key=lambda pair: pair[0])
    return found


def near_clause(query: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The ``{field: {$near|$nearSphere: {$geometry: <Point>, ...}}}`` of a find filter."""
    for field, value in query.items():
        if not isinstance(value, dict):
            continue
        for operator in ("$near", "$nearSphere"):
            spec = value.get(operator)
            if isinstance(spec, dict) and is_geojson_point(spec.get("$geometry")):
                bounds = {k: value[k] for k in ("$maxDistance", "$minDistance") if k in value}
                return field, {**spec, **bounds}
    return None


def sphere_index_field(indexes: list[dict[str, Any]], key: Any) -> str:
    """The field of the 2dsphere index a geo query uses (``key``, or the only one)."""
    fields = [f for ix in indexes for f, kind in dict(ix["key"]).items() if kind == "2dsphere"]
    if key is not None:
        if key not in fields:
            raise GeoError(f"no geo indices for geoNear on key {key}", 291)
        return str(key)
    if len(fields) != 1:
        message = (
            "$geoNear requires a 2d or 2dsphere index, but none were found"
            if not fields
            else "There is more than one 2dsphere index; unsure which to use for $geoNear"
        )
        raise GeoError(message, 291)
    return fields[0]
