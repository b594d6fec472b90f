"""Reading a picture's text back from its pixels with Tesseract, to confirm what the layers claim.

The layer file says which text each layer holds and where; OCR of that part of the PNG says whether a
reader can see it there (wrong colour on its ground, clipped, drawn under something, misplaced). Words are compared as
lower-case runs of letters and digits, so punctuation and line breaks do not count.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

from experts.image.layers import Box

MIN_WORD_RECALL = 0.8  # of a text layer's words, the share OCR must find; Tesseract misreads the odd word


def unavailable() -> str | None:
    """Why OCR cannot run here, or None."""
    if shutil.which("tesseract") is None:
        return "the tesseract program is not installed (scripts/setup.sh installs it; or apt-get install tesseract-ocr)"
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return "pytesseract is not installed: pip install 'agentos[image]'"
    return None


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


PAD_PX = 6  # around a text box, so glyphs that touch its edge are read whole
UPSCALE = 2  # Tesseract reads small type far better at twice the size


def read_box(png: Path, box: Box) -> list[str]:
    """The words Tesseract reads inside `box` of `png` (greyscale, enlarged, read as one block of text):
    reading each layer where the layers say it is checks the place as well as the words."""
    import pytesseract
    from PIL import Image

    with Image.open(png) as im:
        crop = im.convert("L").crop((max(0, int(box.x - PAD_PX)), max(0, int(box.y - PAD_PX)),
                                     min(im.width, int(box.x + box.width + PAD_PX)),
                                     min(im.height, int(box.y + box.height + PAD_PX))))
    crop = crop.resize((crop.width * UPSCALE, crop.height * UPSCALE), Image.Resampling.LANCZOS)
    return words(pytesseract.image_to_string(crop, config="--psm 6"))


def _split(token: str, vocabulary: set[str]) -> list[str]:
    """`token` cut into words of `vocabulary` (longest first), or itself when it cannot be: Tesseract reads a
    narrow space as none ("9 h" as "9h"), and that is still the text."""
    parts, i = [], 0
    while i < len(token):
        for j in range(len(token), i, -1):
            if token[i:j] in vocabulary:
                parts.append(token[i:j])
                i = j
                break
        else:
            return [token]
    return parts


def unread(expected: str, seen: list[str]) -> list[str]:
    """The words of `expected` that are not among `seen` (each occurrence counts once; words read run
    together count as read)."""
    vocabulary = set(words(expected))
    left = Counter(w for token in seen for w in ([token] if token in vocabulary else _split(token, vocabulary)))
    missing = []
    for word in words(expected):
        if left[word] > 0:
            left[word] -= 1
        else:
            missing.append(word)
    return missing
