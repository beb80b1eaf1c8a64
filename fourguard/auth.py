"""Who is using the dashboard and what they may see and do: accounts, roles, scope.

Three ways in, decided once per start by `mode()`:
- "oidc": `.streamlit/secrets.toml` has an [auth] section → Streamlit's st.login; the accounts
  file maps each identity (its e-mail) to a role and an area.
- "accounts": the accounts file (setting `accounts_path`, default accounts.json beside the
  database) has users → a login form checking
  argon2id hashes (argon2-cffi: salted, memory-hard, parameters stored in the hash).
- "demo": no login, explicitly: setting `auth = "demo"`, or the public demo hash key with no
  accounts (the embedded demo a fresh clone starts on). A deployment that sets its own hash key and
  no accounts gets "setup" — a page saying how to add users — never an open dashboard.

Roles (ROLES) and their scope: province — everything; city — its counties; county — its own;
department — issues assigned to its department (within its area, if one is set); analyst — read
and export within its area; wall — the wall screen only.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .config import DEMO_HASH_KEY, Settings, settings

ROLES = {
    "province": "省指挥部",
    "city": "市指挥部",
    "county": "县（市、区）指挥部",
    "department": "责任单位办理人",
    "analyst": "分析人员",
    "wall": "指挥大屏",
}
# What each role may do beyond reading its scope.
CAN_WRITE_ISSUES = {"province", "city", "county", "department"}
CAN_SWITCH_STATE = {"province", "city", "county"}
CAN_UPLOAD = {"province"}
CAN_EXPORT = {"province", "city", "county", "department", "analyst"}

_HASHER = PasswordHasher()


class AccessDenied(Exception):
    """The user asked for data or an action outside their role or area."""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    role: str
    city: str | None = None          # 6-digit code of the 省辖市 (city role, or to narrow others)
    county: str | None = None        # 6-digit code of the county (county role, or to narrow others)
    department: str | None = None    # department role: the 责任单位 whose issues it handles
    email: str | None = None         # OIDC identity mapped to this account
    password_hash: str | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.name}（{ROLES[self.role]}）"

    def can(self, what: set) -> bool:
        return self.role in what

    def area(self) -> dict:
        """The area the user is confined to: {"county": …} or {"city": …} or {} (whole province)."""
        if self.county:
            return {"county": self.county}
        if self.city:
            return {"city": self.city}
        return {}


DEMO_USER = User("demo", "演示用户", "province")


def validate(user: User) -> None:
    """Refuse an account that could not be enforced (e.g. a county user without a county)."""
    if user.role not in ROLES:
        raise ValueError(f"角色只能是 {'、'.join(ROLES)}，收到 {user.role!r}")
    for code in (user.city, user.county):
        if code is not None and not (len(code) == 6 and code.isdigit()):
            raise ValueError(f"区划代码应为 6 位数字，收到 {code!r}")
    if user.role == "city" and not user.city:
        raise ValueError("市级账号需要 --city（省辖市代码）")
    if user.role == "county" and not user.county:
        raise ValueError("县级账号需要 --county（县区代码）")
    if user.role == "department" and not user.department:
        raise ValueError("责任单位账号需要 --department（责任单位名称，与诉求交办时的名称一致）")


# ---------------------------------------------------------------- the accounts file

def load(path: Path | None = None) -> dict[str, User]:
    path = Path(path or settings().accounts_file)
    if not path.exists():
        return {}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))["users"]
        return {r["username"]: User(**r) for r in rows}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"账号文件 {path} 无法读取：{exc}") from exc


def save(users: dict[str, User], path: Path | None = None) -> None:
    """Write atomically (temp file + rename), readable only by its owner: it holds password hashes."""
    path = Path(path or settings().accounts_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"users": [asdict(u) for u in users.values()]}, ensure_ascii=False, indent=2)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(body)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def add_user(user: User, password: str | None, path: Path | None = None, replace: bool = False) -> User:
    validate(user)
    users = load(path)
    if user.username in users and not replace:
        raise ValueError(f"账号 {user.username} 已存在（修改请加 --replace）")
    if password is not None:
        if len(password) < 10:
            raise ValueError("密码至少 10 位")
        user = User(**{**asdict(user), "password_hash": _HASHER.hash(password)})
    elif not user.email:
        raise ValueError("请设置密码，或用 --email 绑定统一身份认证（st.login）账号")
    users[user.username] = user
    save(users, path)
    return user


def remove_user(username: str, path: Path | None = None) -> None:
    users = load(path)
    if users.pop(username, None) is None:
        raise ValueError(f"没有账号 {username}")
    save(users, path)


def verify(username: str, password: str, path: Path | None = None) -> User | None:
    """The user if the password matches its hash, else None (same work either way)."""
    user = load(path).get(username)
    try:
        _HASHER.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user if user and user.password_hash else None


_DUMMY_HASH = _HASHER.hash("fourguard-no-such-user")


def by_email(email: str | None, path: Path | None = None) -> User | None:
    if not email:
        return None
    return next((u for u in load(path).values() if u.email and u.email.lower() == email.lower()), None)


# ---------------------------------------------------------------- how people get in

def mode(s: Settings | None = None, oidc_configured: bool = False) -> str:
    """"oidc", "accounts", "demo" or "setup" (a deployment with nobody allowed in yet)."""
    s = s or settings()
    if s.auth not in ("auto", "demo", "accounts", "oidc"):
        raise ValueError(f"auth 只能是 auto、demo、accounts 或 oidc，收到 {s.auth!r}")
    if s.auth == "demo":
        return "demo"
    if s.auth == "oidc" or (s.auth == "auto" and oidc_configured):
        return "oidc"
    if load(s.accounts_file):
        return "accounts"
    if s.auth == "auto" and s.hash_key == DEMO_HASH_KEY:
        return "demo"
    return "setup"


# ---------------------------------------------------------------- scope

def clamp(user: User, county: str | None, city: str | None, county_city: dict[str, str]) -> tuple:
    """(county, city) the user may see for the requested ones; AccessDenied for another area.

    `county_city` maps county code → city code. None requested means "all I may see".
    """
    if county and county not in county_city:
        raise AccessDenied(f"没有县区 {county}")
    if user.county:
        if county not in (None, user.county) or city not in (None, county_city.get(user.county)):
            raise AccessDenied("只能查看本县（市、区）的数据")
        return user.county, county_city.get(user.county)
    if user.city:
        if city not in (None, user.city) or (county and county_city[county] != user.city):
            raise AccessDenied("只能查看本市的数据")
        return county, user.city
    return county, (county_city[county] if county else city)


def in_area(user: User, county_code: str | None, city_code: str | None) -> bool:
    """May the user see a record located in this county / city?"""
    if user.county:
        return county_code == user.county
    if user.city:
        return city_code == user.city
    return True
