"""The XLSForm words we know: question types and their older spellings, column names and their
aliases, the types recorded by a phone or not asked here, and the words for yes and no."""

from __future__ import annotations

import re

from survey.xlsform.model import QUESTION_TYPES

NAME_RE = re.compile(r"^[^\W\d][\w.-]*$")  # an XML name without a namespace: 题目 is one
FORM_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
TYPE_ALIASES = {
    "begin group": "begin_group",
    "end group": "end_group",
    "begin repeat": "begin_repeat",
    "end repeat": "end_repeat",
    "select one": "select_one",
    "select_one_external": "select_one",  # its list is on the external_choices sheet
    "int": "integer",
    "photo": "image",
    "string": "text",
    "select1": "select_one",
    # pyxform's question-type dictionary (its all.xls): the older English spellings
    "add text prompt": "text",
    "q string": "text",
    "phone number": "text",
    "add integer prompt": "integer",
    "q int": "integer",
    "percentage": "integer",
    "add decimal prompt": "decimal",
    "q decimal": "decimal",
    "add date prompt": "date",
    "q date": "date",
    "add note prompt": "note",
    "q note": "note",
    "add calculate prompt": "calculate",
    "q calculate": "calculate",
    "add image prompt": "image",
    "q image": "image",
    "q picture": "image",
    "add acknowledge prompt": "acknowledge",
    "q acknowledge": "acknowledge",
    "add select one prompt using": "select_one",
    "select all that apply from": "select_multiple",
    "select all that apply": "select_multiple",
    "add select multiple prompt using": "select_multiple",
    "get start time": "start",
    "start time": "start",
    "get end time": "end",
    "end time": "end",
    "get today": "today",
    "device id": "deviceid",
    "get device id": "deviceid",
    "sim id": "simserial",
    "get sim id": "simserial",
    "subscriber id": "subscriberid",
    "get subscriber id": "subscriberid",
    "get phone number": "phonenumber",
    "add date time prompt": "dateTime",
    "q date time": "dateTime",
    "date time": "dateTime",
    "add location prompt": "geopoint",
    "q location": "geopoint",
    "q geopoint": "geopoint",
    "location": "geopoint",
    "gps": "geopoint",
    "add audio prompt": "audio",
    "q audio": "audio",
    "add video prompt": "video",
    "q video": "video",
    "add barcode prompt": "barcode",
    "q barcode": "barcode",
    "add file prompt": "file",
}
# What pyxform's dictionary adds to two of those when the row gives no constraint of its own.
ALIAS_CONSTRAINTS = {
    "phone number": ("regex(., '^\\d*$')", "只能填写数字"),
    "percentage": (". >= 0 and . <= 100", "应在 0–100 之间"),
}
MULTIWORD_ALIASES = sorted((a for a in TYPE_ALIASES if " " in a), key=len, reverse=True)
# Recorded by the phone in ODK, nothing to ask: ignored with a note.
METADATA_TYPES = {
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
    "start-geopoint",
    "imei",
    "uri:deviceid",
    "background-geopoint",
}
# Questions we cannot ask on this app: ignored with a warning unless an expression needs them.
UNSUPPORTED_INPUTS = {
    "geopoint",
    "geotrace",
    "geoshape",
    "audio",
    "video",
    "file",
    "barcode",
    "range",
    "rank",
    "hidden",
    "datetime",
    "dateTime",
    "background-audio",
    "xml-external",
    "csv-external",
    "trigger",
    "osm",
}
# What a skipped type needs that a browser form has not (said in the load notes).
UNSUPPORTED_WHY = {
    "osm": "OpenMapKit（osm）题要在手机上用 OpenMapKit 应用给地图要素加标签，网页问卷无法填写",
}
SURVEY_COLUMNS = {
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "default",
    "read_only",
    "appearance",
    "choice_filter",
    "calculation",
    "repeat_count",
    "parameters",
}
TRANSLATABLE = {"label", "hint", "required_message", "constraint_message"}
COLUMN_ALIASES = {
    "required message": "required_message",
    "constraint message": "constraint_message",
    "read only": "read_only",
    "choice filter": "choice_filter",
    "repeat count": "repeat_count",
    "calculate": "calculation",
    "list name": "list_name",
    "caption": "label",
}
# Display-only or bind columns we do not apply: listed as ignored.
IGNORED_COLUMN_PREFIXES = (
    "media",
    "image",
    "audio",
    "video",
    "big-image",
    "guidance_hint",
    "bind",
    "body",
    "instance",
    "note",
    "trigger",
    "tag",
    "label_column",
    "autoplay",
)
TRUE_WORDS = {"yes", "true", "true()", "=true()", "1", "y", "是"}
FALSE_WORDS = {"", "no", "false", "false()", "=false()", "0", "n", "否"}


def unknown_type(raw_type: str) -> str:
    said = f"未知题型“{raw_type}”"
    words = raw_type.lower().split()
    if words[:2] == ["select", "multiple"] and len(words) > 2:
        return f"{said}：多选题请写 select_multiple {words[-1]}"
    if raw_type.lower() in QUESTION_TYPES and raw_type not in QUESTION_TYPES:
        return f"{said}：题型须用小写，写作 {raw_type.lower()}"
    return said
