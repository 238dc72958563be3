"""Reference implementation of aite's `imagenet-tf224` / `imagenet-tf128` presets
in numpy, and onnxruntime on its tensors.

The reference pipeline (../shared/README.md, reference/robustness.md):
decode to RGB (PIL), TF `central_crop(0.875)` as the integer box
(W//16, H//16, W - W//16, H - H//16), bilinear resize with half-pixel centres and
no antialiasing computed in float64 (TF's `top + (bottom - top) * lerp` form), rounded
to uint8 as floor(x + 0.5), then (x - 128) / 128, NCHW.

Usage:
  python preprocess_peer.py top1 MODEL LABELS_CSV N SIZE
      prints JSON: per image (first N rows of the CSV) the reference top-1
      (onnxruntime, index into the model's outputs) and the SHA-256 of the
      uint8 SIZExSIZE RGB input.
  python preprocess_peer.py png LABELS_CSV N OUT_DIR
      writes the first N images as PIL decodes them (RGB) to lossless PNGs in
      OUT_DIR with a labels.csv, so that both sides start from the same pixels
      whatever their JPEG decoders.
  python preprocess_peer.py tensors LABELS_CSV SIZE DUMP_DIR
      DUMP_DIR holds <row>.f32 files (aite's NCHW float32 tensors for row
      <row> of the CSV); prints JSON with the max abs difference per file.
"""
import csv, hashlib, json, os, sys

import numpy as np
from PIL import Image


def tf_central_crop_box(w, h):
    """TF central_crop(0.875): start = side // 16, end = side - side // 16."""
    return w // 16, h // 16, w - w // 16, h - h // 16


def resize_bilinear_half_pixel(x, out_w, out_h):
    """float64 bilinear, half-pixel centres, edge clamped, no antialiasing."""
    x = x.astype(np.float64)
    in_h, in_w = x.shape[:2]

    def axis(n_out, n_in):
        scale = n_in / n_out
        src = (np.arange(n_out, dtype=np.float64) + 0.5) * scale - 0.5
        src = np.clip(src, 0.0, n_in - 1)
        i0 = np.floor(src).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, src - i0

    y0, y1, fy = axis(out_h, in_h)
    x0, x1, fx = axis(out_w, in_w)
    fx = fx[None, :, None]
    fy = fy[:, None, None]
    tl = x[y0][:, x0]
    tr = x[y0][:, x1]
    bl = x[y1][:, x0]
    br = x[y1][:, x1]
    top = tl + (tr - tl) * fx
    bottom = bl + (br - bl) * fx
    return top + (bottom - top) * fy


def tf_preset_uint8(path, size):
    """The geometric stage: RGB uint8 size x size."""
    img = np.asarray(Image.open(path).convert("RGB"))
    h, w = img.shape[:2]
    l, t, r, b = tf_central_crop_box(w, h)
    crop = img[t:b, l:r]
    out = resize_bilinear_half_pixel(crop, size, size)
    return np.floor(out + 0.5).clip(0, 255).astype(np.uint8)


def normalise(u8):
    """(x - 128) / 128, NCHW float32 batch of one."""
    x = (u8.astype(np.float32) - np.float32(128.0)) / np.float32(128.0)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def rows(labels_csv):
    base = os.path.dirname(labels_csv)
    with open(labels_csv, newline="") as f:
        return [(os.path.join(base, r["path"]), int(r["label"]), r["path"]) for r in csv.DictReader(f)]


def session(model):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])


def top1(sess, x):
    name = sess.get_inputs()[0].name
    y = sess.run(None, {name: x})[0].reshape(-1)
    return int(np.argmax(y))  # ties to the lower index, as onnxruntime's argmax


def main():
    mode = sys.argv[1]
    if mode == "top1":
        model, labels_csv, n, size = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        sess = session(model)
        out = []
        for path, label, id_ in rows(labels_csv)[:n]:
            u8 = tf_preset_uint8(path, size)
            out.append({"id": id_, "label": label, "top1": top1(sess, normalise(u8)), "sha256": hashlib.sha256(u8.tobytes()).hexdigest()})
        print(json.dumps({"images": out}))
    elif mode == "png":
        labels_csv, n, out_dir = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "labels.csv"), "w") as f:
            f.write("path,label\n")
            for i, (path, label, _) in enumerate(rows(labels_csv)[:n]):
                name = "%04d.png" % i
                Image.open(path).convert("RGB").save(os.path.join(out_dir, name), compress_level=1)
                f.write("%s,%d\n" % (name, label))
        print(json.dumps({"written": n}))
    elif mode == "tensors":
        labels_csv, size, dump = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        all_rows = rows(labels_csv)
        diffs = {}
        for f in sorted(os.listdir(dump)):
            if not f.endswith(".f32"):
                continue
            i = int(f[:-4])
            ours = np.fromfile(os.path.join(dump, f), dtype="<f4")
            ref = normalise(tf_preset_uint8(all_rows[i][0], size)).reshape(-1)
            diffs[str(i)] = float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max()) if ours.size == ref.size else None
        print(json.dumps({"max_abs_diff": diffs}))
    else:
        sys.exit("mode is top1 or tensors")


if __name__ == "__main__":
    main()
