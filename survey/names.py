"""Names are one line. A company, a person, an API client, a task, a meeting or a selection round is
named on one line wherever the name enters (forms, imports, the API): line breaks, tabs, other
control characters, Unicode line and paragraph separators and bidirectional overrides are folded
into one space, so a name can neither start a new line of a message nor reorder what is shown."""

from __future__ import annotations

import re

# Control characters (C0, DEL, C1), line/paragraph separators, bidirectional marks and overrides.
_BREAKERS = "\\x00-\\x1f\\x7f-\\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069"
_FOLD = re.compile(rf"[\s{_BREAKERS}]*[{_BREAKERS}][\s{_BREAKERS}]*")


def one_line(value) -> str:
    """`value` as one line: every run of breaks and control characters (with the spaces around
    it) becomes one space, and the ends are trimmed. None becomes ''."""
    if value is None:
        return ""
    return _FOLD.sub(" ", str(value)).strip()
