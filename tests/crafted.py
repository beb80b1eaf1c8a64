"""A small hand-made world for the metric tests: one county per rule, every boundary on purpose.

`build(folder)` writes the feeds as CSV files with the providers' Chinese headers, loads them
with the real ingestion, adds the app's write-backs (a county switch, an app issue and issue
events) and returns (db_path, settings). The expected values in test_metrics.py are counted by
hand from the scenarios below; every person has a unique name so tests can speak in names.
"""
from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

from stdnum.cn import ric, uscc

from fourguard import feeds, store
from fourguard.config import Settings
from fourguard.ingest import ingest_paths

T = dt.datetime(2022, 6, 10, 12, 0)  # the as_of most tests use (a Friday, a working day)
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)

# One county per scenario family, so metrics(county=…) isolates it.
NORMAL = "411322"      # 方城县 (南阳市): intervals, closed loop, mobile jobs
QUIET = "411321"       # 南召县 (南阳市): positives and clusters, everyone tested an hour ago
EMERGENCY = "411523"   # 新县 (信阳市): 应急 from T - 2 h (feed)
LATER = "411524"       # 商城县 (信阳市): 应急 only from T + 1 h
SWITCHED = "411525"    # 固始县 (信阳市): 应急 from T - 1 h by an app switch
LISTING = "410102"     # 中原区: listed / removed dates
RECHECK = "410103"     # 二七区: pooled positives and single-tube rechecks
SHUTDOWN = "410104"    # 管城回族区: shutdown episodes
PLACES = "410105"      # 金水区: place codes and scans
OUTPUT = "410181"      # 巩义市: output coverage and sampling huts
ISSUES = "410182"      # 荥阳市: issues

BAD_ID = "411322199001010019"  # wrong check digit (the valid one ends in 1): quarantined


def credit_code(county: str, serial: int) -> str:
    """A valid unified social credit code (GB 32100)."""
    body = f"91{county}{serial:09d}"
    return body + uscc.calc_check_digit(body)


def id_number(county: str, serial: int) -> str:
    """A valid resident ID number (GB 11643)."""
    body = f"{county}19900101{serial:03d}"
    return body + ric.calc_check_digit(body + "0")


def ts(t: dt.datetime | None) -> str:
    return "" if t is None else t.strftime("%Y-%m-%d %H:%M:%S")


class World:
    """Rows per feed, keyed by canonical column names, plus name → id/credit lookups."""

    def __init__(self):
        self.rows: dict[str, list[dict]] = defaultdict(list)
        self.credit: dict[str, str] = {}
        self.county: dict[str, str] = {}
        self.ids: dict[str, str] = {}
        self._serial = 0
        self._sample = 0

    def _next(self) -> int:
        self._serial += 1
        return self._serial

    def enterprise(self, name, county, sector="工业生产", headcount=100, output=None,
                   listed="2022-05-01", removed=None, hut=False):
        code = credit_code(county, self._next())
        self.credit[name] = code
        self.county[name] = county
        self.rows["registry"].append({
            "credit_code": code, "name": name, "county_code": county, "sector": sector,
            "headcount": headcount, "annual_output_wan_yuan": output, "listed_on": listed,
            "removed_on": removed, "has_sampling_hut": "是" if hut else "否", "closed_loop_capable": "是"})
        return code

    def person(self, name, enterprise, job="普通岗位", county=None):
        county = county or self.county[enterprise]
        self.ids[name] = id_number(county, self._next() % 1000)
        self.rows["roster"].append({"id_number": self.ids[name], "name": name,
                                    "credit_code": self.credit[enterprise], "job_type": job})
        return self.ids[name]

    def stranger(self, name, county="411322"):
        """Someone on no roster."""
        self.ids[name] = id_number(county, self._next() % 1000)
        return self.ids[name]

    def sample(self, name, sampled_at, result="阴性", tube="单管", resulted_at=None, sample_id=None, pool_id=None):
        if sample_id is None:
            self._sample += 1
            sample_id = f"S{self._sample:05d}"
        self.rows["tests"].append({
            "sample_id": sample_id, "id_number": self.ids[name], "name": name, "sampled_at": ts(sampled_at),
            "result": result, "resulted_at": ts(resulted_at), "tube": tube, "pool_id": pool_id, "site": "测试点"})

    def county_state(self, county, state, since):
        self.rows["county_state"].append({"county_code": county, "state": state, "since": ts(since)})

    def report(self, enterprise, day, status="正常生产", on_duty=None):
        self.rows["production"].append({"credit_code": self.credit[enterprise], "report_date": day,
                                        "status": status, "on_duty": on_duty})

    def place(self, enterprise, place_name, kind, code=None):
        self.rows["places"].append({"place_code": code, "credit_code": self.credit[enterprise],
                                    "place_name": place_name, "kind": kind})

    def scan(self, code, name, scanned_at, health="绿码"):
        self.rows["scans"].append({"place_code": code, "id_number": self.ids[name],
                                   "scanned_at": ts(scanned_at), "health_code": health})

    def sector_total(self, county, sector, output):
        self.rows["sector_output"].append({"county_code": county, "sector": sector, "sector_output_wan_yuan": output})

    def issue(self, issue_id, enterprise, reported_at, category="原料采购", **kw):
        row = {"issue_id": issue_id, "credit_code": self.credit[enterprise], "category": category,
               "detail": f"诉求{issue_id}", "reported_at": ts(reported_at), "source": "热线"}
        row.update({k: ts(v) if isinstance(v, dt.datetime) else v for k, v in kw.items()})
        self.rows["issues"].append(row)

    def write(self, folder: Path) -> list[Path]:
        """One CSV per feed, every column of the feed, Chinese headers."""
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for feed_name, rows in self.rows.items():
            spec = feeds.FEEDS[feed_name]
            path = folder / f"{spec.label}.csv"
            with open(path, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh)
                w.writerow([c.header for c in spec.columns])
                for r in rows:
                    w.writerow(["" if r.get(c.name) is None else r.get(c.name) for c in spec.columns])
            paths.append(path)
        return paths


def scenarios() -> World:
    """Every scenario of the crafted world (see the module docstring of test_metrics.py)."""
    w = World()

    # --- R1/R2 intervals, county NORMAL (常态 at T: 应急 from 06-01 ended on 06-05)
    w.county_state(NORMAL, "应急", dt.datetime(2022, 6, 1))
    w.county_state(NORMAL, "常态", dt.datetime(2022, 6, 5))
    w.enterprise("方城机械", NORMAL)
    for name, job, last in [
        ("张一", "普通岗位", T - 48 * H),           # exactly 48 h: within
        ("张二", "普通岗位", T - 48 * H - M),       # 48 h 1 min: overdue
        ("张三", "流动接触岗位", T - 25 * H),       # mobile at 25 h: overdue
        ("张四", "流动接触岗位", T - 24 * H),       # mobile at 24 h: within
        ("张五", "普通岗位", None),                  # never tested: overdue
        ("张六", "普通岗位", T - 50 * H),           # plus a sample after T, which does not count
        ("张七", "普通岗位", None),                  # only a positive at T - 10 h: tested
        ("张八", "保供岗位", T - 30 * H),
    ]:
        w.person(name, "方城机械", job)
        if last:
            w.sample(name, last)
    w.sample("张六", T + H)
    w.sample("张七", T - 10 * H, result="阳性", resulted_at=T - 4 * H)
    w.enterprise("方城食品", NORMAL)          # closed loop from its report dated on T's day
    w.report("方城食品", "2022-06-09", "正常生产")
    w.report("方城食品", "2022-06-10", "闭环生产")
    w.person("李一", "方城食品")
    w.sample("李一", T - 30 * H)
    w.person("李二", "方城食品")
    w.sample("李二", T - 20 * H)
    w.enterprise("方城纺织", NORMAL)          # closed loop only from the day after T
    w.report("方城纺织", "2022-06-09", "正常生产")
    w.report("方城纺织", "2022-06-11", "闭环生产")
    w.person("王一", "方城纺织")
    w.sample("王一", T - 30 * H)

    # --- county states: 应急 before T (feed), after T (feed), before T (app switch, added in build)
    w.county_state(EMERGENCY, "常态", dt.datetime(2022, 5, 1))
    w.county_state(EMERGENCY, "应急", T - 2 * H)
    w.enterprise("新县电力", EMERGENCY, sector="城市运行保障")
    w.person("赵一", "新县电力", "保供岗位")
    w.sample("赵一", T - 30 * H)
    w.person("赵二", "新县电力", "流动接触岗位")
    w.sample("赵二", T - 10 * H)
    w.county_state(LATER, "常态", dt.datetime(2022, 5, 1))
    w.county_state(LATER, "应急", T + H)
    w.enterprise("商城物流", LATER, sector="交通运输")
    w.person("钱一", "商城物流")
    w.sample("钱一", T - 30 * H)
    w.enterprise("固始粮油", SWITCHED, sector="城市运行保障")
    w.person("钱二", "固始粮油")
    w.sample("钱二", T - 30 * H)

    # --- whitelist membership, county LISTING
    w.enterprise("中原甲", LISTING, removed="2022-06-10")
    w.enterprise("中原乙", LISTING, listed="2022-06-11")
    w.enterprise("中原丙", LISTING, removed="2022-06-11")
    for name, ent in [("孙一", "中原甲"), ("孙二", "中原乙"), ("孙三", "中原丙")]:
        w.person(name, ent)
        w.sample(name, T - 10 * H)

    # --- positives and clusters (R15), county QUIET; everyone also has a negative an hour ago
    w.enterprise("南召一厂", QUIET)   # 40 h apart: cluster
    w.enterprise("南召二厂", QUIET)   # 140 h apart: no cluster
    w.enterprise("南召三厂", QUIET)   # one positive before the lookback, one after T: no cluster
    w.enterprise("南召四厂", QUIET)   # exactly 72 h apart: cluster
    positives = [("吴一", "南召一厂", [T - 50 * H]), ("吴二", "南召一厂", [T - 10 * H]),
                 ("郑一", "南召二厂", [T - 150 * H, T - 140 * H]), ("郑二", "南召二厂", [T - 10 * H]),
                 ("冯一", "南召三厂", [T - 170 * H]), ("冯二", "南召三厂", [T - 100 * H]),
                 ("冯三", "南召三厂", [T + H]),
                 ("陈一", "南召四厂", [T - 100 * H]), ("陈二", "南召四厂", [T - 28 * H])]
    for name, ent, times in positives:
        w.person(name, ent)
        for t in times:
            w.sample(name, t, result="阳性")
        w.sample(name, T - H)
    w.person("陈三", "南召四厂")          # a pooled positive is not a case
    w.sample("陈三", T - 20 * H, result="阳性", tube="混管", resulted_at=T - 18 * H, sample_id="PQ1", pool_id="Q1")
    w.sample("陈三", T - H)
    w.stranger("周无")                    # on no roster: counts for nobody
    w.sample("周无", T - 5 * H, result="阳性")

    # --- R8 rechecks, county RECHECK: pool P1 resulted T - 12 h (due T - 6 h)
    w.enterprise("二七制药", RECHECK)
    for name in ("何一", "何二", "何三", "何四", "何五", "何六", "何七"):
        w.person(name, "二七制药")
    for name in ("何一", "何二", "何三", "何四"):
        w.sample(name, T - 20 * H, result="阳性", tube="混管", resulted_at=T - 12 * H, sample_id="P1", pool_id="POOL1")
    w.sample("何一", T - 6 * H)            # exactly 6 h after the result: on time
    w.sample("何二", T - 6 * H + M)        # 6 h 1 min: late
    w.sample("何四", T - 13 * H)           # before the result: not a recheck
    w.sample("何五", T - 5 * H, result="待复核", tube="混管", sample_id="P2", pool_id="POOL2")  # due T + 1 h
    w.sample("何六", T - 5 * H, result="阴性", tube="混管", resulted_at=T - 3 * H, sample_id="P3", pool_id="POOL3")
    w.sample("何七", T - 210 * H, result="阳性", tube="混管", resulted_at=T - 200 * H, sample_id="P4", pool_id="POOL4")

    # --- R9 shutdowns, county SHUTDOWN (T's date is 06-10)
    for name, reports in {
        "管城一": [("06-08", "停产"), ("06-09", "停产"), ("06-10", "停产")],                       # 3 days
        "管城二": [("06-07", "停产"), ("06-08", "停产"), ("06-09", "停产"), ("06-10", "停产")],    # 4 days
        "管城三": [("06-07", "停产"), ("06-09", "停产"), ("06-10", "正常生产")],                   # gap day: 3
        "管城四": [("06-01", "停产"), ("06-02", "停产"), ("06-03", "停产"), ("06-04", "停产"),
                   ("06-05", "正常生产")],                                                         # 4, ended 06-04
        "管城五": [("05-20", "停产"), ("05-25", "停产"), ("05-26", "正常生产")],                   # 6, ended long ago
        "管城六": [("06-07", "停产"), ("06-08", "停产")],                                          # ongoing to 06-10: 4
        "管城七": [("06-05", "停产"), ("06-06", "停产"), ("06-07", "部分停产"), ("06-08", "停产"),
                   ("06-09", "停产"), ("06-10", "停产")],                                          # 2 + 3
    }.items():
        w.enterprise(name, SHUTDOWN)
        for day, status in reports:
            w.report(name, f"2022-{day}", status)

    # --- R3/R4 place codes and scans, county PLACES
    w.enterprise("金水一厂", PLACES)
    w.place("金水一厂", "南门", "出入口", "PC01")
    w.place("金水一厂", "一号生产区", "生产区", "PC02")
    w.place("金水一厂", "宿舍区", "生活区", "PC03")
    w.enterprise("金水二厂", PLACES)
    w.place("金水二厂", "东门", "出入口", "PC04")
    w.place("金水二厂", "一车间", "车间", "PC05")
    w.place("金水二厂", "宿舍", "生活区", None)          # listed, no code yet: gap
    w.enterprise("金水工地", PLACES, sector="重点项目")
    w.place("金水工地", "大门", "出入口", "PC06")
    w.place("金水工地", "工人生活区", "生活区", "PC07")  # no 生产区/车间: gap
    w.enterprise("金水商场", PLACES, sector="商贸流通")
    w.place("金水商场", "正门", "出入口", "PC08")
    w.place("金水商场", "二楼", "楼层", None)             # not industrial: no gap
    w.enterprise("金水三厂", PLACES)                      # no places at all: gap
    for name in ("林一", "林二", "林三", "林四"):
        w.person(name, "金水一厂")
    w.person("林五", "金水二厂")
    w.person("林六", "金水工地")
    w.person("林七", "金水商场")
    w.stranger("路人甲")
    for name in ("林一", "林二", "林三", "林四", "林五", "林六", "林七"):
        w.sample(name, T - H)
    w.report("金水一厂", "2022-06-09", on_duty=5)
    w.report("金水一厂", "2022-06-10", on_duty=4)
    w.scan("PC01", "林一", T - H)
    w.scan("PC01", "林一", T - 2 * H)
    w.scan("PC02", "林二", T - 24 * H)                 # exactly 24 h ago: not active
    w.scan("PC03", "林三", T - 24 * H + M, "红码")     # red, 23 h 59 min ago
    w.scan("PC01", "林二", dt.datetime(2022, 6, 10, 8, 0))
    w.scan("PC01", "路人甲", dt.datetime(2022, 6, 10, 9, 0))
    w.scan("PC04", "林五", T + H)                      # after T
    w.scan("PC05", "林五", T - 2 * H, "黄码")
    w.scan("PC06", "林六", T - 30 * H)
    w.scan("PC08", "林七", T - 5 * H)
    w.scan("PC99", "林七", T - 5 * H)                  # unregistered code: quarantined

    # --- R6 output and R7 huts, county OUTPUT
    w.sector_total(OUTPUT, "工业生产", 1000)
    w.sector_total(OUTPUT, "交通运输", 100)
    w.enterprise("巩义铝业", OUTPUT, output=500, headcount=1000, hut=True)
    w.enterprise("巩义旧厂", OUTPUT, output=300, headcount=2000, hut=True, removed="2022-06-01")
    w.enterprise("巩义商贸", OUTPUT, sector="商贸流通", output=200, headcount=1500)
    w.enterprise("巩义运输", OUTPUT, sector="交通运输", output=30, headcount=999)

    # --- R11 issues, county ISSUES (5 working days; 06-03..06-05 are a holiday and a weekend)
    w.enterprise("荥阳机电", ISSUES)
    w.issue("I1", "荥阳机电", dt.datetime(2022, 6, 1, 9))     # due 06-09 23:59:59: overdue
    w.issue("I2", "荥阳机电", dt.datetime(2022, 6, 6, 10))    # due 06-13: open, in time
    w.issue("I3", "荥阳机电", dt.datetime(2022, 6, 1, 9), resolved_at=dt.datetime(2022, 6, 8, 10))  # on time
    w.issue("I4", "荥阳机电", dt.datetime(2022, 5, 25, 9), resolved_at=dt.datetime(2022, 6, 2, 10))  # late
    w.issue("I5", "荥阳机电", dt.datetime(2022, 6, 1, 9), deadline_at=dt.datetime(2022, 6, 20, 18))
    w.issue("I6", "荥阳机电", dt.datetime(2022, 6, 1, 9), status="已销号", status_at=dt.datetime(2022, 6, 5, 9))
    w.issue("I8", "荥阳机电", dt.datetime(2022, 6, 1, 9), resolved_at=dt.datetime(2022, 6, 3, 10))  # 重办 in app
    w.issue("I9", "荥阳机电", T + H)                           # after T
    w.issue("I10", "荥阳机电", dt.datetime(2022, 6, 1, 9), status="已办结",
            status_at=dt.datetime(2022, 6, 2, 10), department="工信局", assignee="老王")

    # A row with a wrong ID check digit: quarantined.
    w.rows["tests"].append({"sample_id": "SBAD", "id_number": BAD_ID, "name": "错号", "sampled_at": ts(T - H),
                            "result": "阴性", "tube": "单管"})
    return w


def app_writes(db_path: Path, w: World) -> None:
    """What people did in the app: a county switch, an app issue, issue events at set times."""
    path = store.store_path(db_path)
    store.switch_county_state(path, SWITCHED, "应急", actor="测试员", since=T - H)
    with store.transaction(path, "测试员", "crafted") as con:
        con.execute("INSERT INTO app_issues (issue_id, credit_code, category, detail, reported_at, source, created_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    ("APP-1", w.credit["荥阳机电"], "用工需求", "缺工人", "2022-06-02 09:00:00", "平台", "测试员"))
        for issue_id, at, frm, to, deadline in [
            ("APP-1", "2022-06-02 10:00:00", "待交办", "已交办", "2022-06-05 18:00:00"),  # overdue by its own deadline
            ("I8", "2022-06-04 09:00:00", "已办结", "重办", None),                         # reopened: open, overdue
            ("I10", "2022-06-02 10:00:00", "已办结", "办理中", None),                      # same instant: app wins
        ]:
            con.execute("INSERT INTO issue_events (issue_id, at, actor, from_state, to_state, deadline_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (issue_id, at, "测试员", frm, to, deadline))


def build(folder: Path) -> tuple[Path, Settings, World, list]:
    """Write, ingest and add write-backs; (db_path, settings, world, ingest reports)."""
    w = scenarios()
    s = Settings(db_path=folder / "store" / "fourguard.duckdb")
    paths = w.write(folder / "feeds")
    reports = ingest_paths(paths, s.db_path, s)
    app_writes(s.db_path, w)
    return s.db_path, s, w, reports
