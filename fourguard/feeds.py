"""Each feed's headers, aliases, types and keys: the one place that knows what providers send."""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    """One column of a feed: canonical English name, the Chinese header, and how to check it."""

    name: str
    header: str
    kind: str  # id | credit | county | text | int | float | pct | ts | date | enum | bool
    required: bool = True        # the file is refused when the column is missing
    nullable: bool = False       # an empty cell is allowed
    values: tuple = ()           # allowed values for kind == "enum"
    aliases: tuple = ()          # other headers seen in the wild


@dataclass(frozen=True)
class Feed:
    """A feed: its target table, columns, dedup key and the feeds it references."""

    name: str
    label: str
    table: str
    columns: tuple
    key: tuple
    order: int
    time_column: str | None = None      # used to prune the dedup join to the batch's time range
    references: dict = field(default_factory=dict)  # column -> feed it must exist in

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


YES_NO = ("是", "否")
JOB_TYPES = ("普通岗位", "流动接触岗位", "保供岗位")
SECTORS = ("工业生产", "商贸流通", "交通运输", "文化旅游", "重点项目", "城市运行保障")
RESULTS = ("阴性", "阳性", "待复核")
TUBES = ("单管", "混管")
PLACE_KINDS = ("出入口", "生产区", "生活区", "车间", "楼栋", "楼层")
HEALTH_CODES = ("绿码", "黄码", "红码")
PRODUCTION_STATES = ("正常生产", "闭环生产", "部分停产", "停产")
ISSUE_CATEGORIES = ("原料采购", "用工需求", "物流运输", "市场拓展", "政策优惠", "防疫物资", "融资", "用电", "其他")
ISSUE_STATES = ("待交办", "已交办", "办理中", "已办结", "已回访", "已销号", "退回", "重办", "升级")
COUNTY_STATES = ("常态", "应急")
REVISIT_RESULTS = ("满意", "基本满意", "不满意")

C = Column
FEEDS: dict[str, Feed] = {f.name: f for f in (
    Feed("registry", "白名单企业", "enterprises", order=1, key=("credit_code",), columns=(
        C("credit_code", "统一社会信用代码", "credit", aliases=("信用代码", "社会信用代码")),
        C("name", "企业名称", "text", aliases=("企业（项目）名称", "项目名称")),
        C("county_code", "县区代码", "county", aliases=("行政区划代码", "区划代码")),
        C("sector", "行业领域", "enum", values=SECTORS, aliases=("行业", "领域")),
        C("headcount", "员工人数", "int", aliases=("职工人数",)),
        C("annual_output_wan_yuan", "年产值（万元）", "float", nullable=True,
          aliases=("年产值(万元)", "年产值", "年产值/投资额（万元）")),
        C("lng", "经度", "float", nullable=True),
        C("lat", "纬度", "float", nullable=True),
        C("cadre", "包保干部", "text", nullable=True, required=False),
        C("listed_on", "纳入日期", "date"),
        C("removed_on", "移出日期", "date", nullable=True, required=False),
        C("has_sampling_hut", "核酸采样屋", "bool", nullable=True, required=False, values=YES_NO),
        C("closed_loop_capable", "具备闭环条件", "bool", nullable=True, required=False, values=YES_NO),
    )),
    Feed("county_state", "县区状态", "county_states", order=2, key=("county_code", "since"),
         time_column="since", columns=(
        C("county_code", "县区代码", "county", aliases=("行政区划代码", "区划代码")),
        C("state", "状态", "enum", values=COUNTY_STATES, aliases=("运行状态",)),
        C("since", "开始时间", "ts", aliases=("切换时间",)),
    )),
    Feed("sector_output", "行业产值统计", "sector_outputs", order=2, key=("county_code", "sector"),
         columns=(
        C("county_code", "县区代码", "county", aliases=("行政区划代码",)),
        C("sector", "行业领域", "enum", values=SECTORS, aliases=("行业",)),
        C("sector_output_wan_yuan", "全行业产值（万元）", "float",
          aliases=("全行业产值(万元)", "行业总产值（万元）")),
    )),
    Feed("roster", "员工花名册", "employees", order=3, key=("credit_code", "person_key"),
         references={"credit_code": "registry"}, columns=(
        C("id_number", "身份证号", "id", aliases=("身份证号码", "证件号码")),
        C("name", "姓名", "text"),
        C("credit_code", "统一社会信用代码", "credit", aliases=("信用代码",)),
        C("job_type", "岗位类型", "enum", values=JOB_TYPES, aliases=("岗位",)),
    )),
    Feed("places", "场所码台账", "places", order=3, key=("credit_code", "place_name"),
         references={"credit_code": "registry"}, columns=(
        C("place_code", "场所码", "text", nullable=True, aliases=("场所码编号",)),
        C("credit_code", "统一社会信用代码", "credit", aliases=("信用代码",)),
        C("place_name", "场所名称", "text"),
        C("kind", "场所类型", "enum", values=PLACE_KINDS),
    )),
    Feed("production", "生产经营日报", "production", order=3, key=("credit_code", "report_date"),
         time_column="report_date", references={"credit_code": "registry"}, columns=(
        C("credit_code", "统一社会信用代码", "credit", aliases=("信用代码",)),
        C("report_date", "日期", "date", aliases=("填报日期", "报告日期")),
        C("status", "生产状态", "enum", values=PRODUCTION_STATES),
        C("output_wan_yuan", "产值（万元）", "float", nullable=True, aliases=("产值(万元)", "当日产值（万元）")),
        C("capacity_pct", "产能利用率", "pct", nullable=True),
        C("on_duty", "在岗人数", "int", nullable=True),
        C("power_kwh", "用电量（千瓦时）", "float", nullable=True, aliases=("用电量(千瓦时)", "用电量")),
    )),
    Feed("issues", "企业诉求", "issues", order=3, key=("issue_id",), time_column=None,
         references={"credit_code": "registry"}, columns=(
        C("issue_id", "诉求编号", "text"),
        C("credit_code", "统一社会信用代码", "credit", aliases=("信用代码",)),
        C("category", "诉求类别", "enum", values=ISSUE_CATEGORIES, aliases=("问题类别",)),
        C("detail", "诉求内容", "text", aliases=("问题描述",)),
        C("reported_at", "提出时间", "ts", aliases=("反映时间",)),
        C("source", "来源", "text", nullable=True, aliases=("诉求来源",)),
        # Provincial systems also export where an issue stands; optional, app write-backs win.
        C("status", "办理状态", "enum", values=ISSUE_STATES, required=False, nullable=True),
        C("status_at", "状态时间", "ts", required=False, nullable=True),
        C("department", "责任单位", "text", required=False, nullable=True),
        C("assignee", "责任人", "text", required=False, nullable=True),
        C("assigned_at", "交办时间", "ts", required=False, nullable=True),
        C("deadline_at", "办理时限", "ts", required=False, nullable=True),
        C("resolved_at", "办结时间", "ts", required=False, nullable=True),
        C("revisit", "回访结果", "enum", values=REVISIT_RESULTS, required=False, nullable=True),
    )),
    Feed("tests", "核酸检测", "tests", order=4, key=("sample_id", "person_key"),
         time_column="sampled_at", columns=(
        C("sample_id", "样本编号", "text", aliases=("条码号", "样本条码")),
        C("id_number", "身份证号", "id", aliases=("身份证号码", "证件号码")),
        C("name", "姓名", "text", nullable=True),
        C("sampled_at", "采样时间", "ts"),
        C("result", "检测结果", "enum", values=RESULTS),
        C("resulted_at", "结果时间", "ts", nullable=True, aliases=("检测时间", "报告时间")),
        C("tube", "检测方式", "enum", values=TUBES, aliases=("采样方式",)),
        C("pool_id", "混管编号", "text", nullable=True, required=False),
        C("site", "采样点", "text", nullable=True, required=False, aliases=("采样点名称",)),
    )),
    Feed("scans", "场所码扫码记录", "scans", order=4, key=("place_code", "person_key", "scanned_at"),
         time_column="scanned_at", references={"place_code": "places"}, columns=(
        C("place_code", "场所码", "text", aliases=("场所码编号",)),
        C("id_number", "身份证号", "id", aliases=("身份证号码", "证件号码")),
        C("scanned_at", "扫码时间", "ts"),
        C("health_code", "健康码", "enum", values=HEALTH_CODES, aliases=("健康码状态",)),
    )),
)}
del C


def _norm(header: str) -> str:
    """Headers as providers type them: full/half-width brackets, stray spaces, BOMs."""
    h = str(header).replace("\ufeff", "").strip().lower()
    h = h.replace("（", "(").replace("）", ")")
    return re.sub(r"\s+", "", h)


def header_map(feed: Feed) -> dict[str, str]:
    """Normalised header (Chinese, alias or English) -> canonical column name."""
    out: dict[str, str] = {}
    for col in feed.columns:
        for h in (col.header, col.name, *col.aliases):
            out[_norm(h)] = col.name
    return out


def match_feed(headers: list[str]) -> tuple[Feed | None, dict[int, str], list[str]]:
    """The feed whose required columns these headers cover best; (feed, position->column, missing)."""
    normed = [_norm(h) for h in headers]
    best = None
    for feed in FEEDS.values():
        hmap = header_map(feed)
        mapping: dict[int, str] = {}
        for i, h in enumerate(normed):
            col = hmap.get(h)
            if col and col not in mapping.values():
                mapping[i] = col
        required = [c.name for c in feed.columns if c.required]
        missing = [c for c in required if c not in mapping.values()]
        # Score by distinctive matches, so the registry (which shares 县区代码 with county
        # state) wins on its own headers, and a file with a missing column still names its feed.
        score = (len(required) - len(missing), -len(missing), len(mapping))
        if best is None or score > best[0]:
            best = (score, feed, mapping, missing)
    if best is None or best[0][0] < 2:
        return None, {}, []
    _, feed, mapping, missing = best
    return feed, mapping, missing


def looks_like_header(cells: list[str]) -> bool:
    """True when a row reads as some feed's header (used to skip title rows above it)."""
    feed, mapping, missing = match_feed(cells)
    return feed is not None and len(mapping) >= 3


def load_order(feed_name: str) -> int:
    """Registry first, then rosters/places/production/issues, then tests and scans."""
    return FEEDS[feed_name].order
