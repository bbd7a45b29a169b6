"""What an upload is, told from its bytes (never its name), and images without their metadata.

Pure and synchronous (the service runs it in a thread): PNG, JPEG and WebP are decoded and
encoded again with Pillow, which drops EXIF (GPS, device), XMP, ICC comments and text chunks
and refuses anything that only looks like an image; PDFs are kept as they are.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from service.errors import BadUpload, UnsupportedMedia

PNG, JPEG, WEBP, PDF = "image/png", "image/jpeg", "image/webp", "application/pdf"
IMAGES = frozenset({PNG, JPEG, WEBP})
# Decoding costs memory by pixels, not bytes: a 10 MB PNG can hold a billion of them.
MAX_PIXELS = 40_000_000
_FORMATS = {PNG: "PNG", JPEG: "JPEG", WEBP: "WEBP"}
EXTENSIONS = {PNG: "png", JPEG: "jpg", WEBP: "webp", PDF: "pdf"}


@dataclass(frozen=True)
class Cleaned:
    content_type: str
    data: bytes
    width: int | None = None
    height: int | None = None


def sniff(data: bytes) -> str:
    """The type the bytes hold, by their magic numbers."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    raise UnsupportedMedia("only PNG, JPEG, WebP and PDF files can be sent")


def clean(data: bytes) -> Cleaned:
    """The upload as it will be stored: an image re-encoded without metadata, a PDF as it is."""
    kind = sniff(data)
    if kind == PDF:
        if b"%%EOF" not in data[-1024:]:
            raise BadUpload("the PDF is incomplete")
        return Cleaned(PDF, data)
    return _reencode(kind, data)


def _reencode(kind: str, data: bytes) -> Cleaned:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[_FORMATS[kind]]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise BadUpload(f"the image is over {MAX_PIXELS:,} pixels")
                image.load()
                # A phone photo stands upright by its EXIF orientation: applied before EXIF goes.
                upright = ImageOps.exif_transpose(image)
                # What is left of the metadata (exif, xmp, icc_profile, comments) goes too;
                # a palette image's transparent colour is the picture, not metadata.
                kept = ("transparency",)
                upright.info = {k: v for k, v in upright.info.items() if k in kept}
        return Cleaned(kind, _encode(kind, upright), upright.width, upright.height)
    except BadUpload:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise BadUpload("the image cannot be read") from exc
    except (
        Exception
    ) as exc:  # a decoder's own surprise (bad EXIF, odd chunks): bad input all the same
        raise BadUpload("the image cannot be read") from exc


def _encode(kind: str, image: Image.Image) -> bytes:
    out = io.BytesIO()
    if kind == JPEG:
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, optimize=True)
    elif kind == WEBP:
        image.save(out, "WEBP", quality=90)
    else:
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGBA")
        # No pnginfo: text chunks (tEXt, iTXt with XMP, eXIf) are not written again.
        image.save(out, "PNG", optimize=False)
    return out.getvalue()
