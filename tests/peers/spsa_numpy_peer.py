"""SPSA written again in numpy, as the cross-implementation peer of
`aite robustness --attacks spsa-linf`.

Usage: python spsa_numpy_peer.py MODEL.onnx LABELS.csv N EPS QUERIES [SCALE]

No PyPI package ships SPSA for an onnxruntime model (ART 1.20.1 has none;
cleverhans and advertorch need TensorFlow or PyTorch), so this file restates
cleverhans' SPSAAdam in numpy, from the published description and not from
aite's code: Rademacher antithetic pairs x' +- delta*v (delta 0.01), the
estimate mean((m+ - m-) / (2 delta) * v), Adam (0.9, 0.999, 1e-8), projection
onto the L-inf ball and 0..1, start uniform in [-eps, eps]. The schedule is
the one docs/robustness.md states for aite: P = min(64, ((Q-1)//20 - 1)//2)
pairs (at least 1), learning rate max(0.01, 2.5 eps / T), a counted query per
probe, per iterate and for the start, success when a query inside the ball is
misclassified, the last one or two queries on random neighbours.

Prints JSON: clean-correct count, successes, success rate, robust accuracy,
the largest L-inf of a success and the most queries spent on one sample.
numpy's generator is seeded (0).
"""
import csv, json, os, sys

import numpy as np
import onnxruntime as ort
from PIL import Image

DELTA, LR = 0.01, 0.01


def main():
    model, labels, n, eps, budget = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
    scale = float(sys.argv[6]) if len(sys.argv) > 6 else 255.0
    root = os.path.dirname(labels)
    xs, ys = [], []
    with open(labels) as f:
        for row in csv.reader(f):
            if len(xs) >= n:
                break
            if not row or not row[1].strip().isdigit():
                continue
            xs.append(np.asarray(Image.open(os.path.join(root, row[0])).convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0)
            ys.append(int(row[1]))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    rng = np.random.default_rng(0)
    pairs = min(64, max(1, ((budget - 1) // 20 - 1) // 2))
    iterations = max(1, (budget - 1) // (2 * pairs + 1))
    lr = max(LR, 2.5 * eps / iterations)
    clean_correct = successes = 0
    max_linf, max_queries = 0.0, 0
    for x, y in zip(xs, ys):
        used = [0]

        def ask(z):
            used[0] += 1
            s = sess.run(None, {name: (z[None] * scale).astype(np.float32)})[0][0]
            other = np.max(np.delete(s, y))
            return float(s[y] - other), int(np.argmax(s)) != y

        if ask(x)[1]:
            continue
        used[0] = 0
        clean_correct += 1
        project = lambda z: np.clip(np.clip(z, x - eps, x + eps), 0.0, 1.0)
        inside = lambda z: float(np.abs(z - x).max()) <= eps + 1e-6
        z = project(x + rng.uniform(-eps, eps, x.shape).astype(np.float32))
        broken = ask(z)[1]
        found = z if broken else None
        m = np.zeros_like(x)
        v = np.zeros_like(x)
        t = 0
        while not broken and used[0] < budget:
            left = budget - used[0]
            if left < 3:
                p = project(z + DELTA * rng.choice([-1.0, 1.0], x.shape).astype(np.float32))
                if ask(p)[1]:
                    broken, found = True, p
                continue
            k = min(pairs, (left - 1) // 2)
            g = np.zeros_like(x)
            for _ in range(k):
                d = rng.choice([-1.0, 1.0], x.shape).astype(np.float32)
                plus, minus = np.clip(z + DELTA * d, 0, 1), np.clip(z - DELTA * d, 0, 1)
                (mp, fp), (mm, fm) = ask(plus), ask(minus)
                for fooled, img in ((fp, plus), (fm, minus)):
                    if fooled and inside(img) and not broken:
                        broken, found = True, img
                if broken:
                    break
                g += (mp - mm) / (2 * DELTA * k) * d
            if broken:
                break
            t += 1
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            z = project(z - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8))
            if ask(z)[1]:
                broken, found = True, z
        max_queries = max(max_queries, used[0])
        if broken:
            successes += 1
            max_linf = max(max_linf, float(np.abs(found - x).max()))
    print(json.dumps({
        "samples": len(xs),
        "clean_correct": clean_correct,
        "successes": successes,
        "attack_success_rate": successes / max(clean_correct, 1),
        "robust_accuracy": (clean_correct - successes) / len(xs),
        "max_linf": max_linf,
        "max_queries": max_queries,
        "pairs": pairs,
    }))


if __name__ == "__main__":
    main()
