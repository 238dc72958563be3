"""The ImageNet-C protocol as the reference runs it, for comparison with
`aite robustness --corrupt-at input`: each image goes through the numpy
`imagenet-tf224` preprocessing (preprocess_peer.py) to a 224x224 uint8 input,
is corrupted by imagecorruptions 1.1.2 at that resolution, normalised and
classified by onnxruntime.

Usage: python imagenet_c_224_peer.py MODEL LABELS_CSV N CORRUPTIONS SEVERITIES OUT_JSONL [q85]

With `q85`, each corrupted image then goes through make_imagenet_c.py's last
step before it is classified: `Image.fromarray(np.uint8(img)).save(path,
quality=85, optimize=True)`, read back by PIL (the published ImageNet-C files
are those JPEGs).

CORRUPTIONS and SEVERITIES are comma-separated (e.g. `gaussian_noise,fog` and
`3,5`). One JSON line per image is appended to OUT_JSONL:
{"row": i, "label": k, "clean": top1, "cells": {"fog-3": top1, ...}}; rows
already in OUT_JSONL are not run again (a killed run resumes). numpy's global
RNG is seeded per (image, corruption, severity), so a subset of cells or images
gets the same draws as the full sweep.
"""
import io, json, os, sys, warnings

import numpy as np

warnings.simplefilter("ignore")
import skimage.filters

_gaussian = skimage.filters.gaussian


def _gaussian_shim(image, sigma=1, *args, multichannel=None, **kw):
    if multichannel:
        kw["channel_axis"] = -1
    return _gaussian(image, sigma, *args, **kw)


skimage.filters.gaussian = _gaussian_shim
import imagecorruptions.corruptions as icc  # noqa: E402

icc.gaussian = _gaussian_shim
from imagecorruptions import corrupt, get_corruption_names  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from preprocess_peer import normalise, rows, session, tf_preset_uint8, top1  # noqa: E402

from PIL import Image  # noqa: E402

NAMES = get_corruption_names("all")


def save_q85(x):
    """make_imagenet_c.py: Image.fromarray(np.uint8(img)).save(save_path, quality=85, optimize=True)."""
    buf = io.BytesIO()
    Image.fromarray(np.uint8(x)).save(buf, "JPEG", quality=85, optimize=True)
    buf.seek(0)
    return np.array(Image.open(buf).convert("RGB"))


def main():
    model, labels_csv, n, kinds, sevs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(","), [int(s) for s in sys.argv[5].split(",")], sys.argv[6]
    q85 = len(sys.argv) > 7 and sys.argv[7] == "q85"
    done = set()
    if os.path.exists(out):
        with open(out) as f:
            done = {json.loads(line)["row"] for line in f if line.strip()}
    sess = session(model)
    with open(out, "a") as f:
        for i, (path, label, _) in enumerate(rows(labels_csv)[:n]):
            if i in done:
                continue
            u8 = tf_preset_uint8(path, 224)
            rec = {"row": i, "label": label, "clean": top1(sess, normalise(u8)), "cells": {}}
            for k in kinds:
                for s in sevs:
                    np.random.seed((i * 100 + NAMES.index(k)) * 10 + s)
                    x = np.uint8(corrupt(u8, corruption_name=k, severity=s))
                    if q85:
                        x = save_q85(x)
                    rec["cells"]["%s-%d" % (k, s)] = top1(sess, normalise(x))
            f.write(json.dumps(rec) + "\n")
            f.flush()


if __name__ == "__main__":
    main()
