"""make_imagenet_c.py's last step as the reference runs it, for comparison with
aite's `--imagenet-c-jpeg` step: each corrupted uint8 image is written with
`Image.fromarray(np.uint8(img)).save(path, quality=85, optimize=True)` (the
JPEG format, as the script's `.JPEG` file names select it) and read back with
PIL (libjpeg-turbo).

Usage: python imagenet_c_save_peer.py JOBS.json

JOBS.json is a list of {"in": PNG, "out": PNG}: IN is the corrupted image,
OUT receives the decoded q85 JPEG. Prints a JSON list, one entry per job, with
the JPEG's size in bytes and its chroma subsampling as PIL reports it.
"""
import io, json, sys

import numpy as np
from PIL import Image, JpegImagePlugin


def run(job):
    x = np.uint8(np.array(Image.open(job["in"]).convert("RGB")))
    buf = io.BytesIO()
    Image.fromarray(x).save(buf, "JPEG", quality=85, optimize=True)
    buf.seek(0)
    saved = Image.open(buf)
    info = {"bytes": buf.getbuffer().nbytes, "subsampling": JpegImagePlugin.get_sampling(saved)}
    saved.convert("RGB").save(job["out"])
    return info


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    print(json.dumps([run(job) for job in jobs]))


if __name__ == "__main__":
    main()
