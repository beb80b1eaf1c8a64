"""The bad-input corpus: files that real feeds arrive as on a bad day, and what ingest must do with each.

Every entry makes one file (bytes derived from small valid feeds, seeded where random) and states the
outcome: `loaded` with exact row counts and quarantine reasons, or `refused` with words the message
must contain besides the file name. tests/test_bad_inputs.py loads each into a database that already
holds data (BASE) and checks the outcome, that a refused file changes nothing, and that no clear ID
number ends up anywhere. The 2 GB cases live in the test module (they are made differently).
"""
from __future__ import annotations

import codecs
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tests.feedfiles import id_number, write_feed
from tests.test_ingest import E1, E2, P1, P2, REGISTRY, ROSTER, sample

PX = next(i for i in (id_number("411302", "19791203", n) for n in range(1000)) if i.endswith("X"))
CLEAR_IDS = (P1, P2, PX)  # every clear ID the corpus uses: none may be found anywhere afterwards

# What the database holds before each bad file arrives.
BASE = {
    "registry": REGISTRY,
    "roster": ROSTER,
    "tests": [sample("S0")],
    "issues": [dict(issue_id="I0", credit_code=E1, category="物流运输", detail="原料运输车辆通行证办理难",
                    reported_at="2022-06-08 09:00", source="12345热线")],
}
TWO_TESTS = [sample("S1", name="王五"), sample("S2", P2, name="赵六")]
FORMULAS = ['=HYPERLINK("http://example.invalid/x","点此查看")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "\t=1+1"]
HTML = "<script>alert('xss')</script><b>加粗</b><img src=x onerror=alert(1)>&lt;已转义&gt;"


def feed_bytes(feed: str, rows: list[dict], **kw) -> bytes:
    """A feed file's bytes as tests.feedfiles writes it (csv by default)."""
    with tempfile.TemporaryDirectory() as tmp:
        return write_feed(Path(tmp) / f"f.{kw.get('fmt', 'csv')}", feed, rows, **kw).read_bytes()


def feed_text(feed: str, rows: list[dict], **kw) -> str:
    return feed_bytes(feed, rows, **kw).decode("utf-8")


def _cut_in_last_row(text: str, chars_into_row: int) -> bytes:
    """The file cut `chars_into_row` characters into its last row (a download that stopped)."""
    start = text.rstrip("\n").rfind("\n") + 1
    return text[:start + chars_into_row].encode("utf-8")


def _cut_inside_char(text: str, before: str, encoding: str = "utf-8") -> bytes:
    """The file cut inside the bytes of the last occurrence of `before` (its first byte kept)."""
    raw = text.encode(encoding)
    return raw[:raw.rindex(before.encode(encoding)) + 1]


def _half(data: bytes) -> bytes:
    return data[:len(data) // 2]


def _garbage(seed: int = 8, size: int = 64 << 10) -> bytes:
    """Seeded random bytes without NUL (so the encoding check, not the NUL check, refuses them)."""
    rng = random.Random(seed)
    return bytes(rng.randrange(1, 256) for _ in range(size))


def _utf16(text: str, endian: str) -> bytes:
    """Excel's "Unicode text": UTF-16 with a BOM, tab-separated, CRLF."""
    bom, enc = (codecs.BOM_UTF16_LE, "utf-16-le") if endian == "le" else (codecs.BOM_UTF16_BE, "utf-16-be")
    return bom + text.replace(",", "\t").replace("\n", "\r\n").encode(enc)


def _with_column_emptied(feed: str, rows: list[dict], column: str) -> bytes:
    return feed_bytes(feed, [{**r, column: None} for r in rows])


@dataclass(frozen=True)
class BadInput:
    """One bad input: how to make it and what ingest must do with it."""

    name: str                                  # the file name (its extension matters to the sniffing)
    make: Callable[[], bytes]
    outcome: str                               # loaded | refused
    words: tuple = ()                          # refused: the message says this (and names the file)
    counts: tuple = (0, 0, 0, 0)               # loaded: inserted, updated, unchanged, quarantined
    reasons: dict = field(default_factory=dict)  # loaded: quarantined rows by reason code
    check: tuple | None = None                 # (SQL on the database afterwards, expected rows)
    why: str = ""                              # the outcome's reason, for the README and the reader


CORPUS: list[BadInput] = [
    # ---- encoding traps
    BadInput("gbk.csv", lambda: feed_text("tests", TWO_TESTS).encode("gbk"), "loaded", counts=(2, 0, 0, 0),
             check=("SELECT name FROM tests WHERE sample_id IN ('S1', 'S2') ORDER BY 1", [("王五",), ("赵六",)]),
             why="GBK is GB18030's two-byte subset: read as GB18030"),
    BadInput("gb18030_only_chars.csv",
             lambda: feed_text("tests", [sample("S1", name="刘䶮"), sample("S2", P2, name="王𠀀")]).encode("gb18030"),
             "loaded", counts=(2, 0, 0, 0),
             check=("SELECT name FROM tests WHERE sample_id IN ('S1', 'S2') ORDER BY sample_id", [("刘䶮",), ("王𠀀",)]),
             why="rare name characters outside GBK (two- and four-byte GB18030) survive"),
    BadInput("utf16le_bom.txt", lambda: _utf16(feed_text("tests", TWO_TESTS), "le"), "loaded", counts=(2, 0, 0, 0),
             check=("SELECT name FROM tests WHERE sample_id = 'S2'", [("赵六",)]),
             why="Excel 'Unicode text': UTF-16 LE with BOM, tab-separated"),
    BadInput("utf16be_bom.csv", lambda: _utf16(feed_text("tests", TWO_TESTS), "be"), "loaded", counts=(2, 0, 0, 0)),
    BadInput("utf8_bom_with_gbk_rows.csv",
             lambda: codecs.BOM_UTF8 + feed_text("tests", TWO_TESTS).encode("utf-8")
             + feed_text("tests", [sample("S3")]).split("\n", 1)[1].encode("gbk"),
             "refused", words=("UTF-8 BOM", "第 4 行", "GBK"),
             why="two encodings in one file: no single decoding is right, the line is named"),
    BadInput("big5.csv",
             lambda: ("樣本編號,身份證號,姓名,採樣時間,檢測結果,結果時間,檢測方式\n"
                      f"S1,{P1},陳大文,2022-06-08 08:00:00,陰性,2022-06-08 14:00:00,單管\n").encode("big5"),
             "refused", words=("Big5",), why="traditional-Chinese Big5 decodes as GB18030 mojibake: refused"),
    BadInput("big5_english_headers.csv",
             lambda: ("sample_id,id_number,name,sampled_at,result,resulted_at,tube\n"
                      f"S1,{P1},陳大文,2022-06-08 08:00:00,陰性,2022-06-08 14:00:00,單管\n").encode("big5"),
             "refused", words=("Big5",), why="even with ASCII headers, names would load garbled"),
    BadInput("nul_byte.csv", lambda: feed_text("tests", TWO_TESTS).encode().replace(b"S2", b"S\x002"),
             "refused", words=("NUL", "第 3 行"), why="a NUL is binary content; the line is named"),
    BadInput("crlf.csv", lambda: feed_text("tests", TWO_TESTS).replace("\n", "\r\n").encode(), "loaded",
             counts=(2, 0, 0, 0), check=("SELECT tube FROM tests WHERE sample_id = 'S2'", [("单管",)])),
    BadInput("cr_only.csv", lambda: feed_text("tests", TWO_TESTS).replace("\n", "\r").encode(), "loaded",
             counts=(2, 0, 0, 0), check=("SELECT tube FROM tests WHERE sample_id = 'S2'", [("单管",)]),
             why="classic Mac line ends (used to crash the header detection)"),
    BadInput("ctrl_z_end.csv", lambda: feed_text("tests", TWO_TESTS).encode() + b"\x1a", "loaded",
             counts=(2, 0, 0, 0), why="a DOS end-of-file mark is not a row"),
    BadInput("ctrl_z_no_newline.csv", lambda: feed_text("tests", TWO_TESTS).rstrip("\n").encode() + b"\x1a",
             "loaded", counts=(2, 0, 0, 0), check=("SELECT tube FROM tests WHERE sample_id = 'S2'", [("单管",)])),
    BadInput("gb18030_ctrl_z.csv", lambda: feed_text("tests", TWO_TESTS).encode("gb18030") + b"\x1a", "loaded",
             counts=(2, 0, 0, 0)),
    # ---- truncated files
    BadInput("cut_mid_row.csv", lambda: _cut_in_last_row(feed_text("tests", TWO_TESTS), 18), "loaded",
             counts=(1, 0, 0, 1), reasons={"csv_malformed": 1},
             check=("SELECT line, raw_row FROM quarantine", [(3, '{"原始行": "S2,%s*******%s"}' % (P2[:4], P2[11:15]))]),
             why="the complete rows load; the cut row is held, its partial ID masked"),
    BadInput("cut_mid_char.csv", lambda: _cut_inside_char(feed_text("tests", TWO_TESTS), "赵"), "loaded",
             counts=(1, 0, 0, 1), reasons={"csv_malformed": 1},
             check=("SELECT line, reason LIKE '%截断%' FROM quarantine", [(3, True)]),
             why="a last character cut in half proves the file is truncated: the last row is held"),
    BadInput("gb18030_cut_mid_char.csv", lambda: _cut_inside_char(feed_text("tests", TWO_TESTS), "赵", "gb18030"),
             "loaded", counts=(1, 0, 0, 1), reasons={"csv_malformed": 1},
             check=("SELECT line, reason LIKE '%截断%', raw_row FROM quarantine",
                    [(3, True, '{"原始行": "S2,%s**********%s,"}' % (P2[:4], P2[-4:]))]),
             why="the same in GB18030, whose UTF-8 copy is made while the encoding is checked"),
    BadInput("xlsx_cut_in_half.xlsx", lambda: _half(feed_bytes("tests", TWO_TESTS * 50, fmt="xlsx")), "refused",
             words=("无法读取 Excel",), why="a broken zip cannot be read at all"),
    BadInput("parquet_without_footer.parquet", lambda: feed_bytes("tests", TWO_TESTS, fmt="parquet")[:-8],
             "refused", words=("无法读取 Parquet",)),
    BadInput("parquet_cut_in_half.parquet", lambda: _half(feed_bytes("tests", TWO_TESTS * 50, fmt="parquet")),
             "refused", words=("无法读取 Parquet",)),
    BadInput("xlsx_renamed.csv", lambda: feed_bytes("tests", TWO_TESTS, fmt="xlsx"), "loaded",
             counts=(2, 0, 0, 0), why="the format comes from the content, not the name"),
    BadInput("text_named.xlsx", lambda: feed_text("tests", TWO_TESTS).encode(), "refused", words=(".xlsx",)),
    # ---- not a feed at all
    BadInput("garbage.csv", _garbage, "refused", words=("编码",)),
    BadInput("png_named.csv", lambda: b"\x89PNG\r\n\x1a\n" + _garbage(9, 4096), "refused", words=("编码",)),
    BadInput("empty.csv", lambda: b"", "refused", words=("空",)),
    BadInput("blank_lines.csv", lambda: b"\r\n\r\n   \r\n", "refused", words=("空",)),
    BadInput("other_system.csv", lambda: "序号,姓名,手机号,体温\n1,王五,13800000000,36.5\n".encode(), "refused",
             words=("找不到可识别的表头",)),
    BadInput("header_typo.csv", lambda: feed_text("tests", TWO_TESTS).replace("样本编号", "样品编号", 1).encode(),
             "refused", words=("核酸检测", "缺少必需列：样本编号")),
    BadInput("header_only.csv", lambda: feed_text("tests", []).encode(), "loaded", counts=(0, 0, 0, 0),
             why="an export with nothing new is not an error"),
    # ---- enormous values
    BadInput("ten_mb_cell.csv",
             lambda: feed_text("tests", [sample("S1"), sample("S2", P2, site="采" * (10 << 20)), sample("S3")]).encode(),
             "loaded", counts=(2, 0, 0, 1), reasons={"too_long_site": 1},
             check=("SELECT line, length(raw_row) < 2000, reason LIKE '%10485760 字%' FROM quarantine", [(3, True, True)]),
             why="a 30 MB line is read; the cell is over the 20,000-character limit, so its row is held, cut for display"),
    BadInput("hundred_mb_line.csv",
             lambda: feed_text("tests", [sample("S1")]).encode() + b"S2," + b"x" * (100 << 20) + b"\n",
             "refused", words=("64 MB",), why="a line beyond 64 MB is no row: missing line ends or an open quote"),
    # ---- values that are code
    BadInput("formula_injection.csv",
             lambda: feed_text("issues", [dict(issue_id=f"F{i}", credit_code=E1, category="其他", detail=f,
                                               reported_at="2022-06-08 10:00", source=f) for i, f in enumerate(FORMULAS)]
                               ).encode(),
             "loaded", counts=(len(FORMULAS), 0, 0, 0),
             check=("SELECT detail, source FROM issues WHERE issue_id LIKE 'F%' ORDER BY issue_id",
                    [(f.strip(" "), f.strip(" ")) for f in FORMULAS]),
             why="stored unchanged as text; the export neutralises it"),
    BadInput("html_in_issue.csv",
             lambda: feed_text("issues", [dict(issue_id="H1", credit_code=E1, category="其他", detail=HTML,
                                               reported_at="2022-06-08 10:00")]).encode(),
             "loaded", counts=(1, 0, 0, 0), check=("SELECT detail FROM issues WHERE issue_id = 'H1'", [(HTML,)]),
             why="stored as is; pages show it as text"),
    BadInput("id_in_issue_text.csv",
             lambda: feed_text("issues", [dict(issue_id="P1", credit_code=E1, category="用工需求",
                                               detail=f"员工王五（身份证{P1}，{P2}）无法返岗",
                                               reported_at="2022-06-08 10:00")]).encode(),
             "loaded", counts=(1, 0, 0, 0),
             check=("SELECT detail FROM issues WHERE issue_id = 'P1'",
                    [(f"员工王五（身份证{P1[:4]}**********{P1[-4:]}，{P2[:4]}**********{P2[-4:]}）无法返岗",)]),
             why="an ID typed into free text is masked on load"),
    # ---- duplicates and conflicts
    BadInput("duplicate_rows.csv", lambda: feed_text("tests", TWO_TESTS + TWO_TESTS + [sample("S0")]).encode(),
             "loaded", counts=(2, 0, 1, 0), why="one row per key; a row already held is unchanged"),
    BadInput("conflicting_rows.csv",
             lambda: feed_text("tests", [sample("S1", result="待复核"), sample("S1", result="阳性"),
                                         sample("S0", result="阳性")]).encode(),
             "loaded", counts=(1, 1, 0, 0),
             check=("SELECT sample_id, result FROM tests WHERE sample_id IN ('S0', 'S1') ORDER BY 1",
                    [("S0", "阳性"), ("S1", "阳性")]),
             why="same key, different values: the later line wins, and it updates what an earlier load held"),
    BadInput("registry_conflict.csv",
             lambda: feed_text("registry", [{**REGISTRY[0], "headcount": 150}, {**REGISTRY[0], "headcount": 130}]).encode(),
             "loaded", counts=(0, 1, 0, 0), check=(f"SELECT headcount FROM enterprises WHERE credit_code = '{E1}'", [(130,)]),
             why="the later line of the export wins"),
    # ---- empty columns, future dates, mangled IDs
    BadInput("required_column_all_empty.csv", lambda: _with_column_emptied("tests", TWO_TESTS, "result"), "loaded",
             counts=(0, 0, 0, 2), reasons={"missing_result": 2}),
    BadInput("optional_column_all_empty.csv", lambda: _with_column_emptied("tests", TWO_TESTS, "resulted_at"),
             "loaded", counts=(2, 0, 0, 0),
             check=("SELECT count(*) FROM tests WHERE resulted_at IS NULL", [(2,)])),
    BadInput("future_dates.csv",
             lambda: feed_text("production", [dict(credit_code=E1, report_date="2099-06-08", status="正常生产"),
                                              dict(credit_code=E1, report_date="2022-06-08", status="正常生产")]).encode(),
             "loaded", counts=(1, 0, 0, 1), reasons={"time_future_report_date": 1}),
    BadInput("id_scientific_notation.csv",
             lambda: feed_text("roster", [dict(id_number="4.11322E+17", name="钱七", credit_code=E1, job_type="普通岗位"),
                                          dict(id_number="4.11523e17", name="孙八", credit_code=E2, job_type="普通岗位"),
                                          ROSTER[0]]).encode(),
             "loaded", counts=(0, 0, 1, 2), reasons={"id_sci_notation": 2},
             check=("SELECT raw_row LIKE '%4.11322E+17%' FROM quarantine ORDER BY line LIMIT 1", [(True,)]),
             why="the digits are gone: rejected, never guessed; the mangled form is kept to show the cause"),
    BadInput("id_excel_number.xlsx",
             lambda: feed_bytes("roster", [dict(id_number=int(P1[:17] + "0"), name="王五", credit_code=E1,
                                                job_type="普通岗位")], fmt="xlsx"),
             "loaded", counts=(0, 0, 0, 1), reasons={"id_excel_number": 1}),
    BadInput("bad_ids.csv",
             lambda: feed_text("tests", [sample("B1", person=P1[:-1] + ("0" if P1[-1] != "0" else "1")),
                                         sample("B2", person=P1 + "7"), sample("B3", person=P1[:6] + "19901301" + P1[14:]),
                                         sample("B4", person=" ".join([P1[:6], P1[6:14], P1[14:]])),
                                         sample("B5", person=PX.lower())]).encode(),
             "loaded", counts=(2, 0, 0, 3),
             reasons={"id_check_digit": 1, "id_format": 1, "id_birthdate": 1},
             why="an ID with spaces or a lower-case x is normalised; the others are held, masked"),
]
