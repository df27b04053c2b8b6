"""统一社会信用代码: normalising what people type and checking it (python-stdnum), with the
Chinese message that says which character is wrong.
"""

from __future__ import annotations

import unicodedata

from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength

from survey.errors import ValidationError

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z


def normalize_uscc(raw: str) -> str:
    """Full-width to half-width, drop spaces and dashes, upper case."""
    text = unicodedata.normalize("NFKC", str(raw or ""))
    return "".join(ch for ch in text if not ch.isspace() and ch != "-").upper()


def validate_uscc(raw: str) -> str:
    """The normalised code, or ValidationError saying in Chinese what is wrong."""
    code = normalize_uscc(raw)
    if not code:
        raise ValidationError("请填写统一社会信用代码。", "uscc")
    try:
        return stdnum_uscc.validate(code)
    except InvalidLength:
        raise ValidationError(
            f"统一社会信用代码应为 18 位，当前为 {len(code)} 位。", "uscc"
        ) from None
    except InvalidFormat:
        bad = next(
            (
                c
                for i, c in enumerate(code)
                if (i < 8 and not c.isdigit()) or c not in USCC_ALPHABET
            ),
            "",
        )
        where = f"“{bad}”" if bad else "某些字符"
        raise ValidationError(
            f"统一社会信用代码含有不允许的字符{where}（前 8 位须为数字，不使用 I、O、Z、S、V）。",
            "uscc",
        ) from None
    except InvalidChecksum:
        expected = stdnum_uscc.calc_check_digit(code[:17])
        raise ValidationError(
            f"统一社会信用代码校验位不正确：最后一位应为“{expected}”，请核对。", "uscc"
        ) from None
