"""Static assets (stylesheet, scripts) with content-hashed names, so they can be cached forever."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Asset:
    """One static file: its source name and its hashed output path."""

    name: str
    output_path: str
    data: bytes


def hashed_name(name: str, data: bytes) -> str:
    """`style.css` → `static/style.<8 hex of sha256>.css`."""
    stem, dot, suffix = name.rpartition(".")
    short = hashlib.sha256(data).hexdigest()[:8]
    return f"static/{stem}.{short}.{suffix}" if dot else f"static/{name}.{short}"


def collect_assets(static_dir: Path) -> dict[str, Asset]:
    """Every file under the templates' static folder, keyed by its source name."""
    assets: dict[str, Asset] = {}
    if not static_dir.is_dir():
        return assets
    for path in sorted(static_dir.rglob("*")):
        if path.is_file():
            name = path.relative_to(static_dir).as_posix()
            data = path.read_bytes()
            assets[name] = Asset(name, hashed_name(name, data), data)
    return assets
