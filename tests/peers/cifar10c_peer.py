"""CIFAR-10-C reference accuracies for `frost` and `jpeg_compression`.

Usage: python cifar10c_peer.py MODEL.onnx LABELS.csv REPEATS

Runs the two functions exactly as hendrycks/robustness `make_cifar_c.py` writes
them (frost: one of the first five photographs of the imagecorruptions 1.1.2
wheel, `randint(5)`, cv2.imread, cv2.resize(fx=0.2, fy=0.2), random 32x32 crop,
BGR -> RGB, clip(c0 * x + c1 * frost); jpeg_compression: PIL save at quality
[80, 65, 58, 50, 40] and reopen), each result stored as np.uint8 as the script
does, then classifies with onnxruntime (CIFAR-10 ResNet-8: raw RGB 0..255 as
float, NCHW). frost is random: each image is corrupted REPEATS times
(np.random.seed(0) once), so the printed accuracy is close to its expectation
over the photo and crop draws. Prints one JSON document.
"""
import csv, io, json, os, sys

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image

import imagecorruptions

FROST_DIR = os.path.join(os.path.dirname(imagecorruptions.__file__), "frost")
FILES = ["frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg"]
_READ = {}


def imread(name):
    # cv2.imread once per file (the reference reads it on every call; same pixels).
    if name not in _READ:
        _READ[name] = cv2.imread(os.path.join(FROST_DIR, name))
    return _READ[name]


def frost(x, severity):
    c = [(1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)][severity - 1]
    idx = np.random.randint(5)
    frost = imread(FILES[idx])
    frost = cv2.resize(frost, (0, 0), fx=0.2, fy=0.2)
    x_start, y_start = np.random.randint(0, frost.shape[0] - 32), np.random.randint(0, frost.shape[1] - 32)
    frost = frost[x_start:x_start + 32, y_start:y_start + 32][..., [2, 1, 0]]
    return np.clip(c[0] * np.array(x) + c[1] * frost, 0, 255)


def jpeg_compression(x, severity):
    c = [80, 65, 58, 50, 40][severity - 1]
    output = io.BytesIO()
    x.save(output, "JPEG", quality=c)
    return Image.open(output)


def main():
    model, labels_csv, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    root = os.path.dirname(labels_csv)
    with open(labels_csv) as f:
        rows = [r for r in csv.DictReader(f)]
    images = [Image.open(os.path.join(root, r["path"])).convert("RGB") for r in rows]
    labels = np.array([int(r["label"]) for r in rows])
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name

    def accuracy(batch):
        x = np.stack([np.asarray(b, dtype=np.uint8) for b in batch]).astype(np.float32).transpose(0, 3, 1, 2)
        pred = np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))]).argmax(1)
        return pred

    out = {"images": len(images), "frost_repeats": repeats, "clean": float((accuracy(images) == labels).mean())}
    np.random.seed(0)
    out["frost"] = []
    for s in range(1, 6):
        correct = 0
        for _ in range(repeats):
            pred = accuracy([np.uint8(frost(img, s)) for img in images])
            correct += int((pred == labels).sum())
        out["frost"].append(correct / (repeats * len(images)))
    out["jpeg_compression"] = []
    for s in range(1, 6):
        pred = accuracy([np.uint8(jpeg_compression(img, s)) for img in images])
        out["jpeg_compression"].append(float((pred == labels).mean()))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
