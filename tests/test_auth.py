"""Access: accounts with argon2 hashes, sign-in modes, and the user's area enforced where data is read."""
from __future__ import annotations

import csv
import io
import os
import stat
import subprocess
import sys
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from fourguard import auth, closure, db, freshness, queries, store, ui
from fourguard.config import Settings
from tests import crafted
from tests.conftest import ROOT

PASSWORD = "correct horse battery"
OTHER_COUNTY, OTHER_CITY = crafted.NORMAL, "411300"        # 方城县, 南阳市
OWN_COUNTY, OWN_CITY = crafted.ISSUES, "410100"            # 荥阳市, 郑州市
USERS = [
    auth.User("xian", "荥阳县区用户", "county", county=OWN_COUNTY),
    auth.User("shi", "郑州市级用户", "city", city=OWN_CITY),
    auth.User("sheng", "省级用户", "province"),
    auth.User("gxj", "工信局办理人", "department", department="工信局"),
    auth.User("fenxi", "分析员", "analyst", city=OWN_CITY),
    auth.User("da", "大屏", "wall"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Settings:
    """The crafted world (counties in three cities) with an account per role beside its database."""
    _, s, _, _ = crafted.build(tmp_path_factory.mktemp("auth"))
    for user in USERS:
        auth.add_user(user, PASSWORD, s.accounts_file)
    return s


@pytest.fixture
def signed(world, app_on):
    return app_on(world)


def run_as(username: str | None, page: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    if username:
        at.session_state["auth_username"] = username
    at.run()
    if page:
        at.switch_page(f"pages/{page}").run()
    assert not at.exception, at.exception
    return at


# ---------------------------------------------------------------- accounts

def test_passwords_are_salted_argon2id_hashes_in_an_owner_only_file(world):
    users = auth.load(world.accounts_file)
    hashes = [u.password_hash for u in users.values()]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert len(set(hashes)) == len(hashes)                      # same password, different salts
    assert PASSWORD not in world.accounts_file.read_text(encoding="utf-8")
    assert stat.S_IMODE(os.stat(world.accounts_file).st_mode) == 0o600


@pytest.mark.parametrize("username, password, ok", [
    ("xian", PASSWORD, True), ("xian", PASSWORD + "x", False), ("nobody", PASSWORD, False), ("xian", "", False)])
def test_verify(world, username, password, ok):
    user = auth.verify(username, password, world.accounts_file)
    assert (user is not None and user.username == username) if ok else user is None


@pytest.mark.parametrize("user, words", [
    (auth.User("a", "a", "county"), "--county"),
    (auth.User("a", "a", "city"), "--city"),
    (auth.User("a", "a", "department"), "--department"),
    (auth.User("a", "a", "mayor"), "角色"),
    (auth.User("a", "a", "county", county="4113"), "6 位"),
])
def test_accounts_that_could_not_be_enforced_are_refused(tmp_path, user, words):
    with pytest.raises(ValueError, match=words):
        auth.add_user(user, PASSWORD, tmp_path / "accounts.json")
    assert not (tmp_path / "accounts.json").exists()


def test_user_command_adds_lists_and_removes(tmp_path):
    env = {**os.environ, "FOURGUARD_DB": str(tmp_path / "fg.duckdb")}
    run = lambda *a, stdin=None: subprocess.run([sys.executable, "-m", "fourguard", "user", *a], input=stdin,  # noqa: E731
                                                capture_output=True, text=True, env=env, cwd=ROOT)
    added = run("add", "zhang", "--role", "county", "--county", "411322", "--name", "张伟", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert auth.verify("zhang", PASSWORD, tmp_path / "accounts.json").county == "411322"
    assert "zhang\t张伟\t县（市、区）指挥部\t411322" in run("list").stdout
    assert run("add", "zhang", "--password-stdin", stdin=PASSWORD + "\n").returncode != 0   # exists
    assert run("remove", "zhang").returncode == 0 and auth.load(tmp_path / "accounts.json") == {}


@pytest.mark.parametrize("setting, own_key, accounts, oidc, expected", [
    ("auto", False, False, False, "demo"),       # a fresh clone on the embedded demo
    ("auto", True, False, False, "setup"),       # a deployment nobody was let into yet: closed
    ("auto", True, True, False, "accounts"),
    ("auto", False, True, False, "accounts"),
    ("auto", True, True, True, "oidc"),
    ("demo", True, True, False, "demo"),         # only when asked for
])
def test_sign_in_mode(tmp_path, setting, own_key, accounts, oidc, expected):
    s = Settings(db_path=tmp_path / "fg.duckdb", auth=setting, **({"hash_key": "x" * 40} if own_key else {}))
    if accounts:
        auth.add_user(USERS[0], PASSWORD, s.accounts_file)
    assert auth.mode(s, oidc_configured=oidc) == expected


@pytest.mark.parametrize("user, county, city, expected", [
    (USERS[0], None, None, (OWN_COUNTY, OWN_CITY)),
    (USERS[0], OWN_COUNTY, None, (OWN_COUNTY, OWN_CITY)),
    (USERS[0], OTHER_COUNTY, None, auth.AccessDenied),
    (USERS[0], None, OTHER_CITY, auth.AccessDenied),
    (USERS[1], None, None, (None, OWN_CITY)),
    (USERS[1], OWN_COUNTY, None, (OWN_COUNTY, OWN_CITY)),
    (USERS[1], OTHER_COUNTY, None, auth.AccessDenied),
    (USERS[2], OTHER_COUNTY, None, (OTHER_COUNTY, OTHER_CITY)),
])
def test_clamp(user, county, city, expected):
    county_city = {OWN_COUNTY: OWN_CITY, OTHER_COUNTY: OTHER_CITY}
    if expected is auth.AccessDenied:
        with pytest.raises(auth.AccessDenied):
            auth.clamp(user, county, city, county_city)
    else:
        assert auth.clamp(user, county, city, county_city) == expected


# ---------------------------------------------------------------- sign-in screens

def test_login_form(signed):
    at = run_as(None)
    assert at.title[0].value.endswith("登录") and not at.metric
    at.text_input(key="login_name").input("xian")
    at.text_input(key="login_password").input("wrong password").run()
    at.button[0].click().run()
    assert "不正确" in at.error[0].value and not at.metric
    at.text_input(key="login_name").input("xian")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and at.metric and "荥阳县区用户" in at.sidebar.caption[0].value


def test_a_deployment_without_accounts_stays_closed(world, app_on, tmp_path, monkeypatch):
    monkeypatch.setenv("FOURGUARD_HASH_KEY", "y" * 40)
    s = app_on(replace(world, db_path=tmp_path / "fg.duckdb"))
    s.db_path.write_bytes(world.db_path.read_bytes())
    at = run_as(None)
    assert at.title[0].value == "尚未配置登录" and "user add" in at.markdown[0].value and not at.metric


# ---------------------------------------------------------------- scope where the data is read

PAGES = ["01_overview.py", "02_coverage.py", "03_overdue.py", "04_risk_map.py", "05_production.py",
         "06_enterprise.py", "08_issues.py", "09_issue_desk.py", "10_wall.py", "11_emergency.py", "12_briefing.py"]


@pytest.fixture
def reads(monkeypatch):
    """Every query a page makes, with the arguments after the user's area was applied."""
    seen = []
    real = ui._within_area

    def spy(fn, args, kwargs):
        bound = real(fn, args, kwargs)
        seen.append((fn.__name__, bound))
        return bound
    monkeypatch.setattr(ui, "_within_area", spy)
    return seen


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("username, county, city", [("xian", OWN_COUNTY, OWN_CITY), ("shi", None, OWN_CITY)])
def test_an_area_user_reads_only_its_area_whatever_the_url_says(signed, reads, page, username, county, city):
    at = run_as(username, page, county=OTHER_COUNTY, city=OTHER_CITY)
    assert not at.error, [e.value for e in at.error]
    scoped = [(name, b) for name, b in reads if "county" in b or "city" in b]
    assert scoped, "the page read nothing through ui.query"
    for name, b in scoped:
        assert b.get("city", city) == city, name
        if county:
            assert b.get("county") == county, name
        else:
            assert b.get("county") is None or b["county"].startswith("4101"), name   # a county of 郑州市
    if page != "10_wall.py":                                       # the wall has no filter bar
        assert at.selectbox(key="f_city").options == ["郑州市"]  # nothing wider to choose from


def test_an_enterprise_of_another_county_is_refused(signed, world):
    con = db.connect(world.db_path, world).cursor()
    other = con.execute("SELECT credit_code FROM stg_enterprises WHERE county_code = ?", [OTHER_COUNTY]).fetchone()[0]
    own = con.execute("SELECT credit_code FROM stg_enterprises WHERE county_code = ?", [OWN_COUNTY]).fetchone()[0]
    at = run_as("xian", "06_enterprise.py", ent=other)
    assert at.error and "无权查看" in at.error[0].value
    at = run_as("xian", "06_enterprise.py", ent=own)
    assert not at.error, [e.value for e in at.error]


def test_a_department_handler_sees_its_own_issues(signed, world):
    at = run_as("gxj", "08_issues.py")
    con = db.connect(world.db_path, world).cursor()
    mine = closure.issue_closure(con, freshness.latest_time(con), department="工信局")
    assert len(mine) >= 1 and set(mine.department) == {"工信局"}
    assert next(m.value for m in at.metric if m.label == "诉求总数") == ui.fmt_int(len(mine))


@pytest.mark.parametrize("username, visible, hidden", [
    ("fenxi", {"总览", "问题办结"}, {"诉求办理", "数据状态"}),
    ("gxj", {"问题办结", "诉求办理"}, {"总览", "数据状态"}),
    ("xian", {"总览", "诉求办理"}, {"数据状态"}),
    ("sheng", {"总览", "诉求办理", "数据状态"}, set()),
])
def test_navigation_follows_the_role(signed, username, visible, hidden):
    at = run_as(username)
    titles = {p["page_name"] for p in at._registered_pages.values()}
    assert visible <= titles and not (hidden & titles), titles


def test_a_page_outside_the_role_cannot_be_opened(signed):
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        run_as("fenxi", "09_issue_desk.py")      # an analyst typing the desk's address


def test_single_sign_on_maps_the_identity_to_an_account(signed, world):
    auth.add_user(auth.User("sso", "统一认证用户", "county", county=OWN_COUNTY, email="sso@example.cn"), None,
                  world.accounts_file)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://sso.example.cn/.well-known/openid-configuration"}
    at.run()
    assert at.button[0].label == "统一身份认证登录" and not at.metric
    at.user.update({"is_logged_in": True, "email": "sso@example.cn", "name": "SSO"})
    at.run()
    assert not at.exception and at.metric and "统一认证用户" in at.sidebar.caption[0].value


def test_an_export_holds_only_the_users_area_and_is_recorded(signed, world, downloads):
    files = downloads
    run_as("shi", "03_overdue.py", county=OTHER_COUNTY, city=OTHER_CITY)    # a city user asking for 南阳
    name = next(n for n in files if "企业排名" in n and n.endswith(".csv"))
    assert "郑州市" in name
    rows = list(csv.reader(io.StringIO(files[name]().decode("utf-8-sig"))))
    counties = {r[rows[0].index("县（市、区）")] for r in rows[1:]}
    zhengzhou = set(queries.areas(db.connect(world.db_path, world).cursor()).query("city_code == @OWN_CITY").county_name)
    assert counties and counties <= zhengzhou
    audit = store.read_audit(store.store_path(world.db_path))
    assert audit[audit.action == "export"].actor.iloc[-1] == "郑州市级用户（市指挥部）"
