"""Render an XLSForm as Streamlit widgets sized for a finger on a tablet.

Each run first evaluates the answers already in session_state (relevance, calculations, checks), then
draws only the questions that are relevant, with their messages right under them. Repeats have add
and remove buttons. One widget function per question type: WIDGETS has the same keys as the
model's QUESTION_TYPES (a test checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

import streamlit as st

from survey.xlsform import engine
from survey.xlsform.model import Form, Question
from ui import uploads
from ui.text import md

MAX_RADIO = 6
MAX_CHECKBOXES = 8


@dataclass
class FormState:
    raw: dict
    clean: dict
    errors: dict[str, str]

    @property
    def ok(self) -> bool:
        return not self.errors


def _k(key: str, path: str) -> str:
    return f"{key}|{path}"


def _count_key(key: str, path: str) -> str:
    return f"{key}|{path}#n"


# ---- reading the answers back from session_state ------------------------------------------------


def _raw_value(form: Form, q: Question, key: str, path: str, scope: engine.Scope, today: date):
    state = st.session_state
    if q.type == "select_multiple" and _uses_checkboxes(form, q, scope, today):
        return [
            c.name
            for c in engine.choices_for(form, q, scope, today)
            if state.get(_k(key, f"{path}|{c.name}"))
        ]
    value = state.get(_k(key, path))
    if q.type == "image":
        return getattr(value, "name", None)
    return value


def collect(form: Form, key: str, today: date) -> dict:
    """The answers as the widgets hold them now (before they are drawn in this run)."""
    answers: dict = {}

    def walk(questions, target, prefix, scope):
        for q in questions:
            path = f"{prefix}{q.name}"
            if q.type == "begin_group":
                walk(q.children, target, prefix, scope)
            elif q.type == "begin_repeat":
                n = st.session_state.get(_count_key(key, path), 0)
                items = []
                for i in range(n):
                    item: dict = {}
                    walk(
                        q.children, item, f"{path}[{i}].", engine.Scope(answers, item, i + 1, form)
                    )
                    items.append(item)
                target[q.name] = items
            elif q.spec["input"]:
                target[q.name] = _raw_value(form, q, key, path, scope, today)

    walk(form.questions, answers, "", engine.Scope(answers, form=form))
    return answers


# ---- widgets -------------------------------------------------------------------------------------


def _label(q: Question, lang: str, scope: engine.Scope) -> str:
    return md(engine.fill(q.label(lang), scope)) + (" *" if q.required else "")


def _uses_checkboxes(form: Form, q: Question, scope, today) -> bool:
    return (
        "minimal" not in q.appearance
        and len(engine.choices_for(form, q, scope, today)) <= MAX_CHECKBOXES
    )


def _seed_default(q: Question, wkey: str, scope: engine.Scope, today: date) -> None:
    if q.default and wkey not in st.session_state:
        try:
            value = engine.coerce(q, engine.default_of(q, scope, today))
        except (ValueError, TypeError):
            return
        if q.type == "date" and value:
            value = date.fromisoformat(value)
        if q.type == "time" and value:
            value = time.fromisoformat(value)
        st.session_state[wkey] = value


def _text(ctx, q, wkey, label):
    if "multiline" in q.appearance:
        st.text_area(label, key=wkey, disabled=q.read_only, height=100)
    else:
        st.text_input(label, key=wkey, disabled=q.read_only)


def _integer(ctx, q, wkey, label):
    st.number_input(
        label,
        key=wkey,
        value=None,
        step=1,
        format="%d",
        disabled=q.read_only,
        placeholder="填写整数",
    )


def _decimal(ctx, q, wkey, label):
    st.number_input(
        label,
        key=wkey,
        value=None,
        step=0.01,
        format="%.2f",
        disabled=q.read_only,
        placeholder="填写数字",
    )


def _date(ctx, q, wkey, label):
    st.date_input(
        label,
        key=wkey,
        value=None,
        format="YYYY-MM-DD",
        disabled=q.read_only,
        min_value=date(1900, 1, 1),
        max_value=date(2100, 12, 31),
    )


def _time(ctx, q, wkey, label):
    st.time_input(label, key=wkey, value=None, disabled=q.read_only)


def _no_options(label: str, wkey: str) -> None:
    """A cascade whose earlier answer is missing: say so instead of an empty list in English."""
    st.markdown(label)
    st.caption("请先回答上面的题目，这里才有可选项。")
    st.session_state.pop(wkey, None)


def _select_one(ctx, q, wkey, label):
    options = engine.choices_for(ctx.form, q, ctx.scope, ctx.today)
    if not options:
        return _no_options(label, wkey)
    names = [c.name for c in options]
    labels = {c.name: c.label(ctx.lang) for c in options}
    if st.session_state.get(wkey) not in (None, *names):
        st.session_state[wkey] = None  # the choice_filter removed the earlier answer
    if "minimal" in q.appearance or len(options) > MAX_RADIO:
        st.selectbox(
            label,
            names,
            index=None,
            key=wkey,
            format_func=labels.get,
            disabled=q.read_only,
            placeholder="请选择",
        )
    else:
        st.radio(
            label,
            names,
            index=None,
            key=wkey,
            format_func=lambda n: md(labels[n]),
            horizontal=True,
            disabled=q.read_only,
        )


def _select_multiple(ctx, q, wkey, label):
    options = engine.choices_for(ctx.form, q, ctx.scope, ctx.today)
    if not options:
        return _no_options(label, wkey)
    labels = {c.name: c.label(ctx.lang) for c in options}
    if _uses_checkboxes(ctx.form, q, ctx.scope, ctx.today):
        st.markdown(label)
        columns = st.columns(2)
        for i, c in enumerate(options):
            columns[i % 2].checkbox(
                md(labels[c.name]), key=f"{wkey}|{c.name}", disabled=q.read_only
            )
    else:
        names = [c.name for c in options]
        current = [v for v in st.session_state.get(wkey) or [] if v in names]
        st.session_state[wkey] = current
        st.multiselect(
            label,
            names,
            key=wkey,
            format_func=labels.get,
            disabled=q.read_only,
            placeholder="可多选",
        )


def _note(ctx, q, wkey, label):
    st.info(md(engine.fill(q.label(ctx.lang), ctx.scope)))


def _acknowledge(ctx, q, wkey, label):
    st.checkbox(label, key=wkey, disabled=q.read_only)


def _calculate(ctx, q, wkey, label):
    if q.labels:  # a labelled calculation is shown, read only
        st.text(f"{engine.fill(q.label(ctx.lang), ctx.scope)}：{ctx.values.get(q.name, '')}")


def _image(ctx, q, wkey, label):
    uploads.file_uploader(label, uploads.PHOTO_TYPES, wkey, disabled=q.read_only)


WIDGETS = {
    "text": _text,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "time": _time,
    "select_one": _select_one,
    "select_multiple": _select_multiple,
    "note": _note,
    "acknowledge": _acknowledge,
    "calculate": _calculate,
    "image": _image,
    "begin_group": None,  # drawn by render() as a bordered container
    "begin_repeat": None,  # drawn by render() with add/remove buttons
}


@dataclass
class _Ctx:
    form: Form
    key: str
    lang: str
    today: date
    scope: engine.Scope
    values: dict


def _add_instance(count_key: str) -> None:
    st.session_state[count_key] = st.session_state.get(count_key, 0) + 1


def _remove_instance(key: str, repeat: Question, path: str, index: int) -> None:
    """Drop one instance and move the later ones up, widget values included."""
    count_key = _count_key(key, path)
    n = st.session_state.get(count_key, 0)
    state = st.session_state
    prefix_of = lambda i: _k(key, f"{path}[{i}].")  # noqa: E731
    for i in range(index, n):
        here, nxt = prefix_of(i), prefix_of(i + 1)
        for k in [k for k in list(state.keys()) if isinstance(k, str) and k.startswith(here)]:
            del state[k]
        for k in [k for k in list(state.keys()) if isinstance(k, str) and k.startswith(nxt)]:
            state[here + k[len(nxt) :]] = state[k]
    state[count_key] = max(0, n - 1)


def render(form: Form, key: str, *, today: date, show_required: bool = False) -> FormState:
    """Draw the form; returns the raw answers, the clean ones and the messages by path."""
    lang = form.default_language
    raw = collect(form, key, today)
    clean, errors, shown = engine.evaluate_form(form, raw, today)

    def message(path: str, value) -> None:
        text = errors.get(path)
        if text and (show_required or not engine.is_empty(value)):
            st.error(text, icon=":material/error:")

    def draw(questions, values: dict, cleaned: dict, prefix: str, scope: engine.Scope):
        for q in questions:
            path = f"{prefix}{q.name}"
            if path not in shown:
                continue
            if q.type == "begin_group":
                with st.container(border=True):
                    if q.labels:
                        st.markdown(f"**{md(q.label(lang))}**")
                    draw(q.children, values, cleaned, prefix, scope)
                continue
            if q.type == "begin_repeat":
                count_key = _count_key(key, path)
                fixed = engine.repeat_count(q, scope, today)
                if fixed is not None:
                    st.session_state[count_key] = fixed
                n = st.session_state.setdefault(count_key, 0)
                st.markdown(f"**{md(q.label(lang))}**（{n}）")
                raws, cleans = values.get(q.name) or [], cleaned.get(q.name) or []
                for i in range(n):
                    item_raw = raws[i] if i < len(raws) else {}
                    item_clean = cleans[i] if i < len(cleans) else {}
                    with st.container(border=True):
                        draw(
                            q.children,
                            item_raw,
                            item_clean,
                            f"{path}[{i}].",
                            engine.Scope(clean, item_clean, i + 1, form),
                        )
                        if fixed is None:
                            st.button(
                                f"删除第 {i + 1} 条",
                                key=f"{key}|{path}[{i}]#remove",
                                on_click=_remove_instance,
                                args=(key, q, path, i),
                            )
                if fixed is None:
                    st.button(
                        f"＋ 添加{md(q.label(lang))}",
                        key=f"{key}|{path}#add",
                        on_click=_add_instance,
                        args=(count_key,),
                    )
                continue
            widget = WIDGETS[q.type]
            wkey = _k(key, path)
            _seed_default(q, wkey, scope, today)
            widget(_Ctx(form, key, lang, today, scope, cleaned), q, wkey, _label(q, lang, scope))
            hint = engine.fill(q.hint(lang), scope)
            if hint:
                st.caption(hint)
            message(path, values.get(q.name))

    draw(form.questions, raw, clean, "", engine.Scope(clean, form=form))
    return FormState(raw, clean, errors)


def clear(key: str) -> None:
    """Forget every answer of a rendered form (after a successful submit)."""
    for k in [
        k for k in list(st.session_state.keys()) if isinstance(k, str) and k.startswith(f"{key}|")
    ]:
        del st.session_state[k]


def to_json(value):
    """Raw answers as JSON-safe values (dates and times as ISO text), for drafts."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def restore(form: Form, key: str, raw: dict) -> None:
    """Put saved raw answers back into the widgets' state (before they are drawn)."""
    state = st.session_state

    def walk(questions, values: dict, prefix: str) -> None:
        for q in questions:
            path = f"{prefix}{q.name}"
            if q.type == "begin_group":
                walk(q.children, values, prefix)
            elif q.type == "begin_repeat":
                items = values.get(q.name) or []
                state[_count_key(key, path)] = len(items)
                for i, item in enumerate(items):
                    walk(q.children, item or {}, f"{path}[{i}].")
            elif q.spec["input"] and q.type != "image":
                value = values.get(q.name)
                if value in (None, "", []):
                    continue
                wkey = _k(key, path)
                if q.type == "select_multiple":
                    state[wkey] = list(value)
                    for name in value:
                        state[f"{wkey}|{name}"] = True
                elif q.type == "date":
                    state[wkey] = date.fromisoformat(str(value)[:10])
                elif q.type == "time":
                    state[wkey] = time.fromisoformat(str(value))
                else:
                    state[wkey] = value

    walk(form.questions, raw or {}, "")
