"""Photos kept in the database (one backup file holds everything), downscaled with Pillow."""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlite_utils import Database

from survey import clock
from survey.access.actor import Actor
from survey.errors import ValidationError

MAX_SIDE = 1600
MAX_UPLOAD = 20_000_000
# A 50-megapixel phone photo (8160 x 6120) passes; a 17 KB PNG of 12000 x 12000 (690 MB to decode)
# does not. The size is read from the header, before any pixel is decoded.
MAX_PIXELS = 52_000_000


def downscale(data: bytes, filename: str) -> tuple[bytes, int, int]:
    """A JPEG no larger than MAX_SIDE on its long side, EXIF rotation applied."""
    if len(data) > MAX_UPLOAD:
        raise ValidationError(f"照片“{filename}”超过 20 MB。", "photo")

    def too_many(size: str) -> ValidationError:
        return ValidationError(
            f"照片“{filename}”像素过多（{size}），最多 {MAX_PIXELS // 1_000_000} 百万像素。"
            "请用相机的普通模式重拍，或缩小后再上传。",
            "photo",
        )

    try:
        with warnings.catch_warnings():  # Pillow only warns below 2 x its own limit: we refuse
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))  # reads the header, no pixel yet
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise too_many(f"{width}×{height}")
        image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # a JPEG decodes at 1/2, 1/4 or 1/8 size
        image = ImageOps.exif_transpose(image).convert("RGB")
    except Image.DecompressionBombError:
        raise too_many(f"超过 {2 * Image.MAX_IMAGE_PIXELS // 1_000_000} 百万像素") from None
    except (UnidentifiedImageError, OSError):
        raise ValidationError(f"“{filename}”不是可识别的图片。", "photo") from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue(), image.width, image.height


def add_photo(
    db: Database,
    actor: Actor,
    filename: str,
    data: bytes,
    *,
    problem_id: int | None = None,
    visit_id: int | None = None,
    feedback_id: int | None = None,
    report_id: int | None = None,
    case_id: int | None = None,
) -> int:
    """Store a downscaled photo; call inside the transaction that writes its owner."""
    content, width, height = downscale(data, filename)
    cursor = db.execute(
        "INSERT INTO attachments (visit_id, problem_id, feedback_id, report_id, case_id, filename,"
        " mime, width, height, sha256, content, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 'image/jpeg', ?, ?, ?, ?, ?, ?)",
        (
            visit_id,
            problem_id,
            feedback_id,
            report_id,
            case_id,
            filename[:200],
            width,
            height,
            hashlib.sha256(content).hexdigest(),
            content,
            actor.id,
            clock.now_iso(),
        ),
    )
    return cursor.lastrowid


def photos_of_problem(db: Database, problem_id: int) -> list[tuple[str, bytes]]:
    return [
        tuple(r)
        for r in db.conn.execute(
            "SELECT filename, content FROM attachments WHERE problem_id = ? ORDER BY id",
            (problem_id,),
        )
    ]
