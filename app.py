"""fourguard: the router — page config, the embedded default database, navigation."""
import streamlit as st

from fourguard import ui

st.set_page_config(page_title="四保白名单企业监测", page_icon="🛡️", layout="wide")
ui.ensure_database()
st.navigation([
    st.Page("pages/01_overview.py", title="总览", icon="🏠", default=True),
]).run()
