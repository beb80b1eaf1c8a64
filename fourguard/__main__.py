"""The CLI: demo · ingest · metrics · report · user."""
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


def _scope_options(p) -> None:
    """--db, --as-of and the scope (--county, --city, --sector) of the metrics and report commands."""
    p.add_argument("--db", default=None)
    p.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD HH:MM（默认：数据中的最新时间）")
    p.add_argument("--county", default=None)
    p.add_argument("--city", default=None)
    p.add_argument("--sector", default=None, help="行业领域，如 工业生产")


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

    reader = db.connect(args.db, keep=False)
    con = reader.cursor()
    as_of = _as_of(args.as_of) or freshness.latest_time(con)
    result = queries.metrics(con, as_of, county=args.county, city=args.city, sector=args.sector)
    print(json.dumps(result, ensure_ascii=False, indent=None if args.json else 2, default=str))
    return 0


def cmd_report(args) -> int:
    from . import db, freshness, report

    t0 = time.perf_counter()
    con = db.connect(args.db, keep=False).cursor()
    as_of = _as_of(args.as_of) or freshness.latest_time(con)
    briefing = report.build(con, as_of, county=args.county, city=args.city, sector=args.sector)
    for path in report.write(briefing, Path(args.out)):
        print(path)
    print(f"{briefing.title}：用时 {time.perf_counter() - t0:.1f} 秒", file=sys.stderr)
    return 0


def cmd_bench(args) -> int:
    from . import bench

    bench.run(args.scale, args.days, args.data and Path(args.data), args.db and Path(args.db), args.repeat,
              args.county, args.skip_ingest, args.skip_pages)
    return 0


def cmd_user(args) -> int:
    """Manage the local accounts file (passwords hashed with argon2id)."""
    import getpass

    from . import auth

    path = settings().accounts_file
    if args.action == "list":
        for u in auth.load(path).values():
            area = u.county or u.city or "全省"
            print(f"{u.username}\t{u.name}\t{auth.ROLES[u.role]}\t{area}\t{u.department or ''}\t"
                  f"{'密码' if u.password_hash else ''}{' ' + u.email if u.email else ''}")
        return 0
    if args.action == "remove":
        auth.remove_user(args.username, path)
        print(f"已删除账号 {args.username}")
        return 0
    password = None
    if not args.email or args.password_stdin:
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("密码（至少10位）：")
            if getpass.getpass("再输入一次：") != password:
                raise SystemExit("两次输入的密码不一致")
    user = auth.User(args.username, args.name or args.username, args.role, city=args.city, county=args.county,
                     department=args.department, email=args.email)
    try:
        auth.add_user(user, password, path, replace=args.replace)
    except ValueError as exc:
        raise SystemExit(str(exc)) from exc
    print(f"已保存账号 {user.username}（{auth.ROLES[user.role]}）到 {path}")
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
    _scope_options(p)
    p.add_argument("--json", action="store_true", help="单行 JSON")
    p.set_defaults(func=cmd_metrics)

    p = sub.add_parser("report", help="生成日报/通报（Excel 与 PDF）")
    _scope_options(p)
    p.add_argument("--out", default=".", help="输出文件夹（默认当前文件夹）")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("bench", help="性能基准：一天核酸数据的导入与原始读取对比、各页面数据用时、内存")
    p.add_argument("--scale", choices=("county", "city", "province"), default="province")
    p.add_argument("--days", type=int, default=14)
    p.add_argument("--data", default=None, help="演示数据文件夹（已存在则复用；默认 临时目录/fourguard_bench_<规模>）")
    p.add_argument("--db", default=None, help="数据库文件（已存在则复用；默认 数据文件夹同名 .duckdb）")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--county", default=None, help="单县测量用的县区代码（默认企业最多的县）")
    p.add_argument("--skip-ingest", dest="skip_ingest", action="store_true")
    p.add_argument("--skip-pages", dest="skip_pages", action="store_true", help="只测导入（及其下限），不测页面")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("user", help="管理登录账号（本地账号文件，argon2 密码哈希）")
    p.add_argument("action", choices=("add", "remove", "list"))
    p.add_argument("username", nargs="?")
    p.add_argument("--name", help="显示的姓名，如 张伟（市四保专班）")
    p.add_argument("--role", default="county", choices=("province", "city", "county", "department", "analyst", "wall"))
    p.add_argument("--city", help="省辖市代码（市级账号必填；其他角色可用于限定范围）")
    p.add_argument("--county", help="县区代码（县级账号必填；其他角色可用于限定范围）")
    p.add_argument("--department", help="责任单位名称（责任单位账号必填）")
    p.add_argument("--email", help="统一身份认证（st.login）的邮箱：该身份登录时按此账号授权")
    p.add_argument("--password-stdin", dest="password_stdin", action="store_true", help="从标准输入读密码（脚本用）")
    p.add_argument("--replace", action="store_true", help="覆盖同名账号")
    p.set_defaults(func=cmd_user)

    args = parser.parse_args(argv)
    if args.command == "user" and args.action != "list" and not args.username:
        parser.error("请给出账号名")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
