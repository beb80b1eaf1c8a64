"""The administrative geography in data/regions: divisions, their boundaries, points inside them.

The folder is data, not code: any province's `*_regions.csv`, `*_counties.geojson` and
`*_cities.geojson` with the same columns and properties work (see data/README.md).
"""
from __future__ import annotations

import functools
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

ENV_VAR = "FOURGUARD_REGIONS_DIR"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "regions"
TEXT_COLUMNS = ["code", "name", "level", "parent_code", "city_code", "city_name"]


def regions_dir() -> Path:
    """The region folder: $FOURGUARD_REGIONS_DIR, else data/regions in the repo."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_DIR)


def region_file(suffix: str) -> Path:
    """The one file in the region folder whose name ends with suffix."""
    folder = regions_dir()
    # Globbing on the suffix lets another province's files drop in without renaming.
    found = sorted(folder.glob(f"*{suffix}"))
    if len(found) != 1:
        raise FileNotFoundError(f"expected one *{suffix} in {folder}, found {len(found)}")
    return found[0]


def load_regions(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """One row per division (level province/city/county); codes are strings, province fields empty."""
    # Copy so a caller editing its frame cannot change everyone else's cached one.
    return _read_regions(Path(path) if path else region_file("_regions.csv")).copy()


@functools.lru_cache(maxsize=8)
def _read_regions(path: Path) -> pd.DataFrame:
    # keep_default_na=False keeps the province's empty parent_code an empty string, not NaN.
    return pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS}, keep_default_na=False)


def counties() -> pd.DataFrame:
    """County-level divisions (县, 县级市, 市辖区), one row each."""
    return _level("county")


def cities() -> pd.DataFrame:
    """City-level units (prefecture cities and province-direct units such as 济源), one row each."""
    return _level("city")


def _level(level: str) -> pd.DataFrame:
    regions = load_regions()
    return regions[regions["level"] == level].reset_index(drop=True)


def county_geojson() -> dict:
    """County boundaries as parsed GeoJSON (cached and shared: copy before changing it)."""
    return _read_json(region_file("_counties.geojson"))


def city_geojson() -> dict:
    """City boundaries as parsed GeoJSON (cached and shared: copy before changing it)."""
    return _read_json(region_file("_cities.geojson"))


@functools.lru_cache(maxsize=8)
def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=8)
def _county_shapes(path: Path) -> tuple[np.ndarray, np.ndarray, shapely.STRtree]:
    """Codes, prepared polygons (in file order) and a spatial index over them."""
    features = _read_json(path)["features"]
    codes = np.array([f["properties"]["code"] for f in features], dtype=object)
    geoms = np.array([shapely.from_geojson(json.dumps(f["geometry"])) for f in features])
    shapely.prepare(geoms)  # prepared polygons make the repeated point tests fast
    return codes, geoms, shapely.STRtree(geoms)


def _shapes() -> tuple[np.ndarray, np.ndarray, shapely.STRtree]:
    return _county_shapes(region_file("_counties.geojson"))


def sample_points(county_code: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """n lng/lat points, shape (n, 2), uniform (in degrees) inside one county's polygon."""
    codes, geoms, _ = _shapes()
    hits = np.flatnonzero(codes == county_code)
    if len(hits) != 1:
        raise KeyError(f"no county boundary for code {county_code!r}")
    geom = geoms[hits[0]]
    xmin, ymin, xmax, ymax = geom.bounds
    share = geom.area / ((xmax - xmin) * (ymax - ymin))
    chunks, found = [], 0
    while found < n:
        # Draw enough that one round usually suffices; rejection keeps the spread uniform.
        size = math.ceil((n - found) / share * 1.2) + 8
        xs = rng.uniform(xmin, xmax, size)
        ys = rng.uniform(ymin, ymax, size)
        keep = shapely.contains_xy(geom, xs, ys)
        chunks.append(np.column_stack([xs[keep], ys[keep]]))
        found += int(keep.sum())
    return np.concatenate(chunks or [np.empty((0, 2))])[:n]


def counties_of_points(lng, lat) -> np.ndarray:
    """County code for each point (object array), None where the point is in no county."""
    codes, _, tree = _shapes()
    points = shapely.points(np.asarray(lng, dtype=float), np.asarray(lat, dtype=float))
    points = np.atleast_1d(points)
    result = np.full(len(points), None, dtype=object)
    point_idx, geom_idx = tree.query(points, predicate="intersects")
    # A point on a shared border touches two counties; take the first in file (code) order.
    order = np.lexsort((geom_idx, point_idx))
    first = np.unique(point_idx[order], return_index=True)[1]
    result[point_idx[order][first]] = codes[geom_idx[order][first]]
    return result


def county_of_point(lng: float, lat: float) -> str | None:
    """County code of one point, None outside every county."""
    return counties_of_points([lng], [lat])[0]
