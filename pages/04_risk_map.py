"""风险地图: where the risk is and what makes it — county polygons and enterprise points, offline."""
import streamlit as st

from fourguard import maps, palette, queries, risk, ui

f = ui.filter_bar()
data = ui.query(queries.risk_map, f.as_of, **f.scope)
counties, enterprises = data["counties"], data["enterprises"]

st.title("风险地图")
st.caption(f"{f.label} · 数据时间 {ui.fmt_time(f.as_of)}" + ("（最新）" if f.as_of == f.latest else "")
           + " · 点击县区即把全站筛选到该县区，点击企业圆点打开企业详情")

left, right = st.columns([4, 1])
with left:
    event = st.pydeck_chart(maps.risk_deck(counties, enterprises, f.county, f.city), height=560,
                            on_select="rerun", selection_mode="single-object",
                            key=f"risk_map_{f.city}_{f.county}_{f.sector}", alt="县区与白名单企业风险地图")
action = maps.click_action(event.selection, f.county, counties)
if action and action[0] == "county":
    ui.set_scope(county=action[1])
if action and action[0] == "enterprise":
    st.switch_page("pages/06_enterprise.py", query_params=f.url(ent=action[1]))

with right:
    st.markdown("**风险等级**（县区着色、企业圆点）")
    st.markdown(maps.legend_html(), unsafe_allow_html=True)
    st.caption("圆点大小表示员工人数。等级由风险分决定；聚集性疫情直接为高，有阳性病例至少为较高。")
    high = counties["risk_level"].isin(palette.LEVELS[2:]).sum()
    st.metric("较高及以上风险县区", f"{ui.fmt_int(high)} / {ui.fmt_int(len(counties))}")
    st.metric("较高及以上风险企业", ui.fmt_int(enterprises["risk_level"].isin(palette.LEVELS[2:]).sum()))
    if f.county and st.button(f"返回{f.names.get(f.city, '全省')}", width="stretch"):
        ui.set_scope(city=f.city)

if enterprises.empty:
    st.info("当前范围内没有白名单企业数据（检查行业筛选，或在「数据状态」页导入白名单企业台账），地图只显示县区边界。")
    st.stop()


def level_colors(styler):
    """The one risk colour scale on the 等级 column."""
    text = {"中": "#212121"}  # dark text on yellow, white on the others
    return styler.map(lambda v: f"background-color: {palette.COLORS.get(v, '')}; color: {text.get(v, 'white')}",
                      subset=["等级"])


points_config = {label: st.column_config.NumberColumn(label, format="%.1f", help=f"{label}（{risk.RULES[k]}）得分")
                 for k, label in risk.COMPONENTS.items()}
points_config["风险分"] = st.column_config.NumberColumn("风险分", format="%.1f", help="0–100，各分项得分之和")
points_config["code"] = None
points_config["主要因素"] = st.column_config.TextColumn("主要因素", width="large",
                                                    help="得分最高的分项；［］内为等级上调的原因")

if f.county:
    st.subheader(f"{f.names.get(f.county, '')}：风险最高的企业及其构成")
    rows, name = risk.table(enterprises, "enterprise", limit=15, with_county=False), "企业"
else:
    st.subheader("各县区风险构成" + ("（前15个县区）" if len(counties) > 15 else ""))
    rows, name = risk.table(counties, "county"), "县区"
ui.chart(risk.components_figure(rows.head(15), name), f"{name}风险构成", width="stretch")
picked_rows = ui.table(level_colors(rows.style), f"{name}风险排名",
                           hide_index=True, width="stretch", column_config=points_config,
                           height=36 * min(len(rows), 15) + 40, on_select="rerun", selection_mode="single-row",
                           key=f"risk_table_{f.county}")
for i in picked_rows.selection.rows:
    if f.county:
        st.switch_page("pages/06_enterprise.py", query_params=f.url(ent=rows.at[i, "code"]))
    ui.set_scope(county=rows.at[i, "code"])
st.caption("选中一行：县区 → 筛选到该县区；企业 → 打开企业详情。各分项得分之和即风险分。")

if not f.county:
    st.subheader("风险最高的企业")
    top = risk.table(enterprises, "enterprise", limit=20)
    picked_ents = ui.table(level_colors(top.style), "风险最高的企业",
                               hide_index=True, width="stretch", column_config=points_config,
                               height=36 * min(len(top), 10) + 40, on_select="rerun", selection_mode="single-row",
                               key="risk_top_enterprises")
    for i in picked_ents.selection.rows:
        st.switch_page("pages/06_enterprise.py", query_params=f.url(ent=top.at[i, "code"]))

with st.expander("计分方法（权重与满分条件来自配置 risk_weights / risk_bounds）"):
    ui.table(risk.method(), "计分方法", hide_index=True, width="stretch")
    lo, mid, hi = risk.level_bounds()
    st.caption(f"每个分项按「实际值 ÷ 满分条件」线性计分、封顶 1，乘以权重后相加得风险分（0–100）。"
               f"等级：低 <{lo:g}，中 <{mid:g}，较高 <{hi:g}，高 ≥{hi:g} 分。")
