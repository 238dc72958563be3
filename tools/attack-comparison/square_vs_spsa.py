#!/usr/bin/env python3
"""Square vs SPSA (L-inf or L2) at equal per-sample query budgets, and their per-sample worst case.

Runs `aite robustness --attacks square-NORM,spsa-NORM` once per budget and prints the markdown
tables of docs/robustness.md ("Square vs SPSA at equal budgets"):

    python3 tools/attack-comparison/square_vs_spsa.py [--norm linf|l2] AITE MODEL LABELS_CSV SAMPLES EPS BUDGET...

e.g. target/release/aite ../shared/assets/models/cifar10-resnet8/resnet8_fp32.onnx
     ../shared/assets/data/ic01/labels.csv 100 8/255 100 500 1000
(L2: --norm l2 ... 100 0.5 100 500 1000).
Standard library only. The worst case's queries are, per broken sample, those of the cheaper
attack that broke it (what running both in parallel would cost).
"""
import json
import subprocess
import sys
import tempfile

args = sys.argv[1:]
norm = "linf"
if args[:1] == ["--norm"]:
    norm, args = args[1], args[2:]
if norm not in ("linf", "l2") or len(args) < 6:
    sys.exit(__doc__)
aite, model, labels, n, eps, budgets = args[0], args[1], args[2], args[3], args[4], args[5:]
print("| budget | attack | robust accuracy | success over clean-correct | queries mean (successes) | median / notes |")
print("|---|---|---|---|---|---|")
for budget in budgets:
    with tempfile.TemporaryDirectory() as out:
        run = subprocess.run(
            [aite, "robustness", "--json", "--no-consistency", "--corruptions", "none", "--attacks", f"square-{norm},spsa-{norm}",
             f"--eps-{norm}", eps, "--seed", "0", "--queries", budget, "-p", "cifar10-resnet8", "--samples", n, "--attack-samples", n,
             "-m", model, "-d", labels, "--out", out],
            capture_output=True, text=True, check=True)
    s = json.loads(run.stdout)["suites"]
    sq, sp = s[f"attack_square_{norm}"], s[f"attack_spsa_{norm}"]
    for name, a in [(f"square-{norm}", sq), (f"spsa-{norm}", sp)]:
        ra, asr = a["robust_accuracy"], a["attack_success_rate"]
        print(f"| {budget} | {name} | {ra['successes']}/{ra['trials']} | {asr['successes']}/{asr['trials']} | {a['queries_mean'] or 0:.1f} | {a['queries_median'] or 0:.0f} |")
    pairs = list(zip(sq["records"], sp["records"]))
    assert all(a["index"] == b["index"] for a, b in pairs)
    q = [min(r["queries"] for r in (a, b) if r["success"]) for a, b in pairs if a["success"] or b["success"]]
    only_sq = sum(a["success"] and not b["success"] for a, b in pairs)
    only_sp = sum(b["success"] and not a["success"] for a, b in pairs)
    # One worst case per threat model (norm and epsilon): this run has one of each norm.
    w = next(t for t in s["attack_worst_case"]["threat_models"] if t["norm"] == norm)["robust_accuracy"]
    print(f"| {budget} | **worst case** | **{w['successes']}/{w['trials']}** | {len(q)}/{sq['attack_success_rate']['trials']} | {sum(q) / max(len(q), 1):.1f} | only Square {only_sq}, only SPSA {only_sp} |")
