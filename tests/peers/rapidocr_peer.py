"""Peer of aite's PP-OCR pipeline: rapidocr-onnxruntime 1.4.4 on the same model files.

usage: rapidocr_peer.py MODELS_DIR OUT_DIR
Writes OUT_DIR/synthetic.png and OUT_DIR/banner.png (text rendered with PIL: several
sizes, one line upside down, one tilted; a 480x40 banner that takes rapidocr's
letterbox path), then prints one JSON object: {image path: [{box, text, score}, ...]}
for those two and every further image path given on stdin (one per line).
"""
import json, sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from rapidocr_onnxruntime import RapidOCR

models, out = Path(sys.argv[1]), Path(sys.argv[2])


def font(size):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow without FreeType sizes
        return ImageFont.load_default()


def synthetic(path):
    img = Image.new("RGB", (640, 480), (250, 250, 245))
    d = ImageDraw.Draw(img)
    d.text((30, 20), "AITE 2026 TERMINAL", fill=(10, 10, 10), font=font(40))
    d.text((30, 90), "Serial No. 4711-0815", fill=(20, 20, 120), font=font(28))
    d.text((30, 140), "best before 12/2027", fill=(0, 0, 0), font=font(22))
    flipped = Image.new("RGB", (420, 60), (250, 250, 245))
    ImageDraw.Draw(flipped).text((10, 5), "UPSIDE DOWN", fill=(0, 0, 0), font=font(40))
    img.paste(flipped.rotate(180), (30, 200))
    tilted = Image.new("RGB", (460, 80), (250, 250, 245))
    ImageDraw.Draw(tilted).text((10, 15), "tilted label 42", fill=(90, 0, 0), font=font(36))
    tilted = tilted.rotate(8, expand=True, fillcolor=(250, 250, 245))
    img.paste(tilted, (40, 300))
    img.save(path)


def banner(path):
    img = Image.new("RGB", (480, 40), (255, 255, 255))
    ImageDraw.Draw(img).text((8, 6), "LOT 20261201 LINE 3", fill=(0, 0, 0), font=font(26))
    img.save(path)


synthetic(out / "synthetic.png")
banner(out / "banner.png")
engine = RapidOCR(
    det_model_path=str(models / "ch_PP-OCRv4_det_infer.onnx"),
    rec_model_path=str(models / "ch_PP-OCRv4_rec_infer.onnx"),
    cls_model_path=str(models / "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
    intra_op_num_threads=1,
    inter_op_num_threads=1,
)
images = [str(out / "synthetic.png"), str(out / "banner.png")] + [l.strip() for l in sys.stdin if l.strip()]
result = {}
for path in images:
    lines, _ = engine(path)
    result[path] = [{"box": box, "text": text, "score": float(score)} for box, text, score in (lines or [])]
print(json.dumps(result))
