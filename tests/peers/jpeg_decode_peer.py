"""Peer for aite-data's JPEG decoder: PIL (libjpeg-turbo, default islow IDCT,
fancy upsampling).

  jpeg_decode_peer.py            decode each JPEG path read from stdin; print one line
                                 per file: SHA-256 of the samples, mode, width,
                                 height, progressive flag (0/1).
  jpeg_decode_peer.py write SRC DIR
                                 write variants of the image SRC to DIR (4:4:4, 4:2:2,
                                 4:2:0, grey, restart intervals, odd sizes down to 1x1,
                                 progressive) and print their names.
"""
import hashlib
import os
import sys

from PIL import Image


def decode():
    for line in sys.stdin:
        path = line.rstrip("\n")
        if not path:
            continue
        with Image.open(path) as im:
            im.load()
            prog = int(bool(im.info.get("progressive") or im.info.get("progression")))
            print(hashlib.sha256(im.tobytes()).hexdigest(), im.mode, im.width, im.height, prog, flush=True)


def write(src, out):
    base = Image.open(src).convert("RGB")
    sizes = [(1, 1), (2, 3), (17, 9), (33, 31), (base.width, base.height)]
    for (w, h) in sizes:
        img = base.crop((0, 0, w, h)) if (w, h) != base.size else base
        for sub in (0, 1, 2):
            for q in (30, 95):
                name = f"s{sub}_q{q}_{w}x{h}.jpg"
                img.save(os.path.join(out, name), quality=q, subsampling=sub)
                print(name)
        name = f"grey_{w}x{h}.jpg"
        img.convert("L").save(os.path.join(out, name), quality=75)
        print(name)
        name = f"rst_{w}x{h}.jpg"
        img.save(os.path.join(out, name), quality=85, restart_marker_blocks=3)
        print(name)
    name = "progressive.jpg"
    base.save(os.path.join(out, name), quality=85, progressive=True)
    print(name)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    else:
        decode()
