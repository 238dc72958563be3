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
    echo "== $t: ${seconds} s, $n seed file(s), corpus $corpus"
    # One fuzzing process (-jobs=1 -workers=1); libFuzzer writes its log to
    # fuzz-0.log in the current folder, here the target's artifacts folder.
    rm -f "$artifacts/fuzz-0.log"
    (cd "$artifacts" && nice -n "$niceness" "$bin_dir/$t" "$corpus" "$seeds" \
        -max_total_time="$seconds" -rss_limit_mb="$rss" -jobs=1 -workers=1 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 >/dev/null 2>&1) || true
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
