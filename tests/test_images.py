"""Image sizes read from the file (PNG, GIF, JPEG with EXIF orientation, WebP, SVG), on pages and in
emails; an unreadable image is a problem naming its file."""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import pytest

from newsletter.archive import build_checks
from newsletter.archive.build import build_site
from newsletter.content.check import run_checks
from newsletter.content.images import ImageError, image_size, size_of, with_dimensions
from newsletter.content.loader import load_issues
from newsletter.errors import BuildError
from newsletter.settings import Settings

from .test_metadata import _png

TODAY = dt.date(2026, 11, 28)


def _jpeg(width: int, height: int, orientation: int | None = None) -> bytes:
    data = b"\xff\xd8"
    if orientation is not None:
        tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1) + \
            struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + b"\0\0\0\0"
        app1 = b"Exif\0\0" + tiff
        data += b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    data += b"\xff\xdb" + struct.pack(">H", 4) + b"\0\0"  # a (tiny) quantisation table
    sof = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x11\x00" * 3
    return data + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof + b"\xff\xd9"


def _webp(chunk: bytes, payload: bytes) -> bytes:
    body = b"WEBP" + chunk + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


VP8X = _webp(b"VP8X", b"\0\0\0\0" + (799).to_bytes(3, "little") + (599).to_bytes(3, "little"))
VP8L = _webp(b"VP8L", b"\x2f" + struct.pack("<I", (300 - 1) | ((200 - 1) << 14)))
VP8 = _webp(b"VP8 ", b"\0\0\0\x9d\x01\x2a" + struct.pack("<HH", 640, 480) + b"\0" * 4)


@pytest.mark.parametrize(("data", "suffix", "size"), [
    (_png(40, 30), ".png", (40, 30)),
    (b"GIF89a" + struct.pack("<HH", 17, 9) + b"\0" * 10, ".gif", (17, 9)),
    (_jpeg(1024, 768), ".jpg", (1024, 768)),
    (_jpeg(1024, 768, orientation=6), ".jpg", (768, 1024)),  # shown turned a quarter
    (_jpeg(1024, 768, orientation=1), ".jpg", (1024, 768)),
    (VP8X, ".webp", (800, 600)),
    (VP8L, ".webp", (300, 200)),
    (VP8, ".webp", (640, 480)),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="60"/>', ".svg", (120, 60)),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="120px" height="60px"/>', ".svg",
     (120, 60)),
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300"/>',
     ".svg", (400, 300)),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0,0,400,300"/>', ".svg",
     (400, 300)),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" viewBox="0 0 400 300"/>', ".svg",
     (200, 150)),
])
def test_sizes_are_read_from_the_file(data: bytes, suffix: str, size: tuple[int, int],
                                      tmp_path: Path) -> None:
    path = tmp_path / f"image{suffix}"
    path.write_bytes(data)
    assert image_size(path) == size


@pytest.mark.parametrize(("data", "suffix", "reason"), [
    (b"\x89PNG\r\n\x1a\n\0\0", ".png", "IHDR"),
    (b"\xff\xd8\xff\xdb\x00\x04\0\0", ".jpg", "frame header"),
    (b"RIFF\0\0\0\0WEBPXXXX", ".webp", "VP8"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'><g></svg>", ".svg", "not well-formed"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="50%"/>', ".svg", "viewBox"),
    (b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg" '
     b'width="1" height="1">&a;</svg>', ".svg", "entities"),
    (b"<html></html>", ".svg", "root element"),
    (b"plain text", ".txt", "not a PNG"),
])
def test_unreadable_images_say_why(data: bytes, suffix: str, reason: str) -> None:
    with pytest.raises(ImageError, match=reason):
        size_of(data, suffix)


def test_dimensions_are_added_once_and_never_replace_the_editors() -> None:
    sizes = {"/media/x/images/a.png": (40, 30)}
    html = ('<p><img alt="A" src="/media/x/images/a.png"> <img alt="B" src="/media/x/images/a.png"'
            ' width="10"> <img alt="C" src="/other.png"></p>')
    assert with_dimensions(html, sizes) == (
        '<p><img alt="A" src="/media/x/images/a.png" width="40" height="30"> '
        '<img alt="B" src="/media/x/images/a.png" width="10"> <img alt="C" src="/other.png"></p>')


def test_pages_and_emails_carry_the_sizes(site_settings: Settings) -> None:
    site = build_site(site_settings, today=TODAY).output
    for lang in ("es", "en"):
        page = (site / f"{lang}/2011-03/index.html").read_text(encoding="utf-8")
        assert 'src="/media/2011-03/images/red.svg" width="' in page
    from newsletter.mail.editions import render_email_edition

    corpus = load_issues(site_settings.path("issues"), ("es", "en"), site_settings.root)
    email = render_email_edition(site_settings, corpus.find("2011-03"), "en")
    size = image_size(site_settings.path("issues/2011-03/images/red.svg"))
    assert f'src="https://annaobserva.iin.oea.org/media/2011-03/images/red.svg" ' \
           f'width="{size[0]}" height="{size[1]}"' in email.html


def test_an_unreadable_image_is_a_problem_naming_the_file(
    site_settings: Settings, site_project: Path
) -> None:
    site = build_site(site_settings, today=TODAY, checks=build_checks).output
    (site_project / "issues/2011-03/images/red.svg").write_text("<svg><unclosed>",
                                                                encoding="utf-8")
    corpus = load_issues(site_settings.path("issues"), ("es", "en"), site_settings.root)
    problems = [str(p) for p in run_checks(site_settings, corpus) if p.is_error]
    assert any(p.startswith("issues/2011-03/es.md:14: image issues/2011-03/images/red.svg: "
                            "its width and height cannot be read: an SVG that is not well-formed")
               for p in problems), problems
    with pytest.raises(BuildError, match=r"images/red\.svg: its width and height cannot be read"):
        build_site(site_settings, today=TODAY, checks=build_checks)
    assert (site / "es/2011-03/index.html").is_file()  # the previous site stays
