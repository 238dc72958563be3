"""Peer for aite-data's JPEG decoder: PIL (libjpeg-turbo, default islow IDCT,
fancy upsampling) decodes each JPEG path read from stdin; prints one line per
file: SHA-256 of the decoded samples, mode, width, height, progressive flag."""
import hashlib
import sys

from PIL import Image

for line in sys.stdin:
    path = line.rstrip("\n")
    if not path:
        continue
    with Image.open(path) as im:
        im.load()
        prog = int(bool(im.info.get("progressive") or im.info.get("progression")))
        print(hashlib.sha256(im.tobytes()).hexdigest(), im.mode, im.width, im.height, prog, flush=True)
