"""Row validation as SQL built from the feed specs: typed values plus the first reason a row is bad.

Only column names and constants from `feeds.py` are written into SQL text; file values stay
data, and the hash key and clock come in as bound parameters ($hash_key, $now_limit).
"""
from __future__ import annotations

import re

from . import feeds

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)          # GB 11643
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"                                # GB 32100
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M", "%Y年%m月%d日%H:%M:%S", "%Y年%m月%d日%H:%M", "%Y年%m月%d日 %H时%M分",
    "%Y.%m.%d %H:%M:%S", "%Y.%m.%d %H:%M", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S",
    "%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y%m%d",
)
BOOL_TRUE = ("是", "有", "Y", "YES", "TRUE", "1", "√")
BOOL_FALSE = ("否", "无", "N", "NO", "FALSE", "0", "×")
# No value a clerk typed is this long; a longer cell is a pasted attachment or a broken export, and
# loading it would send megabytes to every page that shows the row.
MAX_CELL_CHARS = 20_000
# An 18-character resident ID inside free text: region, birth date 19xx/20xx, serial, check digit.
# Groups: the first 4 and the last 4 characters, which the masked form keeps.
ID_IN_TEXT = r"(\d{4})\d{2}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])(\d{3}[\dXx])"
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])" + ID_IN_TEXT + r"(?![0-9A-Za-z])")


def lit(text: str) -> str:
    """A SQL string literal for a constant from our own code."""
    return "'" + str(text).replace("'", "''") + "'"


def lit_list(values) -> str:
    return "[" + ", ".join(lit(v) for v in values) + "]"


def mask_sql(expr: str) -> str:
    """4113**********1234 for 18 characters; shorter values keep only their ends."""
    return (f"CASE WHEN length({expr}) >= 8 THEN substr({expr}, 1, 4) || repeat('*', length({expr}) - 8) "
            f"|| right({expr}, 4) ELSE repeat('*', length({expr})) END")


def mask_text(value):
    """Free text with any resident ID in it masked (4113**********1234): the Python twin of mask_ids_in_text_sql."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    return _ID_IN_TEXT.sub(lambda m: m.group(1) + "*" * 10 + m.group(2), str(value))


def mask_id(value: str | None) -> str | None:
    """The Python twin of mask_sql, for raw rows and messages."""
    if value is None:
        return None
    v = str(value)
    return v[:4] + "*" * (len(v) - 8) + v[-4:] if len(v) >= 8 else "*" * len(v)


def _id_check_sql(body: str) -> str:
    """The check digit of an ID from `body`, its first 17 characters as one number (prepared_sql's
    _d_<name>; id_format is checked first, so they are digits): each digit by division."""
    total = " + ".join(f"({body} // {10 ** (16 - i)} % 10) * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('10X98765432', (({total}) % 11) + 1, 1)"


def _uscc_check_sql(n: str) -> str:
    a = lit(USCC_ALPHABET)
    total = " + ".join(f"(strpos({a}, substr({n}, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(USCC_WEIGHTS))
    return f"substr({a}, ((31 - (({total}) % 31)) % 31) + 1, 1)"


_SEPARATORS = ("年", "/", "-", ".", "")  # tested in this order: a 年 value may hold '.' or '-' in no format


def _format_groups() -> dict[tuple[str, int], list[str]]:
    """TS_FORMATS by (separator, number of ':'): a value can only match a format with the same
    separator and as many colons (strptime must consume the whole text), so each value is tried
    against its own group only, in TS_FORMATS' order. A failed try costs about ten successful ones."""
    groups: dict[tuple[str, int], list[str]] = {}
    for fmt in TS_FORMATS:
        sep = next((c for c in _SEPARATORS if c and c in fmt), "")
        groups.setdefault((sep, fmt.count(":")), []).append(fmt)
    return groups


def colons_sql(v: str) -> str:
    """How many ':' the text holds."""
    return f"(length({v}) - length(replace({v}, ':', '')))"


def parse_ts_sql(v: str, colons: str | None = None) -> str:
    """Text to TIMESTAMP: the usual formats (the first of TS_FORMATS that fits), Excel serial days,
    NULL when none fits. `colons`: a column holding colons_sql(v), which every branch reads (a CASE
    computes nothing once for all its branches)."""
    colons = colons or colons_sql(v)
    whens = []
    for (sep, n), fmts in sorted(_format_groups().items(), key=lambda kv: (_SEPARATORS.index(kv[0][0]), kv[0][1])):
        test = f"contains({v}, {lit(sep)}) AND " if sep else ""
        whens.append(f"WHEN {test}{colons} = {n} THEN try_strptime({v}, "
                     f"{lit(fmts[0]) if len(fmts) == 1 else lit_list(fmts)})")
    return (f"CASE WHEN regexp_full_match({v}, '\\d{{5}}(\\.\\d+)?') AND {v}::DOUBLE BETWEEN 20000 AND 80000 "
            f"THEN TIMESTAMP '1899-12-30' + to_microseconds(round({v}::DOUBLE * 86400000000)::BIGINT) "
            f"{' '.join(whens)} END")


def prepared_sql(feed: feeds.Feed) -> str:
    """SELECT over temp table `src` adding, once per row, what several checks of a column read: the
    trimmed text (_x_<name>, NULL when empty), each time parsed (_ts_<name>), each ID or credit code
    upper-cased without spaces (_n_<name>), and an ID's first 17 characters as a number (_d_<name>, read
    17 times by the check digit: inside the checks' CASE nothing is computed once for all its uses, and
    17 casts per row of a province day's 1.7 M tests took 1.5 s)."""
    inner, outer = [], []
    for c in feed.columns:
        inner.append(f", nullif(trim(src.{c.name}), '') AS _x_{c.name}")
        if c.kind in ("ts", "date"):  # trimming keeps the colons
            inner.append(f", {colons_sql(f'src.{c.name}')} AS _k_{c.name}")
            outer.append(f", {parse_ts_sql(f'_x_{c.name}', f'_k_{c.name}')} AS _ts_{c.name}")
        elif c.kind in ("id", "credit"):
            outer.append(f", upper(replace(_x_{c.name}, ' ', '')) AS _n_{c.name}")
        if c.kind == "id":
            outer.append(f", try_cast(left(replace(_x_{c.name}, ' ', ''), 17) AS BIGINT) AS _d_{c.name}")
    return f"SELECT *{''.join(outer)} FROM (SELECT src.*{''.join(inner)} FROM src)"


def column_checks(col: feeds.Column) -> tuple[str, list[tuple[str, str, str]]]:
    """(typed value expression, [(condition, reason_code, reason message expr)…]) for one column of
    prepared_sql's rows."""
    x = f"src._x_{col.name}"
    h = lit(col.header)
    checks: list[tuple[str, str, str]] = [  # first, so no later message quotes a huge value
        (f"length({x}) > {MAX_CELL_CHARS}", f"too_long_{col.name}",
         f"{h} || '长达 ' || length({x}) || ' 字，超过上限 {MAX_CELL_CHARS:,} 字"
         f"（疑似粘贴了附件或导出出错），请精简后重新导出'")]
    if not col.nullable:
        checks.append((f"{x} IS NULL", f"missing_{col.name}", f"{h} || '为空，该项必填'"))
    if col.kind == "text":
        return x, checks
    if col.kind == "id":
        n = f"src._n_{col.name}"
        masked = mask_sql(n)
        pre = "src._person_key IS NULL AND "  # quarantined rows being retried were checked already
        checks += [
            (pre + f"starts_with({x}, 'NUMERIC:')", "id_excel_number",
             f"'身份证号在 Excel 中被存成了数字（' || substr({x}, 9) || '），后几位已丢失、无法还原；"
             f"请在源系统把身份证号列设为文本格式后重新导出'"),
            (pre + f"regexp_full_match({x}, '\\d(\\.\\d+)?[eE][+]?\\d+')", "id_sci_notation",
             f"'身份证号被 Excel 转成了科学计数法（' || {x} || '），原号码已丢失、无法还原；"
             f"请在源系统把身份证号列设为文本格式后重新导出'"),
            (pre + f"NOT regexp_full_match({n}, '\\d{{17}}[\\dX]')", "id_format",
             f"'身份证号应为18位（前17位数字，末位数字或X），收到 ' || length({n}) || ' 位：' || {masked}"),
            (pre + f"try_strptime(substr({n}, 7, 8), '%Y%m%d') IS NULL", "id_birthdate",
             f"'身份证号中的出生日期无效（' || {masked} || '），请核对原始号码'"),
            (pre + f"{_id_check_sql(f'src._d_{col.name}')} <> right({n}, 1)", "id_check_digit",
             f"'身份证号校验位不符（' || {masked} || '），可能录入有误，请核对原始号码'"),
        ]
        return n, checks
    if col.kind == "credit":
        n = f"src._n_{col.name}"
        checks += [
            (f"NOT regexp_full_match({n}, '[0-9A-HJ-NPQRTUWXY]{{2}}\\d{{6}}[0-9A-HJ-NPQRTUWXY]{{10}}')",
             "credit_format", f"'统一社会信用代码格式不对（应为18位数字或大写字母）：' || {x}"),
            (f"{_uscc_check_sql(n)} <> right({n}, 1)", "credit_check_digit",
             f"'统一社会信用代码校验位不符：' || {n} || '，请核对'"),
        ]
        return n, checks
    if col.kind == "county":
        checks.append((f"{x} NOT IN (SELECT code FROM regions WHERE level = 'county')", "county_unknown",
                       f"{h} || ' ' || {x} || ' 不是本地区的县级行政区划代码（GB/T 2260）'"))
        return x, checks
    if col.kind in ("int", "float", "pct"):
        num = f"try_cast(replace(replace({x}, ',', ''), '%', '') AS DOUBLE)"
        checks.append((f"{x} IS NOT NULL AND {num} IS NULL", f"number_{col.name}",
                       f"{h} || '不是数字：' || {x}"))
        checks.append((f"{num} < 0", f"negative_{col.name}", f"{h} || '不能为负数：' || {x}"))
        if col.kind == "int":
            checks.append((f"{num} <> round({num})", f"integer_{col.name}", f"{h} || '应为整数：' || {x}"))
            return f"try_cast({num} AS BIGINT)", checks
        if col.kind == "pct":  # '85%', '85' and '0.85' all mean 85 %
            value = f"CASE WHEN contains({x}, '%') OR {num} > 1 THEN {num} ELSE {num} * 100 END"
            return value, checks
        if col.name in ("lng", "lat"):
            lo, hi = (70, 140) if col.name == "lng" else (15, 55)
            checks.append((f"{num} NOT BETWEEN {lo} AND {hi}", f"range_{col.name}",
                           f"{h} || '超出中国范围：' || {x}"))
        return num, checks
    if col.kind in ("ts", "date"):
        ts = f"src._ts_{col.name}"
        checks += [
            (f"{x} IS NOT NULL AND ({ts}) IS NULL", f"time_format_{col.name}",
             f"{h} || '无法识别：' || {x} || '（可用格式如 2022-06-09 08:05:00、2022/6/9 8:05、2022年6月9日 08:05）'"),
            (f"({ts}) > $now_limit", f"time_future_{col.name}",
             f"{h} || '晚于当前时间：' || {x} || '，请核对日期或设备时钟'"),
            (f"({ts}) < TIMESTAMP '2000-01-01'", f"time_old_{col.name}",
             f"{h} || '早于2000年：' || {x} || '，疑似日期格式错误'"),
        ]
        return (f"({ts})::DATE" if col.kind == "date" else ts), checks
    if col.kind == "enum":
        checks.append((f"{x} IS NOT NULL AND {x} NOT IN ({', '.join(lit(v) for v in col.values)})",
                       f"enum_{col.name}",
                       f"{h} || '取值“' || {x} || '”不在允许范围（{'/'.join(col.values)}）'"))
        return x, checks
    if col.kind == "bool":
        up = f"upper({x})"
        checks.append((f"{x} IS NOT NULL AND {up} NOT IN ({', '.join(lit(v) for v in BOOL_TRUE + BOOL_FALSE)})",
                       f"bool_{col.name}", f"{h} || '应填 是 或 否，收到：' || {x}"))
        return f"CASE WHEN {up} IN ({', '.join(lit(v) for v in BOOL_TRUE)}) THEN true " \
               f"WHEN {x} IS NULL THEN NULL ELSE false END", checks
    raise ValueError(f"unknown column kind {col.kind}")


def mask_ids_in_text_sql(expr: str) -> str:
    """Free text with any resident ID in it masked (4113**********1234), like mask_text."""
    pattern = lit(f"(^|[^0-9A-Za-z]){ID_IN_TEXT}($|[^0-9A-Za-z])")
    once = f"regexp_replace({expr}, {pattern}, '\\1\\2**********\\3\\4', 'g')"
    twice = f"regexp_replace({once}, {pattern}, '\\1\\2**********\\3\\4', 'g')"  # IDs one separator apart
    # Most names and sites are shorter than an ID or hold no 17-digit run: skip the costly replace.
    return f"CASE WHEN length({expr}) < 18 OR NOT regexp_matches({expr}, '\\d{{17}}') THEN {expr} ELSE {twice} END"


def is_free_text(feed: feeds.Feed, col: feeds.Column) -> bool:
    """Names, addresses, descriptions: text a person typed (not a key or a code), where an ID may hide."""
    return (col.kind == "text" and col.name not in feed.key and col.name not in feed.references
            and not col.name.endswith(("_id", "_code")))


def checked_sql(feed: feeds.Feed) -> str:
    """SELECT over temp table `src` giving typed columns, person_key/id_masked, and _reason(_code)."""
    values, conds = [], []
    for col in feed.columns:
        expr, checks = column_checks(col)
        if is_free_text(feed, col):
            expr = mask_ids_in_text_sql(expr)
        values.append(f"{expr} AS {col.name}")
        conds += checks
        if col.kind == "id":
            values.append(f"coalesce(src._person_key, ('0x' || substr(sha256($hash_key || '|' || {expr}), 1, 32))"
                          f"::UHUGEINT) AS person_key")
            values.append(f"coalesce(src._id_masked, {mask_sql(expr)}) AS id_masked")
    if feed.name == "registry":  # the typed dates, from prepared_sql's parsed times
        listed, removed = (column_checks(feed.column(c))[0] for c in ("listed_on", "removed_on"))
        conds.append((f"{removed} < {listed}", "removed_before_listed", "'移出日期早于纳入日期'"))
    code = "CASE " + " ".join(f"WHEN {c} THEN {lit(rc)}" for c, rc, _ in conds) + " END"
    reason = "CASE " + " ".join(f"WHEN {c} THEN {msg}" for c, _, msg in conds) + " END"
    # A value that fails its check must not break the typed cast of the rows that pass. The reason
    # (a message) is built only for the rows that have a problem.
    # Materialized: inlined, every use of a prepared column would compute it again.
    return (f"WITH prepared AS MATERIALIZED ({prepared_sql(feed)}), "
            f"coded AS MATERIALIZED (SELECT src.*, {code} AS _reason_code FROM prepared AS src) "
            f"SELECT {', '.join(values)}, src._reason_code, "
            f"CASE WHEN src._reason_code IS NOT NULL THEN {reason} END AS _reason, src._line, src._qid "
            f"FROM coded AS src")
