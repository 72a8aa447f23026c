"""Attachment checks: the type comes from the bytes, never from the name or the client's
Content-Type; images are re-encoded so EXIF (GPS position, device, time) never leaves, and PDFs
are rewritten without metadata or active content (docs/security.md, "Request and upload limits").

Accepted: JPEG, PNG, PDF. HEIC is refused (decoding it needs a native libheif; iOS converts
photos to JPEG when uploading through a browser or a share sheet); see docs/messaging.md.
"""

from __future__ import annotations

import io

import pikepdf
import puremagic
from PIL import Image, ImageOps

from carecore.common.errors import ValidationFailed

ALLOWED_IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png"}


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


def _too_many_pixels(width: int, height: int, max_pixels: int) -> ValidationFailed:
    megapixels = max_pixels / 1_000_000
    return ValidationFailed(
        f"The image is too large: {width} x {height} pixels, at most {megapixels:g} megapixels "
        "are accepted.",
        fields={
            "file": [
                f"The image is too large ({width} x {height} pixels); at most {megapixels:g} "
                "megapixels are accepted. Send a smaller photo or a screenshot of it."
            ]
        },
    )


def _reencode(data: bytes, mime: str, *, max_pixels: int) -> bytes:
    """Decode once and encode a fresh image. Image.open reads only the header, so the pixel cap
    is checked before any pixel is decoded; at most two full-size copies exist at a time (the
    decoded image, turned upright in place, and the fresh one it is pasted into)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ALLOWED_IMAGE_FORMATS or (
                ALLOWED_IMAGE_FORMATS[image.format] != mime
            ):
                raise ValidationFailed(fields={"file": ["Unsupported file type."]})
            width, height = image.size
            if width * height > max_pixels:
                raise _too_many_pixels(width, height, max_pixels)
            image.load()
            # Apply the EXIF orientation to the pixels before the EXIF block is dropped.
            ImageOps.exif_transpose(image, in_place=True)
            mode = image.mode
            if mime == "image/jpeg" and mode not in ("RGB", "L"):
                mode = "RGB"  # paste converts (CMYK, P); JPEG stores RGB or grey only
            # A fresh image carries no info dict: no EXIF, XMP, ICC, comments or GPS.
            clean = Image.new(mode, image.size)
            clean.paste(image)
            palette = image.getpalette() if image.mode == "P" and mode == "P" else None
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own header check (beyond its global MAX_IMAGE_PIXELS); ours is lower.
        raise ValidationFailed(fields={"file": ["The image is too large."]}) from None
    except Exception:
        raise ValidationFailed(fields={"file": ["The image could not be read."]}) from None
    if palette:
        clean.putpalette(palette)
    out = io.BytesIO()
    if mime == "image/jpeg":
        clean.save(out, format="JPEG", quality=90, optimize=True)
    else:
        clean.save(out, format="PNG", optimize=True)
    return out.getvalue()


# --- PDFs: rewritten by qpdf (pikepdf) without metadata or anything a viewer would run -------

# Keys dropped wherever they appear: document and XMP metadata, JavaScript, automatic actions,
# embedded and associated files, XFA forms (which carry scripts), private application data.
_PDF_REMOVED_KEYS = frozenset(
    {
        "/AA",
        "/OpenAction",
        "/JS",
        "/JavaScript",
        "/EmbeddedFiles",
        "/EF",
        "/AF",
        "/Metadata",
        "/XFA",
        "/PieceInfo",
        "/Collection",
        "/RichMediaContent",
    }
)
# Annotations that play, embed or open something.
_PDF_ACTIVE_ANNOTATIONS = frozenset(
    {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"}
)
# Actions a click may still trigger: moving within the document and ordinary web links.
_PDF_SAFE_ACTIONS = frozenset({"/GoTo", "/Named"})
_PDF_SAFE_URI_SCHEMES = ("http://", "https://", "mailto:")


def _is_safe_action(action: pikepdf.Object) -> bool:
    if not isinstance(action, pikepdf.Dictionary):
        return False
    kind = action.get("/S")
    if kind in _PDF_SAFE_ACTIONS:
        return True
    if kind == "/URI":
        return str(action.get("/URI", "")).strip().lower().startswith(_PDF_SAFE_URI_SCHEMES)
    return False


def _clean_pdf_dictionary(obj: pikepdf.Object) -> None:
    for key in list(obj.keys()):
        if key in _PDF_REMOVED_KEYS:
            del obj[key]
    action = obj.get("/A")
    if action is not None and not _is_safe_action(action):
        del obj["/A"]
    chained = obj.get("/Next")
    if chained is not None:
        if isinstance(chained, pikepdf.Array):
            for index in reversed(range(len(chained))):
                if not _is_safe_action(chained[index]):
                    del chained[index]
        elif not _is_safe_action(chained):
            del obj["/Next"]
    annotations = obj.get("/Annots")
    if isinstance(annotations, pikepdf.Array):
        for index in reversed(range(len(annotations))):
            annotation = annotations[index]
            if (
                isinstance(annotation, pikepdf.Dictionary)
                and annotation.get("/Subtype") in _PDF_ACTIVE_ANNOTATIONS
            ):
                del annotations[index]


def _sanitize_pdf(pdf: pikepdf.Pdf) -> None:
    """Walk every object reachable from the trailer (what qpdf writes) and clean each
    dictionary and stream dictionary. An explicit stack: a hostile file may nest deeply."""
    if "/Info" in pdf.trailer:
        del pdf.trailer["/Info"]
    seen: set[tuple[int, int]] = set()
    stack: list[pikepdf.Object] = [pdf.trailer]
    while stack:
        obj = stack.pop()
        if obj.is_indirect:
            if obj.objgen in seen:
                continue
            seen.add(obj.objgen)
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            _clean_pdf_dictionary(obj)
            children = [value for _key, value in obj.items()]
        elif isinstance(obj, pikepdf.Array):
            children = list(obj)
        else:
            continue
        stack.extend(
            child
            for child in children
            if isinstance(child, pikepdf.Dictionary | pikepdf.Stream | pikepdf.Array)
        )


def _clean_pdf(data: bytes) -> bytes:
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            _sanitize_pdf(pdf)
            out = io.BytesIO()
            # Streams are copied as they are (never decoded), so a compressed bomb in a page is
            # not inflated here; the original encryption, if any (with an empty password), goes.
            pdf.save(
                out,
                stream_decode_level=pikepdf.StreamDecodeLevel.none,
                fix_metadata_version=False,
                encryption=False,
            )
    except pikepdf.PasswordError:
        raise ValidationFailed(
            fields={"file": ["Password-protected PDFs cannot be accepted; remove the password."]}
        ) from None
    except Exception:
        raise ValidationFailed(fields={"file": ["The PDF could not be read."]}) from None
    return out.getvalue()


def sniff_and_clean(data: bytes, *, max_image_pixels: int) -> tuple[str, bytes]:
    """(content type, bytes to store) or ValidationFailed for anything not allowed."""
    mime = _sniff(data)
    if mime is None:
        raise ValidationFailed(fields={"file": ["Only JPEG, PNG and PDF files are accepted."]})
    if mime == "application/pdf":
        if b"%%EOF" not in data[-2048:]:
            raise ValidationFailed(fields={"file": ["The PDF is incomplete or damaged."]})
        return mime, _clean_pdf(data)
    return mime, _reencode(data, mime, max_pixels=max_image_pixels)
