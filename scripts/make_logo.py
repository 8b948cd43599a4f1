"""Draw saleor_gordon/static/logo.png (256 x 256 RGBA) with the standard library only.

A rounded square in Gordon blue with a white "G": a ring open on the upper right plus a bar.
Edges are anti-aliased by 4 x 4 supersampling. Run: ``uv run python scripts/make_logo.py``.
"""

from __future__ import annotations

import math
import struct
import zlib
from pathlib import Path

SIZE = 256
SAMPLES = 4
BACKGROUND = (0x12, 0x4E, 0x9C)
FOREGROUND = (0xFF, 0xFF, 0xFF)
TARGET = Path(__file__).resolve().parent.parent / "saleor_gordon" / "static" / "logo.png"


def in_rounded_square(x: float, y: float, radius: float = 48.0) -> bool:
    dx = max(radius - x, 0.0, x - (SIZE - radius))
    dy = max(radius - y, 0.0, y - (SIZE - radius))
    return dx * dx + dy * dy <= radius * radius


def in_g(x: float, y: float) -> bool:
    cx = cy = SIZE / 2
    r = math.hypot(x - cx, y - cy)
    angle = math.degrees(math.atan2(cy - y, x - cx)) % 360  # 0 = right, counter-clockwise
    in_ring = 56 <= r <= 84 and not 8 < angle < 60
    in_bar = cx <= x <= cx + 84 and cy - 4 <= y <= cy + 20 and r <= 84
    in_stem = cx + 56 <= x <= cx + 84 and cy - 4 <= y <= cy + 20
    return in_ring or in_bar or in_stem


def pixel(x: int, y: int) -> bytes:
    cover_bg = cover_fg = 0
    for i in range(SAMPLES):
        for j in range(SAMPLES):
            sx, sy = x + (i + 0.5) / SAMPLES, y + (j + 0.5) / SAMPLES
            if in_rounded_square(sx, sy):
                cover_bg += 1
                cover_fg += in_g(sx, sy)
    total = SAMPLES * SAMPLES
    if not cover_bg:
        return bytes(4)
    mix = cover_fg / cover_bg
    rgb = (round(b + (f - b) * mix) for b, f in zip(BACKGROUND, FOREGROUND, strict=True))
    return bytes([*rgb, round(255 * cover_bg / total)])


def chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def png() -> bytes:
    rows = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(SIZE)) for y in range(SIZE))
    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    TARGET.write_bytes(png())
