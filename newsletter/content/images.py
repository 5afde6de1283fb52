"""An image's width and height, read from its file, so pages and emails reserve its space.

A small reader for the formats an issue may carry: PNG, GIF, JPEG (with its EXIF orientation, as
browsers apply it), WebP (lossy, lossless, extended) and SVG (`width`/`height` in pixels, else the
`viewBox`). Only the first bytes are read. SVG is XML someone else wrote: it is parsed whole with
expat (a browser shows nothing of a malformed one), and a file that declares entities is refused
rather than expanded.
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET  # noqa: N817 - the stdlib's usual short name
from html.parser import HTMLParser
from pathlib import Path

HEAD_BYTES = 64 * 1024  # enough for every header we read (a JPEG's EXIF comes first)
SVG_MAX_BYTES = 16 * 1024 * 1024
_LENGTH_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(px)?\s*$")
# JPEG start-of-frame markers (not DHT C4, JPG C8 nor DAC CC), which carry the frame's size.
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class ImageError(ValueError):
    """The file is not an image whose size this reader can tell."""


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) in CSS pixels of the image file; ImageError says why not."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
            if path.suffix.lower() == ".svg":  # XML: well-formed only as a whole
                head += fh.read(SVG_MAX_BYTES)
    except OSError as exc:
        raise ImageError(f"cannot read it ({exc.strerror})") from None
    return size_of(head, path.suffix.lower())


def size_of(head: bytes, suffix: str = "") -> tuple[int, int]:
    """(width, height) from an image's first bytes; ImageError when they do not tell."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        if len(head) < 24 or head[12:16] != b"IHDR":
            raise ImageError("a PNG without its IHDR header (truncated?)")
        return _positive(*struct.unpack(">II", head[16:24]))
    if head[:6] in (b"GIF87a", b"GIF89a"):
        if len(head) < 10:
            raise ImageError("a truncated GIF")
        return _positive(*struct.unpack("<HH", head[6:10]))
    if head.startswith(b"\xff\xd8"):
        return _jpeg(head)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(head)
    if suffix == ".svg" or b"<svg" in head[:2048]:
        return _svg(head)
    raise ImageError("not a PNG, JPEG, GIF, WebP or SVG file")


def _positive(width: int, height: int) -> tuple[int, int]:
    if width <= 0 or height <= 0:
        raise ImageError(f"its header gives a size of {width}×{height}")
    return width, height


def _jpeg(data: bytes) -> tuple[int, int]:
    pos, rotated = 2, False
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageError("a JPEG whose segments cannot be followed (damaged?)")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        segment = data[pos + 4:pos + 2 + length]
        if marker == 0xE1 and segment.startswith(b"Exif\0\0"):
            rotated = _exif_orientation(segment[6:]) in (5, 6, 7, 8)
        elif marker in _SOF:
            if len(segment) < 5:
                break
            height, width = struct.unpack(">HH", segment[1:5])
            return _positive(height, width) if rotated else _positive(width, height)
        pos += 2 + length
    raise ImageError("a JPEG without a frame header in its first 64 KB")


def _exif_orientation(tiff: bytes) -> int:
    """The EXIF Orientation tag (1 = as stored; 5 to 8 turn the image a quarter), or 1."""
    if tiff[:2] not in (b"II", b"MM") or len(tiff) < 8:
        return 1
    order = "<" if tiff[:2] == b"II" else ">"
    (offset,) = struct.unpack(order + "I", tiff[4:8])
    if offset + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[offset:offset + 2])
    for i in range(count):
        entry = tiff[offset + 2 + 12 * i:offset + 14 + 12 * i]
        if len(entry) < 12:
            break
        tag, _kind, _n = struct.unpack(order + "HHI", entry[:8])
        if tag == 0x0112:
            return int(struct.unpack(order + "H", entry[8:10])[0])
    return 1


def _webp(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30:
        width, height = struct.unpack("<HH", data[26:30])
        return _positive(width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L" and len(data) >= 25:
        (bits,) = struct.unpack("<I", data[21:25])
        return _positive(1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return _positive(width, height)
    raise ImageError("a WebP file without a VP8, VP8L or VP8X header")


def _svg(data: bytes) -> tuple[int, int]:
    if b"<!ENTITY" in data:
        raise ImageError("an SVG that declares XML entities (refused, not expanded)")
    parser = ET.XMLPullParser(events=("start",))
    try:
        parser.feed(data)
        root = next((element for _, element in parser.read_events()), None)
        parser.close()
    except ET.ParseError as exc:
        raise ImageError(f"an SVG that is not well-formed XML ({exc})") from None
    if root is None or root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
        raise ImageError("an .svg file whose root element is not <svg>")
    width, height = _length(root.get("width")), _length(root.get("height"))
    box = _view_box(root.get("viewBox"))
    if width and height:
        return _positive(round(width), round(height))
    if box:
        box_w, box_h = box
        if width:
            return _positive(round(width), round(width * box_h / box_w))
        if height:
            return _positive(round(height * box_w / box_h), round(height))
        return _positive(round(box_w), round(box_h))
    raise ImageError("an SVG with neither width and height in pixels nor a viewBox")


def _length(value: str | None) -> float | None:
    """A length in pixels (`120`, `120px`); None for none or a relative one (`100%`, `3em`)."""
    match = _LENGTH_RE.match(value or "")
    return float(match.group(1)) if match and float(match.group(1)) > 0 else None


def _view_box(value: str | None) -> tuple[float, float] | None:
    parts = (value or "").replace(",", " ").split()
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        return None
    if len(numbers) == 4 and numbers[2] > 0 and numbers[3] > 0:
        return numbers[2], numbers[3]
    return None


# -- the HTML side -------------------------------------------------------------------------------

_IMG_RE = re.compile(r"<img\b[^>]*>", re.IGNORECASE)


class _FirstImage(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" and self.found is None:
            self.found = {k: v or "" for k, v in attrs}


def image_attributes(html: str) -> list[dict[str, str]]:
    """The attributes of every `<img>` in rendered HTML, in order (entities decoded)."""
    found = []
    for tag in _IMG_RE.findall(html):
        parser = _FirstImage()
        parser.feed(tag)
        parser.close()
        if parser.found is not None:
            found.append(parser.found)
    return found


def with_dimensions(html: str, sizes: dict[str, tuple[int, int]]) -> str:
    """Add `width` and `height` to each `<img>` whose `src` is in `sizes` and has neither (the
    browser then reserves its space before it loads; CSS keeps it fluid)."""
    if not sizes or "<img" not in html:
        return html

    def add(match: re.Match[str]) -> str:
        tag = match.group(0)
        attributes = image_attributes(tag)
        if not attributes:
            return tag
        found = attributes[0]
        size = sizes.get(found.get("src", ""))
        if size is None or "width" in found or "height" in found:
            return tag
        end = -2 if tag.endswith("/>") else -1
        return f'{tag[:end].rstrip()} width="{size[0]}" height="{size[1]}"{tag[end:]}'

    return _IMG_RE.sub(add, html)
