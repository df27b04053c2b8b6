"""Choices read from a CSV uploaded with the form: `select_one_from_file companies.csv`.

In ODK the file travels with the form as media and is read on the phone; here its rows are read
once, when the form is uploaded, and become a choice list of the form's definition, named after
the file. So the choices are versioned with the form: a new CSV means a new form version, and old
answers keep the labels they were given with. The file itself is kept beside the version.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath

from survey import spreadsheets
from survey.errors import SurveyError
from survey.xlsform.model import Choice

# What pyxform accepts after select_*_from_file; of these we can read only CSV in a browser form.
EXTENSIONS = (".csv", ".xml", ".geojson")
KINDS = {"select_one_from_file": "select_one", "select_multiple_from_file": "select_multiple"}
PARAMETERS = {"value", "label", "randomize", "seed"}
_PAIR = re.compile(r"([^\s=,;]+)\s*=\s*([^\s=,;]+)")
_XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class ChoiceFileError(Exception):
    """`column` and `row` say where (row None: the whole file or the parameters cell)."""

    def __init__(self, message: str, row: int | None = None, column: str | None = None):
        self.row, self.column = row, column
        super().__init__(message)


def list_key(file_name: str, value: str, label: str) -> str:
    """The choice list a file gives: named after the file, and after the columns when they are
    not the default ones (one file can feed two lists)."""
    return file_name if (value, label) == ("name", "label") else f"{file_name}?{value},{label}"


def file_of(key: str) -> str:
    """The file a choice list came from (list_key's inverse); a sheet list names no file."""
    return key.partition("?")[0]


def value_column_of(key: str) -> str:
    """The file's column that gave the choices' values ("name" unless the parameters said)."""
    return key.partition("?")[2].partition(",")[0] or "name"


def check_name(list_name: str, kind: str) -> str | None:
    """Why a file name cannot be used after `kind`, or None: one extension, one of EXTENSIONS."""
    suffixes = PurePosixPath(list_name).suffixes
    if len(suffixes) != 1 or suffixes[0].lower() not in EXTENSIONS:
        return f"{kind} 后的文件名“{list_name}”须以 .csv 结尾（XLSForm 还允许 .xml、.geojson）"
    return None


def read_geojson(name: str, data: bytes, value_column: str = "id", label_column: str = "title"):
    """(choices, languages) from a GeoJSON FeatureCollection, as ODK reads one: a choice per
    feature, its value the `id` property (or the feature's id), its label `title`, its other
    properties (and the geometry, as JSON text) columns a choice_filter or a lookup may name."""
    try:
        features = json.loads(data.decode("utf-8-sig"))["features"]
        assert isinstance(features, list)
    except (ValueError, KeyError, TypeError, AssertionError, UnicodeDecodeError):
        raise ChoiceFileError(
            "不是有效的 GeoJSON（须为含 features 的 FeatureCollection）"
        ) from None
    choices, seen = [], set()
    for number, feature in enumerate(features, start=1):
        properties = dict(feature.get("properties") or {}) if isinstance(feature, dict) else {}
        value = str(properties.pop(value_column, None) or feature.get("id") or "").strip()
        if not value or value in seen:
            raise ChoiceFileError(f"第 {number} 个要素缺少 {value_column} 或与前面的重复")
        seen.add(value)
        label = str(properties.pop(label_column, "") or value)
        extra = {k: "" if v is None else str(v) for k, v in properties.items()}
        extra["geometry"] = json.dumps(feature.get("geometry"), ensure_ascii=False)
        choices.append(Choice(value, {"default": label}, extra))
    if not choices:
        raise ChoiceFileError("文件中没有任何要素")
    return choices, []


def parameters(raw: str) -> dict[str, str]:
    """'value=code label=name' (spaces, commas or semicolons between) -> {'value': 'code', ...}.

    Keys are case-insensitive; the column names they give keep their case, as in pyxform."""
    text = raw.strip()
    if not text:
        return {}
    pairs = _PAIR.findall(text)
    if _PAIR.sub("", text).strip(" ,;\t") or not pairs:
        raise ChoiceFileError(f"参数“{raw}”格式不对，应写成 value=列名 label=列名")
    found = {key.lower(): value for key, value in pairs}
    unknown = sorted(set(found) - PARAMETERS)
    if unknown:
        raise ChoiceFileError(
            f"参数 {'、'.join(unknown)} 不适用于选项文件；可用 value、label、randomize、seed"
        )
    for key in ("value", "label"):
        if key in found and not _XML_NAME.match(found[key]):
            raise ChoiceFileError(f"参数 {key} 的列名“{found[key]}”不合法")
    return found


def read(name: str, data: bytes, value_column: str = "name", label_column: str = "label"):
    """(choices, languages) from the CSV's rows. Every bad row is reported at once."""
    try:
        table = spreadsheets.read_table(data, name)
    except SurveyError as exc:
        raise ChoiceFileError(str(exc)) from None
    headers, rows = table
    labels_at = {}
    for i, header in enumerate(headers):
        base, _, lang = header.partition("::")
        if base.strip() == label_column:
            labels_at[i] = lang.strip() or "default"
    if value_column not in headers:
        raise ChoiceFileError(f"缺少“{value_column}”列（选项值）", 1, value_column)
    if not labels_at:
        raise ChoiceFileError(f"缺少“{label_column}”列（选项标签）", 1, label_column)
    value_at = headers.index(value_column)
    problems: list[ChoiceFileError] = []
    choices: list[Choice] = []
    seen: dict[str, int] = {}
    for number, row in enumerate(rows, start=table.first_row):
        cells = [str(v).strip() if v is not None else "" for v in row]
        cells += [""] * (len(headers) - len(cells))
        if not any(cells):
            continue
        value = cells[value_at]
        if not value:
            problems.append(ChoiceFileError("缺少选项值", number, value_column))
            continue
        if value in seen:
            problems.append(
                ChoiceFileError(
                    f"选项值“{value}”重复（第 {seen[value]} 行已有）", number, value_column
                )
            )
            continue
        seen[value] = number
        labels = {lang: cells[i] for i, lang in labels_at.items() if cells[i]}
        if not labels:
            problems.append(ChoiceFileError(f"选项“{value}”缺少标签", number, label_column))
            continue
        extra = {
            h: cells[i] for i, h in enumerate(headers) if h and i != value_at and i not in labels_at
        }
        choices.append(Choice(value, labels, extra))
    if problems:
        raise ExceptionGroup(name, problems)
    if not choices:
        raise ChoiceFileError("文件中没有任何选项")
    languages = [lang for lang in labels_at.values() if lang != "default"]
    return choices, languages


def read_lookup(name: str, data: bytes, key_column: str) -> list[Choice]:
    """A file that pulldata()/instance() read: a row per choice keyed by `key_column`, every
    column kept (no label needed)."""
    if name.lower().endswith(".geojson"):
        return read_geojson(name, data, key_column if key_column != "id" else "id")[0]
    try:
        headers, rows = spreadsheets.read_table(data, name)
    except SurveyError as exc:
        raise ChoiceFileError(str(exc)) from None
    if key_column not in headers:
        raise ChoiceFileError(f"缺少“{key_column}”列（pulldata 按它查找）", 1, key_column)
    choices = []
    for row in rows:
        cells = {h: "" if v is None else str(v).strip() for h, v in zip(headers, row, strict=False)}
        if cells.get(key_column):
            choices.append(Choice(cells[key_column], {}, cells))
    return choices
