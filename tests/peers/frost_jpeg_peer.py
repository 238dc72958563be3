"""Reference values for aite's `frost` and `jpeg_compression`, pixel for pixel.

Usage: python frost_jpeg_peer.py JOBS.json

JOBS.json is a list of jobs, each one of
  {"mode": "frost", "table": T, "index": I, "row": R, "col": C, "severity": S, "in": PNG, "out": PNG}
  {"mode": "jpeg", "quality": Q, "in": PNG, "out": PNG}

frost: the reference formula with the random draws fixed, so the pixels can be
compared: photo frost{INDEX+1} of the imagecorruptions 1.1.2 wheel read with
cv2.imread (BGR); for TABLE cifar-c first cv2.resize(fx=0.2, fy=0.2)
(make_cifar_c.py); when the image does not fit inside the photo, rescaled as
imagecorruptions does (largest needed factor x 1.1, INTER_CUBIC); then the crop
at (ROW, COL) of the image's size, flipped to RGB, and
np.uint8(np.clip(c0 * x + c1 * frost, 0, 255)) with the table's (c0, c1).

jpeg: PIL Image.save(format='JPEG', quality=QUALITY) and Image.open, as
make_imagenet_c.py, make_cifar_c.py and imagecorruptions do.

Prints a JSON list, one entry per job, saying what was computed.
"""
import io, json, os, sys

import cv2
import numpy as np
from PIL import Image

import imagecorruptions

FROST_DIR = os.path.join(os.path.dirname(imagecorruptions.__file__), "frost")
FILES = ["frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg"]
TABLES = {
    "imagenet-c": [(1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75)],
    "cifar-c": [(1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)],
}


def frost(table, index, row, col, severity, x):
    c = TABLES[table][severity - 1]
    photo = cv2.imread(os.path.join(FROST_DIR, FILES[index]))
    if table == "cifar-c":
        photo = cv2.resize(photo, (0, 0), fx=0.2, fy=0.2)
    h, w = x.shape[:2]
    rescaled = False
    if photo.shape[0] < h or photo.shape[1] < w:
        # imagecorruptions 1.1.2 `frost`: the factor that makes both sides fit, x 1.1.
        f = max(h / photo.shape[0], w / photo.shape[1]) * 1.1
        size = (int(np.ceil(photo.shape[1] * f)), int(np.ceil(photo.shape[0] * f)))
        photo = cv2.resize(photo, dsize=size, interpolation=cv2.INTER_CUBIC)
        rescaled = True
    crop = photo[row:row + h, col:col + w][..., [2, 1, 0]]
    out = np.uint8(np.clip(c[0] * np.array(x) + c[1] * crop, 0, 255))
    return out, {"photo": FILES[index], "photo_shape": list(photo.shape), "rescaled": rescaled}


def run(job):
    if job["mode"] == "frost":
        x = np.array(Image.open(job["in"]).convert("RGB"))
        out, info = frost(job["table"], job["index"], job["row"], job["col"], job["severity"], x)
        Image.fromarray(out).save(job["out"])
        return info
    if job["mode"] == "jpeg":
        buf = io.BytesIO()
        Image.open(job["in"]).convert("RGB").save(buf, "JPEG", quality=job["quality"])
        buf.seek(0)
        Image.open(buf).convert("RGB").save(job["out"])
        return {"quality": job["quality"], "bytes": buf.getbuffer().nbytes}
    raise SystemExit("unknown mode %r (frost or jpeg)" % job["mode"])


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    print(json.dumps([run(job) for job in jobs]))


if __name__ == "__main__":
    main()
