"""The seeded demo feed generator: the files a county, a city or the whole province would send.

Everything is drawn from one seed, so the same (scale, days, seed) gives byte-identical files.
Big feeds (tests, scans) are simulated day by day with numpy and written chunk by chunk with
pyarrow, so the province (≈3 M employees, ≈25 M samples in 14 days) streams within a few GB.
The files look like real exports: mixed encodings, title rows, several timestamp formats,
varying column order and aliases, extra columns, and a few deliberately dirty rows.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import xlsxwriter
from stdnum import numdb
from stdnum.cn import uscc

from fourguard import feeds, regions

END = dt.datetime(2022, 6, 10)          # the period ends here (exclusive)
DAY, HOUR, MINUTE = 86400, 3600, 60
NEVER = np.int64(1) << 60               # "no such time" in second offsets
XLSX_CREATED = dt.datetime(2022, 6, 10, 8, 30)  # fixed document date: identical bytes per seed
HOLIDAYS = (dt.date(2022, 6, 3),)       # 端午节: no work, weaker test compliance
BAD_TS = "2022-13-45 25:00"             # the impossible timestamp of the dirty rows
DIRTY_RATE = 0.0005                     # ≈0.05 % of the big feeds' rows are dirty

ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class Scale:
    """How big one demo is."""

    name: str
    label: str
    enterprises: int
    employees: int
    emergencies: int      # counties that switch to 应急 during the period
    sporadic: int         # positives besides the emergency triggers and the cluster
    short_stops: int      # 停产 episodes of 1–3 days (plus one longer than 3 days)
    split_by_city: bool   # one test/scan file per city and day instead of per day


SCALES = {
    "county": Scale("county", "方城县", 300, 30_000, 1, 1, 3, False),
    "city": Scale("city", "南阳市", 1_700, 170_000, 3, 2, 6, False),
    "province": Scale("province", "河南省", 30_000, 3_000_000, 3, 8, 25, True),
}
COUNTY_CODE, CITY_CODE = "411322", "411300"

SECTORS = feeds.SECTORS
SECTOR_SHARE = np.array([0.44, 0.17, 0.11, 0.06, 0.12, 0.10])
IND, TRADE, TRANSPORT, TOURISM, PROJECT, SUPPLY = range(6)
# 万元 of annual output (investment for key projects) per employee, median
OUTPUT_PER_HEAD = np.array([70, 120, 45, 20, 150, 55], dtype=float)
# kWh per 万元 of output
POWER_INTENSITY = np.array([260, 60, 45, 90, 120, 420], dtype=float)
SECTOR_TEST_ADJ = np.array([0.01, -0.02, -0.05, -0.03, -0.06, 0.02])
SECTOR_MALE = np.array([0.6, 0.45, 0.85, 0.42, 0.88, 0.7])
SECTOR_MOBILE = np.array([0.12, 0.35, 0.6, 0.25, 0.08, 0.15])
SECTOR_SUPPLY_JOB = np.array([0, 0.05, 0, 0, 0, 0.6])
SECTOR_CLOSED_LOOP = np.array([0.55, 0.25, 0.35, 0.1, 0.5, 0.6])
SECTOR_HEAD = np.array([1.2, 0.8, 0.9, 0.6, 1.3, 1.0])
NORMAL, CLOSED, PARTIAL, STOPPED = range(4)

# ---------------------------------------------------------------------------------- word lists
SURNAMES = list("王李张刘陈杨赵郭孙周高马黄吴徐朱胡何郑宋谢韩唐冯于董程曹袁邓许沈曾彭吕苏卢蒋蔡贾丁魏薛叶"
                "余潘杜戴夏田任姜范方石姚谭邹金陆郝孔白崔康毛秦史侯邵孟段雷尚申牛翟耿常武乔贺闫岳")
SURNAME_W = 1.0 / (np.arange(len(SURNAMES)) + 2.0) ** 0.9   # Zipf-like: 王李张刘 most common
MALE_CHARS = list("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林阳建国志海峰东文亮成新振晓永春"
                  "金栋森博豪雷卫民喜福庆德彬坤晨泽轩航睿铭光耀中兴朝增庆保红")
FEMALE_CHARS = list("芳娜敏静丽艳娟霞秀玲桂英萍红燕婷雪琳晶洁倩颖慧丹玉兰凤梅莉佳欣悦雯怡琪梦璐瑶彤蕾菲莎楠"
                    "春晓美爱荣亚翠珍巧")
BRAND_A = list("宏鑫华中豫天金瑞恒盛昌隆兴丰源达泰康嘉佳富永利新明晟润龙鼎德信万辰凯锦汇诚众联博东远合建通"
               "正安顺亿海星光福祥")
BRAND_B = list("达源华盛泰昌隆兴丰宇发通鑫利润晟辉业成德信远祥福力邦宝安康恒升腾龙凯瑞新诚和嘉创科诺锐")
IND_TERMS = ["食品", "机械", "纺织", "化工", "电子科技", "新材料", "药业", "汽车零部件", "建材", "装备制造",
             "铝业", "光电", "服饰", "农业科技", "饲料", "纸业", "玻璃", "电气", "防爆电机", "中药饮片",
             "钢结构", "水泥", "塑业", "智能科技", "生物科技", "面业", "肉制品", "乳业", "酒业", "包装"]
ORG_SUFFIX = ["有限公司"] * 6 + ["股份有限公司"] * 2 + ["有限责任公司"] * 2 + ["集团有限公司"]
TRADE_TERMS = ["商贸", "百货", "超市连锁", "医药连锁", "家电", "商业管理", "粮油贸易", "农资", "副食品"]
MARKETS = ["农产品批发市场", "果蔬批发市场", "农贸市场", "购物广场", "商贸城"]
TRANSPORT_TERMS = ["物流", "运输", "快递服务", "货运", "冷链物流", "供应链管理", "汽车运输", "仓储服务", "客运"]
TOURISM_TERMS = ["旅游开发有限公司", "文化传媒有限公司", "大酒店", "宾馆", "景区管理有限公司",
                 "文化旅游发展有限公司", "温泉度假村", "国际饭店"]
PRODUCTS = ["特种纸", "新型建材", "饲料", "锂电池正极材料", "绿色建材", "有机肥", "精密铸件", "再生铝", "生物降解材料"]
PUBLIC_PROJECTS = ["人民医院新院区建设", "第二高级中学迁建", "污水处理厂提标改造", "高标准农田建设", "冷链物流园",
                   "安置房建设", "城乡供水一体化", "老旧小区改造", "职业教育园区", "乡村振兴示范区"]
SUPPLY_UNIQUE = ["{c}自来水有限公司", "国网{c}供电公司", "{c}燃气有限公司", "{c}污水处理有限公司",
                 "{c}环卫服务有限公司", "{c}国家粮食储备库", "{c}热力有限公司"]
SUPPLY_TERMS = ["粮油有限公司", "蔬菜批发市场", "生活超市", "米面加工有限公司", "肉类食品有限公司", "蛋品有限公司",
                "医药有限公司", "液化气有限公司", "食品配送有限公司"]
TOWNS = ["城关镇", "东城街道", "西城街道", "南关街道", "北关街道", "产业集聚区", "高新区", "工业园区", "汽车站",
         "火车站广场", "体育中心", "文化广场", "人民广场", "滨河公园", "会展中心", "新城区", "老城区", "商务中心区"]
DOORS = ["东门", "南门", "西门", "北门", "物流门", "员工通道", "主入口", "次入口"]

ISSUE_SOURCES = ["包保干部"] * 7 + ["企业直报"] * 6 + ["12345热线"] * 4 + ["电话"] * 3
ISSUE_DEPTS = {
    "原料采购": ["工信局", "商务局"], "用工需求": ["人社局"], "物流运输": ["交通运输局"], "市场拓展": ["商务局"],
    "政策优惠": ["发改委", "财政局", "税务局", "人社局"], "防疫物资": ["卫健委", "工信局"],
    "融资": ["金融工作局", "人民银行支行"], "用电": ["供电公司"], "其他": ["工信局", "政府办"],
}
MATERIALS = ["钢材", "玉米", "小麦", "包装纸箱", "塑料粒子", "电子元器件", "铝锭", "化工原料", "中药材", "棉纱",
             "生猪", "煤炭", "水泥", "砂石料"]
PLACES_OUT = ["郑州", "武汉", "西安", "上海", "苏州", "山东临沂", "河北邯郸", "湖北襄阳", "安徽阜阳"]
JOBS = ["普工", "叉车司机", "电焊工", "货车司机", "分拣员", "缝纫工", "机修工", "质检员"]
POLICIES = ["稳岗返还", "社保费缓缴", "增值税留抵退税", "房租减免", "一次性留工培训补助", "核酸采样屋建设补贴",
            "防疫支出补贴", "贷款贴息"]
ISSUE_TEXT = {
    "原料采购": ["受疫情管控影响，{mat}供应商在{place}，原料运不进来，库存仅够维持{n}天生产，请求协调保供渠道。",
             "{mat}价格较上月上涨{pct}%，采购资金压力大，希望协调本地供应商优先供货。",
             "上游{mat}厂家停产，急需协调替代货源约{n}吨。"],
    "用工需求": ["企业订单增加，急需{job}{n}名，请求人社部门协助招聘。",
             "受防控政策影响，{n}名外地员工无法返岗，申请协调返岗通道。",
             "闭环生产期间一线员工不足，缺口约{n}人，请求协调劳务派遣。"],
    "物流运输": ["{n}辆运输车辆在{place}高速出口被劝返，申请办理重点物资运输车辆通行证。",
             "货车司机跨区返回后需居家隔离，导致发货延误，请求协调闭环运输。",
             "快递物流停运，产品积压{n}吨无法发出，请求协调物流企业恢复收货。",
             "原料运输车辆在卡口排队约{h}小时，请求开辟绿色通道。"],
    "市场拓展": ["希望政府搭建产销对接平台，帮助企业拓展{place}方向销售渠道。",
             "受疫情影响外地订单取消约{n}万元，请求帮助对接本地采购需求。",
             "企业产品申请纳入政府保供名录，请求指导办理。"],
    "政策优惠": ["申请{policy}，材料已提交{n}天未见回复，请求加快办理。",
             "咨询{policy}政策适用条件及办理流程。",
             "企业符合{policy}条件，但网上申报系统提示错误，请求协助。"],
    "防疫物资": ["闭环生产急需抗原检测试剂{n}盒、N95口罩{m}个，请求协调采购渠道。",
             "厂区消杀物资短缺，请求协调消毒液{n}箱。",
             "申请在厂区设置核酸采样点，请求卫健部门派驻采样人员。",
             "员工核酸检测结果出具较慢，影响进厂，请求协调检测机构。"],
    "融资": ["流动资金紧张，申请纾困贷款{n}万元，请求协调银行加快审批。",
           "{n}万元贷款即将到期，申请无还本续贷。",
           "申请应急转贷资金{n}万元。"],
    "用电": ["新增生产线需增容{n}千伏安，请求供电公司加快办理。",
           "近期厂区线路频繁跳闸停电，影响连续生产，请求排查。",
           "申请电费缓缴，减轻资金压力。"],
    "其他": ["厂区周边道路施工影响车辆进出，请求协调。",
           "希望协调解决闭环期间员工就餐及住宿问题。",
           "场所码张贴后部分员工扫码异常，请求技术支持。"],
}

# ------------------------------------------------------------------------- file layouts
# A layout is the column order of one export: canonical names (optionally "name@alias" for the
# header a provider typed), or "+extra" for columns no feed knows (ignored by ingestion).
LAYOUTS = {
    "tests": [
        ["sample_id", "id_number", "name", "sampled_at", "result", "resulted_at", "tube", "pool_id", "site"],
        ["+序号", "name", "id_number", "site", "sampled_at", "tube", "pool_id", "sample_id", "result",
         "resulted_at", "+备注"],
        ["sample_id@条码号", "name", "id_number@证件号码", "sampled_at", "tube@采样方式", "pool_id", "result",
         "resulted_at@报告时间", "site@采样点名称"],
    ],
    "scans": [
        ["place_code", "id_number", "scanned_at", "health_code"],
        ["+序号", "scanned_at", "place_code@场所码编号", "id_number@身份证号码", "health_code@健康码状态"],
    ],
    "roster": [
        ["+序号", "name", "+性别", "id_number", "credit_code", "+企业名称", "job_type", "+联系电话"],
        ["id_number@身份证号码", "name", "credit_code", "job_type@岗位"],
        ["credit_code@信用代码", "+企业名称", "name", "id_number", "job_type", "+备注"],
    ],
    "production": [
        ["+序号", "credit_code", "+企业名称", "report_date@填报日期", "status", "output_wan_yuan",
         "capacity_pct", "on_duty", "power_kwh"],
    ],
    "county_state": [["county_code", "+县区名称", "state", "since"]],
    "sector_output": [["county_code", "+县区名称", "sector", "sector_output_wan_yuan"]],
}
ENGLISH = {"tests": LAYOUTS["tests"][0], "scans": LAYOUTS["scans"][0]}


@dataclass
class _Style:
    """How one file is exported."""

    encoding: str = "utf-8"        # utf-8 | utf-8-sig | gb18030
    title: str | None = None
    ts: str = "iso"                # iso (2022-06-09 08:05:00) | slash (2022/6/9 8:05) | cn (2022年6月9日 08:05)
    layout: list | None = None
    english: bool = False
    quoting: str = "none"
    eol: str = "\n"


def _feed_header(feed: str, token: str, english: bool) -> str:
    name, _, alias = token.partition("@")
    if english:
        return name
    return alias or feeds.FEEDS[feed].column(name).header


class _CsvFile:
    """One CSV export written chunk by chunk: BOM/title/header first, then the rows."""

    def __init__(self, path: Path, feed: str, style: _Style):
        self.path, self.feed, self.style = path, feed, style
        self.tokens = [t for t in style.layout if not (style.english and t.startswith("+"))]
        heads = [t[1:] if t.startswith("+") else _feed_header(feed, t, style.english) for t in self.tokens]
        self.rows = 0
        self.fh = open(path, "wb")
        if style.encoding == "utf-8-sig":
            self.fh.write(b"\xef\xbb\xbf")
        if style.title:
            self._text(style.title + style.eol)
        self._text(",".join(heads) + style.eol)

    def _text(self, text: str) -> None:
        self.fh.write(text.encode("gb18030" if self.style.encoding == "gb18030" else "utf-8"))

    def write(self, cols: dict) -> None:
        """Append rows: cols maps canonical names and extras ('+备注') to equal-length arrays."""
        n = len(next(iter(cols.values())))
        if n == 0:
            return
        arrays = []
        for tok in self.tokens:
            key = tok.partition("@")[0]
            if key == "+序号":
                arrays.append(pa.array(np.arange(self.rows + 1, self.rows + n + 1)))
            elif key in cols:
                arrays.append(cols[key])
            else:
                arrays.append(pa.nulls(n, pa.string()))
        table = pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, pacsv.WriteOptions(
            include_header=False, quoting_style=self.style.quoting, eol=self.style.eol))
        data = sink.getvalue()
        if self.style.encoding == "gb18030":
            self.fh.write(data.to_pybytes().decode("utf-8").encode("gb18030"))
        else:
            self.fh.write(memoryview(data))
        self.rows += n

    def close(self) -> int:
        self.fh.close()
        return self.rows


def _xlsx(path: Path, title: str, blank_row: bool, columns: list[tuple[str, str]], rows: list[list]) -> None:
    """Write one sheet: a merged title row, maybe an empty row, the header, then typed cells.

    Column kinds: text, number, date (Excel date cell), datetime (Excel date-time cell),
    serial (plain Excel serial number, as exports that lost the cell format show it).
    """
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                        "strings_to_urls": False})
    wb.set_properties({"created": XLSX_CREATED, "author": "四保运行调度平台", "title": title})
    ws = wb.add_worksheet("Sheet1")
    f_title = wb.add_format({"bold": True, "font_size": 14, "align": "center"})
    f_head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    f_date = wb.add_format({"num_format": "yyyy/m/d"})
    f_dt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.merge_range(0, 0, 0, len(columns) - 1, title, f_title)
    r0 = 2 if blank_row else 1
    for j, (head, _) in enumerate(columns):
        ws.write_string(r0, j, head, f_head)
    for i, row in enumerate(rows, start=r0 + 1):
        for j, ((_, kind), v) in enumerate(zip(columns, row)):
            if v is None or v == "":
                continue
            if kind == "text":
                ws.write_string(i, j, str(v))
            elif kind == "number":
                ws.write_number(i, j, v)
            elif kind == "date":
                ws.write_datetime(i, j, v, f_date)
            elif kind == "datetime":
                ws.write_datetime(i, j, v, f_dt)
            elif kind == "serial":
                ws.write_number(i, j, _excel_serial(v))
    ws.set_column(0, len(columns) - 1, 14)
    wb.close()


def _excel_serial(v: dt.datetime | dt.date) -> float:
    if not isinstance(v, dt.datetime):
        return float((v - dt.date(1899, 12, 30)).days)
    return round((v - dt.datetime(1899, 12, 30)).total_seconds() / DAY, 6)


def _short_county(name: str) -> str:
    """方城县 → 方城, 管城回族区 → 管城 (for enterprise names)."""
    short = re.sub(r"(回族区|区|县|市)$", "", name)
    return short if len(short) >= 2 else name


def _allocate(total: int, weights: np.ndarray, minimum: int) -> np.ndarray:
    """Split total into integer parts proportional to weights, each at least minimum."""
    share = weights / weights.sum() * (total - minimum * len(weights))
    base = np.floor(share).astype(np.int64)
    rest = total - minimum * len(weights) - base.sum()
    base[np.argsort(-(share - base), kind="stable")[:rest]] += 1
    return base + minimum


def _repeats(values: np.ndarray) -> np.ndarray:
    """True for every occurrence of a value after its first (sort-based: fast on millions)."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    out = np.zeros(len(values), bool)
    out[order[1:]] = ordered[1:] == ordered[:-1]
    return out


def _group_rank(keys: np.ndarray) -> np.ndarray:
    """0,1,2… within runs of equal keys (keys must be sorted)."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, np.int64)
    start = np.r_[True, keys[1:] != keys[:-1]]
    first = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    return np.arange(n) - first


# ---------------------------------------------------------------------------------- ID numbers
_ID_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_CHECK_CHARS = pa.array(list("0123456789X"))


def _id_base(code6: np.ndarray, ymd: np.ndarray, seq: np.ndarray) -> np.ndarray:
    return code6.astype(np.int64) * 10**11 + ymd.astype(np.int64) * 1000 + seq.astype(np.int64)


def _id_strings(base17: np.ndarray) -> pa.Array:
    """GB 11643 ID numbers from their first 17 digits (int64), with the check character."""
    total = np.zeros(len(base17), np.int64)
    x = base17.copy()
    for w in _ID_W[::-1]:
        total += (x % 10) * w
        x //= 10
    check = (12 - total % 11) % 11
    digits = pc.cast(pa.array(base17), pa.string())
    return pc.binary_join_element_wise(digits, _CHECK_CHARS.take(pa.array(check)), "")


def _henan_id_codes() -> tuple[list[str], np.ndarray, list[list[set]]]:
    """Every county-level code Henan ever had, per stdnum's table: (codes, valid[k, year], names[k][year]).

    stdnum's RIC check accepts a prefix only if the code existed in the birth year, so someone
    born in 1970 in today's 方城县 (411322, since 1994) carries the code of that time.
    """
    db = numdb.get("cn/loc")
    henan = next(p for p in db.prefixes if p[1] == "41")
    years = np.arange(1962, 2005)
    codes, valid, names = [], [], []
    for _, lo, hi, props, _ in henan[4]:
        if lo != hi or lo.endswith("00") or lo.endswith("01"):   # province, prefecture, 市辖区
            continue
        ok = np.zeros(len(years), bool)
        named = [set() for _ in years]
        for part in props.get("county", "").split(","):
            m = re.match(r"\[(\d*)-(\d*)\](.*)", part)
            first, last, name = (int(m.group(1) or 0), int(m.group(2) or 9999), m.group(3)) if m else (0, 9999, part)
            span = (years >= first) & (years <= last)
            ok |= span
            for j in np.flatnonzero(span):
                named[j].add(name)
        codes.append("41" + lo)
        valid.append(ok)
        names.append(named)
    return codes, np.array(valid), names


def _dirty_id(good: str, kind: str, rng: np.random.Generator) -> str:
    """A realistically broken copy of a valid ID number."""
    if kind == "id_excel":       # Excel turned it into a number: the digits are gone
        return f"{float(good[:17]) * 10:.5E}"   # 411322… → 4.11322E+17
    if kind == "id_17":
        return good[:17]
    chars = "0123456789X"
    wrong = chars[(chars.index(good[17]) + 1 + int(rng.integers(0, 10))) % 11]
    return good[:17] + wrong


def _credit_code(county: str, rng: np.random.Generator) -> str:
    """A GB 32100 credit code: 91 + county + GB 11714 organisation code + check character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    if rng.random() < 0.7:  # codes issued since 2015 start with MA
        body = "MA" + "".join(alphabet[i] for i in rng.integers(0, len(alphabet), 6))
    else:
        body = "".join(str(i) for i in rng.integers(0, 10, 8))
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2)))
    check = 11 - total % 11
    org = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    code17 = "91" + county + org
    return code17 + uscc.calc_check_digit(code17)


def _person_names(rng: np.random.Generator, male: np.ndarray) -> pa.Array:
    """Chinese names: surname + one or two given characters picked by gender."""
    n = len(male)
    sur = pa.array(SURNAMES).take(pa.array(rng.choice(len(SURNAMES), n, p=SURNAME_W / SURNAME_W.sum())))
    pools = [pa.array(FEMALE_CHARS), pa.array(MALE_CHARS)]
    parts = []
    for k in range(2):
        idx_m = rng.integers(0, len(MALE_CHARS), n)
        idx_f = rng.integers(0, len(FEMALE_CHARS), n)
        m = pools[1].take(pa.array(idx_m))
        f = pools[0].take(pa.array(idx_f))
        parts.append(pc.if_else(pa.array(male), m, f))
    two = pa.array(rng.random(n) < 0.72)
    given = pc.if_else(two, pc.binary_join_element_wise(parts[0], parts[1], ""), parts[0])
    return pc.binary_join_element_wise(sur, given, "")


def _truncnorm(rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float, n: int) -> np.ndarray:
    """Normal draws kept inside [lo, hi] by redrawing uniformly there (no spikes at the edges)."""
    x = rng.normal(mean, sd, n)
    out = (x < lo) | (x > hi)
    x[out] = rng.uniform(lo, hi, out.sum())
    return x


def _scalar_names(rng: np.random.Generator, n: int) -> list[str]:
    return _person_names(rng, rng.random(n) < 0.6).to_pylist()


# ----------------------------------------------------------------------------- time formats
def _fmt_dt(t: dt.datetime, fmt: str) -> str:
    if fmt == "iso":
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if fmt == "slash":
        return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"
    return f"{t.year}年{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}"


def _fmt_date(d: dt.date, fmt: str) -> str:
    if fmt == "iso":
        return d.isoformat()
    if fmt == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    return f"{d.year}年{d.month}月{d.day}日"


class _Clock:
    """Second offsets from the period start, formatted through per-format lookup tables."""

    def __init__(self, days: int):
        self.days = days
        self.start = END - dt.timedelta(days=days)
        self.end_s = days * DAY
        self._tables: dict[str, pa.Array] = {}

    def at(self, t: float) -> dt.datetime:
        return self.start + dt.timedelta(seconds=int(t))

    def date(self, d: int) -> dt.date:
        return (self.start + dt.timedelta(days=int(d))).date()

    def _table(self, fmt: str) -> pa.Array:
        if fmt not in self._tables:
            if fmt == "iso":  # every second of the period
                epoch = int((self.start - dt.datetime(1970, 1, 1)).total_seconds())
                stamps = pa.array(np.arange(self.end_s, dtype=np.int64) + epoch, type=pa.timestamp("s"))
                table = pc.strftime(stamps, "%Y-%m-%d %H:%M:%S")
            else:             # every minute
                table = pa.array([_fmt_dt(self.start + dt.timedelta(minutes=m), fmt)
                                  for m in range(self.end_s // MINUTE)])
            self._tables[fmt] = pa.concat_arrays([table.cast(pa.string()), pa.array([BAD_TS])])
        return self._tables[fmt]

    def ts(self, t: np.ndarray, fmt: str, null: np.ndarray | None = None,
           bad: np.ndarray | None = None) -> pa.Array:
        """Formatted timestamps; null rows empty, bad rows the impossible BAD_TS."""
        table = self._table(fmt)
        t = np.asarray(t, dtype=np.int64)
        idx = np.clip(t, 0, self.end_s - 1) // (1 if fmt == "iso" else MINUTE)
        if bad is not None and bad.any():
            idx = np.where(bad, len(table) - 1, idx)
        return table.take(pa.array(idx, mask=null))


# ------------------------------------------------------------------------------- the generator
class _Demo:
    """One generation run: the world (enterprises, people, places, plans) and its writers."""

    def __init__(self, scale: Scale, days: int, seed: int, out_dir: Path, progress: ProgressFn | None):
        self.sc, self.days, self.seed, self.out = scale, days, seed, out_dir
        self._progress = progress
        self.clock = _Clock(days)
        self.files: list[dict] = []
        self.rows: dict[str, int] = {}
        self.dirty: dict[str, dict[str, int]] = {}
        self.notes: dict = {}

    # ---- plumbing
    def rng(self, *keys: int) -> np.random.Generator:
        """An independent stream per stage/day/chunk, so results never depend on call order."""
        return np.random.default_rng([self.seed, *keys])

    def file_rng(self, name: str) -> np.random.Generator:
        digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
        return self.rng(99, digest)

    def step(self, fraction: float, message: str) -> None:
        if self._progress:
            self._progress(min(max(fraction, 0.0), 1.0), message)

    def record(self, path: Path, feed: str, rows: int, encoding: str) -> None:
        self.files.append({"file": path.name, "feed": feed, "rows": rows, "bytes": path.stat().st_size,
                           "encoding": encoding})
        self.rows[feed] = self.rows.get(feed, 0) + rows

    def count_dirty(self, feed: str, kind: str, n: int) -> None:
        if n:
            bucket = self.dirty.setdefault(feed, {})
            bucket[kind] = bucket.get(kind, 0) + int(n)

    def csv_style(self, name: str, feed: str, enc_weights: tuple, title: str | None, title_p: float,
                  ts_weights=(0.5, 0.3, 0.2)) -> _Style:
        r = self.file_rng(name)
        enc = ["gb18030", "utf-8-sig", "utf-8"][r.choice(3, p=np.array(enc_weights) / sum(enc_weights))]
        layouts = LAYOUTS[feed]
        return _Style(encoding=enc, title=title if r.random() < title_p else None,
                      ts=["iso", "slash", "cn"][r.choice(3, p=ts_weights)],
                      layout=layouts[r.integers(0, len(layouts))],
                      quoting="needed" if r.random() < 0.2 else "none",
                      eol="\r\n" if r.random() < 0.5 else "\n")

    # ---- run
    def run(self) -> dict:
        t0 = time.perf_counter()
        self.out.mkdir(parents=True, exist_ok=True)
        self.clean_out_dir()
        self.step(0.0, "读取行政区划")
        self.build_geography()
        self.step(0.01, "生成白名单企业")
        self.build_enterprises()
        self.step(0.03, "安排县区状态与生产计划")
        self.build_county_states()
        self.build_production_plan()
        self.step(0.04, "生成员工花名册")
        self.build_people()
        self.build_sites()
        self.build_places()
        self.build_events()
        self.step(0.07, "写出企业台账、场所码台账与花名册")
        self.write_registry()
        self.write_county_states()
        self.write_sector_output()
        self.write_places()
        self.write_rosters()
        self.write_production()
        self.step(0.10, "模拟核酸检测与场所码扫码")
        self.simulate()
        self.step(0.97, "生成企业诉求")
        self.write_issues()
        seconds = time.perf_counter() - t0
        self.step(1.0, "演示数据已生成")
        self.files.sort(key=lambda f: f["file"])
        return {
            "scale": self.sc.name, "days": self.days, "seed": self.seed, "out_dir": str(self.out),
            "start": self.clock.start.isoformat(sep=" "), "end": END.isoformat(sep=" "),
            "files": self.files, "rows": dict(sorted(self.rows.items())),
            "bytes": sum(f["bytes"] for f in self.files),
            "dirty": {k: dict(sorted(v.items())) for k, v in sorted(self.dirty.items())},
            "enterprises": self.n_ent, "employees": int(self.n_emp), "visitors": int(self.n_vis),
            "notes": self.notes, "seconds": round(seconds, 2),
        }

    def clean_out_dir(self) -> None:
        """Drop files an earlier demo run left (only our own names), so scales never mix."""
        prefixes = ("白名单企业台账", "县区状态", "行业产值统计", "员工花名册_", "场所码台账", "核酸检测_",
                    "场所码扫码_", "生产经营日报", "企业诉求")
        for p in self.out.iterdir():
            if p.is_file() and p.suffix in (".csv", ".xlsx") and p.name.startswith(prefixes):
                p.unlink()

    # ---- geography
    def build_geography(self) -> None:
        allc = regions.counties().sort_values("code").reset_index(drop=True)
        if self.sc.name == "county":
            scope = allc[allc["code"] == COUNTY_CODE]
        elif self.sc.name == "city":
            scope = allc[allc["city_code"] == CITY_CODE]
        else:
            scope = allc
        scope = scope.reset_index(drop=True)
        self.cty_code = scope["code"].tolist()
        self.cty_name = scope["name"].tolist()
        self.city_codes = list(dict.fromkeys(scope["city_code"]))
        self.city_names = [scope.loc[scope["city_code"] == c, "city_name"].iloc[0] for c in self.city_codes]
        self.cty_city = np.array([self.city_codes.index(c) for c in scope["city_code"]])
        self.n_cty = len(scope)
        self.all_codes = allc["code"].tolist()
        self.all_city = allc["city_code"].to_numpy()
        self.all_names = allc["name"].tolist()
        self.scope_label = self.sc.label

    # ---- enterprises
    def build_enterprises(self) -> None:
        rng = self.rng(1)
        sc = self.sc
        w = rng.lognormal(0, 0.35, self.n_cty) * np.array([1.25 if n.endswith("区") else 1.0 for n in self.cty_name])
        per = _allocate(sc.enterprises, w, minimum=min(12, sc.enterprises // self.n_cty))
        n = int(per.sum())
        self.n_ent = n
        cty = np.repeat(np.arange(self.n_cty), per)
        sector = rng.choice(6, n, p=SECTOR_SHARE)
        starts = np.r_[0, np.cumsum(per)[:-1]]
        for s in starts:  # every county has every sector, so R6 coverage is defined everywhere
            sector[s:s + 6] = rng.permutation(6)
        # headcount: heavy-tailed, a few ≥ 1000, the total near the scale's target
        big = rng.random(n) < 0.012
        n_big_min = max(3, round(0.012 * n))
        if big.sum() < n_big_min:
            cand = np.flatnonzero(~big & (sector == IND))
            big[rng.choice(cand, n_big_min - big.sum(), replace=False)] = True
        head = np.where(big, np.minimum(1000 * np.exp(rng.exponential(0.5, n)), 6000),
                        np.clip(rng.lognormal(np.log(55), 0.8, n) * SECTOR_HEAD[sector], 8, 950))
        rest_target = sc.employees - head[big].sum()
        head[~big] = np.clip(head[~big] * rest_target / head[~big].sum(), 8, 980)
        head = np.round(head).astype(np.int64)
        hut = (big & (rng.random(n) < 0.6)) | ((head >= 500) & (rng.random(n) < 0.06))
        bigs = np.flatnonzero(big)
        hut[bigs[0]] = True    # R7: at least one big enterprise with a hut, one without
        hut[bigs[1]] = False
        output = head * OUTPUT_PER_HEAD[sector] * rng.lognormal(0, 0.45, n)
        closed_cap = rng.random(n) < np.clip(SECTOR_CLOSED_LOOP[sector] + (head >= 300) * 0.15, 0, 0.95)
        # listing: three whitelist batches before the period, a few during it, a few removed in it
        batches = [dt.date(2022, 4, 28), dt.date(2022, 5, 12), dt.date(2022, 5, 23)]
        start_d = self.clock.start.date()
        offs = np.array([(b - start_d).days for b in batches])
        listed = offs[rng.choice(3, n, p=[0.55, 0.3, 0.15])]
        stray = rng.random(n) < 0.05
        listed[stray] = rng.integers(-50, -20, stray.sum())
        listed = np.minimum(listed, -1)
        removed = np.full(n, 10**6)
        self.specials: set[int] = set()
        if self.days >= 3:
            k_late = max(2, round(0.015 * n))
            late = rng.choice(np.flatnonzero(~big), k_late, replace=False)
            listed[late] = rng.integers(1, self.days - 1, k_late)
            k_rm = max(2, round(0.005 * n))
            pool = np.setdiff1d(np.flatnonzero(~big & ~hut), late)
            rm = rng.choice(pool, k_rm, replace=False)
            removed[rm] = rng.integers(2, self.days, k_rm)
            self.specials |= set(late.tolist()) | set(rm.tolist())
        self.ent_cty, self.ent_sector, self.ent_head = cty, sector, head
        self.ent_hut, self.ent_output, self.ent_closed_cap = hut, np.round(output, 1), closed_cap
        self.ent_listed, self.ent_removed = listed, removed
        self.ent_city = self.cty_city[cty]
        # names, credit codes, cadres, coordinates
        used_names: set[str] = set()
        used_codes: set[str] = set()
        names, codes, park = [], [], np.zeros(n, bool)
        city_short = [c.removesuffix("市") for c in self.city_names]
        unique_left = {c: list(SUPPLY_UNIQUE) for c in range(self.n_cty)}
        for i in range(n):
            c = int(cty[i])
            cname, cshort = self.cty_name[c], _short_county(self.cty_name[c])
            while True:
                name, is_park = self._enterprise_name(rng, int(sector[i]), cname, cshort,
                                                      city_short[self.cty_city[c]], unique_left[c])
                if name not in used_names:
                    break
            used_names.add(name)
            names.append(name)
            park[i] = is_park
            while True:
                code = _credit_code(self.cty_code[c], rng)
                if code not in used_codes:
                    break
            used_codes.add(code)
            codes.append(code)
        self.ent_name, self.ent_credit, self.ent_park = names, codes, park
        self.ent_credit_pa = pa.array(codes)
        self.ent_name_pa = pa.array(names)
        cadre = [None] * n
        lng, lat = np.zeros(n), np.zeros(n)
        for c in range(self.n_cty):
            members = np.flatnonzero(cty == c)
            pool = _scalar_names(rng, max(4, len(members) // 4))
            for i in members:
                cadre[i] = pool[rng.integers(0, len(pool))]
            pts = np.round(regions.sample_points(self.cty_code[c], len(members), rng), 6)
            for _ in range(20):  # rounding may push a border point out: redraw those
                where = regions.counties_of_points(pts[:, 0], pts[:, 1])
                out = np.flatnonzero(where != self.cty_code[c])
                if len(out) == 0:
                    break
                pts[out] = np.round(regions.sample_points(self.cty_code[c], len(out), rng), 6)
            lng[members], lat[members] = pts[:, 0], pts[:, 1]
        self.ent_cadre, self.ent_lng, self.ent_lat = cadre, lng, lat
        self.cty_test_p = rng.uniform(0.86, 0.96, self.n_cty)
        self.ent_test_adj = np.clip(rng.normal(0, 0.025, n), -0.06, 0.05) - (rng.random(n) < 0.08) * 0.12
        self.ent_scan_p = np.where(rng.random(n) < 0.85, rng.uniform(0.93, 1.0, n), rng.uniform(0.6, 0.9, n))

    def _enterprise_name(self, rng, sector: int, cname: str, cshort: str, city: str,
                         unique_left: list[str]) -> tuple[str, bool]:
        def pick(seq):
            return seq[int(rng.integers(0, len(seq)))]

        brand = pick(BRAND_A) + pick(BRAND_B)
        prefix = [city, cname, cshort, "河南", ""][rng.choice(5, p=[0.35, 0.25, 0.15, 0.1, 0.15])]
        if sector == IND:
            if rng.random() < 0.04:
                return f"{prefix or cname}{brand}{pick(['产业园', '科技园', '创业园'])}", True
            return f"{prefix}{brand}{pick(IND_TERMS)}{pick(ORG_SUFFIX)}", False
        if sector == TRADE:
            u = rng.random()
            if u < 0.6:
                return f"{prefix}{brand}{pick(TRADE_TERMS)}有限公司", False
            if u < 0.85:
                return f"{prefix or cshort}{brand}{pick(MARKETS)}", False
            return f"{prefix}{brand}超市", False
        if sector == TRANSPORT:
            if rng.random() < 0.05:
                return f"{cname}公共交通有限公司", False
            return f"{prefix}{brand}{pick(TRANSPORT_TERMS)}有限公司", False
        if sector == TOURISM:
            return f"{prefix or cshort}{brand}{pick(TOURISM_TERMS)}", False
        if sector == PROJECT:
            u = rng.random()
            if u < 0.35:
                return f"{cname}{brand}年产{int(rng.integers(2, 31))}万吨{pick(PRODUCTS)}项目", False
            if u < 0.55:
                return f"{cname}{brand}智能制造产业园项目", True
            if u < 0.7:
                return f"{city}{brand}新能源{pick(['光伏发电', '风电', '储能电站'])}项目", False
            if u < 0.8:
                return f"{cname}{brand}路改扩建项目", False
            return f"{cname}{pick(PUBLIC_PROJECTS)}项目（{pick(['一期', '二期', '三期'])}）", False
        if unique_left and rng.random() < 0.5:
            return unique_left.pop(0).format(c=cname), False
        return f"{prefix or cname}{brand}{pick(SUPPLY_TERMS)}", False

    # ---- county states (R14)
    def build_county_states(self) -> None:
        rng = self.rng(2)
        self.sw_t = np.full(self.n_cty, NEVER, np.int64)
        self.back_t = np.full(self.n_cty, NEVER, np.int64)
        k = min(self.sc.emergencies, self.n_cty)
        chosen = [int(i) for i in rng.choice(self.n_cty, k, replace=False)]
        end_s = self.clock.end_s

        def at(frac: float, hour: int) -> int:
            d = int(np.clip(round(frac * self.days), 0, self.days - 1))
            return int(np.clip(d * DAY + hour * HOUR, HOUR, end_s - 2 * HOUR))

        # the first stays in emergency and gets the cluster; the second switches back
        plans = [(0.38, 18, None), (0.18, 20, (0.72, 12)), (0.6, 16, None)]
        for c, (frac, hour, back) in zip(chosen, plans):
            self.sw_t[c] = at(frac, hour)
            if back:
                self.back_t[c] = max(at(*back), self.sw_t[c] + 2 * HOUR)
        self.emergency_order = chosen
        self.notes["emergency_counties"] = [
            {"county_code": self.cty_code[c], "county": self.cty_name[c],
             "since": self.clock.at(self.sw_t[c]).isoformat(sep=" "),
             "back_to_normal": None if self.back_t[c] == NEVER else self.clock.at(self.back_t[c]).isoformat(sep=" ")}
            for c in chosen]

    def emergency_on_day(self) -> np.ndarray:
        """em[c, d]: county c is in 应急 at noon of day d."""
        noon = np.arange(self.days) * DAY + 12 * HOUR
        return (self.sw_t[:, None] <= noon[None, :]) & (noon[None, :] < self.back_t[:, None])

    # ---- production plan (statuses, R9 stops, emergency closed loops)
    def build_production_plan(self) -> None:
        rng = self.rng(3)
        n, days = self.n_ent, self.days
        sector, head = self.ent_sector, self.ent_head
        base_cap = rng.uniform(70, 95, n)
        dates = [self.clock.date(d) for d in range(days)]
        weekend = np.array([d.weekday() >= 5 or d in HOLIDAYS for d in dates])
        cap = base_cap[:, None] * (1 + rng.normal(0, 0.03, (n, days)))
        cap[:, weekend] *= np.where(sector == TOURISM, 1.1, np.where(sector == IND, 0.96, 1.0))[:, None]
        status = np.zeros((n, days), np.int8)
        em = self.emergency_on_day()[self.ent_cty]          # (n, days)
        u = rng.random(n)
        closed = self.ent_closed_cap & (u < 0.85)
        partial = ~closed & (sector != SUPPLY) & (u < 0.55)
        status[em & closed[:, None]] = CLOSED
        status[em & partial[:, None]] = PARTIAL
        cap = np.where(status == CLOSED, cap * rng.uniform(0.65, 0.9, (n, 1)), cap)
        cap = np.where(status == PARTIAL, cap * rng.uniform(0.3, 0.6, (n, 1)), cap)
        cap = np.where(em & (status == NORMAL), cap * 0.93, cap)
        # R9: a few 停产 episodes outside emergency counties, one longer than 3 days
        # prefer enterprises outside emergency counties; a county-scale demo has no "outside"
        free = sorted((i for i in rng.permutation(n).tolist() if i not in self.specials and not self.ent_hut[i]),
                      key=lambda i: bool(em[i].any()), reverse=True)
        stops = []
        long_len = min(5, days)
        if free:
            i = free.pop()
            s = max(0, days - long_len)
            stops.append((i, s, long_len))
        for _ in range(self.sc.short_stops):
            if not free or days < 1:
                break
            i = free.pop()
            ln = int(rng.integers(1, min(3, days) + 1))
            stops.append((i, int(rng.integers(0, days - ln + 1)), ln))
        for i, s, ln in stops:
            status[i, s:s + ln] = STOPPED
        self.stop_ents = {i for i, _, _ in stops}
        self.notes["stops"] = [{"credit_code": self.ent_credit[i], "from": str(self.clock.date(s)),
                                "days": ln} for i, s, ln in stops]
        cap = np.where(status == STOPPED, 0.0, np.clip(cap, 2, 100))
        duty = np.round(head[:, None] * cap / 100 * rng.uniform(0.97, 1.05, (n, days)))
        duty = np.where(status == STOPPED, np.round(head[:, None] * rng.uniform(0.01, 0.05, (n, 1))), duty)
        duty = np.minimum(duty, head[:, None]).astype(np.int64)
        daily = self.ent_output / 330
        out = daily[:, None] * cap / base_cap[:, None] * rng.lognormal(0, 0.05, (n, days))
        power = out * POWER_INTENSITY[sector][:, None] * rng.lognormal(0, 0.08, (n, days))
        standby = daily * POWER_INTENSITY[sector] * rng.uniform(0.03, 0.08, n)
        power = np.where(status == STOPPED, standby[:, None], power + standby[:, None] * 0.5)
        # which reports arrive: from listing until removal, a few days missing, a few gone stale
        day_idx = np.arange(days)
        reported = (day_idx[None, :] >= self.ent_listed[:, None]) & (day_idx[None, :] < self.ent_removed[:, None])
        reported &= rng.random((n, days)) > 0.025
        stale = rng.random(n) < 0.01
        if days > 3:
            reported[stale, days - 2:] = False
        self.status, self.cap, self.duty, self.out_day, self.power = status, cap, duty, out, power
        self.reported = reported
        removed_day = np.clip(self.ent_removed, 0, days)
        self.scan_duty = np.where(day_idx[None, :] < removed_day[:, None], duty, 0)

    # ---- people
    def build_people(self) -> None:
        rng = self.rng(4)
        n = self.n_ent
        roster = np.where(rng.random(n) < 0.95, self.ent_head,
                          np.round(self.ent_head * rng.uniform(0.9, 0.99, n))).astype(np.int64)
        roster = np.maximum(roster, 3)
        ent = np.repeat(np.arange(n), roster)
        n_emp = len(ent)
        sector = self.ent_sector[ent]
        # visitors: family members and others on no roster, 4 % as many, in every county
        cty_emp = np.bincount(self.ent_cty[ent], minlength=self.n_cty)
        vis_cty = np.repeat(np.arange(self.n_cty), np.maximum(1, np.round(cty_emp * 0.04).astype(np.int64)))
        n_vis = len(vis_cty)
        p_ent = np.r_[ent, np.full(n_vis, -1)]
        p_cty = np.r_[self.ent_cty[ent], vis_cty]
        # order: city, then employees (by enterprise), then that city's visitors
        order = np.lexsort((np.r_[np.zeros(n_emp), np.ones(n_vis)], self.cty_city[p_cty]))
        p_ent, p_cty = p_ent[order], p_cty[order]
        m = len(p_ent)
        emp = p_ent >= 0
        sec = np.where(emp, self.ent_sector[np.maximum(p_ent, 0)], 1)
        male = rng.random(m) < np.where(emp, SECTOR_MALE[sec], 0.5)
        u = rng.random(m)
        job = np.where(u < SECTOR_SUPPLY_JOB[sec], 2, np.where(u < SECTOR_SUPPLY_JOB[sec] + SECTOR_MOBILE[sec], 1, 0))
        job = np.where(emp, job, 0).astype(np.int8)
        # ID numbers: home county (mostly where they work) and a birth year it was valid in
        years = np.arange(1962, 2005)
        yw = np.exp(-0.5 * ((years - 1984) / 10.5) ** 2)
        byear = rng.choice(years, m, p=yw / yw.sum())
        code_idx_of = {c: i for i, c in enumerate(self.all_codes)}
        own = np.array([code_idx_of[c] for c in self.cty_code])[p_cty]
        home = own.copy()
        u = rng.random(m)
        same_city = u < 0.2
        cand_city = self.all_city[home]
        for cc in np.unique(cand_city[same_city]):
            sel = np.flatnonzero(same_city & (cand_city == cc))
            opts = np.flatnonzero(self.all_city == cc)
            home[sel] = opts[rng.integers(0, len(opts), len(sel))]
        anywhere = u > 0.95
        home[anywhere] = rng.integers(0, len(self.all_codes), anywhere.sum())
        code6 = self.id_codes(rng, home, byear)
        day0 = np.array([np.datetime64(f"{y}-01-01") for y in range(1962, 2005)])
        ylen = np.array([366 if (y % 4 == 0) else 365 for y in range(1962, 2005)])
        birth = day0[byear - 1962] + (rng.random(m) * ylen[byear - 1962]).astype(np.int64).astype("timedelta64[D]")
        birth = np.minimum(birth, np.datetime64("2004-05-31"))
        y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
        mo = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
        dd = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
        ymd = y * 10000 + mo * 100 + dd
        seq = rng.integers(0, 500, m) * 2 + male  # odd for men, even for women
        base = _id_base(code6, ymd, seq)
        for _ in range(50):  # make the numbers unique
            dup = _repeats(base)
            if not dup.any():
                break
            seq[dup] = rng.integers(0, 500, dup.sum()) * 2 + male[dup]
            base[dup] = _id_base(code6[dup], ymd[dup], seq[dup])
        self.p_id = _id_strings(base)
        self.p_base_sorted = np.sort(base)
        self.p_name = _person_names(rng, male)
        self.p_male = male
        self.p_ent, self.p_cty, self.p_job = p_ent.astype(np.int64), p_cty.astype(np.int64), job
        self.p_city = self.cty_city[p_cty]
        self.n_emp, self.n_vis, self.n_people = n_emp, n_vis, m
        # habits: preferred sampling time, compliance offset, night shift
        u = rng.random(m)
        tod = np.where(u < 0.7, _truncnorm(rng, 8.6, 0.9, 7, 11, m),
                       np.where(u < 0.95, _truncnorm(rng, 16, 1.0, 14, 18, m), rng.uniform(11, 21, m)))
        self.p_tod = (tod * HOUR).astype(np.int64)
        self.p_adj = np.where(rng.random(m) < 0.05, -0.3, 0.0) + rng.normal(0, 0.01, m)
        night_ok = np.isin(sec, [IND, TRANSPORT, SUPPLY]) & emp
        self.p_night = night_ok & (rng.random(m) < 0.15)
        bounds = np.searchsorted(self.p_city, np.arange(len(self.city_codes) + 1))
        self.chunks = ([(int(bounds[i]), int(bounds[i + 1])) for i in range(len(self.city_codes))]
                       if self.sc.split_by_city else [(0, m)])
        self.chunk_names = self.city_names if self.sc.split_by_city else [self.scope_label]

    def id_codes(self, rng: np.random.Generator, home: np.ndarray, byear: np.ndarray) -> np.ndarray:
        """The 6-digit ID prefix of people from today's county `home` (index into all counties).

        Today's code when it existed in the birth year; else the code the same county had then;
        else a code of that year named like a county of the same city; else any Henan code of then.
        """
        if not hasattr(self, "_hist"):
            self._hist = _henan_id_codes()
        codes, valid, names = self._hist
        pos = {c: k for k, c in enumerate(codes)}
        key = home.astype(np.int64) * 100 + (byear - 1962)
        order = np.argsort(key, kind="stable")
        bounds = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1], True])
        out = np.zeros(len(home), np.int64)
        for a, b in zip(bounds[:-1], bounds[1:]):
            h, y = int(home[order[a]]), int(byear[order[a]]) - 1962
            k = pos.get(self.all_codes[h])
            if k is not None and valid[k, y]:
                out[order[a:b]] = int(codes[k])
                continue
            name = self.all_names[h]
            city_names = {self.all_names[i] for i in np.flatnonzero(self.all_city == self.all_city[h])}
            opts = [j for j in range(len(codes)) if valid[j, y] and name in names[j][y]]
            opts = opts or [j for j in range(len(codes)) if valid[j, y] and names[j][y] & city_names]
            opts = opts or [j for j in range(len(codes)) if valid[j, y]]
            picked = np.array([int(codes[j]) for j in opts])
            out[order[a:b]] = picked[rng.integers(0, len(picked), b - a)] if len(opts) > 1 else picked[0]
        return out

    def fresh_ids(self, rng: np.random.Generator, cty: int, male: np.ndarray) -> pa.Array:
        """Valid ID numbers of people from county cty who are nobody else in the demo."""
        n = len(male)
        byear = rng.integers(1975, 2001, n)
        code6 = self.id_codes(rng, np.full(n, self.all_codes.index(self.cty_code[cty])), byear)
        ymd = byear * 10000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
        while True:
            base = _id_base(code6, ymd, rng.integers(0, 500, n) * 2 + male)
            at = np.minimum(np.searchsorted(self.p_base_sorted, base), len(self.p_base_sorted) - 1)
            if not (self.p_base_sorted[at] == base).any() and not _repeats(base).any():
                return _id_strings(base)

    def build_sites(self) -> None:
        """Sampling points: hospitals (mostly single tubes), community points, enterprise huts."""
        rng = self.rng(5)
        names, cty, single = [], [], []
        cty_sites = []
        for c, cname in enumerate(self.cty_name):
            own = []
            for hosp in ("人民医院", "中医院"):
                own.append(len(names))
                names.append(f"{cname}{hosp}核酸采样点")
                cty.append(c)
                single.append(0.5)
            k = 6 + int((self.ent_cty == c).sum() // 40)
            towns = rng.permutation(TOWNS)[:min(k, len(TOWNS))]
            for i, town in enumerate(towns):
                own.append(len(names))
                names.append(f"{cname}{town}{'便民采样点' if i % 2 else '核酸采样点'}")
                cty.append(c)
                single.append(0.03)
            cty_sites.append(np.array(own))
        hut_site = np.full(self.n_ent, -1)
        for i in np.flatnonzero(self.ent_hut):
            hut_site[i] = len(names)
            names.append(f"{self.ent_name[i]}核酸采样屋")
            cty.append(int(self.ent_cty[i]))
            single.append(0.02)
        self.site_name = pa.array(names)
        self.site_cty = np.array(cty)
        self.site_single = np.array(single)
        # each person's usual site: the hut of their enterprise, else a point in their county
        m = self.n_people
        site = np.zeros(m, np.int64)
        for c in range(self.n_cty):
            sel = np.flatnonzero(self.p_cty == c)
            opts = cty_sites[c]
            w = np.r_[[0.6, 0.3], np.ones(len(opts) - 2)]
            site[sel] = opts[rng.choice(len(opts), len(sel), p=w / w.sum())]
        hs = np.where(self.p_ent >= 0, hut_site[np.maximum(self.p_ent, 0)], -1)
        use_hut = (hs >= 0) & (rng.random(m) < 0.9)
        site[use_hut] = hs[use_hut]
        self.p_site = site

    # ---- places (R3)
    def build_places(self) -> None:
        rng = self.rng(6)
        names, kinds, codes, ents = [], [], [], []
        gap_kinds = {}
        cand = np.flatnonzero(np.isin(self.ent_sector, [IND, PROJECT]) & (self.ent_head < 1000))
        n_gap = max(2, round(0.03 * len(cand)))
        for i in rng.choice(cand, min(n_gap, len(cand)), replace=False):
            gap_kinds[int(i)] = "生活区" if rng.random() < 0.6 else "生产"
        partial_issue = rng.random(self.n_ent) < 0.12
        none_issued = rng.random(self.n_ent) < 0.01
        for i in range(self.n_ent):
            places = self._places_of(rng, i)
            gap = gap_kinds.get(i)
            if gap == "生活区":
                places = [p for p in places if p[1] != "生活区"]
            elif gap == "生产":
                places = [p for p in places if p[1] not in ("生产区", "车间")]
            places = places[:12]
            if len(places) < 3:
                places.append(("办公楼", "楼栋"))
            for name, kind in places:
                names.append(name)
                kinds.append(kind)
                ents.append(i)
        ents = np.array(ents)
        # codes: HN + county + 6 random digits, unique within the county
        code_str = np.empty(len(ents), object)
        self.fake_serials = {}
        for c in range(self.n_cty):
            sel = np.flatnonzero(self.ent_cty[ents] == c)
            serials = rng.choice(1_000_000, len(sel) + 50, replace=False)
            for j, s in zip(sel, serials):
                code_str[j] = f"HN{self.cty_code[c]}{s:06d}"
            self.fake_serials[c] = serials[len(sel):]   # never issued: the dirty scans use them
        # vectorised issue flags: partial → 1–3 places not yet coded, none → nothing coded
        order = np.argsort(ents, kind="stable")
        rank = _group_rank(ents[order])
        r = np.empty(len(ents), np.int64)
        r[order] = rank
        n_pl = np.bincount(ents, minlength=self.n_ent)
        n_missing = np.where(none_issued, n_pl, np.where(partial_issue, rng.integers(1, 4, self.n_ent), 0))
        n_missing = np.minimum(n_missing, n_pl)
        issued = r < (n_pl - n_missing)[ents]   # the last places listed are the ones still waiting
        self.pl_ent, self.pl_name, self.pl_kind = ents, names, kinds
        self.pl_code = [code_str[j] if issued[j] else None for j in range(len(ents))]
        self.notes["place_gaps"] = [self.ent_credit[i] for i in sorted(gap_kinds)]
        # per enterprise, the issued codes by role: entrance / inner (workshop, zone, floor) / living
        kind_arr = np.array(kinds)
        role = np.where(kind_arr == "出入口", 0, np.where(kind_arr == "生活区", 2, 1))
        codes_pa = pa.array([code_str[j] for j in range(len(ents))])
        self.code_pa = codes_pa
        self.roles = []
        for k in range(3):
            sel = np.flatnonzero(issued & (role == k))
            sel = sel[np.argsort(ents[sel], kind="stable")]
            cnt = np.bincount(ents[sel], minlength=self.n_ent)
            off = np.r_[0, np.cumsum(cnt)[:-1]]
            self.roles.append((sel, off, cnt))
        has_any = np.bincount(ents[issued], minlength=self.n_ent) > 0
        self.scan_duty = np.where(has_any[:, None], self.scan_duty, 0)

    def _places_of(self, rng, i: int) -> list[tuple[str, str]]:
        sector, head = int(self.ent_sector[i]), int(self.ent_head[i])
        n_door = 1 + (head > 200) + (head > 800) + (rng.random() < 0.2)
        doors = [(d, "出入口") for d in list(rng.permutation(DOORS))[:n_door]]
        out = list(doors)
        if self.ent_park[i]:
            out += [(f"{k}号楼", "楼栋") for k in range(1, int(rng.integers(3, 7)))]
            out += [("1号楼一层大厅", "楼层"), ("园区食堂", "生活区")]
        elif sector == IND:
            zones = ["生产区", "原料仓储区", "成品库区"][:int(rng.integers(1, 3))]
            out += [(z, "生产区") for z in zones]
            shops = ["一号车间", "二号车间", "三号车间", "四号车间", "五号车间", "包装车间", "质检车间"]
            out += [(s, "车间") for s in shops[:int(np.clip(head // 120, 1, 5))]]
            out += [("职工食堂", "生活区")] + ([("员工宿舍", "生活区")] if head > 150 else [])
        elif sector == PROJECT:
            out += [("施工作业区", "生产区"), ("钢筋加工区", "生产区"), ("工人生活区", "生活区")]
            out += [("项目部办公区", "生活区")] if rng.random() < 0.5 else []
        elif sector == TRADE:
            out += [(f"{k}楼卖场", "楼层") for k in "一二三"[:int(rng.integers(1, 4))]]
            out += [("蔬菜交易区", "生产区"), ("冷库区", "生产区")] if rng.random() < 0.35 else []
            out += [("员工宿舍", "生活区")] if rng.random() < 0.3 else []
        elif sector == TRANSPORT:
            out += [("分拣中心", "生产区"), ("装卸区", "生产区"), ("司机之家", "生活区")]
            out += [("员工宿舍", "生活区")] if head > 100 else []
        elif sector == TOURISM:
            out += [(f"{k}层", "楼层") for k in "一二三四"[:int(rng.integers(1, 5))]]
            out += [("员工宿舍", "生活区")] if rng.random() < 0.5 else []
        else:
            out += [("调度中心", "生产区"), ("加压泵房", "车间"), ("值班宿舍", "生活区")]
        return out

    # ---- positives and their rechecks (R8, R15)
    def build_events(self) -> None:
        rng = self.rng(7)
        days = self.days
        self.events: dict[int, list[dict]] = {}
        used_ents: set[int] = set()
        emp_of = {}
        order = np.argsort(self.p_ent, kind="stable")
        starts = np.searchsorted(self.p_ent[order], np.arange(self.n_ent))
        ends = np.searchsorted(self.p_ent[order], np.arange(self.n_ent), side="right")

        def person_in(e: int) -> int:
            members = order[starts[e]:ends[e]]
            members = members[~np.isin(members, list(emp_of))]
            plain = members[self.p_job[members] == 0]
            members = plain if len(plain) else members
            p = int(members[rng.integers(0, len(members))])
            emp_of[p] = e
            return p

        def add(day: int, person: int, hour: float, mode: str, tag: str) -> None:
            self.events.setdefault(day, []).append(
                {"person": person, "tod": int(hour * HOUR), "mode": mode, "slow": False, "tag": tag})

        def ent_in(cty: int | None, exclude_em: bool = False) -> int | None:
            em_cty = set(self.emergency_order)
            cand = [e for e in rng.permutation(self.n_ent).tolist()
                    if e not in used_ents and e not in self.specials and e not in self.stop_ents
                    and self.ent_head[e] >= 20 and (cty is None or self.ent_cty[e] == cty)
                    and not (exclude_em and int(self.ent_cty[e]) in em_cty)]
            if not cand:
                return None
            used_ents.add(cand[0])
            return cand[0]

        # the cluster: three confirmed positives in one closed-loop enterprise within 48 h
        c0 = self.emergency_order[0] if self.emergency_order else 0
        sw_day = int(min(self.sw_t[c0] // DAY + 1, days - 1)) if self.sw_t[c0] != NEVER else 0
        cday = int(np.clip(max(sw_day + 1, days - 4), 0, max(days - 2, 0)))
        closed_there = [e for e in np.flatnonzero((self.ent_cty == c0) & (self.status[:, cday] == CLOSED)
                                                  & (self.ent_head >= 150) & (self.ent_head <= 1500))
                        if e not in self.specials and e not in self.stop_ents]
        cluster = int(closed_there[0]) if closed_there else ent_in(c0)
        used_ents.add(cluster)
        nday = min(cday + 1, days - 1)
        late = nday == cday
        add(cday, person_in(cluster), 8.5, "pool", "cluster")
        add(nday, person_in(cluster), 15.0 if late else 8.2, "single", "cluster")
        add(nday, person_in(cluster), 15.5 if late else 9.1, "pool", "cluster")
        self.cluster_ent = cluster
        # each emergency was triggered by a pool positive on the morning of its switch day
        sporadic = []
        for c in self.emergency_order:
            e = ent_in(c)
            if e is not None:
                sporadic.append((int(min(self.sw_t[c] // DAY, days - 1)), e, "pool", "trigger"))
        for k in range(self.sc.sporadic):
            e = ent_in(None, exclude_em=True)
            e = ent_in(None) if e is None else e
            if e is None:
                break
            sporadic.append((int(rng.integers(0, max(days - 1, 1))), e,
                             "pool" if k % 2 else "single", "sporadic"))
        for day, e, mode, tag in sporadic:
            add(day, person_in(e), float(rng.uniform(7.5, 10)), mode, tag)
        # one recheck slower than the 6 h limit (R8): the first sporadic pool positive
        slow_done = False
        for day in sorted(self.events):
            for ev in self.events[day]:
                if ev["mode"] == "pool" and ev["tag"] != "cluster" and not slow_done:
                    ev["slow"] = slow_done = True
        self.notes["cluster_enterprise"] = self.ent_credit[cluster]
        self.notes["positives"] = [
            {"day": str(self.clock.date(d)), "credit_code": self.ent_credit[emp_of[ev["person"]]],
             "mode": ev["mode"], "kind": ev["tag"], "slow_recheck": ev["slow"]}
            for d in sorted(self.events) for ev in self.events[d]]

    # ---- small feeds
    def write_registry(self) -> None:
        path = self.out / "白名单企业台账.xlsx"
        d_end = self.clock.date(self.days - 1)
        title = f"{self.scope_label}白名单企业台账（截至{d_end.year}年{d_end.month}月{d_end.day}日）"
        cols = [("序号", "number"), ("统一社会信用代码", "text"), ("企业名称", "text"), ("所属市", "text"),
                ("所属县区", "text"), ("县区代码", "text"), ("行业领域", "text"), ("员工人数", "number"),
                ("年产值（万元）", "number"), ("经度", "number"), ("纬度", "number"), ("包保干部", "text"),
                ("纳入日期", "date"), ("移出日期", "serial"), ("核酸采样屋", "text"), ("具备闭环条件", "text"),
                ("备注", "text")]
        start = self.clock.start.date()
        rows = []
        for i in range(self.n_ent):
            c = int(self.ent_cty[i])
            listed = start + dt.timedelta(days=int(self.ent_listed[i]))
            removed = (start + dt.timedelta(days=int(self.ent_removed[i]))
                       if self.ent_removed[i] < 10**6 else None)
            note = ("熔断移出" if removed else "新增纳入" if self.ent_listed[i] >= 0
                    else "重点项目" if self.ent_sector[i] == PROJECT else None)
            rows.append([i + 1, self.ent_credit[i], self.ent_name[i], self.city_names[self.cty_city[c]],
                         self.cty_name[c], self.cty_code[c], SECTORS[self.ent_sector[i]], int(self.ent_head[i]),
                         float(self.ent_output[i]), float(self.ent_lng[i]), float(self.ent_lat[i]),
                         self.ent_cadre[i], listed, removed, "是" if self.ent_hut[i] else "否",
                         "是" if self.ent_closed_cap[i] else "否", note])
        _xlsx(path, title, True, cols, rows)
        self.record(path, "registry", len(rows), "xlsx")

    def write_county_states(self) -> None:
        path = self.out / "县区状态.csv"
        style = _Style(encoding="utf-8", layout=LAYOUTS["county_state"][0], ts="iso")
        codes, names, states, since = [], [], [], []
        first = dt.datetime(2022, 4, 25, 8, 0)
        events = [(first, c, "常态") for c in range(self.n_cty)]
        for c in self.emergency_order:
            events.append((self.clock.at(self.sw_t[c]), c, "应急"))
            if self.back_t[c] != NEVER:
                events.append((self.clock.at(self.back_t[c]), c, "常态"))
        for when, c, state in sorted(events, key=lambda e: (e[0], e[1])):
            codes.append(self.cty_code[c])
            names.append(self.cty_name[c])
            states.append(state)
            since.append(_fmt_dt(when, "iso"))
        f = _CsvFile(path, "county_state", style)
        f.write({"county_code": pa.array(codes), "+县区名称": pa.array(names), "state": pa.array(states),
                 "since": pa.array(since)})
        self.record(path, "county_state", f.close(), style.encoding)

    def write_sector_output(self) -> None:
        rng = self.rng(8)
        path = self.out / "行业产值统计.csv"
        style = self.csv_style(path.name, "sector_output", (0.5, 0.5, 0.0), "2022年1-5月分行业产值统计", 0.7)
        live = self.ent_removed >= 10**6
        wl = np.zeros((self.n_cty, 6))
        np.add.at(wl, (self.ent_cty[live], self.ent_sector[live]), self.ent_output[live])
        coverage = rng.uniform(0.56, 0.96, wl.shape)   # R6: about a third below the 70 % target
        total = np.round(np.where(wl > 0, wl / coverage, rng.uniform(2000, 20000, wl.shape)), 1)
        cc, ss = np.meshgrid(np.arange(self.n_cty), np.arange(6), indexing="ij")
        f = _CsvFile(path, "sector_output", style)
        f.write({"county_code": pa.array([self.cty_code[c] for c in cc.ravel()]),
                 "+县区名称": pa.array([self.cty_name[c] for c in cc.ravel()]),
                 "sector": pa.array([SECTORS[s] for s in ss.ravel()]),
                 "sector_output_wan_yuan": pa.array(total.ravel())})
        self.record(path, "sector_output", f.close(), style.encoding)

    def write_places(self) -> None:
        path = self.out / "场所码台账.xlsx"
        cols = [("序号", "number"), ("企业名称", "text"), ("统一社会信用代码", "text"), ("场所名称", "text"),
                ("场所类型", "text"), ("场所码", "text"), ("备注", "text")]
        rows = []
        for j, e in enumerate(self.pl_ent.tolist()):
            code = self.pl_code[j]
            rows.append([j + 1, self.ent_name[e], self.ent_credit[e], self.pl_name[j], self.pl_kind[j], code,
                         None if code else "待赋码"])
        _xlsx(path, f"{self.scope_label}白名单企业场所码台账", False, cols, rows)
        self.record(path, "places", len(rows), "xlsx")

    def write_rosters(self) -> None:
        rng = self.rng(9)
        phones = pc.cast(pa.array(rng.integers(13_000_000_000, 19_999_999_999, self.n_people)), pa.string())
        sexes = pa.array(np.where(self.p_male, "男", "女"))
        jobs = pa.array(list(feeds.JOB_TYPES))
        first = True
        employees = np.flatnonzero(self.p_ent >= 0)   # grouped by enterprise, hence by county
        bounds = np.searchsorted(self.p_cty[employees], np.arange(self.n_cty + 1))
        for c in range(self.n_cty):
            people = employees[bounds[c]:bounds[c + 1]]
            name = f"员工花名册_{self.cty_name[c]}.csv"
            path = self.out / name
            style = self.csv_style(name, "roster", (0.8, 0.15, 0.05), f"{self.cty_name[c]}白名单企业员工花名册", 0.6)
            if first:
                style.encoding = "gb18030"   # rosters are the classic GBK exports
            ids = self.p_id.take(pa.array(people))
            # dirty: a few ID cells broken, a few rows for an enterprise that is not on the whitelist
            n = len(people)
            k = {kind: rng.binomial(n, DIRTY_RATE / 3) + (3 if first else 0)
                 for kind in ("id_excel", "id_checksum")}
            pos = rng.choice(n, sum(k.values()), replace=False)
            ids_list = None
            if len(pos):
                ids_list = ids.to_pylist()
                kinds = ["id_excel"] * k["id_excel"] + ["id_checksum"] * k["id_checksum"]
                for p, kind in zip(pos, kinds):
                    ids_list[p] = _dirty_id(ids_list[p], kind, rng)
                    self.count_dirty("roster", kind, 1)
                ids = pa.array(ids_list)
            ents = self.p_ent[people]
            cols = {"id_number": ids, "name": self.p_name.take(pa.array(people)),
                    "credit_code": self.ent_credit_pa.take(pa.array(ents)),
                    "job_type": jobs.take(pa.array(self.p_job[people])), "+性别": sexes.take(pa.array(people)),
                    "+企业名称": self.ent_name_pa.take(pa.array(ents)), "+联系电话": phones.take(pa.array(people))}
            n_unknown = rng.binomial(n, DIRTY_RATE / 3) + (3 if first else 0)
            if n_unknown:
                ghost = _credit_code(self.cty_code[c], rng)
                g_male = rng.random(n_unknown) < 0.6
                extra = {"id_number": self.fresh_ids(rng, c, g_male), "name": _person_names(rng, g_male),
                         "credit_code": pa.array([ghost] * n_unknown), "job_type": pa.array(["普通岗位"] * n_unknown),
                         "+性别": pa.array(np.where(g_male, "男", "女")),
                         "+企业名称": pa.array([f"{self.cty_name[c]}人力资源服务有限公司"] * n_unknown),
                         "+联系电话": phones.take(pa.array(rng.integers(0, self.n_people, n_unknown)))}
                cols = {key: pa.concat_arrays([cols[key], extra[key]]) for key in cols}
                self.count_dirty("roster", "unknown_credit_code", n_unknown)
            f = _CsvFile(path, "roster", style)
            f.write(cols)
            self.record(path, "roster", f.close(), style.encoding)
            first = False

    def write_production(self) -> None:
        rng = self.rng(10)
        path = self.out / "生产经营日报.csv"
        d0, d1 = self.clock.date(0), self.clock.date(self.days - 1)
        style = self.csv_style(path.name, "production", (0, 1, 0),
                               f"白名单企业生产经营日报汇总（{d0.month}月{d0.day}日—{d1.month}月{d1.day}日）", 1.0)
        style.layout = LAYOUTS["production"][0]
        fmt = ["iso", "slash", "cn"][int(rng.integers(0, 3))]
        e_idx, d_idx = np.nonzero(self.reported.T)[::-1]  # day-major order
        order = np.lexsort((e_idx, d_idx))
        e_idx, d_idx = e_idx[order], d_idx[order]
        dates = pa.array([_fmt_date(self.clock.date(d), fmt) for d in range(self.days)])
        statuses = pa.array(list(feeds.PRODUCTION_STATES))
        st = self.status[e_idx, d_idx]
        out = np.round(self.out_day[e_idx, d_idx], 2)
        blank = rng.random(len(e_idx)) < 0.01   # a few reports without output or power
        cols = {"credit_code": self.ent_credit_pa.take(pa.array(e_idx)),
                "+企业名称": self.ent_name_pa.take(pa.array(e_idx)),
                "report_date": dates.take(pa.array(d_idx)), "status": statuses.take(pa.array(st)),
                "output_wan_yuan": pa.array(np.where(st == STOPPED, 0.0, out), mask=blank),
                "capacity_pct": pa.array(np.round(self.cap[e_idx, d_idx], 1)),
                "on_duty": pa.array(self.duty[e_idx, d_idx]),
                "power_kwh": pa.array(np.round(self.power[e_idx, d_idx]), mask=blank)}
        f = _CsvFile(path, "production", style)
        f.write(cols)
        self.record(path, "production", f.close(), style.encoding)

    # ---- the big feeds, day by day
    def simulate(self) -> None:
        m = self.n_people
        rng = self.rng(11)
        # steady state before the period: 48 h people last sampled one or two days ago, 24 h people
        # yesterday, and a few are already overdue
        back_days = np.where(self.p_job == 1, 1, rng.integers(1, 3, m)) + (rng.random(m) < 0.04)
        self.last = -back_days * DAY + self.p_tod + rng.normal(0, 35 * MINUTE, m).astype(np.int64)
        self.isolated = np.full(m, NEVER, np.int64)
        self.dates = [self.clock.date(d) for d in range(self.days)]
        n_files = self.days * len(self.chunks)
        r = self.rng(12)
        self.english_test = (int(r.integers(0, self.days)), int(r.integers(0, len(self.chunks))))
        self.english_scan = (int(r.integers(0, self.days)), int(r.integers(0, len(self.chunks))))
        done = 0
        for d in range(self.days):
            for ci, (lo, hi) in enumerate(self.chunks):
                if hi > lo:
                    self.tests_chunk(d, ci, lo, hi)
                    self.scans_chunk(d, ci, lo, hi)
                done += 1
                ymd = self.dates[d]
                self.step(0.10 + 0.87 * done / n_files,
                          f"生成 {ymd.month}月{ymd.day}日 {self.chunk_names[ci]} 核酸与扫码记录")

    def chunk_file(self, kind: str, d: int, ci: int) -> tuple[str, str]:
        ymd = self.dates[d].strftime("%Y%m%d")
        suffix = f"_{self.chunk_names[ci]}" if self.sc.split_by_city else ""
        return f"{kind}_{ymd}{suffix}.csv", self.chunk_names[ci]

    def tests_chunk(self, d: int, ci: int, lo: int, hi: int) -> None:
        """One test file: who samples today (R1), pools of ten, positives and rechecks (R8), dirt."""
        rng = self.rng(20, d, ci)
        events = [ev for ev in self.events.get(d, []) if lo <= ev["person"] < hi]
        s = self.draw_samples(rng, d, lo, hi, events)
        self.pool_and_result(rng, s)
        rechecks = self.apply_positives(rng, s, events)
        self.last[s["person"]] = s["t"]
        s["recheck"] = np.zeros(len(s["t"]), bool)
        if rechecks:
            self.last[rechecks["person"]] = np.maximum(self.last[rechecks["person"]], rechecks["t"])
            s = {k: np.r_[s[k], rechecks[k]] for k in s}
        # results arrive before the period ends, at least 20 minutes after sampling
        end_s = self.clock.end_s
        cap = end_s - (rng.uniform(5, 40, len(s["rt"])) * MINUTE).astype(np.int64)
        s["rt"] = np.minimum(np.minimum(s["rt"], np.maximum(cap, s["t"] + 20 * MINUTE)), end_s - 1)
        order = np.argsort(s["t"], kind="stable")   # exports list samples by time
        s = {k: v[order] for k, v in s.items()}
        # dirty rows, never on the positives, their pools and rechecks
        dirt = self.pick_dirty(rng, "tests", np.flatnonzero(~s["special"]), d == 0 and ci == 0,
                               ("id_excel", "id_checksum", "id_17", "bad_time", "bad_result"))
        s["res"][dirt["bad_result"]] = 3
        bad_time = np.zeros(len(s["t"]), bool)
        bad_time[dirt["bad_time"]] = True
        self.write_tests(d, ci, s, self.ids_with_dirt(rng, s["person"], dirt), bad_time)

    def draw_samples(self, rng, d: int, lo: int, hi: int, events: list[dict]) -> dict:
        """Who samples on day d, when, and in which tube: R1 intervals met with varying compliance."""
        date = self.dates[d]
        P = np.arange(lo, hi)
        m = len(P)
        ent = self.p_ent[P]
        emp = ent >= 0
        e0 = np.maximum(ent, 0)
        tod = self.p_tod[P] + rng.normal(0, 35 * MINUTE, m).astype(np.int64)
        tod = np.where((tod < 6.5 * HOUR) | (tod > 21.5 * HOUR), self.p_tod[P], tod)
        t = d * DAY + tod
        cty = self.p_cty[P]
        em = (t >= self.sw_t[cty]) & (t < self.back_t[cty])
        closed = emp & (self.status[e0, d] == CLOSED)
        interval = np.where((self.p_job[P] == 1) | em | closed, 24, 48) * HOUR
        gap = t - self.last[P]
        off_day = date.weekday() >= 5 or date in HOLIDAYS
        p = (self.cty_test_p[cty] + np.where(emp, SECTOR_TEST_ADJ[self.ent_sector[e0]] + self.ent_test_adj[e0], 0)
             + self.p_adj[P] - (0.1 if off_day else 0) + em * 0.04 + closed * 0.05)
        p = np.clip(p, 0.15, 0.995)
        # due → compliance p; already overdue → more likely to catch up; a day early → sometimes
        prob = np.select([gap >= interval + 18 * HOUR, gap >= interval - 6 * HOUR, gap >= interval - 30 * HOUR],
                         [np.minimum(p + 0.25, 0.98), p, 0.06], 0.01)
        prob = np.where(emp, prob, np.where(gap < 20 * HOUR, 0, np.where(em, 0.75, 0.3)))  # visitors
        take = (rng.random(m) < prob) & (self.isolated[P] > t)
        tube = (rng.random(m) >= self.site_single[self.p_site[P]] + (self.p_job[P] == 1) * 0.05).astype(np.int8)
        for ev in events:
            i = ev["person"] - lo
            take[i], tod[i], t[i] = True, ev["tod"], d * DAY + ev["tod"]
            tube[i] = 1 if ev["mode"] == "pool" else 0
        rows = np.flatnonzero(take)
        n = len(rows)
        person = P[rows]
        return {"person": person, "t": t[rows], "tube": tube[rows], "site": self.p_site[person],
                "afternoon": tod[rows] >= 13 * HOUR, "res": np.zeros(n, np.int8), "rt": np.zeros(n, np.int64),
                "pool": np.full(n, -1, np.int64), "special": np.zeros(n, bool)}

    @staticmethod
    def pool_and_result(rng, s: dict) -> None:
        """Pools of ten (consecutive samples at one site in one half-day) and result times."""
        pooled = np.flatnonzero(s["tube"] == 1)
        key = s["site"][pooled] * 2 + s["afternoon"][pooled]
        ps = pooled[np.lexsort((s["t"][pooled], key))]
        new_pool = _group_rank(np.sort(key)) % 10 == 0
        pool_num = np.cumsum(new_pool) - 1
        s["pool"][ps] = pool_num
        n_pools = int(new_pool.sum())
        pool_last = np.r_[np.flatnonzero(new_pool)[1:], len(ps)] - 1
        pool_max = s["t"][ps][pool_last] if n_pools else np.zeros(0, np.int64)
        s["rt"][ps] = (pool_max + (rng.uniform(2.5, 6.5, n_pools) * HOUR).astype(np.int64))[pool_num]
        single = np.flatnonzero(s["tube"] == 0)
        s["rt"][single] = s["t"][single] + (rng.uniform(3, 8, len(single)) * HOUR).astype(np.int64)

    def apply_positives(self, rng, s: dict, events: list[dict]) -> dict | None:
        """Today's planned positives: a pool turns 待复核 and each member gets a 单管 recheck."""
        if not events:
            return None
        row_of = {int(p): j for j, p in enumerate(s["person"])}
        re = {k: [] for k in ("person", "t", "res", "rt", "site")}
        for ev in events:
            j = row_of[ev["person"]]
            if ev["mode"] == "single":
                s["res"][j] = 1
                s["rt"][j] = s["t"][j] + int(rng.uniform(3, 5) * HOUR)
                s["special"][j] = True
                self.isolated[ev["person"]] = s["rt"][j]
                continue
            members = np.flatnonzero(s["pool"] == s["pool"][j])
            result_at = int(s["t"][members].max() + rng.uniform(2, 3) * HOUR)
            s["res"][members] = 2
            s["rt"][members] = result_at
            s["special"][members] = True
            for mbr in members:
                lag = rng.uniform(7.2, 9) if ev["slow"] else rng.uniform(0.5, 3.5)   # R8: 6 h
                sampled = result_at + int(lag * HOUR)
                re["person"].append(int(s["person"][mbr]))
                re["t"].append(sampled)
                re["res"].append(1 if mbr == j else 0)
                re["rt"].append(sampled + int(rng.uniform(1.5, 3) * HOUR))
                re["site"].append(int(s["site"][mbr]))
                if mbr == j:   # confirmed: isolated from the recheck result on
                    self.isolated[ev["person"]] = re["rt"][-1]
        n = len(re["t"])
        out = {k: np.array(v, np.int8 if k == "res" else np.int64) for k, v in re.items()}
        out.update(tube=np.zeros(n, np.int8), pool=np.full(n, -1, np.int64), special=np.ones(n, bool),
                   afternoon=np.zeros(n, bool), recheck=np.ones(n, bool))
        return out

    def pick_dirty(self, rng, feed: str, candidates: np.ndarray, first: bool, kinds: tuple) -> dict:
        """Rows to spoil, per kind: ≈DIRTY_RATE of the rows, at least 3 of each kind in the first file."""
        counts = [int(rng.binomial(len(candidates), DIRTY_RATE / len(kinds))) + (3 if first else 0) for _ in kinds]
        picks = rng.choice(candidates, min(sum(counts), len(candidates)), replace=False)
        bounds = np.r_[0, np.cumsum(counts)]
        out = {k: picks[bounds[i]:bounds[i + 1]] for i, k in enumerate(kinds)}
        for k, sel in out.items():
            self.count_dirty(feed, k, len(sel))
        return out

    def ids_with_dirt(self, rng, person: np.ndarray, dirt: dict) -> pa.Array:
        """The people's ID numbers, with the rows picked for an ID kind of dirt spoiled."""
        spoiled = [(int(j), k) for k in ("id_excel", "id_checksum", "id_17") for j in dirt.get(k, [])]
        if not spoiled:
            return self.p_id.take(pa.array(person))
        rows = np.array([j for j, _ in spoiled])
        good = self.p_id.take(pa.array(person[rows])).to_pylist()
        extra = pa.array([_dirty_id(g, k, rng) for g, (_, k) in zip(good, spoiled)])
        idx = person.copy()
        idx[rows] = self.n_people + np.arange(len(rows))
        return pa.concat_arrays([self.p_id, extra]).take(pa.array(idx))

    def write_tests(self, d: int, ci: int, s: dict, ids: pa.Array, bad_time: np.ndarray) -> None:
        date = self.dates[d]
        name, city = self.chunk_file("核酸检测", d, ci)
        path = self.out / name
        style = self.csv_style(name, "tests", (0.35, 0.35, 0.3),
                               f"{city}核酸检测台账（{date.year}年{date.month}月{date.day}日）", 0.4)
        if (d, ci) == self.english_test:
            style.english, style.layout, style.title = True, ENGLISH["tests"], None
        n = len(s["t"])
        cty = self.site_cty[s["site"]]
        ymd = date.strftime("%Y%m%d")
        order = np.argsort(cty, kind="stable")
        seq = np.empty(n, np.int64)
        seq[order] = _group_rank(cty[order]) + 1   # barcodes count up per county and day
        sample_id = pc.binary_join_element_wise(
            pa.array([f"S{c}{ymd}" for c in self.cty_code]).take(pa.array(cty)),
            pc.utf8_lpad(pc.cast(pa.array(seq), pa.string()), 6, "0"), "")
        pool_id = pc.binary_join_element_wise(
            pa.array([f"H{c}{ymd}" for c in self.cty_code]).take(pa.array(cty)),
            pc.utf8_lpad(pc.cast(pa.array(np.maximum(s["pool"], 0) + 1), pa.string()), 6, "0"), "")
        nulls = pa.nulls(n, pa.string())
        cols = {"sample_id": sample_id, "id_number": ids, "name": self.p_name.take(pa.array(s["person"])),
                "sampled_at": self.clock.ts(s["t"], style.ts, bad=bad_time),
                "result": pa.array(list(feeds.RESULTS) + ["阴"]).take(pa.array(s["res"])),
                "resulted_at": self.clock.ts(s["rt"], style.ts),
                "tube": pa.array(list(feeds.TUBES)).take(pa.array(s["tube"])),
                "pool_id": pc.if_else(pa.array(s["pool"] >= 0), pool_id, nulls),
                "site": self.site_name.take(pa.array(s["site"])),
                "+备注": pc.if_else(pa.array(s["recheck"]), pa.array(["单采复核"] * n), nulls)}
        f = _CsvFile(path, "tests", style)
        f.write(cols)
        self.record(path, "tests", f.close(), style.encoding)

    def scans_chunk(self, d: int, ci: int, lo: int, hi: int) -> None:
        """One scan file: on-duty staff scan entrance, workshop and maybe canteen or exit codes."""
        rng = self.rng(30, d, ci)
        first = d == 0 and ci == 0
        staff, ent = self.scanning_staff(rng, d, lo, hi)
        person, when, code = self.staff_scans(rng, d, staff, ent)
        # visitors, delivery drivers and the like: ~1 % of scans, at an entrance in their city
        visitors = np.arange(lo, hi)[self.p_ent[lo:hi] < 0]
        places = np.unique(ent)
        places = places[self.roles[0][2][places] > 0]
        n_v = min(len(visitors), int(round(0.012 * len(person)))) if len(places) else 0
        if n_v:
            person = np.r_[person, visitors[rng.integers(0, len(visitors), n_v)]]
            when = np.r_[when, d * DAY + rng.integers(8 * HOUR, 18 * HOUR, n_v)]
            code = np.r_[code, self.pick_code(rng, places[rng.integers(0, len(places), n_v)], 0)]
        # health codes per person-day (R4): a few yellow, very few red
        health = np.zeros(len(person), np.int8)
        n_y = int(rng.poisson(2.5e-4 * len(staff))) + (3 if first else 0)
        n_r = int(rng.poisson(1.5e-5 * len(staff))) + (1 if d == self.days // 2 and ci == 0 else 0)
        if len(staff):
            flagged = rng.choice(staff, min(n_y + n_r, len(staff)), replace=False)
            health[np.isin(person, flagged[:n_y])] = 1
            health[np.isin(person, flagged[n_y:])] = 2
        order = np.argsort(when, kind="stable")
        person, when, code, health = person[order], when[order], code[order], health[order]
        dirt = self.pick_dirty(rng, "scans", np.arange(len(person)), first,
                               ("unknown_place_code", "id_excel", "id_checksum", "bad_time"))
        bad_time = np.zeros(len(person), bool)
        bad_time[dirt["bad_time"]] = True
        codes = self.code_pa.take(pa.array(code))
        if len(dirt["unknown_place_code"]):   # codes of the right shape that were never issued
            rows = dirt["unknown_place_code"]
            fake = [f"HN{self.cty_code[c]}{self.fake_serials[int(c)][int(rng.integers(0, 50))]:06d}"
                    for c in self.p_cty[person[rows]]]
            idx = code.copy()
            idx[rows] = len(self.code_pa) + np.arange(len(rows))
            codes = pa.concat_arrays([self.code_pa, pa.array(fake)]).take(pa.array(idx))
        date = self.dates[d]
        name, city = self.chunk_file("场所码扫码", d, ci)
        path = self.out / name
        style = self.csv_style(name, "scans", (0.3, 0.35, 0.35), f"{city}场所码扫码记录导出（{date.isoformat()}）",
                               0.3, ts_weights=(0.6, 0.25, 0.15))
        if (d, ci) == self.english_scan:
            style.english, style.layout, style.title = True, ENGLISH["scans"], None
        cols = {"place_code": codes, "id_number": self.ids_with_dirt(rng, person, dirt),
                "scanned_at": self.clock.ts(when, style.ts, bad=bad_time),
                "health_code": pa.array(list(feeds.HEALTH_CODES)).take(pa.array(health))}
        f = _CsvFile(path, "scans", style)
        f.write(cols)
        self.record(path, "scans", f.close(), style.encoding)

    def scanning_staff(self, rng, d: int, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(people, their enterprise) who are on duty on day d and scan: the day's on_duty, drawn at random."""
        P = np.arange(lo, hi)
        E = P[self.p_ent[P] >= 0]
        ent = self.p_ent[E]                       # sorted: employees are grouped by enterprise
        order = np.lexsort((rng.random(len(ent)), ent))
        rank = np.empty(len(ent), np.int64)
        rank[order] = np.arange(len(ent))
        rank -= np.searchsorted(ent, ent)         # position within the enterprise's random order
        on = (rank < self.scan_duty[ent, d]) & (self.isolated[E] > d * DAY)
        date = self.dates[d]
        off_day = date.weekday() >= 5 or date in HOLIDAYS
        p = np.clip(self.ent_scan_p[ent] * (0.97 if off_day else 1.0) + np.minimum(self.p_adj[E], 0) * 0.3, 0, 1)
        scans = on & (rng.random(len(ent)) < p)   # R3 应扫尽扫, met to a varying degree
        return E[scans], ent[scans]

    def staff_scans(self, rng, d: int, staff: np.ndarray, ent: np.ndarray) -> tuple:
        """Arrival at an entrance, then a workshop/zone; 60 % also the canteen at noon or the exit."""
        k = len(staff)
        night = self.p_night[staff]
        arrive = np.where(night, _truncnorm(rng, 19.7, 0.25, 19, 20.5, k),
                          _truncnorm(rng, 7.75, 0.35, 6.3, 9.6, k)) * HOUR
        arrive = (arrive + rng.integers(0, 60, k)).astype(np.int64)
        third = rng.random(k) < 0.6
        c1, t1 = self.pick_code(rng, ent, 0), d * DAY + arrive
        c2, t2 = self.pick_code(rng, ent, 1), d * DAY + arrive + rng.integers(3 * MINUTE, 30 * MINUTE, k)
        lunch = third & ~night & (self.roles[2][2][ent] > 0) & (rng.random(k) < 0.6)
        leave = third & ~night & ~lunch
        t3 = np.where(lunch, rng.integers(int(11.5 * HOUR), int(12.75 * HOUR), k),
                      np.where(leave, rng.integers(17 * HOUR, int(18.75 * HOUR), k),
                               arrive + rng.integers(3 * HOUR, 4 * HOUR, k)))
        t3 = d * DAY + np.minimum(t3, DAY - 1)
        c3 = np.where(lunch, self.pick_code(rng, ent, 2), np.where(leave, c1, c2))
        return np.r_[staff, staff, staff[third]], np.r_[t1, t2, t3[third]], np.r_[c1, c2, c3[third]]

    def pick_code(self, rng, ents: np.ndarray, role: int) -> np.ndarray:
        """An issued code of the role (0 entrance, 1 workshop/zone/floor, 2 living) at each enterprise."""
        out = np.full(len(ents), -1, np.int64)
        for r in {0: (0, 1, 2), 1: (1, 0, 2), 2: (2, 1, 0)}[role]:   # fall back to what is there
            sel, off, cnt = self.roles[r]
            need = (out < 0) & (cnt[ents] > 0)
            if need.any():
                out[need] = sel[off[ents[need]] + (rng.random(need.sum()) * cnt[ents[need]]).astype(np.int64)]
        return out

    # ---- issues (R11)
    def write_issues(self) -> None:
        rng = self.rng(40)
        n = max(12, round(self.n_ent * 0.2 * max(self.days, 3) / 14))
        end_s = self.clock.end_s
        em_cty = [c for c in self.emergency_order]
        # when: spread over the period, more from emergency counties once they switch
        weights = self.ent_head ** 0.5 * np.where(np.isin(self.ent_cty, em_cty), 2.5, 1.0)
        who = rng.choice(self.n_ent, n, p=weights / weights.sum())
        when = rng.uniform(0, end_s - HOUR, n)
        in_em = np.array([self.sw_t[self.ent_cty[e]] <= t < self.back_t[self.ent_cty[e]] for e, t in zip(who, when)])
        cats = list(feeds.ISSUE_CATEGORIES)
        w_norm = np.array([12, 14, 12, 8, 16, 6, 10, 8, 4], float)
        w_em = np.array([10, 14, 26, 4, 8, 20, 6, 5, 3], float)
        # hour of day: office hours mostly
        hours = np.clip(rng.normal(10.5, 2.5, n), 7.5, 21)
        when = (when // DAY) * DAY + hours * HOUR
        when = np.minimum(when, end_s - 30 * MINUTE)
        order = np.argsort(when)
        who, when, in_em = who[order], when[order], in_em[order]
        # every state shows up: the oldest issues are walked to a chosen state, the newest waits
        targets = {n - 1: "待交办"}
        forced = [s for s in feeds.ISSUE_STATES if s != "待交办"]
        for j, state in enumerate(rng.permutation(forced).tolist()):
            targets[min(j * 2, n - 2)] = state
        rows = []
        seq_by_day: dict[str, int] = {}
        assignees: dict[str, list[str]] = {}
        for j, (e, t, em) in enumerate(zip(who.tolist(), when.tolist(), in_em.tolist())):
            w = w_em if em else w_norm
            cat = cats[rng.choice(len(cats), p=w / w.sum())]
            rep = self.clock.at(t).replace(second=0)
            ymd = rep.strftime("%Y%m%d")
            seq_by_day[ymd] = seq_by_day.get(ymd, int(rng.integers(1, 40))) + int(rng.integers(1, 4))
            issue_id = f"SB{ymd}{seq_by_day[ymd]:05d}"
            text = rng.choice(ISSUE_TEXT[cat]).format(
                mat=MATERIALS[rng.integers(0, len(MATERIALS))], place=PLACES_OUT[rng.integers(0, len(PLACES_OUT))],
                n=int(rng.integers(2, 60)) * (10 if cat in ("融资", "用电") else 1), pct=int(rng.integers(8, 40)),
                job=JOBS[rng.integers(0, len(JOBS))], h=int(rng.integers(3, 12)),
                policy=POLICIES[rng.integers(0, len(POLICIES))], m=int(rng.integers(5, 50)) * 100)
            source = ISSUE_SOURCES[rng.integers(0, len(ISSUE_SOURCES))]
            c = int(self.ent_cty[e])
            cname = self.cty_name[c]
            dept_kind = ISSUE_DEPTS[cat][rng.integers(0, len(ISSUE_DEPTS[cat]))]
            dept = f"国网{cname}供电公司" if dept_kind == "供电公司" else (
                f"人民银行{cname}支行" if dept_kind == "人民银行支行" else f"{cname}{dept_kind}")
            if dept not in assignees:
                assignees[dept] = _scalar_names(rng, 3)
            state = self._issue_track(rng, t, dept, self.city_names[self.cty_city[c]], targets.get(j))
            if j not in targets and rng.random() < 0.1:  # from an older system without the state columns
                state = {}
            rows.append([issue_id, self.ent_credit[e], self.ent_name[e], cat, text, rep, source,
                         state.get("status"), state.get("status_at"), state.get("department"),
                         assignees[dept][rng.integers(0, 3)] if state.get("department") else None,
                         state.get("assigned_at"), state.get("deadline_at"), state.get("resolved_at"),
                         state.get("revisit")])
        path = self.out / "企业诉求.xlsx"
        cols = [("诉求编号", "text"), ("统一社会信用代码", "text"), ("企业名称", "text"), ("诉求类别", "text"),
                ("诉求内容", "text"), ("提出时间", "datetime"), ("来源", "text"), ("办理状态", "text"),
                ("状态时间", "serial"), ("责任单位", "text"), ("责任人", "text"), ("交办时间", "datetime"),
                ("办理时限", "datetime"), ("办结时间", "serial"), ("回访结果", "text")]
        d0, d1 = self.clock.date(0), self.clock.date(self.days - 1)
        _xlsx(path, f"{self.scope_label}白名单企业诉求台账（{d0.month}月{d0.day}日—{d1.month}月{d1.day}日）",
              True, cols, rows)
        self.record(path, "issues", len(rows), "xlsx")

    def _issue_track(self, rng, t: float, dept: str, city: str, target: str | None = None) -> dict:
        """Walk one issue through the R11 closed loop until the period ends (or it reaches target)."""
        end = END - dt.timedelta(minutes=1)
        rep = self.clock.at(t)
        deadline = _add_workdays(rep.date(), 5)
        out = {"status": "待交办", "status_at": rep, "deadline_at": dt.datetime.combine(deadline, dt.time(18, 0))}
        if target == "待交办":
            return out

        def office(t: dt.datetime) -> dt.datetime:
            t = t.replace(second=0, microsecond=0)
            if not 8 <= t.hour < 21:   # offices work days and evenings: move to next morning
                t = (t + dt.timedelta(hours=10)).replace(hour=8) + dt.timedelta(minutes=int(rng.integers(0, 90)))
            return t

        def later(base: dt.datetime, lo_h: float, hi_h: float) -> dt.datetime:
            return office(base + dt.timedelta(hours=float(rng.uniform(lo_h, hi_h))))

        assigned = later(rep, 1, 20)
        if assigned > end:
            return out
        out.update(status="已交办", status_at=assigned, assigned_at=assigned, department=dept)
        if target == "已交办":
            return out
        if target == "退回" or (target is None and rng.random() < 0.05):
            back = later(assigned, 2, 30)
            if back <= end:
                out.update(status="退回", status_at=back)
            return out
        working = later(assigned, 1, 24)
        if working > end:
            return out
        out.update(status="办理中", status_at=working)
        if target == "办理中":
            return out
        if target == "升级" or (target is None and rng.random() < 0.04):
            up = later(working, 4, 48)
            if up <= end:
                out.update(status="升级", status_at=up, department=f"{city}疫情防控指挥部四保工作专班")
            return out
        median_days = 1.2 if target else 9 if rng.random() < 0.12 else 2.5   # some get stuck past the deadline
        resolved = office(working + dt.timedelta(days=float(rng.lognormal(np.log(median_days), 0.6))))
        if resolved > end:
            return out
        out.update(status="已办结", status_at=resolved, resolved_at=resolved)
        if target == "已办结":
            return out
        visit = later(resolved, 8, 60 if target is None else 20)
        if visit > end:
            return out
        verdict = ["满意", "基本满意", "不满意"][rng.choice(3, p=[0.7, 0.22, 0.08])]
        verdict = "不满意" if target == "重办" else "满意" if target else verdict
        out.update(status="已回访", status_at=visit, revisit=verdict)
        if target == "已回访":
            return out
        if verdict == "不满意":
            redo = later(visit, 1, 6)
            if redo <= end:
                out.update(status="重办", status_at=redo)
            return out
        closed = later(visit, 4, 48)
        if closed <= end:
            out.update(status="已销号", status_at=closed)
        return out


def _add_workdays(day: dt.date, n: int) -> dt.date:
    """n working days after day (weekends and the 端午 holiday skipped)."""
    while n > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in HOLIDAYS:
            n -= 1
    return day


def generate(scale: str, days: int, seed: int, out_dir: Path,
             progress: ProgressFn | None = None) -> dict:
    """Write one demo's feed files into out_dir; return a summary (files, row counts, time span, dirt)."""
    if scale not in SCALES:
        raise ValueError(f"未知规模 {scale!r}，可选：{', '.join(SCALES)}")
    if not 1 <= int(days) <= 120:
        raise ValueError("天数应在 1–120 之间")
    return _Demo(SCALES[scale], int(days), int(seed), Path(out_dir), progress).run()
