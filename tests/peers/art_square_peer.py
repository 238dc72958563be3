"""Run ART's SquareAttack (PyPI adversarial-robustness-toolbox) as the
reference peer of `aite robustness --attacks square-linf`.

Usage: python art_square_peer.py MODEL.onnx LABELS.csv N EPS QUERIES [SCALE]

The first N samples of the CSV manifest (path,label,...) are attacked in the
0..1 image space through a BlackBoxClassifierNeuralNetwork around
onnxruntime; SCALE (default 255) maps that space to the model's input, as
ResNet-8 from MLPerf Tiny takes raw 0..255 pixels. ART's own defaults differ
from AutoAttack (max_iter 100), so max_iter is set to QUERIES - 1 (ART spends
one query on the initial stripes), p_init 0.8, one restart, margin loss.

Prints JSON: clean-correct count, successes among them, the success rate
(ART's denominator, clean-correct), AutoAttack robust accuracy over all
samples, and the attack's wall time. numpy's generator is seeded (0), so a
run is reproducible.
"""
import csv, json, os, sys, time, warnings

import numpy as np
import onnxruntime as ort
from PIL import Image

warnings.simplefilter("ignore")
from art.attacks.evasion import SquareAttack  # noqa: E402
from art.estimators.classification import BlackBoxClassifierNeuralNetwork  # noqa: E402


def main():
    model, labels, n, eps, queries = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    scale = float(sys.argv[6]) if len(sys.argv) > 6 else 255.0
    root = os.path.dirname(labels)
    xs, ys = [], []
    with open(labels) as f:
        for row in csv.reader(f):
            if len(xs) >= n:
                break
            if not row or not row[1].strip().isdigit():
                continue  # header
            img = np.asarray(Image.open(os.path.join(root, row[0])).convert("RGB"), dtype=np.float32) / 255.0
            xs.append(img.transpose(2, 0, 1))
            ys.append(int(row[1]))
    x = np.stack(xs)
    y = np.array(ys)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    calls = [0]

    def predict(batch):
        # The MLPerf Tiny models have a fixed batch of one.
        calls[0] += len(batch)
        out = [sess.run(None, {name: (b[None] * scale).astype(np.float32)})[0][0] for b in batch]
        return np.stack(out)

    nb_classes = predict(x[:1]).shape[-1]
    calls[0] = 0
    clf = BlackBoxClassifierNeuralNetwork(predict, input_shape=x.shape[1:], nb_classes=nb_classes, channels_first=True, clip_values=(0.0, 1.0))
    clean = predict(x).argmax(1) == y
    attack = SquareAttack(clf, norm=np.inf, eps=eps, max_iter=queries - 1, p_init=0.8, nb_restarts=1, batch_size=len(x), verbose=False)
    calls[0] = 0
    np.random.seed(0)  # ART's SquareAttack draws from numpy's global generator: reproducible runs
    t = time.perf_counter()
    adv = attack.generate(x=x, y=y)
    seconds = time.perf_counter() - t
    after = predict(adv).argmax(1) == y
    linf = float(np.abs(adv - x).max())
    successes = int((clean & ~after).sum())
    print(json.dumps({
        "samples": len(x),
        "clean_correct": int(clean.sum()),
        "successes": successes,
        "attack_success_rate": successes / max(int(clean.sum()), 1),
        "robust_accuracy": int((clean & after).sum()) / len(x),
        "max_linf": linf,
        "model_calls": calls[0],
        "seconds": seconds,
    }))


if __name__ == "__main__":
    main()
