"""fourguard: the router — page config, the embedded default database, navigation."""
from pathlib import Path

import streamlit as st

from fourguard import ui

st.set_page_config(page_title="四保白名单企业监测", page_icon=str(Path(__file__).parent / "data" / "icon.png"), layout="wide")
ui.ensure_database()
# url_path = the name Streamlit derives from pages/NN_name.py, so a deep link resolves the same page
# whether it arrives before or after this router took over (see ui.py, legacy multipage mode).
st.navigation({
    "监测": [
        st.Page("pages/01_overview.py", title="总览", icon=":material/dashboard:", default=True),
        st.Page("pages/02_coverage.py", title="覆盖率", icon=":material/biotech:", url_path="coverage"),
        st.Page("pages/03_overdue.py", title="超时未检", icon=":material/alarm:", url_path="overdue"),
        st.Page("pages/04_risk_map.py", title="风险地图", icon=":material/map:", url_path="risk_map"),
        st.Page("pages/05_production.py", title="生产经营", icon=":material/factory:", url_path="production"),
        st.Page("pages/06_enterprise.py", title="企业详情", icon=":material/domain:", url_path="enterprise"),
    ],
    "一键响应": [
        st.Page("pages/08_issues.py", title="问题办结", icon=":material/assignment:", url_path="issues"),
        st.Page("pages/09_issue_desk.py", title="诉求办理", icon=":material/edit_note:", url_path="issue-desk"),
    ],
    "数据": [
        st.Page("pages/07_data.py", title="数据状态", icon=":material/database:", url_path="data"),
    ],
}).run()
