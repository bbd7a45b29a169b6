"""The attachments' pure rules: the type from the bytes, images without metadata, the names
shown, and the links' signatures (S-privacy)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image, PngImagePlugin

from service.attachments.links import Links
from service.attachments.media import JPEG, PDF, PNG, WEBP, clean, sniff
from service.attachments.service import file_name
from service.errors import BadLink, BadUpload, LinkExpired, UnsupportedMedia

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def encoded(kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (1, 2, 3)).save(out, kind, **options)
    return out.getvalue()


def test_the_type_comes_from_the_bytes() -> None:
    assert sniff(encoded("PNG")) == PNG
    assert sniff(encoded("JPEG")) == JPEG
    assert sniff(encoded("WEBP")) == WEBP
    assert sniff(b"%PDF-1.7\n") == PDF
    for data in (b"GIF89a....", b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"RIFF\0\0\0\0WAVE"):
        with pytest.raises(UnsupportedMedia):
            sniff(data)


def test_png_text_and_xmp_chunks_are_dropped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "李雷 13800000000")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS 39.9,116.4</x:xmpmeta>")
    out = io.BytesIO()
    Image.new("RGBA", (8, 8)).save(out, "PNG", pnginfo=info)
    cleaned = clean(out.getvalue())
    assert (cleaned.content_type, cleaned.width, cleaned.height) == (PNG, 8, 8)
    assert b"13800000000" not in cleaned.data and b"GPS" not in cleaned.data
    assert Image.open(io.BytesIO(cleaned.data)).info == {}


def test_webp_and_jpeg_exif_are_dropped() -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    for kind, content_type in (("WEBP", WEBP), ("JPEG", JPEG)):
        cleaned = clean(encoded(kind, exif=exif))
        assert cleaned.content_type == content_type
        assert b"PhoneMaker" not in cleaned.data
        assert len(Image.open(io.BytesIO(cleaned.data)).getexif()) == 0


def test_what_only_looks_like_an_image_is_refused() -> None:
    for data in (
        b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
        encoded("PNG")[:60],  # cut short
        b"\xff\xd8\xff\xdb" + b"garbage" * 10,
        b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 8,
    ):
        with pytest.raises(BadUpload):
            clean(data)


def test_an_image_of_too_many_pixels_is_refused_before_it_is_decoded() -> None:
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, "PNG")  # 48 MP in a few KB
    with pytest.raises(BadUpload, match="pixels"):
        clean(out.getvalue())


def test_a_pdf_is_kept_as_sent_but_must_be_whole() -> None:
    whole = b"%PDF-1.4\n...\n%%EOF\n"
    assert clean(whole).data == whole
    with pytest.raises(BadUpload):
        clean(b"%PDF-1.4\n...")


@pytest.mark.parametrize(
    ("given", "content_type", "shown"),
    [
        ("截图.jpg", PNG, "截图.png"),
        ("C:\\Users\\me\\Desktop\\receipt.PDF", PDF, "receipt.pdf"),
        ("../../etc/passwd", PNG, "passwd.png"),
        ("a\x00b<script>.png", PNG, "a_b_script.png"),
        ("", JPEG, "file.jpg"),
        (None, WEBP, "file.webp"),
        ("...", PNG, "file.png"),
    ],
)
def test_the_name_shown_is_safe_and_says_what_the_bytes_are(
    given: str | None, content_type: str, shown: str
) -> None:
    assert file_name(given, content_type) == shown


def test_a_link_works_until_it_expires_and_only_for_its_file() -> None:
    links = Links("secret", ttl_s=600)
    url = links.url(7, NOW)
    query = dict(part.split("=") for part in url.split("?")[1].split("&"))
    expires, sig = int(query["exp"]), query["sig"]
    assert url.startswith("/media/files/7?")
    assert expires >= NOW.timestamp() + 600 and expires % 60 == 0
    links.check(7, expires, sig, NOW + timedelta(seconds=600))
    with pytest.raises(LinkExpired):
        links.check(7, expires, sig, NOW + timedelta(seconds=700))
    for attachment_id, exp, forged in (
        (8, expires, sig),
        (7, expires + 60, sig),
        (7, expires, "0" * 64),
    ):
        with pytest.raises(BadLink):
            links.check(attachment_id, exp, forged, NOW)
    with pytest.raises(BadLink):
        links.check(7, expires, "é" * 64, NOW)
    # Another deployment's key signs differently.
    with pytest.raises(BadLink):
        Links("other", ttl_s=600).check(7, expires, sig, NOW)


def test_a_palette_images_transparency_is_kept() -> None:
    image = Image.new("P", (4, 4), 0)
    image.putpalette([255, 0, 0, 0, 255, 0])
    out = io.BytesIO()
    image.save(out, "PNG", transparency=0)
    cleaned = Image.open(io.BytesIO(clean(out.getvalue()).data))
    assert cleaned.info == {"transparency": 0}
