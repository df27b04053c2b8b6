"""`python -m bench files`: reading people's files with the one reader (survey.sheets) against
pandas in the same run: a sheet formatted to XFD1048576 with 30 rows of content, a sheet of 5
million filled cells, and a 50,000-row company registry as .xlsx, .xls and GBK .csv. Each read
runs in its own process, so peak memory (VmHWM) includes calamine's Rust allocations, which
tracemalloc does not see."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from survey import spreadsheets
from survey.companies import registry

TIMEOUT = 180  # seconds a baseline may take before it is reported as "> TIMEOUT"


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(reader: str, path: str) -> None:
    """Runs in the subprocess: one read, then its time, peak memory and what it read."""
    data = Path(path).read_bytes()
    name = Path(path).name
    start = time.perf_counter()
    outcome = ""
    if reader == "ours":
        try:
            table = spreadsheets.read_table(data, name, ["企业名称"])
            outcome = f"{len(table.rows):,} rows"
        except spreadsheets.SpreadsheetTooLargeError as exc:
            outcome = "refused: " + str(exc)[:40] + "…"
    else:
        import pandas as pd

        if name.endswith(".csv"):
            frame = pd.read_csv(io.BytesIO(data), encoding="gb18030", dtype=str)
        else:
            frame = pd.read_excel(io.BytesIO(data), dtype=str)
        outcome = f"{len(frame):,} rows"
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_mb(), "outcome": outcome}))


def _run(reader: str, path: Path) -> dict:
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bench.files_bench", reader, str(path)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "peak_mb": None, "outcome": f"> {TIMEOUT} s, stopped"}
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["?"])[-1]
        return {"seconds": None, "peak_mb": None, "outcome": "failed: " + last[:60]}
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---- the files ---------------------------------------------------------------------------------


def _xlsx_with_sheet(path: Path, write_sheet) -> None:
    """An .xlsx whose sheet1.xml is written by `write_sheet(stream)` straight into the zip."""
    buffer = io.BytesIO()
    book = spreadsheets.new_workbook(buffer)
    book.add_worksheet("名录")
    book.close()
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with target.open(info.filename, "w") as stream:
                    stream.write(
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                        b'2006/main"><dimension ref="A1:XFD1048576"/>'
                    )
                    write_sheet(stream)
                    stream.write(b"</worksheet>")
            else:
                target.writestr(info, source.read(info))


def _inline(ref: str, text: str) -> bytes:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'.encode()


def edge_file(path: Path) -> None:
    """30 rows of content; formats on every column, a styled empty row across all 16,384 columns
    and the last cell styled: what a sheet formatted to the edge holds."""
    letters = [spreadsheets.column_letters(i) for i in range(1, 16385)]

    def write(stream):
        stream.write(b'<cols><col min="1" max="16384" width="9" style="0"/></cols><sheetData>')
        stream.write(b'<row r="1">' + _inline("A1", "企业名称") + _inline("B1", "代码") + b"</row>")
        for r in range(2, 32):
            cells = _inline(f"A{r}", f"企业{r}") + _inline(f"B{r}", f"9132{r:014d}")
            stream.write(f'<row r="{r}">'.encode() + cells + b"</row>")
        stream.write(b'<row r="32">')
        stream.write(b"".join(f'<c r="{c}32" s="0"/>'.encode() for c in letters))
        stream.write(b'</row><row r="1048576"><c r="XFD1048576" s="0"/></row></sheetData>')

    _xlsx_with_sheet(path, write)


def filled_file(path: Path, rows: int = 500_000, columns: int = 10) -> None:
    letters = [spreadsheets.column_letters(i) for i in range(1, columns + 1)]

    def write(stream):
        stream.write(b"<sheetData>")
        for r in range(1, rows + 1):
            cells = "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in letters)
            stream.write(f'<row r="{r}">{cells}</row>'.encode())
        stream.write(b"</sheetData>")

    _xlsx_with_sheet(path, write)


def registry_rows(n: int):
    yield registry.HEADERS
    for i in range(n):
        yield [
            f"镇江市测试企业{i}有限公司",
            f"91321100{i:09d}X",
            "京口区",
            "",
            "制造业",
            "",
            f"镇江市京口区测试路{i}号",
            "张三",
            f"1380000{i % 10000:04d}",
            "小型",
            "是",
            "否",
        ]


def registry_files(folder: Path, n: int) -> list[Path]:
    xlsx = folder / "名录50000.xlsx"
    book = spreadsheets.new_workbook(xlsx)
    spreadsheets.write_rows(book.add_worksheet("名录"), registry_rows(n))
    book.close()
    csv_path = folder / "名录50000-gbk.csv"
    csv_path.write_bytes(
        "\r\n".join(",".join(row) for row in registry_rows(n)).encode("gb18030") + b"\r\n"
    )
    files = [xlsx, csv_path]
    try:
        import xlwt
    except ImportError:
        return files
    xls = folder / "名录50000.xls"
    workbook = xlwt.Workbook(encoding="utf-8")
    sheet = workbook.add_sheet("名录")
    for r, row in enumerate(registry_rows(n)):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    workbook.save(str(xls))
    return [xlsx, xls, csv_path]


def _fmt(result: dict) -> tuple[str, str]:
    if result["seconds"] is None:
        return "—", "—"
    return f"{result['seconds']:.2f} s", f"{result['peak_mb']:.0f} MB"


def bench_files(n_companies: int = 50_000) -> None:
    n = min(n_companies, 65_000)  # .xls holds 65,536 rows
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        start = time.perf_counter()
        edge = folder / "formatted-to-XFD1048576.xlsx"
        edge_file(edge)
        filled = folder / "5-million-cells.xlsx"
        filled_file(filled)
        files = [edge, filled, *registry_files(folder, n)]
        print(f"files built in {time.perf_counter() - start:.0f} s; each read in its own process")
        print(
            "| file | size | ours: time | ours: peak RSS | ours: result "
            "| pandas: time | pandas: peak RSS | pandas: result | time pandas/ours |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for path in files:
            ours, theirs = _run("ours", path), _run("pandas", path)
            ratio = "—"
            if ours["seconds"] and theirs["seconds"]:
                ratio = f"{theirs['seconds'] / ours['seconds']:.1f}x"
            elif ours["seconds"] and theirs["seconds"] is None and "stopped" in theirs["outcome"]:
                ratio = f"> {TIMEOUT / ours['seconds']:.0f}x"
            size = f"{path.stat().st_size / 1024 / 1024:.1f} MB"
            print(
                f"| {path.name} | {size} | {' | '.join(_fmt(ours))} | {ours['outcome']} "
                f"| {' | '.join(_fmt(theirs))} | {theirs['outcome']} | {ratio} |"
            )
    print(
        "peak RSS is VmHWM of the reading process (Python itself is ~"
        f"{_interpreter_mb():.0f} MB of it: the interpreter with survey imported)"
    )


def _interpreter_mb() -> float:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import survey.spreadsheets, pandas; import bench.files_bench as b; print(b._peak_mb())",
        ],
        capture_output=True,
        text=True,
    )
    try:
        return float(out.stdout.strip())
    except ValueError:
        return float("nan")


if __name__ == "__main__":
    if len(sys.argv) == 3:
        child(sys.argv[1], sys.argv[2])
    else:
        bench_files()
