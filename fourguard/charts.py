"""Plotly figures for the pages: each builder takes a query's DataFrame and RETURNS a figure.

No streamlit here. Labels, legends and hover text are Chinese; colours come from palette.py (risk
scale, production status, neutral series, target lines); `style()` gives every figure the same
font, margins and legend placement.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from . import palette

FONT = "Noto Sans CJK SC, sans-serif"
TEXT = "#263238"
GRID = "#eceff1"
DARK_TEXT, DARK_GRID = "#cfd8dc", "#263845"   # style(dark=True): the wall's dark screen
UNREPORTED_COLOR = "#b0bec5"   # enterprise-days without a production report
STATUS_ORDER = ("正常生产", "闭环生产", "部分停产", "停产", "未上报")
DAY = "%m月%d日"                # hover format for dates


def style(fig: go.Figure, title: str | None = None, height: int = 340, legend: bool = True,
          pct_axis: str | None = None, dark: bool = False) -> go.Figure:
    """The house layout: CJK font, tight margins, horizontal legend above the plot, light grid.

    pct_axis "x" or "y" formats that axis as a percentage of 0..1 values; dark draws light text and
    a dim grid on a transparent background (the wall).
    """
    if title:
        fig.update_layout(title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}})
    fig.update_layout(
        font={"family": FONT, "size": 13, "color": TEXT},
        height=height,
        margin={"l": 8, "r": 16, "t": 48 if title else 28, "b": 8},
        showlegend=legend,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0,
                "title": {"text": ""}, "font": {"size": 12}},
        hoverlabel={"font": {"family": FONT, "size": 13}},
        separators=".,",
        plot_bgcolor="white",
        bargap=0.25,
    )
    fig.update_xaxes(gridcolor=GRID, zeroline=False, title_font={"size": 12})
    fig.update_yaxes(gridcolor=GRID, zeroline=False, title_font={"size": 12})
    if pct_axis:
        fig.update_layout({f"{pct_axis}axis": {"tickformat": ".0%"}})
    if dark:
        fig.update_layout(font_color=DARK_TEXT, paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)")
        fig.update_xaxes(gridcolor=DARK_GRID, linecolor=DARK_GRID)
        fig.update_yaxes(gridcolor=DARK_GRID, linecolor=DARK_GRID)
    return fig


def _day_axis(fig: go.Figure, days) -> None:
    """Month-day ticks: every day up to about two weeks, plotly's choice beyond."""
    fig.update_xaxes(tickformat="%m-%d")
    if pd.Series(days).nunique() <= 16:
        fig.update_xaxes(dtick=86400000.0)


def empty(message: str, height: int = 200) -> go.Figure:
    """A blank figure that says what is missing (pages normally show st.info instead)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 14, "color": palette.NEUTRAL},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, height=height, legend=False)


def mark_emergency(fig: go.Figure, periods: pd.DataFrame | None) -> go.Figure:
    """Shade a county's 应急 periods (started_at, ended_at) behind a daily chart; None adds nothing.

    A period is cut to the chart's first and last points, so it never stretches the axis."""
    xs = [pd.Timestamp(x) for trace in fig.data if trace.x is not None for x in trace.x if x is not None]
    for p in ([] if periods is None or not xs else periods.itertuples()):
        x0, x1 = max(pd.Timestamp(p.started_at), min(xs)), min(pd.Timestamp(p.ended_at), max(xs))
        if x0 >= x1:
            continue
        fig.add_vrect(x0=x0, x1=x1, fillcolor=palette.COLORS["高"], opacity=0.07, line_width=0, layer="below", annotation_text="应急状态", annotation_position="top left",
                      annotation_font={"size": 11, "color": palette.COLORS["高"]})
    return fig


# ---------------------------------------------------------------- testing coverage (R1/R2)

def coverage_bars(df: pd.DataFrame, name_col: str = "name", title: str | None = None, top: int = 30) -> go.Figure:
    """Horizontal bars of coverage_rate per group, lowest first (at most `top`), counts in the hover."""
    d = df.sort_values("coverage_rate", ascending=True, na_position="first")
    if len(d) > top:
        title = title or f"覆盖率最低的 {top} 个（共 {len(d)} 个）"
        d = d.head(top)
    fig = go.Figure(go.Bar(
        x=d["coverage_rate"], y=d[name_col], orientation="h",
        marker_color=palette.SEQUENCE[0],
        text=[f"{v:.1%}" if pd.notna(v) else "—" for v in d["coverage_rate"]], textposition="outside",
        customdata=d[["count_employees", "count_within_interval", "count_overdue"]].to_numpy(),
        hovertemplate="<b>%{y}</b><br>覆盖率 %{x:.1%}<br>在册员工 %{customdata[0]:,}"
                      "<br>间隔内已检 %{customdata[1]:,}<br>超时未检 %{customdata[2]:,}<extra></extra>",
    ))
    fig.update_xaxes(range=[0, 1.12], tickvals=[0, .25, .5, .75, 1], title_text="检测覆盖率")
    fig.update_yaxes(autorange="reversed", title_text="")
    return style(fig, title, height=max(220, 34 * len(d) + 90), legend=False, pct_axis="x")


def check_labels(times: pd.Series) -> pd.Series:
    """A check time as people say it: a day's last microsecond as 「06月05日 24:00」, any other moment
    as 「06月06日 10:30」."""
    t = pd.to_datetime(times)
    end_of_day = (t + pd.Timedelta(microseconds=1)).dt.normalize() == t + pd.Timedelta(microseconds=1)
    return t.dt.strftime(f"{DAY} %H:%M").where(~end_of_day, t.dt.strftime(f"{DAY} 24:00")).rename("check_label")


def coverage_trend(df: pd.DataFrame, title: str | None = None, x: str | None = None) -> go.Figure:
    """Daily coverage line, each point at its check time (check_at, else day); days whose look-back
    reaches before the first loaded sample (is_partial_history) are grey."""
    x = x or ("check_at" if "check_at" in df else "day")
    fig = go.Figure()
    partial = df["is_partial_history"] if "is_partial_history" in df else pd.Series(False, index=df.index)
    counts = ["count_employees", "count_within_interval", "count_overdue"]
    custom = (pd.concat([df[counts], check_labels(df[x])], axis=1).to_numpy(dtype=object)
              if set(counts) <= set(df.columns) else None)
    hover = (("%{customdata[3]}" if custom is not None else f"%{{x|{DAY} %H:%M}}") + "<br>覆盖率 %{y:.1%}"
             + ("<br>在册员工 %{customdata[0]:,}<br>间隔内已检 %{customdata[1]:,}<br>超时未检 %{customdata[2]:,}"
                if custom is not None else "") + "<extra></extra>")
    fig.add_trace(go.Scatter(
        x=df[x], y=df["coverage_rate"], mode="lines+markers+text", name="检测覆盖率",
        line={"color": palette.SEQUENCE[0], "width": 2.5},
        marker={"size": 8, "color": [palette.NEUTRAL if p else palette.SEQUENCE[0] for p in partial]},
        text=[f"{v:.0%}" if pd.notna(v) else "" for v in df["coverage_rate"]], textposition="top center",
        textfont={"size": 11}, customdata=custom, hovertemplate=hover,
    ))
    if partial.any():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="往前一个检测周期内尚无检测数据（偏低）",
                                 marker={"size": 8, "color": palette.NEUTRAL}))
    days = pd.to_datetime(df[x]).iloc[::max(1, -(-len(df) // 16))]   # at most ~16 labels
    fig.update_xaxes(tickvals=days, ticktext=[f"{d:%m-%d}" for d in days])
    low = df["coverage_rate"].min()
    fig.update_yaxes(range=[max(0, (low if pd.notna(low) else 0) - 0.08), 1.06], title_text="检测覆盖率")
    return style(fig, title, legend=bool(partial.any()), pct_axis="y")


def enterprise_coverage(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """One enterprise's daily coverage (same look as coverage_trend)."""
    x = next((c for c in ("check_at", "day", "report_date") if c in df), df.columns[0])
    return coverage_trend(df, title, x=x)


def overdue_by_rule(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Overdue staff per interval rule (常态 48 h, 流动岗位 24 h, 应急 每日, 闭环 每日)."""
    labels = df["rule"] + " · " + df["interval"]
    fig = go.Figure(go.Bar(
        x=df["count_overdue"], y=labels, orientation="h", marker_color=palette.COLORS["较高"],
        text=[f"{n:,} 人" + (f"（{s:.1%}）" if pd.notna(s) else "") for n, s in
              zip(df["count_overdue"], df["overdue_share"])],
        textposition="outside", cliponaxis=False,
        customdata=df[["count_employees"]].to_numpy(),
        hovertemplate="<b>%{y}</b><br>超时未检 %{x:,} 人<br>适用该规则 %{customdata[0]:,} 人<extra></extra>",
    ))
    top = df["count_overdue"].max() or 1
    fig.update_xaxes(range=[0, top * 1.35], title_text="超时未检人数", tickformat=",d")
    fig.update_yaxes(autorange="reversed")
    return style(fig, title, height=60 * len(df) + 70, legend=False)


# ---------------------------------------------------------------- output value (R6)

def output_coverage(df: pd.DataFrame, target: float, title: str | None = None) -> go.Figure:
    """Whitelisted share of each sector's output against the target line; a missing total is said, not 0."""
    known = df["output_share"].notna()
    colors = [palette.COLORS["低"] if s >= target else palette.COLORS["较高"] for s in df["output_share"].fillna(0)]
    fig = go.Figure(go.Bar(
        x=df["sector"], y=df["output_share"].where(known), marker_color=colors,
        text=[f"{s:.1%}" if k else "" for s, k in zip(df["output_share"], known)], textposition="outside",
        customdata=df[["listed_output_wan_yuan", "sector_output_wan_yuan", "count_counties_without_total"]]
        .fillna(-1).to_numpy(),
        hovertemplate="<b>%{x}</b><br>白名单产值占比 %{y:.1%}<br>白名单企业产值 %{customdata[0]:,.0f} 万元"
                      "<br>行业总产值 %{customdata[1]:,.0f} 万元<br>缺总产值的县区 %{customdata[2]} 个<extra></extra>",
    ))
    for sector in df.loc[~known, "sector"]:
        fig.add_annotation(x=sector, y=0.04, text="未导入<br>行业总产值", showarrow=False, yanchor="bottom",
                           font={"size": 12, "color": palette.NEUTRAL})
    line = {"color": palette.TARGET, "dash": "dash", "width": 1.5}
    fig.add_hline(y=target, line=line)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line, name=f"目标 {target:.0%}"))  # legend only
    fig.data[0].showlegend = False
    top = df["output_share"].max()
    fig.update_yaxes(range=[0, max(1.0, (top if pd.notna(top) else 0) + 0.12)], title_text="占行业总产值")
    return style(fig, title, pct_axis="y")


# ---------------------------------------------------------------- production (R9)

def status_mix(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Stacked bars per day: whitelisted enterprises by operating status (未上报 = no report)."""
    fig = go.Figure()
    colors = {**palette.STATUS_COLORS, "未上报": UNREPORTED_COLOR}
    # The rare statuses sit on the axis where they can be read; 正常生产 fills the top.
    for status in ("停产", "部分停产", "闭环生产", "未上报", "正常生产"):
        d = df[df["status"] == status]
        if d.empty:
            continue
        fig.add_trace(go.Bar(x=d["day"], y=d["count_enterprises"], name=status, marker_color=colors[status],
                             legendrank=STATUS_ORDER.index(status),
                             hovertemplate=f"{status} %{{y:,}} 家<extra></extra>"))
    fig.update_layout(barmode="stack", hovermode="x unified")
    _day_axis(fig, df["day"])
    fig.update_xaxes(hoverformat=DAY)
    fig.update_yaxes(title_text="企业数", tickformat=",d")
    fig = style(fig, title)
    fig.update_layout(legend={"traceorder": "normal"})
    return fig


def against_baseline(df: pd.DataFrame, value: str, baseline: str, name: str, unit: str,
                     title: str | None = None, color: str | None = None, value_format: str = ",.0f") -> go.Figure:
    """A daily series (line) against its pre-emergency baseline (dashed), e.g. output or staff on duty."""
    fig = go.Figure()
    ratio = (df[value] / df[baseline]).where(df[baseline] > 0)
    fig.add_trace(go.Scatter(
        x=df["day"], y=df[baseline], name="应急前基线", mode="lines",
        line={"color": palette.TARGET, "dash": "dash", "width": 1.5},
        hovertemplate=f"%{{x|{DAY}}}<br>基线 %{{y:{value_format}}} {unit}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=df["day"], y=df[value], name=name, mode="lines+markers",
        line={"color": color or palette.SEQUENCE[0], "width": 2.5}, marker={"size": 7},
        customdata=ratio.to_numpy(),
        hovertemplate=f"%{{x|{DAY}}}<br>{name} %{{y:{value_format}}} {unit}"
                      "<br>为基线的 %{customdata:.1%}<extra></extra>"))
    _day_axis(fig, df["day"])
    fig.update_yaxes(title_text=f"{name}（{unit}）" if unit else name, tickformat=value_format)
    return style(fig, title)


def enterprise_production(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """One enterprise's reports: daily output bars coloured by status, capacity utilisation line."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    for status in STATUS_ORDER[:-1]:
        d = df[df["status"] == status]
        if d.empty:
            continue
        fig.add_trace(go.Bar(x=d["report_date"], y=d["output_wan_yuan"], name=status,
                             marker_color=palette.STATUS_COLORS[status],
                             hovertemplate=f"%{{x|{DAY}}}<br>{status}<br>产值 %{{y:,.2f}} 万元<extra></extra>"),
                      secondary_y=False)
    fig.add_trace(go.Scatter(x=df["report_date"], y=df["capacity_pct"], name="产能利用率", mode="lines+markers",
                             line={"color": palette.TARGET, "width": 2},
                             hovertemplate=f"%{{x|{DAY}}}<br>产能利用率 %{{y:.1f}}%<extra></extra>"),
                  secondary_y=True)
    _day_axis(fig, df["report_date"])
    fig.update_yaxes(title_text="产值（万元）", secondary_y=False)
    fig.update_yaxes(title_text="产能利用率（%）", range=[0, 105], secondary_y=True, showgrid=False)
    return style(fig, title)


# ---------------------------------------------------------------- issues

def issue_backlog_age(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Open issues per age bucket, split into past deadline (red) and within deadline."""
    within = df["count_open"] - df["count_overdue"]
    fig = go.Figure([
        go.Bar(x=df["age_bucket"], y=within, name="未超期", marker_color=palette.NEUTRAL,
               hovertemplate="<b>%{x}</b><br>未超期 %{y:,} 件<extra></extra>"),
        go.Bar(x=df["age_bucket"], y=df["count_overdue"], name="已超期", marker_color=palette.COLORS["高"],
               hovertemplate="<b>%{x}</b><br>已超期 %{y:,} 件<extra></extra>"),
    ])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="已提出时长")
    fig.update_yaxes(title_text="未办结诉求（件）")
    return style(fig, title)


def issue_closure_by(df: pd.DataFrame, label: str, title: str | None = None, top: int = 15) -> go.Figure:
    """Per group: closed / open within deadline / past deadline, horizontal stacked bars (top by backlog)."""
    df = df.head(top).iloc[::-1]
    parts = (("已办结", df["count_closed"], palette.COLORS["低"]),
             ("未办结（未超期）", df["count_open"] - df["count_overdue"], palette.NEUTRAL),
             ("已超期", df["count_overdue"], palette.COLORS["高"]))
    rate = df["closure_rate"].fillna(0).to_numpy()
    fig = go.Figure([go.Bar(y=df["name"], x=x, name=name, orientation="h", marker_color=color, customdata=rate,
                            hovertemplate=f"<b>%{{y}}</b><br>{name} %{{x:,}} 件<br>办结率 %{{customdata:.1%}}"
                                          "<extra></extra>")
                     for name, x, color in parts])
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title_text="诉求（件）")
    fig.update_yaxes(title_text=label, automargin=True)
    return style(fig, title, height=max(260, 26 * len(df) + 90))


def issue_trend(df: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Issues reported vs resolved per day."""
    fig = go.Figure([
        go.Bar(x=df["day"], y=df["count_opened"], name="新提出", marker_color=palette.SEQUENCE[0],
               hovertemplate="%{x|" + DAY + "}<br>新提出 %{y:,} 件<extra></extra>"),
        go.Bar(x=df["day"], y=df["count_closed"], name="办结", marker_color=palette.COLORS["低"],
               hovertemplate="%{x|" + DAY + "}<br>办结 %{y:,} 件<extra></extra>"),
    ])
    fig.update_layout(barmode="group")
    _day_axis(fig, df["day"])
    fig.update_yaxes(title_text="诉求（件）")
    return style(fig, title)
