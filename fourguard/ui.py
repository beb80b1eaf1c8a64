"""The one streamlit import: the cached reader, the embedded default database, shared widgets."""
from __future__ import annotations

import datetime as dt
import importlib
import inspect
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner_utils.script_run_context import add_script_run_ctx, get_script_run_ctx

from . import auth, db, feeds
from .formats import fmt_int, fmt_pct, fmt_time  # noqa: F401 (pages call them as ui.fmt_*)
from .config import settings

URL_KEYS = ("city", "county", "sector", "as_of", "start", "end")
ALL = "全部"

# With a pages/ folder beside app.py, a session that starts before any session has run app.py's
# st.navigation and deep-links to a page runs pages/NN_name.py directly (Streamlit's legacy
# multipage mode), skipping the router and its sign-in. Such a session is restarted through the
# router on its first run (app.py marks sessions it has routed). Doing this at import time instead
# raced: concurrent first sessions saw a half-imported module. Only a session's first run can be
# legacy on a server (the flag is global and app.py's st.navigation clears it), so the rerun never
# drops a click; AppTest re-enters legacy mode on every run and keeps running the page directly.
_ROUTED = "_fourguard_routed"


def mark_routed() -> None:
    """Called by app.py: this session has been through the router."""
    st.session_state[_ROUTED] = True


def _leave_legacy_run() -> None:
    ctx = get_script_run_ctx()
    if ctx is None or st.session_state.get(_ROUTED):
        return
    if (Path(ctx.pages_manager.main_script_path).parent / "pages").is_dir():  # legacy: app.py skipped
        PagesManager.uses_pages_directory = False
        st.rerun()


def ensure_database() -> None:
    """First start with no database: build the demo from generated feeds, with progress."""
    s = settings()
    if s.db_path.exists():
        return
    from . import demo
    from .ingest import ingest_lock, ingest_paths

    with st.status("首次启动：正在生成演示数据并导入（约需一两分钟）…", expanded=True) as box:
        bar = st.progress(0.0, text="准备中")
        with ingest_lock(s.db_path.with_name(s.db_path.name + ".build")):
            if not s.db_path.exists():  # another session may have built it while we waited
                out = s.demo_dir / s.demo_scale
                demo.generate(s.demo_scale, 14, 42, out, progress=lambda f, m: bar.progress(f * 0.5, text=m))
                reports = ingest_paths([out], s.db_path, s,
                                       progress=lambda f, m: bar.progress(0.5 + f * 0.5, text=m))
                for rep in reports:
                    st.write(rep.line())
        box.update(label="演示数据已就绪", state="complete", expanded=False)


@st.cache_resource(max_entries=2, show_spinner=False)
def _reader(path: str, snapshot) -> db.Reader:
    return db.connect(path)


def reader() -> db.Reader:
    """The reader for the current snapshot; reconnects once ingest has swapped in a new one."""
    s = settings()
    return _reader(str(s.db_path), db.snapshot_id(s.db_path))


def cursor():
    """A DuckDB cursor for this script run (one per thread)."""
    return reader().cursor()


@st.cache_data(ttl=900, max_entries=512, show_spinner=False)
def _cached(snapshot, wb_version, fn_path: str, args: tuple, kwargs: tuple):
    module, name = fn_path.rsplit(".", 1)
    fn = getattr(importlib.import_module(module), name)
    return fn(cursor(), *args, **dict(kwargs))


def query(fn, *args, **kwargs):
    """Call a `con, …` query function, cached per feed snapshot and write-back version.

    Every page reads through here, so this is where the signed-in user's area is enforced: a
    county/city argument outside it raises auth.AccessDenied, a missing one becomes the user's
    area, an enterprise outside it is refused, and a department handler gets its own issues only.
    """
    return _fetch(fn, _allowed(fn, args, kwargs))


def query_all(*calls: tuple, **common) -> list:
    """Several `query` calls computed side by side, each on its own thread and cursor (DuckDB uses
    every core for them at once); results in order, cached like query's.

    Each call is (fn, *args) or (fn, *args, {keyword: value}); `common` keywords (a page's scope)
    go to every one."""
    bound = []
    for fn, *args in calls:
        kwargs = {**common, **(args.pop() if args and isinstance(args[-1], dict) else {})}
        bound.append((fn, _allowed(fn, tuple(args), kwargs)))
    return _together(bound)


def _together(bound: list[tuple]) -> list:
    """_fetch each (fn, arguments by name) on a thread of its own that sees this script run."""
    ctx = get_script_run_ctx()

    def fetch(call):
        add_script_run_ctx(threading.current_thread(), ctx)
        return _fetch(*call)
    with ThreadPoolExecutor(max(len(bound), 1), thread_name_prefix="fourguard-query") as pool:
        return list(pool.map(fetch, bound))


def _allowed(fn, args: tuple, kwargs: dict) -> dict:
    """_within_area, or stop the page with a refusal the user can read."""
    try:
        return _within_area(fn, args, kwargs)
    except auth.AccessDenied as exc:
        st.error(f"无权查看：{exc}")
        st.stop()


def _fetch(fn, kwargs: dict):
    from . import queries

    r = reader()
    r.refresh_writebacks()
    if kwargs.get("as_of") is not None:  # a time other than the default: kept too from now on
        r.keep_also(queries.as_of_time(kwargs["as_of"]))
    return _cached(r.snapshot, r._wb_version, f"{fn.__module__}.{fn.__name__}", (),
                   tuple(sorted(kwargs.items())))


def _within_area(fn, args: tuple, kwargs: dict) -> dict:
    """All arguments by name, with the user's area applied (see query)."""
    sig = inspect.signature(fn)
    params = sig.parameters
    bound = sig.bind_partial(None, *args, **kwargs).arguments
    bound.pop(next(iter(params)))  # the connection
    user = current_user()
    if user.area() and ("county" in params or "city" in params):
        county, city = auth.clamp(user, bound.get("county"), bound.get("city"), _county_cities())
        bound.update({k: v for k, v in (("county", county), ("city", city)) if k in params})
    code = bound.get("code") or bound.get("credit_code")
    if user.area() and code and not auth.in_area(user, *_cached_area(code)):
        raise auth.AccessDenied("该企业不在您的管辖范围内")
    if user.role == "department" and "department" in params:
        bound["department"] = user.department
    return bound


def _county_cities() -> dict:
    from . import queries

    r = reader()
    return _cached(r.snapshot, None, f"{queries.__name__}.county_cities", (), ())


def _cached_area(code: str) -> tuple:
    from . import queries

    r = reader()
    return _cached(r.snapshot, None, f"{queries.__name__}.enterprise_area", (code,), ())


# ---------------------------------------------------------------- the shared filter bar

@dataclass(frozen=True)
class Filters:
    """What the user chose: plain values, handed to queries as keyword arguments."""

    city: str | None
    county: str | None
    sector: str | None
    as_of: dt.datetime
    latest: dt.datetime
    start: dt.date
    end: dt.date
    names: dict

    @property
    def scope(self) -> dict:
        """county/city/sector keyword arguments for queries."""
        return {"county": self.county, "city": self.city, "sector": self.sector}

    @property
    def label(self) -> str:
        """河南省 · 南阳市 · 方城县 · 工业生产"""
        parts = [self.names.get(self.city) or "全省"] if not self.county else \
            [self.names.get(self.city, ""), self.names.get(self.county, self.county)]
        return " · ".join(p for p in parts + [self.sector or ""] if p)

    def url(self, **extra) -> dict:
        """Query parameters that reopen this view (for links to other pages)."""
        return {k: v for k, v in {**_url_values(self), **extra}.items() if v}


def default_range(latest: dt.datetime) -> tuple[dt.date, dt.date]:
    """The date range the trend pages open with (kept by the reader, db.RANGE_DAYS)."""
    return latest.date() - dt.timedelta(days=db.RANGE_DAYS - 1), latest.date()


def _url_values(f: Filters) -> dict:
    return {"city": f.city, "county": f.county, "sector": f.sector,
            "as_of": None if f.as_of == f.latest else f.as_of.strftime("%Y-%m-%dT%H:%M"),
            "start": None if f.start == default_range(f.latest)[0] else f.start.isoformat(),
            "end": None if f.end == f.latest.date() else f.end.isoformat()}


def set_scope(county: str | None = None, city: str | None = None) -> None:
    """Filter the whole app to a county (or city) from code, e.g. a click on the map; reruns."""
    st.session_state["_pending_scope"] = {"county": county, "city": city}
    st.rerun()


def _parse_time(text: str | None) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _parse_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _load_state(areas: pd.DataFrame, latest: dt.datetime, user: auth.User) -> None:
    """Before any widget exists: seed the widgets from the URL (first run) or a pending scope."""
    ss, qp = st.session_state, st.query_params
    # Widgets on different pages are different widgets to Streamlit, which drops their state on a
    # page switch; re-assigning the values keeps the filters as the user moves between pages.
    for key in ("f_city", "f_county", "f_sector", "f_live", "f_date", "f_time"):
        if key in ss:
            ss[key] = ss[key]
    if "_url_loaded" not in ss:
        ss["_url_loaded"] = True
        ss["f_city"] = qp.get("city", "")
        ss["f_county"] = qp.get("county", "")
        ss["f_sector"] = qp.get("sector", "")
        as_of = _parse_time(qp.get("as_of"))
        ss["f_live"] = as_of is None
        if as_of:
            ss["f_date"], ss["f_time"] = as_of.date(), as_of.time()
        start, end = _parse_date(qp.get("start")), _parse_date(qp.get("end"))
        if start and end and start <= end:
            ss["f_range"] = (start, end)
    pending = ss.pop("_pending_scope", None)
    if pending:
        ss["f_county"], ss["f_city"] = pending["county"] or "", pending["city"] or ""
    counties = dict(zip(areas.county_code, areas.city_code))
    if ss.get("f_county") not in counties:
        ss["f_county"] = ""
    if ss.get("f_county"):
        ss["f_city"] = counties[ss["f_county"]]  # a county always brings its city
    if ss.get("f_city") not in set(areas.city_code):
        ss["f_city"] = ""
    # A city or county user's filter never widens past their area (the URL cannot widen it either).
    if user.city or user.county:
        ss["f_city"] = areas.city_code.iloc[0]
    if user.county:
        ss["f_county"] = user.county
    if ss.get("f_sector") not in feeds.SECTORS:
        ss["f_sector"] = ""
    ss.setdefault("f_live", True)
    ss.setdefault("f_date", latest.date())
    ss.setdefault("f_time", latest.time().replace(second=0, microsecond=0))


def filter_bar(trend: bool = False, sector: bool = True) -> Filters:
    """The sidebar filters (city → county, sector, time, and a date range on trend pages), kept in the URL."""
    from . import freshness, queries

    user = current_user()
    areas = query(queries.areas)
    areas = areas[[auth.in_area(user, c, ci) for c, ci in zip(areas.county_code, areas.city_code)]]
    if areas.empty:
        st.warning("您管辖的地区还没有白名单企业数据。")
        st.stop()
    latest = query(freshness.latest_time)
    _load_state(areas, latest, user)
    names = {**dict(zip(areas.city_code, areas.city_name)), **dict(zip(areas.county_code, areas.county_name))}
    ss = st.session_state
    with st.sidebar:
        st.markdown("**筛选**")
        # "" stands for 全省/全部: a None value would show Streamlit's English placeholder.
        cities = [*([""] if not (user.city or user.county) else []), *dict.fromkeys(areas.city_code)]
        city = st.selectbox("省辖市", cities, key="f_city", format_func=lambda c: names.get(c, "全省")) or None
        in_city = areas[areas.city_code == city] if city else areas
        counties = [*([""] if not user.county else []), *in_city.county_code]
        if ss.get("f_county") not in counties:
            ss["f_county"] = ""
        county = st.selectbox("县（市、区）", counties, key="f_county",
                              format_func=lambda c: names.get(c, ALL) if c else ALL) or None
        chosen_sector = st.selectbox("行业领域", ["", *feeds.SECTORS], key="f_sector",
                                     format_func=lambda x: x or ALL, disabled=not sector) or None
        live = st.toggle("最新数据", key="f_live", help=f"数据截至 {latest:%Y-%m-%d %H:%M}")
        if live:
            as_of = latest
        else:
            c1, c2 = st.columns(2)
            day = c1.date_input("日期", key="f_date", max_value=latest.date())
            at = c2.time_input("时间", key="f_time", step=dt.timedelta(minutes=30))
            as_of = dt.datetime.combine(day, at)
        if trend:
            default = default_range(latest)
            picked = st.date_input("趋势区间", value=ss.get("f_range", default), max_value=latest.date())
            start, end = (picked if isinstance(picked, tuple) and len(picked) == 2 else default)
            ss["f_range"] = (start, end)
        else:
            start, end = ss.get("f_range", default_range(latest))
    f = Filters(city, county, chosen_sector if sector else None, as_of, latest, start, end, names)
    for key, value in _url_values(f).items():
        if value:
            st.query_params[key] = value
        elif key in st.query_params:
            del st.query_params[key]
    return f


# ---------------------------------------------------------------- who is signed in (auth.py)

def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # noqa: BLE001 — no secrets.toml at all
        return False


def sign_in() -> auth.User:
    """Run by app.py before any page: the signed-in user, or the login (or setup) screen and stop."""
    s, ss = settings(), st.session_state
    try:
        mode = auth.mode(s, _oidc_configured())
        users = auth.load(s.accounts_file)
    except ValueError as exc:
        st.error(str(exc))
        st.stop()
    if mode == "demo":
        ss["auth_user"] = auth.DEMO_USER
        return auth.DEMO_USER
    if mode == "setup":
        st.title("尚未配置登录")
        st.error("本系统已设置正式的哈希密钥，但还没有任何账号，所以不对外开放。")
        st.markdown("请管理员在服务器上添加账号后刷新本页：\n\n"
                    "`python -m fourguard user add 账号名 --role province --name 姓名`\n\n"
                    "或在 `.streamlit/secrets.toml` 配置统一身份认证（st.login），"
                    "或在配置文件中明确写 `auth = \"demo\"` 以无登录演示。")
        st.stop()
    if mode == "oidc":
        if not st.user.get("is_logged_in"):
            st.title("四保白名单企业监测")
            st.button("统一身份认证登录", on_click=st.login, type="primary")
            st.stop()
        user = auth.by_email(st.user.get("email"), s.accounts_file)
        if user is None:
            st.error(f"{st.user.get('email')} 尚未授权：请管理员用 `python -m fourguard user add … --email …` 添加。")
            st.button("退出登录", on_click=st.logout)
            st.stop()
    else:
        # Looked up on every run, so a removed or changed account takes effect at once.
        user = users.get(ss.get("auth_username") or "")
        if user is None:
            _login_form(s)
            st.stop()
    ss["auth_user"] = user
    with st.sidebar:
        st.caption(f"当前用户：{user.label}")
        if st.button("退出登录", key="sign_out", type="tertiary"):
            ss.pop("auth_username", None)
            ss.pop("auth_user", None)
            if mode == "oidc":
                st.logout()
            st.rerun()
    return user


def _login_form(s) -> None:
    ss = st.session_state
    st.title("四保白名单企业监测 · 登录")
    with st.form("login"):
        name = st.text_input("账号", key="login_name")
        password = st.text_input("密码", type="password", key="login_password")
        if st.form_submit_button("登录", type="primary"):
            failures = ss.get("login_failures", 0)
            time.sleep(min(failures, 5))  # slows guessing; argon2 already costs ~50 ms a try
            if auth.verify(name.strip(), password, s.accounts_file):
                ss["auth_username"] = name.strip()
                ss["login_failures"] = 0
                st.rerun()
            ss["login_failures"] = failures + 1
            st.error("账号或密码不正确。")


def current_user() -> auth.User:
    """The user app.py signed in for this session; in demo mode also a page run on its own (tests)."""
    _leave_legacy_run()
    user = st.session_state.get("auth_user")
    if user is None and auth.mode(settings(), _oidc_configured()) == "demo":
        user = auth.DEMO_USER
    if user is None:
        raise auth.AccessDenied("未登录")
    return user


# ---------------------------------------------------------------- who is acting (write-back forms)

DEMO_OFFICIALS = ("张伟（市四保专班）", "李娜（县工信局）", "王强（县人社局）", "刘洋（乡镇包保干部）")


def acting_user() -> str:
    """Who a write is recorded as: the signed-in user, or (demo mode only) a sidebar picker marked 开发模式."""
    user = current_user()
    if user is not auth.DEMO_USER:
        return user.label
    with st.sidebar:
        st.divider()
        return st.selectbox("开发模式：选择操作人", DEMO_OFFICIALS, key="dev_actor",
                            help="未配置登录（st.login）时用于演示：写入的办理记录以此人为操作人。")


# ---------------------------------------------------------------- exports: every table and chart

def _export_scope() -> Filters:
    """The scope and data time the page shows, read from the URL the filter bar keeps (pages without
    a filter bar: the whole database at the latest data time)."""
    from . import freshness, queries

    areas = query(queries.areas)
    latest = query(freshness.latest_time)
    names = {**dict(zip(areas.city_code, areas.city_name)), **dict(zip(areas.county_code, areas.county_name))}
    qp = st.query_params
    county = qp.get("county") if qp.get("county") in names else None
    city = qp.get("city") if qp.get("city") in names else None
    sector = qp.get("sector") if qp.get("sector") in feeds.SECTORS else None
    as_of = _parse_time(qp.get("as_of")) or latest
    return Filters(city, county, sector, as_of, latest, latest.date(), latest.date(), names)


def _page_title() -> str:
    """The title st.navigation gives the running page (覆盖率, 超时未检…)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    try:  # no public API names the current page; an empty title only shortens the file name
        pages = ctx.pages_manager
        return pages.get_pages()[pages.current_page_script_hash].get("page_name") or ""
    except Exception:  # noqa: BLE001
        return ""


def _download_buttons(where, name: str, files: list[tuple[str, str, object]], f: Filters) -> None:
    """Compact buttons under a table or chart; each file is built only when its button is clicked."""
    from . import export

    page = _page_title()
    scope = "_".join(p for p in (f.names.get(f.county) or f.names.get(f.city) or "全省", f.sector) if p)
    with (where or st).container(horizontal=True, horizontal_alignment="right", gap="small"):
        for label, ext, make in files:
            file_name = export.file_name(page, name, scope, as_of=f.as_of, ext=ext)
            st.download_button(label, _audited(make, file_name, f), file_name=file_name,
                               mime=export.MIME[ext], on_click="ignore", type="tertiary",
                               icon=":material/download:", key=f"dl_{name}_{ext}")


def _audited(make, file_name: str, f: Filters):
    """The file builder, recording who exported what under which scope when it is called.

    The builder runs when the browser asks for the file, outside the script run, so who and the
    scope are taken now.
    """
    from . import store

    user = current_user()
    actor = st.session_state.get("dev_actor") if user is auth.DEMO_USER else user.label
    path = store.store_path(settings().db_path)
    scope = " · ".join(x for x in (f.county or f.city or "全省", f.sector, f.as_of.isoformat(sep=" ")) if x)

    def build():
        data = make()
        store.record(path, actor or user.label, "export", scope, {"file": file_name, "bytes": len(data)})
        return data
    return build


def table(data, name: str, column_config=None, *, where=None, **kwargs):
    """st.dataframe as before (its return value, so on_select keeps working) + 下载 CSV / 下载 Excel
    of exactly the rows and columns shown, under the headers shown."""
    from . import export

    out = (where or st).dataframe(data, column_config=column_config, **kwargs)
    shown = {k: kwargs.get(k) for k in ("column_order", "hide_index", "placeholder")}

    def rows():
        return export.table(data, column_config, **shown)
    _download_buttons(where, name, [("下载 CSV", "csv", lambda: export.to_csv(rows())),
                                    ("下载 Excel", "xlsx", lambda: export.to_xlsx(rows(), name))], _export_scope())
    return out


def chart(fig, name: str, *, where=None, **kwargs):
    """st.plotly_chart as before + 下载 PNG / 下载 SVG drawn server-side (kaleido, Noto CJK), titled with
    the chart's name, scope and data time when the figure has no title of its own."""
    from . import export

    out = (where or st).plotly_chart(fig, **kwargs)
    f = _export_scope()
    subtitle = f"{f.label} · 数据时间 {fmt_time(f.as_of)}"
    _download_buttons(where, name, [
        ("下载 PNG", "png", lambda: export.figure_image(fig, "png", name, subtitle)),
        ("下载 SVG", "svg", lambda: export.figure_image(fig, "svg", name, subtitle))], f)
    return out


def show_table(t, name: str, **kwargs):
    """An export.Table (e.g. a briefing section) through `table`: its headers, number formats and cell colours."""
    frame = t.frame
    config = {}
    for c in t.columns:
        if c.kind == "int":
            config[c.label] = st.column_config.NumberColumn(c.label, format="localized")
        elif c.kind == "float":
            config[c.label] = st.column_config.NumberColumn(c.label, format=f"%.{c.decimals}f")
        elif c.kind in ("rate", "rate100"):   # shown × 100 as the pages do; the export divides again
            frame[c.label] = frame[c.label].astype("float64") * 100
            config[c.label] = st.column_config.NumberColumn(c.label, format=f"%.{c.decimals}f%%")
        elif c.kind in ("datetime", "date"):
            frame[c.label] = pd.to_datetime(frame[c.label])
            config[c.label] = (st.column_config.DatetimeColumn(c.label, format="YYYY-MM-DD HH:mm")
                               if c.kind == "datetime" else st.column_config.DateColumn(c.label, format="YYYY-MM-DD"))
    data = frame
    if t.colors:
        css = pd.DataFrame("", index=frame.index, columns=frame.columns)
        for (i, j), (bg, fg) in t.colors.items():
            css.iat[i, j] = f"background-color: {bg}; color: {fg or 'inherit'}"
        data = frame.style.apply(lambda _: css, axis=None)
    return table(data, name, config, hide_index=True, placeholder=t.placeholder, **kwargs)
