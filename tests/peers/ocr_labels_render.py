"""Renders labelled OCR test images with PIL and writes their labels (issue 16).

usage: ocr_labels_render.py OUT_DIR
Writes OUT_DIR/page{0..3}.png (black or coloured text on light backgrounds, two to three
lines each, several font sizes) and OUT_DIR/Label.txt in PaddleOCR's format: per image the
rendered strings with their polygons, PIL's own text bounding box (ImageDraw.textbbox)
grown by a quarter of the line height on every side (DB's boxes include a margin around
the glyphs), so the labels come from the rendering, not from any OCR.
"""
import json, sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

out = Path(sys.argv[1])


def font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


PAGES = [
    [("BATCH 7731 OK", 40, (10, 10, 10)), ("best before 03/2028", 28, (0, 0, 90)), ("NET 250 g", 34, (120, 0, 0))],
    [("LINE 4 STATION 12", 36, (0, 0, 0)), ("operator: K. Weber", 26, (30, 30, 30))],
    [("LOT A-0042", 44, (0, 60, 0)), ("exp 2027-11-30", 30, (0, 0, 0)), ("MADE IN EU", 30, (80, 0, 80))],
    [("Serial 5521-9987", 34, (0, 0, 0)), ("TEMP 21.5 C", 40, (90, 0, 0))],
]
labels = []
for k, lines in enumerate(PAGES):
    img = Image.new("RGB", (640, 360), (248, 247, 240))
    d = ImageDraw.Draw(img)
    y = 30
    entries = []
    for text, size, colour in lines:
        f = font(size)
        d.text((40, y), text, fill=colour, font=f)
        x0, y0, x1, y1 = d.textbbox((40, y), text, font=f)
        m = (y1 - y0) / 4
        pts = [[x0 - m, y0 - m], [x1 + m, y0 - m], [x1 + m, y1 + m], [x0 - m, y1 + m]]
        entries.append({"transcription": text, "points": [[round(a, 1), round(b, 1)] for a, b in pts]})
        y += int(size * 2.2)
    name = f"page{k}.png"
    img.save(out / name)
    labels.append(f"{name}\t{json.dumps(entries)}")
(out / "Label.txt").write_text("\n".join(labels) + "\n")
