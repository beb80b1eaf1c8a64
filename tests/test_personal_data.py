"""Personal data: after the county demo is ingested, no clear ID number from its feeds is anywhere the
system writes — the DuckDB file, the write store, quarantine, ingest log, CLI output, reports, exports."""
from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
from python_calamine import CalamineWorkbook

from fourguard import db, export, feeds, freshness, issues, queries, store, validate
from fourguard.config import Settings

ROOT = Path(__file__).parent.parent
ID_HEADERS = {feeds._norm(h) for f in feeds.FEEDS.values() for c in f.columns if c.kind == "id"
              for h in (c.header, c.name, *c.aliases)}
CLEAR = re.compile(r"\d{17}[\dX]")


def _rows(path: Path) -> list[list[str]]:
    if path.suffix == ".xlsx":
        return [["" if v is None else str(v) for v in r]
                for r in CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()]
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return list(csv.reader(io.StringIO(raw.decode(enc), newline="")))
        except UnicodeDecodeError:
            continue
    raise AssertionError(f"cannot read {path}")


def clear_ids(folder: Path) -> set[str]:
    """Every clear ID in the ID columns of the generated feed files (valid or with a wrong check digit)."""
    found = set()
    for path in sorted(folder.rglob("*")):
        rows = _rows(path) if path.suffix in (".csv", ".xlsx") else []
        for i, row in enumerate(rows[:20]):
            cols = [j for j, h in enumerate(row) if feeds._norm(h) in ID_HEADERS]
            if cols:
                values = (r[j].strip().upper() for r in rows[i + 1:] for j in cols if j < len(r))
                found |= {v for v in values if CLEAR.fullmatch(v)}
                break
    return found


class Leaks:
    """Finds clear IDs, or 14-character pieces of them, in text."""

    def __init__(self, ids: set[str]):
        self.ids = ids
        self.pieces = {i[k:k + 14] for i in ids for k in range(5)}

    def __call__(self, text: str) -> list[str]:
        out = []
        for run in re.findall(r"[0-9Xx]{14,}", text):
            run = run.upper()
            if any(run[k:k + 14] in self.pieces for k in range(len(run) - 13)):
                out.append(run)
        return out


def file_text(path: Path) -> str:
    """What a file holds as text: raw bytes, zip members (xlsx), the text of a PDF."""
    data = path.read_bytes()
    parts = [data.decode("latin-1")]
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(path) as z:
            parts += [z.read(n).decode("utf-8", "replace") for n in z.namelist()]
    if data[:5] == b"%PDF-":
        from pypdf import PdfReader
        parts += [page.extract_text() or "" for page in PdfReader(path).pages]
    return "\n".join(parts)


def digit_runs(path: Path, ids: set[str]) -> str:
    """Every distinct run of 14+ digits in any text column of a DuckDB file, and any clear ID held as a
    number in a numeric column (found by DuckDB: the county's millions of rows are too slow in Python)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        con.execute("CREATE TEMP TABLE ids AS SELECT unnest(?::VARCHAR[]) AS id", [sorted(ids)])
        runs = set()
        for table, column, kind in con.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_catalog <> 'temp'").fetchall():
            if kind in ("VARCHAR", "JSON"):
                runs |= {r for (r,) in con.execute(
                    f'SELECT DISTINCT unnest(regexp_extract_all("{column}", \'[0-9Xx]{{14,}}\')) FROM "{table}"').fetchall()}
            elif "INT" in kind or kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL"):
                runs |= {r for (r,) in con.execute(
                    f'SELECT DISTINCT id FROM "{table}" JOIN ids ON TRY_CAST("{column}" AS UHUGEINT) = '
                    f'TRY_CAST(id AS UHUGEINT)').fetchall()}
            # timestamps, dates and booleans cannot hold 18 digits
        return "\n".join(sorted(runs))
    finally:
        con.close()


def cli(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "fourguard", *args], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr  # 1: ingest refused a file (the demo refuses none)
    return proc


def test_no_clear_id_number_anywhere_after_ingesting_the_county_demo(demo_db, tmp_path):
    ids = clear_ids(demo_db.demo_dir)
    assert len(ids) > 1000  # the demo's rosters, tests and scans were read
    leaks = Leaks(ids)
    dbf = tmp_path / "store" / "fourguard.duckdb"
    written: dict[str, str] = {}

    ingested = cli("ingest", str(demo_db.demo_dir), "--db", str(dbf))
    assert ingested.returncode == 0 and "隔离" in ingested.stdout
    written["ingest stdout/stderr"] = ingested.stdout + ingested.stderr
    metrics = cli("metrics", "--db", str(dbf), "--json")
    written["metrics stdout/stderr"] = metrics.stdout + metrics.stderr
    if (ROOT / "fourguard" / "report.py").exists():
        report = cli("report", "--db", str(dbf), "--out", str(tmp_path / "report"))
        assert report.returncode == 0, report.stderr
        written["report stdout/stderr"] = report.stdout + report.stderr
        for f in (tmp_path / "report").iterdir():
            written[f"report {f.name}"] = file_text(f)

    # What people do in the app goes to the write store, also when they type an ID into a note.
    s = Settings(db_path=dbf)
    con = db.connect(dbf, s).cursor()
    as_of = freshness.latest_data_at(con)
    waiting = queries.issue_status(con, as_of, open_only=True)
    first = waiting[waiting["state"] == "待交办"].iloc[0]
    path = store.store_path(dbf)
    typed = next(i for i in sorted(ids) if validate._ID_IN_TEXT.fullmatch(i))  # an official types an ID
    v = issues.apply(path, first.issue_id, "assign", "待交办", 0, "县指挥部", department="县工信局")
    issues.apply(path, first.issue_id, "escalate", "已交办", v, "县工信局", note=f"需市级协调，返岗人员 {typed}")
    store.switch_county_state(path, "411322", "应急", "县指挥部", note=f"密接 {typed} 所在企业")

    # Exports of what the pages show with a person in each row, and the quarantine browser.
    frames = {"overdue": queries.overdue_employees(con, as_of), "quarantine": freshness.quarantine(con, limit=100_000),
              "issues": queries.issue_status(con, as_of)}
    assert len(frames["overdue"]) and len(frames["quarantine"])
    for name, frame in frames.items():
        t = export.table(frame)
        written[f"export {name}.csv"] = export.to_csv(t).decode("utf-8-sig")  # digits and masks are ASCII
        out = tmp_path / f"{name}.xlsx"
        out.write_bytes(export.to_xlsx(t))
        written[f"export {name}.xlsx"] = file_text(out)

    written["duckdb file"] = file_text(dbf)
    written["duckdb tables"] = digit_runs(dbf, ids)
    written["write store file"] = file_text(path)
    sq = sqlite3.connect(path)
    written["write store tables"] = json.dumps(
        {t: sq.execute(f"SELECT * FROM {t}").fetchall() for (t,) in
         sq.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()}, ensure_ascii=False)
    sq.close()

    found = {where: leaks(text)[:3] for where, text in written.items() if leaks(text)}
    assert found == {}
    # The scan looked at the right things: the masked forms of those people are there, bad ID rows were held.
    masked = {i[:4] + "*" * 10 + i[-4:] for i in ids}
    assert any(m in written["export overdue.csv"] for m in masked)
    ro = duckdb.connect(str(dbf), read_only=True)
    assert {m for (m,) in ro.execute("SELECT id_masked FROM employees").fetchall()} & masked
    assert ro.execute("SELECT count(*) FROM quarantine WHERE reason_code LIKE 'id_%' AND reason LIKE '%身份证%'"
                      ).fetchone()[0] > 0
    ro.close()


@pytest.mark.parametrize("person", [
    "411322199001011230",          # wrong check digit
    "4113221990010112311",         # 19 characters
    "411322199013011231",          # no such birth date
    "41132219900101123",           # 17 characters
])
def test_a_bad_id_row_is_reported_without_the_number(tmp_path, person):
    from tests.feedfiles import write_feed
    from tests.test_ingest import REGISTRY, ROSTER, sample
    dbf = tmp_path / "fg.duckdb"
    files = [write_feed(tmp_path / "reg.csv", "registry", REGISTRY), write_feed(tmp_path / "ros.csv", "roster", ROSTER),
             write_feed(tmp_path / "t.csv", "tests", [sample("B1", person=person)])]
    out = cli("ingest", *map(str, files), "--db", str(dbf))
    assert "隔离 1" in out.stdout
    leaks = Leaks({person})
    con = duckdb.connect(str(dbf), read_only=True)
    [(reason, raw)] = con.execute("SELECT reason, raw_row FROM quarantine").fetchall()
    con.close()
    for text in (out.stdout, out.stderr, reason, raw, digit_runs(dbf, {person})):
        assert person[:14] not in text and not leaks(text), text[:300]
