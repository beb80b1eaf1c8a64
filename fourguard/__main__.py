"""The CLI: demo · ingest · metrics."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from .config import settings


def _as_of(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            pass
    raise SystemExit(f"--as-of 格式应为 YYYY-MM-DD HH:MM，收到 {text!r}")


def cmd_demo(args) -> int:
    from . import demo

    t0 = time.perf_counter()
    summary = demo.generate(args.scale, args.days, args.seed, Path(args.out),
                            progress=None if args.quiet else _print_progress)
    print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
    print(f"用时 {time.perf_counter() - t0:.1f} 秒", file=sys.stderr)
    return 0


def _print_progress(fraction: float, message: str) -> None:
    print(f"[{fraction:5.0%}] {message}", file=sys.stderr, flush=True)


def cmd_ingest(args) -> int:
    from .ingest import ingest_paths

    t0 = time.perf_counter()
    reports = ingest_paths(args.paths, args.db, on_report=lambda rep: print(rep.line(), flush=True))
    refused = [r for r in reports if r.status == "refused"]
    loaded = sum(r.loaded for r in reports)
    held = sum(r.quarantined for r in reports if r.status == "loaded")
    print(f"共 {len(reports)} 项：导入 {loaded:,} 行，隔离 {held:,} 行，拒绝 {len(refused)} 个文件，"
          f"用时 {time.perf_counter() - t0:.1f} 秒")
    return 1 if refused else 0


def cmd_metrics(args) -> int:
    from . import db, freshness, queries

    reader = db.connect(args.db)
    con = reader.cursor()
    as_of = _as_of(args.as_of) or freshness.latest_time(con)
    result = queries.metrics(con, as_of, county=args.county, city=args.city, sector=args.sector)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fourguard", description="四保白名单企业监测：数据生成、导入与指标")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="生成演示数据（与真实导出格式一致）")
    p.add_argument("--scale", choices=("county", "city", "province"), default="city")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--out", default=str(settings().demo_dir))
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ingest", help="导入数据文件或文件夹")
    p.add_argument("paths", nargs="+")
    p.add_argument("--db", default=None, help="数据库文件（默认 data/store/fourguard.duckdb）")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("metrics", help="输出指标 JSON")
    p.add_argument("--db", default=None)
    p.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD HH:MM（默认：数据中的最新时间）")
    p.add_argument("--county", default=None)
    p.add_argument("--city", default=None)
    p.add_argument("--sector", default=None, help="行业领域，如 工业生产")
    p.add_argument("--json", action="store_true", help="单行 JSON")
    p.set_defaults(func=cmd_metrics)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
