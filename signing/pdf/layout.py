"""The form's fixed geometry, shared by the Typst template and the signatures: where the principal's
signature and the school's seal go on each year page (Nghị định 30/2020, Phụ lục I; Điều 13), and the
fonts and images the form uses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from ledger.base.errors import HocbaError

PACKAGE_DIR = Path(__file__).resolve().parent
FONTS_DIR = PACKAGE_DIR / "fonts"
TEMPLATE = PACKAGE_DIR / "templates" / "hocba.typ"
ASSETS_DIR = PACKAGE_DIR / "assets"
SIGNATURE_IMAGE = ASSETS_DIR / "signature-demo.png"
SEAL_IMAGE = ASSETS_DIR / "seal-demo.png"
# Liberation Serif Regular rescaled to 1000 units per em (pyHanko lays out stamp text in that unit),
# renamed as the SIL OFL requires of a modified font; the glyphs and metrics are unchanged.
STAMP_FONT = FONTS_DIR / "HocbaStampSerif-Regular.ttf"
STAMP_FONT_FAMILY = "Hocba Stamp Serif"
STAMP_TEXT_SIZE = 10

MM = 72 / 25.4  # PDF points per millimetre


@dataclass(frozen=True)
class Layout:
    """The fixed geometry of the form, in millimetres from the page's top-left corner. The Typst
    template draws with these numbers and the signature boxes are computed from them."""

    page_width: float = 210.0
    page_height: float = 297.0
    margin_left: float = 20.0
    margin_right: float = 15.0
    margin_top: float = 15.0
    margin_bottom: float = 10.0
    # the principal's block: place and date, title line, note, signature space, name
    block_left: float = 105.0
    block_width: float = 90.0
    place_date_top: float = 229.0
    title_top: float = 235.0
    note_top: float = 240.5
    signature_top: float = 245.0
    signature_bottom: float = 275.0
    name_top: float = 276.0
    signature_width: float = 72.0
    # the organisation seal: its diameter, and how much of the signature image it covers
    seal_diameter: float = 36.0
    seal_overlap: float = 1 / 3
    # room left of the seal for its signing-time line
    seal_text_width: float = 48.0

    def to_json(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


LAYOUT = Layout()
Rect = tuple[float, float, float, float]


class PdfError(HocbaError, RuntimeError):
    """The học bạ could not be rendered or signed."""


def _mm_rect(left: float, top: float, right: float, bottom: float) -> Rect:
    """A rectangle given in millimetres from the top-left, as PDF points (x1, y1, x2, y2)."""
    height = LAYOUT.page_height
    return (left * MM, (height - bottom) * MM, right * MM, (height - top) * MM)


def signature_box(doc: Mapping[str, Any], year_index: int) -> tuple[int, Rect]:
    """The principal's signature space on a year page: (page index, (x1, y1, x2, y2) in PDF points),
    between the title line and the principal's name."""
    years = doc.get("years") or []
    if not 0 <= year_index < len(years):
        raise PdfError(f"the học bạ has no school year {year_index}")
    centre = LAYOUT.block_left + LAYOUT.block_width / 2
    half = LAYOUT.signature_width / 2
    return 1 + year_index, _mm_rect(centre - half, LAYOUT.signature_top, centre + half, LAYOUT.signature_bottom)


def _image_extent(path: Path, box_width: float, box_height: float) -> tuple[float, float]:
    """Width and height (same unit as the box) of an image fitted into a box, keeping its aspect."""
    with Image.open(path) as img:
        ratio = img.width / img.height
    width = min(box_width, box_height * ratio)
    return width, width / ratio


def principal_layout() -> tuple[Rect, float, float]:
    """The principal's stamp box in points and the size of the signature image inside it: the image
    takes the box above one line of signing-time text."""
    _, box = signature_box({"years": [{}]}, 0)
    x1, y1, x2, y2 = box
    text_band = STAMP_TEXT_SIZE * 1.6
    width, height = _image_extent(SIGNATURE_IMAGE, x2 - x1, y2 - y1 - text_band)
    return box, width, height


def seal_box(doc: Mapping[str, Any], year_index: int) -> tuple[int, Rect]:
    """The organisation seal's widget on a year page: the seal at actual size over the left third of
    the principal's signature image, with room on its left for the signing-time line."""
    page, _ = signature_box(doc, year_index)
    (x1, y1, x2, _), width, height = principal_layout()
    text_band = STAMP_TEXT_SIZE * 1.6
    image_left = (x1 + x2) / 2 - width / 2
    image_middle = y1 + text_band + height / 2
    diameter = LAYOUT.seal_diameter * MM
    seal_right = image_left + width * LAYOUT.seal_overlap
    seal_left = seal_right - diameter
    return page, (
        seal_left - LAYOUT.seal_text_width * MM,
        image_middle - diameter / 2,
        seal_right,
        image_middle + diameter / 2,
    )
