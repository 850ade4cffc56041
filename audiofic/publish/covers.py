"""Covers: the user's image, or one drawn from the title, author and fandom.

Podcast apps want a square 1400-3000 px JPEG or PNG; a given image is fitted into that range.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
import warnings
from pathlib import Path

from ..errors import AudioficError
from .tag import Cover

SIZE = 1600
MAX_PIXELS = 40_000_000  # a 6000 x 6000 photo fits; a decompression bomb does not
MIN_SIZE, MAX_SIZE = 1400, 3000
PALETTES = [((32, 44, 71), (232, 196, 120)), ((58, 31, 52), (240, 200, 200)), ((24, 62, 58), (220, 235, 200)),
            ((70, 40, 20), (245, 225, 180)), ((30, 30, 30), (210, 210, 230))]


def _image():
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError:  # pragma: no cover - Pillow is a dependency
        raise AudioficError("Pillow is not installed (pip install pillow)") from None
    return Image, ImageDraw, ImageFont


def load_cover(path: Path) -> Cover:
    Image, _, _ = _image()
    try:
        with warnings.catch_warnings():  # our own pixel budget below says it in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            if img.width * img.height > MAX_PIXELS:  # read from the header, before decoding a pixel
                raise AudioficError(f"--cover {path}: {img.width} x {img.height} pixels is too large "
                                    f"(the limit is {MAX_PIXELS // 1_000_000} megapixels)")
            img.load()
            kind = img.format
            image = img.convert("RGB")
    except FileNotFoundError:
        raise AudioficError(f"{path}: no such cover image") from None
    except (OSError, ValueError, Image.DecompressionBombError):
        raise AudioficError(f"--cover {path}: not a readable JPEG or PNG image") from None
    if kind not in ("JPEG", "PNG"):
        raise AudioficError(f"{path}: the cover must be a JPEG or a PNG, not {kind}")
    side = max(MIN_SIZE, min(MAX_SIZE, max(image.size)))
    if image.size != (side, side):
        canvas = Image.new("RGB", (side, side), (0, 0, 0))
        fitted = image.copy()
        fitted.thumbnail((side, side)) if max(image.size) > side else None
        if max(fitted.size) < side:
            scale = side / max(fitted.size)
            fitted = fitted.resize((round(fitted.width * scale), round(fitted.height * scale)))
        canvas.paste(fitted, ((side - fitted.width) // 2, (side - fitted.height) // 2))
        image = canvas
    return _encode(image)


def generate_cover(title: str, author: str, fandom: str | None) -> Cover:
    Image, ImageDraw, ImageFont = _image()
    palette = PALETTES[int(hashlib.sha256(title.encode()).hexdigest(), 16) % len(PALETTES)]
    image = Image.new("RGB", (SIZE, SIZE), palette[0])
    draw = ImageDraw.Draw(image)
    margin = 120
    draw.rectangle([margin // 2, margin // 2, SIZE - margin // 2, SIZE - margin // 2], outline=palette[1], width=8)
    y = 300
    for text, size, wrap in ((title, 130, 18), (author, 80, 28), (fandom or "", 60, 36)):
        if not text:
            continue
        font = _font(ImageFont, size)
        for line in textwrap.wrap(text, wrap)[:5]:
            width = draw.textlength(line, font=font)
            draw.text(((SIZE - width) / 2, y), line, font=font, fill=palette[1])
            y += int(size * 1.25)
        y += 90
    return _encode(image)


def _font(ImageFont, size: int):
    for name in ("DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "LiberationSans-Bold.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _encode(image) -> Cover:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90)
    return Cover(buffer.getvalue(), "image/jpeg", image.width, image.height)


def cover_id(cover: Cover) -> str:
    return hashlib.sha256(cover.data).hexdigest()[:16]
