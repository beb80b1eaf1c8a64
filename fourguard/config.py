"""Settings: paths, hash key, rule intervals, time limits. Defaults here, overrides from TOML.

A deployment sets `FOURGUARD_CONFIG=/etc/fourguard.toml`; any key below may appear there, e.g.

    hash_key = "…long random secret…"
    [intervals_hours]
    normal = 84        # seed 004: enterprise-wide testing twice a week
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_DIR / "data"

# The hash key only makes ID hashes unlinkable across deployments; the demo key is public on
# purpose, so a production config must set its own (README: "个人信息与密钥").
DEMO_HASH_KEY = "fourguard-demo-key-not-for-production"


@dataclass(frozen=True)
class Settings:
    """Everything a deployment may change; read once per process by `settings()`."""

    db_path: Path = DATA_DIR / "store" / "fourguard.duckdb"
    demo_dir: Path = DATA_DIR / "demo"
    demo_scale: str = "city"              # what the dashboard builds on first start with no database
    hash_key: str = DEMO_HASH_KEY
    # R1: hours between samples, per rule; the strictest rule that applies wins.
    intervals_hours: dict = field(default_factory=lambda: {
        "normal": 48,        # 常态 普通岗位 / 保供岗位
        "mobile": 24,        # 流动接触岗位（物流、销售等）
        "emergency": 24,     # 县区应急状态：每日一检
        "closed_loop": 24,   # 企业闭环生产：每日一检
    })
    recheck_limit_hours: float = 6        # R8
    shutdown_limit_days: int = 3          # R9
    output_coverage_target: float = 0.70  # R6
    hut_headcount: int = 1000             # R7
    cluster_window_hours: float = 72      # R15: two positives this close in one enterprise
    alert_lookback_days: int = 7          # positives, clusters, rechecks, shutdowns counted back
    issue_limit_workdays: dict = field(default_factory=lambda: {"default": 5})  # R11
    stale_after_hours: dict = field(default_factory=lambda: {"default": 24})
    future_tolerance_minutes: int = 10    # clocks drift; beyond this a timestamp is "in the future"
    # What "now" is for a write-back (fourguard/clock.py): "wall" = the system clock (a live
    # deployment), "data" = the newest time in the feeds (a demo or an archive being replayed),
    # "auto" = "data" when the newest feed time is more than `archive_after_days` old, else "wall".
    clock: str = "auto"
    archive_after_days: int = 30
    # Who may get in (fourguard/auth.py): "auto" = st.login if .streamlit/secrets.toml has [auth],
    # else the accounts file if it has users, else no login only on the public demo hash key;
    # "demo" = no login, explicitly; "accounts" / "oidc" force one.
    auth: str = "auto"
    accounts_path: Path | None = None     # default: accounts.json beside the database
    # Risk map (docs/risk.md): relative weight of each component in the 0–100 score; 0 turns one off.
    risk_weights: dict = field(default_factory=lambda: {
        "positives": 30,     # R15 阳性 / 聚集性疫情
        "overdue": 25,       # R2 超时未检占比
        "red_yellow": 10,    # R4 红黄码扫码（24小时）
        "emergency": 10,     # R14 县区应急状态
        "rechecks": 10,      # R8 复核超时
        "issues": 10,        # R11 诉求超期未办结
        "shutdowns": 5,      # R9 停产超3天
    })
    # Score where each level starts, the value at which a component is full (1), and the level a
    # cluster or a positive forces at least.
    risk_bounds: dict = field(default_factory=lambda: {
        "medium": 25, "elevated": 50, "high": 75,
        "positives": 2, "overdue_share": 0.2, "red_yellow": 10, "rechecks": 3, "issues": 5,
        "shutdowns": 1,
        "cluster_level": "高", "positive_level": "较高",
    })

    @property
    def accounts_file(self) -> Path:
        return Path(self.accounts_path) if self.accounts_path else Path(self.db_path).parent / "accounts.json"

    def interval(self, rule: str) -> float:
        """Hours allowed between samples under one R1 rule."""
        return float(self.intervals_hours[rule])


def _coerce(name: str, value):
    return Path(value) if name in ("db_path", "demo_dir", "accounts_path") else value


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """Defaults, then the TOML file named by FOURGUARD_CONFIG, then FOURGUARD_DB / FOURGUARD_HASH_KEY."""
    base = Settings()
    path = path or os.environ.get("FOURGUARD_CONFIG")
    overrides: dict = {}
    if path:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
        known = {f.name for f in fields(Settings)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"配置文件 {path} 含未知项: {', '.join(sorted(unknown))}")
        for key, value in raw.items():
            current = getattr(base, key)
            overrides[key] = {**current, **value} if isinstance(current, dict) else _coerce(key, value)
    if os.environ.get("FOURGUARD_DB"):
        overrides["db_path"] = Path(os.environ["FOURGUARD_DB"])
    if os.environ.get("FOURGUARD_DEMO_DIR"):
        overrides["demo_dir"] = Path(os.environ["FOURGUARD_DEMO_DIR"])
    if os.environ.get("FOURGUARD_DEMO_SCALE"):
        overrides["demo_scale"] = os.environ["FOURGUARD_DEMO_SCALE"]
    if os.environ.get("FOURGUARD_AUTH"):
        overrides["auth"] = os.environ["FOURGUARD_AUTH"]
    if os.environ.get("FOURGUARD_HASH_KEY"):
        overrides["hash_key"] = os.environ["FOURGUARD_HASH_KEY"]
    return replace(base, **overrides)


_SETTINGS: Settings | None = None


def settings() -> Settings:
    """The process-wide settings."""
    global _SETTINGS
    if _SETTINGS is None:
        _SETTINGS = load_settings()
    return _SETTINGS
