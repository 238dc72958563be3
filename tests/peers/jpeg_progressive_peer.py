"""Peer for aite-data's progressive JPEG decoding: PIL (libjpeg-turbo, islow
IDCT, fancy upsampling), compared as np.asarray(Image.open(f).convert('RGB')).

  jpeg_progressive_peer.py write DIR SRC...   write progressive variants of each
      SRC to DIR (quality 75/95 at 4:4:4, 4:2:2, 4:2:0; grey; restart intervals;
      odd sizes), decode each with PIL to DIR/NAME.rgb, print "NAME W H".
  jpeg_progressive_peer.py decode DIR FILE... decode each FILE with PIL to
      DIR/<basename>.rgb, print "PATH W H".
"""
import os
import sys

import numpy as np
from PIL import Image


def rgb(path, out):
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"))
    a.tofile(out)
    return a.shape[1], a.shape[0]


def write(out, srcs):
    for si, src in enumerate(srcs):
        base = Image.open(src).convert("RGB")
        variants = []
        for q in (75, 95):
            for sub in (0, 1, 2):
                variants.append((f"p{si}_s{sub}_q{q}", base, dict(quality=q, subsampling=sub)))
            variants.append((f"p{si}_grey_q{q}", base.convert("L"), dict(quality=q)))
        variants.append((f"p{si}_rst3_s2", base, dict(quality=85, subsampling=2, restart_marker_blocks=3)))
        variants.append((f"p{si}_rstrow_s0", base, dict(quality=85, subsampling=0, restart_marker_rows=1)))
        variants.append((f"p{si}_grey_rst5", base.convert("L"), dict(quality=85, restart_marker_blocks=5)))
        if si == 0:
            for (w, h) in [(1, 1), (2, 3), (17, 9), (33, 31)]:
                crop = base.crop((0, 0, w, h))
                for sub in (0, 2):
                    variants.append((f"p{si}_s{sub}_{w}x{h}", crop, dict(quality=90, subsampling=sub)))
        for name, img, opts in variants:
            f = os.path.join(out, name + ".jpg")
            img.save(f, progressive=True, **opts)
            w, h = rgb(f, os.path.join(out, name + ".rgb"))
            print(name, w, h, flush=True)


def decode(out, files):
    for f in files:
        w, h = rgb(f, os.path.join(out, os.path.basename(f) + ".rgb"))
        print(f, w, h, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3:])
    else:
        decode(sys.argv[2], sys.argv[3:])
