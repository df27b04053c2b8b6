"""The XLSForm corpus in tests/forms: forms written in pyxform's markdown layout (one table per
sheet, the sheet name in the first column), turned into .xlsx so pyxform and our loader read the
same bytes. A form's CSV choice files sit in `<name>-media/`, as ODK tools keep them."""

from __future__ import annotations

from pathlib import Path

from survey.xlsform.writer import build_xlsform

FORMS = Path(__file__).resolve().parent / "forms"


def sheets(markdown: str) -> dict[str, list[dict]]:
    """{sheet: [row as {header: cell}]} from pyxform-style markdown tables."""
    found: dict[str, list[list[str]]] = {}
    current = None
    for line in markdown.splitlines():
        line = line.strip()
        if not line.startswith("|") or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0]:
            current = found.setdefault(cells[0], [])
        if current is not None and any(cells[1:]):
            current.append(cells[1:])
    out = {}
    for name, rows in found.items():
        header, body = rows[0], rows[1:]
        out[name] = [{h: v for h, v in zip(header, row, strict=False) if h and v} for row in body]
    return out


def xlsx(path: Path) -> bytes:
    book = sheets(path.read_text(encoding="utf-8"))
    settings = (book.get("settings") or [None])[0]
    return build_xlsform(book.get("survey", []), book.get("choices"), settings)


def media(path: Path) -> dict[str, bytes]:
    folder = path.with_name(f"{path.stem}-media")
    return {f.name: f.read_bytes() for f in sorted(folder.glob("*.csv"))} if folder.is_dir() else {}


def corpus() -> list[Path]:
    return sorted(FORMS.glob("*.md"))
