#!/usr/bin/env python3
"""Train aite's bundled reference terminal model.

A small CNN classifies scikit-learn's `digits` dataset (1797 real 8x8 scans of
handwritten digits, UCI ML hand-written digits, shipped inside the scikit-learn
wheel, so nothing is downloaded). Training is plain NumPy with a fixed seed so the
result is reproducible from this file alone; the model is exported to ONNX fp32
and quantized to int8 QDQ with onnxruntime. The held-out images are written as
8x8 grayscale PNGs with a labels.csv manifest.

Usage (from the repository root):
    pip install numpy scikit-learn onnx onnxruntime pillow
    python tools/reference-terminal/train.py crates/aite-reference/assets
"""
import hashlib
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image
from sklearn.datasets import load_digits

SEED = 20261125
HELD_OUT = 300
EPOCHS = 40
BATCH = 32
LR = 0.003


def im2col(x, k=3, pad=1):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((n, c, k, k, h, w), dtype=x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + h, j:j + w]
    return cols.transpose(0, 4, 5, 1, 2, 3).reshape(n * h * w, c * k * k)


def col2im(cols, shape, k=3, pad=1):
    n, c, h, w = shape
    cols = cols.reshape(n, h, w, c, k, k).transpose(0, 3, 4, 5, 1, 2)
    xp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=cols.dtype)
    for i in range(k):
        for j in range(k):
            xp[:, :, i:i + h, j:j + w] += cols[:, :, i, j]
    return xp[:, :, pad:pad + h, pad:pad + w]


class Net:
    """conv3x3(1->8)+ReLU, conv3x3(8->16)+ReLU, maxpool 2x2, dense(256->10)."""

    def __init__(self, rng):
        he = lambda fan_in, shape: rng.normal(0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)
        self.p = {
            "w1": he(9, (8, 1, 3, 3)), "b1": np.zeros(8, np.float32),
            "w2": he(72, (16, 8, 3, 3)), "b2": np.zeros(16, np.float32),
            "w3": he(256, (10, 256)), "b3": np.zeros(10, np.float32),
        }
        self.m = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.v = {k: np.zeros_like(v) for k, v in self.p.items()}
        self.t = 0

    def forward(self, x):
        p = self.p
        n = x.shape[0]
        c1 = im2col(x)
        z1 = (c1 @ p["w1"].reshape(8, -1).T + p["b1"]).reshape(n, 8, 8, 8).transpose(0, 3, 1, 2)
        a1 = np.maximum(z1, 0)
        c2 = im2col(a1)
        z2 = (c2 @ p["w2"].reshape(16, -1).T + p["b2"]).reshape(n, 8, 8, 16).transpose(0, 3, 1, 2)
        a2 = np.maximum(z2, 0)
        win = a2.reshape(n, 16, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, 16, 4, 4, 4)
        pool = win.max(axis=-1)
        arg = win.argmax(axis=-1)
        flat = pool.reshape(n, 256)
        logits = flat @ p["w3"].T + p["b3"]
        self.cache = (x, c1, z1, a1, c2, z2, arg, flat)
        return logits

    def backward(self, dlogits):
        p = self.p
        x, c1, z1, a1, c2, z2, arg, flat = self.cache
        n = x.shape[0]
        g = {"w3": dlogits.T @ flat, "b3": dlogits.sum(0)}
        dpool = (dlogits @ p["w3"]).reshape(n, 16, 4, 4)
        dwin = np.zeros((n, 16, 4, 4, 4), np.float32)
        np.put_along_axis(dwin, arg[..., None], dpool[..., None], axis=-1)
        da2 = dwin.reshape(n, 16, 4, 4, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(n, 16, 8, 8)
        dz2 = da2 * (z2 > 0)
        dz2f = dz2.transpose(0, 2, 3, 1).reshape(-1, 16)
        g["w2"] = (dz2f.T @ c2).reshape(16, 8, 3, 3)
        g["b2"] = dz2f.sum(0)
        da1 = col2im(dz2f @ p["w2"].reshape(16, -1), a1.shape)
        dz1 = da1 * (z1 > 0)
        dz1f = dz1.transpose(0, 2, 3, 1).reshape(-1, 8)
        g["w1"] = (dz1f.T @ c1).reshape(8, 1, 3, 3)
        g["b1"] = dz1f.sum(0)
        return g

    def adam(self, g, lr):
        self.t += 1
        for k in self.p:
            self.m[k] = 0.9 * self.m[k] + 0.1 * g[k]
            self.v[k] = 0.999 * self.v[k] + 0.001 * g[k] ** 2
            mh = self.m[k] / (1 - 0.9 ** self.t)
            vh = self.v[k] / (1 - 0.999 ** self.t)
            self.p[k] -= (lr * mh / (np.sqrt(vh) + 1e-8)).astype(np.float32)


def export_onnx(net, path, source_sha):
    p = net.p
    inits = [numpy_helper.from_array(v, k) for k, v in p.items()]
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["z1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["z1"], ["a1"]),
        helper.make_node("Conv", ["a1", "w2", "b2"], ["z2"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["z2"], ["a2"]),
        helper.make_node("MaxPool", ["a2"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["pool"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w3", "b3"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "aite_reference_digits",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        inits,
    )
    model = helper.make_model(graph, producer_name="aite-reference-train", opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    for k, v in {"dataset": "scikit-learn digits (UCI optdigits 8x8)", "preprocess": "gray, x/255, NCHW",
                 "classes": "0,1,2,3,4,5,6,7,8,9", "train_script_sha256": source_sha}.items():
        e = model.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main(out):
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    rng = np.random.default_rng(SEED)
    digits = load_digits()
    images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
    labels = digits.target.astype(np.int64)
    order = rng.permutation(len(images))
    held, train = order[:HELD_OUT], order[HELD_OUT:]
    x = (images[train].astype(np.float32) / 255.0)[:, None]
    y = labels[train]
    net = Net(rng)
    for epoch in range(EPOCHS):
        perm = rng.permutation(len(x))
        for i in range(0, len(x), BATCH):
            idx = perm[i:i + BATCH]
            logits = net.forward(x[idx])
            e = np.exp(logits - logits.max(1, keepdims=True))
            prob = e / e.sum(1, keepdims=True)
            prob[np.arange(len(idx)), y[idx]] -= 1
            net.adam(net.backward(prob / len(idx)), LR * (0.5 if epoch >= EPOCHS * 3 // 4 else 1.0))
    os.makedirs(os.path.join(out, "digits"), exist_ok=True)
    source_sha = hashlib.sha256(open(__file__, "rb").read()).hexdigest()
    fp32 = os.path.join(out, "digits_cnn_fp32.onnx")
    int8 = os.path.join(out, "digits_cnn_int8_qdq.onnx")
    export_onnx(net, fp32, source_sha)

    class Calib(CalibrationDataReader):
        def __init__(self):
            self.it = iter(x[i:i + 1] for i in range(0, 400))

        def get_next(self):
            v = next(self.it, None)
            return None if v is None else {"input": v}

    quantize_static(fp32, int8, Calib(), quant_format=QuantFormat.QDQ, per_channel=False,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    with open(os.path.join(out, "digits", "labels.csv"), "w") as f:
        f.write("path,label,class\n")
        for i in held:
            name = f"{i:04d}.png"
            Image.fromarray(images[i], mode="L").save(os.path.join(out, "digits", name), optimize=True)
            f.write(f"{name},{labels[i]},{labels[i]}\n")
    with open(os.path.join(out, "digits", "classes.txt"), "w") as f:
        f.write("\n".join(str(i) for i in range(10)) + "\n")
    xh = (images[held].astype(np.float32) / 255.0)[:, None]
    facts = {"seed": SEED, "held_out": HELD_OUT, "train": int(len(train)),
             "onnxruntime_version": ort.__version__}
    for name, path in [("fp32", fp32), ("int8_qdq", int8)]:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        pred = np.concatenate([sess.run(None, {"input": xh[i:i + 1]})[0] for i in range(len(xh))]).argmax(1)
        acc = float((pred == labels[held]).mean())
        facts[f"accuracy_{name}"] = acc
        facts[f"correct_{name}"] = int((pred == labels[held]).sum())
        print(f"{name}: held-out top-1 {acc:.4f}")
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "crates/aite-reference/assets")
