#!/usr/bin/env bash
# Run the fuzz targets for a bounded time each, one after another.
#
#   FUZZ_SECONDS=60 fuzz/run.sh              # every target, 60 s each
#   FUZZ_SECONDS=600 fuzz/run.sh unpack elf  # two targets, 10 min each
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`); not part
# of the default CI. Seeds: the repository's fixtures, fuzz/seeds/, a few system
# ELF files and, when present, ../shared (read only: libFuzzer adds new inputs
# only to the first corpus folder, fuzz/corpus/<target>). A crash is written to
# fuzz/artifacts/<target>/, stops that target, and makes the script exit 1.
#
# A target with a dictionary (fuzz/dicts/<target>.dict) gets it.
#
# Environment: FUZZ_SECONDS (60), FUZZ_RSS_MB (2048), FUZZ_NICE (19),
# FUZZ_SANITIZER (none: every parser here is Rust, so AddressSanitizer costs
# speed and finds little; `address` works too), AITE_SHARED (../shared).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
shared="${AITE_SHARED:-$repo/../shared}/assets"
seconds="${FUZZ_SECONDS:-60}"
rss="${FUZZ_RSS_MB:-2048}"
sanitizer="${FUZZ_SANITIZER:-none}"
niceness="${FUZZ_NICE:-19}"
all=(unpack elf keys pickle models onnx_inspect tflite preprocess results)
if [ $# -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi

# Where each target's seeds come from, and which file names qualify.
seed_paths() {
    local fixtures="$repo/crates/aite-security/tests/fixtures"
    case "$1" in
        unpack) echo "$shared/security/firmware/format-samples $fixtures/fuzz/unpack" ;;
        elf) echo "$shared/security/elf /bin/true /usr/bin/env" ;;
        keys) echo "$fixtures/keys $shared/security/secrets $fixtures/fuzz/keys" ;;
        pickle) echo "$shared/security/models/picklescan $fixtures/fuzz/pickle" ;;
        models) echo "$shared/security/models/picklescan $shared/security/models/keras-generated $shared/security/models/modelscan $fixtures/fuzz/models" ;;
        onnx_inspect) echo "$repo/crates/aite-reference/assets $shared/models" ;;
        tflite) echo "$shared/models $shared/security/models/coral $fixtures/fuzz/tflite" ;;
        preprocess) echo "$repo/crates/aite-reference/assets/digits" ;;
        results) echo "$here/seeds/results" ;;
    esac
}
seed_pattern() {
    case "$1" in
        onnx_inspect) echo '\.onnx$' ;;
        tflite) echo '\.tflite$' ;;
        *) echo '.' ;;
    esac
}
seed_cap_bytes() {
    case "$1" in
        onnx_inspect | tflite) echo $((1024 * 1024)) ;;
        *) echo $((256 * 1024)) ;;
    esac
}

# Small archives of a tiny root filesystem, in every container format the
# unpacker reads that the system's tools can write; prints how many.
synthetic_archives() {
    local out="$1" tree n=0
    tree="$(mktemp -d)"
    mkdir -p "$tree/etc/init.d" "$tree/bin"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$tree/etc/passwd"
    printf 'root:$1$abc$def:19000:0:99999:7:::\n' >"$tree/etc/shadow"
    printf '#!/bin/sh\ntelnetd -l /bin/sh\n' >"$tree/etc/init.d/rcS"
    ln -s ../etc/passwd "$tree/bin/link"
    tar -C "$tree" -cf "$out/a.tar" . && n=$((n + 1))
    if command -v python3 >/dev/null; then
        # newc cpio and a uImage (legacy header, CRC32s) wrapping the gzip'd tar.
        python3 - "$tree" "$out" <<'PY' && n=$((n + 2))
import os, struct, sys, time, zlib, gzip
tree, out = sys.argv[1], sys.argv[2]
def newc(name, mode, data=b""):
    name = name.encode() + b"\0"
    h = b"070701" + b"".join(b"%08X" % v for v in (0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name), 0))
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return pad(h + name) + pad(data)
blob = b""
for root, dirs, files in os.walk(tree):
    for f in sorted(dirs + files):
        p = os.path.join(root, f)
        rel = os.path.relpath(p, tree)
        if os.path.islink(p):
            blob += newc(rel, 0o120777, os.readlink(p).encode())
        elif os.path.isdir(p):
            blob += newc(rel, 0o40755)
        else:
            blob += newc(rel, 0o100644, open(p, "rb").read())
blob += newc("TRAILER!!!", 0)
open(os.path.join(out, "a.cpio"), "wb").write(blob)
payload = gzip.compress(open(os.path.join(out, "a.tar"), "rb").read())
hdr = struct.pack(">7I4B32s", 0x27051956, 0, int(time.time()), len(payload), 0x8000, 0x8000, zlib.crc32(payload), 5, 2, 2, 1, b"fuzz seed")
hdr = hdr[:4] + struct.pack(">I", zlib.crc32(hdr)) + hdr[8:]
open(os.path.join(out, "a.uimage"), "wb").write(hdr + payload)
PY
    fi
    for z in gzip xz zstd; do
        command -v "$z" >/dev/null && "$z" -c "$out/a.tar" >"$out/a.tar.$z" && n=$((n + 1))
    done
    if command -v mksquashfs >/dev/null; then
        mksquashfs "$tree" "$out/a.squashfs" -comp gzip -noappend -quiet >/dev/null 2>&1 && n=$((n + 1))
        # A flash dump: padding, a gzip stream, then the root filesystem.
        { head -c 512 /dev/zero; gzip -c "$out/a.tar"; head -c 300 /dev/zero; cat "$out/a.squashfs"; } >"$out/dump.bin" && n=$((n + 1))
    fi
    rm -rf "$tree"
    echo "$n"
}

cd "$here"
echo "building fuzz targets (nightly, sanitizer: $sanitizer)"
nice -n "$niceness" cargo +nightly fuzz build -s "$sanitizer" >/dev/null
bin_dir="$here/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

status=0
for t in "${targets[@]}"; do
    corpus="$here/corpus/$t"
    artifacts="$here/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    seeds="$(mktemp -d "${TMPDIR:-/tmp}/aite-fuzz-seeds.$t.XXXXXX")"
    n=0
    for p in $(seed_paths "$t"); do
        [ -e "$p" ] || continue
        while IFS= read -r f; do
            # keys and models read a selector byte first, preprocess a spec line.
            case "$t" in
                keys | models) { printf '\000'; cat "$f"; } >"$seeds/$n" ;;
                preprocess) { printf 'digits8\n'; cat "$f"; } >"$seeds/$n" ;;
                *) cp "$f" "$seeds/$n" ;;
            esac
            n=$((n + 1))
        done < <(find "$p" -type f -size -"$(seed_cap_bytes "$t")"c | grep -E "$(seed_pattern "$t")" || true)
    done
    [ "$t" = unpack ] && n=$((n + $(synthetic_archives "$seeds")))
    echo "== $t: ${seconds} s, $n seed file(s), corpus $corpus"
    # One fuzzing process (-jobs=1 -workers=1); libFuzzer writes its log to
    # fuzz-0.log in the current folder, here the target's artifacts folder.
    rm -f "$artifacts/fuzz-0.log"
    dict=""
    [ -f "$here/dicts/$t.dict" ] && dict="-dict=$here/dicts/$t.dict"
    (cd "$artifacts" && nice -n "$niceness" "$bin_dir/$t" "$corpus" "$seeds" \
        -max_total_time="$seconds" -rss_limit_mb="$rss" -jobs=1 -workers=1 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 $dict >/dev/null 2>&1) || true
    log="$artifacts/fuzz-0.log"
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+.*DONE' "$log" || true
    if grep -qE 'Test unit written to' "$log"; then
        grep -E 'panicked at|ERROR: libFuzzer|Test unit written to' "$log" | head -5
        echo "!! $t: crash; minimise with: (cd fuzz && cargo +nightly fuzz tmin -s $sanitizer $t <artifact>)"
        status=1
    fi
    rm -rf "$seeds"
done
exit "$status"
