"""Write small feed files the way providers send them: any format, encoding, title row."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import xlsxwriter
from stdnum.cn import ric, uscc

from fourguard import feeds


def credit_code(county: str, serial: int) -> str:
    """A valid unified social credit code (GB 32100) for an enterprise in `county`."""
    body = f"91{county}MA{serial:07d}"[:17]
    return body + uscc.calc_check_digit(body)


def id_number(county: str, birth: str, serial: int) -> str:
    """A valid resident ID (GB 11643): county code, birth date YYYYMMDD, 3-digit serial."""
    body = f"{county}{birth}{serial:03d}"
    return body + ric.calc_check_digit(body + "0")


def write_feed(path: Path, feed: str, rows: list[dict], *, fmt: str = "csv", encoding: str = "utf-8",
               title: str | None = None, english: bool = False) -> Path:
    """Rows keyed by canonical column names → a file with the feed's Chinese (or English) headers."""
    spec = feeds.FEEDS[feed]
    names = [c.name for c in spec.columns if any(c.name in r for r in rows) or c.required]
    headers = [n if english else spec.column(n).header for n in names]
    table = [["" if r.get(n) is None else r.get(n) for n in names] for r in rows]
    path = Path(path)
    if fmt == "csv":
        import csv
        import io
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if title:
            w.writerow([title])
        w.writerow(headers)
        for row in table:
            w.writerow([_text(v) for v in row])
        path.write_bytes(buf.getvalue().encode(encoding))
    elif fmt == "xlsx":
        wb = xlsxwriter.Workbook(str(path))
        ws = wb.add_worksheet()
        datefmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        r0 = 0
        if title:
            ws.write(0, 0, title)
            r0 = 2  # title, blank row, header
        ws.write_row(r0, 0, headers)
        for i, row in enumerate(table, start=r0 + 1):
            for j, v in enumerate(row):
                if isinstance(v, (dt.datetime, dt.date)):
                    ws.write_datetime(i, j, v, datefmt)
                else:
                    ws.write(i, j, v)
        wb.close()
    elif fmt == "parquet":
        pq.write_table(pa.table({h: [None if v == "" else _text(v) for v in col]
                                 for h, col in zip(headers, zip(*table))}), path)
    else:
        raise ValueError(fmt)
    return path


def _text(v) -> str:
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.strftime("%Y-%m-%d")
    return str(v)
