"""Verdicts of picklescan and modelscan (PyPI) on every file of a folder, as
the reference peers of `aite security`'s model-artifact checks.

Usage: python model_scanners_peer.py FOLDER

Prints JSON {relative path: {"picklescan": "flagged"|"clean"|"error",
"modelscan": "flagged"|"clean"|"error"|"unsupported"}} using the tools' exit
codes (picklescan 0 clean / 1 infected / 2 error; modelscan 0 / 1 issues /
2 errors / 3 nothing supported).
"""
import json, os, subprocess, sys

BIN = os.path.dirname(sys.executable)


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, timeout=120).returncode
    except (subprocess.TimeoutExpired, FileNotFoundError):
        return 2


def main():
    root = sys.argv[1]
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root)
            ps = run([os.path.join(BIN, "picklescan"), "-p", path])
            ms = run([os.path.join(BIN, "modelscan"), "-p", path])
            out[rel] = {
                "picklescan": {0: "clean", 1: "flagged"}.get(ps, "error"),
                "modelscan": {0: "clean", 1: "flagged", 3: "unsupported"}.get(ms, "error"),
            }
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
