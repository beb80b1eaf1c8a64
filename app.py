"""fourguard: the router — page config, the embedded default database, sign-in, navigation by role."""
from pathlib import Path

import streamlit as st

from fourguard import auth, ui

st.set_page_config(page_title="四保白名单企业监测", page_icon=str(Path(__file__).parent / "data" / "icon.png"), layout="wide")
ui.mark_routed()
ui.ensure_database()
user = ui.sign_in()

READ = {"province", "city", "county", "analyst"}          # the monitoring pages
ACT = {"province", "city", "county", "department"}        # issue write-backs
# section → pages: (file, title, icon, url_path, roles that see it). url_path = the name Streamlit
# derives from pages/NN_name.py, so a deep link resolves the same page whether it arrives before or
# after this router took over (see ui.py, legacy multipage mode). A page missing from a user's
# navigation cannot be opened by URL either.
PAGES = {
    "监测": [
        ("pages/01_overview.py", "总览", ":material/dashboard:", None, READ),
        ("pages/02_coverage.py", "覆盖率", ":material/biotech:", "coverage", READ),
        ("pages/03_overdue.py", "超时未检", ":material/alarm:", "overdue", READ),
        ("pages/04_risk_map.py", "风险地图", ":material/map:", "risk_map", READ),
        ("pages/05_production.py", "生产经营", ":material/factory:", "production", READ),
        ("pages/06_enterprise.py", "企业详情", ":material/domain:", "enterprise", READ | {"department"}),
    ],
    "一键响应": [
        ("pages/08_issues.py", "问题办结", ":material/assignment:", "issues", READ | {"department"}),
        ("pages/09_issue_desk.py", "诉求办理", ":material/edit_note:", "issue-desk", ACT),
        ("pages/11_emergency.py", "平急转换", ":material/emergency:", "emergency", auth.CAN_SWITCH_STATE),
    ],
    "指挥大屏": [
        ("pages/10_wall.py", "一屏掌控", ":material/tv:", "wall", READ | {"wall"}),
    ],
    "分析导出": [
        ("pages/12_briefing.py", "日报/通报", ":material/summarize:", "briefing", READ),
    ],
    "数据": [
        ("pages/07_data.py", "数据状态", ":material/database:", "data", {"province"}),
    ],
}

nav = {}
# The first page shown is the role's home: a department handler starts on its issues.
order = sorted(PAGES, key=lambda section: section != "一键响应") if user.role == "department" else list(PAGES)
for section in order:
    pages = PAGES[section]
    shown = [st.Page(file, title=title, icon=icon, **({"url_path": url} if url else {}))
             for file, title, icon, url, roles in pages if user.role in roles]
    if shown:
        nav[section] = shown
st.navigation(nav).run()
