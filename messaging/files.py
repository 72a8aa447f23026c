"""Attachment checks: the type comes from the bytes, never from the name or the client's
Content-Type, and images are re-encoded so EXIF (GPS position, device, time) never leaves.

Accepted: JPEG, PNG, PDF. HEIC is refused (decoding it needs a native libheif; iOS converts
photos to JPEG when uploading through a browser or a share sheet); see docs/messaging.md.
"""

from __future__ import annotations

import io
import warnings

import puremagic
from PIL import Image, ImageOps

from carecore.common.errors import ValidationFailed

ALLOWED_IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}
# Larger images are refused rather than decoded (a decompression bomb is a small file).
MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        matches = puremagic.magic_string(data[:8192])
    except puremagic.PureError:
        return None
    for match in matches:
        mime = (match.mime_type or "").lower()
        if mime in ("image/jpeg", "image/png"):
            return mime
    return None


def _reencode(data: bytes, mime: str) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ALLOWED_IMAGE_FORMATS or (
                    ALLOWED_IMAGE_FORMATS[image.format] != mime
                ):
                    raise ValidationFailed(fields={"file": ["Unsupported file type."]})
                image.load()
                # Apply the EXIF orientation to the pixels before the EXIF block is dropped.
                upright = ImageOps.exif_transpose(image)
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed(fields={"file": ["The image is too large."]}) from None
    except Exception:
        raise ValidationFailed(fields={"file": ["The image could not be read."]}) from None
    out = io.BytesIO()
    if mime == "image/jpeg":
        if upright.mode not in ("RGB", "L"):
            upright = upright.convert("RGB")
        # A fresh image carries no info dict: no EXIF, XMP, ICC comments or GPS.
        clean = Image.new(upright.mode, upright.size)
        clean.paste(upright)
        clean.save(out, format="JPEG", quality=90, optimize=True)
    else:
        clean = Image.new(upright.mode, upright.size)
        clean.paste(upright)
        palette = upright.getpalette() if upright.mode == "P" else None
        if palette:
            clean.putpalette(palette)
        clean.save(out, format="PNG", optimize=True)
    return out.getvalue()


def sniff_and_clean(data: bytes) -> tuple[str, bytes]:
    """(content type, bytes to store) or ValidationFailed for anything not allowed."""
    mime = _sniff(data)
    if mime is None:
        raise ValidationFailed(fields={"file": ["Only JPEG, PNG and PDF files are accepted."]})
    if mime == "application/pdf":
        if b"%%EOF" not in data[-2048:]:
            raise ValidationFailed(fields={"file": ["The PDF is incomplete or damaged."]})
        return mime, data
    return mime, _reencode(data, mime)
