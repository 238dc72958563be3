#!/usr/bin/env python3
"""Train aite's bundled reference detector.

Scenes are 64x64 greyscale canvases composed from scikit-learn's `digits` (real
8x8 scans of handwritten digits, shipped inside the scikit-learn wheel, so nothing
is downloaded): 0 to 3 digits per canvas, each resized to 12..24 pixels a side,
at random non-overlapping positions. The labels come from the composition: each
digit's class and the tight box of its ink, written as COCO instances JSON.

The detector is a tiny fully-convolutional grid detector (YOLO-style): four 3x3
convolutions with three 2x2 max-pools give an 8x8 grid of cells (stride 8), and a
1x1 head predicts per cell an objectness logit, the box centre inside the cell
(sigmoid), the box size (16 px * exp) and 10 class logits. Training is plain
NumPy with a fixed seed. The exported ONNX graph decodes the grid itself and
returns one packed tensor `detections` [batch, 64, 14]: `cx, cy, w, h` in pixels
of the 64x64 input, then the 10 class scores sigmoid(objectness) * softmax(class),
the layout aite-task's `reference-detector` preset decodes (packed, centre-size,
pixels, threshold 0.05, per-class NMS IoU 0.5, 100 detections). The int8 QDQ model
quantizes the convolutions and pools with onnxruntime; the grid decoding stays fp32.

The held-out scenes use digit scans never seen in training: 100 PNG canvases,
annotations.json (COCO), and reference.json with the COCO AP@[.5:.95] / AP50 that
pycocotools measured on onnxruntime's detections, decoded here in NumPy exactly as
the preset says.

Usage (from the repository root):
    pip install numpy scikit-learn onnx onnxruntime pillow pycocotools
    python tools/reference-detector/train.py crates/aite-reference/assets/detector
"""
import hashlib
import json
import os
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from sklearn.datasets import load_digits

SEED = 20261201
SIZE = 64
STRIDE = 8
GRID = SIZE // STRIDE
ANCHOR = 16.0
CLASSES = 10
HELD_OUT_DIGITS = 300
HELD_OUT_SCENES = 100
TRAIN_SCENES = 3000
EPOCHS = 16
BATCH = 32
LR = 0.003
SCORE_THRESHOLD = 0.05
NMS_IOU = 0.5
MAX_DETECTIONS = 100
CHANNELS = [1, 8, 16, 32, 48]


def compose(rng, pool, images, labels):
    """One canvas and its boxes [(class, x, y, w, h)] from digits drawn from `pool`."""
    canvas = np.zeros((SIZE, SIZE), np.uint8)
    k = 0 if rng.random() < 0.1 else int(rng.integers(1, 4))
    rects, boxes = [], []
    for _ in range(k):
        for _try in range(50):
            w, h = int(rng.integers(12, 25)), int(rng.integers(12, 25))
            x, y = int(rng.integers(0, SIZE - w + 1)), int(rng.integers(0, SIZE - h + 1))
            if all(x + w + 1 <= rx or rx + rw + 1 <= x or y + h + 1 <= ry or ry + rh + 1 <= y for rx, ry, rw, rh in rects):
                break
        else:
            continue
        i = int(pool[rng.integers(0, len(pool))])
        patch = np.asarray(Image.fromarray(images[i]).resize((w, h), Image.BILINEAR))
        canvas[y:y + h, x:x + w] = np.maximum(canvas[y:y + h, x:x + w], patch)
        ys, xs = np.nonzero(patch)
        rects.append((x, y, w, h))
        boxes.append((int(labels[i]), x + int(xs.min()), y + int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)))
    return canvas, boxes


def targets(boxes):
    """Per-cell training targets: objectness, centre offset in the cell, log size / anchor, class."""
    obj = np.zeros((GRID, GRID), np.float32)
    off = np.zeros((2, GRID, GRID), np.float32)
    size = np.zeros((2, GRID, GRID), np.float32)
    cls = np.zeros((GRID, GRID), np.int64)
    for c, x, y, w, h in boxes:
        cx, cy = x + w / 2.0, y + h / 2.0
        j, i = min(int(cx // STRIDE), GRID - 1), min(int(cy // STRIDE), GRID - 1)
        obj[i, j] = 1.0
        off[:, i, j] = (cx / STRIDE - j, cy / STRIDE - i)
        size[:, i, j] = (np.log(w / ANCHOR), np.log(h / ANCHOR))
        cls[i, j] = c
    return obj, off, size, cls


def im2col(x, k=3, pad=1):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((n, h, w, c, k, k), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, :, :, i, j] = xp[:, :, i:i + h, j:j + w].transpose(0, 2, 3, 1)
    return cols.reshape(n * h * w, c * k * k)


def col2im(cols, shape, k=3, pad=1):
    n, c, h, w = shape
    cols = cols.reshape(n, h, w, c, k, k)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i:i + h, j:j + w] += cols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return xp[:, :, pad:pad + h, pad:pad + w]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Net:
    """conv3x3+ReLU+pool x3, conv3x3+ReLU, conv1x1 head (1 objectness + 4 box + 10 classes)."""

    def __init__(self, rng):
        he = lambda fan_in, shape: rng.normal(0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)
        self.p = {}
        for l in range(4):
            cin, cout = CHANNELS[l], CHANNELS[l + 1]
            self.p[f"w{l}"] = he(cin * 9, (cout, cin, 3, 3))
            self.p[f"b{l}"] = np.zeros(cout, np.float32)
        self.p["wh"] = (rng.normal(0, 0.01, (5 + CLASSES, CHANNELS[4], 1, 1))).astype(np.float32)
        self.p["bh"] = np.zeros(5 + CLASSES, np.float32)
        self.p["bh"][0] = -4.0  # objectness prior: most cells are empty
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0

    def forward(self, x):
        self.cache = []
        a = x
        for l in range(4):
            n, c, h, w = a.shape
            cout = CHANNELS[l + 1]
            cols = im2col(a)
            z = (cols @ self.p[f"w{l}"].reshape(cout, -1).T + self.p[f"b{l}"]).reshape(n, h, w, cout).transpose(0, 3, 1, 2)
            r = np.maximum(z, 0)
            arg = None
            if l < 3:
                win = r.reshape(n, cout, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, cout, h // 2, w // 2, 4)
                arg = win.argmax(axis=-1)
                r = win.max(axis=-1)
            self.cache.append((a.shape, cols, z, arg))
            a = r
        n, c, h, w = a.shape
        self.feat = a
        flat = a.transpose(0, 2, 3, 1).reshape(-1, c)
        out = flat @ self.p["wh"].reshape(5 + CLASSES, c).T + self.p["bh"]
        self.flat = flat
        return out.reshape(n, h, w, 5 + CLASSES).transpose(0, 3, 1, 2)

    def backward(self, dout):
        n, k, h, w = dout.shape
        d = dout.transpose(0, 2, 3, 1).reshape(-1, k)
        c = CHANNELS[4]
        g = {"wh": (d.T @ self.flat).reshape(k, c, 1, 1), "bh": d.sum(0)}
        da = (d @ self.p["wh"].reshape(k, c)).reshape(n, h, w, c).transpose(0, 3, 1, 2)
        for l in reversed(range(4)):
            shape, cols, z, arg = self.cache[l]
            cout = CHANNELS[l + 1]
            if arg is not None:
                nn, cc, hh, ww = z.shape
                dwin = np.zeros((nn, cc, hh // 2, ww // 2, 4), np.float32)
                np.put_along_axis(dwin, arg[..., None], da[..., None], axis=-1)
                da = dwin.reshape(nn, cc, hh // 2, ww // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(nn, cc, hh, ww)
            dz = (da * (z > 0)).transpose(0, 2, 3, 1).reshape(-1, cout)
            g[f"w{l}"] = (dz.T @ cols).reshape(self.p[f"w{l}"].shape)
            g[f"b{l}"] = dz.sum(0)
            if l > 0:
                da = col2im(dz @ self.p[f"w{l}"].reshape(cout, -1), shape)
        return g

    def adam(self, g, lr):
        self.t += 1
        for k in self.p:
            self.m[k] = 0.9 * self.m[k] + 0.1 * g[k]
            self.v[k] = 0.999 * self.v[k] + 0.001 * g[k] ** 2
            mh = self.m[k] / (1 - 0.9 ** self.t)
            vh = self.v[k] / (1 - 0.999 ** self.t)
            self.p[k] -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)


def loss_grad(out, obj, off, size, cls):
    """Gradient of the summed loss over a batch (divided by the batch size): BCE objectness on
    every cell, squared error of sigmoid offsets and log sizes (x5) and softmax cross-entropy on
    the cells holding an object."""
    n = out.shape[0]
    g = np.zeros_like(out)
    po = sigmoid(out[:, 0])
    g[:, 0] = po - obj
    pos = obj[:, None]
    so = sigmoid(out[:, 1:3])
    g[:, 1:3] = 5.0 * 2 * (so - off) * so * (1 - so) * pos
    g[:, 3:5] = 5.0 * 2 * (out[:, 3:5] - size) * pos
    logits = out[:, 5:]
    e = np.exp(logits - logits.max(1, keepdims=True))
    prob = e / e.sum(1, keepdims=True)
    onehot = np.zeros_like(prob)
    np.put_along_axis(onehot, cls[:, None], 1.0, axis=1)
    g[:, 5:] = (prob - onehot) * pos
    loss = -(obj * np.log(po + 1e-9) + (1 - obj) * np.log(1 - po + 1e-9)).sum() + (-(np.log((prob * onehot).sum(1) + 1e-9)) * obj).sum()
    return g / n, loss / n


def export_onnx(net, path, source_sha):
    p = net.p
    inits = [numpy_helper.from_array(v, k) for k, v in p.items()]
    gy, gx = np.meshgrid(np.arange(GRID, dtype=np.float32), np.arange(GRID, dtype=np.float32), indexing="ij")
    inits += [
        numpy_helper.from_array(np.stack([gx, gy])[None], "grid"),
        numpy_helper.from_array(np.array([STRIDE], np.float32), "stride"),
        numpy_helper.from_array(np.array([ANCHOR], np.float32), "anchor"),
        numpy_helper.from_array(np.array([1, 2, 2, CLASSES], np.int64), "split"),
        numpy_helper.from_array(np.array([0, 4 + CLASSES, GRID * GRID], np.int64), "flat_shape"),
    ]
    nodes = []
    a = "input"
    for l in range(4):
        nodes.append(helper.make_node("Conv", [a, f"w{l}", f"b{l}"], [f"z{l}"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]))
        nodes.append(helper.make_node("Relu", [f"z{l}"], [f"r{l}"]))
        a = f"r{l}"
        if l < 3:
            nodes.append(helper.make_node("MaxPool", [a], [f"p{l}"], kernel_shape=[2, 2], strides=[2, 2]))
            a = f"p{l}"
    nodes += [
        helper.make_node("Conv", [a, "wh", "bh"], ["head"], kernel_shape=[1, 1]),
        helper.make_node("Split", ["head", "split"], ["obj_logit", "offset_logit", "size_logit", "class_logit"], axis=1),
        helper.make_node("Sigmoid", ["obj_logit"], ["objectness"]),
        helper.make_node("Sigmoid", ["offset_logit"], ["offset"]),
        helper.make_node("Add", ["offset", "grid"], ["centre_cells"]),
        helper.make_node("Mul", ["centre_cells", "stride"], ["centre"]),
        helper.make_node("Exp", ["size_logit"], ["size_rel"]),
        helper.make_node("Mul", ["size_rel", "anchor"], ["size"]),
        helper.make_node("Softmax", ["class_logit"], ["class_prob"], axis=1),
        helper.make_node("Mul", ["class_prob", "objectness"], ["scores"]),
        helper.make_node("Concat", ["centre", "size", "scores"], ["packed"], axis=1),
        helper.make_node("Reshape", ["packed", "flat_shape"], ["cells"]),
        helper.make_node("Transpose", ["cells"], ["detections"], perm=[0, 2, 1]),
    ]
    graph = helper.make_graph(
        nodes, "aite_reference_digit_detector",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, SIZE, SIZE])],
        [helper.make_tensor_value_info("detections", TensorProto.FLOAT, ["batch", GRID * GRID, 4 + CLASSES])],
        inits,
    )
    model = helper.make_model(graph, producer_name="aite-reference-detector-train", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for k, v in {"dataset": "64x64 canvases of scikit-learn digits (UCI optdigits 8x8 scans)", "preprocess": "gray, x/255, NCHW",
                 "output": "detections [batch, 64, 14]: cx, cy, w, h (pixels), scores of classes 0..9",
                 "classes": "0,1,2,3,4,5,6,7,8,9", "train_script_sha256": source_sha}.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, path)


def iou(a, b):
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def decode(rows):
    """The `reference-detector` preset in NumPy: per class, scores above the threshold, greedy
    NMS, then the best MAX_DETECTIONS over all classes; boxes in corners (float32 as aite)."""
    rows = rows.astype(np.float32)
    cx, cy, w, h = rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
    half = np.float32(2.0)
    corners = np.stack([cx - w / half, cy - h / half, cx + w / half, cy + h / half], 1)
    out = []
    for c in range(CLASSES):
        s = rows[:, 4 + c]
        idx = [int(i) for i in np.argsort(-s, kind="stable") if s[i] > SCORE_THRESHOLD]
        kept = []
        for i in idx:
            if len(kept) >= MAX_DETECTIONS:
                break
            if all(iou(corners[k], corners[i]) <= NMS_IOU for k in kept):
                kept.append(i)
        out += [(c, float(s[i]), corners[i]) for i in kept]
    out.sort(key=lambda d: -d[1])
    return out[:MAX_DETECTIONS]


def coco_ap(gt_path, results):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    gt = COCO(gt_path)
    dt = gt.loadRes(results)
    ev = COCOeval(gt, dt, "bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return [float(v) for v in ev.stats]


def main(out):
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    started = time.time()
    rng = np.random.default_rng(SEED)
    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    order = rng.permutation(len(images))
    held, train = order[:HELD_OUT_DIGITS], order[HELD_OUT_DIGITS:]
    scenes = [compose(rng, train, images, labels) for _ in range(TRAIN_SCENES)]
    x = np.stack([s[0] for s in scenes]).astype(np.float32)[:, None] / 255.0
    t = [np.stack(v) for v in zip(*(targets(s[1]) for s in scenes))]
    net = Net(rng)
    for epoch in range(EPOCHS):
        perm = rng.permutation(len(x))
        total = 0.0
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            batch = x[idx]
            if rng.random() < 0.5:
                # Contrast and brightness jitter: the corruption sweep is not the training set.
                batch = np.clip(batch * rng.uniform(0.6, 1.0) + rng.uniform(0.0, 0.2), 0, 1).astype(np.float32)
            g, loss = loss_grad(net.forward(batch), *(v[idx] for v in t))
            total += loss * len(idx)
            lr = LR * (0.3 if epoch >= EPOCHS * 5 // 6 else 1.0)
            net.adam(net.backward(g.astype(np.float32)), lr)
        print(f"epoch {epoch + 1}/{EPOCHS}: loss {total / len(x):.4f} ({time.time() - started:.0f} s)", flush=True)

    os.makedirs(os.path.join(out, "scenes"), exist_ok=True)
    source_sha = hashlib.sha256(open(__file__, "rb").read()).hexdigest()
    fp32 = os.path.join(out, "digit_detector_fp32.onnx")
    int8 = os.path.join(out, "digit_detector_int8_qdq.onnx")
    export_onnx(net, fp32, source_sha)

    class Calib(CalibrationDataReader):
        def __init__(self):
            self.it = iter(x[i:i + 1] for i in range(0, 200))

        def get_next(self):
            v = next(self.it, None)
            return None if v is None else {"input": v}

    quantize_static(fp32, int8, Calib(), quant_format=QuantFormat.QDQ, per_channel=False,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=["Conv", "MaxPool"])

    held_scenes = [compose(rng, held, images, labels) for _ in range(HELD_OUT_SCENES)]
    coco = {"info": {"description": "aite reference detector held-out scenes", "seed": SEED}, "images": [], "annotations": [],
            "categories": [{"id": c, "name": str(c)} for c in range(CLASSES)]}
    for k, (canvas, boxes) in enumerate(held_scenes):
        name = f"scene{k:03d}.png"
        Image.fromarray(canvas, mode="L").save(os.path.join(out, "scenes", name), optimize=True)
        coco["images"].append({"id": k + 1, "file_name": name, "width": SIZE, "height": SIZE})
        for c, bx, by, bw, bh in boxes:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1, "image_id": k + 1, "category_id": c,
                                        "bbox": [bx, by, bw, bh], "area": bw * bh, "iscrowd": 0})
    gt_path = os.path.join(out, "annotations.json")
    with open(gt_path, "w") as f:
        json.dump(coco, f, separators=(",", ":"))
        f.write("\n")

    xh = np.stack([c for c, _ in held_scenes]).astype(np.float32)[:, None] / 255.0
    facts = {"seed": SEED, "scenes": HELD_OUT_SCENES, "ground_truth_boxes": len(coco["annotations"]),
             "train_scenes": TRAIN_SCENES, "epochs": EPOCHS, "onnxruntime_version": ort.__version__,
             "score_threshold": SCORE_THRESHOLD, "nms_iou": NMS_IOU, "max_detections": MAX_DETECTIONS}
    for name, path in [("fp32", fp32), ("int8_qdq", int8)]:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        results = []
        for k in range(len(xh)):
            rows = sess.run(None, {"input": xh[k:k + 1]})[0][0]
            for c, s, b in decode(rows):
                results.append({"image_id": k + 1, "category_id": c, "score": s,
                                "bbox": [float(b[0]), float(b[1]), float(b[2]) - float(b[0]), float(b[3]) - float(b[1])]})
        stats = coco_ap(gt_path, results)
        facts[f"ap_{name}"] = stats[0]
        facts[f"ap50_{name}"] = stats[1]
        facts[f"detections_{name}"] = len(results)
        facts[f"coco_stats_{name}"] = stats
        print(f"{name}: AP {stats[0]:.4f} AP50 {stats[1]:.4f} ({len(results)} detections)")
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")
    print(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "crates/aite-reference/assets/detector")
