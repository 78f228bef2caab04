"""Draws the PDF form's development assets: the demo principal's signature and the demo school's seal
(transparent PNGs in signing/pdf/assets), and the stamp font (Liberation Serif reduced to the characters
of a signing time, at 1000 units per em, in signing/pdf/fonts). Run from the repository's root when
they need to change:

    .venv/bin/python ops/pdf_assets.py
"""

from __future__ import annotations

import itertools
import math
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from signing.pdf.layout import ASSETS_DIR, FONTS_DIR, LAYOUT, STAMP_FONT, STAMP_FONT_FAMILY

# Demo images and the stamp font


def _supersample(size: tuple[int, int], scale: int) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    img = Image.new("RGBA", (size[0] * scale, size[1] * scale), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img)


def _signature_image() -> Image.Image:
    """A blue, cursive-looking signature stroke on a transparent background."""
    width, height, scale = 720, 280, 3
    img, draw = _supersample((width, height), scale)
    blue = (18, 42, 160, 255)
    points: list[tuple[float, float, float]] = []
    steps = 900
    for i in range(steps + 1):
        t = i / steps
        angle = t * 2 * math.pi * 4.5
        # a run of slanted loops, rising at the start and falling into the flourish
        x = 60 + 520 * t - 38 * math.sin(angle) + 25 * math.sin(angle / 3)
        y = 140 - 60 * math.cos(angle) * (0.6 + 0.5 * math.sin(math.pi * t)) + 40 * (t - 0.5) ** 2 * 4
        pressure = 3.2 + 2.4 * math.sin(angle + 0.6) ** 2 * (1 - 0.6 * t)
        points.append((x, y, pressure))
    for i in range(120):
        t = i / 119
        x = 120 + 560 * t
        y = 225 - 35 * math.sin(math.pi * t) + 10 * t
        points.append((x, y, 2.6 + 2.0 * math.sin(math.pi * t)))
    for (x0, y0, p0), (x1, y1, _p1) in itertools.pairwise(points):
        if math.hypot(x1 - x0, y1 - y0) > 40:
            continue
        draw.line([(x0 * scale, y0 * scale), (x1 * scale, y1 * scale)], fill=blue, width=max(1, int(p0 * scale)))
        r = p0 * scale / 2
        draw.ellipse([x1 * scale - r, y1 * scale - r, x1 * scale + r, y1 * scale + r], fill=blue)
    img = img.resize((width, height), Image.Resampling.LANCZOS)
    left, top, right, bottom = img.getbbox() or (0, 0, width, height)
    return img.crop((max(0, left - 6), max(0, top - 6), min(width, right + 6), min(height, bottom + 6)))


def _star(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = outer if i % 2 == 0 else inner
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


def _seal_image(top_text: str, bottom_text: str, centre_text: str, dpi: int = 300) -> Image.Image:
    """A red round seal, 36 mm across at `dpi`: two rings with the school's name around the top, its
    district around the bottom, and a star in the middle."""
    size = round(LAYOUT.seal_diameter / 25.4 * dpi)
    scale = 2
    img, draw = _supersample((size, size), scale)
    red = (205, 22, 30, 255)
    full = size * scale
    c = full / 2
    outer = c - 6 * scale
    draw.ellipse([c - outer, c - outer, c + outer, c + outer], outline=red, width=11 * scale)
    inner = outer * 0.66
    draw.ellipse([c - inner, c - inner, c + inner, c + inner], outline=red, width=5 * scale)
    draw.polygon(_star(c, c - inner * 0.18, inner * 0.42, inner * 0.17), fill=red)
    bold = ImageFont.truetype(str(FONTS_DIR / "LiberationSerif-Bold.ttf"), int(full * 0.072))
    small = ImageFont.truetype(str(FONTS_DIR / "LiberationSerif-Bold.ttf"), int(full * 0.06))
    draw.text((c, c + inner * 0.5), centre_text, font=small, fill=red, anchor="mm")
    text_radius = (outer + inner) / 2

    def arc(text: str, middle: float, span: float, font: ImageFont.FreeTypeFont, top: bool) -> None:
        text = unicodedata.normalize("NFC", text)
        widths = [font.getlength(ch) for ch in text]
        total = sum(widths)
        angle_per_px = span / total
        angle = middle - span / 2 if top else middle + span / 2
        for ch, w in zip(text, widths, strict=True):
            step = w * angle_per_px
            mid = angle + step / 2 if top else angle - step / 2
            x = c + text_radius * math.cos(mid)
            y = c + text_radius * math.sin(mid)
            glyph = Image.new("RGBA", (int(font.size * 2), int(font.size * 2)), (0, 0, 0, 0))
            ImageDraw.Draw(glyph).text((font.size, font.size), ch, font=font, fill=red, anchor="mm")
            rotation = -math.degrees(mid) - 90 if top else -math.degrees(mid) + 90
            glyph = glyph.rotate(rotation, resample=Image.Resampling.BICUBIC)
            img.alpha_composite(glyph, (int(x - glyph.width / 2), int(y - glyph.height / 2)))
            angle = angle + step if top else angle - step
        return None

    arc(top_text, -math.pi / 2, math.radians(230), bold, top=True)
    arc(bottom_text, math.pi / 2, math.radians(95), small, top=False)
    img = img.filter(ImageFilter.GaussianBlur(0.6))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def demo_images(directory: Path = ASSETS_DIR) -> tuple[Path, Path]:
    """Draw the demo principal's signature and the demo school's seal as transparent PNGs."""
    directory.mkdir(parents=True, exist_ok=True)
    signature = directory / "signature-demo.png"
    seal = directory / "seal-demo.png"
    _signature_image().save(signature, optimize=True)
    _seal_image("TRƯỜNG THCS KHÁNH PHÚ", "YÊN KHÁNH", "MẪU").save(seal, dpi=(300, 300), optimize=True)
    return signature, seal


STAMP_CHARACTERS = "0123456789/-:+TZ. "  # a time as a school writes it (12/08/2026 09:00), or in ISO 8601


def stamp_font(directory: Path = FONTS_DIR) -> Path:
    """Write the stamp font: Liberation Serif Regular at 1000 units per em, under its own name,
    reduced to the characters of the signing time it writes (embedding a subset of a small font into each
    signature's appearance is then quick)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from fontTools.ttLib.scaleUpem import scale_upem

    font = TTFont(str(directory / "LiberationSerif-Regular.ttf"), recalcTimestamp=False)
    options = subset.Options()
    options.layout_features = []
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    reducer = subset.Subsetter(options)
    reducer.populate(text=STAMP_CHARACTERS)
    reducer.subset(font)
    scale_upem(font, 1000)
    if "FFTM" in font:  # a font editor's timestamp, which the PDF subsetter cannot keep
        del font["FFTM"]
    names = font["name"]
    postscript = STAMP_FONT_FAMILY.replace(" ", "") + "-Regular"
    replacements = {
        1: STAMP_FONT_FAMILY,
        3: f"{postscript};rescaled to 1000 units per em",
        4: f"{STAMP_FONT_FAMILY} Regular",
        6: postscript,
        16: STAMP_FONT_FAMILY,
        21: STAMP_FONT_FAMILY,
    }
    for record in list(names.names):
        if record.nameID in replacements:
            record.string = replacements[record.nameID]
    target = directory / STAMP_FONT.name
    font.save(str(target))
    return target


if __name__ == "__main__":
    print(*demo_images(), stamp_font(), sep="\n")
