"""Read one provider file into a DuckDB table of text columns: format, encoding, title rows.

Whatever the file, the result is the same shape: a table `src` whose columns are the feed's
canonical names (all VARCHAR) plus `_line` (the row's line in the file), and a list of
malformed lines that could not be split into columns.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from . import feeds

HEAD_ROWS = 20  # a header is looked for in this many rows from the top
HEAD_LINE_CHARS = 1 << 16  # of each of those rows, only this much is read to find the header
# One CSV line up to 64 MB is read (an oversized cell is quarantined, not fatal). The read buffer is
# set to twice that: DuckDB's default (16 lines' worth, 1 GB) would not fit a load's memory cap.
MAX_LINE_BYTES = 1 << 26
ID_LIKE = r"(\d{6})\d{8}(\d{3}[\dXx])"  # an 18-character ID anywhere in free text


class RefusedFile(Exception):
    """The file cannot be a feed; the message names the file and the problem."""


@dataclass
class SourceFile:
    """What was found out about a file before loading it."""

    path: Path
    file_format: str = ""
    encoding: str = ""
    feed: feeds.Feed | None = None
    header_line: int = 0              # 1-based line/row of the header
    mapping: dict = field(default_factory=dict)  # position -> canonical column
    malformed: list = field(default_factory=list)  # (line, problem, raw text)


def sniff_format(path: Path) -> str:
    """csv | xlsx | parquet, from the magic bytes first and the extension second."""
    with open(path, "rb") as fh:
        magic = fh.read(8)
    if magic.startswith(b"PAR1"):
        return "parquet"
    if magic.startswith(b"PK\x03\x04"):
        return "xlsx"
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise RefusedFile(f"{path.name}: 这是旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后再导入")
    ext = path.suffix.lower()
    if ext in (".xlsx", ".xlsm", ".parquet"):
        raise RefusedFile(f"{path.name}: 扩展名是 {ext}，但文件内容不是该格式（文件可能已损坏或被截断）")
    return "csv"


def detect_encoding(path: Path) -> str:
    """utf-8-sig, utf-8, utf-16 or gb18030, checked over the whole file; refuses binary data."""
    return _check_encoding(path)[0]


def _check_encoding(path: Path, tmpdir: Path | None = None) -> tuple[str, bool, _Utf8Copy | None]:
    """(encoding, whether the file ends inside a character, i.e. was cut off, and — given `tmpdir` —
    the UTF-8 copy DuckDB reads when it is not UTF-8, made in the same pass: decoding a 20 MB
    GB18030 file takes 0.2 s); RefusedFile otherwise."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    failed = []  # (encoding, 1-based line of the first byte it cannot decode)
    for enc in candidates:
        decoder = codecs.getincrementaldecoder(enc)()
        copy = _Utf8Copy(path, tmpdir) if tmpdir is not None and enc not in ("utf-8", "utf-8-sig") else None
        line = 1
        try:
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 22):
                    try:
                        text = decoder.decode(chunk)
                    except UnicodeDecodeError as exc:
                        line += chunk[:exc.start].count(b"\n")
                        raise
                    if "\x00" in text:
                        at = line + text.count("\n", 0, text.index("\x00"))
                        raise RefusedFile(f"{path.name}: 第 {at} 行含 NUL 字节：这是二进制内容，不是文本表格"
                                          "（也可能是没有 BOM 的 UTF-16 文件），请另存为 UTF-8 CSV")
                    line += text.count("\n")
                    if copy:
                        copy.write(text)
            try:
                decoder.decode(b"", final=True)
                cut = False
            except UnicodeDecodeError:
                cut = True  # only the last character is incomplete: the file was cut off
            if not cut and enc == "gb18030" and _looks_like_big5(head):
                raise RefusedFile(f"{path.name}: 文件疑似繁体中文 Big5 编码（按 GBK/GB18030 解码是乱码），"
                                  "请另存为 UTF-8 CSV 后再导入")
            if copy:
                copy.close(cut)
            return enc, cut, copy
        except UnicodeDecodeError:
            failed.append((enc, line))
        finally:
            if copy:
                copy.fout.close()
    if candidates == ["utf-8-sig"]:
        raise RefusedFile(f"{path.name}: 文件以 UTF-8 BOM 开头，但第 {failed[0][1]} 行含有不是 UTF-8 的字节"
                          "（可能混入了 GBK 编码的内容），请统一另存为 UTF-8 CSV")
    raise RefusedFile(f"{path.name}: 无法识别文件编码（既不是 UTF-8 也不是 GB18030/GBK；第 {failed[0][1]} 行起"
                      "不是 UTF-8，可能是二进制文件或混合了多种编码），请另存为 UTF-8 CSV")


def _looks_like_big5(head: bytes) -> bool:
    """GBK's user-defined (private-use) area shows up where Big5's common characters are."""
    text = codecs.getincrementaldecoder("gb18030")().decode(head)
    if not any("\ue000" <= ch <= "\uf8ff" for ch in text):
        return False
    try:
        codecs.getincrementaldecoder("big5")().decode(head)
        return True
    except UnicodeDecodeError:
        return False


class _Utf8Copy:
    """A UTF-8 copy DuckDB can read, written from decoded text: without a DOS end-of-file mark
    (Ctrl-Z), and without a last line that was cut off mid-character."""

    def __init__(self, path: Path, tmpdir: Path):
        self.path = tmpdir / (path.stem + ".utf8.csv")
        self.fout = open(self.path, "w", encoding="utf-8", newline="")
        self.pending, self.lf, self.cr, self.cut_tail = "", 0, 0, False

    def write(self, text: str) -> None:
        text = self.pending + text
        end = max(text.rfind("\n"), text.rfind("\r")) + 1  # hold the last, maybe partial, line back
        if len(text) - end > MAX_LINE_BYTES:  # unless it is too long to be a row anyway (bounded memory)
            end = len(text)
        self.fout.write(text[:end])
        self.lf, self.cr = self.lf + text.count("\n", 0, end), self.cr + text.count("\r", 0, end)
        self.pending = text[end:]

    def close(self, cut_tail: bool = False) -> Path:
        """The copy; with `cut_tail`, its last line is left out (cut_line says which)."""
        self.pending, self.cut_tail = self.pending.rstrip("\x1a"), cut_tail
        if not cut_tail:
            self.fout.write(self.pending)
        self.fout.close()
        return self.path

    def cut_line(self) -> tuple[int, str] | None:
        """(line, text) of the last line close(cut_tail=True) left out, if any."""
        return ((self.lf or self.cr) + 1, self.pending) if self.cut_tail and self.pending else None


def _clean_copy(path: Path, encoding: str, tmpdir: Path, cut_tail: bool) -> tuple[Path, tuple | None]:
    """A UTF-8 copy of the file (_Utf8Copy); returns (copy, (line, text) of a cut last line)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    copy = _Utf8Copy(path, tmpdir)
    with open(path, "rb") as fin:
        while chunk := fin.read(1 << 22):
            copy.write(decoder.decode(chunk))
    return copy.close(cut_tail), copy.cut_line()


def _find_header(rows: list[list[str]], name: str) -> tuple[int, feeds.Feed, dict]:
    """Index of the header row among the first rows, the feed it names, and its column mapping."""
    best = None
    for i, row in enumerate(rows[:HEAD_ROWS]):
        cells = ["" if c is None else str(c) for c in row]
        if not any(c.strip() for c in cells):
            continue
        feed, mapping, missing = feeds.match_feed(cells)
        if feed is None:
            continue
        if not missing:
            return i, feed, mapping
        if best is None or len(mapping) > len(best[2]):
            best = (i, feed, mapping, missing)
    if best is not None:
        _, feed, _, missing = best
        labels = "、".join(feed.column(m).header for m in missing)
        raise RefusedFile(f"{name}: 看起来是「{feed.label}」，但缺少必需列：{labels}")
    raise RefusedFile(f"{name}: 前 {HEAD_ROWS} 行中找不到可识别的表头（无法判断是哪类数据），"
                      "请确认文件是白名单企业、花名册、核酸检测、场所码、生产日报、诉求或县区状态之一")


def _read_csv(con: duckdb.DuckDBPyConnection, src: SourceFile, tmpdir: Path) -> None:
    path = src.path
    src.encoding, cut_tail, copy = _check_encoding(path, tmpdir)
    with open(path, encoding=src.encoding, errors="replace", newline="") as fh:
        # Bounded reads: a 10 MB cell or a 2 GB file without line breaks must not be read whole here.
        head = [fh.readline(HEAD_LINE_CHARS) for _ in range(HEAD_ROWS)]
        at_eof = not fh.read(1)
    sample = "".join(head)
    if not sample.strip(" \r\n\t\x1a"):
        raise RefusedFile(f"{path.name}: 文件是空的")
    try:
        delim = csv.Sniffer().sniff(sample[:HEAD_LINE_CHARS], delimiters=",\t;|").delimiter
    except csv.Error:
        delim = ","
    rows = [next(csv.reader([line], delimiter=delim), []) for line in head]  # one line at a time: CR ends too
    idx, src.feed, src.mapping = _find_header(rows, path.name)
    ncols = len(rows[idx])
    src.header_line = idx + 1
    readable, cut = path, None
    with open(path, "rb") as fh:
        fh.seek(max(path.stat().st_size - 4, 0))
        ctrl_z = b"\x1a" in fh.read()
    if copy is not None:
        readable, cut = copy.path, copy.cut_line()
    elif cut_tail or ctrl_z:
        readable, cut = _clean_copy(path, src.encoding, tmpdir, cut_tail)
    if cut:
        src.malformed.append((cut[0], f"第 {cut[0]} 行在字符中间截断（文件不完整，可能下载或复制时中断），该行未导入；"
                                      "请重新导出完整文件", cut[1]))
    body = [ln for ln in head[idx + 1:] if ln.strip(" \r\n\t\x1a")]
    if at_eof and len(body) <= (1 if cut else 0):  # a header and no data rows: a feed with nothing new
        columns = ", ".join(f"NULL::VARCHAR AS c{i}" for i in range(ncols))
        con.execute(f"CREATE OR REPLACE TEMP TABLE src_raw AS SELECT {columns}, 0::BIGINT AS _row WHERE false")
        _select_mapped(con, src, "c{}", line_expr=f"_row + {idx + 1}")
        return
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(ncols)) + "}"
    con.execute("DROP TABLE IF EXISTS rej; DROP TABLE IF EXISTS rejscan")
    try:  # straight into `src`: a table of every column first, then the mapped ones, copied all the text twice
        _select_mapped(con, src, "c{}", line_expr=f"row_number() OVER () + {idx + 1}", source=f"""read_csv(?,
                  header=false, skip=?, columns={columns}, delim=?, quote='"', escape='"', strict_mode=false,
                  store_rejects=true, rejects_table='rej', rejects_scan='rejscan', max_line_size={MAX_LINE_BYTES},
                  buffer_size={2 * MAX_LINE_BYTES}, encoding='utf-8')""", params=[str(readable), idx + 1, delim])
    except duckdb.InvalidInputException as exc:
        if "Maximum line size" not in str(exc):
            raise
        raise RefusedFile(f"{path.name}: 有一行超过 {MAX_LINE_BYTES >> 20} MB，无法按表格读取"
                          "（可能缺少换行符，或引号不配对使后面的内容连成了一格），请检查后重新导出") from exc
    for line, err, raw, msg in con.execute(
            "SELECT line, any_value(error_type ORDER BY column_idx), any_value(csv_line), "
            "any_value(error_message ORDER BY column_idx) FROM rej GROUP BY line ORDER BY line").fetchall():
        problem = {"MISSING COLUMNS": "列数少于表头", "TOO MANY COLUMNS": "列数多于表头"}.get(
            err, f"无法按 CSV 解析（{err}）")
        src.malformed.append((line, f"第 {line} 行{problem}（{msg}），该行未导入，请检查是否有多余或缺失的分隔符", raw))


def _cell_text(value, is_id: bool) -> str | None:
    """An Excel cell as the text a clerk would have typed; numbers in ID columns are marked."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
            return None
        if is_id:
            return f"NUMERIC:{value:.6G}"
        if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, dt.timedelta):  # calamine returns durations for some time formats
        return str(value)
    return str(value)


def _read_xlsx(con: duckdb.DuckDBPyConnection, src: SourceFile) -> None:
    from python_calamine import CalamineWorkbook

    src.encoding = "xlsx"
    try:
        wb = CalamineWorkbook.from_path(str(src.path))
        sheet = wb.get_sheet_by_index(0)
        rows = sheet.to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for broken zips
        raise RefusedFile(f"{src.path.name}: 无法读取 Excel 文件（{exc}）") from exc
    head = [[_cell_text(c, False) or "" for c in r] for r in rows[:HEAD_ROWS]]
    idx, src.feed, src.mapping = _find_header(head, src.path.name)
    src.header_line = idx + 1
    id_cols = {i for i, name in src.mapping.items() if src.feed.column(name).kind == "id"}
    data = rows[idx + 1:]
    arrays, names = [], []
    for i, name in sorted(src.mapping.items()):
        arrays.append(pa.array([_cell_text(r[i], i in id_cols) if i < len(r) else None for r in data],
                               type=pa.string()))
        names.append(name)
    arrays.append(pa.array(range(idx + 2, idx + 2 + len(data)), type=pa.int64()))
    names.append("_line")
    table = pa.Table.from_arrays(arrays, names=names)
    # Rows that are empty in every mapped column are Excel's trailing blank area, not data.
    con.register("_xlsx", table)
    nonempty = " OR ".join(f'"{n}" IS NOT NULL' for n in names[:-1])
    con.execute(f"CREATE OR REPLACE TEMP TABLE src AS SELECT * FROM _xlsx WHERE {nonempty}")
    con.unregister("_xlsx")
    _add_missing_columns(con, src)


def _read_parquet(con: duckdb.DuckDBPyConnection, src: SourceFile) -> None:
    src.encoding = "parquet"
    try:
        cols = con.execute("SELECT name FROM parquet_schema(?) WHERE num_children IS NULL",
                           [str(src.path)]).fetchall()
    except duckdb.Error as exc:
        raise RefusedFile(f"{src.path.name}: 无法读取 Parquet 文件（{exc}）") from exc
    headers = [c[0] for c in cols]
    src.feed, src.mapping, missing = feeds.match_feed(headers)
    if src.feed is None:
        raise RefusedFile(f"{src.path.name}: Parquet 列名无法识别为任何数据类型")
    if missing:
        labels = "、".join(src.feed.column(m).header for m in missing)
        raise RefusedFile(f"{src.path.name}: 看起来是「{src.feed.label}」，但缺少必需列：{labels}")
    con.execute("CREATE OR REPLACE TEMP TABLE src_raw AS SELECT *, row_number() OVER () AS _row "
                "FROM read_parquet(?)", [str(src.path)])
    quoted = {i: '"' + h.replace('"', '""') + '"' for i, h in enumerate(headers)}
    _select_mapped(con, src, None, line_expr="_row", quoted=quoted)


def _select_mapped(con, src: SourceFile, pattern: str | None, line_expr: str, quoted: dict | None = None,
                   source: str = "src_raw", params: list | None = None):
    """Temp table `src`: the mapped columns of `source` as text under their names, and _line."""
    parts = []
    for i, name in sorted(src.mapping.items()):
        col = quoted[i] if quoted else pattern.format(i)
        parts.append(f"CAST({col} AS VARCHAR) AS {name}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE src AS SELECT {', '.join(parts)}, {line_expr} AS _line FROM {source}",
                params)
    con.execute("DROP TABLE IF EXISTS src_raw")
    _add_missing_columns(con, src)


def _add_missing_columns(con, src: SourceFile) -> None:
    """Optional columns the file lacks become NULL columns, so validation SQL is one shape."""
    present = set(src.mapping.values())
    for col in src.feed.columns:
        if col.name not in present:
            con.execute(f"ALTER TABLE src ADD COLUMN {col.name} VARCHAR")


def read_source(con: duckdb.DuckDBPyConnection, path: Path, tmpdir: Path) -> SourceFile:
    """Detect and read one file into temp table `src`; raises RefusedFile naming the problem."""
    path = Path(path)
    if not path.exists():
        raise RefusedFile(f"{path}: 文件不存在")
    if path.stat().st_size == 0:
        raise RefusedFile(f"{path.name}: 文件是空的（0 字节）")
    src = SourceFile(path=path, file_format=sniff_format(path))
    if src.file_format == "xlsx":
        _read_xlsx(con, src)
    elif src.file_format == "parquet":
        _read_parquet(con, src)
    else:
        _read_csv(con, src, tmpdir)
    return src


def tempdir() -> tempfile.TemporaryDirectory:
    """Scratch space for transcoded copies, beside the system temp dir."""
    return tempfile.TemporaryDirectory(prefix="fourguard-", dir=os.environ.get("FOURGUARD_TMP"))


def peek_feed(path: Path) -> feeds.Feed:
    """The feed a file holds, from its first rows only (to order a batch before loading it)."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        raise RefusedFile(f"{path}: 文件不存在或为空")
    fmt = sniff_format(path)
    if fmt == "parquet":
        con = duckdb.connect()
        try:
            headers = [r[0] for r in con.execute("SELECT name FROM parquet_schema(?) WHERE num_children IS NULL",
                                                 [str(path)]).fetchall()]
        except duckdb.Error as exc:
            raise RefusedFile(f"{path.name}: 无法读取 Parquet 文件（{exc}）") from exc
        finally:
            con.close()
        feed, _, _ = feeds.match_feed(headers)
        if feed is None:
            raise RefusedFile(f"{path.name}: 列名无法识别")
        return feed
    if fmt == "xlsx":
        from python_calamine import CalamineWorkbook
        try:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
            rows = sheet.to_python(nrows=HEAD_ROWS)
        except Exception as exc:
            raise RefusedFile(f"{path.name}: 无法读取 Excel 文件（{exc}）") from exc
        head = [[_cell_text(c, False) or "" for c in r] for r in rows]
    else:
        with open(path, "rb") as fh:
            raw = fh.read(1 << 16)
        text = None
        for enc in ("utf-8-sig", "gb18030"):
            try:  # incremental: a character cut by the 64 KB boundary is not an error
                text = codecs.getincrementaldecoder(enc)().decode(raw, final=False)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise RefusedFile(f"{path.name}: 无法识别文件编码")
        lines = text.splitlines()[:HEAD_ROWS]
        try:
            delim = csv.Sniffer().sniff("\n".join(lines), delimiters=",\t;|").delimiter
        except csv.Error:
            delim = ","
        head = list(csv.reader(lines, delimiter=delim))
    _, feed, _ = _find_header(head, path.name)
    return feed
