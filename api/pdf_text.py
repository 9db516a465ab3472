"""Unicode text in the PDF exports (the action plan, the case summary): a TrueType font, Arabic
shaped by HarfBuzz and laid out right to left by fpdf2's bidirectional algorithm.

fpdf2 lays out each paragraph in one base direction and does not honour the Unicode isolates
(U+2066…U+2069) nor embeddings inside it: a Latin name, a phone number or a date written inside
an Arabic sentence may come out reordered. The summary therefore never mixes a person's text
into a translated sentence: a label and its value are separate paragraphs, each laid out in the
direction of its own first strong letter (:func:`direction_of`).
"""
from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

RTL_CLASSES = ("R", "AL")


def direction_of(text: str, default: str = "ltr") -> str:
    """``"rtl"`` or ``"ltr"``: the direction of the first strong letter of ``text`` (as HTML's
    ``dir="auto"``); ``default`` when it has none (digits, punctuation)."""
    for character in text:
        kind = unicodedata.bidirectional(character)
        if kind in RTL_CLASSES:
            return "rtl"
        if kind == "L":
            return "ltr"
    return default


def set_direction(document: Any, direction: str) -> None:
    """Shape the next texts of ``document`` in ``direction`` (Arabic script when right to left)."""
    rtl = direction == "rtl"
    document.set_text_shaping(True, direction=direction, script="arab" if rtl else None,
                              language="ar" if rtl else None)


def bold_face(font: Path) -> Path:
    """The bold face next to a regular TrueType font (``DejaVuSans-Bold.ttf``), else the font itself."""
    sibling = font.with_name(f"{font.stem}-Bold{font.suffix}")
    return sibling if sibling.is_file() else font


def use_unicode_font(document: Any, family: str, font: Path, rtl: bool, *, bold: bool = False) -> None:
    """Register ``font`` as ``family`` (and its bold face as style ``B`` when ``bold``) and shape
    the document's text in its language's direction."""
    document.add_font(family, "", str(font))
    if bold:
        document.add_font(family, "B", str(bold_face(font)))
    set_direction(document, "rtl" if rtl else "ltr")
