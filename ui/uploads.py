"""The one file picker: Streamlit's uploader with the size limit and what to tap said in Chinese
beside it (Streamlit's own button and limit text are English and cannot be set)."""

from __future__ import annotations

import streamlit as st

from survey import spreadsheets
from survey.errors import SurveyError
from ui.text import md

PHOTO_TYPES = ["jpg", "jpeg", "png"]


def limit_mb() -> int:
    """server.maxUploadSize from .streamlit/config.toml: the one place the limit is set."""
    return int(st.get_option("server.maxUploadSize"))


def hint(types: list[str]) -> str:
    kinds = "、".join(dict.fromkeys(t.upper().replace("JPEG", "JPG") for t in types))
    return f"点“选择文件”或把文件拖到框内；单个文件不超过 {limit_mb()} MB，格式：{kinds}。"


class TableUpload(tuple):
    """(upload, headers, rows), as callers unpack it, with `.table` (survey.sheets.Table: the
    sheet, the header row and each data row's number in the file) beside."""

    table: spreadsheets.Table

    def __new__(cls, upload, table: spreadsheets.Table):
        value = super().__new__(cls, (upload, table.headers, table.rows))
        value.table = table
        return value


def table_upload(label: str, key: str, required=()) -> TableUpload | None:
    """A spreadsheet or text table picked and read (every format survey.sheets reads); the header
    row is the first of the first ten rows that holds every `required` column, so a published file
    with a title row above the header imports. None when nothing is picked yet or the file could
    not be read (its Chinese message shown)."""
    upload = file_uploader(label, list(spreadsheets.TYPES), key)
    if upload is None:
        return None
    try:
        return TableUpload(
            upload, spreadsheets.read_table(upload.getvalue(), upload.name, required)
        )
    except SurveyError as exc:
        st.error(md(str(exc)))
        return None


def file_uploader(
    label: str, types: list[str], key: str, *, multiple: bool = False, disabled: bool = False
):
    value = st.file_uploader(
        label, type=types, key=key, accept_multiple_files=multiple, disabled=disabled
    )
    st.caption(hint(types))
    return value
